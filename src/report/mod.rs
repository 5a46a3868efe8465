//! Report: the only place that writes to the terminal.
//!
//! The executor sends [`Event`]s (play start, task start, a host's result, the recap); the
//! [`Reporter`] hands each to the outputs the command line chose, every one a [`Sink`]:
//! ansible-playbook's text ([`Terminal`]), `ansible`'s ad-hoc lines ([`Adhoc`]), JSON lines
//! ([`JsonLines`]), a JUnit file ([`JUnit`]) and an HTML page ([`HtmlReport`]). Results of
//! `no_log` tasks are never printed.
//!
//! This layer reads nothing of the executor: the events and the values they carry live in
//! [`event`].

mod adhoc;
pub mod event;
mod html;
pub mod json;
mod junit;
mod progress;
mod terminal;

pub use adhoc::Adhoc;
pub use event::Event;
pub use html::{HtmlReport, RunInfo};
pub use json::JsonLines;
pub use junit::JUnit;
pub use terminal::{banner, Terminal, Verbosity};

use std::sync::atomic::{AtomicBool, Ordering};

use indexmap::IndexMap;

use crate::yaml::Loc;
use event::{HostResult, Stats};

/// One output of a run: it is told every event as it happens, and once at the end that the run
/// is over (a file report is written then).
pub trait Sink: Send + Sync {
    fn event(&self, e: &Event<'_>);

    fn finish(&self, _exit_code: i32) {}
}

/// The outputs of a run: each event goes to every sink, in the order they were added.
#[derive(Default)]
pub struct Reporter {
    sinks: Vec<Box<dyn Sink>>,
}

impl Reporter {
    pub fn new() -> Reporter {
        Reporter::default()
    }

    /// Add an output.
    pub fn with(mut self, sink: impl Sink + 'static) -> Reporter {
        self.sinks.push(Box::new(sink));
        self
    }

    pub fn event(&self, e: Event<'_>) {
        for s in &self.sinks {
            s.event(&e);
        }
    }

    /// The run is over, with this exit code.
    pub fn finish(&self, exit_code: i32) {
        for s in &self.sinks {
            s.finish(exit_code);
        }
    }

    // Shorthands for the executor: one event each.

    pub fn play_start(&self, name: &str, playbook: &str, named: bool) {
        self.event(Event::PlayStart { name, playbook, named });
    }

    /// Live progress: a play starts on `total` hosts.
    pub fn progress_play(&self, name: &str, total: usize, tasks: usize) {
        self.event(Event::PlayHosts { name, total, tasks });
    }

    /// Live progress: a host starts a task.
    pub fn progress_task(&self, host: &str, task: &str) {
        self.event(Event::HostTask { host, task });
    }

    /// Live progress: a host is through the play.
    pub fn progress_host_done(&self, host: &str) {
        self.event(Event::HostDone { host });
    }

    pub fn no_hosts(&self) {
        self.event(Event::NoHosts);
    }

    pub fn task_start(&self, name: &str, handler: bool) {
        self.event(Event::TaskStart { name, handler });
    }

    pub fn included(&self, what: &str, hosts: &[String]) {
        self.event(Event::Included { what, hosts });
    }

    pub fn retry(&self, host: &str, task: &str, left: i64) {
        self.event(Event::Retry { host, task, left });
    }

    pub fn host_result(&self, result: &HostResult, loc: Option<&Loc>) {
        self.event(Event::Result { result, loc });
    }

    pub fn message(&self, s: &str) {
        self.event(Event::Message(s));
    }

    /// `-vv` and `-vvv` detail about one host (commands, connections).
    pub fn trace(&self, host: &str, text: &str) {
        self.event(Event::Trace { host, text });
    }

    pub fn recap(&self, stats: &IndexMap<String, Stats>) {
        self.event(Event::Recap(stats));
    }
}

static QUIET_WARNINGS: AtomicBool = AtomicBool::new(false);

/// Print a warning for the person running steward, on stderr.
pub fn warning(msg: &str) {
    if !QUIET_WARNINGS.load(Ordering::Relaxed) {
        eprintln!("[WARNING]: {msg}");
    }
}

pub fn quiet_warnings(q: bool) {
    QUIET_WARNINGS.store(q, Ordering::Relaxed);
}

/// From now on, [`crate::diag::warn`] prints through [`warning`] (the warnings given before
/// are printed now, in order). The command line does this first thing.
pub fn install_warnings() {
    crate::diag::set_warning_sink(warning);
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A sink that notes what it was told, as `name:what`.
    struct Note(&'static str, Arc<Mutex<Vec<String>>>);

    impl Sink for Note {
        fn event(&self, e: &Event<'_>) {
            let what = match e {
                Event::PlayStart { name, .. } => format!("play {name}"),
                Event::Message(m) => format!("message {m}"),
                other => format!("{other:?}"),
            };
            self.1.lock().unwrap().push(format!("{}:{what}", self.0));
        }

        fn finish(&self, exit_code: i32) {
            self.1.lock().unwrap().push(format!("{}:finish {exit_code}", self.0));
        }
    }

    #[test]
    fn every_sink_hears_every_event_in_the_order_added() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let r = Reporter::new().with(Note("a", log.clone())).with(Note("b", log.clone()));
        r.play_start("site", "site.yml", true);
        r.message("hello");
        r.finish(0);
        assert_eq!(*log.lock().unwrap(), ["a:play site", "b:play site", "a:message hello", "b:message hello", "a:finish 0", "b:finish 0"]);
    }

    #[test]
    fn warnings_before_the_sink_are_kept_and_given_first_and_muted_ones_dropped() {
        let got = Arc::new(Mutex::new(Vec::new()));
        crate::diag::warn("report-test: early one");
        crate::diag::warn("report-test: early two");
        // Work done ahead of its time says nothing, before the sink or after it.
        crate::diag::muted(|| crate::diag::warn("report-test: muted early"));
        let g = got.clone();
        crate::diag::set_warning_sink(move |m| g.lock().unwrap().push(m.to_string()));
        crate::diag::muted(|| crate::diag::warn("report-test: muted late"));
        crate::diag::warn("report-test: late");
        let mine: Vec<String> = got.lock().unwrap().iter().filter(|m| m.starts_with("report-test:")).cloned().collect();
        assert_eq!(mine, ["report-test: early one", "report-test: early two", "report-test: late"]);
    }
}
