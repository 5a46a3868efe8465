//! ansible-playbook's default output: banners, one status line per host, the recap.

use std::io::Write;
use std::sync::Mutex;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::exec::result::{HostResult, Stats, Status};
use crate::modules::FileDiff;
use crate::yaml::Loc;

pub type Verbosity = u8;

pub struct Reporter {
    pub verbosity: Verbosity,
    pub diff: bool,
    out: Mutex<std::io::Stdout>,
    color: bool,
    /// `--output json`: events instead of text on stdout.
    json: bool,
    junit: Option<(std::path::PathBuf, Mutex<Vec<Case>>)>,
    play: Mutex<String>,
    /// Ad-hoc commands print `host | STATUS ...` lines as `ansible` does (`Some(true)`: one
    /// line per host).
    adhoc: Option<bool>,
    progress: super::progress::Progress,
    html: Option<super::html::HtmlReport>,
}

/// One JUnit test case: a task on a host.
struct Case {
    play: String,
    host: String,
    task: String,
    status: &'static str,
    message: String,
    time: f64,
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const HIDDEN: &str = "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

fn banner(msg: &str) -> String {
    let stars = 79usize.saturating_sub(msg.chars().count()).max(3);
    format!("\n{msg} {}", "*".repeat(stars))
}

impl Reporter {
    pub fn new(verbosity: Verbosity, diff: bool) -> Reporter {
        let color = std::env::var_os("NO_COLOR").is_none()
            && std::env::var("ANSIBLE_NOCOLOR").map(|v| v == "0" || v.is_empty()).unwrap_or(true)
            && std::io::IsTerminal::is_terminal(&std::io::stdout());
        Reporter {
            verbosity,
            diff,
            out: Mutex::new(std::io::stdout()),
            color,
            json: false,
            junit: None,
            play: Mutex::new(String::new()),
            adhoc: None,
            progress: super::progress::Progress::new(super::progress::Mode::detect()),
            html: None,
        }
    }

    pub fn json(mut self, on: bool) -> Reporter {
        self.json = on;
        if on {
            self.color = false;
            // stdout is for the events; progress would only be noise for the script reading them.
            self.progress = super::progress::Progress::new(super::progress::Mode::Off);
        }
        self
    }

    pub fn adhoc(mut self, one_line: Option<bool>) -> Reporter {
        self.adhoc = one_line;
        if one_line.is_some() {
            self.progress = super::progress::Progress::new(super::progress::Mode::Off);
        }
        self
    }

    /// Live progress: a play starts on `total` hosts.
    pub fn progress_play(&self, name: &str, total: usize) {
        self.progress.play(name, total);
    }

    /// Live progress: a host starts a task.
    pub fn progress_task(&self, host: &str, task: &str) {
        self.progress.task(host, task);
    }

    /// Live progress: a host is through the play.
    pub fn progress_host_done(&self, host: &str) {
        self.progress.host_done(host);
    }

    /// An ad-hoc result, as `ansible` prints it.
    fn adhoc_result(&self, r: &HostResult, one_line: bool) {
        let word = match r.status {
            Status::Changed => "CHANGED",
            Status::Ok => "SUCCESS",
            Status::Skipped => "SKIPPED",
            Status::Failed => "FAILED",
            Status::Unreachable => "UNREACHABLE!",
        };
        let color = match r.status {
            Status::Changed => "33",
            Status::Ok | Status::Skipped => "32",
            _ => "31",
        };
        let line = if let (Some(rc), false) = (r.result.get("rc"), r.status == Status::Unreachable) {
            let text = match r.status {
                Status::Failed if r.result.get("stdout").is_none_or(|s| s.as_str() == Some("")) => r.msg(),
                _ => r.result.get("stdout").map(crate::pytext::to_text).unwrap_or_default(),
            };
            let text = if r.no_log { HIDDEN.to_string() } else { text };
            if one_line {
                format!("{} | {word} | rc={rc} | (stdout) {}", r.host, text.replace('\n', "\\n"))
            } else {
                format!("{} | {word} | rc={rc} >>\n{text}", r.host)
            }
        } else {
            let shown = if one_line { self.shown_tight(&r.result, r.no_log) } else { self.shown(&r.result, r.no_log, true) };
            format!("{} | {word} => {shown}", r.host)
        };
        self.line_raw(&self.paint(color, &line));
    }

    /// `--report FILE.html`.
    pub fn html(mut self, path: Option<std::path::PathBuf>) -> Reporter {
        self.html = path.map(super::html::HtmlReport::new);
        self
    }

    pub fn junit(mut self, path: Option<std::path::PathBuf>) -> Reporter {
        self.junit = path.map(|p| (p, Mutex::new(Vec::new())));
        self
    }

    /// One JSON event on its own line (`--output json`).
    fn event(&self, v: Value) {
        let line = v.to_string();
        let line = crate::vault::mask(&line);
        if let Ok(mut o) = self.out.lock() {
            let _ = writeln!(o, "{line}");
        }
    }

