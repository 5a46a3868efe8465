//! `systemd` (also `systemd_service`): start, stop, restart and reload units, enable them at
//! boot and mask them, with systemctl, as Ansible's module decides from `systemctl show`.
//! `service` comes here too where systemd runs.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::{ExecCheck, fail, Arg, Args, Change, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

/// What a task asks of a service.
pub(super) struct Want {
    pub name: String,
    pub state: Option<String>,
    pub enabled: Option<bool>,
}

impl Want {
    pub fn from_args(args: &Args, name: String) -> Result<Want, ModError> {
        Ok(Want { name, state: args.str("state")?, enabled: args.opt_bool("enabled")? })
    }
}

/// Whether a state change is needed, given whether the service runs now.
pub(super) fn needs_action(state: &str, running: bool) -> Option<&'static str> {
    match (state, running) {
        ("started", false) => Some("start"),
        ("stopped", true) => Some("stop"),
        ("reloaded", false) => Some("start"),
        ("reloaded", true) => Some("reload"),
        ("restarted", _) => Some("restart"),
        _ => None,
    }
}

/// The systemctl commands for a task, given the unit's properties, with the diff's two sides.
fn systemctl_commands(w: &Want, props: &Map<String, Value>, masked: Option<bool>) -> (Vec<String>, Map<String, Value>, Map<String, Value>) {
    let n = q(&w.name);
    let get = |k: &str| props.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut cmds = Vec::new();
    let (mut before, mut after) = (Map::new(), Map::new());
    let file_state = get("UnitFileState");
    if let Some(m) = masked {
        let is = file_state == "masked" || file_state == "masked-runtime";
        if m != is {
            cmds.push(format!("systemctl {} {n}", if m { "mask" } else { "unmask" }));
            before.insert("masked".into(), json!(is));
            after.insert("masked".into(), json!(m));
        }
    }
    if let Some(e) = w.enabled {
        let is = matches!(file_state.as_str(), "enabled" | "enabled-runtime" | "alias" | "static" | "indirect" | "generated");
        if e != is && !(file_state == "static" && e) {
            cmds.push(format!("systemctl {} {n}", if e { "enable" } else { "disable" }));
            before.insert("enabled".into(), json!(is));
            after.insert("enabled".into(), json!(e));
        }
    }
    if let Some(s) = &w.state {
        let active = get("ActiveState");
        let running = matches!(active.as_str(), "active" | "activating" | "reloading");
        if let Some(a) = needs_action(s, running) {
            cmds.push(format!("systemctl {a} {n}"));
            before.insert("state".into(), json!(if running { "started" } else { "stopped" }));
            after.insert("state".into(), json!(s));
        }
    }
    (cmds, before, after)
}

fn parse_show(text: &str) -> Map<String, Value> {
    text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect()
}

/// `systemctl daemon-reload` (or `daemon-reexec`) before anything else. What a unit is may
/// change with it, so after it [`apply`] asks `systemctl show` again.
struct Daemon {
    cmds: Vec<String>,
    /// What the failure message names.
    verb: &'static str,
}

/// Whether the host runs systemd: the look-up both modules start with.
pub(super) const RUNS_SYSTEMD: &str = "[ -d /run/systemd/system ]";

/// One round trip (`systemctl show`) and the decision, changing nothing.
async fn decide(ctx: &TaskCtx, args: &Args, w: &Want) -> Result<Plan, ModError> {
    let scope = match args.str("scope")?.as_deref() {
        Some("user") => " --user",
        Some("global") => " --global",
        _ => "",
    };
    let show = ctx.sh(format!("systemctl{scope} show {} --no-pager", q(&w.name))).await?;
    let show = show.ok_or_fail(&format!("Service is in unknown state: systemctl show {} failed", w.name))?;
    let props = parse_show(&show.stdout_str());
    if props.get("LoadState").and_then(Value::as_str) == Some("not-found") && (w.state.is_some() || w.enabled.is_some()) {
        return fail(format!("Could not find the requested service {}: host", w.name));
    }
    let (mut cmds, before, after) = systemctl_commands(w, &props, args.opt_bool("masked")?);
    let verb = cmds.last().and_then(|c| c.split_whitespace().nth(1)).unwrap_or("change").to_string();
    if scope.is_empty() && args.bool("no_block", false)? {
        cmds = cmds.into_iter().map(|c| c.replacen("systemctl ", "systemctl --no-block ", 1)).collect();
    } else if !scope.is_empty() {
        cmds = cmds.into_iter().map(|c| c.replacen("systemctl ", &format!("systemctl{scope} "), 1)).collect();
    }
    let mut out = Outcome::ok().with("name", w.name.clone());
    if let Some(s) = &w.state {
        out = out.with("state", s.clone());
    }
    if let Some(e) = w.enabled {
        out = out.with("enabled", e);
    }
    let mut plan = Plan::done(out.with("status", Value::Object(props)));
    if !cmds.is_empty() {
        plan.outcome.diffs.push(super::common::state_diff(&w.name, before, after));
        plan.change(Change::sh(format!("set -e\n{}\n", cmds.join("\n")), format!("Unable to {verb} service {}", w.name)));
    }
    Ok(plan)
}

