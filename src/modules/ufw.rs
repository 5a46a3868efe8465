//! `ufw` (community.general): the Uncomplicated Firewall's rules, default policies, logging and
//! state, through the `ufw` command. A change is what differs in ufw's status and rule files
//! before and after, as Ansible tells it; the prediction (check mode) asks `ufw --dry-run`.

use async_trait::async_trait;

use super::{ExecCheck, fail, Arg, Args, Change, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Ufw;

/// ufw's status and its rules, compared before and after (as Ansible compares them).
const STATE: &str = "LC_ALL=C ufw status verbose 2>/dev/null; echo '#RULES'; grep -h '^### tuple' /lib/ufw/user.rules /lib/ufw/user6.rules /etc/ufw/user.rules /etc/ufw/user6.rules /var/lib/ufw/user.rules /var/lib/ufw/user6.rules 2>/dev/null; true";

/// The ufw command line of a rule, in ufw's own order.
fn rule_cmd(args: &Args, dry: bool) -> Result<Option<String>, ModError> {
    let Some(rule) = args.str("rule")? else { return Ok(None) };
    let mut c = String::from("ufw");
    if dry {
        c += " --dry-run";
    }
    if args.bool("delete", false)? {
        c += " delete";
    }
    if let Some(i) = args.int("insert")? {
        c += &format!(" insert {i}");
    }
    if args.bool("route", false)? {
        c += " route";
    }
    c += &format!(" {}", q(&rule));
    let direction = args.str("direction")?;
    if let Some(d) = direction.as_deref().filter(|d| *d == "in" || *d == "out" || *d == "incoming" || *d == "outgoing") {
        c += if d.starts_with("in") { " in" } else { " out" };
    }
    if let Some(i) = args.str("interface")? {
        c += &format!(" on {}", q(&i));
    }
    if let Some(i) = args.str("interface_in")? {
        c += &format!(" in on {}", q(&i));
    }
    if let Some(i) = args.str("interface_out")? {
        c += &format!(" out on {}", q(&i));
    }
    if args.bool("log", false)? {
        c += " log";
    }
    let from = args.str("from_ip")?.unwrap_or_else(|| "any".into());
    c += &format!(" from {}", q(&from));
    if let Some(p) = args.str("from_port")? {
        c += &format!(" port {}", q(&p));
    }
    let to = args.str("to_ip")?.unwrap_or_else(|| "any".into());
    c += &format!(" to {}", q(&to));
    if let Some(p) = args.str("to_port")? {
        c += &format!(" port {}", q(&p));
    }
    if let Some(p) = args.str("proto")?.filter(|p| p != "any") {
        c += &format!(" proto {}", q(&p));
    }
    if let Some(a) = args.str("name")? {
        c += &format!(" app {}", q(&a));
    }
    if let Some(m) = args.str("comment")? {
        c += &format!(" comment {}", q(&m));
    }
    Ok(Some(c))
}

/// What `ufw status verbose` says: active, logging level and default policies.
fn status_line<'a>(status: &'a str, prefix: &str) -> &'a str {
    status.lines().find_map(|l| l.strip_prefix(prefix)).unwrap_or("").trim()
}

