//! `gather_facts`: the fact gathering a play does, as a task of its own. Ansible runs the host's
//! fact modules from it; steward's one fact module is `setup`.

use async_trait::async_trait;

use super::setup::Setup;
use super::{Arg, Args, ModError, Module, Outcome, Plan, TaskCtx};

pub struct GatherFacts;

#[async_trait]
impl Module for GatherFacts {
    fn name(&self) -> &'static str {
        "gather_facts"
    }
    fn doc(&self) -> &'static str {
        include_str!("gather_facts.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::bool("parallel", "accepted; steward gathers with one module"),
            Arg::list("gather_subset", "which groups of facts (as setup)").default("all"),
            Arg::list("filter", "only facts whose names match these shell-style patterns").default("*"),
            Arg::int("gather_timeout", "how long fact gathering may take (as setup)").default("10"),
            Arg::str("fact_path", "where local facts (*.fact) are read from (as setup)").default("/etc/ansible/facts.d"),
        ];
        A
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        Setup.plan(ctx, args).await
    }
    async fn apply(&self, ctx: &TaskCtx, args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        Setup.apply(ctx, args, plan).await
    }
}
