//! Report: the only place that writes to the terminal.

pub fn warning(msg: &str) {
    eprintln!("[WARNING]: {msg}");
}