#[async_trait]
impl Module for Ufw {
    fn name(&self) -> &'static str {
        "ufw"
    }
    fn collection(&self) -> &'static str {
        "community.general"
    }
    fn doc(&self) -> &'static str {
        include_str!("ufw.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("state", "enabled, disabled, reloaded or reset").choices(&["enabled", "disabled", "reloaded", "reset"]),
            Arg::str("default", "a default policy: allow, deny or reject (with direction)")
                .aliases(&["policy"])
                .choices(&["allow", "deny", "reject"]),
            Arg::str("direction", "in, out, incoming, outgoing or routed").choices(&["in", "out", "incoming", "outgoing", "routed"]),
            Arg::str("logging", "on, off, low, medium, high or full").choices(&["on", "off", "low", "medium", "high", "full"]),
            Arg::str("rule", "allow, deny, limit or reject").choices(&["allow", "deny", "limit", "reject"]),
            Arg::str("to_port", "the destination port (or range 6000:6007)").aliases(&["port"]),
            Arg::str("from_port", "the source port"),
            Arg::str("to_ip", "the destination address").aliases(&["dest", "to"]).default("any"),
            Arg::str("from_ip", "the source address or network").aliases(&["src", "from"]).default("any"),
            Arg::str("proto", "tcp, udp, ... or any").aliases(&["protocol"]).default("any"),
            Arg::str("name", "an application profile").aliases(&["app"]),
            Arg::str("interface", "the interface").aliases(&["if"]),
            Arg::str("interface_in", "the incoming interface (route rules)").aliases(&["if_in"]),
            Arg::str("interface_out", "the outgoing interface (route rules)").aliases(&["if_out"]),
            Arg::bool("log", "log new connections matched by the rule").default("false"),
            Arg::bool("delete", "remove the rule").default("false"),
            Arg::int("insert", "put the rule at this position"),
            Arg::bool("route", "a routed (forwarding) rule").default("false"),
            Arg::str("comment", "a comment for the rule"),
        ];
        A
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let state = args.str("state")?;
        let default = args.str("default")?;
        let logging = args.str("logging")?;
        let rule = args.str("rule")?;
        if state.is_none() && default.is_none() && logging.is_none() && rule.is_none() {
            return fail("one of the following is required: state, default, logging, rule");
        }
        let before = ctx.sh(STATE).await?.stdout_str();
        if !before.contains("Status:") && ctx.sh("command -v ufw").await?.rc != 0 {
            return fail("ufw is not installed on the host");
        }
        let active = status_line(&before, "Status:") == "active";
        let mut cmds = Vec::new();
        // Ansible predicts from the status (and ufw's dry run); a real run compares the status
        // and rules before and after, and counts some requests as changes whatever they did.
        let mut predicted = false;
        let mut always = false;
        if let Some(d) = &default {
            let dir = match args.str("direction")?.as_deref() {
                Some("out" | "outgoing") => "outgoing",
                Some("routed") => "routed",
                _ => "incoming",
            };
            let cur = status_line(&before, "Default:");
            predicted |= !cur.contains(&format!("{d} ({dir})")) && !cur.contains(&format!("disabled ({dir})"));
            cmds.push(format!("ufw default {} {dir}", q(d)));
        }
        if let Some(l) = &logging {
            // An inactive firewall's status has no Logging line: a change, as Ansible counts it.
            let cur = status_line(&before, "Logging:");
            let same = match l.as_str() {
                _ if cur.is_empty() => false,
                "off" => cur.starts_with("off"),
                "on" => cur.starts_with("on"),
                lvl => cur == format!("on ({lvl})"),
            };
            always |= !same;
            cmds.push(format!("ufw logging {}", q(l)));
        }
        if let Some(c) = rule_cmd(args, false)? {
            let dry = rule_cmd(args, true)?.unwrap_or_default();
            let r = ctx.sh(format!("LC_ALL=C {dry}")).await?;
            let r = r.ok_or_fail("ufw failed")?;
            let text = r.stdout_str();
            predicted |= !(text.contains("Skipping") || text.contains("Could not delete non-existent rule"));
            cmds.push(c);
        }
        match state.as_deref() {
            Some("enabled") => {
                predicted |= !active;
                cmds.push("ufw --force enable".into());
            }
            Some("disabled") => {
                predicted |= active;
                cmds.push("ufw disable".into());
            }
            Some("reloaded") => {
                always = true;
                cmds.push("ufw reload".into());
            }
            Some("reset") => {
                always = true;
                cmds.push("ufw --force reset".into());
            }
            _ => {}
        }
        Ok(Plan { outcome: Outcome::changed(predicted || always), changes: vec![Change::own(Run { cmds, before, always })] })
    }
    async fn apply(&self, ctx: &TaskCtx, _args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        let Some(run) = plan.own::<Run>().next() else {
            return Ok(plan.outcome);
        };
        let script = run.cmds.iter().map(|c| format!("LC_ALL=C {c} >/dev/null")).collect::<Vec<_>>().join("\n");
        let r = ctx.sh(format!("set -e\n{script}\n")).await?;
        r.ok_or_fail("ufw failed")?;
        let after = ctx.sh(STATE).await?.stdout_str();
        let mut out = Outcome::changed(run.always || run.before != after);
        if out.changed {
            out.diffs.push(super::FileDiff { before: run.before.clone(), after, before_header: "ufw".into(), after_header: "ufw".into() });
        }
        Ok(out)
    }
}

/// ufw's commands, run in one go; the change is what differs in its status and rules after.
struct Run {
    cmds: Vec<String>,
    /// ufw's status and rules before.
    before: String,
    /// Requests Ansible counts as a change whatever they did (logging set, reload, reset).
    always: bool,
}

#[cfg(test)]
mod tests {
    use super::super::execute;
    use super::super::testing::{args, Scripted};
    use super::*;

    const ACTIVE: &[u8] = b"Status: active\nLogging: on (low)\nDefault: deny (incoming), allow (outgoing), disabled (routed)\n#RULES\n";

    #[tokio::test]
    async fn check_mode_predicts_from_the_status_and_a_dry_run() {
        let host = Scripted::new().on("ufw status verbose", 0, ACTIVE).on("ufw --dry-run", 0, b"Skipping adding existing rule\n");
        let a = args(&Ufw, "{rule: allow, port: '22', proto: tcp}");
        let out = execute(&Ufw, &host.ctx(true, false), &a).await.unwrap();
        assert!(!out.changed);
        assert_eq!(host.commands()[1], "LC_ALL=C ufw --dry-run allow from any to any port 22 proto tcp");
        let out = execute(&Ufw, &host.ctx(true, false), &args(&Ufw, "{state: enabled, logging: low}")).await.unwrap();
        assert!(!out.changed, "active, and logging already low");
        let out = execute(&Ufw, &host.ctx(true, false), &args(&Ufw, "{default: allow, direction: incoming}")).await.unwrap();
        assert!(out.changed);
    }

    #[tokio::test]
    async fn a_real_run_compares_the_rules_before_and_after() {
        let host = Scripted::new().once("ufw status verbose", 0, ACTIVE).on("ufw --dry-run", 0, b"Rule added\n").on("set -e", 0, b"").on(
            "ufw status verbose",
            0,
            b"Status: active\n#RULES\n### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n",
        );
        let out = execute(&Ufw, &host.ctx(false, true), &args(&Ufw, "{rule: allow, port: '22', proto: tcp}")).await.unwrap();
        assert!(out.changed && out.diffs[0].after.contains("### tuple ### allow tcp 22"));
        assert!(host.commands()[2].contains("LC_ALL=C ufw allow from any to any port 22 proto tcp >/dev/null"));
    }
}
