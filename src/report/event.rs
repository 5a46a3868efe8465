//! The events of a run, as the outputs consume them: what the executor tells the report layer
//! (a play starts, a task starts, a host's result, the recap), and the values they carry: what
//! running a task on a host produced ([`HostResult`]) and the per-host counts of the recap
//! ([`Stats`]). The executor builds these; every [`super::Sink`] reads them.

use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::yaml::Loc;

/// A unified diff's two sides, as Ansible's `diff` result carries them.
#[derive(Clone, Debug, Default)]
pub struct FileDiff {
    pub before_header: String,
    pub after_header: String,
    pub before: String,
    pub after: String,
}

/// One thing that happened in a run, sent to every sink of the [`super::Reporter`].
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// A play starts (its banner). `playbook` is the file the play is written in; `named` says
    /// whether the play has a `name:` (an unnamed play is shown by its hosts pattern).
    PlayStart { name: &'a str, playbook: &'a str, named: bool },
    /// A play starts its work on `total` hosts, about `tasks` tasks each (live progress; the
    /// count is what is known before the run: dynamic includes and handlers may add more).
    PlayHosts { name: &'a str, total: usize, tasks: usize },
    /// The play's pattern matched no host.
    NoHosts,
    /// A task (or a handler) starts: its banner, printed once for all its hosts.
    TaskStart { name: &'a str, handler: bool },
    /// A host starts a task (live progress).
    HostTask { host: &'a str, task: &'a str },
    /// A host is through the play (live progress).
    HostDone { host: &'a str },
    /// An include was loaded for these hosts.
    Included { what: &'a str, hosts: &'a [String] },
    /// A task failed on a host and will be tried again (`until`).
    Retry { host: &'a str, task: &'a str, left: i64 },
    /// A task's outcome on a host. `loc` is the task's place, for a failure's origin line.
    Result { result: &'a HostResult, loc: Option<&'a Loc> },
    /// A line of text for the person reading the run (`NO MORE HOSTS LEFT`, a rendered error).
    Message(&'a str),
    /// `-vv` and `-vvv` detail about one host: a command and its output, how the connection was
    /// made.
    Trace { host: &'a str, text: &'a str },
    /// The recap: every host's counts.
    Recap(&'a IndexMap<String, Stats>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    Changed,
    Skipped,
    Failed,
    Unreachable,
}

/// One item of a loop, as reported.
#[derive(Clone, Debug)]
pub struct ItemResult {
    pub label: String,
    pub status: Status,
    pub result: Map<String, Value>,
    pub diffs: Vec<FileDiff>,
}

/// The outcome of one task on one host.
#[derive(Clone, Debug)]
pub struct HostResult {
    pub host: String,
    pub status: Status,
    /// The registered value (what `register:` stores).
    pub result: Map<String, Value>,
    pub items: Vec<ItemResult>,
    pub diffs: Vec<FileDiff>,
    pub ignored: bool,
    /// The failure happened in a block whose rescue will run.
    pub rescued: bool,
    pub no_log: bool,
    pub delegated_to: Option<String>,
    pub is_loop: bool,
    /// `debug`, `assert`: show the result even without -v.
    pub verbose_always: bool,
    pub module: String,
    pub retries_msgs: Vec<String>,
    /// The task's name as shown in its heading.
    pub task: String,
    /// How long the task took on this host, in seconds.
    pub duration: f64,
    /// Where in the playbook the failure is (an argument that did not render), when that is
    /// more precise than the task's own place.
    pub origin: Option<Loc>,
    /// The task's `until` condition, for the message when its retries run out.
    pub until: Option<String>,
}

impl HostResult {
    pub fn new(host: &str, status: Status, result: Map<String, Value>) -> HostResult {
        HostResult {
            host: host.to_string(),
            status,
            result,
            items: vec![],
            diffs: vec![],
            ignored: false,
            rescued: false,
            no_log: false,
            delegated_to: None,
            is_loop: false,
            verbose_always: false,
            module: String::new(),
            retries_msgs: vec![],
            task: String::new(),
            duration: 0.0,
            origin: None,
            until: None,
        }
    }

    /// The status word used by `--output json` and `--junit`.
    pub fn word(&self) -> &'static str {
        match self.status {
            Status::Failed if self.ignored => "ignored",
            Status::Failed if self.rescued => "rescued",
            Status::Ok => "ok",
            Status::Changed => "changed",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
            Status::Unreachable => "unreachable",
        }
    }

    pub fn msg(&self) -> String {
        self.result.get("msg").map(crate::pytext::to_text).unwrap_or_default()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

impl Stats {
    /// Another run's counts for the same host added (the shards of one run).
    pub fn add(&mut self, o: &Stats) {
        self.ok += o.ok;
        self.changed += o.changed;
        self.unreachable += o.unreachable;
        self.failed += o.failed;
        self.skipped += o.skipped;
        self.rescued += o.rescued;
        self.ignored += o.ignored;
    }

    /// How the host did overall: failed (or unreachable), changed, or ok.
    pub fn verdict(&self) -> &'static str {
        if self.failed > 0 || self.unreachable > 0 {
            "failed"
        } else if self.changed > 0 {
            "changed"
        } else {
            "ok"
        }
    }

    /// Count a task result as ansible-playbook counts it.
    pub fn count(&mut self, r: &HostResult) {
        match r.status {
            Status::Ok => self.ok += 1,
            Status::Changed => {
                self.ok += 1;
                self.changed += 1;
            }
            Status::Skipped => self.skipped += 1,
            Status::Unreachable if r.ignored => self.ignored += 1,
            Status::Unreachable => self.unreachable += 1,
            Status::Failed if r.ignored => {
                self.ok += 1;
                self.ignored += 1;
                if r.result.get("changed") == Some(&Value::Bool(true)) {
                    self.changed += 1;
                }
            }
            Status::Failed if r.rescued => self.rescued += 1,
            Status::Failed => self.failed += 1,
        }
    }
}
