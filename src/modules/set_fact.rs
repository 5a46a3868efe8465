//! `set_fact`: set variables on the host, above play and inventory variables.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::{Arg, Args, FreeForm, ModError, Module, Outcome, Plan, TaskCtx};

pub struct SetFact;

#[async_trait]
impl Module for SetFact {
    fn name(&self) -> &'static str {
        "set_fact"
    }
    fn doc(&self) -> &'static str {
        include_str!("set_fact.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[Arg::bool("cacheable", "accepted; facts are kept for the run").default("false")];
        A
    }
    fn any_args(&self) -> bool {
        true
    }
    fn free_form(&self) -> FreeForm {
        FreeForm::No
    }
    fn controller_only(&self) -> bool {
        true
    }
    async fn plan(&self, _ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        Ok(Plan::done(outcome(args)?))
    }
}

/// The task's result, decided on the controller.
fn outcome(args: &Args) -> Result<Outcome, ModError> {
    let mut facts = Map::new();
    for (k, v) in &args.map {
        // Variables may start with `_`; only steward's internal arguments are left out.
        if k == "cacheable" || k == "_raw_params" || k == "_variable_params" || k.starts_with("_ansible_") {
            continue;
        }
        if !valid_name(k) {
            return Ok(Outcome::failed(format!("The variable name '{k}' is not valid. Variables must start with a letter or underscore character, and contain only letters, numbers and underscores.")));
        }
        facts.insert(k.clone(), v.clone());
    }
    if facts.is_empty() {
        return Ok(Outcome::failed("No key/value pairs provided, at least one is required for this action to succeed"));
    }
    let mut o = Outcome::ok();
    o.data.insert("ansible_facts".into(), Value::Object(facts.clone()));
    o.facts = Some(facts);
    o.cacheable = args.bool("cacheable", false)?;
    Ok(o)
}

pub fn valid_name(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
