//! `steward adhoc`: one line (or block) per host, as `ansible` prints a module's result, and
//! nothing else on stdout (no banners, no recap, no traces).

use std::sync::Mutex;

use super::event::{Event, HostResult, Status};
use super::terminal::{paint, shown, shown_tight, stdout_color, write_line, HIDDEN};
use super::Sink;

pub struct Adhoc {
    /// `-o`: one line per host.
    one_line: bool,
    out: Mutex<std::io::Stdout>,
    color: bool,
}

impl Adhoc {
    pub fn new(one_line: bool) -> Adhoc {
        Adhoc { one_line, out: Mutex::new(std::io::stdout()), color: stdout_color() }
    }

    /// A result, as `ansible` prints it.
    fn result(&self, r: &HostResult) {
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
            if self.one_line {
                format!("{} | {word} | rc={rc} | (stdout) {}", r.host, text.replace('\n', "\\n"))
            } else {
                format!("{} | {word} | rc={rc} >>\n{text}", r.host)
            }
        } else {
            let text = if self.one_line { shown_tight(&r.result, r.no_log) } else { shown(&r.result, r.no_log, true) };
            format!("{} | {word} => {text}", r.host)
        };
        write_line(&self.out, &paint(self.color, color, &line));
    }
}

impl Sink for Adhoc {
    fn event(&self, e: &Event<'_>) {
        if let Event::Result { result, .. } = e {
            self.result(result);
        }
    }
}
