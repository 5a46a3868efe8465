//! `apt`: Debian packages with apt-get and dpkg, as Ansible's `apt` decides: one round trip
//! reads what is installed and what the archive offers, then the packages of the task go to
//! apt-get in one call.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::{fail, Arg, Args, FileDiff, ModError, Module, Outcome, TaskCtx};
use crate::connection::ssh::config::glob_match;
use crate::pytext::shell_quote as q;

pub struct Apt;

const APT_GET: &str =
    "DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold";

/// What the host knows of a package.
#[derive(Debug, Default, Clone)]
pub(super) struct PkgState {
    pub installed: Option<String>,
    /// Removed, but its configuration files are still there.
    pub has_files: bool,
    pub candidate: Option<String>,
    pub versions: Vec<String>,
}

/// `name`, `name=1.0*`: the name and the version asked for.
pub(super) fn split_spec(spec: &str) -> (String, Option<String>) {
    match spec.split_once('=') {
        Some((n, v)) => (n.trim().to_string(), Some(v.trim().to_string())),
        None => (spec.trim().to_string(), None),
    }
}

/// The script that reads the packages' state: dpkg's status, then apt-cache's policy.
fn probe_script(names: &[String]) -> String {
    let n: Vec<String> = names.iter().map(|x| q(x)).collect();
    let n = n.join(" ");
    format!("dpkg-query -W -f='${{Package}}\\t${{db:Status-Abbrev}}\\t${{Version}}\\n' {n} 2>/dev/null\necho '#POLICY'\nLC_ALL=C apt-cache policy {n} 2>/dev/null\ntrue\n")
}

pub(super) fn parse_probe(out: &str) -> std::collections::HashMap<String, PkgState> {
    let mut m: std::collections::HashMap<String, PkgState> = std::collections::HashMap::new();
    let (dpkg, policy) = out.split_once("#POLICY\n").unwrap_or((out, ""));
    for line in dpkg.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 3 {
            continue;
        }
        let name = f[0].split(':').next().unwrap_or(f[0]).to_string();
        let e = m.entry(name).or_default();
        let status = f[1].trim();
        if status.starts_with("ii") || status.starts_with("hi") {
            e.installed = Some(f[2].to_string());
        } else if status.starts_with("rc") {
            e.has_files = true;
        }
    }
    let mut cur: Option<String> = None;
    let mut in_table = false;
    for line in policy.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            let name = line.trim_end_matches(':').split(':').next().unwrap_or("").to_string();
            m.entry(name.clone()).or_default();
            cur = Some(name);
            in_table = false;
            continue;
        }
        let Some(name) = &cur else { continue };
        let t = line.trim();
        let e = m.entry(name.clone()).or_default();
        if let Some(c) = t.strip_prefix("Candidate:") {
            let c = c.trim();
            e.candidate = (c != "(none)").then(|| c.to_string());
        } else if t.starts_with("Version table:") {
            in_table = true;
        } else if in_table && !line.starts_with("        ") {
            // Version lines ("     2.0 500", " *** 1.0 100") are indented less than their
            // sources ("        500 file:/srv/repo ./ Packages").
            if let Some(v) = t.trim_start_matches("***").split_whitespace().next() {
                if !e.versions.iter().any(|x| x == v) {
                    e.versions.push(v.to_string());
                }
            }
        }
    }
    m
}

/// What installing `spec` needs: `Some("name" or "name=version")` when apt-get must act.
pub(super) fn install_item(st: &PkgState, name: &str, version: Option<&str>, latest: bool) -> Result<Option<String>, String> {
    let installable = match version {
        Some(v) => st.versions.iter().find(|x| glob_match(v, x)).cloned(),
        None => st.candidate.clone(),
    };
    let installed_ok = match (version, &st.installed) {
        (Some(v), Some(i)) => glob_match(v, i),
        (None, Some(_)) => true,
        _ => false,
    };
    if st.installed.is_none() && installable.is_none() {
        return Err(format!(
            "no available installation candidate for {}",
            version.map(|v| format!("{name}={v}")).unwrap_or_else(|| name.to_string())
        ));
    }
    let spec = |v: &Option<String>| match (version, v) {
        (Some(_), Some(v)) => format!("{name}={v}"),
        _ => name.to_string(),
    };
    if installed_ok && !latest {
        return Ok(None);
    }
    if latest && version.is_none() {
        return Ok((st.installed.is_none() || st.installed != st.candidate).then(|| name.to_string()));
    }
    match installable {
        Some(_) if installed_ok => Ok(None),
        Some(v) => Ok(Some(spec(&Some(v)))),
        None => Err(format!("no available installation candidate for {name}={}", version.unwrap_or(""))),
    }
}

