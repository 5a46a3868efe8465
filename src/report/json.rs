//! `--output json`: one JSON event per line on stdout, for a script to read (play and task
//! starts, each host's result, the recap, and the end with the exit code). Nothing else goes to
//! stdout; known secrets are masked and `no_log` results censored.

use std::io::Write;
use std::sync::Mutex;

use serde_json::{json, Value};

use super::event::Event;
use super::terminal::HIDDEN;
use super::Sink;

pub struct JsonLines<W: Write + Send> {
    out: Mutex<W>,
}

impl JsonLines<std::io::Stdout> {
    pub fn stdout() -> Self {
        JsonLines::new(std::io::stdout())
    }
}

impl<W: Write + Send> JsonLines<W> {
    pub fn new(out: W) -> Self {
        JsonLines { out: Mutex::new(out) }
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
            Event::PlayStart { name } => self.write(json!({"event": "play_start", "play": name})),
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
                self.write(json!({
                    "event": "result", "host": r.host, "task": r.task, "status": r.word(),
                    "changed": changed,
                    "duration": (r.duration * 1000.0).round() / 1000.0, "delegated_to": r.delegated_to, "result": result,
                }));
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
        self.write(json!({"event": "end", "exit_code": exit_code}));
    }
}