/// The plan of a unit's task (also `service`'s where systemd runs). With daemon_reload the
/// prediction is made on the units as systemd knows them now (as Ansible's check mode, which
/// reloads nothing); the real run reloads, then decides again.
pub(super) async fn plan_unit(ctx: &TaskCtx, args: &Args, w: &Want) -> Result<Plan, ModError> {
    let mut pre = Vec::new();
    if args.bool("daemon_reload", false)? {
        pre.push("systemctl daemon-reload".to_string());
    }
    if args.bool("daemon_reexec", false)? {
        pre.push("systemctl daemon-reexec".to_string());
    }
    if pre.is_empty() {
        return decide(ctx, args, w).await;
    }
    let outcome = match decide(ctx, args, w).await {
        Ok(p) => p.outcome,
        Err(ModError::Fail(m)) => Outcome::failed(m),
        Err(e) => return Err(e),
    };
    Ok(Plan { outcome, changes: vec![Change::own(Daemon { cmds: pre, verb: "daemon-reload" })] })
}

/// Carry out a unit's plan: the daemon reload first (then the decision again), the systemctl
/// commands.
pub(super) async fn apply_unit(ctx: &TaskCtx, args: &Args, w: Option<&Want>, plan: Plan) -> Result<Outcome, ModError> {
    let Some(d) = plan.own::<Daemon>().next() else {
        return plan.apply_all(ctx).await;
    };
    let r = ctx.sh(d.cmds.join(" && ")).await?;
    if r.rc != 0 {
        return fail(format!("failure {} during {}: {}", r.rc, d.verb, r.stderr_str().trim()));
    }
    match w {
        Some(w) => decide(ctx, args, w).await?.apply_all(ctx).await,
        None => Ok(plan.outcome),
    }
}

pub struct Systemd;

