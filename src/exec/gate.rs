//! The gate: when a host may run its next task.
//!
//! Only tasks with a cross-host dependency wait here (run_once, delegation, `hostvars`, meta,
//! any_errors_fatal and max_fail_percentage plays); other tasks [`Gate::pass`] at once, so a
//! host runs ahead of slower ones until it reaches such a task.
//!
//! Every host walks the task tree on its own and asks the gate before each task, giving the
//! task's position in the tree. Under `linear` the gate waits until every host still in the
//! play is waiting, then releases the hosts at the lowest position together (a rescue runs
//! before the next task, handlers before the rest): Ansible's order, without a central task
//! list. Under `free` it releases every host at once. The gate also prints each task's
//! heading once, when the task is released, and under `--step` asks on the terminal first.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{oneshot, watch};

use crate::report::event::HostResult;
use crate::report::Reporter;

/// A run_once task's result, published by the first host of the group for the others.
pub type Shared = Arc<watch::Sender<Option<HostResult>>>;

pub enum Release {
    /// Go on; `true` for the first host of its group (the one a run_once task runs on).
    Run(Shared, bool),
    /// `--step` was told not to run this task: go on to the next.
    Skip,
    Abort,
}

fn shared() -> Shared {
    Arc::new(watch::channel(None).0)
}

struct Waiter {
    order: usize,
    pos: Vec<u32>,
    uid: usize,
    title: String,
    handler: bool,
    tx: oneshot::Sender<Release>,
}

struct Inner {
    active: usize,
    running: usize,
    waiting: Vec<Waiter>,
    aborted: bool,
    last_uid: usize,
}

pub struct Gate {
    inner: Mutex<Inner>,
    linear: bool,
    reporter: Arc<Reporter>,
    /// Called after each step completes under linear; returns true to stop the play.
    check: Box<dyn Fn() -> bool + Send + Sync>,
    /// `--step`: ask before each task while this is set (answering "continue" clears it for
    /// the rest of the run).
    step: Option<Arc<AtomicBool>>,
}

/// What the person at the terminal said to `Perform task: ...?`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    Yes,
    No,
    Continue,
}

/// Ansible's `--step` question, read from stdin (a terminal: `steward run --step` checks).
/// Anything but yes or continue, end of input included, is no.
fn ask_step(reporter: &Reporter, title: &str, handler: bool) -> Answer {
    use std::io::Write as _;
    let kind = if handler { "RUNNING HANDLER" } else { "TASK" };
    let msg = format!("Perform task: {kind}: {title} (N)o/(y)es/(c)ontinue: ");
    eprint!("{msg}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    let answer = match line.trim().to_lowercase().as_str() {
        "y" | "yes" => Answer::Yes,
        "c" | "continue" => Answer::Continue,
        _ => Answer::No,
    };
    // As Ansible: the question is repeated as a banner, whatever the answer.
    reporter.message(&crate::report::banner(msg.trim_end()));
    answer
}

impl Gate {
    pub fn new(hosts: usize, linear: bool, reporter: Arc<Reporter>, check: Box<dyn Fn() -> bool + Send + Sync>) -> Gate {
        Gate {
            inner: Mutex::new(Inner { active: hosts, running: 0, waiting: vec![], aborted: false, last_uid: 0 }),
            linear,
            reporter,
            check,
            step: None,
        }
    }

    /// Ask before each task while `step` is set (`--step`).
    pub fn stepping(mut self, step: Option<Arc<AtomicBool>>) -> Gate {
        self.step = step;
        self
    }

    pub async fn wait(&self, order: usize, pos: Vec<u32>, uid: usize, title: &str, handler: bool) -> Release {
        let (tx, rx) = oneshot::channel();
        {
            let Ok(mut g) = self.inner.lock() else {
                return Release::Abort;
            };
            if g.aborted {
                return Release::Abort;
            }
            g.waiting.push(Waiter { order, pos, uid, title: title.to_string(), handler, tx });
            self.release(&mut g);
        }
        rx.await.unwrap_or(Release::Abort)
    }

    /// A task with no cross-host dependency: the host goes on at once, without waiting for the
    /// others (its heading is printed when the task changes).
    pub fn pass(&self, uid: usize, title: &str, handler: bool) -> Release {
        let Ok(mut g) = self.inner.lock() else { return Release::Abort };
        if g.aborted {
            return Release::Abort;
        }
        if g.last_uid != uid {
            self.reporter.task_start(title, handler);
            g.last_uid = uid;
        }
        g.running += 1;
        Release::Run(shared(), true)
    }

    pub fn done(&self) {
        if let Ok(mut g) = self.inner.lock() {
            g.running = g.running.saturating_sub(1);
            if g.running == 0 && self.linear && !g.aborted && (self.check)() {
                g.aborted = true;
            }
            self.release(&mut g);
        }
    }

    pub fn leave(&self) {
        if let Ok(mut g) = self.inner.lock() {
            g.active = g.active.saturating_sub(1);
            self.release(&mut g);
        }
    }

    /// Stop the play for every host (end_play, any_errors_fatal).
    pub fn abort(&self) {
        if let Ok(mut g) = self.inner.lock() {
            g.aborted = true;
            self.release(&mut g);
        }
    }

    pub fn is_aborted(&self) -> bool {
        self.inner.lock().map(|g| g.aborted).unwrap_or(true)
    }

    fn release(&self, g: &mut Inner) {
        if g.aborted {
            for w in g.waiting.drain(..) {
                let _ = w.tx.send(Release::Abort);
            }
            return;
        }
        if g.waiting.is_empty() {
            return;
        }
        if !self.linear {
            let waiting = std::mem::take(&mut g.waiting);
            for w in waiting {
                if w.uid != g.last_uid {
                    self.reporter.task_start(&w.title, w.handler);
                    g.last_uid = w.uid;
                }
                g.running += 1;
                let _ = w.tx.send(Release::Run(shared(), true));
            }
            return;
        }
        if g.running > 0 || g.waiting.len() < g.active {
            return;
        }
        let min = g.waiting.iter().min_by(|a, b| a.pos.cmp(&b.pos).then(a.order.cmp(&b.order))).map(|w| (w.pos.clone(), w.uid));
        let Some((pos, uid)) = min else { return };
        let (mut group, rest): (Vec<Waiter>, Vec<Waiter>) =
            std::mem::take(&mut g.waiting).into_iter().partition(|w| w.pos == pos && w.uid == uid);
        g.waiting = rest;
        group.sort_by_key(|w| w.order);
        // Every host is waiting here, so nothing else needs the lock while the question is open.
        if let (Some(step), Some(first)) = (&self.step, group.first()) {
            if step.load(Ordering::Relaxed) {
                match ask_step(&self.reporter, &first.title, first.handler) {
                    Answer::Yes => {}
                    Answer::Continue => step.store(false, Ordering::Relaxed),
                    Answer::No => {
                        g.last_uid = first.uid;
                        for w in group {
                            let _ = w.tx.send(Release::Skip);
                        }
                        return;
                    }
                }
            }
        }
        if let Some(first) = group.first() {
            self.reporter.task_start(&first.title, first.handler);
            g.last_uid = first.uid;
        }
        let result = shared();
        g.running += group.len();
        for (i, w) in group.into_iter().enumerate() {
            let _ = w.tx.send(Release::Run(result.clone(), i == 0));
        }
    }
}
