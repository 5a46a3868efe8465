//! `async_status`, and the jobs that `async:` with `poll: 0` leaves running.
//!
//! Ansible starts such a job on the host under a wrapper and writes its result to
//! `~/.ansible_async/JID`. steward's modules run from the controller, so a job is a task of the
//! steward process that keeps driving the host over the same connection; its result waits here
//! for `async_status`. A job lives as long as the run (the connection closes at the end).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::{Arg, Args, ModError, Module, Outcome, Plan, TaskCtx};

/// A job's result once it has finished; `None` while it runs.
type Slot = Arc<Mutex<Option<Map<String, Value>>>>;

static JOBS: LazyLock<Mutex<HashMap<String, Slot>>> = LazyLock::new(Default::default);

/// Where Ansible keeps a job's result on the host; reported as Ansible reports it.
pub fn results_file(jid: &str) -> String {
    format!("~/.ansible_async/{jid}")
}

/// A new job id in Ansible's shape (`j<digits>.<digits>`).
pub fn new_jid() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let n = (nanos ^ (nanos >> 17)) % 999_999_999_999;
    format!("j{n}.{}", std::process::id())
}

/// Start a module as a job that may run for `limit` seconds; returns its id at once.
pub fn start<F>(limit: u64, run: F) -> String
where
    F: std::future::Future<Output = Map<String, Value>> + Send + 'static,
{
    let jid = new_jid();
    let slot: Slot = Arc::new(Mutex::new(None));
    if let Ok(mut jobs) = JOBS.lock() {
        jobs.insert(jid.clone(), slot.clone());
    }
    tokio::spawn(async move {
        let result = match tokio::time::timeout(Duration::from_secs(limit.max(1)), run).await {
            Ok(r) => r,
            Err(_) => {
                let mut m = Map::new();
                m.insert("failed".into(), json!(true));
                m.insert("msg".into(), json!(format!("Job reached maximum time limit of {limit} seconds.")));
                m
            }
        };
        if let Ok(mut s) = slot.lock() {
            *s = Some(result);
        }
    });
    jid
}

pub struct AsyncStatus;

#[async_trait]
impl Module for AsyncStatus {
    fn name(&self) -> &'static str {
        "async_status"
    }
    fn doc(&self) -> &'static str {
        include_str!("async_status.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("jid", "the job id (`ansible_job_id` of the task that started it)").required(),
            Arg::str("mode", "status, or cleanup to forget the job").choices(&["status", "cleanup"]).default("status"),
        ];
        A
    }
    fn controller_only(&self) -> bool {
        true
    }
    async fn plan(&self, _ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        Ok(Plan::done(outcome(args)?))
    }
}

/// The task's result, decided on the controller.
fn outcome(args: &Args) -> Result<Outcome, ModError> {
    let jid = args.req_str("jid")?;
    let file = results_file(&jid);
    let slot = JOBS.lock().ok().and_then(|j| j.get(&jid).cloned());
    let mut o = Outcome::ok().with("ansible_job_id", jid.clone()).with("results_file", file.clone());
    if args.str("mode")?.as_deref() == Some("cleanup") {
        if let Ok(mut j) = JOBS.lock() {
            j.remove(&jid);
        }
        return Ok(o.with("erased", file));
    }
    let Some(slot) = slot else {
        o.failed = true;
        o.msg = Some("could not find job".into());
        return Ok(o.with("started", 1).with("finished", 1));
    };
    let done = slot.lock().ok().and_then(|s| s.clone());
    match done {
        None => Ok(o.with("started", 1).with("finished", 0)),
        Some(result) => {
            for (k, v) in result {
                match k.as_str() {
                    "changed" => o.changed = v == Value::Bool(true),
                    "failed" => o.failed = v == Value::Bool(true),
                    "msg" => o.msg = Some(crate::pytext::to_text(&v)),
                    _ => {
                        o.data.insert(k, v);
                    }
                }
            }
            Ok(o.with("started", 1).with("finished", 1))
        }
    }
}
