//! Live progress on stderr: for each play, a bar of the tasks done on all its hosts (so that one
//! host's bar moves as its tasks finish), hosts done out of total, failures, elapsed time, and
//! what the active hosts are doing. On a terminal it is drawn with indicatif (and the regular
//! output is printed around it); when stderr is not a terminal (CI logs) it is plain lines,
//! never escape codes. `STEWARD_PROGRESS=off|plain|live` overrides the choice.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How many active hosts get a line of their own.
const SLOTS: usize = 8;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Off,
    Plain,
    Live,
}

impl Mode {
    pub fn detect() -> Mode {
        match std::env::var("STEWARD_PROGRESS").as_deref() {
            Ok("off") => Mode::Off,
            Ok("plain") => Mode::Plain,
            Ok("live") => Mode::Live,
            _ if std::io::IsTerminal::is_terminal(&std::io::stderr()) => Mode::Live,
            _ => Mode::Plain,
        }
    }
}

struct Play {
    name: String,
    total: usize,
    /// Tasks each host is expected to run (at least 1).
    tasks: usize,
    /// Tasks finished per host, at most `tasks - 1` until the host is through the play.
    finished: IndexMap<String, usize>,
    /// Their sum (the bar's position), kept as they change.
    finished_total: usize,
    done: usize,
    failed: usize,
    started: Instant,
    last_plain: Option<Instant>,
    active: IndexMap<String, String>,
    bars: Option<(MultiProgress, ProgressBar, Vec<ProgressBar>)>,
}

pub struct Progress {
    mode: Mode,
    play: Mutex<Option<Play>>,
}

fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}", s / 60, s % 60)
}

impl Progress {
    pub fn new(mode: Mode) -> Progress {
        Progress { mode, play: Mutex::new(None) }
    }

    /// A play starts on `total` hosts, about `tasks` tasks each.
    pub fn play(&self, name: &str, total: usize, tasks: usize) {
        let tasks = tasks.max(1);
        self.end_play();
        if self.mode == Mode::Off || total == 0 {
            return;
        }
        let bars = (self.mode == Mode::Live).then(|| {
            let mp = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
            let head = mp.add(ProgressBar::new((total * tasks) as u64));
            head.set_style(
                ProgressStyle::with_template("{spinner:.cyan} {prefix:.bold} [{bar:30.cyan/blue}] {msg} {elapsed_precise}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            head.set_prefix(format!("PLAY [{name}]"));
            head.set_message(format!("0/{total} hosts done"));
            head.enable_steady_tick(Duration::from_millis(120));
            let slots = (0..SLOTS.min(total))
                .map(|_| {
                    let b = mp.add(ProgressBar::new_spinner());
                    b.set_style(ProgressStyle::with_template("    {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()));
                    b
                })
                .collect();
            (mp, head, slots)
        });
        if let Ok(mut p) = self.play.lock() {
            *p = Some(Play {
                name: name.to_string(),
                total,
                tasks,
                finished: IndexMap::new(),
                finished_total: 0,
                done: 0,
                failed: 0,
                started: Instant::now(),
                last_plain: None,
                active: IndexMap::new(),
                bars,
            });
        }
    }

    /// A host starts a task.
    pub fn task(&self, host: &str, task: &str) {
        let Ok(mut g) = self.play.lock() else { return };
        let Some(p) = g.as_mut() else { return };
        p.active.insert(host.to_string(), task.to_string());
        Self::redraw_slots(p);
    }

    /// A task finished on a host (`failed`: a failure the recap counts).
    pub fn result(&self, host: &str, failed: bool) {
        let Ok(mut g) = self.play.lock() else { return };
        let Some(p) = g.as_mut() else { return };
        p.failed += usize::from(failed);
        let cap = p.tasks - 1;
        let n = p.finished.entry(host.to_string()).or_default();
        if *n < cap {
            *n += 1;
            p.finished_total += 1;
        }
        Self::show(p, false);
    }

    /// A host is through the play: its part of the bar is full.
    pub fn host_done(&self, host: &str) {
        let Ok(mut g) = self.play.lock() else { return };
        let Some(p) = g.as_mut() else { return };
        p.done += 1;
        let before = p.finished.insert(host.to_string(), p.tasks).unwrap_or(0);
        p.finished_total += p.tasks - before;
        p.active.shift_remove(host);
        let last = p.done == p.total;
        Self::show(p, last);
    }

    /// Bring the head line up to date; in plain mode at most one line every two seconds (the
    /// first two seconds into the play), and the last one.
    fn show(p: &mut Play, last: bool) {
        let failed = if p.failed > 0 { format!(", {} failed", p.failed) } else { String::new() };
        let tasks = p.finished_total;
        match &p.bars {
            Some((_, head, _)) => {
                head.set_position(tasks as u64);
                head.set_message(format!("{}/{} hosts done{failed}", p.done, p.total));
                Self::redraw_slots(p);
            }
            None => {
                let due = last || p.last_plain.unwrap_or(p.started).elapsed() >= Duration::from_secs(2);
                if due {
                    p.last_plain = Some(Instant::now());
                    eprintln!(
                        "[progress] PLAY [{}]: {}/{} hosts done, {tasks}/{} tasks{failed}, {} elapsed",
                        p.name,
                        p.done,
                        p.total,
                        p.total * p.tasks,
                        elapsed(p.started.elapsed())
                    );
                }
            }
        }
    }

    fn redraw_slots(p: &mut Play) {
        let Some((_, _, slots)) = &p.bars else { return };
        let n = slots.len();
        let shown: Vec<(&String, &String)> = p.active.iter().take(if p.active.len() > n { n.saturating_sub(1) } else { n }).collect();
        for (i, slot) in slots.iter().enumerate() {
            let text = match shown.get(i) {
                Some((h, t)) => format!("{h:<24} {t}"),
                None if i == shown.len() && p.active.len() > shown.len() => {
                    format!("… and {} more hosts at work", p.active.len() - shown.len())
                }
                None => String::new(),
            };
            slot.set_message(text);
        }
    }

    /// Run `f` (which prints to stdout) with the bars out of the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        let mp = self.play.lock().ok().and_then(|g| g.as_ref().and_then(|p| p.bars.as_ref().map(|b| b.0.clone())));
        match mp {
            Some(mp) => mp.suspend(f),
            None => f(),
        }
    }

    /// The play is over: the bars go away.
    pub fn end_play(&self) {
        let old = self.play.lock().ok().and_then(|mut g| g.take());
        if let Some(Play { bars: Some((mp, head, slots)), .. }) = old {
            for s in slots {
                s.finish_and_clear();
            }
            head.finish_and_clear();
            let _ = mp.clear();
        }
    }
}