    /// At the end: the JUnit file, if asked for.
    pub fn finish(&self, exit_code: i32) {
        if self.json {
            self.event(serde_json::json!({"event": "end", "exit_code": exit_code}));
        }
        if let Some(h) = &self.html {
            if let Err(e) = h.write(exit_code) {
                eprintln!("[ERROR]: cannot write the HTML report: {e}");
            }
        }
        let Some((path, cases)) = &self.junit else { return };
        let cases = cases
            .lock()
            .map(|c| {
                c.iter().map(|x| (x.play.clone(), x.host.clone(), x.task.clone(), x.status, x.message.clone(), x.time)).collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let mut plays: Vec<String> = Vec::new();
        for c in &cases {
            if !plays.contains(&c.0) {
                plays.push(c.0.clone());
            }
        }
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"steward\">\n");
        for p in plays {
            let mine: Vec<_> = cases.iter().filter(|c| c.0 == p).collect();
            let failures = mine.iter().filter(|c| matches!(c.3, "failed" | "unreachable")).count();
            let skipped = mine.iter().filter(|c| c.3 == "skipped").count();
            let time: f64 = mine.iter().map(|c| c.5).sum();
            out += &format!(
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{time:.3}\">\n",
                xml(&p),
                mine.len()
            );
            for c in mine {
                out += &format!("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\">", xml(&c.1), xml(&c.2), c.5);
                match c.3 {
                    "failed" | "unreachable" => {
                        out += &format!("<failure message=\"{}\" type=\"{}\">{}</failure>", xml(&c.4), c.3, xml(&c.4))
                    }
                    "skipped" => out += "<skipped/>",
                    _ => {}
                }
                out += "</testcase>\n";
            }
            out += "  </testsuite>\n";
        }
        out += "</testsuites>\n";
        if let Err(e) = std::fs::write(path, crate::vault::mask(&out).as_bytes()) {
            eprintln!("[ERROR]: cannot write the JUnit report {}: {e}", path.display());
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn line(&self, s: &str) {
        if self.json || self.adhoc.is_some() {
            return;
        }
        self.line_raw(s);
    }

    fn line_raw(&self, s: &str) {
        let s = crate::vault::mask(s);
        self.progress.suspend(|| {
            if let Ok(mut o) = self.out.lock() {
                let _ = writeln!(o, "{s}");
                let _ = o.flush();
            }
        });
    }

    /// `-vv` and `-vvv` detail about one host: the commands run and their output, and how the
    /// connection was made. Known secrets are masked; tasks with no_log are never traced.
    pub fn trace(&self, host: &str, text: &str) {
        if self.json || self.adhoc.is_some() {
            return;
        }
        let mut t = text.trim_end().to_string();
        if t.len() > 4000 {
            let mut cut = 4000;
            while !t.is_char_boundary(cut) {
                cut -= 1;
            }
            t.truncate(cut);
            t += " [...]";
        }
        self.line_raw(&self.paint("34", &format!("<{host}> {t}")));
    }

    pub fn play_start(&self, name: &str) {
        if let Ok(mut p) = self.play.lock() {
            *p = name.to_string();
        }
        if self.json {
            self.event(serde_json::json!({"event": "play_start", "play": name}));
        }
        self.line(&banner(&format!("PLAY [{name}]")));
    }

    pub fn no_hosts(&self) {
        self.line("skipping: no hosts matched");
    }

    pub fn task_start(&self, name: &str, handler: bool) {
        if self.json {
            self.event(serde_json::json!({"event": "task_start", "task": name, "handler": handler}));
        }
        let kind = if handler { "RUNNING HANDLER" } else { "TASK" };
        self.line(&banner(&format!("{kind} [{name}]")));
    }

    pub fn included(&self, what: &str, hosts: &[String]) {
        self.line(&self.paint("36", &format!("included: {what} for {}", hosts.join(", "))));
    }

    pub fn retry(&self, host: &str, task: &str, left: i64) {
        self.line(&self.paint("31", &format!("FAILED - RETRYING: [{host}]: {task} ({left} retries left).")));
    }

    fn host_label(r: &HostResult) -> String {
        match &r.delegated_to {
            Some(d) if *d != r.host => format!("[{} -> {d}]", r.host),
            _ => format!("[{}]", r.host),
        }
    }

    /// As [`Self::shown`] on one line without spaces after commas, as `ansible -o` prints it.
    fn shown_tight(&self, r: &Map<String, Value>, no_log: bool) -> String {
        let text = self.shown(r, no_log, false);
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        crate::pytext::py_json_spaced(&v, None, true, false)
    }

    /// What a result shows after `=>`, as sorted JSON without steward's internal keys.
    fn shown(&self, r: &Map<String, Value>, no_log: bool, indent: bool) -> String {
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

    pub fn host_result(&self, r: &HostResult, task_loc: Option<&Loc>) {
        if let Some(h) = &self.html {
            let play = self.play.lock().map(|p| p.clone()).unwrap_or_default();
            h.result(&play, r);
        }
        if matches!(r.status, Status::Failed | Status::Unreachable) && !r.result.get("ignored").is_some_and(|v| v == &Value::Bool(true)) {
            self.progress.failure();
        }
        if let Some((_, cases)) = &self.junit {
            let play = self.play.lock().map(|p| p.clone()).unwrap_or_default();
            let message = if r.no_log { "hidden (no_log)".to_string() } else { r.msg() };
            if let Ok(mut c) = cases.lock() {
                c.push(Case { play, host: r.host.clone(), task: r.task.clone(), status: r.word(), message, time: r.duration });
            }
        }
        if let Some(one_line) = self.adhoc {
            if !self.json {
                self.adhoc_result(r, one_line);
                return;
            }
        }
        if self.json {
            let result = if r.no_log {
                serde_json::json!({"censored": HIDDEN, "changed": r.result.get("changed").cloned().unwrap_or(Value::Bool(false))})
            } else {
                Value::Object(r.result.iter().filter(|(k, _)| !k.starts_with("_ansible")).map(|(k, v)| (k.clone(), v.clone())).collect())
            };
            self.event(serde_json::json!({
                "event": "result", "host": r.host, "task": r.task, "status": r.word(),
                "changed": r.result.get("changed").cloned().unwrap_or(Value::Bool(false)),
                "duration": (r.duration * 1000.0).round() / 1000.0, "delegated_to": r.delegated_to, "result": result,
            }));
            return;
        }
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
                Status::Failed => self.paint("31", &format!("failed: {label} {il} => {}", self.shown(&item.result, r.no_log, false))),
                Status::Unreachable => self.paint("31", &format!("unreachable: {label} {il}")),
            };
            let show = matches!(item.status, Status::Ok | Status::Changed) && (r.verbose_always || self.verbosity > 0);
            if show {
                let mut shown = item.result.clone();
                if r.module == "debug" {
                    shown.remove("changed");
                }
                self.line(&format!("{line} => {}", self.shown(&shown, r.no_log, r.verbose_always)));
            } else {
                self.line(&line);
            }
        }
        let verbose = self.verbosity > 0 || r.verbose_always;
        match r.status {
            Status::Ok | Status::Changed if r.is_loop => {
                if self.verbosity > 0 {
                    let word = if r.status == Status::Changed { "changed" } else { "ok" };
                    self.line(&format!("{word}: {label} => {}", self.shown(&r.result, r.no_log, false)));
                }
            }
            Status::Ok | Status::Changed => {
                let (word, color) = if r.status == Status::Changed { ("changed", "33") } else { ("ok", "32") };
                if verbose {
                    let mut shown = r.result.clone();
                    if r.module == "debug" {
                        shown.remove("changed");
                    }
                    self.line(&self.paint(color, &format!("{word}: {label} => {}", self.shown(&shown, r.no_log, r.verbose_always))));
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
                    self.line(&self.paint("36", &format!("skipping: {label} => {}", self.shown(&r.result, r.no_log, false))));
                } else {
                    self.line(&self.paint("36", &format!("skipping: {label}")));
                }
            }
            Status::Failed => {
                if !r.is_loop || r.items.is_empty() {
                    if let Some(loc) = task_loc {
                        self.error_origin(&r.msg(), loc, r.no_log);
                    }
                }
                let shown = if r.is_loop && !r.items.is_empty() {
                    self.shown(&loop_summary(&r.result), r.no_log, false)
                } else {
                    self.shown(&r.result, r.no_log, false)
                };
                self.line(&self.paint("31", &format!("fatal: {label}: FAILED! => {shown}")));
                if r.ignored {
                    self.line(&self.paint("36", "...ignoring"));
                }
            }
            Status::Unreachable => {
                self.line(&self.paint("31", &format!("fatal: {label}: UNREACHABLE! => {}", self.shown(&r.result, r.no_log, false))));
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
        self.line(&s);
    }

    pub fn print_diff(&self, d: &FileDiff) {
        let text = unified_diff(d);
        if !text.is_empty() {
            self.line(&text);
        }
    }

    pub fn message(&self, s: &str) {
        self.line(s);
    }

    pub fn recap(&self, stats: &IndexMap<String, Stats>) {
        self.progress.end_play();
        if let Some(h) = &self.html {
            h.recap(stats);
        }
        if self.json {
            let hosts: serde_json::Map<String, Value> = stats
                .iter()
                .map(|(h, s)| {
                    (h.clone(), serde_json::json!({"ok": s.ok, "changed": s.changed, "unreachable": s.unreachable, "failed": s.failed, "skipped": s.skipped, "rescued": s.rescued, "ignored": s.ignored}))
                })
                .collect();
            self.event(serde_json::json!({"event": "recap", "hosts": hosts}));
            return;
        }
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
