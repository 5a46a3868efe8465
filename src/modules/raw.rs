//! `raw`: run a command as written, through the host's shell, with nothing in between.

use async_trait::async_trait;

use super::command::ran;
use super::{fail, Arg, Args, Change, FreeForm, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Raw;

/// The script `apply` runs.
struct Script(String);

#[async_trait]
impl Module for Raw {
    fn name(&self) -> &'static str {
        "raw"
    }
    fn doc(&self) -> &'static str {
        include_str!("raw.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[Arg::str("executable", "the shell to use")];
        A
    }
    fn free_form(&self) -> FreeForm {
        FreeForm::Whole
    }
    /// raw cannot predict anything: as Ansible, check mode skips it.
    async fn plan(&self, _ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let Some(raw) = args.str("_raw_params")? else {
            return fail("no command given");
        };
        let script = match args.str("executable")? {
            Some(exe) => format!("{} -c {}", q(&exe), q(&raw)),
            None => raw,
        };
        let mut plan = Plan::done(Outcome { skipped: true, msg: Some("raw does not support check mode".into()), ..Default::default() });
        plan.changes.push(Change::own(Script(script)));
        Ok(plan)
    }
    async fn apply(&self, ctx: &TaskCtx, _args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        let Some(Script(script)) = plan.own::<Script>().next() else {
            return fail("internal error: a raw plan without its script");
        };
        let out = ctx.sh(script.clone()).await?;
        Ok(ran(Outcome::changed(true), out.rc, out.stdout_str(), out.stderr_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::execute;
    use super::super::testing::{args, Scripted};
    use super::Raw;

    #[tokio::test]
    async fn check_mode_skips_and_a_run_reports_the_output() {
        let host = Scripted::new().on("uname -a", 0, b"Linux\n");
        let a = args(&Raw, "{_raw_params: uname -a, executable: /bin/bash}");
        let out = execute(&Raw, &host.ctx(true, false), &a).await.unwrap();
        assert!(out.skipped && host.commands().is_empty());
        let out = execute(&Raw, &host.ctx(false, false), &a).await.unwrap();
        assert!(out.changed && out.data["stdout"] == "Linux\n");
        assert_eq!(host.commands(), vec!["/bin/bash -c 'uname -a'".to_string()]);
    }
}
