//! ansible-playbook's default output: banners, one status line per host, the recap, and the
//! live progress on stderr. Also the text forms the other outputs share: a result as shown after
//! `=>`, a unified diff.

use std::io::Write;
use std::sync::Mutex;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::event::FileDiff;
use super::event::{Event, HostResult, Stats, Status};
use super::progress::{Mode, Progress};
use super::Sink;
use crate::yaml::Loc;

pub type Verbosity = u8;

/// The terminal: what ansible-playbook prints on stdout, and the progress display on stderr.
pub struct Terminal {
    verbosity: Verbosity,
    diff: bool,
    out: Mutex<std::io::Stdout>,
    color: bool,
    progress: Progress,
}

pub(super) const HIDDEN: &str = "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

/// A heading as ansible-playbook prints it: a blank line, the text, stars to column 80.
pub fn banner(msg: &str) -> String {
    let stars = 79usize.saturating_sub(msg.chars().count()).max(3);
    format!("\n{msg} {}", "*".repeat(stars))
}

/// Whether stdout gets colours: a terminal, and neither `NO_COLOR` nor `ANSIBLE_NOCOLOR` set.
pub(super) fn stdout_color() -> bool {
    std::env::var_os("NO_COLOR").is_none()
        && std::env::var("ANSIBLE_NOCOLOR").map(|v| v == "0" || v.is_empty()).unwrap_or(true)
        && std::io::IsTerminal::is_terminal(&std::io::stdout())
}

pub(super) fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// Print a line on stdout, known secrets masked.
pub(super) fn write_line(out: &Mutex<std::io::Stdout>, s: &str) {
    let s = crate::vault::mask(s);
    if let Ok(mut o) = out.lock() {
        let _ = writeln!(o, "{s}");
        let _ = o.flush();
    }
}

/// As [`shown`] on one line without spaces after commas, as `ansible -o` prints it.
pub(super) fn shown_tight(r: &Map<String, Value>, no_log: bool) -> String {
    let text = shown(r, no_log, false);
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    crate::pytext::py_json_spaced(&v, None, true, false)
}

/// What a result shows after `=>`, as sorted JSON without steward's internal keys.
pub(super) fn shown(r: &Map<String, Value>, no_log: bool, indent: bool) -> String {
    let mut m = Map::new();
    if no_log {
        m.insert("censored".into(), Value::from(HIDDEN));
        if let Some(c) = r.get("changed") {
            m.insert("changed".into(), c.clone());
        }
    } else {
        for (k, v) in r {
            // Ansible shows a failure's `exception` only as a traceback at -vvv.
            if k.starts_with("_ansible") || k == "diff" || k == "failed" || k == "exception" {
                continue;
            }
            m.insert(k.clone(), v.clone());
        }
    }
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    let sorted: Map<String, Value> = keys.into_iter().map(|k| (k.clone(), m[k].clone())).collect();
    crate::pytext::py_json(&Value::Object(sorted), indent.then_some(4), true)
}

impl Sink for Terminal {
    fn event(&self, e: &Event<'_>) {
        match *e {
            Event::PlayStart { name, .. } => self.line(&banner(&format!("PLAY [{name}]"))),
            Event::PlayHosts { name, total, tasks } => self.progress.play(name, total, tasks),
            Event::NoHosts => self.line("skipping: no hosts matched"),
            Event::TaskStart { name, handler } => {
                let kind = if handler { "RUNNING HANDLER" } else { "TASK" };
                self.line(&banner(&format!("{kind} [{name}]")));
            }
            Event::HostTask { host, task } => self.progress.task(host, task),
            Event::HostDone { host } => self.progress.host_done(host),
            Event::Included { what, hosts } => self.line(&self.paint("36", &format!("included: {what} for {}", hosts.join(", ")))),
            Event::Retry { host, task, left } => {
                self.line(&self.paint("31", &format!("FAILED - RETRYING: [{host}]: {task} ({left} retries left).")))
            }
            Event::Result { result, loc } => self.host_result(result, loc),
            Event::Message(s) => self.line(s),
            Event::Trace { host, text } => self.trace(host, text),
            Event::Recap(stats) => self.recap(stats),
        }
    }
}

impl Terminal {
    pub fn new(verbosity: Verbosity, diff: bool) -> Terminal {
        Terminal { verbosity, diff, out: Mutex::new(std::io::stdout()), color: stdout_color(), progress: Progress::new(Mode::detect()) }
    }

