//! `group`: local groups with groupadd, groupmod and groupdel.

use async_trait::async_trait;
use serde_json::{json, Map};

use super::{fail, Arg, Args, ModError, Module, Outcome, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Group;

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
            Arg::str("state", "present (default) or absent").choices(&["present", "absent"]),
            Arg::bool("system", "a system group (gid from the system range), on creation"),
            Arg::bool("non_unique", "allow a gid that another group has"),
            Arg::bool("force", "with state=absent, remove it even if it is a user's primary group"),
            Arg::bool("local", "accepted; groups are always local (/etc/group)"),
        ];
        A
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let name = args.req_str("name")?;
        let present = args.str("state")?.as_deref() != Some("absent");
        let gid = args.int("gid")?;
        let r = ctx.sh(format!("getent group {} || true", q(&name))).await?;
        let current = super::user::parse_groups(&r.stdout_str()).into_iter().find(|g| g.name == name);
        let mut out = Outcome::ok().with("name", name.clone()).with("state", if present { "present" } else { "absent" });
        let cmd = match (&current, present) {
            (None, false) => return Ok(out),
            (Some(_), false) => {
                let force = if args.bool("force", false)? { "-f " } else { "" };
                Some((format!("groupdel {force}{}", q(&name)), "present", "absent".to_string()))
            }
            (None, true) => {
                let mut c = "groupadd".to_string();
                if let Some(g) = gid {
                    c += &format!(" -g {g}");
                    if args.bool("non_unique", false)? {
                        c += " -o";
                    }
                }
                if args.bool("system", false)? {
                    c += " -r";
                }
                Some((format!("{c} {}", q(&name)), "absent", "present".to_string()))
            }
            (Some(g), true) => match gid.filter(|want| *want != g.gid) {
                Some(want) => {
                    let o = if args.bool("non_unique", false)? { " -o" } else { "" };
                    Some((format!("groupmod -g {want}{o} {}", q(&name)), "", format!("gid {want}")))
                }
                None => None,
            },
        };
        if let Some((cmd, before, after)) = cmd {
            out.changed = true;
            if ctx.diff {
                let b =
                    if before.is_empty() { format!("gid {}", current.as_ref().map(|g| g.gid).unwrap_or(-1)) } else { before.to_string() };
                out.diffs.push(super::common::state_diff(
                    &name,
                    Map::from_iter([("state".into(), json!(b))]),
                    Map::from_iter([("state".into(), json!(after))]),
                ));
            }
            if !ctx.check {
                let r = ctx.sh(cmd).await?;
                if r.rc != 0 {
                    return fail(format!("{} (group {name}, rc {})", r.stderr_str().trim(), r.rc));
                }
            }
        }
        if present {
            let now = if out.changed && !ctx.check {
                let r = ctx.sh(format!("getent group {} || true", q(&name))).await?;
                super::user::parse_groups(&r.stdout_str()).into_iter().find(|g| g.name == name).map(|g| g.gid)
            } else {
                current.map(|g| g.gid).or(gid)
            };
            if let Some(g) = now {
                out = out.with("gid", g);
            }
            out = out.with("system", args.bool("system", false)?);
        }
        Ok(out)
    }
}
