//! `service`: start, stop, restart and reload services, and enable them at boot. Where systemd
//! runs it is systemctl (the `systemd` module's way); elsewhere the init script through
//! `service NAME ACTION` and update-rc.d, as Ansible does on Debian without systemd.

use async_trait::async_trait;
use serde_json::{json, Map};

use super::systemd::{apply_unit, needs_action, plan_unit, Want, RUNS_SYSTEMD};
use super::{fail, Arg, Args, Change, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

/// A service without systemd: its init script, `service`, and update-rc.d links, read in one
/// round trip.
async fn plan_sysv(ctx: &TaskCtx, args: &Args, w: &Want) -> Result<Plan, ModError> {
    let n = q(&w.name);
    let script = format!(
        "[ -x /etc/init.d/{n} ] || command -v service >/dev/null || {{ echo NOSCRIPT; exit 0; }}\n\
         [ -e /etc/init.d/{n} ] || echo NOSCRIPT\n\
         ls /etc/rc?.d/S??{n} >/dev/null 2>&1 && echo ENABLED\n\
         ls /etc/rc?.d/K??{n} >/dev/null 2>&1 && echo KLINKS\n\
         if command -v service >/dev/null; then service {n} status >/dev/null 2>&1; else /etc/init.d/{n} status >/dev/null 2>&1; fi\necho \"STATUS $?\"\n"
    );
    let r = ctx.sh(script).await?;
    let text = r.stdout_str();
    if text.lines().any(|l| l == "NOSCRIPT") {
        return fail(format!("Could not find the requested service {}: host", w.name));
    }
    let enabled_now = text.lines().any(|l| l == "ENABLED");
    let klinks = text.lines().any(|l| l == "KLINKS");
    let status: i32 = text.lines().find_map(|l| l.strip_prefix("STATUS ")).and_then(|s| s.trim().parse().ok()).unwrap_or(4);
    let running = status == 0;
    let mut out = Outcome::ok().with("name", w.name.clone());
    let mut cmds = Vec::new();
    let (mut before, mut after) = (Map::new(), Map::new());
    if let Some(e) = w.enabled {
        out = out.with("enabled", e);
        if e != enabled_now {
            if e && !klinks {
                cmds.push(format!("update-rc.d {n} defaults"));
            }
            cmds.push(format!("update-rc.d {n} {}", if e { "enable" } else { "disable" }));
            before.insert("enabled".into(), json!(enabled_now));
            after.insert("enabled".into(), json!(e));
        }
    }
    if let Some(s) = &w.state {
        out = out.with("state", s.clone());
        if let Some(a) = needs_action(s, running) {
            let sleep = args.int("sleep")?.filter(|_| a == "restart");
            match sleep {
                Some(secs) => cmds.push(format!("service {n} stop; sleep {secs}; service {n} start")),
                None => cmds.push(format!("service {n} {a}")),
            }
            before.insert("state".into(), json!(if running { "started" } else { "stopped" }));
            after.insert("state".into(), json!(s));
        }
    }
    let mut plan = Plan::done(out);
    if cmds.is_empty() {
        return Ok(plan);
    }
    plan.outcome.diffs.push(super::common::state_diff(&w.name, before, after));
    // Detached from the task's shell, so a daemon that keeps its output open cannot hold it.
    let script = format!(
        "set -e\n{}\nrm -f /tmp/.steward-service.$$",
        cmds.iter()
            .map(|c| format!("{c} </dev/null >/tmp/.steward-service.$$ 2>&1 || {{ cat /tmp/.steward-service.$$ >&2; rm -f /tmp/.steward-service.$$; exit 1; }}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    plan.change(Change::sh(script, format!("Unable to change service {}", w.name)));
    Ok(plan)
}

const SERVICE_ARGS: &[Arg] = &[
    Arg::str("name", "the service").aliases(&["service", "unit"]).required(),
    Arg::str("state", "started, stopped, restarted or reloaded").choices(&["started", "stopped", "restarted", "reloaded"]),
    Arg::bool("enabled", "start it at boot"),
    Arg::int("sleep", "with restarted, seconds between stop and start (init scripts)"),
    Arg::str("pattern", "accepted for compatibility; the status comes from the service itself"),
    Arg::str("runlevel", "accepted for compatibility"),
    Arg::str("arguments", "accepted for compatibility").aliases(&["args"]),
    Arg::str("use", "auto (systemd where it runs), systemd or sysv").choices(&["auto", "systemd", "sysv", "service"]).default("auto"),
];

pub struct Service;

#[async_trait]
impl Module for Service {
    fn name(&self) -> &'static str {
        "service"
    }
    fn doc(&self) -> &'static str {
        include_str!("service.md")
    }
    fn args(&self) -> &'static [Arg] {
        SERVICE_ARGS
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let w = Want::from_args(args, args.req_str("name")?)?;
        if w.state.is_none() && w.enabled.is_none() {
            return fail("one of the following is required: state, enabled");
        }
        let systemd = match args.str("use")?.as_deref() {
            Some("systemd") => true,
            Some("sysv" | "service") => false,
            _ => ctx.sh(RUNS_SYSTEMD).await?.rc == 0,
        };
        if systemd {
            plan_unit(ctx, args, &w).await
        } else {
            plan_sysv(ctx, args, &w).await
        }
    }
    async fn apply(&self, ctx: &TaskCtx, args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        let w = Want::from_args(args, args.req_str("name")?)?;
        apply_unit(ctx, args, Some(&w), plan).await
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{args, Scripted};
    use super::super::{execute, Change, Module};
    use super::Service;

    /// What the init-script look-up prints: enabled (S links) or not, running or not.
    fn sysv(enabled: bool, running: bool) -> std::sync::Arc<Scripted> {
        let mut out = String::new();
        if enabled {
            out += "ENABLED\nKLINKS\n";
        }
        out += if running { "STATUS 0\n" } else { "STATUS 3\n" };
        Scripted::new().on(RUNS_SYSTEMD_MARK, 1, b"").on("echo \"STATUS $?\"", 0, out.as_bytes())
    }
    const RUNS_SYSTEMD_MARK: &str = "[ -d /run/systemd/system ]";

    async fn plan(h: &std::sync::Arc<Scripted>, yaml: &str) -> super::Plan {
        Service.plan(&h.ctx(false, true), &args(&Service, yaml)).await.unwrap()
    }

    fn script(p: &super::Plan) -> &str {
        match p.changes.as_slice() {
            [Change::Sh { script, .. }] => script,
            _ => panic!("one script expected"),
        }
    }

    #[tokio::test]
    async fn init_scripts_started_stopped_enabled() {
        let p = plan(&sysv(false, false), "{name: cron, state: started}").await;
        assert!(p.outcome.changed);
        assert!(script(&p).starts_with("set -e\nservice cron start </dev/null"));
        let p = plan(&sysv(true, true), "{name: cron, state: started, enabled: true}").await;
        assert!(!p.outcome.changed && p.changes.is_empty());
        let p = plan(&sysv(true, true), "{name: cron, state: stopped}").await;
        assert!(script(&p).contains("service cron stop </dev/null"));
        // Enabling a service that never had links makes them first.
        let p = plan(&sysv(false, true), "{name: cron, enabled: true}").await;
        let s = script(&p);
        assert!(s.find("update-rc.d cron defaults").unwrap() < s.find("update-rc.d cron enable").unwrap());
        assert!(p.outcome.diffs[0].after.contains("\"enabled\": true"));
        let p = plan(&sysv(true, false), "{name: cron, state: restarted, sleep: 2}").await;
        assert!(script(&p).contains("service cron stop; sleep 2; service cron start"));
    }

    #[tokio::test]
    async fn goes_to_systemctl_where_systemd_runs() {
        let h = Scripted::new()
            .on(RUNS_SYSTEMD_MARK, 0, b"")
            .on("systemctl show", 0, b"LoadState=loaded\nActiveState=active\nUnitFileState=disabled\n")
            .on("systemctl enable", 0, b"");
        let a = args(&Service, "{name: nginx, state: started, enabled: true}");
        let out = execute(&Service, &h.ctx(true, false), &a).await.unwrap();
        assert!(out.changed && h.commands().len() == 2);
        let out = execute(&Service, &h.ctx(false, false), &a).await.unwrap();
        assert!(out.changed && out.data["enabled"] == true);
        assert_eq!(h.commands().last().unwrap(), "set -e\nsystemctl enable nginx\n");
    }

    #[tokio::test]
    async fn needs_a_state_or_enabled() {
        let h = Scripted::new();
        let e = Service.plan(&h.ctx(false, false), &args(&Service, "{name: cron}")).await.err().unwrap();
        assert_eq!(e.to_string(), "one of the following is required: state, enabled");
        assert!(h.commands().is_empty());
    }
}
