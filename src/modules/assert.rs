//! `assert`: fail unless every expression holds.

use async_trait::async_trait;
use serde_json::Value;

use super::{Arg, Args, ModError, Module, Outcome, Plan, TaskCtx};

pub struct Assert;

#[async_trait]
impl Module for Assert {
    fn name(&self) -> &'static str {
        "assert"
    }
    fn doc(&self) -> &'static str {
        include_str!("assert.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::list("that", "expressions that must all be true").required(),
            Arg::raw("fail_msg", "message when an assertion fails").aliases(&["msg"]).default("Assertion failed"),
            Arg::raw("success_msg", "message when all pass").default("All assertions passed"),
            Arg::bool("quiet", "accepted for compatibility (the result is the same)"),
        ];
        A
    }
    fn controller_only(&self) -> bool {
        true
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        Ok(Plan::done(outcome(ctx, args)?))
    }
}

/// The task's result, decided on the controller.
fn outcome(ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
    let that = match args.raw("that") {
        Some(Value::Array(a)) => a.clone(),
        Some(v) => vec![v.clone()],
        None => vec![],
    };
    for cond in &that {
        let ok = crate::template::eval_condition(cond, &ctx.scope).map_err(|e| {
            ModError::Fail(format!("The conditional check '{}' failed. The error was: {}", crate::pytext::to_text(cond), e.message))
        })?;
        if !ok {
            let msg = args.raw("fail_msg").cloned().unwrap_or(Value::from("Assertion failed"));
            let mut o = Outcome { failed: true, ..Default::default() };
            o.msg = Some(crate::pytext::to_text(&msg));
            o.data.insert("assertion".into(), cond.clone());
            o.data.insert("evaluated_to".into(), Value::Bool(false));
            return Ok(o);
        }
    }
    let msg = args.raw("success_msg").cloned().unwrap_or(Value::from("All assertions passed"));
    Ok(Outcome::ok().msg(crate::pytext::to_text(&msg)))
}
