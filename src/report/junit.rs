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
        let failed = result("web2", "install <nginx>", Status::Failed, json!({"msg": "no \"nginx\" & no luck"}), 0.25);
        let mut hidden = result("web2", "secret", Status::Failed, json!({"msg": "the password is hunter2"}), 0.0);
        hidden.no_log = true;
        let mut ignored = result("web1", "probe", Status::Failed, json!({"msg": "nope"}), 0.125);
        ignored.ignored = true;
        let skipped = result("db1", "migrate", Status::Skipped, json!({"skipped": true}), 0.001);
        let down = result("db2", "migrate", Status::Unreachable, json!({"msg": "no route"}), 1.0);
        for e in [
            Event::PlayStart { name: "web & co" },
            Event::TaskStart { name: "install <nginx>", handler: false },
            Event::Result { result: &ok, loc: None },
            Event::Result { result: &failed, loc: None },
            Event::Result { result: &hidden, loc: None },
            Event::Result { result: &ignored, loc: None },
            Event::Message("ignored by JUnit"),
            Event::PlayStart { name: "db" },
            Event::Result { result: &skipped, loc: None },
            Event::Result { result: &down, loc: None },
        ] {
            sink.event(&e);
        }
        sink.finish(2);
        let want = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<testsuites name=\"steward\">
  <testsuite name=\"web &amp; co\" tests=\"4\" failures=\"2\" skipped=\"0\" time=\"0.875\">
    <testcase classname=\"web1\" name=\"install &lt;nginx&gt;\" time=\"0.500\"></testcase>
    <testcase classname=\"web2\" name=\"install &lt;nginx&gt;\" time=\"0.250\"><failure message=\"no &quot;nginx&quot; &amp; no luck\" type=\"failed\">no &quot;nginx&quot; &amp; no luck</failure></testcase>
    <testcase classname=\"web2\" name=\"secret\" time=\"0.000\"><failure message=\"hidden (no_log)\" type=\"failed\">hidden (no_log)</failure></testcase>
    <testcase classname=\"web1\" name=\"probe\" time=\"0.125\"></testcase>
  </testsuite>
  <testsuite name=\"db\" tests=\"2\" failures=\"1\" skipped=\"1\" time=\"1.001\">
    <testcase classname=\"db1\" name=\"migrate\" time=\"0.001\"><skipped/></testcase>
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
