//! `--output json`: one JSON event per line on stdout, for a script to read (play and task
//! starts, each host's result, the recap, and the end with the exit code). Nothing else goes to
//! stdout; known secrets are masked and `no_log` results censored. [`read`] takes the lines
//! back, so that `steward report merge` can make one report of the shards of a run.

use std::io::Write;
use std::sync::Mutex;

use indexmap::IndexMap;
use serde_json::{json, Map, Value};

use super::event::{Event, FileDiff, HostResult, Stats, Status};
use super::terminal::HIDDEN;
use super::Sink;

pub struct JsonLines<W: Write + Send> {
    out: Mutex<W>,
    /// A `--check` run (said in the end event).
    check: bool,
}

impl JsonLines<std::io::Stdout> {
    pub fn stdout() -> Self {
        JsonLines::new(std::io::stdout())
    }
}

impl<W: Write + Send> JsonLines<W> {
    pub fn new(out: W) -> Self {
        JsonLines { out: Mutex::new(out), check: false }
    }

    /// Say in the end event that this was a `--check` run.
    pub fn check_mode(mut self, check: bool) -> Self {
        self.check = check;
        self
    }

    /// The writer back (a test's buffer).
    pub fn into_inner(self) -> W {
        self.out.into_inner().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self, v: Value) {
        let line = v.to_string();
        let line = crate::vault::mask(&line);
        if let Ok(mut o) = self.out.lock() {
            let _ = writeln!(o, "{line}");
        }
    }
}

impl<W: Write + Send> Sink for JsonLines<W> {
    fn event(&self, e: &Event<'_>) {
        match *e {
            Event::PlayStart { name, playbook, named } => {
                self.write(json!({"event": "play_start", "play": name, "playbook": playbook, "named": named}))
            }
            Event::TaskStart { name, handler } => self.write(json!({"event": "task_start", "task": name, "handler": handler})),
            Event::Result { result: r, .. } => {
                let changed = r.result.get("changed").cloned().unwrap_or(Value::Bool(false));
                let result = if r.no_log {
                    json!({"censored": HIDDEN, "changed": changed})
                } else {
                    Value::Object(
                        r.result.iter().filter(|(k, _)| !k.starts_with("_ansible")).map(|(k, v)| (k.clone(), v.clone())).collect(),
                    )
                };
                let mut e = json!({
                    "event": "result", "host": r.host, "task": r.task, "status": r.word(),
                    "changed": changed,
                    "duration": (r.duration * 1000.0).round() / 1000.0, "delegated_to": r.delegated_to, "result": result,
                });
                let diffs: Vec<Value> = r.diffs.iter().chain(r.items.iter().flat_map(|i| &i.diffs)).map(diff_json).collect();
                if !r.no_log && !diffs.is_empty() {
                    e["diffs"] = Value::Array(diffs);
                }
                self.write(e);
            }
            Event::Recap(stats) => {
                let hosts: serde_json::Map<String, Value> = stats
                    .iter()
                    .map(|(h, s)| {
                        (h.clone(), json!({"ok": s.ok, "changed": s.changed, "unreachable": s.unreachable, "failed": s.failed, "skipped": s.skipped, "rescued": s.rescued, "ignored": s.ignored}))
                    })
                    .collect();
                self.write(json!({"event": "recap", "hosts": hosts}));
            }
            _ => {}
        }
    }

    fn finish(&self, exit_code: i32) {
        self.write(json!({"event": "end", "exit_code": exit_code, "check": self.check}));
    }
}

fn diff_json(d: &FileDiff) -> Value {
    json!({"before_header": d.before_header, "after_header": d.after_header, "before": d.before, "after": d.after})
}

/// An event of `--output json` read back.
#[derive(Debug)]
pub enum Recorded {
    PlayStart { name: String, playbook: String, named: bool },
    TaskStart { name: String, handler: bool },
    Result(Box<HostResult>),
    Recap(IndexMap<String, Stats>),
    End { exit_code: i32, check: bool },
}

