//! `package` (the host's own manager), and `dnf` and `apk`, which share one way of working:
//! read which of the task's packages are installed (and, for `latest`, which have updates) in one
//! round trip, then hand the ones that need work to the manager in one call.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::{fail, Arg, Args, ModError, Module, Outcome, TaskCtx};
use crate::pytext::shell_quote as q;

/// The command lines of a package manager other than apt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Manager {
    Dnf,
    Apk,
}

impl Manager {
    /// Prints `NAME<TAB>VERSION` for each installed package of `names`.
    pub fn query(self, names: &[String]) -> String {
        let n = quoted(names);
        match self {
            Manager::Dnf => {
                format!("rpm -q --qf '%{{NAME}}\\t%{{VERSION}}-%{{RELEASE}}\\n' {n} 2>/dev/null | grep -v 'is not installed'; true")
            }
            Manager::Apk => {
                format!("for p in {n}; do v=$(apk info -e -v \"$p\" 2>/dev/null) && printf '%s\\t%s\\n' \"$p\" \"${{v#$p-}}\"; done; true")
            }
        }
    }

    /// Prints the names among `names` that have an update.
    pub fn outdated(self, names: &[String]) -> String {
        let n = quoted(names);
        match self {
            Manager::Dnf => format!("dnf -q check-update {n} 2>/dev/null | awk 'NF == 3 {{ split($1, a, \".\"); print a[1] }}'; true"),
            Manager::Apk => format!("apk version -l '<' {n} 2>/dev/null | awk 'NR > 1 {{ sub(/-[0-9].*/, \"\", $1); print $1 }}'; true"),
        }
    }

    pub fn install(self, items: &[String], latest: bool) -> String {
        let n = quoted(items);
        match (self, latest) {
            (Manager::Dnf, false) => format!("dnf -y install {n}"),
            (Manager::Dnf, true) => format!("dnf -y install {n} && dnf -y upgrade {n}"),
            (Manager::Apk, false) => format!("apk add {n}"),
            (Manager::Apk, true) => format!("apk add --upgrade {n}"),
        }
    }

    pub fn remove(self, items: &[String], autoremove: bool) -> String {
        let n = quoted(items);
        match self {
            Manager::Dnf if autoremove => format!("dnf -y remove {n} && dnf -y autoremove"),
            Manager::Dnf => format!("dnf -y remove {n}"),
            Manager::Apk => format!("apk del {n}"),
        }
    }

    pub fn update_cache(self) -> &'static str {
        match self {
            Manager::Dnf => "dnf -y makecache",
            Manager::Apk => "apk update",
        }
    }
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|n| q(n)).collect::<Vec<_>>().join(" ")
}

/// A dnf or apk task: `name`, `state` (present, installed, latest, absent, removed),
/// `update_cache`, `autoremove`.
async fn run_manager(m: Manager, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
    let names = args.str_list("name")?;
    let state = args.str("state")?.unwrap_or_else(|| "present".into());
    let mut out = Outcome::ok();
    if args.bool("update_cache", false)? && !ctx.check {
        let r = ctx.sh(m.update_cache()).await?;
        if r.rc != 0 {
            return fail(format!("{} failed: {}", m.update_cache(), r.stderr_str().trim()));
        }
    }
    if names.is_empty() {
        return Ok(out);
    }
    let latest = state == "latest";
    let mut script = m.query(&names);
    if latest {
        script = format!("{script}\necho '#OUTDATED'\n{}", m.outdated(&names));
    }
    let r = ctx.sh(script).await?;
    let text = r.stdout_str();
    let (installed, outdated) = text.split_once("#OUTDATED\n").unwrap_or((&text, ""));
    let installed: Vec<&str> = installed.lines().filter_map(|l| l.split('\t').next()).collect();
    let outdated: Vec<&str> = outdated.lines().map(str::trim).collect();
    let (items, cmd) = match state.as_str() {
        "absent" | "removed" => {
            let items: Vec<String> = names.iter().filter(|n| installed.contains(&n.as_str())).cloned().collect();
            let cmd = m.remove(&items, args.bool("autoremove", false)?);
            (items, cmd)
        }
        _ => {
            let items: Vec<String> =
                names.iter().filter(|n| !installed.contains(&n.as_str()) || (latest && outdated.contains(&n.as_str()))).cloned().collect();
            let cmd = m.install(&items, latest);
            (items, cmd)
        }
    };
    if items.is_empty() {
        return Ok(out.with("results", Vec::<Value>::new()));
    }
    out.changed = true;
    out = out.with("results", items.iter().map(|i| Value::String(i.clone())).collect::<Vec<_>>());
    if !ctx.check {
        let r = ctx.sh(cmd.clone()).await?;
        if r.rc != 0 {
            return fail(format!("'{cmd}' failed: {}", r.stderr_str().trim()));
        }
        let mut m = Map::new();
        m.insert("stdout".into(), Value::String(r.stdout_str()));
        m.insert("stderr".into(), Value::String(r.stderr_str()));
        out.data.extend(m);
    }
    Ok(out)
}

