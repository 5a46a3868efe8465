//! `ping`: check that the host can be reached and run a command.

use async_trait::async_trait;

use super::{fail, Arg, Args, ModError, Module, Outcome, TaskCtx};

pub struct Ping;

#[async_trait]
impl Module for Ping {
    fn name(&self) -> &'static str {
        "ping"
    }
    fn doc(&self) -> &'static str {
        include_str!("ping.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[Arg::str("data", "what to return instead of pong; `crash` makes the module fail")];
        A
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let data = args.str("data")?.unwrap_or_else(|| "pong".into());
        if data == "crash" {
            // Ansible's ping raises an exception here; its result reads as a module crash.
            return fail("Task failed: Module failed: boom");
        }
        let out = ctx.sh("echo pong").await?;
        if out.rc != 0 {
            return fail(format!("ping failed: {}", out.stderr_str().trim()));
        }
        Ok(Outcome::ok().with("ping", data))
    }
}