/// One line of `--output json` back as the event it was (`None` for a kind this version does
/// not know).
pub fn read(line: &str) -> Result<Option<Recorded>, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not a JSON event: {e}"))?;
    let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let flag = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
    Ok(Some(match v.get("event").and_then(Value::as_str) {
        Some("play_start") => Recorded::PlayStart { name: text("play"), playbook: text("playbook"), named: flag("named") },
        Some("task_start") => Recorded::TaskStart { name: text("task"), handler: flag("handler") },
        Some("result") => {
            let word = text("status");
            let status = match word.as_str() {
                "ok" => Status::Ok,
                "changed" => Status::Changed,
                "skipped" => Status::Skipped,
                "failed" | "ignored" | "rescued" => Status::Failed,
                "unreachable" => Status::Unreachable,
                other => return Err(format!("unknown result status `{other}`")),
            };
            let result = v.get("result").and_then(Value::as_object).cloned().unwrap_or_default();
            let mut r = HostResult::new(&text("host"), status, result);
            r.ignored = word == "ignored";
            r.rescued = word == "rescued";
            r.task = text("task");
            r.duration = v.get("duration").and_then(Value::as_f64).unwrap_or(0.0);
            r.delegated_to = v.get("delegated_to").and_then(Value::as_str).map(str::to_string);
            r.no_log = r.result.contains_key("censored");
            let field = |d: &Value, k: &str| d.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            r.diffs = v
                .get("diffs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|d| FileDiff {
                    before_header: field(d, "before_header"),
                    after_header: field(d, "after_header"),
                    before: field(d, "before"),
                    after: field(d, "after"),
                })
                .collect();
            Recorded::Result(Box::new(r))
        }
        Some("recap") => {
            let hosts = v.get("hosts").and_then(Value::as_object).cloned().unwrap_or_default();
            let count = |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_u64).unwrap_or(0) as u32;
            let stats = hosts
                .iter()
                .map(|(h, s)| {
                    let s = s.as_object().cloned().unwrap_or_default();
                    let st = Stats {
                        ok: count(&s, "ok"),
                        changed: count(&s, "changed"),
                        unreachable: count(&s, "unreachable"),
                        failed: count(&s, "failed"),
                        skipped: count(&s, "skipped"),
                        rescued: count(&s, "rescued"),
                        ignored: count(&s, "ignored"),
                    };
                    (h.clone(), st)
                })
                .collect();
            Recorded::Recap(stats)
        }
        Some("end") => Recorded::End { exit_code: v.get("exit_code").and_then(Value::as_i64).unwrap_or(1) as i32, check: flag("check") },
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;
    use serde_json::json;

    use super::*;
    use crate::report::event::{HostResult, Stats, Status};

    fn result(host: &str, task: &str, status: Status, result: Value) -> HostResult {
        let Value::Object(m) = result else { panic!("not an object") };
        let mut r = HostResult::new(host, status, m);
        r.task = task.into();
        r
    }

    fn lines(sink: JsonLines<Vec<u8>>) -> Vec<String> {
        String::from_utf8(sink.into_inner()).unwrap().lines().map(str::to_string).collect()
    }

    #[test]
    fn a_run_as_json_lines() {
        let sink = JsonLines::new(Vec::new());
        let mut ok = result("web1", "write it", Status::Changed, json!({"changed": true, "dest": "/etc/x", "_ansible_no_log": false}));
        ok.duration = 0.12345;
        let mut failed = result("web2", "write it", Status::Failed, json!({"changed": false, "msg": "boom", "rc": 1}));
        failed.ignored = true;
        failed.delegated_to = Some("db1".into());
        let mut stats = IndexMap::new();
        let mut s = Stats::default();
        s.count(&ok);
        stats.insert("web1".to_string(), s);
        let events = [
            Event::PlayStart { name: "site", playbook: "site.yml", named: true },
            Event::PlayHosts { name: "site", total: 2, tasks: 3 },
            Event::TaskStart { name: "write it", handler: false },
            Event::HostTask { host: "web1", task: "write it" },
            Event::Result { result: &ok, loc: None },
            Event::Result { result: &failed, loc: None },
            Event::Message("NO MORE HOSTS LEFT"),
            Event::Trace { host: "web1", text: "EXEC: true" },
            Event::TaskStart { name: "restart", handler: true },
            Event::Recap(&stats),
        ];
        for e in &events {
            sink.event(e);
        }
        sink.finish(2);
        assert_eq!(
            lines(sink),
            [
                r#"{"event":"play_start","play":"site","playbook":"site.yml","named":true}"#,
                r#"{"event":"task_start","task":"write it","handler":false}"#,
                r#"{"event":"result","host":"web1","task":"write it","status":"changed","changed":true,"duration":0.123,"delegated_to":null,"result":{"changed":true,"dest":"/etc/x"}}"#,
                r#"{"event":"result","host":"web2","task":"write it","status":"ignored","changed":false,"duration":0.0,"delegated_to":"db1","result":{"changed":false,"msg":"boom","rc":1}}"#,
                r#"{"event":"task_start","task":"restart","handler":true}"#,
                r#"{"event":"recap","hosts":{"web1":{"ok":1,"changed":1,"unreachable":0,"failed":0,"skipped":0,"rescued":0,"ignored":0}}}"#,
                r#"{"event":"end","exit_code":2,"check":false}"#,
            ]
        );
    }

    #[test]
    fn no_log_results_are_censored() {
        let sink = JsonLines::new(Vec::new());
        let mut r = result("h", "secret", Status::Ok, json!({"changed": false, "stdout": "hunter2"}));
        r.no_log = true;
        sink.event(&Event::Result { result: &r, loc: None });
        let got = lines(sink);
        assert_eq!(
            got,
            [format!(
                r#"{{"event":"result","host":"h","task":"secret","status":"ok","changed":false,"duration":0.0,"delegated_to":null,"result":{{"censored":"{HIDDEN}","changed":false}}}}"#
            )]
        );
    }
}