#[async_trait]
impl Module for Systemd {
    fn name(&self) -> &'static str {
        "systemd"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["systemd_service"]
    }
    fn doc(&self) -> &'static str {
        include_str!("systemd.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("name", "the unit").aliases(&["service", "unit"]),
            Arg::str("state", "started, stopped, restarted or reloaded").choices(&["started", "stopped", "restarted", "reloaded"]),
            Arg::bool("enabled", "start it at boot"),
            Arg::bool("masked", "mask (true) or unmask (false) the unit"),
            Arg::bool("daemon_reload", "run daemon-reload first (after changing unit files)").aliases(&["daemon-reload"]).default("false"),
            Arg::bool("daemon_reexec", "run daemon-reexec first").aliases(&["daemon-reexec"]).default("false"),
            Arg::str("scope", "system, user or global").choices(&["system", "user", "global"]).default("system"),
            Arg::bool("no_block", "do not wait for the unit's jobs to finish").default("false"),
            Arg::bool("force", "accepted for compatibility"),
        ];
        A
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let name = args.str("name")?;
        if ctx.sh(RUNS_SYSTEMD).await?.rc != 0 {
            return fail("systemd is not running on this host (no /run/systemd/system); use the service module for init scripts");
        }
        let Some(name) = name else {
            // daemon_reload alone, which Ansible reports as a change.
            let verb = if args.bool("daemon_reexec", false)? {
                "daemon-reexec"
            } else if args.bool("daemon_reload", false)? {
                "daemon-reload"
            } else {
                return fail("name is required unless daemon_reload or daemon_reexec is set");
            };
            let mut plan = Plan::done(Outcome::ok());
            plan.change(Change::own(Daemon { cmds: vec![format!("systemctl {verb}")], verb }));
            return Ok(plan);
        };
        plan_unit(ctx, args, &Want::from_args(args, name)?).await
    }
    async fn apply(&self, ctx: &TaskCtx, args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        let w = args.str("name")?.map(|n| Want::from_args(args, n)).transpose()?;
        apply_unit(ctx, args, w.as_ref(), plan).await
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{args, Scripted};
    use super::super::{execute, Change, Module};
    use super::*;

    #[test]
    fn systemctl_command_lines() {
        let props = parse_show("ActiveState=inactive\nUnitFileState=disabled\nLoadState=loaded\n");
        let w = Want { name: "app.service".into(), state: Some("started".into()), enabled: Some(true) };
        let (cmds, _, after) = systemctl_commands(&w, &props, None);
        assert_eq!(cmds, vec!["systemctl enable app.service", "systemctl start app.service"]);
        assert_eq!(after["state"], json!("started"));
        let props = parse_show("ActiveState=active\nUnitFileState=enabled\n");
        assert!(systemctl_commands(&w, &props, None).0.is_empty());
        let w = Want { name: "x".into(), state: Some("reloaded".into()), enabled: Some(false) };
        assert_eq!(systemctl_commands(&w, &props, Some(true)).0, vec!["systemctl mask x", "systemctl disable x", "systemctl reload x"]);
        assert_eq!(needs_action("restarted", false), Some("restart"));
        assert_eq!(needs_action("stopped", false), None);
    }

    fn host(show: &str) -> std::sync::Arc<Scripted> {
        Scripted::new().on(RUNS_SYSTEMD, 0, b"").on(" --no-pager", 0, show.as_bytes())
    }

    fn script(p: &Plan) -> String {
        match p.changes.as_slice() {
            [Change::Sh { script, .. }] => script.clone(),
            _ => panic!("one systemctl script expected"),
        }
    }

    #[tokio::test]
    async fn started_stopped_and_enabled() {
        let stopped = host("LoadState=loaded\nActiveState=inactive\nUnitFileState=disabled\n");
        let running = host("LoadState=loaded\nActiveState=active\nUnitFileState=enabled\n");
        let plan = |h: &std::sync::Arc<Scripted>, yaml: &'static str| {
            let h = h.clone();
            async move { Systemd.plan(&h.ctx(false, true), &args(&Systemd, yaml)).await.unwrap() }
        };
        let p = plan(&stopped, "{name: app, state: started}").await;
        assert!(p.outcome.changed);
        assert_eq!(script(&p), "set -e\nsystemctl start app\n");
        assert!(
            p.outcome.diffs[0].before.contains("\"state\": \"stopped\"") && p.outcome.diffs[0].after.contains("\"state\": \"started\"")
        );
        let p = plan(&running, "{name: app, state: started, enabled: true}").await;
        assert!(!p.outcome.changed && p.changes.is_empty());
        assert_eq!(p.outcome.data["status"]["ActiveState"], "active");
        let p = plan(&running, "{name: app, state: stopped}").await;
        assert_eq!(script(&p), "set -e\nsystemctl stop app\n");
        let p = plan(&stopped, "{name: app, enabled: true, no_block: true}").await;
        assert_eq!(script(&p), "set -e\nsystemctl --no-block enable app\n");
        assert_eq!(p.outcome.data["enabled"], true);
        let p = plan(&running, "{name: app, enabled: false, scope: user}").await;
        assert_eq!(script(&p), "set -e\nsystemctl --user disable app\n");
        let Change::Sh { failure, .. } = &p.changes[0] else { panic!() };
        assert_eq!(failure, "Unable to disable service app");
    }

    #[tokio::test]
    async fn a_missing_unit_fails() {
        let h = host("LoadState=not-found\nActiveState=inactive\n");
        let e = Systemd.plan(&h.ctx(false, false), &args(&Systemd, "{name: nope, state: started}")).await.err().unwrap();
        assert_eq!(e.to_string(), "Could not find the requested service nope: host");
    }

    #[tokio::test]
    async fn daemon_reload_runs_first_then_the_unit_is_looked_at_again() {
        // systemd knows the unit only after the reload.
        let host = || {
            Scripted::new()
                .on(RUNS_SYSTEMD, 0, b"")
                .once("systemctl show", 0, b"LoadState=not-found\n")
                .on("systemctl show", 0, b"LoadState=loaded\nActiveState=inactive\nUnitFileState=disabled\n")
                .on("daemon-reload", 0, b"")
                .on("systemctl start", 0, b"")
        };
        let a = args(&Systemd, "{name: new, state: started, daemon_reload: true}");
        let h = host();
        let out = execute(&Systemd, &h.ctx(true, false), &a).await.unwrap();
        assert!(out.failed, "check mode reloads nothing, and the unit is unknown");
        assert_eq!(h.commands().len(), 2);
        let h = host();
        let out = execute(&Systemd, &h.ctx(false, false), &a).await.unwrap();
        assert!(out.changed && !out.failed);
        let cmds = h.commands();
        assert_eq!(cmds[2], "systemctl daemon-reload");
        assert!(cmds[3].starts_with("systemctl show") && cmds[4] == "set -e\nsystemctl start new\n");
    }

    #[tokio::test]
    async fn daemon_reload_alone_is_a_change() {
        let h = Scripted::new().on(RUNS_SYSTEMD, 0, b"").on("systemctl daemon-reload", 0, b"");
        let a = args(&Systemd, "{daemon_reload: true}");
        let out = execute(&Systemd, &h.ctx(true, false), &a).await.unwrap();
        assert!(out.changed && h.commands().len() == 1);
        let out = execute(&Systemd, &h.ctx(false, false), &a).await.unwrap();
        assert!(out.changed && h.commands().last().unwrap() == "systemctl daemon-reload");
    }
}
