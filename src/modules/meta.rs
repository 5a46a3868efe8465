//! `meta`: instructions to the executor (flush_handlers, end_play, ...). The executor carries
//! them out; this module only declares the keyword so playbooks are checked.

use async_trait::async_trait;

use super::{Arg, Args, FreeForm, ModError, Module, Outcome, Plan, TaskCtx};

pub struct Meta;

pub const ACTIONS: &[&str] = &[
    "flush_handlers",
    "noop",
    "refresh_inventory",
    "clear_facts",
    "clear_host_errors",
    "end_play",
    "end_host",
    "end_batch",
    "end_role",
    "reset_connection",
];

#[async_trait]
impl Module for Meta {
    fn name(&self) -> &'static str {
        "meta"
    }
    fn doc(&self) -> &'static str {
        include_str!("meta.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[];
        A
    }
    fn free_form(&self) -> FreeForm {
        FreeForm::Whole
    }
    fn controller_only(&self) -> bool {
        true
    }
    async fn plan(&self, _ctx: &TaskCtx, _args: &Args) -> Result<Plan, ModError> {
        Ok(Plan::done(Outcome::ok()))
    }
}
