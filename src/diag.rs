//! Diagnostics: errors that point at the file, line and column of the value that caused them.
//!
//! A [`Diagnostic`] is a value, not a print: the layer that finds a fault builds one, and the
//! report layer renders it (with the offending line and a caret) when it reaches the top. It may
//! point at several places (a cycle of tasks points at each of them), each with its own label.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Where a value came from: file, 1-based line and column, and the length of its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loc {
    pub file: Arc<PathBuf>,
    pub line: u32,
    pub col: u32,
    pub len: u32,
}

impl Loc {
    pub fn new(file: &Path, line: u32, col: u32) -> Loc {
        Loc { file: Arc::new(file.to_path_buf()), line, col, len: 1 }
    }

    /// A location for values that do not come from a file (command line, defaults).
    pub fn none() -> Loc {
        Loc { file: Arc::new(PathBuf::new()), line: 0, col: 0, len: 0 }
    }

    pub fn is_known(&self) -> bool {
        self.line > 0
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
        }
    }
}

fn sources() -> &'static Mutex<HashMap<PathBuf, Arc<str>>> {
    static S: OnceLock<Mutex<HashMap<PathBuf, Arc<str>>>> = OnceLock::new();
    S.get_or_init(Default::default)
}

/// Keep a file's text so that a later diagnostic can quote its lines.
pub fn remember_source(path: &Path, text: &str) {
    if let Ok(mut s) = sources().lock() {
        s.insert(path.to_path_buf(), Arc::from(text));
    }
}

fn source_line(path: &Path, line: u32) -> Option<String> {
    let text = {
        let s = sources().lock().ok()?;
        s.get(path).cloned()
    };
    let text = match text {
        Some(t) => t,
        None => Arc::from(std::fs::read_to_string(path).ok()?.as_str()),
    };
    text.lines().nth(line.checked_sub(1)? as usize).map(str::to_string)
}

/// The lines of a file up to `loc` (two before it), numbered, with a caret under its column,
/// as Ansible shows a run-time error's origin:
///
/// ```text
/// 5   tasks:
/// 6     - copy:
/// 7         content: "{{ d.b }}"
///                    ^ column 18
/// ```
pub fn snippet(loc: &Loc) -> Option<String> {
    let line = source_line(&loc.file, loc.line)?;
    let first = loc.line.saturating_sub(2).max(1);
    let width = loc.line.to_string().len();
    let mut out = String::new();
    for n in first..loc.line {
        if let Some(text) = source_line(&loc.file, n) {
            out += &format!("{n:<width$} {text}\n");
        }
    }
    out += &format!("{:<width$} {line}\n", loc.line);
    out += &format!("{}^ column {}\n", " ".repeat(width + loc.col.max(1) as usize), loc.col);
    Some(out)
}

/// Where warnings go: a printer that the report layer installs when the program starts
/// ([`set_warning_sink`]). Warnings given before it is installed are kept, and handed to it, in
/// order, when it comes.
type WarningSink = Box<dyn Fn(&str) + Send + Sync>;

struct Warnings {
    sink: std::sync::RwLock<Option<WarningSink>>,
    pending: Mutex<Vec<String>>,
}

fn warnings() -> &'static Warnings {
    static W: OnceLock<Warnings> = OnceLock::new();
    W.get_or_init(|| Warnings { sink: std::sync::RwLock::new(None), pending: Mutex::new(Vec::new()) })
}

/// Send every warning to `sink` from now on, after the ones given so far.
pub fn set_warning_sink(sink: impl Fn(&str) + Send + Sync + 'static) {
    let w = warnings();
    let mut slot = w.sink.write().unwrap_or_else(|e| e.into_inner());
    let pending = std::mem::take(&mut *w.pending.lock().unwrap_or_else(|e| e.into_inner()));
    for msg in &pending {
        sink(msg);
    }
    *slot = Some(Box::new(sink));
}

