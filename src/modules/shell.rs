//! `shell`: run a command through the host's shell (the work is command's, see
//! [`super::command`]).

use async_trait::async_trait;

use super::command::{apply_command, plan_command, COMMAND_ARGS};
use super::{Arg, Args, FreeForm, ModError, Module, Outcome, Plan, TaskCtx};

pub struct Shell;

#[async_trait]
impl Module for Shell {
    fn name(&self) -> &'static str {
        "shell"
    }
    fn doc(&self) -> &'static str {
        include_str!("shell.md")
    }
    fn args(&self) -> &'static [Arg] {
        COMMAND_ARGS
    }
    fn free_form(&self) -> FreeForm {
        FreeForm::Raw
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        plan_command(ctx, args, true).await
    }
    async fn apply(&self, ctx: &TaskCtx, _args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        apply_command(ctx, plan).await
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{args, Scripted};
    use super::super::{execute, Module};
    use super::Shell;

    #[tokio::test]
    async fn runs_the_text_through_the_shell_with_stdin() {
        let host = Scripted::new().on("cat | tr a b", 1, b"bbc\n");
        let a = args(&Shell, "{_raw_params: 'cat | tr a b', stdin: abc}");
        let p = Shell.plan(&host.ctx(true, false), &a).await.unwrap();
        assert!(p.outcome.skipped && p.changes.len() == 1);
        assert!(host.commands().is_empty(), "the plan sends nothing without chdir/creates/removes");
        let out = execute(&Shell, &host.ctx(false, false), &a).await.unwrap();
        assert!(out.changed && out.failed);
        assert_eq!(out.msg.as_deref(), Some("non-zero return code"));
        assert_eq!(out.data["stdout"], "bbc");
        assert_eq!(out.data["cmd"], "cat | tr a b");
        assert_eq!(host.stdin_of("tr a b").as_deref(), Some(&b"abc\n"[..]));
        // No program check: the shell reports a missing one itself.
        assert!(!host.commands()[0].contains("command -v"));
    }

    #[tokio::test]
    async fn refuses_expand_argument_vars() {
        let host = Scripted::new();
        let a = args(&Shell, "{_raw_params: echo, expand_argument_vars: false}");
        let e = Shell.plan(&host.ctx(false, false), &a).await.err().unwrap();
        assert_eq!(e.to_string(), "Unsupported parameters for (shell) module: expand_argument_vars");
    }
}
