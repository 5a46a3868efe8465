//! `command`, `shell` and `raw`: run a command on the host.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{fail, Arg, Args, FreeForm, ModError, Module, Outcome, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Command;
pub struct Shell;
pub struct Raw;

const COMMAND_ARGS: &[Arg] = &[
    Arg::str("cmd", "the command to run"),
    Arg::list("argv", "the command as a list of arguments (no shell quoting needed)"),
    Arg::str("chdir", "change into this folder before running"),
    Arg::str("creates", "a path: if it exists, the command does not run"),
    Arg::str("removes", "a path: if it does not exist, the command does not run"),
    Arg::str("stdin", "text fed to the command's standard input"),
    Arg::bool("stdin_add_newline", "add a newline to stdin (default yes)"),
    Arg::bool("strip_empty_ends", "strip trailing newlines from stdout and stderr (default yes)"),
    Arg::str("executable", "the shell to use (shell only)"),
    Arg::str("free_form", "the command (same as the free text)"),
    Arg::bool("warn", "accepted for compatibility"),
    Arg::bool("expand_argument_vars", "expand $VARS in arguments (command only; shell refuses it)"),
];

pub fn now_string(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:06}", crate::template::format_time("%Y-%m-%d %H:%M:%S", d.as_secs() as i64, false), d.subsec_micros())
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

async fn run_command(ctx: &TaskCtx, args: &Args, shell: bool) -> Result<Outcome, ModError> {
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
    let mut full = String::new();
    if let Some(d) = args.str("chdir")? {
        // -P: the physical directory, as a process that chdir()s there sees it (Ansible's $PWD).
        full += &format!("cd -P {} 2>/dev/null || {{ printf '%s' {}; exit 0; }}\n", q(&d), q(&format!("{GUARD}chdir\t")));
    }
    // creates/removes are checked in the same round trip as the command.
    let has_guard = args.has("creates") || args.has("removes");
    full += &guard_script(args)?;
    if ctx.check {
        let out = ctx.sh(format!("{full}:")).await?;
        if let Some((path, why)) = guard_stopped(&out.stdout_str()) {
            if path == "chdir" {
                return Ok(Outcome::failed("Unable to change directory before execution.").with("cmd", cmd_value).with("rc", 1));
            }
            let mut o = guarded(cmd_value, &path, &why);
            o.msg = Some(format!("Would not run command since '{path}' {why}"));
            return Ok(o);
        }
        // As Ansible: with creates/removes the command would change something; without them
        // the task is skipped.
        if has_guard {
            return Ok(Outcome::changed(true).with("cmd", cmd_value).with("rc", 0).msg("Command would have run if not in check mode"));
        }
        return Ok(Outcome { skipped: true, msg: Some("Command would have run if not in check mode".into()), ..Default::default() }
            .with("cmd", cmd_value)
            .with("rc", 0));
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
    let start = SystemTime::now();
    let t0 = Instant::now();
    let out = ctx.sh_in(full, stdin).await?;
    let delta = t0.elapsed();
    if let Some((path, why)) = guard_stopped(&out.stdout_str()) {
        if path == "chdir" {
            return Ok(Outcome::failed("Unable to change directory before execution.").with("cmd", cmd_value).with("rc", 1));
        }
        return Ok(guarded(cmd_value, &path, &why));
    }
    if out.rc == 2 && out.stdout_str() == NO_PROGRAM {
        let p = program.unwrap_or_default();
        let cmd = cmd_value.as_array().map(|a| a.iter().map(crate::pytext::to_text).collect::<Vec<_>>().join(" ")).unwrap_or_default();
        let mut o = ran(Outcome::ok().with("cmd", cmd), 2, String::new(), String::new());
        o.msg = Some(format!("[Errno 2] No such file or directory: b'{p}'"));
        o.warnings = warnings;
        return Ok(o);
    }
    let strip = args.bool("strip_empty_ends", true)?;
    let stdout = strip_end(out.stdout_str(), strip);
    let stderr = strip_end(out.stderr_str(), strip);
    let mut o = ran(Outcome::changed(true).with("cmd", cmd_value), out.rc, stdout, stderr)
        .with("start", now_string(start))
        .with("end", now_string(start + delta))
        .with("delta", delta_string(delta));
    o.msg.get_or_insert_with(String::new);
    o.warnings = warnings;
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
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        run_command(ctx, args, false).await
    }
}

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
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        run_command(ctx, args, true).await
    }
}

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
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let Some(raw) = args.str("_raw_params")? else {
            return fail("no command given");
        };
        if ctx.check {
            return Ok(Outcome { skipped: true, msg: Some("raw does not support check mode".into()), ..Default::default() });
        }
        let script = match args.str("executable")? {
            Some(exe) => format!("{} -c {}", q(&exe), q(&raw)),
            None => raw,
        };
        let out = ctx.sh(script).await?;
        Ok(ran(Outcome::changed(true), out.rc, out.stdout_str(), out.stderr_str()))
    }
}