    /// No progress display: `--step` asks its questions on stderr, where the bars would be.
    pub fn without_progress(mut self) -> Terminal {
        self.progress = Progress::new(Mode::Off);
        self
    }

    fn paint(&self, code: &str, text: &str) -> String {
        paint(self.color, code, text)
    }

    fn line(&self, s: &str) {
        self.progress.suspend(|| write_line(&self.out, s));
    }

    /// `-vv` and `-vvv` detail about one host: the commands run and their output, and how the
    /// connection was made. Known secrets are masked; tasks with no_log are never traced.
    fn trace(&self, host: &str, text: &str) {
        let mut t = text.trim_end().to_string();
        if t.len() > 4000 {
            let mut cut = 4000;
            while !t.is_char_boundary(cut) {
                cut -= 1;
            }
            t.truncate(cut);
            t += " [...]";
        }
        self.line(&self.paint("34", &format!("<{host}> {t}")));
    }

    fn host_label(r: &HostResult) -> String {
        match &r.delegated_to {
            Some(d) if *d != r.host => format!("[{} -> {d}]", r.host),
            _ => format!("[{}]", r.host),
        }
    }

    fn host_result(&self, r: &HostResult, task_loc: Option<&Loc>) {
        // A failure the playbook ignores or rescues is not one in the recap, nor here.
        let failed = matches!(r.status, Status::Failed | Status::Unreachable) && !r.ignored && !r.rescued;
        self.progress.result(&r.host, failed);
        if self.diff && !r.no_log {
            for d in &r.diffs {
                self.print_diff(d);
            }
        }
        let label = Self::host_label(r);
        for item in &r.items {
            if self.diff && !r.no_log {
                for d in &item.diffs {
                    self.print_diff(d);
                }
            }
            let il = if r.no_log { "(item=None)".to_string() } else { format!("(item={})", item.label) };
            let line = match item.status {
                Status::Ok => self.paint("32", &format!("ok: {label} => {il}")),
                Status::Changed => self.paint("33", &format!("changed: {label} => {il}")),
                Status::Skipped => self.paint("36", &format!("skipping: {label} => {il} ")),
                Status::Failed => self.paint("31", &format!("failed: {label} {il} => {}", shown(&item.result, r.no_log, false))),
                Status::Unreachable => self.paint("31", &format!("unreachable: {label} {il}")),
            };
            let show = matches!(item.status, Status::Ok | Status::Changed) && (r.verbose_always || self.verbosity > 0);
            if show {
                let mut visible = item.result.clone();
                if r.module == "debug" {
                    visible.remove("changed");
                }
                self.line(&format!("{line} => {}", shown(&visible, r.no_log, r.verbose_always)));
            } else {
                self.line(&line);
            }
        }
        let verbose = self.verbosity > 0 || r.verbose_always;
        match r.status {
            Status::Ok | Status::Changed if r.is_loop => {
                if self.verbosity > 0 {
                    let word = if r.status == Status::Changed { "changed" } else { "ok" };
                    self.line(&format!("{word}: {label} => {}", shown(&r.result, r.no_log, false)));
                }
            }
            Status::Ok | Status::Changed => {
                let (word, color) = if r.status == Status::Changed { ("changed", "33") } else { ("ok", "32") };
                if verbose {
                    let mut visible = r.result.clone();
                    if r.module == "debug" {
                        visible.remove("changed");
                    }
                    self.line(&self.paint(color, &format!("{word}: {label} => {}", shown(&visible, r.no_log, r.verbose_always))));
                } else {
                    self.line(&self.paint(color, &format!("{word}: {label}")));
                }
            }
            Status::Skipped if r.is_loop => {
                if !r.items.iter().any(|i| i.status == Status::Skipped) {
                    self.line(&self.paint("36", &format!("skipping: {label}")));
                }
            }
            Status::Skipped => {
                if self.verbosity > 0 {
                    self.line(&self.paint("36", &format!("skipping: {label} => {}", shown(&r.result, r.no_log, false))));
                } else {
                    self.line(&self.paint("36", &format!("skipping: {label}")));
                }
            }
            Status::Failed => {
                if !r.is_loop || r.items.is_empty() {
                    if let Some(loc) = r.origin.as_ref().or(task_loc) {
                        self.error_origin(&failure_summary(r), loc, r.no_log);
                    }
                }
                let text = if r.is_loop && !r.items.is_empty() {
                    shown(&loop_summary(&r.result), r.no_log, false)
                } else {
                    shown(&r.result, r.no_log, false)
                };
                self.line(&self.paint("31", &format!("fatal: {label}: FAILED! => {text}")));
                if r.ignored {
                    self.line(&self.paint("36", "...ignoring"));
                }
            }
            Status::Unreachable => {
                self.line(&self.paint("31", &format!("fatal: {label}: UNREACHABLE! => {}", shown(&r.result, r.no_log, false))));
                if r.ignored {
                    self.line(&self.paint("36", "...ignoring"));
                }
            }
        }
    }