thread_local! {
    static MUTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `f`'s result, any warning it gives dropped: for work done ahead of its time (a task's
/// arguments rendered for batched probes), which says what it has to say when it runs.
pub fn muted<T>(f: impl FnOnce() -> T) -> T {
    let before = MUTED.with(|m| m.replace(true));
    let out = f();
    MUTED.with(|m| m.set(before));
    out
}

/// A warning for the person running steward, printed by the sink the report layer installed.
pub fn warn(msg: &str) {
    if MUTED.with(|m| m.get()) {
        return;
    }
    let w = warnings();
    let slot = w.sink.read().unwrap_or_else(|e| e.into_inner());
    match slot.as_ref() {
        Some(sink) => sink(msg),
        None => w.pending.lock().unwrap_or_else(|e| e.into_inner()).push(msg.to_string()),
    }
}

/// One place a diagnostic points at: a file, line and column (and length), and what to say
/// there.
#[derive(Clone, Debug)]
pub struct Span {
    pub loc: Loc,
    pub label: Box<str>,
}

#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub message: String,
    /// The places of the fault, the main one first; rendered one after the other, each with its
    /// source line, as rustc prints an error that spans several places.
    pub spans: Vec<Span>,
    pub help: Vec<String>,
    pub notes: Vec<String>,
    /// A fault Ansible would only meet when the task runs (an unknown module, a bad argument):
    /// in a task that may never run (under `when`, in a rescue), it fails that task at run time
    /// instead of refusing the playbook.
    pub deferrable: bool,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Diagnostic {
        Diagnostic { message: message.into(), spans: vec![], help: vec![], notes: vec![], deferrable: false }
    }

    /// Point at one more place. A place whose line is unknown only stands in until a known one
    /// comes: it replaces nothing and adds nothing once the diagnostic has a known place.
    pub fn at(mut self, loc: Loc, label: impl Into<String>) -> Diagnostic {
        let span = Span { loc, label: label.into().into_boxed_str() };
        if span.loc.is_known() {
            self.spans.retain(|s| s.loc.is_known());
            self.spans.push(span);
        } else if self.spans.is_empty() {
            self.spans.push(span);
        } else if let Some(last) = self.spans.last_mut().filter(|s| !s.loc.is_known()) {
            last.label = span.label;
        }
        self
    }

    /// The main place of the fault (the first one given).
    pub fn loc(&self) -> Option<&Loc> {
        self.spans.first().map(|s| &s.loc)
    }

    pub fn deferrable(mut self) -> Diagnostic {
        self.deferrable = true;
        self
    }

    pub fn help(mut self, h: impl Into<String>) -> Diagnostic {
        self.help.push(h.into());
        self
    }

    pub fn note(mut self, n: impl Into<String>) -> Diagnostic {
        self.notes.push(n.into());
        self
    }

    /// The message for a task that fails at run time with this fault (a dynamic include's):
    /// one line with the place, as a task failure's `msg` carries it.
    pub fn runtime_message(&self) -> String {
        match self.loc() {
            Some(loc) if loc.is_known() => format!("{} ({}:{}:{})", self.message, relative(&loc.file), loc.line, loc.col),
            _ => self.message.clone(),
        }
    }

    /// Render as text: the message, then each place with its source line and a caret under the
    /// fault (`-->` before the main place, `:::` before the others), then notes and help.
    pub fn render(&self) -> String {
        let mut out = format!("error: {}\n", self.message);
        // One gutter for all the places, as wide as the longest line number.
        let width = self.spans.iter().filter(|s| s.loc.is_known()).map(|s| s.loc.line.to_string().len()).max().unwrap_or(1);
        let pad = " ".repeat(width);
        for (i, span) in self.spans.iter().enumerate() {
            let loc = &span.loc;
            let arrow = if i == 0 { "-->" } else { ":::" };
            if loc.is_known() {
                if i > 0 {
                    out += &format!("{pad} |\n");
                }
                out += &format!("{pad}{arrow} {}:{}:{}\n", relative(&loc.file), loc.line, loc.col);
                if let Some(text) = source_line(&loc.file, loc.line) {
                    let text = text.replace('\t', " ");
                    let col = (loc.col.max(1) - 1) as usize;
                    let width = text.chars().count().saturating_sub(col).max(1);
                    let len = (loc.len as usize).clamp(1, width);
                    out += &format!(
                        "{pad} |\n{:<w$} | {text}\n{pad} | {}{} {}\n",
                        loc.line,
                        " ".repeat(col),
                        "^".repeat(len),
                        span.label,
                        w = pad.len()
                    );
                }
            } else if !loc.file.as_os_str().is_empty() {
                out += &format!("  {arrow} {}\n", relative(&loc.file));
            }
        }
        for n in &self.notes {
            out += &format!("   = note: {n}\n");
        }
        for h in &self.help {
            out += &format!("   = help: {h}\n");
        }
        out
    }
}

