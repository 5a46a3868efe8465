//! `debug`: print a message or a variable.

use async_trait::async_trait;
use serde_json::Value;

use super::{Arg, Args, ModError, Module, Outcome, Plan, TaskCtx};

pub struct Debug;

#[async_trait]
impl Module for Debug {
    fn name(&self) -> &'static str {
        "debug"
    }
    fn doc(&self) -> &'static str {
        include_str!("debug.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::raw("msg", "the message").default("Hello world!"),
            Arg::str("var", "a variable name or expression whose value is printed"),
            Arg::int("verbosity", "only print at this -v level or above").default("0"),
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
    let verbosity = args.int("verbosity")?.unwrap_or(0);
    if (ctx.verbosity as i64) < verbosity {
        return Ok(Outcome { skipped: true, msg: Some("Skipped: verbosity threshold not met".into()), ..Default::default() }
            .with("skipped_reason", "Verbosity threshold not met."));
    }
    if args.has("msg") && args.has("var") {
        return Ok(Outcome::failed("parameters are mutually exclusive: msg|var"));
    }
    if let Some(var) = args.str("var")? {
        let expr = var.trim().trim_start_matches("{{").trim_end_matches("}}").trim().to_string();
        let failed = |e: minijinja::Error| {
            let _ = ctx.scope.take_error();
            let mut msg = e.detail().map(str::to_string).unwrap_or_else(|| e.kind().to_string());
            if let Some(src) = std::error::Error::source(&e) {
                msg = format!("{msg}: {src}");
            }
            Ok(Outcome::failed(format!("Error while resolving `var` expression: {msg}")))
        };
        let undefined = |e: &minijinja::Error| e.kind() == minijinja::ErrorKind::UndefinedError;
        let value = match crate::template::env().compile_expression(&expr) {
            Ok(e) => {
                let out = e.eval(minijinja::Value::from_dyn_object(ctx.scope.clone()));
                // A variable whose own templates failed (not for an undefined name) fails
                // the task too.
                if let Some(e) = ctx.scope.take_error().filter(|e| !undefined(e)) {
                    return failed(e);
                }
                match out {
                    Ok(v) if v.is_undefined() => Value::from("VARIABLE IS NOT DEFINED!"),
                    Ok(v) => match crate::template::to_json(&v) {
                        Ok(j) => j,
                        Err(e) if undefined(&e) => Value::from("VARIABLE IS NOT DEFINED!"),
                        Err(e) => return failed(e),
                    },
                    Err(e) if undefined(&e) => Value::from("VARIABLE IS NOT DEFINED!"),
                    // Anything else (a filter that fails, a wrong type) fails the task, as in Ansible.
                    Err(e) => return failed(e),
                }
            }
            Err(e) => {
                return Ok(Outcome::failed(format!("Error while resolving `var` expression: {}", e.detail().unwrap_or("invalid syntax"))))
            }
        };
        let _ = ctx.scope.take_error();
        return Ok(Outcome::ok().with(&var, value));
    }
    let msg = args.raw("msg").cloned().unwrap_or(Value::from("Hello world!"));
    Ok(Outcome::ok().with("msg", msg))
}
