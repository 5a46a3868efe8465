//! `command`: run a command on the host, without a shell. What `shell` (and, for the result,
//! `raw` and `script`) share is here too.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{fail, Arg, Args, Change, FreeForm, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Command;

pub(super) const COMMAND_ARGS: &[Arg] = &[
    Arg::str("cmd", "the command to run"),
    Arg::list("argv", "the command as a list of arguments (no shell quoting needed)"),
    Arg::str("chdir", "change into this folder before running"),
    Arg::str("creates", "a path: if it exists, the command does not run"),
    Arg::str("removes", "a path: if it does not exist, the command does not run"),
    Arg::str("stdin", "text fed to the command's standard input"),
    Arg::bool("stdin_add_newline", "add a newline to stdin").default("true"),
    Arg::bool("strip_empty_ends", "strip trailing newlines from stdout and stderr").default("true"),
    Arg::str("executable", "the shell to use (shell only)"),
    Arg::str("free_form", "the command (same as the free text)"),
    Arg::bool("warn", "accepted for compatibility"),
    Arg::bool("expand_argument_vars", "expand $VARS in arguments (command only; shell refuses it)").default("true"),
];

pub fn now_string(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:06}", crate::pytext::format_time("%Y-%m-%d %H:%M:%S", d.as_secs() as i64, false), d.subsec_micros())
}

pub fn delta_string(d: std::time::Duration) -> String {
    let s = d.as_secs();
    format!("{}:{:02}:{:02}.{:06}", s / 3600, (s / 60) % 60, s % 60, d.subsec_micros())
}

fn strip_end(s: String, strip: bool) -> String {
    if strip {
        s.trim_end_matches(['\n', '\r']).to_string()
    } else {
        s
    }
}

/// Printed instead of running the command when `creates`/`removes` say it should not run.
const GUARD: &str = "STEWARD-GUARD-3f9c:";

/// A shell prefix that checks `creates`/`removes` (globs allowed, relative to chdir, as in
/// Ansible) and stops with the reason; empty when neither is set.
fn guard_script(args: &Args) -> Result<String, ModError> {
    let exists = |p: &str| format!("steward_any() {{ for f in {}; do [ -e \"$f\" ] && return 0; done; return 1; }}; ", glob_quote(p));
    let mut s = String::new();
    if let Some(c) = args.str("creates")? {
        s += &exists(&c);
        s += &format!("if steward_any; then printf '%s' {}; exit 0; fi\n", q(&format!("{GUARD}{c}\texists")));
    }
    if let Some(r) = args.str("removes")? {
        s += &exists(&r);
        s += &format!("if ! steward_any; then printf '%s' {}; exit 0; fi\n", q(&format!("{GUARD}{r}\tdoes not exist")));
    }
    Ok(s)
}

/// The path and reason when the guard stopped the command.
fn guard_stopped(stdout: &str) -> Option<(String, String)> {
    let rest = stdout.strip_prefix(GUARD)?;
    let (path, why) = rest.split_once('\t')?;
    Some((path.to_string(), why.to_string()))
}

fn guarded(cmd_value: Value, path: &str, why: &str) -> Outcome {
    let reason = format!("{path} {why}");
    Outcome::ok()
        .with("cmd", cmd_value)
        .with("rc", 0)
        .with("stdout", format!("skipped, since {reason}"))
        .with("stdout_lines", json!([format!("skipped, since {reason}")]))
        .with("stderr", "")
        .with("stderr_lines", json!([]))
        .msg(format!("Did not run command since '{path}' {why}"))
}

/// Quote a path for the shell but leave glob characters active.
fn glob_quote(p: &str) -> String {
    let mut out = String::new();
    for c in p.chars() {
        if c.is_ascii_alphanumeric() || "*?[]/._-~".contains(c) {
            out.push(c);
        } else {
            out.push('\\');
            out.push(c);
        }
    }
    out
}

/// Printed instead of running the command when its program does not exist (command runs
/// argv without a shell, so Python's error is what Ansible reports).
const NO_PROGRAM: &str = "STEWARD-NO-PROGRAM-3f9c";

