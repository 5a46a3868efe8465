//! `timezone` (community.general): the host's time zone. Under systemd with timedatectl; on
//! Debian without it as Ansible does it: /etc/timezone, the /etc/localtime link, and
//! `dpkg-reconfigure tzdata`.

use async_trait::async_trait;
use serde_json::{json, Map};

use super::{fail, Arg, Args, Change, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Timezone;

/// Reads the zone: which mechanism, the zone file's existence, the configured zone and the
/// zone /etc/localtime points at; under systemd whether the hardware clock keeps local time.
const PROBE: &str = r#"if [ -d /run/systemd/system ] && command -v timedatectl >/dev/null; then echo M:systemd; echo "Z:$(timedatectl show -p Timezone --value 2>/dev/null)"; echo "R:$(timedatectl show -p LocalRTC --value 2>/dev/null)"
else
  if command -v dpkg-reconfigure >/dev/null; then echo M:debian; else echo M:file; fi
  [ -f /etc/timezone ] && echo "Z:$(sed -n 's/^\([^[:space:]]*\).*/\1/p' /etc/timezone | head -1)"
  [ -L /etc/localtime ] && [ -e /etc/localtime ] && echo "L:$(readlink /etc/localtime)"
fi
"#;

#[async_trait]
impl Module for Timezone {
    fn name(&self) -> &'static str {
        "timezone"
    }
    fn collection(&self) -> &'static str {
        "community.general"
    }
    fn doc(&self) -> &'static str {
        include_str!("timezone.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("name", "the zone, as under /usr/share/zoneinfo (Europe/Berlin, Etc/UTC)"),
            Arg::str("hwclock", "UTC or local: what the hardware clock keeps (systemd hosts only)").choices(&["UTC", "local"]),
        ];
        A
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let name = args.str("name")?;
        let hwclock = args.str("hwclock")?;
        if name.is_none() && hwclock.is_none() {
            return fail("one of the following is required: name, hwclock");
        }
        let mut zone_check = String::new();
        if let Some(n) = &name {
            zone_check = format!("[ -f /usr/share/zoneinfo/{0} ] || echo MISSING\n", q(n));
        }
        let r = ctx.sh(format!("{PROBE}{zone_check}")).await?;
        let text = r.stdout_str();
        if text.lines().any(|l| l == "MISSING") {
            return fail(format!("given timezone \"{}\" is not available", name.clone().unwrap_or_default()));
        }
        let pick = |p: &str| text.lines().find_map(|l| l.strip_prefix(p)).map(str::to_string);
        let mech = pick("M:").unwrap_or_default();
        let configured = pick("Z:").filter(|z| !z.is_empty()).unwrap_or_else(|| "n/a".into());
        let link = pick("L:").and_then(|l| l.split_once("/zoneinfo/").map(|(_, z)| z.to_string()));
        let mut current = configured.clone();
        if mech != "systemd" && name.as_deref() == Some(configured.as_str()) {
            // /etc/timezone agrees; the link must too.
            current = match &link {
                Some(z) => z.clone(),
                None => "n/a".into(),
            };
        }
        let mut plan = Plan::done(Outcome::ok());
        let mut cmds = Vec::new();
        if let Some(n) = &name {
            if *n != current {
                let z = q(n);
                cmds.push(match mech.as_str() {
                    "systemd" => format!("timedatectl set-timezone {z}"),
                    "debian" => format!(
                        "t=$(mktemp /etc/.steward.XXXXXXXX) && {{ [ -f /etc/timezone ] && grep -v '^[^[:space:]]' /etc/timezone; true; }} > \"$t.rest\" && printf '%s\\n' {z} > \"$t\" && cat \"$t.rest\" >> \"$t\" && rm -f \"$t.rest\" && chmod 0644 \"$t\" && mv -f \"$t\" /etc/timezone\n\
                         ln -sf /usr/share/zoneinfo/{z} /etc/localtime && DEBIAN_FRONTEND=noninteractive dpkg-reconfigure --frontend noninteractive tzdata >/dev/null 2>&1"
                    ),
                    _ => format!("ln -sf /usr/share/zoneinfo/{z} /etc/localtime"),
                });
                let before = Map::from_iter([("name".to_string(), json!(current))]);
                let after = Map::from_iter([("name".to_string(), json!(n))]);
                plan.outcome.diffs.push(super::FileDiff {
                    before: crate::pytext::py_json(&serde_json::Value::Object(before), Some(4), true) + "\n",
                    after: crate::pytext::py_json(&serde_json::Value::Object(after), Some(4), true) + "\n",
                    ..Default::default()
                });
            }
        }
        if let Some(h) = &hwclock {
            if mech != "systemd" {
                return fail("hwclock is only managed on hosts that run systemd (timedatectl)");
            }
            let local = pick("R:").is_some_and(|v| v.trim() == "yes");
            if local != (h == "local") {
                cmds.push(format!("timedatectl set-local-rtc {}", if h == "local" { "yes" } else { "no" }));
            }
        }
        if !cmds.is_empty() {
            plan.change(Change::sh(format!("set -e\n{}\n", cmds.join("\n")), "could not set the time zone"));
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{args, Scripted};
    use super::super::{Change, Module};
    use super::Timezone;

    #[tokio::test]
    async fn zone_and_hardware_clock_in_one_step() {
        let host = Scripted::new().on("echo M:systemd", 0, b"M:systemd\nZ:Etc/UTC\nR:no\n");
        let p = Timezone.plan(&host.ctx(false, true), &args(&Timezone, "{name: Europe/Berlin, hwclock: local}")).await.unwrap();
        assert!(p.outcome.changed);
        assert!(p.outcome.diffs[0].before.contains("Etc/UTC") && p.outcome.diffs[0].after.contains("Europe/Berlin"));
        let [Change::Sh { script, .. }] = p.changes.as_slice() else { panic!("one step expected") };
        assert_eq!(script, "set -e\ntimedatectl set-timezone Europe/Berlin\ntimedatectl set-local-rtc yes\n");
        assert_eq!(host.commands().len(), 1);
        let p = Timezone.plan(&host.ctx(false, true), &args(&Timezone, "{name: Etc/UTC, hwclock: UTC}")).await.unwrap();
        assert!(!p.outcome.changed && p.changes.is_empty());
    }
}
