//! `group`: local groups with groupadd, groupmod and groupdel.

use async_trait::async_trait;
use serde_json::{json, Map};

use super::{fail, Arg, Args, Change, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Group;

/// The group's line from the user database (nothing when it has none).
fn lookup(name: &str) -> String {
    format!("getent group {} || true", q(name))
}

/// The one command a group task runs; after it, the group's line is read again (for its gid).
struct Cmd(String);

#[async_trait]
impl Module for Group {
    fn name(&self) -> &'static str {
        "group"
    }
    fn doc(&self) -> &'static str {
        include_str!("group.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("name", "the group's name").required(),
            Arg::int("gid", "the group id"),
            Arg::str("state", "present or absent").choices(&["present", "absent"]).default("present"),
            Arg::bool("system", "a system group (gid from the system range), on creation").default("false"),
            Arg::bool("non_unique", "allow a gid that another group has (needs gid)").default("false"),
            Arg::bool("force", "with state=absent, remove it even if it is a user's primary group").default("false"),
            Arg::bool("local", "accepted; groups are always local (/etc/group)").default("false"),
            Arg::int("gid_min", "the lowest gid a new group may get (groupadd -K GID_MIN)"),
            Arg::int("gid_max", "the highest gid a new group may get (groupadd -K GID_MAX)"),
        ];
        A
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let name = args.req_str("name")?;
        let present = args.str("state")?.as_deref() != Some("absent");
        let gid = args.int("gid")?;
        let non_unique = args.bool("non_unique", false)?;
        if non_unique && gid.is_none() {
            return fail("non_unique is True but all of the following are missing: gid");
        }
        let (gid_min, gid_max) = (args.int("gid_min")?, args.int("gid_max")?);
        if args.bool("local", false)? {
            for (k, v) in [("gid_min", gid_min), ("gid_max", gid_max)] {
                if v.is_some() {
                    return fail(format!("'{k}' can not be used with 'local'"));
                }
            }
        }
        let r = ctx.sh(lookup(&name)).await?;
        let current = super::user::parse_groups(&r.stdout_str()).into_iter().find(|g| g.name == name);
        let out = Outcome::ok().with("name", name.clone()).with("state", if present { "present" } else { "absent" });
        let mut plan = Plan::done(out);
        let cmd = match (&current, present) {
            (None, false) => return Ok(plan),
            (Some(_), false) => {
                let force = if args.bool("force", false)? { "-f " } else { "" };
                Some((format!("groupdel {force}{}", q(&name)), "present".to_string(), "absent".to_string()))
            }
            (None, true) => {
                let mut c = "groupadd".to_string();
                if let Some(g) = gid {
                    c += &format!(" -g {g}");
                    if non_unique {
                        c += " -o";
                    }
                }
                if args.bool("system", false)? {
                    c += " -r";
                }
                for (k, v) in [("GID_MIN", gid_min), ("GID_MAX", gid_max)] {
                    if let Some(v) = v {
                        c += &format!(" -K {k}={v}");
                    }
                }
                Some((format!("{c} {}", q(&name)), "absent".to_string(), "present".to_string()))
            }
            (Some(g), true) => gid.filter(|want| *want != g.gid).map(|want| {
                let o = if non_unique { " -o" } else { "" };
                (format!("groupmod -g {want}{o} {}", q(&name)), format!("gid {}", g.gid), format!("gid {want}"))
            }),
        };
        if let Some((cmd, before, after)) = cmd {
            plan.outcome.diffs.push(super::common::state_diff(
                &name,
                Map::from_iter([("state".into(), json!(before))]),
                Map::from_iter([("state".into(), json!(after))]),
            ));
            plan.change(Change::own(Cmd(cmd)));
        }
        if present {
            // What the group's gid is (or will be, when the task names it).
            if let Some(g) = if plan.outcome.changed { gid.or(current.map(|g| g.gid)) } else { current.map(|g| g.gid) } {
                plan.outcome.data.insert("gid".into(), json!(g));
            }
            plan.outcome.data.insert("system".into(), json!(args.bool("system", false)?));
        }
        Ok(plan)
    }
    async fn apply(&self, ctx: &TaskCtx, args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        let mut out = plan.outcome;
        let name = args.req_str("name")?;
        for Cmd(cmd) in plan.changes.into_iter().filter_map(|c| match c {
            Change::Own(b) => b.downcast::<Cmd>().ok().map(|b| *b),
            _ => None,
        }) {
            // The command, then (when it worked) the group as it is now, in one round trip.
            let r = ctx.sh(format!("{cmd}\nrc=$?\n[ $rc -ne 0 ] || {}\nexit $rc\n", lookup(&name))).await?;
            if r.rc != 0 {
                // As Ansible: the command's error is the message.
                return Ok(Outcome::failed(r.stderr_str().trim().to_string()).with("name", name).with("rc", r.rc));
            }
            if out.data.contains_key("system") {
                if let Some(g) = super::user::parse_groups(&r.stdout_str()).into_iter().find(|g| g.name == name) {
                    out.data.insert("gid".into(), json!(g.gid));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{args, Scripted};
    use super::super::{execute, Module, Plan};
    use super::{Cmd, Group};
    use std::sync::Arc;

    const LOOKUP: &str = "getent group devs";

    async fn plan(host: &Arc<Scripted>, yaml: &str) -> Plan {
        Group.plan(&host.ctx(false, true), &args(&Group, yaml)).await.unwrap()
    }

    fn cmd(p: &Plan) -> &str {
        &p.own::<Cmd>().next().expect("a command").0
    }

    #[tokio::test]
    async fn a_missing_group_is_added_and_reports_its_gid() {
        let h = Scripted::new().on(LOOKUP, 0, b"");
        let p = plan(&h, "{name: devs, gid: 3000, system: true}").await;
        assert!(p.outcome.changed);
        assert_eq!(cmd(&p), "groupadd -g 3000 -r devs");
        assert_eq!(p.outcome.data["gid"], 3000);
        let p = plan(&h, "{name: devs, gid_min: 1500, gid_max: 1501}").await;
        assert_eq!(cmd(&p), "groupadd -K GID_MIN=1500 -K GID_MAX=1501 devs");
        // Without a gid asked the prediction has none; the real run reads it back.
        assert!(!p.outcome.data.contains_key("gid"));
        let h = Scripted::new().on("groupadd", 0, b"devs:x:1500:\n").on(LOOKUP, 0, b"");
        let out = execute(&Group, &h.ctx(false, false), &args(&Group, "{name: devs}")).await.unwrap();
        assert!(out.changed);
        assert_eq!(out.data["gid"], 1500);
        assert_eq!(h.commands().len(), 2);
    }

    #[tokio::test]
    async fn the_same_gid_changes_nothing_another_is_groupmod() {
        let h = Scripted::new().on(LOOKUP, 0, b"devs:x:3000:alice\n");
        let p = plan(&h, "{name: devs, gid: 3000}").await;
        assert!(!p.outcome.changed && p.changes.is_empty());
        assert_eq!(p.outcome.data["gid"], 3000);
        let p = plan(&h, "{name: devs, gid: 3001, non_unique: true}").await;
        assert_eq!(cmd(&p), "groupmod -g 3001 -o devs");
        assert!(p.outcome.diffs[0].before.contains("gid 3000") && p.outcome.diffs[0].after.contains("gid 3001"));
        let p = plan(&h, "{name: devs, state: absent, force: true}").await;
        assert_eq!(cmd(&p), "groupdel -f devs");
    }

    #[tokio::test]
    async fn check_mode_only_looks_and_a_failing_command_reports_its_error() {
        let h = Scripted::new().fails("groupdel", 8, b"groupdel: cannot remove the primary group of user 'bob'\n").on(
            LOOKUP,
            0,
            b"devs:x:3000:\n",
        );
        let a = args(&Group, "{name: devs, state: absent}");
        let out = execute(&Group, &h.ctx(true, false), &a).await.unwrap();
        assert!(out.changed);
        assert_eq!(h.commands().len(), 1);
        let out = execute(&Group, &h.ctx(false, false), &a).await.unwrap();
        assert!(out.failed);
        assert_eq!(out.msg.as_deref(), Some("groupdel: cannot remove the primary group of user 'bob'"));
        assert_eq!(out.data["rc"], 8);
    }

    #[tokio::test]
    async fn non_unique_needs_a_gid() {
        let h = Scripted::new();
        let err = Group.plan(&h.ctx(false, false), &args(&Group, "{name: devs, non_unique: true}")).await.err().unwrap();
        assert_eq!(err.to_string(), "non_unique is True but all of the following are missing: gid");
        assert!(h.commands().is_empty());
    }
}
