//! `slurp`: a file from the host, base64-encoded, for use in later tasks.

use async_trait::async_trait;
use base64::Engine as _;

use super::{fail, Arg, Args, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Slurp;

#[async_trait]
impl Module for Slurp {
    fn name(&self) -> &'static str {
        "slurp"
    }
    fn doc(&self) -> &'static str {
        include_str!("slurp.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[Arg::str("src", "the file to read").aliases(&["path"]).required()];
        A
    }
    /// Reading changes nothing: the plan is the whole result.
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let src = args.req_str("src")?;
        let out = ctx.sh(format!("if [ -d {0} ]; then echo 'is a directory' >&2; exit 21; fi; cat -- {0}", q(&src))).await?;
        if out.rc != 0 {
            let err = out.stderr_str();
            // Ansible's words, by the reason the file could not be opened.
            let msg = if out.rc == 21 {
                format!("Source is a directory and must be a file: {src}")
            } else if err.contains("No such file") {
                format!("File not found: {src}")
            } else if err.contains("Permission denied") {
                format!("File is not readable: {src}")
            } else {
                // Sic: Ansible prints the placeholder itself here.
                "Unable to slurp file: {source}".to_string()
            };
            return fail(msg);
        }
        Ok(Plan::done(
            Outcome::ok()
                .with("content", base64::engine::general_purpose::STANDARD.encode(&out.stdout))
                .with("encoding", "base64")
                .with("source", src),
        ))
    }
}
