//! `apt`: Debian packages with apt-get and dpkg, as Ansible's `apt` decides: one round trip
//! reads what is installed and what the archive offers, then the packages of the task go to
//! apt-get in one call.

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{fail, Arg, Args, Change, ExecCheck, FileDiff, ModError, Module, Outcome, Plan, TaskCtx};
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
        Some(v) => st.versions.iter().find(|x| version_matches(v, x)).cloned(),
        None => st.candidate.clone(),
    };
    let installed_ok = match (version, &st.installed) {
        (Some(v), Some(i)) => version_matches(v, i),
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

/// Whether an installed or offered version matches a pin (`1.2*`, `2.[0-4]`), as Ansible's
/// `fnmatch` matches it: `*`, `?` and `[...]`, case-sensitive. A pattern glob cannot read (an
/// unclosed `[`) is compared literally, as fnmatch takes such a bracket.
pub(super) fn version_matches(pattern: &str, version: &str) -> bool {
    // `**` means more than `*` to glob (a path component); to fnmatch they are the same.
    let mut p = String::with_capacity(pattern.len());
    for c in pattern.chars() {
        if !(c == '*' && p.ends_with('*')) {
            p.push(c);
        }
    }
    match glob::Pattern::new(&p) {
        Ok(g) => g.matches(version),
        Err(_) => pattern == version,
    }
}

/// The script that reads the package lists' age (seconds since the epoch), then the time now.
const STAMP: &str = "s=/var/lib/apt/periodic/update-success-stamp; [ -e $s ] || s=/var/lib/apt/lists; stat -c %Y $s";

/// What a task asks, read once from its arguments.
struct Opts {
    specs: Vec<(String, Option<String>)>,
    state: String,
    /// apt-get's options from the task (release, recommends, authentication, downgrades...).
    extra: String,
    /// `cache_valid_time` when the lists are to be refreshed (0: always).
    update: Option<i64>,
    deb: Option<String>,
    upgrade: Option<String>,
    autoremove: bool,
    purge: bool,
    only_upgrade: bool,
    autoclean: bool,
    clean: bool,
}

impl Opts {
    fn from_args(args: &Args) -> Result<Opts, ModError> {
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
        let update =
            (args.bool("update_cache", false)? || args.has("cache_valid_time")).then(|| args.int("cache_valid_time")).transpose()?;
        Ok(Opts {
            specs: args.str_list("name")?.iter().map(|s| split_spec(s)).collect(),
            state: args.str("state")?.unwrap_or_else(|| "present".into()),
            extra,
            update: update.map(|v| v.unwrap_or(0)),
            deb: args.str("deb")?,
            upgrade: args.str("upgrade")?.filter(|u| u != "no"),
            autoremove: args.bool("autoremove", false)?,
            purge: args.bool("purge", false)?,
            only_upgrade: args.bool("only_upgrade", false)?,
            autoclean: args.bool("autoclean", false)?,
            clean: args.bool("clean", false)?,
        })
    }

    /// Only the package lists to refresh: their refresh is the task's change.
    fn cache_only(&self) -> bool {
        self.specs.is_empty() && self.deb.is_none() && self.upgrade.is_none() && !self.autoremove
    }
}

/// `apt-get update`, planned when the lists are older than `cache_valid_time`. The rest of the
/// task depends on the lists, so after it `apply` looks at the packages again.
struct Update {
    /// The lists' age before.
    mtime: i64,
}

/// One apt-get call; its output goes to the result's stdout and stderr.
struct AptGet {
    cmd: String,
    /// The message when it fails (apt-get's stderr follows).
    failure: String,
    /// Run after it succeeds, whatever it says (`apt-mark manual` for named packages).
    then: Option<String>,
}

impl AptGet {
    fn change(cmd: String, failure: String) -> Change {
        Change::own(AptGet { cmd, failure, then: None })
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

/// Whether apt-get's summary says it would do something.
fn does_something(out: &str) -> bool {
    !out.contains("0 upgraded, 0 newly installed, 0 to remove")
}

/// Everything but the lists' refresh: ask the host (dpkg and apt-cache, and apt-get's
/// simulation for what only apt-get can tell) and put the apt-get calls that are needed into
/// `plan`, with the diff.
async fn decide(ctx: &TaskCtx, o: &Opts, plan: &mut Plan) -> Result<(), ModError> {
    let extra = &o.extra;
    let mut diff_lines: Vec<String> = Vec::new();

    // A .deb file. One at a URL is downloaded now, as Ansible does even in check mode: what it
    // holds decides.
    if let Some(deb) = &o.deb {
        let path = if deb.starts_with("http://") || deb.starts_with("https://") {
            super::common::download(ctx, deb, ".deb", true).await?
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
            diff_lines.push(format!("{pkg}={ver}"));
            let local = if path.starts_with('/') { path.clone() } else { format!("./{path}") };
            plan.change(AptGet::change(format!("{APT_GET}{extra} install {}", q(&local)), "Unable to install package".into()));
        }
    }

    // Packages by name.
    if !o.specs.is_empty() {
        let names: Vec<String> = o.specs.iter().map(|(n, _)| n.clone()).collect();
        let r = ctx.sh(probe_script(&names)).await?;
        let states = parse_probe(&r.stdout_str());
        let none = PkgState::default();
        let mut items = Vec::new();
        let auto = if o.autoremove { " --auto-remove" } else { "" };
        if o.state == "absent" {
            for (n, v) in &o.specs {
                let st = states.get(n).unwrap_or(&none);
                let matches = match (v, &st.installed) {
                    (Some(v), Some(i)) => version_matches(v, i),
                    (None, Some(_)) => true,
                    _ => false,
                };
                if matches || (o.purge && st.has_files) {
                    items.push(n.clone());
                }
            }
            if !items.is_empty() {
                let purge = if o.purge { " --purge" } else { "" };
                let list: Vec<String> = items.iter().map(|i| q(i)).collect();
                plan.change(AptGet::change(
                    format!("{APT_GET}{extra}{purge}{auto} remove {}", list.join(" ")),
                    format!("'apt-get remove {}' failed", items.join(" ")),
                ));
            }
        } else {
            let latest = o.state == "latest";
            for (n, v) in &o.specs {
                match install_item(states.get(n).unwrap_or(&none), n, v.as_deref(), latest) {
                    Ok(Some(i)) => items.push(i),
                    Ok(None) => {}
                    Err(e) => return fail(e),
                }
            }
            let fixed = if o.state == "fixed" { " --fix-broken" } else { "" };
            let only = if o.only_upgrade { " --only-upgrade" } else { "" };
            let verb = if o.state == "build-dep" { "build-dep" } else { "install" };
            let list: Vec<String> = items.iter().map(|i| q(i)).collect();
            let cmd = format!("{APT_GET}{extra}{fixed}{only}{auto} {verb} {}", list.join(" "));
            // With nothing named to install, only apt-get can tell whether fixing does anything.
            let needed = !items.is_empty()
                || (o.state == "fixed" && {
                    let r = ctx.sh(format!("{APT_GET}{extra}{fixed}{only}{auto} --simulate {verb}")).await?;
                    let r = r.ok_or_fail(&format!("'apt-get {verb} ' failed"))?;
                    does_something(&r.stdout_str())
                });
            if needed {
                // Named packages are wanted for themselves, not as dependencies.
                let then = (verb == "install").then(|| format!("apt-mark manual {} >/dev/null 2>&1", quoted(&names)));
                plan.change(Change::own(AptGet { cmd, failure: format!("'apt-get {verb} {}' failed", items.join(" ")), then }));
            }
        }
        diff_lines.extend(items);
    }

    // The whole system: apt-get's simulation tells whether it is up to date.
    if let Some(u) = &o.upgrade {
        let verb = match u.as_str() {
            "dist" | "full" => "dist-upgrade",
            _ => "upgrade --with-new-pkgs",
        };
        let r = ctx.sh(format!("LC_ALL=C {APT_GET}{extra} --simulate {verb}")).await?;
        let r = r.ok_or_fail(&format!("'apt-get {verb}' failed"))?;
        let sim = r.stdout_str();
        if !sim.contains("0 upgraded, 0 newly installed, 0 to remove and") || sim.contains("Inst ") {
            plan.change(AptGet::change(format!("LC_ALL=C {APT_GET}{extra} {verb}"), format!("'apt-get {verb}' failed")));
        }
    }

    // Packages nothing needs any more.
    if o.autoremove && o.specs.is_empty() {
        let purge = if o.purge { " --purge" } else { "" };
        let r = ctx.sh(format!("LC_ALL=C {APT_GET}{purge} --simulate autoremove")).await?;
        let gone = changes_in(&r.stdout_str());
        if !gone.is_empty() {
            diff_lines.extend(gone.iter().map(|g| format!("-{g}")));
            plan.change(AptGet::change(format!("LC_ALL=C {APT_GET}{purge} autoremove"), "'apt-get autoremove' failed".into()));
        }
    }
    // Housekeeping: no change to report, and its failure fails nothing (as before).
    if o.autoclean {
        plan.changes.push(Change::sh(format!("{APT_GET} autoclean >/dev/null 2>&1; true"), "apt-get autoclean"));
    }
    if o.clean {
        plan.changes.push(Change::sh("apt-get clean >/dev/null 2>&1; true", "apt-get clean"));
    }
    if plan.outcome.changed && !diff_lines.is_empty() {
        let verb = if o.state == "absent" { "removed" } else { "installed" };
        plan.outcome.diffs.push(FileDiff {
            before: String::new(),
            after: format!("{verb}: {}\n", diff_lines.join(" ")),
            ..Default::default()
        });
    }
    Ok(())
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|n| q(n)).collect::<Vec<_>>().join(" ")
}

/// apt-get's output in the result.
fn with_output(out: &mut Outcome, stdout: &str, stderr: &str) {
    out.data.insert("stdout".into(), Value::String(stdout.to_string()));
    out.data.insert("stdout_lines".into(), json!(stdout.lines().collect::<Vec<_>>()));
    out.data.insert("stderr".into(), Value::String(stderr.to_string()));
    out.data.insert("stderr_lines".into(), json!(stderr.lines().collect::<Vec<_>>()));
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
            Arg::str("state", "present, absent, latest, fixed or build-dep")
                .choices(&["present", "absent", "latest", "fixed", "build-dep"])
                .default("present"),
            Arg::bool("update_cache", "run apt-get update first").aliases(&["update-cache"]).default("false"),
            Arg::int("cache_valid_time", "skip the update when the lists are younger than this many seconds (0: always update)")
                .default("0"),
            Arg::str("deb", "a .deb file on the host, or an http(s) URL, to install"),
            Arg::bool("autoremove", "remove packages nothing needs any more").default("false"),
            Arg::bool("autoclean", "remove package files that can no longer be downloaded").default("false"),
            Arg::bool("purge", "with state=absent, remove configuration files too").default("false"),
            Arg::str("upgrade", "no, yes, safe, full or dist: upgrade the whole system")
                .choices(&["no", "yes", "safe", "full", "dist"])
                .default("no"),
            Arg::str("default_release", "the release to take packages from (-t)").aliases(&["default-release"]),
            Arg::bool("install_recommends", "install recommended packages (default: apt's own setting)").aliases(&["install-recommends"]),
            Arg::bool("force", "allow unauthenticated packages and downgrades").default("false"),
            Arg::bool("allow_unauthenticated", "install packages that are not signed").aliases(&["allow-unauthenticated"]).default("false"),
            Arg::bool("allow_downgrade", "allow installing an older version")
                .aliases(&["allow-downgrade", "allow_downgrades", "allow-downgrades"])
                .default("false"),
            Arg::bool("allow_change_held_packages", "allow changing held packages").default("false"),
            Arg::bool("only_upgrade", "only upgrade packages that are installed").default("false"),
            Arg::str("dpkg_options", "accepted for compatibility: dpkg always gets force-confdef,force-confold"),
            Arg::bool("fail_on_autoremove", "fail rather than remove packages as a side effect").default("false"),
            Arg::int("lock_timeout", "accepted; apt-get waits for its lock itself"),
            Arg::int("update_cache_retries", "accepted for compatibility"),
            Arg::int("update_cache_retry_max_delay", "accepted for compatibility"),
            Arg::str("policy_rc_d", "accepted for compatibility"),
            Arg::bool("clean", "run apt-get clean").default("false"),
        ];
        A
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let o = Opts::from_args(args)?;
        let mut plan = Plan::done(Outcome::ok());
        let mut refresh = false;
        if let Some(valid) = o.update {
            let r = ctx.sh(format!("{STAMP}; date +%s")).await?;
            let nums: Vec<i64> = r.stdout_str().split_whitespace().filter_map(|x| x.parse().ok()).collect();
            let (mtime, now) = (nums.first().copied().unwrap_or(0), nums.get(1).copied().unwrap_or(0));
            refresh = valid == 0 || mtime + valid < now;
            plan.outcome = plan.outcome.with("cache_updated", refresh).with("cache_update_time", mtime);
            if refresh {
                // The refresh is the change only when it is all the task does.
                plan.changes.push(Change::own(Update { mtime }));
                plan.outcome.changed = o.cache_only();
            }
            if o.cache_only() {
                return Ok(plan);
            }
        }
        match decide(ctx, &o, &mut plan).await {
            Ok(()) => {}
            // Before the refresh the lists may lack a package; check mode says so, as Ansible's
            // does, and a real run looks again once the lists are new.
            Err(ModError::Fail(m)) if refresh => {
                plan.outcome.failed = true;
                plan.outcome.msg = Some(m);
            }
            Err(e) => return Err(e),
        }
        with_output(&mut plan.outcome, "", "");
        Ok(plan)
    }
    async fn apply(&self, ctx: &TaskCtx, args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        let o = Opts::from_args(args)?;
        let Plan { mut outcome, mut changes } = plan;
        if let Some(&Update { mtime }) = changes.iter().find_map(|c| match c {
            Change::Own(b) => b.downcast_ref::<Update>(),
            _ => None,
        }) {
            let r = ctx.sh(format!("LC_ALL=C apt-get update -q >/dev/null || exit 1; {STAMP}")).await?;
            let r = r.ok_or_fail("Failed to update apt cache")?;
            let update_time = r.stdout_str().trim().parse().unwrap_or(mtime);
            outcome = Outcome::ok().with("cache_updated", update_time != mtime).with("cache_update_time", update_time);
            if o.cache_only() {
                outcome.changed = update_time != mtime;
                return Ok(outcome);
            }
            // What to install is decided again on the new lists.
            let mut fresh = Plan::done(outcome);
            decide(ctx, &o, &mut fresh).await?;
            (outcome, changes) = (fresh.outcome, fresh.changes);
        }
        let (mut stdout, mut stderr) = (String::new(), String::new());
        for c in changes {
            match c {
                Change::Own(b) => {
                    let Ok(step) = b.downcast::<AptGet>() else { continue };
                    let r = ctx.sh(step.cmd).await?;
                    stdout += &r.stdout_str();
                    stderr += &r.stderr_str();
                    if r.rc != 0 {
                        return fail(format!("{}: {}", step.failure, r.stderr_str().trim()));
                    }
                    if let Some(then) = step.then {
                        ctx.sh(then).await?;
                    }
                }
                Change::Sh { script, failure } => {
                    ctx.sh(script).await?.ok_or_fail(&failure)?;
                }
                Change::Write(w) => {
                    w.apply(ctx, &mut outcome).await?;
                }
            }
        }
        with_output(&mut outcome, &stdout, &stderr);
        Ok(outcome)
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

    #[test]
    fn version_pins_are_fnmatch_globs() {
        assert!(version_matches("1.2*", "1.2.3-1"));
        assert!(version_matches("1.?.3*", "1.2.3-1"));
        assert!(version_matches("2.[0-4]*", "2.3"));
        assert!(!version_matches("2.[!0-4]*", "2.3"));
        assert!(!version_matches("1.2*", "1.3"));
        // Case-sensitive, and `**` is `*`.
        assert!(!version_matches("1.0~RC*", "1.0~rc1"));
        assert!(version_matches("1**", "1.0"));
        // An unclosed bracket is taken literally.
        assert!(version_matches("1.[0", "1.[0"));
        // No exponential backtracking on many stars.
        let long = "a".repeat(60);
        assert!(!version_matches(&format!("{}b", "*a".repeat(30)), &long));
    }

    use super::super::testing::{args, Scripted};
    use super::super::{execute, Module};

    const DPKG: &str = "dpkg-query -W -f=";

    fn step(p: &Plan) -> Vec<String> {
        p.own::<AptGet>().map(|s| s.cmd.clone()).collect()
    }

    async fn plan(yaml: &str) -> Plan {
        let host = Scripted::new().on(DPKG, 0, PROBE.as_bytes());
        Apt.plan(&host.ctx(false, true), &args(&Apt, yaml)).await.unwrap()
    }

    #[tokio::test]
    async fn installed_at_the_wanted_version_changes_nothing() {
        for yaml in ["{name: steward-hello}", "{name: steward-hello=1.0}", "{name: 'steward-hello=1.*'}"] {
            let p = plan(yaml).await;
            assert!(!p.outcome.changed && p.changes.is_empty(), "{yaml}");
        }
    }

    #[tokio::test]
    async fn a_missing_package_plans_one_apt_get_install() {
        let p = plan("{name: [steward-hello, steward-pinned]}").await;
        assert!(p.outcome.changed);
        let cmds = step(&p);
        assert_eq!(cmds.len(), 1);
        assert!(cmds[0].starts_with("DEBIAN_FRONTEND=noninteractive") && cmds[0].ends_with(" install steward-pinned"), "{}", cmds[0]);
        let s = p.own::<AptGet>().next().unwrap();
        assert_eq!(s.then.as_deref(), Some("apt-mark manual steward-hello steward-pinned >/dev/null 2>&1"));
        assert_eq!(p.outcome.diffs[0].after, "installed: steward-pinned\n");
    }

    #[tokio::test]
    async fn a_glob_pin_installs_the_version_it_matches() {
        let p = plan("{name: 'steward-pinned=1.*'}").await;
        assert!(step(&p)[0].ends_with(" install steward-pinned=1.0"));
        // The installed 1.0 does not match 2.*: 2.0 is offered.
        let p = plan("{name: 'steward-hello=2.*'}").await;
        assert!(step(&p)[0].ends_with(" install steward-hello=2.0"));
        let host = Scripted::new().on(DPKG, 0, PROBE.as_bytes());
        let err = Apt.plan(&host.ctx(false, false), &args(&Apt, "{name: 'steward-pinned=3.*'}")).await.err().unwrap();
        assert_eq!(err.to_string(), "no available installation candidate for steward-pinned=3.*");
    }

    #[tokio::test]
    async fn absent_removes_what_is_installed_and_purges_leftovers() {
        let p = plan("{name: [steward-hello, steward-pinned, steward-old], state: absent}").await;
        assert!(step(&p)[0].ends_with(" remove steward-hello"));
        let p = plan("{name: [steward-pinned, steward-old], state: absent, purge: true}").await;
        assert!(step(&p)[0].ends_with(" --purge remove steward-old"));
        let p = plan("{name: [steward-pinned, 'steward-hello=2*'], state: absent}").await;
        assert!(!p.outcome.changed && p.changes.is_empty());
    }

    #[tokio::test]
    async fn check_mode_sends_only_the_look_up() {
        let host = Scripted::new().on(DPKG, 0, PROBE.as_bytes());
        let a = args(&Apt, "{name: steward-pinned}");
        let out = execute(&Apt, &host.ctx(true, false), &a).await.unwrap();
        assert!(out.changed && out.diffs.is_empty());
        assert_eq!(host.commands().len(), 1);
        assert!(host.commands()[0].contains("apt-cache policy steward-pinned"));
        // The real run installs, then marks the package manual, and reports apt-get's output.
        let host = host.on("apt-get -y", 0, b"Setting up steward-pinned (2.0) ...\n").on("apt-mark manual", 0, b"");
        let out = execute(&Apt, &host.ctx(false, false), &a).await.unwrap();
        assert!(out.changed);
        assert_eq!(out.data["stdout_lines"], json!(["Setting up steward-pinned (2.0) ..."]));
        let cmds = host.commands();
        assert_eq!(cmds.len(), 4);
        assert!(cmds[2].contains("apt-get -y") && cmds[3].starts_with("apt-mark manual"));
    }

    #[tokio::test]
    async fn a_stale_cache_is_refreshed_before_the_packages_are_decided() {
        // Before the refresh the lists know no steward-new; after it, they do.
        let after = "#POLICY\nsteward-new:\n  Installed: (none)\n  Candidate: 1.0\n  Version table:\n     1.0 500\n        500 file:/srv/repo ./ Packages\n";
        let host = Scripted::new()
            .on("date +%s", 0, b"100\n5000\n")
            .once(DPKG, 0, b"#POLICY\n")
            .on("apt-get update", 0, b"4000\n")
            .on(DPKG, 0, after.as_bytes())
            .on("apt-get -y", 0, b"")
            .on("apt-mark", 0, b"");
        let a = args(&Apt, "{name: steward-new, update_cache: true, cache_valid_time: 3600}");
        let p = Apt.plan(&host.ctx(false, false), &a).await.unwrap();
        assert!(p.outcome.failed && p.outcome.msg.as_deref() == Some("no available installation candidate for steward-new"));
        let out = Apt.apply(&host.ctx(false, false), &a, p).await.unwrap();
        assert!(out.changed && !out.failed);
        assert_eq!((out.data["cache_updated"].clone(), out.data["cache_update_time"].clone()), (json!(true), json!(4000)));
        assert!(host.commands().iter().any(|c| c.ends_with(" install steward-new")));
    }
}
