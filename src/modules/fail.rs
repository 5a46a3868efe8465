//! `fail`: fail the task with a message.

use async_trait::async_trait;

use super::{Arg, Args, ModError, Module, Outcome, Plan, TaskCtx};

pub struct Fail;

#[async_trait]
impl Module for Fail {
    fn name(&self) -> &'static str {
        "fail"
    }
    fn doc(&self) -> &'static str {
        include_str!("fail.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[Arg::raw("msg", "the message").default("Failed as requested from task")];
        A
    }
    fn controller_only(&self) -> bool {
        true
    }
    async fn plan(&self, _ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let msg = args.raw("msg").map(crate::pytext::to_text).unwrap_or_else(|| "Failed as requested from task".into());
        Ok(Plan::done(Outcome::failed(msg)))
    }
}
