//! `--junit FILE`: a JUnit XML report of the run, for CI systems: a test suite per play, a test
//! case per task on a host (failed and unreachable ones are failures, skipped ones skipped).
//! Written when the run ends; `no_log` messages are hidden and known secrets masked.

use std::path::PathBuf;
use std::sync::Mutex;

use super::event::Event;
use super::Sink;

/// One JUnit test case: a task on a host.
struct Case {
    play: String,
    host: String,
    task: String,
    status: &'static str,
    message: String,
    time: f64,
}

pub struct JUnit {
    path: PathBuf,
    /// The play running now (the cases' suite).
    play: Mutex<String>,
    cases: Mutex<Vec<Case>>,
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

impl JUnit {
    pub fn new(path: PathBuf) -> JUnit {
        JUnit { path, play: Mutex::new(String::new()), cases: Mutex::new(Vec::new()) }
    }

    /// The report's text (secrets not yet masked).
    fn render(&self) -> String {
        let cases = self.cases.lock();
        let cases: &[Case] = match &cases {
            Ok(c) => c,
            Err(_) => &[],
        };
        let mut plays: Vec<&str> = Vec::new();
        for c in cases {
            if !plays.contains(&c.play.as_str()) {
                plays.push(&c.play);
            }
        }
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"steward\">\n");
        for p in plays {
            let mine: Vec<&Case> = cases.iter().filter(|c| c.play == p).collect();
            let failures = mine.iter().filter(|c| matches!(c.status, "failed" | "unreachable")).count();
            let skipped = mine.iter().filter(|c| c.status == "skipped").count();
            let time: f64 = mine.iter().map(|c| c.time).sum();
            out += &format!(
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{time:.3}\">\n",
                xml(p),
                mine.len()
            );
            for c in mine {
                out += &format!("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\">", xml(&c.host), xml(&c.task), c.time);
                match c.status {
                    "failed" | "unreachable" => {
                        out += &format!("<failure message=\"{}\" type=\"{}\">{}</failure>", xml(&c.message), c.status, xml(&c.message))
                    }
                    "skipped" => out += "<skipped/>",
                    _ => {}
                }
                out += "</testcase>\n";
            }
            out += "  </testsuite>\n";
        }
        out += "</testsuites>\n";
        out
    }
}

impl Sink for JUnit {
    fn event(&self, e: &Event<'_>) {
        match *e {
            Event::PlayStart { name } => {
                if let Ok(mut p) = self.play.lock() {
                    *p = name.to_string();
                }
            }
            Event::Result { result: r, .. } => {
                let play = self.play.lock().map(|p| p.clone()).unwrap_or_default();
                let message = if r.no_log { "hidden (no_log)".to_string() } else { r.msg() };
                if let Ok(mut c) = self.cases.lock() {
                    c.push(Case { play, host: r.host.clone(), task: r.task.clone(), status: r.word(), message, time: r.duration });
                }
            }
            _ => {}
        }
    }

    fn finish(&self, _exit_code: i32) {
        if let Err(e) = std::fs::write(&self.path, crate::vault::mask(&self.render()).as_bytes()) {
            eprintln!("[ERROR]: cannot write the JUnit report {}: {e}", self.path.display());
        }
    }
}