/// A word of a command line for the shell, with `$VAR`, `${VAR}` and a leading `~` expanded
/// as Ansible's expand_argument_vars does, and nothing else (no globs, no splitting).
fn expand_word(w: &str, expand: bool) -> String {
    if !expand || !(w.contains('$') || w.starts_with('~')) {
        return q(w);
    }
    let (home, rest) = match w.strip_prefix('~') {
        Some(r) if r.is_empty() || r.starts_with('/') => ("~", r),
        _ => ("", w),
    };
    let mut out = String::from(home);
    out.push('"');
    for c in rest.chars() {
        if matches!(c, '"' | '\\' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A command ready to run, as `plan` prepared it for `apply`.
pub(super) struct Run {
    /// The result's `cmd`: the text for shell, the words for command.
    cmd_value: Value,
    /// The whole script: chdir, the program check, the rlimit, the command.
    script: String,
    stdin: Option<Vec<u8>>,
    /// command's program (checked before it runs); none for shell.
    program: Option<String>,
    strip: bool,
    warnings: Vec<String>,
}

/// A step of command's and shell's plans.
pub(super) enum Step {
    /// Run the command.
    Run(Run),
    /// creates/removes said not to run: nothing to do on the host, but outside check mode
    /// Ansible words the result differently ("Did not run" instead of "Would not run").
    NotRun(Box<Outcome>),
}

/// `cd` into chdir for the script, or stop with the guard's mark when that fails.
fn chdir_prefix(args: &Args) -> Result<String, ModError> {
    // -P: the physical directory, as a process that chdir()s there sees it (Ansible's $PWD).
    Ok(match args.str("chdir")? {
        Some(d) => format!("cd -P {} 2>/dev/null || {{ printf '%s' {}; exit 0; }}\n", q(&d), q(&format!("{GUARD}chdir\t"))),
        None => String::new(),
    })
}

/// command's and shell's plan: the arguments checked and the script built; in check mode, with
/// chdir, creates or removes, one look-up on the host decides whether the command would run
/// (a real run checks them in the command's own script). The outcome
/// is Ansible's check-mode result; the command itself waits for `apply`.
pub(super) async fn plan_command(ctx: &TaskCtx, args: &Args, shell: bool) -> Result<Plan, ModError> {
    let raw = args.str("_raw_params")?.or(args.str("cmd")?).or(args.str("free_form")?);
    let argv = args.str_list("argv")?;
    if ["_raw_params", "cmd", "argv"].into_iter().filter(|k| args.has(k)).count() > 1 {
        return fail("parameters are mutually exclusive: _raw_params|cmd|argv");
    }
    if shell && args.has("expand_argument_vars") {
        // Ansible's shell action refuses it in these words.
        return fail("Unsupported parameters for (shell) module: expand_argument_vars");
    }
    let mut warnings = Vec::new();
    if !shell {
        if let Some(exe) = args.str("executable")? {
            warnings.push(format!(
                "As of Ansible 2.4, the parameter 'executable' is no longer supported with the 'command' module. Not using '{exe}'."
            ));
        }
    }
    let mut program = None;
    let (cmd_value, script) = if shell {
        let Some(raw) = raw else {
            return fail("one of the following is required: _raw_params, cmd, argv");
        };
        let script = match args.str("executable")? {
            Some(exe) => format!("{} -c {}", q(&exe), q(&raw)),
            None => raw.clone(),
        };
        (json!(raw), script)
    } else {
        let words = if !argv.is_empty() {
            argv
        } else {
            let Some(raw) = raw else {
                return fail("one of the following is required: _raw_params, cmd, argv");
            };
            match shlex::split(&raw) {
                Some(w) if !w.is_empty() => w,
                _ => return fail(format!("cannot parse the command line: {raw}")),
            }
        };
        let expand = args.bool("expand_argument_vars", true)?;
        program = words.first().cloned();
        let script = words.iter().map(|w| expand_word(w, expand)).collect::<Vec<_>>().join(" ");
        (json!(words), script)
    };
    let chdir = chdir_prefix(args)?;
    let has_guard = args.has("creates") || args.has("removes");
    let guard = guard_script(args)?;
    if (!chdir.is_empty() || has_guard) && ctx.check {
        // chdir, then creates/removes (globs relative to it), in one round trip. A real run
        // has them checked by the script that runs the command.
        let out = ctx.sh_look(format!("{chdir}{guard}:")).await?;
        if let Some((path, why)) = guard_stopped(&out.stdout_str()) {
            if path == "chdir" {
                return Ok(Plan::done(chdir_failed(cmd_value)));
            }
            let mut would = guarded(cmd_value.clone(), &path, &why);
            would.msg = Some(format!("Would not run command since '{path}' {why}"));
            would.warnings.clone_from(&warnings);
            let mut did = guarded(cmd_value, &path, &why);
            did.warnings = warnings;
            let mut plan = Plan::done(would);
            plan.changes.push(Change::own(Step::NotRun(Box::new(did))));
            return Ok(plan);
        }
    }
    let mut full = chdir;
    if !ctx.check {
        full += &guard;
    }
    if let Some(p) = &program {
        // command runs its program without a shell: one that does not exist is Python's error.
        full += &format!("command -v -- {} >/dev/null 2>&1 || {{ printf '%s' {}; exit 2; }}\n", q(p), q(NO_PROGRAM));
    }
    // Ansible's module wrapper sets the soft limit on open files from this variable; the
    // command inherits it.
    match ctx.scope.resolve("ansible_python_module_rlimit_nofile") {
        Ok(Some(v)) => {
            if let Ok(n) = crate::pytext::to_text(&v).trim().parse::<u64>() {
                full += &format!("ulimit -S -n {n} 2>/dev/null\n");
            }
        }
        Ok(None) => {}
        Err(e) => return fail(format!("ansible_python_module_rlimit_nofile: {e}")),
    }
    full += &script;
    let stdin = match args.str("stdin")? {
        Some(s) => {
            let mut s = s.into_bytes();
            if args.bool("stdin_add_newline", true)? {
                s.push(b'\n');
            }
            Some(s)
        }
        None => None,
    };
    let strip = args.bool("strip_empty_ends", true)?;
    // As Ansible in check mode: with creates/removes the command would change something;
    // without them the task is skipped.
    let mut would = Outcome::ok().with("cmd", cmd_value.clone()).with("rc", 0).msg("Command would have run if not in check mode");
    would.warnings.clone_from(&warnings);
    let run = Step::Run(Run { cmd_value, script: full, stdin, program, strip, warnings });
    if has_guard {
        let mut plan = Plan::done(would);
        plan.change(Change::own(run));
        Ok(plan)
    } else {
        would.skipped = true;
        let mut plan = Plan::done(would);
        plan.changes.push(Change::own(run));
        Ok(plan)
    }
}

fn chdir_failed(cmd_value: Value) -> Outcome {
    Outcome::failed("Unable to change directory before execution.").with("cmd", cmd_value).with("rc", 1)
}

/// command's and shell's apply: run the command planned and report what it did.
pub(super) async fn apply_command(ctx: &TaskCtx, plan: Plan) -> Result<Outcome, ModError> {
    let mut plan = plan;
    let Some(Change::Own(step)) = plan.changes.pop() else {
        return fail("internal error: a command plan without its step");
    };
    let step = match step.downcast::<Step>() {
        Ok(s) => *s,
        Err(_) => return fail("internal error: a command plan with another module's step"),
    };
    let r = match step {
        Step::NotRun(did) => return Ok(*did),
        Step::Run(r) => r,
    };
    let start = SystemTime::now();
    let t0 = Instant::now();
    let out = ctx.sh_in(r.script, r.stdin).await?;
    let delta = t0.elapsed();
    if let Some((path, why)) = guard_stopped(&out.stdout_str()) {
        if path == "chdir" {
            return Ok(chdir_failed(r.cmd_value));
        }
        let mut did = guarded(r.cmd_value, &path, &why);
        did.warnings = r.warnings;
        return Ok(did);
    }
    if out.rc == 2 && out.stdout_str() == NO_PROGRAM {
        let p = r.program.unwrap_or_default();
        let cmd = r.cmd_value.as_array().map(|a| a.iter().map(crate::pytext::to_text).collect::<Vec<_>>().join(" ")).unwrap_or_default();
        let mut o = ran(Outcome::ok().with("cmd", cmd), 2, String::new(), String::new());
        o.msg = Some(format!("[Errno 2] No such file or directory: b'{p}'"));
        o.warnings = r.warnings;
        return Ok(o);
    }
    let stdout = strip_end(out.stdout_str(), r.strip);
    let stderr = strip_end(out.stderr_str(), r.strip);
    let mut o = ran(Outcome::changed(true).with("cmd", r.cmd_value), out.rc, stdout, stderr)
        .with("start", now_string(start))
        .with("end", now_string(start + delta))
        .with("delta", delta_string(delta));
    o.msg.get_or_insert_with(String::new);
    o.warnings = r.warnings;
    Ok(o)
}

/// The result of a command that ran (command, shell, raw, script): `o` with the return code and
/// the output as text and as lines; failed when the return code is not zero.
pub(super) fn ran(o: Outcome, rc: i32, stdout: String, stderr: String) -> Outcome {
    let mut o = o
        .with("rc", rc)
        .with("stdout_lines", Value::Array(stdout.lines().map(Value::from).collect()))
        .with("stderr_lines", Value::Array(stderr.lines().map(Value::from).collect()))
        .with("stdout", stdout)
        .with("stderr", stderr);
    if rc != 0 {
        o.failed = true;
        o.msg = Some("non-zero return code".into());
    }
    o
}

#[async_trait]
impl Module for Command {
    fn name(&self) -> &'static str {
        "command"
    }
    fn doc(&self) -> &'static str {
        include_str!("command.md")
    }
    fn args(&self) -> &'static [Arg] {
        COMMAND_ARGS
    }
    fn free_form(&self) -> FreeForm {
        FreeForm::Raw
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        plan_command(ctx, args, false).await
    }
    async fn apply(&self, ctx: &TaskCtx, _args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        apply_command(ctx, plan).await
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{args, Scripted};
    use super::super::{execute, Module};
    use super::{Command, GUARD, NO_PROGRAM};

    /// The look-up plan sends for creates/removes (its guard function).
    const LOOKUP: &str = "steward_any()";

    #[tokio::test]
    async fn creates_satisfied_does_not_run_in_ansibles_words() {
        let host = Scripted::new().on(LOOKUP, 0, format!("{GUARD}/opt/app\texists").as_bytes());
        let a = args(&Command, "{_raw_params: make install, creates: /opt/app}");
        let p = Command.plan(&host.ctx(true, false), &a).await.unwrap();
        assert!(!p.outcome.changed && !p.outcome.skipped);
        assert_eq!(p.outcome.msg.as_deref(), Some("Would not run command since '/opt/app' exists"));
        assert_eq!(p.outcome.data["stdout"], "skipped, since /opt/app exists");
        assert_eq!(p.outcome.data["rc"], 0);
        assert!(!host.commands()[0].contains("make"), "check mode only looks");
        // Outside check mode: the same decision, Ansible's other words, taken by the script
        // that would run the command, in one round trip.
        let out = execute(&Command, &host.ctx(false, false), &a).await.unwrap();
        assert!(!out.changed && !out.failed);
        assert_eq!(out.msg.as_deref(), Some("Did not run command since '/opt/app' exists"));
        assert_eq!(host.commands().len(), 2);
        let run = host.commands().pop().unwrap();
        assert!(run.find(LOOKUP).unwrap() < run.find("make").unwrap(), "the guard comes first: {run}");
    }

    #[tokio::test]
    async fn removes_missing_does_not_run() {
        let host = Scripted::new().on(LOOKUP, 0, format!("{GUARD}/tmp/x*\tdoes not exist").as_bytes());
        let a = args(&Command, "{_raw_params: rm /tmp/x, removes: '/tmp/x*'}");
        let out = execute(&Command, &host.ctx(true, false), &a).await.unwrap();
        assert_eq!(out.msg.as_deref(), Some("Would not run command since '/tmp/x*' does not exist"));
        // The glob stays a glob for the shell.
        assert!(host.commands()[0].contains("for f in /tmp/x*;"));
    }

    #[tokio::test]
    async fn check_mode_without_creates_or_removes_sends_nothing() {
        // No scripted answers: any command would panic.
        let host = Scripted::new();
        let a = args(&Command, "{_raw_params: touch /tmp/y}");
        let out = execute(&Command, &host.ctx(true, false), &a).await.unwrap();
        assert!(out.skipped && !out.changed);
        assert_eq!(out.msg.as_deref(), Some("Command would have run if not in check mode"));
        assert_eq!(out.data["cmd"], serde_json::json!(["touch", "/tmp/y"]));
        assert!(host.commands().is_empty());
    }

    #[tokio::test]
    async fn creates_unmet_would_run_and_then_runs() {
        let host = Scripted::new().on("/usr/bin/make install", 0, b"built\n\n").on(LOOKUP, 0, b"");
        let a = args(&Command, "{_raw_params: /usr/bin/make install, creates: /opt/app}");
        let out = execute(&Command, &host.ctx(true, false), &a).await.unwrap();
        assert!(out.changed && !out.skipped);
        assert_eq!(out.msg.as_deref(), Some("Command would have run if not in check mode"));
        assert_eq!(host.commands().len(), 1, "check mode sends the look-up only");
        let out = execute(&Command, &host.ctx(false, false), &a).await.unwrap();
        assert!(out.changed && !out.failed);
        assert_eq!(out.data["stdout"], "built");
        assert_eq!(out.data["rc"], 0);
        assert_eq!(host.commands().len(), 2, "a real run sends one command");
        let run = host.commands().pop().unwrap();
        assert!(run.contains("command -v -- /usr/bin/make") && run.contains(LOOKUP), "{run}");
    }

    #[tokio::test]
    async fn a_missing_chdir_fails_before_anything_runs() {
        let host = Scripted::new().on("cd -P", 0, format!("{GUARD}chdir\t").as_bytes());
        let a = args(&Command, "{_raw_params: ls, chdir: /nope}");
        let out = execute(&Command, &host.ctx(true, false), &a).await.unwrap();
        assert!(out.failed);
        assert_eq!(out.msg.as_deref(), Some("Unable to change directory before execution."));
        assert_eq!(out.data["rc"], 1);
    }

    #[tokio::test]
    async fn a_missing_program_is_pythons_error() {
        let host = Scripted::new().on("nosuch", 2, NO_PROGRAM.as_bytes());
        let a = args(&Command, "{_raw_params: nosuch --flag}");
        let out = execute(&Command, &host.ctx(false, false), &a).await.unwrap();
        assert!(out.failed);
        assert_eq!(out.msg.as_deref(), Some("[Errno 2] No such file or directory: b'nosuch'"));
        assert_eq!(out.data["cmd"], "nosuch --flag");
    }
}
