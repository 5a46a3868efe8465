//! `group_by`: put the host into a group named from its variables (`key: os_{{ ansible_distribution }}`),
//! made if new, under parent groups. The executor applies the change to the running inventory.

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{Arg, Args, FreeForm, ModError, Module, Outcome, Plan, TaskCtx};

pub struct GroupBy;

#[async_trait]
impl Module for GroupBy {
    fn name(&self) -> &'static str {
        "group_by"
    }
    fn doc(&self) -> &'static str {
        include_str!("group_by.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] =
            &[Arg::str("key", "the group's name").required(), Arg::raw("parents", "the groups the new group belongs to").default("all")];
        A
    }
    fn free_form(&self) -> FreeForm {
        FreeForm::No
    }
    fn controller_only(&self) -> bool {
        true
    }
    async fn plan(&self, _ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let key = args.req_str("key")?;
        let parents: Vec<String> = match args.raw("parents") {
            None => vec!["all".into()],
            Some(Value::Array(a)) => a.iter().map(crate::pytext::to_text).collect(),
            Some(v) => vec![crate::pytext::to_text(v)],
        };
        let parents: Vec<String> = parents.iter().map(|p| p.replace(' ', "-")).collect();
        Ok(Plan::done(Outcome::ok().with("add_group", key.replace(' ', "-")).with("parent_groups", json!(parents))))
    }
}