/// Paths inside the current directory are shown relative to it, as people typed them.
pub fn relative(p: &Path) -> String {
    if let Ok(cwd) = std::env::current_dir() {
        if let Ok(r) = p.strip_prefix(&cwd) {
            return r.display().to_string();
        }
    }
    p.display().to_string()
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for Diagnostic {}

/// "did you mean" by edit distance, as people misspell: only close candidates are offered.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = strsim::damerau_levenshtein(word, c);
        let limit = (word.len().max(c.len()) / 3).max(1);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(file: &Path, line: u32, col: u32, len: u32) -> Loc {
        Loc { file: Arc::new(file.to_path_buf()), line, col, len }
    }

    #[test]
    fn one_span_renders_as_before() {
        let file = Path::new("/nonexistent/steward-diag-one.yml");
        remember_source(file, "- hosts: all\n  taks: []\n");
        let d = Diagnostic::new("unknown play keyword `taks`").at(loc(file, 2, 3, 4), "here").help("did you mean `tasks`?");
        assert_eq!(
            d.render(),
            "error: unknown play keyword `taks`\n --> /nonexistent/steward-diag-one.yml:2:3\n  |\n2 |   taks: []\n  |   ^^^^ here\n   = help: did you mean `tasks`?\n"
        );
        assert_eq!(d.runtime_message(), "unknown play keyword `taks` (/nonexistent/steward-diag-one.yml:2:3)");
    }

    #[test]
    fn several_spans_render_one_after_the_other_in_one_gutter() {
        let file = Path::new("/nonexistent/steward-diag-many.yml");
        let text: String = (1..=12).map(|i| format!("line{i}\n")).collect();
        remember_source(file, &text);
        let d = Diagnostic::new("m").at(loc(file, 3, 1, 5), "first").at(loc(file, 12, 2, 2), "second");
        assert_eq!(d.spans.len(), 2);
        assert_eq!(
            d.render(),
            "error: m\n  --> /nonexistent/steward-diag-many.yml:3:1\n   |\n3  | line3\n   | ^^^^^ first\n   |\n  ::: /nonexistent/steward-diag-many.yml:12:2\n   |\n12 | line12\n   |  ^^ second\n"
        );
    }

    #[test]
    fn an_unknown_place_gives_way_to_a_known_one() {
        let file = Path::new("/nonexistent/steward-diag-unknown.yml");
        let d = Diagnostic::new("m").at(Loc::new(file, 0, 0), "somewhere").at(loc(file, 1, 1, 1), "here");
        assert_eq!(d.spans.len(), 1);
        assert_eq!(d.loc().map(|l| l.line), Some(1));
        let d = d.at(Loc::new(file, 0, 0), "anywhere");
        assert_eq!(d.spans.len(), 1, "an unknown place adds nothing to a known one");
    }

    #[test]
    fn suggests_close_words() {
        assert_eq!(suggest("desst", ["dest", "src", "mode"]), Some("dest"));
        assert_eq!(suggest("zzzz", ["dest", "src"]), None);
    }
}
