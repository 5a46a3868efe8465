//! `synchronize` (ansible.posix) without rsync: a folder from the controller brought to the
//! host as `copy` brings it (only what changed), and with `delete`, what the source does not
//! have removed. Only `mode: push` exists; use `fetch` to bring files back.

use async_trait::async_trait;
use serde_json::json;

use super::copy::{dir_base, dir_plan, Copy};
use super::{fail, Arg, Args, Change, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Synchronize;

/// The arguments `copy` gets for the same work.
fn copy_args(args: &Args) -> Result<Args, ModError> {
    let (src, dest) = (args.req_str("src")?, args.req_str("dest")?);
    Args::prepare(&Copy, serde_json::Map::from_iter([("src".to_string(), json!(src)), ("dest".to_string(), json!(dest))]))
}

#[async_trait]
impl Module for Synchronize {
    fn supports_async(&self) -> bool {
        false
    }
    fn name(&self) -> &'static str {
        "synchronize"
    }
    fn collection(&self) -> &'static str {
        "ansible.posix"
    }
    fn doc(&self) -> &'static str {
        include_str!("synchronize.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("src", "the folder (or file) on the controller").required(),
            Arg::str("dest", "where it goes on the host").required(),
            Arg::str("mode", "push (the only one supported)").choices(&["push", "pull"]).default("push"),
            Arg::bool("delete", "remove files in dest that src does not have").default("false"),
            Arg::bool("recursive", "accepted; folders are always copied recursively"),
            Arg::bool("archive", "accepted; contents are compared by checksum"),
            Arg::bool("checksum", "accepted; contents are always compared by checksum"),
            Arg::bool("compress", "accepted for compatibility"),
            Arg::list("rsync_opts", "accepted for compatibility; they have no effect"),
            Arg::bool("times", "accepted for compatibility"),
            Arg::bool("perms", "accepted for compatibility"),
            Arg::bool("links", "accepted for compatibility"),
            Arg::bool("use_ssh_args", "accepted; steward's own connection is used"),
            Arg::str("rsync_path", "accepted for compatibility"),
            Arg::int("dest_port", "accepted; steward's own connection is used"),
        ];
        A
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        if args.str("mode")?.as_deref() == Some("pull") {
            return fail("synchronize mode=pull is not supported by steward; use fetch to bring files to the controller");
        }
        let src = args.req_str("src")?;
        let dest = args.req_str("dest")?;
        let Some(root) = ctx.find_local("files", &src) else {
            return fail(ctx.not_found("files", &src));
        };
        let copy_args = copy_args(args)?;
        if !root.is_dir() {
            return Copy.plan(ctx, &copy_args).await;
        }
        let mut plan = dir_plan(ctx, &copy_args, &root, &src, &dest, true).await?;
        if args.bool("delete", false)? {
            let base = dir_base(&root, &src, &dest);
            let r = ctx.sh(format!("cd {} 2>/dev/null && find . -mindepth 1 -depth; true", q(&base))).await?;
            let extra: Vec<String> = r
                .stdout_str()
                .lines()
                .map(|l| l.trim_start_matches("./").to_string())
                .filter(|rel| !rel.is_empty() && !root.join(rel).exists() && std::fs::symlink_metadata(root.join(rel)).is_err())
                .collect();
            if !extra.is_empty() {
                plan.outcome.diffs.push(super::FileDiff {
                    before: extra.iter().map(|e| format!("{base}/{e}\n")).collect(),
                    after: String::new(),
                    before_header: base.clone(),
                    after_header: base.clone(),
                });
                let list: Vec<String> = extra.iter().map(|e| q(&format!("{base}/{e}"))).collect();
                plan.change(Change::sh(format!("rm -rf -- {}", list.join(" ")), format!("cannot delete from {base}")));
            }
        }
        super::copy::as_planned(&mut plan);
        Ok(plan)
    }
    async fn apply(&self, ctx: &TaskCtx, args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        Copy.apply(ctx, &copy_args(args)?, plan).await
    }
}
