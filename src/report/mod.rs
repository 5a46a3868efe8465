//! Report: the only place that writes to the terminal.
//!
//! The executor sends events (play start, task start, a host's result, the recap); this module
//! turns them into ansible-playbook's familiar output. Results of `no_log` tasks are never
//! printed.

mod html;
mod progress;
mod terminal;

pub use terminal::{Reporter, Verbosity};

use std::sync::atomic::{AtomicBool, Ordering};

static QUIET_WARNINGS: AtomicBool = AtomicBool::new(false);

pub fn warning(msg: &str) {
    if !QUIET_WARNINGS.load(Ordering::Relaxed) {
        eprintln!("[WARNING]: {msg}");
    }
}

pub fn quiet_warnings(q: bool) {
    QUIET_WARNINGS.store(q, Ordering::Relaxed);
}