/// The packages apt-get's output says it installs, upgrades or removes (for the diff).
fn changes_in(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| {
            l.strip_prefix("Inst ")
                .or_else(|| l.strip_prefix("Remv "))
                .or_else(|| l.strip_prefix("Purg "))
                .map(|r| r.split_whitespace().next().unwrap_or("").to_string())
        })
        .collect()
}

#[async_trait]
impl Module for Apt {
    fn name(&self) -> &'static str {
        "apt"
    }
    fn doc(&self) -> &'static str {
        include_str!("apt.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::list("name", "package names, with =VERSION to pin one (globs allowed)").aliases(&["package", "pkg"]),
            Arg::str("state", "present (default), absent, latest, fixed or build-dep").choices(&[
                "present",
                "absent",
                "latest",
                "fixed",
                "build-dep",
            ]),
            Arg::bool("update_cache", "run apt-get update first").aliases(&["update-cache"]),
            Arg::int("cache_valid_time", "skip the update when the lists are younger than this many seconds"),
            Arg::str("deb", "a .deb file on the host, or an http(s) URL, to install"),
            Arg::bool("autoremove", "remove packages nothing needs any more"),
            Arg::bool("autoclean", "remove package files that can no longer be downloaded"),
            Arg::bool("purge", "with state=absent, remove configuration files too"),
            Arg::str("upgrade", "no, yes, safe, full or dist: upgrade the whole system").choices(&["no", "yes", "safe", "full", "dist"]),
            Arg::str("default_release", "the release to take packages from (-t)").aliases(&["default-release"]),
            Arg::bool("install_recommends", "install recommended packages (default: apt's setting)").aliases(&["install-recommends"]),
            Arg::bool("force", "allow unauthenticated packages and downgrades"),
            Arg::bool("allow_unauthenticated", "install packages that are not signed").aliases(&["allow-unauthenticated"]),
            Arg::bool("allow_downgrade", "allow installing an older version").aliases(&[
                "allow-downgrade",
                "allow_downgrades",
                "allow-downgrades",
            ]),
            Arg::bool("allow_change_held_packages", "allow changing held packages"),
            Arg::bool("only_upgrade", "only upgrade packages that are installed"),
            Arg::str("dpkg_options", "dpkg options (default force-confdef,force-confold)"),
            Arg::bool("fail_on_autoremove", "fail rather than remove packages as a side effect"),
            Arg::int("lock_timeout", "accepted; apt-get waits for its lock itself"),
            Arg::int("update_cache_retries", "accepted for compatibility"),
            Arg::int("update_cache_retry_max_delay", "accepted for compatibility"),
            Arg::str("policy_rc_d", "accepted for compatibility"),
            Arg::bool("clean", "run apt-get clean"),
        ];
        A
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let specs = args.str_list("name")?;
        let state = args.str("state")?.unwrap_or_else(|| "present".into());
        let mut out = Outcome::ok();
        let mut extra = String::new();
        if let Some(r) = args.str("default_release")? {
            extra += &format!(" -t {}", q(&r));
        }
        match args.opt_bool("install_recommends")? {
            Some(true) => extra += " -o APT::Install-Recommends=yes",
            Some(false) => extra += " -o APT::Install-Recommends=no",
            None => {}
        }
        if args.bool("allow_unauthenticated", false)? || args.bool("force", false)? {
            extra += " --allow-unauthenticated";
        }
        if args.bool("allow_downgrade", false)? || args.bool("force", false)? {
            extra += " --allow-downgrades";
        }
        if args.bool("allow_change_held_packages", false)? {
            extra += " --allow-change-held-packages";
        }
        if args.bool("fail_on_autoremove", false)? {
            extra += " --no-remove";
        }
        let check = if ctx.check { " --simulate" } else { "" };

        // The package lists.
        if args.bool("update_cache", false)? || args.has("cache_valid_time") {
            let valid = args.int("cache_valid_time")?.unwrap_or(0);
            let stamp = "s=/var/lib/apt/periodic/update-success-stamp; [ -e $s ] || s=/var/lib/apt/lists; stat -c %Y $s";
            let r = ctx.sh(format!("{stamp}; date +%s")).await?;
            let nums: Vec<i64> = r.stdout_str().split_whitespace().filter_map(|x| x.parse().ok()).collect();
            let (mtime, now) = (nums.first().copied().unwrap_or(0), nums.get(1).copied().unwrap_or(0));
            let mut updated = false;
            let mut update_time = mtime;
            if mtime + valid < now || valid == 0 {
                if ctx.check {
                    updated = true;
                } else {
                    let r = ctx.sh(format!("LC_ALL=C apt-get update -q >/dev/null || exit 1; {stamp}")).await?;
                    if r.rc != 0 {
                        return fail(format!("Failed to update apt cache: {}", r.stderr_str().trim()));
                    }
                    update_time = r.stdout_str().trim().parse().unwrap_or(mtime);
                    updated = update_time != mtime;
                }
            }
            out = out.with("cache_updated", updated).with("cache_update_time", update_time);
            if specs.is_empty() && !args.has("deb") && !args.has("upgrade") && !args.bool("autoremove", false)? {
                out.changed = updated;
                return Ok(out);
            }
        }

        let mut stdout = String::new();
        let mut stderr = String::new();
        let mut diff_lines: Vec<String> = Vec::new();

        // A .deb file.
        if let Some(deb) = args.str("deb")? {
            let path = if deb.starts_with("http://") || deb.starts_with("https://") {
                super::common::download(ctx, &deb, ".deb", true).await?
            } else {
                deb.clone()
            };
            let r = ctx.sh(format!("dpkg-deb -f {0} Package Version Architecture && dpkg-query -W -f='${{db:Status-Abbrev}}\\t${{Version}}\\n' \"$(dpkg-deb -f {0} Package)\" 2>/dev/null; true", q(&path))).await?;
            let text = r.stdout_str();
            let field = |k: &str| text.lines().find_map(|l| l.strip_prefix(&format!("{k}: "))).unwrap_or("").to_string();
            let (pkg, ver) = (field("Package"), field("Version"));
            if pkg.is_empty() {
                return fail(format!("Unable to install package: {deb} is not a readable .deb file"));
            }
            let installed = text.lines().find_map(|l| l.strip_prefix("ii").map(|r| r.trim().to_string()));
            if installed.as_deref() != Some(ver.as_str()) {
                out.changed = true;
                diff_lines.push(format!("{pkg}={ver}"));
                let local = if path.starts_with('/') { path.clone() } else { format!("./{path}") };
                let r = ctx.sh(format!("{APT_GET}{extra}{check} install {}", q(&local))).await?;
                stdout += &r.stdout_str();
                stderr += &r.stderr_str();
                if r.rc != 0 {
                    return Err(ModError::Fail(format!("Unable to install package: {}", r.stderr_str().trim())));
                }
            }
        }

        // Packages by name.
        if !specs.is_empty() {
            let split: Vec<(String, Option<String>)> = specs.iter().map(|s| split_spec(s)).collect();
            let names: Vec<String> = split.iter().map(|(n, _)| n.clone()).collect();
            let r = ctx.sh(probe_script(&names)).await?;
            let states = parse_probe(&r.stdout_str());
            let none = PkgState::default();
            let mut items = Vec::new();
            match state.as_str() {
                "absent" => {
                    let purge = args.bool("purge", false)?;
                    for (n, v) in &split {
                        let st = states.get(n).unwrap_or(&none);
                        let matches = match (v, &st.installed) {
                            (Some(v), Some(i)) => glob_match(v, i),
                            (None, Some(_)) => true,
                            _ => false,
                        };
                        if matches || (purge && st.has_files) {
                            items.push(n.clone());
                        }
                    }
                    if !items.is_empty() {
                        let purge = if purge { " --purge" } else { "" };
                        let auto = if args.bool("autoremove", false)? { " --auto-remove" } else { "" };
                        let list: Vec<String> = items.iter().map(|i| q(i)).collect();
                        let r = ctx.sh(format!("{APT_GET}{extra}{purge}{auto}{check} remove {}", list.join(" "))).await?;
                        stdout += &r.stdout_str();
                        stderr += &r.stderr_str();
                        if r.rc != 0 {
                            return fail(format!("'apt-get remove {}' failed: {}", items.join(" "), r.stderr_str().trim()));
                        }
                        out.changed = true;
                    }
                }
                _ => {
                    let latest = state == "latest";
                    for (n, v) in &split {
                        let st = states.get(n).unwrap_or(&none);
                        match install_item(st, n, v.as_deref(), latest) {
                            Ok(Some(i)) => items.push(i),
                            Ok(None) => {}
                            Err(e) => return fail(e),
                        }
                    }
                    let fixed = if state == "fixed" { " --fix-broken" } else { "" };
                    let only = if args.bool("only_upgrade", false)? { " --only-upgrade" } else { "" };
                    if !items.is_empty() || state == "fixed" {
                        let auto = if args.bool("autoremove", false)? { " --auto-remove" } else { "" };
                        let verb = if state == "build-dep" { "build-dep" } else { "install" };
                        let list: Vec<String> = items.iter().map(|i| q(i)).collect();
                        let r = ctx.sh(format!("{APT_GET}{extra}{fixed}{only}{auto}{check} {verb} {}", list.join(" "))).await?;
                        stdout += &r.stdout_str();
                        stderr += &r.stderr_str();
                        if r.rc != 0 {
                            return fail(format!("'apt-get {verb} {}' failed: {}", items.join(" "), r.stderr_str().trim()));
                        }
                        out.changed = !items.is_empty() || !r.stdout_str().contains("0 upgraded, 0 newly installed, 0 to remove");
                        if !ctx.check && verb == "install" {
                            // Named packages are wanted for themselves, not as dependencies.
                            let all: Vec<String> = names.iter().map(|n| q(n)).collect();
                            let _ = ctx.sh(format!("apt-mark manual {} >/dev/null 2>&1", all.join(" "))).await?;
                        }
                    }
                }
            }
            diff_lines.extend(items);
        }

        // The whole system.
        if let Some(u) = args.str("upgrade")?.filter(|u| u != "no") {
            let verb = match u.as_str() {
                "dist" | "full" => "dist-upgrade",
                _ => "upgrade --with-new-pkgs",
            };
            let r = ctx.sh(format!("LC_ALL=C {APT_GET}{extra}{check} {verb}")).await?;
            stdout += &r.stdout_str();
            stderr += &r.stderr_str();
            if r.rc != 0 {
                return fail(format!("'apt-get {verb}' failed: {}", r.stderr_str().trim()));
            }
            if !r.stdout_str().contains("0 upgraded, 0 newly installed, 0 to remove and") || r.stdout_str().contains("Inst ") {
                out.changed = true;
            }
        }

        // Packages nothing needs any more.
        if args.bool("autoremove", false)? && specs.is_empty() {
            let purge = if args.bool("purge", false)? { " --purge" } else { "" };
            let r = ctx.sh(format!("LC_ALL=C {APT_GET}{purge} --simulate autoremove")).await?;
            let gone = changes_in(&r.stdout_str());
            if !gone.is_empty() {
                out.changed = true;
                diff_lines.extend(gone.iter().map(|g| format!("-{g}")));
                if !ctx.check {
                    let r = ctx.sh(format!("LC_ALL=C {APT_GET}{purge} autoremove")).await?;
                    stdout += &r.stdout_str();
                    stderr += &r.stderr_str();
                    if r.rc != 0 {
                        return fail(format!("'apt-get autoremove' failed: {}", r.stderr_str().trim()));
                    }
                }
            }
        }
        if args.bool("autoclean", false)? && !ctx.check {
            ctx.sh(format!("{APT_GET} autoclean")).await?;
        }
        if args.bool("clean", false)? && !ctx.check {
            ctx.sh("apt-get clean").await?;
        }
        if out.changed && ctx.diff && !diff_lines.is_empty() {
            let verb = if state == "absent" { "removed" } else { "installed" };
            out.diffs.push(FileDiff { before: String::new(), after: format!("{verb}: {}\n", diff_lines.join(" ")), ..Default::default() });
        }
        let mut m = Map::new();
        m.insert("stdout".into(), Value::String(stdout.clone()));
        m.insert("stdout_lines".into(), json!(stdout.lines().collect::<Vec<_>>()));
        m.insert("stderr".into(), Value::String(stderr.clone()));
        m.insert("stderr_lines".into(), json!(stderr.lines().collect::<Vec<_>>()));
        out.data.extend(m);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROBE: &str = "steward-hello\tii \t1.0\nsteward-old\trc \t0.5\n#POLICY\nsteward-hello:\n  Installed: 1.0\n  Candidate: 2.0\n  Version table:\n     2.0 500\n        500 file:/srv/repo ./ Packages\n *** 1.0 100\n        100 /var/lib/dpkg/status\nsteward-pinned:\n  Installed: (none)\n  Candidate: 2.0\n  Version table:\n     2.0 500\n        500 file:/srv/repo ./ Packages\n     1.0 500\n        500 file:/srv/repo ./ Packages\n";

    #[test]
    fn reads_dpkg_and_policy() {
        let m = parse_probe(PROBE);
        let h = &m["steward-hello"];
        assert_eq!((h.installed.as_deref(), h.candidate.as_deref()), (Some("1.0"), Some("2.0")));
        assert_eq!(h.versions, vec!["2.0", "1.0"]);
        assert!(m["steward-old"].has_files && m["steward-old"].installed.is_none());
        assert_eq!(m["steward-pinned"].versions, vec!["2.0", "1.0"]);
    }

    #[test]
    fn decides_what_to_install() {
        let m = parse_probe(PROBE);
        assert_eq!(install_item(&m["steward-hello"], "steward-hello", None, false), Ok(None));
        assert_eq!(install_item(&m["steward-hello"], "steward-hello", None, true), Ok(Some("steward-hello".into())));
        assert_eq!(install_item(&m["steward-pinned"], "steward-pinned", Some("1.*"), false), Ok(Some("steward-pinned=1.0".into())));
        assert!(install_item(&PkgState::default(), "nope", None, false).is_err());
    }
}
