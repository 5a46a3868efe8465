//! `--junit FILE`: a JUnit XML report of the run, for CI systems: a test suite per play run
//! (named `PLAYBOOK: PLAY`, so that same-named plays of two playbooks stay apart), a test case
//! per task on a host (failed and unreachable ones are failures, with the message and stderr in
//! the body; skipped ones skipped). Written when the run ends; `no_log` messages are hidden and
//! known secrets masked.

use std::path::PathBuf;
use std::sync::Mutex;

use super::event::Event;
use super::Sink;

/// One JUnit test case: a task on a host.
struct Case {
    host: String,
    task: String,
    status: &'static str,
    message: String,
    /// The failure's body: the message, then stderr.
    body: String,
    time: f64,
}

/// The cases of one play's run.
struct Suite {
    name: String,
    cases: Vec<Case>,
}

pub struct JUnit {
    path: PathBuf,
    /// One per play started, the last one running now.
    suites: Mutex<Vec<Suite>>,
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

impl JUnit {
    pub fn new(path: PathBuf) -> JUnit {
        JUnit { path, suites: Mutex::new(Vec::new()) }
    }

    /// The report's text (secrets not yet masked).
    fn render(&self) -> String {
        let suites = self.suites.lock();
        let suites: &[Suite] = match &suites {
            Ok(s) => s,
            Err(_) => &[],
        };
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"steward\">\n");
        for suite in suites.iter().filter(|s| !s.cases.is_empty()) {
            let mine = &suite.cases;
            let failures = mine.iter().filter(|c| matches!(c.status, "failed" | "unreachable")).count();
            let skipped = mine.iter().filter(|c| c.status == "skipped").count();
            let time: f64 = mine.iter().map(|c| c.time).sum();
            out += &format!(
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{time:.3}\">\n",
                xml(&suite.name),
                mine.len()
            );
            for c in mine {
                out += &format!("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\">", xml(&c.host), xml(&c.task), c.time);
                match c.status {
                    "failed" | "unreachable" => {
                        out += &format!("<failure message=\"{}\" type=\"{}\">{}</failure>", xml(&c.message), c.status, xml(&c.body))
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
            Event::PlayStart { name, playbook, .. } => {
                if let Ok(mut s) = self.suites.lock() {
                    s.push(Suite { name: format!("{playbook}: {name}"), cases: vec![] });
                }
            }
            Event::Result { result: r, .. } => {
                let (message, body) = if r.no_log {
                    ("hidden (no_log)".to_string(), "hidden (no_log)".to_string())
                } else {
                    let msg = r.msg();
                    let stderr = r.result.get("stderr").map(crate::pytext::to_text).unwrap_or_default();
                    let body = if stderr.trim().is_empty() { msg.clone() } else { format!("{msg}\n\nstderr:\n{stderr}") };
                    (msg, body)
                };
                let case = Case { host: r.host.clone(), task: r.task.clone(), status: r.word(), message, body, time: r.duration };
                if let Ok(mut s) = self.suites.lock() {
                    // A result before any play (an ad-hoc command) gets a suite of its own.
                    if s.is_empty() {
                        s.push(Suite { name: "steward".into(), cases: vec![] });
                    }
                    if let Some(last) = s.last_mut() {
                        last.cases.push(case);
                    }
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

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::report::event::{HostResult, Status};

    fn result(host: &str, task: &str, status: Status, result: Value, duration: f64) -> HostResult {
        let Value::Object(m) = result else { panic!("not an object") };
        let mut r = HostResult::new(host, status, m);
        r.task = task.into();
        r.duration = duration;
        r
    }

    #[test]
    fn a_suite_per_play_and_a_case_per_task_on_a_host() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("report.xml");
        let sink = JUnit::new(path.clone());
        let ok = result("web1", "install <nginx>", Status::Changed, json!({"changed": true}), 0.5);
        let failed =
            result("web2", "install <nginx>", Status::Failed, json!({"msg": "no \"nginx\" & no luck", "stderr": "E: no <nginx>"}), 0.25);
        let mut hidden = result("web2", "secret", Status::Failed, json!({"msg": "the password is hunter2"}), 0.0);
        hidden.no_log = true;
        let mut ignored = result("web1", "probe", Status::Failed, json!({"msg": "nope"}), 0.125);
        ignored.ignored = true;
        let skipped = result("db1", "migrate", Status::Skipped, json!({"skipped": true}), 0.001);
        let down = result("db2", "migrate", Status::Unreachable, json!({"msg": "no route"}), 1.0);
        for e in [
            Event::PlayStart { name: "web & co", playbook: "site.yml", named: true },
            Event::TaskStart { name: "install <nginx>", handler: false },
            Event::Result { result: &ok, loc: None },
            Event::Result { result: &failed, loc: None },
            Event::Result { result: &hidden, loc: None },
            Event::Result { result: &ignored, loc: None },
            Event::Message("ignored by JUnit"),
            Event::PlayStart { name: "db", playbook: "site.yml", named: true },
            Event::Result { result: &skipped, loc: None },
            Event::PlayStart { name: "db", playbook: "other.yml", named: true },
            Event::Result { result: &down, loc: None },
        ] {
            sink.event(&e);
        }
        sink.finish(2);
        let want = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<testsuites name=\"steward\">
  <testsuite name=\"site.yml: web &amp; co\" tests=\"4\" failures=\"2\" skipped=\"0\" time=\"0.875\">
    <testcase classname=\"web1\" name=\"install &lt;nginx&gt;\" time=\"0.500\"></testcase>
    <testcase classname=\"web2\" name=\"install &lt;nginx&gt;\" time=\"0.250\"><failure message=\"no &quot;nginx&quot; &amp; no luck\" type=\"failed\">no &quot;nginx&quot; &amp; no luck

stderr:
E: no &lt;nginx&gt;</failure></testcase>
    <testcase classname=\"web2\" name=\"secret\" time=\"0.000\"><failure message=\"hidden (no_log)\" type=\"failed\">hidden (no_log)</failure></testcase>
    <testcase classname=\"web1\" name=\"probe\" time=\"0.125\"></testcase>
  </testsuite>
  <testsuite name=\"site.yml: db\" tests=\"1\" failures=\"0\" skipped=\"1\" time=\"0.001\">
    <testcase classname=\"db1\" name=\"migrate\" time=\"0.001\"><skipped/></testcase>
  </testsuite>
  <testsuite name=\"other.yml: db\" tests=\"1\" failures=\"1\" skipped=\"0\" time=\"1.000\">
    <testcase classname=\"db2\" name=\"migrate\" time=\"1.000\"><failure message=\"no route\" type=\"unreachable\">no route</failure></testcase>
  </testsuite>
</testsuites>
";
        assert_eq!(std::fs::read_to_string(&path).unwrap(), want);
    }

    #[test]
    fn an_empty_run_is_an_empty_report() {
        let sink = JUnit::new(PathBuf::new());
        assert_eq!(sink.render(), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"steward\">\n</testsuites>\n");
    }
}