    fn error_origin(&self, msg: &str, loc: &Loc, no_log: bool) {
        if !loc.is_known() {
            return;
        }
        let msg = if no_log { "the task failed (its output is hidden by no_log)".to_string() } else { msg.to_string() };
        let mut s = self.paint("31", &format!("[ERROR]: Task failed: {msg}"));
        s += &format!("\nOrigin: {}:{}:{}\n", loc.file.display(), loc.line, loc.col);
        // As Ansible: the lines up to the place, and a caret under it.
        if let Some(snippet) = crate::diag::snippet(loc) {
            s += &format!("\n{snippet}");
        }
        self.line(&s);
    }

    fn print_diff(&self, d: &FileDiff) {
        let text = unified_diff(d);
        if !text.is_empty() {
            self.line(&text);
            // Ansible's default callback leaves a blank line after each diff.
            self.line("");
        }
    }

    fn recap(&self, stats: &IndexMap<String, Stats>) {
        self.progress.end_play();
        self.line(&banner("PLAY RECAP"));
        for (h, s) in stats {
            let color = match s.verdict() {
                "failed" => "31",
                "changed" => "33",
                _ => "32",
            };
            let host = format!("{h:<26}");
            let line = format!(
                "{} : ok={:<4} changed={:<4} unreachable={:<4} failed={:<4} skipped={:<4} rescued={:<4} ignored={:<4}",
                self.paint(color, &host),
                s.ok,
                s.changed,
                s.unreachable,
                s.failed,
                s.skipped,
                s.rescued,
                s.ignored
            );
            self.line(&line);
        }
        self.line("");
    }
}

fn loop_summary(r: &Map<String, Value>) -> Map<String, Value> {
    let mut m = Map::new();
    for k in ["changed", "msg"] {
        if let Some(v) = r.get(k) {
            m.insert(k.into(), v.clone());
        }
    }
    m
}

/// A unified diff with `---`/`+++` headers, as `--diff` prints it.
pub fn unified_diff(d: &FileDiff) -> String {
    if d.before == d.after {
        return String::new();
    }
    let diff = similar::TextDiff::from_lines(&d.before, &d.after);
    let mut out = String::new();
    // A diff without headers (the file module's before/after dicts) is headed plainly.
    let before_h =
        if d.before.is_empty() || d.before_header.is_empty() { "before".to_string() } else { format!("before: {}", d.before_header) };
    let after_h = if d.after_header.is_empty() { "after".to_string() } else { format!("after: {}", d.after_header) };
    out += &format!("--- {before_h}\n+++ {after_h}\n");
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        out += &hunk.to_string();
    }
    out.trim_end_matches('\n').to_string()
}

/// The `[ERROR]: Task failed:` line's text: the result's message, or, for a result without
/// one, Ansible's "Action failed."; when `until` ran out of retries, also what was retried and
/// the condition that never held.
fn failure_summary(r: &HostResult) -> String {
    let msg = r.msg();
    let Some(n) = r.result.get("attempts").and_then(Value::as_i64) else {
        return if msg.trim().is_empty() { "Action failed.".into() } else { msg };
    };
    let until = match &r.until {
        Some(u) => format!("`until: {u}`"),
        None => "its `until` condition".into(),
    };
    let times = if n == 1 { "time" } else { "times" };
    if msg.trim().is_empty() {
        format!("Action failed: `{}` was retried {n} {times} and its last result (below) still did not pass {until}", r.task)
    } else {
        format!("{msg} (`{}` was retried {n} {times}; its last result, below, still did not pass {until})", r.task)
    }
}
