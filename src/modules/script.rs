//! `script`: copy a local script to the host and run it there.

use super::{fail, Arg, Args, FreeForm, ModError, Module, Outcome, TaskCtx};
use crate::pytext::shell_quote as q;
use async_trait::async_trait;

pub struct Script;

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
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let Some(line) = args.str("_raw_params")?.or(args.str("cmd")?).or(args.str("free_form")?) else {
            return fail("one of the following is required: _raw_params, cmd");
        };
        let words = shlex::split(&line).unwrap_or_default();
        let Some((script, rest)) = words.split_first() else {
            return fail("one of the following is required: _raw_params, cmd");
        };
        let Some(path) = ctx.find_local("files", script) else {
            return fail(format!("Could not find or access '{script}' on the controller"));
        };
        for (key, want) in [("creates", true), ("removes", false)] {
            if let Some(p) = args.str(key)? {
                let out = ctx.sh(format!("[ -e {} ]", q(&p))).await?;
                if (out.rc == 0) == want {
                    let why = if want { "exists" } else { "does not exist" };
                    return Ok(Outcome { skipped: true, msg: Some(format!("{p} {why}, matching {key} option")), ..Default::default() });
                }
            }
        }
        if ctx.check {
            // As Ansible: with creates/removes that did not skip it, the script would run.
            if args.has("creates") || args.has("removes") {
                return Ok(Outcome { changed: true, ..Default::default() });
            }
            return Ok(Outcome { skipped: true, msg: Some("Check mode is not supported for this task.".into()), ..Default::default() });
        }
        let body = std::fs::read(&path).map_err(|e| ModError::Fail(format!("cannot read {}: {e}", path.display())))?;
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
