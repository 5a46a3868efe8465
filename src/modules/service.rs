//! `service` and `systemd`: start, stop, restart and reload services, and enable them at boot.
//! Where systemd runs it is systemctl; elsewhere (`service` only) the init script through
//! `service NAME ACTION` and update-rc.d, as Ansible does on Debian without systemd.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::{fail, Arg, Args, ModError, Module, Outcome, TaskCtx};
use crate::pytext::shell_quote as q;

/// What a task asks of a service.
struct Want {
    name: String,
    state: Option<String>,
    enabled: Option<bool>,
}

fn want(args: &Args) -> Result<Want, ModError> {
    Ok(Want { name: args.req_str("name")?, state: args.str("state")?, enabled: args.opt_bool("enabled")? })
}

/// Whether a state change is needed, given whether the service runs now.
fn needs_action(state: &str, running: bool) -> Option<&'static str> {
    match (state, running) {
        ("started", false) => Some("start"),
        ("stopped", true) => Some("stop"),
        ("reloaded", false) => Some("start"),
        ("reloaded", true) => Some("reload"),
        ("restarted", _) => Some("restart"),
        _ => None,
    }
}

/// The systemctl commands for a task, given the unit's properties.
fn systemd_plan(w: &Want, props: &Map<String, Value>, masked: Option<bool>) -> (Vec<String>, Map<String, Value>, Map<String, Value>) {
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

async fn run_systemd(ctx: &TaskCtx, args: &Args, w: &Want) -> Result<Outcome, ModError> {
    let mut pre = Vec::new();
    if args.bool("daemon_reload", false)? {
        pre.push("systemctl daemon-reload".to_string());
    }
    if args.bool("daemon_reexec", false)? {
        pre.push("systemctl daemon-reexec".to_string());
    }
    let scope = match args.str("scope")?.as_deref() {
        Some("user") => " --user",
        Some("global") => " --global",
        _ => "",
    };
    let mut out = Outcome::ok().with("name", w.name.clone());
    if !pre.is_empty() && !ctx.check {
        let r = ctx.sh(pre.join(" && ")).await?;
        if r.rc != 0 {
            return fail(format!("failure {} during daemon-reload: {}", r.rc, r.stderr_str().trim()));
        }
    }
    let show = ctx.sh(format!("systemctl{scope} show {} --no-pager", q(&w.name))).await?;
    if show.rc != 0 {
        return fail(format!("Service is in unknown state: systemctl show {} failed: {}", w.name, show.stderr_str().trim()));
    }
    let props = parse_show(&show.stdout_str());
    if props.get("LoadState").and_then(Value::as_str) == Some("not-found") && (w.state.is_some() || w.enabled.is_some()) {
        return fail(format!("Could not find the requested service {}: host", w.name));
    }
    let (mut cmds, before, after) = systemd_plan(w, &props, args.opt_bool("masked")?);
    if scope.is_empty() && args.bool("no_block", false)? {
        cmds = cmds.into_iter().map(|c| c.replacen("systemctl ", "systemctl --no-block ", 1)).collect();
    } else if !scope.is_empty() {
        cmds = cmds.into_iter().map(|c| c.replacen("systemctl ", &format!("systemctl{scope} "), 1)).collect();
    }
    if let Some(s) = &w.state {
        out = out.with("state", s.clone());
    }
    if let Some(e) = w.enabled {
        out = out.with("enabled", e);
    }
    out = out.with("status", Value::Object(props));
    if cmds.is_empty() {
        return Ok(out);
    }
    out.changed = true;
    if ctx.diff {
        out.diffs.push(super::common::state_diff(&w.name, before, after));
    }
    if !ctx.check {
        let verb = cmds.last().and_then(|c| c.split_whitespace().nth(1)).unwrap_or("change").to_string();
        ctx.run_all(&cmds, &format!("Unable to {verb} service {}", w.name)).await?;
    }
    Ok(out)
}

/// A service without systemd: its init script, `service`, and update-rc.d links.
async fn run_sysv(ctx: &TaskCtx, args: &Args, w: &Want) -> Result<Outcome, ModError> {
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
    if cmds.is_empty() {
        return Ok(out);
    }
    out.changed = true;
    if ctx.diff {
        out.diffs.push(super::common::state_diff(&w.name, before, after));
    }
    if !ctx.check {
        // Detached from the task's shell, so a daemon that keeps its output open cannot hold it.
        let r = ctx.sh(format!("set -e\n{}\n", cmds.iter().map(|c| format!("{c} </dev/null >/tmp/.steward-service.$$ 2>&1 || {{ cat /tmp/.steward-service.$$ >&2; rm -f /tmp/.steward-service.$$; exit 1; }}")).collect::<Vec<_>>().join("\n") + "\nrm -f /tmp/.steward-service.$$")).await?;
        if r.rc != 0 {
            return fail(format!("Unable to change service {}: {}", w.name, r.stderr_str().trim()));
        }
    }
    Ok(out)
}

const SERVICE_ARGS: &[Arg] = &[
    Arg::str("name", "the service").aliases(&["service", "unit"]).required(),
    Arg::str("state", "started, stopped, restarted or reloaded").choices(&["started", "stopped", "restarted", "reloaded"]),
    Arg::bool("enabled", "start it at boot"),
    Arg::int("sleep", "with restarted, seconds between stop and start (init scripts)"),
    Arg::str("pattern", "accepted for compatibility; the status comes from the service itself"),
    Arg::str("runlevel", "accepted for compatibility"),
    Arg::str("arguments", "accepted for compatibility").aliases(&["args"]),
    Arg::str("use", "auto (default), systemd or sysv").choices(&["auto", "systemd", "sysv", "service"]),
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
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let w = want(args)?;
        if w.state.is_none() && w.enabled.is_none() {
            return fail("one of the following is required: state, enabled");
        }
        let systemd = match args.str("use")?.as_deref() {
            Some("systemd") => true,
            Some("sysv" | "service") => false,
            _ => ctx.sh("[ -d /run/systemd/system ]").await?.rc == 0,
        };
        if systemd {
            run_systemd(ctx, args, &w).await
        } else {
            run_sysv(ctx, args, &w).await
        }
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
            Arg::bool("daemon_reload", "run daemon-reload first (after changing unit files)").aliases(&["daemon-reload"]),
            Arg::bool("daemon_reexec", "run daemon-reexec first").aliases(&["daemon-reexec"]),
            Arg::str("scope", "system (default), user or global").choices(&["system", "user", "global"]),
            Arg::bool("no_block", "do not wait for the unit's jobs to finish"),
            Arg::bool("force", "accepted for compatibility"),
        ];
        A
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let name = args.str("name")?;
        if ctx.sh("[ -d /run/systemd/system ]").await?.rc != 0 {
            return fail("systemd is not running on this host (no /run/systemd/system); use the service module for init scripts");
        }
        let Some(name) = name else {
            // daemon_reload alone.
            let mut out = Outcome::ok();
            if args.bool("daemon_reload", false)? || args.bool("daemon_reexec", false)? {
                if !ctx.check {
                    let verb = if args.bool("daemon_reexec", false)? { "daemon-reexec" } else { "daemon-reload" };
                    let r = ctx.sh(format!("systemctl {verb}")).await?;
                    if r.rc != 0 {
                        return fail(format!("failure {} during {verb}: {}", r.rc, r.stderr_str().trim()));
                    }
                }
                // Ansible reports a daemon-reload alone as a change.
                out.changed = true;
                return Ok(out);
            }
            return fail("name is required unless daemon_reload or daemon_reexec is set");
        };
        let w = Want { name, state: args.str("state")?, enabled: args.opt_bool("enabled")? };
        run_systemd(ctx, args, &w).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemctl_command_lines() {
        let props = parse_show("ActiveState=inactive\nUnitFileState=disabled\nLoadState=loaded\n");
        let w = Want { name: "app.service".into(), state: Some("started".into()), enabled: Some(true) };
        let (cmds, _, after) = systemd_plan(&w, &props, None);
        assert_eq!(cmds, vec!["systemctl enable app.service", "systemctl start app.service"]);
        assert_eq!(after["state"], json!("started"));
        let props = parse_show("ActiveState=active\nUnitFileState=enabled\n");
        assert!(systemd_plan(&w, &props, None).0.is_empty());
        let w = Want { name: "x".into(), state: Some("reloaded".into()), enabled: Some(false) };
        assert_eq!(systemd_plan(&w, &props, Some(true)).0, vec!["systemctl mask x", "systemctl disable x", "systemctl reload x"]);
        assert_eq!(needs_action("restarted", false), Some("restart"));
        assert_eq!(needs_action("stopped", false), None);
    }
}