const MANAGER_ARGS: &[Arg] = &[
    Arg::list("name", "package names").aliases(&["pkg"]).required(),
    Arg::str("state", "present (default), latest or absent").choices(&["present", "installed", "latest", "absent", "removed"]),
    Arg::bool("update_cache", "refresh the package metadata first").aliases(&["update-cache"]),
    Arg::bool("autoremove", "with state=absent, also remove what nothing needs any more"),
];

pub struct Dnf;

#[async_trait]
impl Module for Dnf {
    fn name(&self) -> &'static str {
        "dnf"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["yum"]
    }
    fn doc(&self) -> &'static str {
        include_str!("dnf.md")
    }
    fn args(&self) -> &'static [Arg] {
        MANAGER_ARGS
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        run_manager(Manager::Dnf, ctx, args).await
    }
}

pub struct Apk;

#[async_trait]
impl Module for Apk {
    fn name(&self) -> &'static str {
        "apk"
    }
    fn doc(&self) -> &'static str {
        include_str!("apk.md")
    }
    fn args(&self) -> &'static [Arg] {
        MANAGER_ARGS
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        run_manager(Manager::Apk, ctx, args).await
    }
}

pub struct Package;

#[async_trait]
impl Module for Package {
    fn name(&self) -> &'static str {
        "package"
    }
    fn doc(&self) -> &'static str {
        include_str!("package.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::list("name", "package names").required(),
            Arg::str("state", "present, latest or absent"),
            Arg::str("use", "the manager's module (apt, dnf, apk); default: the host's"),
        ];
        A
    }
    fn any_args(&self) -> bool {
        true
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        // As Ansible: `use`, else the ansible_package_use variable, else the pkg_mgr fact, else
        // a look at the host.
        let var = |name: &str| ctx.scope.resolve(name).ok().flatten();
        let from_vars =
            var("ansible_package_use").map(|v| crate::pytext::to_text(&v)).filter(|u| !u.is_empty() && u != "auto").or_else(|| {
                var("ansible_facts").and_then(|f| f.get("pkg_mgr").and_then(|p| p.as_str()).map(str::to_string)).filter(|p| p != "unknown")
            });
        let module = match args.str("use")?.filter(|u| u != "auto").or(from_vars) {
            Some(u) => u,
            None => {
                let r = ctx
                    .sh("if command -v apt-get >/dev/null; then echo apt; elif command -v dnf >/dev/null || command -v yum >/dev/null; then echo dnf; elif command -v apk >/dev/null; then echo apk; else echo unknown; fi")
                    .await?;
                r.stdout_str().trim().to_string()
            }
        };
        let unknown = || fail(format!("Could not find a matching action for the \"{module}\" package manager."));
        let Some(target) = super::find(if module == "yum" { "dnf" } else { &module }) else {
            return unknown();
        };
        if !["apt", "dnf", "apk"].contains(&target.name()) {
            return unknown();
        }
        let mut raw = args.map.clone();
        raw.remove("use");
        let a = Args::prepare(target, raw)?;
        super::execute(target, ctx, &a).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dnf_and_apk_command_lines() {
        let p = vec!["httpd".to_string(), "mod ssl".to_string()];
        assert_eq!(Manager::Dnf.install(&p, false), "dnf -y install httpd 'mod ssl'");
        assert_eq!(Manager::Dnf.install(&p[..1], true), "dnf -y install httpd && dnf -y upgrade httpd");
        assert_eq!(Manager::Dnf.remove(&p[..1], true), "dnf -y remove httpd && dnf -y autoremove");
        assert!(Manager::Dnf.query(&p[..1]).starts_with("rpm -q --qf '%{NAME}\\t%{VERSION}-%{RELEASE}\\n' httpd"));
        assert_eq!(Manager::Apk.install(&p[..1], false), "apk add httpd");
        assert_eq!(Manager::Apk.install(&p[..1], true), "apk add --upgrade httpd");
        assert_eq!(Manager::Apk.remove(&p[..1], false), "apk del httpd");
        assert_eq!(Manager::Apk.update_cache(), "apk update");
        assert!(Manager::Apk.outdated(&p[..1]).starts_with("apk version -l '<' httpd"));
    }
}
