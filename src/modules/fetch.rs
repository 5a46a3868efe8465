//! `fetch`: copy a file from the host to the controller, into `dest/HOST/PATH` (or exactly to
//! `dest` with `flat`), written atomically; only when it differs.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde_json::json;

use super::common::{probe, sha1_hex};
use super::{fail, Arg, Args, Change, ExecCheck, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Fetch;

/// The planned transfer: the host's file, where it goes, and the checksum it must have.
struct Transfer {
    src: String,
    local: PathBuf,
    sum: String,
    validate: bool,
}

#[async_trait]
impl Module for Fetch {
    fn supports_async(&self) -> bool {
        false
    }
    fn name(&self) -> &'static str {
        "fetch"
    }
    fn doc(&self) -> &'static str {
        include_str!("fetch.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("src", "the file on the host").required(),
            Arg::str("dest", "a folder on the controller (or, with flat, the file)").required(),
            Arg::bool("flat", "put the file at dest itself, not under dest/HOST/SRC").default("false"),
            Arg::bool("fail_on_missing", "fail when src is missing").default("true"),
            Arg::bool("validate_checksum", "check the copy against the host's checksum").default("true"),
        ];
        A
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let src = super::common::req_path(ctx, args, "src").await?;
        let dest = args.req_str("dest")?;
        let local: PathBuf = if args.bool("flat", false)? {
            if dest.ends_with('/') {
                Path::new(&dest).join(Path::new(&src).file_name().unwrap_or_default())
            } else {
                PathBuf::from(&dest)
            }
        } else {
            Path::new(&dest).join(&ctx.host).join(src.trim_start_matches('/'))
        };
        let local = if local.is_relative() { ctx.playbook_dir.join(local) } else { local };
        let p = probe(ctx, &src, Some("sha1"), false).await?;
        let Some(st) = p.effective(true) else {
            let msg = format!("the remote file does not exist, not transferring, ignored: {src}");
            if args.bool("fail_on_missing", true)? {
                return fail(msg.replace(", ignored", ""));
            }
            return Ok(Plan::done(Outcome::ok().msg(msg).with("file", src)));
        };
        if st.is_dir() {
            return fail(format!("remote file is a directory, fetch cannot work on directories: {src}"));
        }
        let remote_sum = p.checksum.clone().unwrap_or_default();
        let local_sum = super::common::sha1_file(&local).ok();
        let mut plan = Plan::done(Outcome::ok());
        if local_sum.as_deref() != Some(remote_sum.as_str()) {
            let validate = args.bool("validate_checksum", true)?;
            plan.change(Change::own(Transfer { src: src.clone(), local: local.clone(), sum: remote_sum.clone(), validate }));
        }
        let out = &mut plan.outcome;
        out.data.insert("checksum".into(), json!(remote_sum));
        out.data.insert("remote_checksum".into(), json!(remote_sum));
        out.data.insert("dest".into(), json!(local.display().to_string()));
        out.data.insert("file".into(), json!(src));
        Ok(plan)
    }
    async fn apply(&self, ctx: &TaskCtx, _args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        for Transfer { src, local, sum, validate } in plan.own::<Transfer>() {
            let data = ctx.sh(format!("cat -- {}", q(src))).await?.ok_or_fail(&format!("cannot read {src}"))?;
            if *validate && sha1_hex(&data.stdout) != *sum {
                return fail(format!("checksum mismatch after transfer of {src}"));
            }
            if let Some(dir) = local.parent() {
                std::fs::create_dir_all(dir).map_err(|e| ModError::Fail(format!("cannot create {}: {e}", dir.display())))?;
            }
            let tmp = local.with_extension("steward-tmp");
            std::fs::write(&tmp, &data.stdout).map_err(|e| ModError::Fail(format!("cannot write {}: {e}", tmp.display())))?;
            std::fs::rename(&tmp, local).map_err(|e| ModError::Fail(format!("cannot write {}: {e}", local.display())))?;
        }
        Ok(plan.outcome)
    }
}
