//! `package`: the host's own package manager's module (apt, dnf, apk), chosen as Ansible
//! chooses it, with the task's other arguments. Also what `dnf` and `apk` share: read which of
//! the task's packages are installed (and, for `latest`, which have updates) in one round
//! trip, then hand the ones that need work to the manager in one call.

use async_trait::async_trait;
use serde_json::Value;

use super::{ExecCheck, fail, Arg, Args, Change, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

/// The command lines of a package manager other than apt (`dnf`, `apk`).
pub(super) trait Manager: Sync {
    /// Prints `NAME<TAB>VERSION` for each installed package of `names`.
    fn query(&self, names: &[String]) -> String;
    /// Prints the names among `names` that have an update.
    fn outdated(&self, names: &[String]) -> String;
    fn install(&self, items: &[String], latest: bool) -> String;
    fn remove(&self, items: &[String], autoremove: bool) -> String;
    /// Refreshes the package metadata.
    fn update_cache(&self) -> &'static str;
}

pub(super) fn quoted(names: &[String]) -> String {
    names.iter().map(|n| q(n)).collect::<Vec<_>>().join(" ")
}

/// The arguments of `dnf` and `apk`.
pub(super) const MANAGER_ARGS: &[Arg] = &[
    Arg::list("name", "package names").aliases(&["pkg"]).required(),
    Arg::str("state", "present, latest or absent")
        .choices(&["present", "installed", "latest", "absent", "removed"])
        .default("present"),
    Arg::bool("update_cache", "refresh the package metadata first").aliases(&["update-cache"]).default("false"),
    Arg::bool("autoremove", "with state=absent, also remove what nothing needs any more").default("false"),
];

/// The metadata refresh (`update_cache`). What has updates depends on it, so after it
/// [`apply_with`] looks at the packages again.
struct Refresh;

/// The one call to the manager that installs or removes the packages.
struct Run(String);

/// Which packages need the manager: one round trip, changing nothing.
async fn decide(m: &dyn Manager, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
    let names = args.str_list("name")?;
    let state = args.str("state")?.unwrap_or_else(|| "present".into());
    if names.is_empty() {
        return Ok(Plan::done(Outcome::ok()));
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
    let mut plan = Plan::done(Outcome::ok().with("results", items.iter().map(|i| Value::String(i.clone())).collect::<Vec<_>>()));
    if !items.is_empty() {
        plan.change(Change::own(Run(cmd)));
    }
    Ok(plan)
}

/// A dnf or apk task's plan: `name`, `state` (present, installed, latest, absent, removed),
/// `update_cache`, `autoremove`. The refresh alone is no change.
pub(super) async fn plan_with(m: &dyn Manager, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
    let mut plan = decide(m, ctx, args).await?;
    if args.bool("update_cache", false)? {
        plan.changes.insert(0, Change::own(Refresh));
    }
    Ok(plan)
}

/// Carry out a dnf or apk plan; the manager's output is the result's stdout and stderr.
pub(super) async fn apply_with(m: &dyn Manager, ctx: &TaskCtx, args: &Args, plan: Plan) -> Result<Outcome, ModError> {
    let mut plan = plan;
    if plan.own::<Refresh>().next().is_some() {
        ctx.sh(m.update_cache()).await?.ok_or_fail(&format!("{} failed", m.update_cache()))?;
        plan = decide(m, ctx, args).await?;
    }
    let mut out = plan.outcome;
    for c in plan.changes {
        let Change::Own(b) = c else { continue };
        let Ok(run) = b.downcast::<Run>() else { continue };
        let r = ctx.sh(run.0.clone()).await?;
        let r = r.ok_or_fail(&format!("'{}' failed", run.0))?;
        out.data.insert("stdout".into(), Value::String(r.stdout_str()));
        out.data.insert("stderr".into(), Value::String(r.stderr_str()));
    }
    Ok(out)
}

pub struct Package;

/// The module a `package` task goes to, its arguments, and its plan.
struct Delegated {
    target: &'static dyn Module,
    args: Args,
    plan: Plan,
}

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
            Arg::str("state", "present, latest or absent").default("present"),
            Arg::str("use", "the manager's module (apt, dnf, apk); auto: the host's (its pkg_mgr fact)").default("auto"),
        ];
        A
    }
    fn any_args(&self) -> bool {
        true
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
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
        let plan = target.plan(ctx, &a).await?;
        if plan.changes.is_empty() {
            return Ok(plan);
        }
        // The target's prediction is this task's; its steps are carried to its own apply.
        let outcome = plan.outcome.clone();
        Ok(Plan { outcome, changes: vec![Change::own(Delegated { target, args: a, plan })] })
    }
    async fn apply(&self, ctx: &TaskCtx, _args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        let Some(Change::Own(b)) = plan.changes.into_iter().next() else {
            return Ok(plan.outcome);
        };
        match b.downcast::<Delegated>() {
            Ok(d) => d.target.apply(ctx, &d.args, d.plan).await,
            Err(_) => fail("internal error: a package step that is not the target module's"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::execute;
    use super::super::testing::{args, Scripted};
    use super::Package;

    #[tokio::test]
    async fn delegates_to_the_host_manager_and_applies_its_plan() {
        let host = Scripted::new()
            .on("command -v apt-get", 0, b"dnf\n")
            .once("rpm -q", 0, b"")
            .once("rpm -q", 0, b"")
            .on("dnf -y install", 0, b"Installed: htop\n")
            .on("rpm -q", 0, b"htop\t3.2-1\n");
        let a = args(&Package, "{name: htop}");
        let out = execute(&Package, &host.ctx(true, false), &a).await.unwrap();
        assert!(out.changed && out.data["results"] == serde_json::json!(["htop"]));
        assert_eq!(host.commands().len(), 2, "check mode: the detection and the query only");
        let out = execute(&Package, &host.ctx(false, false), &a).await.unwrap();
        assert!(out.changed && out.data["stdout"] == "Installed: htop\n");
        assert_eq!(host.commands().last().unwrap(), "dnf -y install htop");
        // Installed now: nothing to do, and no dnf call.
        let out = execute(&Package, &host.ctx(false, false), &a).await.unwrap();
        assert!(!out.changed);
        assert_eq!(host.commands().iter().filter(|c| c.starts_with("dnf -y")).count(), 1);
    }
}
