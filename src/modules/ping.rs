//! `ping`: check that the host can be reached and run a command.

use async_trait::async_trait;

use super::{fail, Arg, Args, ExecCheck, ModError, Module, Outcome, Plan, TaskCtx};

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
        const A: &[Arg] = &[Arg::str("data", "what to return in `ping`; `crash` makes the module fail").default("pong")];
        A
    }
    /// Ping changes nothing: the round trip is the plan, in check mode too (as Ansible's).
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let data = args.str("data")?.unwrap_or_else(|| "pong".into());
        if data == "crash" {
            // Ansible's ping raises an exception here; its result reads as a module crash.
            return fail("Task failed: Module failed: boom");
        }
        ctx.sh("echo pong").await?.ok_or_fail("ping failed")?;
        Ok(Plan::done(Outcome::ok().with("ping", data)))
    }
}
