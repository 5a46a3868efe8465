//! `script`: copy a local script to the host and run it there.

use std::path::PathBuf;

use async_trait::async_trait;

use super::{fail, Arg, Args, Change, FreeForm, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Script;

/// The script found on the controller and its arguments, which `apply` runs.
struct Run {
    path: PathBuf,
    args: Vec<String>,
}

#[async_trait]
impl Module for Script {
    fn supports_async(&self) -> bool {
        false
    }
    fn name(&self) -> &'static str {
        "script"
    }
    fn doc(&self) -> &'static str {
        include_str!("script.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("cmd", "the script and its arguments"),
            Arg::str("chdir", "change into this folder before running"),
            Arg::str("creates", "a path: if it exists, the script does not run"),
            Arg::str("removes", "a path: if it does not exist, the script does not run"),
            Arg::str("executable", "run the script with this interpreter"),
            Arg::str("free_form", "the script and its arguments"),
            Arg::bool("decrypt", "accepted for compatibility"),
        ];
        A
    }
    fn free_form(&self) -> FreeForm {
        FreeForm::Raw
    }
    /// The script is found on the controller and creates/removes are asked of the host (one
    /// round trip); what is left is to run it. As Ansible: check mode says it would run when
    /// creates/removes let it, and skips it otherwise (a script's change cannot be predicted).
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let Some(line) = args.str("_raw_params")?.or(args.str("cmd")?).or(args.str("free_form")?) else {
            return fail("one of the following is required: _raw_params, cmd");
        };
        let words = shlex::split(&line).unwrap_or_default();
        let Some((script, rest)) = words.split_first() else {
            return fail("one of the following is required: _raw_params, cmd");
        };
        let Some(path) = ctx.find_local("files", script) else {
            return fail(ctx.not_found("files", script));
        };
        let (creates, removes) = (args.str("creates")?, args.str("removes")?);
        let mut probe = String::new();
        if let Some(p) = &creates {
            probe += &format!("[ -e {} ] && echo creates\n", q(p));
        }
        if let Some(p) = &removes {
            probe += &format!("[ -e {} ] || echo removes\n", q(p));
        }
        if !probe.is_empty() {
            let out = ctx.sh(probe + "true").await?.stdout_str();
            let said = |w: &str| out.lines().any(|l| l.trim() == w);
            // creates first, as Ansible checks it.
            let skip = match (&creates, &removes) {
                (Some(p), _) if said("creates") => Some(format!("{p} exists, matching creates option")),
                (_, Some(p)) if said("removes") => Some(format!("{p} does not exist, matching removes option")),
                _ => None,
            };
            if let Some(msg) = skip {
                return Ok(Plan::done(Outcome { skipped: true, msg: Some(msg), ..Default::default() }));
            }
        }
        let run = Change::own(Run { path, args: rest.to_vec() });
        if creates.is_some() || removes.is_some() {
            let mut plan = Plan::done(Outcome::ok());
            plan.change(run);
            return Ok(plan);
        }
        let mut plan =
            Plan::done(Outcome { skipped: true, msg: Some("Check mode is not supported for this task.".into()), ..Default::default() });
        plan.changes.push(run);
        Ok(plan)
    }
    async fn apply(&self, ctx: &TaskCtx, args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        let Some(Run { path, args: rest }) = plan.own::<Run>().next() else {
            return fail("internal error: a script plan without its script");
        };
        let body = std::fs::read(path).map_err(|e| ModError::Fail(format!("cannot read {}: {e}", path.display())))?;
        let argline = rest.iter().map(|a| q(a)).collect::<Vec<_>>().join(" ");
        let interp = match args.str("executable")? {
            Some(e) => format!("{} ", q(&e)),
            None => String::new(),
        };
        let cd = args.str("chdir")?.map(|d| format!("cd {} || exit 1\n", q(&d))).unwrap_or_default();
        let cmd = format!(
            "t=$(mktemp \"${{TMPDIR:-/tmp}}/.steward-script.XXXXXXXX\") || exit 1\ncat > \"$t\"\nchmod 700 \"$t\"\n{cd}{interp}\"$t\" {argline} < /dev/null\nrc=$?\nrm -f \"$t\"\nexit $rc\n"
        );
        let out = ctx.sh_in(cmd, Some(body)).await?;
        Ok(super::command::ran(Outcome::changed(true), out.rc, out.stdout_str(), out.stderr_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{args, Scripted};
    use super::super::{execute, Module};
    use super::Script;

    /// A script on the controller, for the module to find.
    fn local_script(name: &str) -> String {
        let p = std::env::temp_dir().join(format!("steward-test-{}-{name}", std::process::id()));
        std::fs::write(&p, "#!/bin/sh\necho hi\n").unwrap();
        p.display().to_string()
    }

    #[tokio::test]
    async fn creates_satisfied_skips_in_both_modes() {
        let s = local_script("creates.sh");
        let host = Scripted::new().on("[ -e /etc/done ]", 0, b"creates\n");
        let a = args(&Script, &format!("{{_raw_params: '{s} --x', creates: /etc/done}}"));
        for check in [true, false] {
            let out = execute(&Script, &host.ctx(check, false), &a).await.unwrap();
            assert!(out.skipped && !out.changed);
            assert_eq!(out.msg.as_deref(), Some("/etc/done exists, matching creates option"));
        }
        assert_eq!(host.commands().len(), 2, "one look-up per run, and no script sent");
    }

    #[tokio::test]
    async fn removes_unmet_would_run_and_runs() {
        let s = local_script("removes.sh");
        let host = Scripted::new().on(".steward-script.", 0, b"hi\n").on("[ -e /etc/old ]", 0, b"");
        let a = args(&Script, &format!("{{_raw_params: '{s} a\\ b', removes: /etc/old}}"));
        let out = execute(&Script, &host.ctx(true, false), &a).await.unwrap();
        assert!(out.changed && !out.skipped);
        assert_eq!(host.commands().len(), 1);
        let out = execute(&Script, &host.ctx(false, false), &a).await.unwrap();
        assert!(out.changed && out.data["stdout"] == "hi\n");
        assert_eq!(host.stdin_of(".steward-script.").as_deref(), Some(&b"#!/bin/sh\necho hi\n"[..]));
        assert!(host.commands()[2].contains("\"$t\" 'a b' < /dev/null"));
    }

    #[tokio::test]
    async fn check_mode_without_creates_or_removes_skips_and_sends_nothing() {
        let s = local_script("plain.sh");
        let host = Scripted::new();
        let p = Script.plan(&host.ctx(true, false), &args(&Script, &format!("{{_raw_params: '{s}'}}"))).await.unwrap();
        assert!(p.outcome.skipped && !p.outcome.changed && p.changes.len() == 1);
        assert_eq!(p.outcome.msg.as_deref(), Some("Check mode is not supported for this task."));
        assert!(host.commands().is_empty());
    }
}
