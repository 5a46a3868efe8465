//! Probes of several paths in one round trip, kept until the host may have changed.
//!
//! Before a file task asks about its path, the tasks after it whose paths are already known
//! (rendered with the host's variables as they are now) are asked about in the same script:
//! one `stat` for all of them, one `sha1sum`, one `readlink`, instead of one of each per task.
//! The answers are kept per connection and serve those tasks' own probes, as long as nothing
//! else ran on the host: every other command, transfer or write through any connection to the
//! same address drops them all (two inventory names for one machine share what they see), and
//! so does anything run on the controller (local, docker and chroot tasks); while such a
//! command runs (a background job's), nothing is answered or kept. An answer serves for
//! [`MAX_AGE`] at most: the host's own processes may change things too. What another machine
//! changes on a filesystem it shares with the host is not seen until then.
//! The script's answer for a path is the one [`super::stat::probe_script`] would give, so a
//! task sees the same thing either way.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::stat::{parse_probe, Probe, STAT_FMT};
use crate::pytext::shell_quote as q;

/// One path's probe, as a module asks for it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProbeKey {
    pub path: String,
    /// The digest to take of a regular file (`sha1`, `md5`, ...).
    pub sum: Option<String>,
    /// The content of a regular file.
    pub content: bool,
    /// Where a link really leads (`readlink -m`).
    pub real: bool,
}

/// The most paths one batch asks about.
pub const BATCH_MAX: usize = 32;

/// How long an answer serves: the host's own processes (a service a task started) may change
/// it meanwhile, which no command of ours would tell.
pub const MAX_AGE: std::time::Duration = std::time::Duration::from_secs(2);

/// An answer: the generation and time it was taken at, and the probe.
type Seen = (u64, std::time::Instant, Probe);

/// What every connection to one address shares.
#[derive(Default)]
struct Shared {
    /// Moves at the start and at the end of every change.
    generation: AtomicU64,
    /// Changes running now (a background job's command, a task beside this one).
    busy: AtomicUsize,
}

/// What a connection has seen of its host since anything last ran there.
#[derive(Default)]
pub struct ProbeCache {
    shared: Arc<Shared>,
    /// By the context the probe runs in (become and environment) and the probe: the
    /// generation and time it was taken at, and the answer.
    seen: Mutex<HashMap<(String, ProbeKey), Seen>>,
    /// How many of the next tasks' probes a batch adds: halved each time a batch was no
    /// use (every task changes the host, as on a first run, and the answers are dropped
    /// unread; each costs the host processes), doubled when one answered a later task.
    window: AtomicUsize,
    /// Answers given from the last batch.
    hits: AtomicUsize,
    /// The probes asked for since the last change: the task that asked them has its answers,
    /// so the batch after its change leaves them out.
    asked: Mutex<Vec<(String, ProbeKey)>>,
}

/// Each address's shared state, by address.
fn registry() -> &'static Mutex<HashMap<String, Arc<Shared>>> {
    static BY_ADDRESS: OnceLock<Mutex<HashMap<String, Arc<Shared>>>> = OnceLock::new();
    BY_ADDRESS.get_or_init(Default::default)
}

/// Something runs on the controller (a local, docker or chroot task): it may change what any
/// host shows (a folder shared with it, a loopback host), so nothing seen anywhere holds while
/// it runs or after.
pub fn changing_everywhere() -> Changing {
    let all: Vec<Arc<Shared>> = registry().lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();
    Changing::start(all)
}

/// A change in progress ([`ProbeCache::changing`]): no answer is given or kept until it ends,
/// and none from before it holds after.
pub struct Changing(Vec<Arc<Shared>>);

impl Changing {
    fn start(on: Vec<Arc<Shared>>) -> Changing {
        for s in &on {
            s.busy.fetch_add(1, Ordering::SeqCst);
            s.generation.fetch_add(1, Ordering::SeqCst);
        }
        Changing(on)
    }
}

impl Drop for Changing {
    fn drop(&mut self) {
        for s in &self.0 {
            s.generation.fetch_add(1, Ordering::SeqCst);
            s.busy.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl ProbeCache {
    /// A cache whose answers any command through a connection to `address` invalidates.
    pub fn for_address(address: &str) -> ProbeCache {
        let shared = registry().lock().unwrap_or_else(|e| e.into_inner()).entry(address.to_string()).or_default().clone();
        ProbeCache {
            shared,
            seen: Mutex::default(),
            window: AtomicUsize::new(BATCH_MAX / 2),
            hits: AtomicUsize::new(0),
            asked: Mutex::default(),
        }
    }

    /// A task asked for this probe.
    pub fn asked(&self, context: &str, key: &ProbeKey) {
        self.asked.lock().unwrap_or_else(|e| e.into_inner()).push((context.to_string(), key.clone()));
    }

    /// The probes asked for since the last call.
    pub fn take_asked(&self) -> Vec<(String, ProbeKey)> {
        std::mem::take(&mut *self.asked.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// How many probes of later tasks the next batch may add.
    pub fn window(&self) -> usize {
        self.window.load(Ordering::Relaxed)
    }

    /// Something that may change the host starts; it ends when the guard is dropped.
    pub fn changing(&self) -> Changing {
        // What was seen is of no more use (and a thousand hosts' worth of it is memory).
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clear();
        Changing::start(vec![self.shared.clone()])
    }

    pub fn generation(&self) -> u64 {
        self.shared.generation.load(Ordering::SeqCst)
    }

    fn quiet(&self) -> bool {
        self.shared.busy.load(Ordering::SeqCst) == 0
    }

    pub fn get(&self, context: &str, key: &ProbeKey) -> Option<Probe> {
        let g = self.generation();
        if !self.quiet() {
            return None;
        }
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let hit = seen
            .get(&(context.to_string(), key.clone()))
            .filter(|(at, when, _)| *at == g && when.elapsed() < MAX_AGE)
            .map(|(_, _, p)| p.clone());
        if hit.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    /// Keep a batch's answers, taken by the command (a change: it moves the generation twice)
    /// that started when the generation was `before`. Anything else that ran meanwhile, or
    /// still runs, makes them doubtful: they are dropped.
    pub fn store(&self, before: u64, context: &str, answers: Vec<(ProbeKey, Probe)>) {
        // Whether the batch before this one served anything decides this one's successor.
        let w = self.window();
        let w = if self.hits.swap(0, Ordering::Relaxed) > 0 { (w * 2).clamp(1, BATCH_MAX) } else { w / 2 };
        self.window.store(w, Ordering::Relaxed);
        let g = before + 2;
        if self.generation() != g || !self.quiet() {
            return;
        }
        let now = std::time::Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.retain(|_, (at, _, _)| *at == g);
        for (k, p) in answers {
            seen.insert((context.to_string(), k), (g, now, p));
        }
    }
}

/// A script that probes every key; [`parse_batch`] reads its output. `mark` separates the
/// parts (random, so no file's content holds it).
pub fn batch_script(keys: &[ProbeKey], mark: &str) -> String {
    let mut s = String::new();
    for k in keys {
        let p = q(&k.path);
        s += &format!(
            "printf '%s\\n' {mark}\np={p}\nif [ -d {} ]; then echo PDIR; fi\nif [ -e \"$p\" ] || [ -L \"$p\" ]; then\n echo E\n if [ -L \"$p\" ]; then echo L; if [ -e \"$p\" ]; then echo LE; fi; fi\n printf 'ACCESS '; if [ -r \"$p\" ]; then printf r; fi; if [ -w \"$p\" ]; then printf w; fi; if [ -x \"$p\" ]; then printf x; fi; echo\n",
            q(&parent(&k.path))
        );
        if k.sum.is_some() {
            s += " if [ -f \"$p\" ] && [ -r \"$p\" ]; then echo F; fi\n";
        }
        if k.content {
            s += " if [ -f \"$p\" ] && [ -r \"$p\" ]; then printf 'CONTENT\\n'; cat -- \"$p\"; fi\n";
        }
        s += "else echo ABSENT; fi\n";
    }
    s += &format!("printf '%s\\n' {mark}\n");
    // Then one command for each kind of answer, over all the paths that need it, each
    // printing a line per path in the order of the keys.
    let all: Vec<&ProbeKey> = keys.iter().collect();
    s += &phase(mark, "S", &all, "[ -e \"$p\" ] || [ -L \"$p\" ]", &format!("stat -c '{STAT_FMT}' -- \"$@\""));
    s += &phase(mark, "T", &all, "[ -L \"$p\" ] && [ -e \"$p\" ]", &format!("stat -L -c '{STAT_FMT}' -- \"$@\""));
    s += &phase(mark, "K", &all, "[ -L \"$p\" ]", "readlink -- \"$@\"");
    let real: Vec<&ProbeKey> = keys.iter().filter(|k| k.real).collect();
    s += &phase(mark, "R", &real, "[ -L \"$p\" ]", "readlink -m -- \"$@\"");
    for algo in algos(keys) {
        let these: Vec<&ProbeKey> = keys.iter().filter(|k| k.sum.as_deref() == Some(algo)).collect();
        s += &phase(mark, &format!("H{algo}"), &these, "[ -f \"$p\" ] && [ -r \"$p\" ]", &format!("{algo}sum -- \"$@\""));
    }
    s
}

/// A line `MARK-LABEL`, then `cmd` run once over those of `keys` for which `test` holds.
fn phase(mark: &str, label: &str, keys: &[&ProbeKey], test: &str, cmd: &str) -> String {
    if keys.is_empty() {
        return String::new();
    }
    let paths: Vec<String> = keys.iter().map(|k| q(&k.path)).collect();
    format!(
        "echo {mark}-{label}\nset --\nfor p in {}; do if {test}; then set -- \"$@\" \"$p\"; fi; done\nif [ $# -gt 0 ]; then {cmd}; fi\n",
        paths.join(" ")
    )
}

fn algos(keys: &[ProbeKey]) -> Vec<&str> {
    let mut v: Vec<&str> = keys.iter().filter_map(|k| k.sum.as_deref()).collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn parent(path: &str) -> String {
    match path.trim_end_matches('/').rfind('/') {
        Some(0) => "/".to_string(),
        Some(i) => path[..i].to_string(),
        None => ".".to_string(),
    }
}

/// Each key's probe from [`batch_script`]'s output, or `None` when the output does not add
/// up (a path changed between two commands of the script, a tool without an option): the
/// caller then asks about its own path alone.
pub fn parse_batch(keys: &[ProbeKey], out: &[u8], mark: &str) -> Option<Vec<Probe>> {
    let parts = split(out, mark.as_bytes());
    // Anything before the first mark, a part per key, then the phases.
    if parts.len() != keys.len() + 2 {
        return None;
    }
    let sections = &parts[1..=keys.len()];
    let phases = String::from_utf8_lossy(parts[keys.len() + 1]).into_owned();
    let mut lines: HashMap<&str, std::vec::IntoIter<&str>> = HashMap::new();
    let mut label = "";
    let mut current: Vec<&str> = Vec::new();
    let prefix = format!("{mark}-");
    for l in phases.lines() {
        if let Some(name) = l.strip_prefix(prefix.as_str()) {
            lines.insert(label, std::mem::take(&mut current).into_iter());
            label = name;
        } else {
            current.push(l);
        }
    }
    lines.insert(label, current.into_iter());
    let mut next = |label: &str| lines.get_mut(label).and_then(Iterator::next).map(str::to_string);
    let mut probes = Vec::with_capacity(keys.len());
    for (k, sec) in keys.iter().zip(sections) {
        let sec: &[u8] = sec;
        let (head, content) = match find(sec, b"CONTENT\n") {
            Some(i) => (&sec[..i], Some(&sec[i + 8..])),
            None => (sec, None),
        };
        let head = String::from_utf8_lossy(head);
        let flags: Vec<&str> = head.lines().collect();
        let has = |f: &str| flags.contains(&f);
        let mut text = String::new();
        if has("PDIR") {
            text += "PDIR\n";
        }
        if has("E") {
            text += &format!("STAT {}\n", next("S")?);
            if has("L") {
                text += &format!("LINK {}\n", next("K")?);
                if has("LE") {
                    text += &format!("STATL {}\n", next("T")?);
                }
                if k.real {
                    text += &format!("REAL {}\n", next("R")?);
                }
            }
            if let Some(a) = flags.iter().find_map(|l| l.strip_prefix("ACCESS ")) {
                text += &format!("ACCESS {a}\n");
            }
            if has("F") {
                let algo = k.sum.as_deref()?;
                let line = next(&format!("H{algo}"))?;
                text += &format!("SUM {}\n", line.trim_start_matches('\\'));
            }
        }
        let mut bytes = text.into_bytes();
        if let Some(c) = content {
            bytes.extend_from_slice(b"CONTENT\n");
            bytes.extend_from_slice(c);
        }
        probes.push(parse_probe(&bytes));
    }
    // Every answer used, none missing.
    if lines.values_mut().any(|it| it.next().is_some()) {
        return None;
    }
    Some(probes)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `out` cut at every `mark` followed by a newline.
fn split<'a>(out: &'a [u8], mark: &[u8]) -> Vec<&'a [u8]> {
    let mut sep = mark.to_vec();
    sep.push(b'\n');
    let mut parts = Vec::new();
    let mut rest = out;
    while let Some(i) = find(rest, &sep) {
        parts.push(&rest[..i]);
        rest = &rest[i + sep.len()..];
    }
    parts.push(rest);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::stat::probe_script;

    /// What one shell prints for a script.
    fn sh(script: &str) -> Vec<u8> {
        std::process::Command::new("/bin/sh").arg("-c").arg(script).output().unwrap().stdout
    }

    /// Answers hold until something runs: through a connection to the same address (another
    /// inventory name for it), or on the controller; not through another address.
    #[test]
    fn what_drops_the_answers() {
        let key = ProbeKey { path: "/etc/x".into(), sum: None, content: false, real: false };
        let answer = || vec![(key.clone(), Probe::default())];
        let (a, alias, other) =
            (ProbeCache::for_address("ssh:a-test:22"), ProbeCache::for_address("ssh:a-test:22"), ProbeCache::for_address("ssh:b-test:22"));
        // A batch is a command like any other: a change from start to end.
        let keep = |c: &ProbeCache| {
            let g = c.generation();
            drop(c.changing());
            c.store(g, "ctx", answer());
        };
        keep(&a);
        assert!(a.get("ctx", &key).is_some() && a.get("other context", &key).is_none());
        drop(other.changing());
        assert!(a.get("ctx", &key).is_some(), "another address changes nothing here");
        drop(alias.changing());
        assert!(a.get("ctx", &key).is_none(), "a command through the alias drops them");
        keep(&a);
        drop(changing_everywhere());
        assert!(a.get("ctx", &key).is_none(), "a command on the controller drops them");
        // While another command runs (a background job), nothing is given or kept.
        keep(&a);
        let job = alias.changing();
        assert!(a.get("ctx", &key).is_none(), "not while something runs");
        keep(&a);
        drop(job);
        assert!(a.get("ctx", &key).is_none(), "nor what was seen while it ran");
        // A batch that something else overtook is not kept.
        let g = a.generation();
        drop(a.changing());
        drop(alias.changing());
        a.store(g, "ctx", answer());
        assert!(a.get("ctx", &key).is_none());
    }

    /// Each path's answer from a batch is the one its own probe gives, whatever is there:
    /// files (with digest and content), folders, links (to something, dangling, to a
    /// folder), nothing, and odd names.
    #[test]
    fn a_batch_answers_as_single_probes_do() {
        let d = std::env::temp_dir().join(format!("steward-probes-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("dir")).unwrap();
        std::fs::write(d.join("file"), b"a\nCONTENT\nno newline at the end").unwrap();
        std::fs::write(d.join("odd name 'quoted'\\"), b"x").unwrap();
        std::os::unix::fs::symlink(d.join("file"), d.join("link")).unwrap();
        std::os::unix::fs::symlink("missing", d.join("dangling")).unwrap();
        std::os::unix::fs::symlink(d.join("dir"), d.join("dirlink")).unwrap();
        let path = |n: &str| d.join(n).display().to_string();
        let mut keys = Vec::new();
        for n in ["file", "dir", "link", "dangling", "dirlink", "absent", "odd name 'quoted'\\", "dir/absent/deeper"] {
            for (sum, content, real) in [(None, false, false), (Some("sha1"), false, false), (Some("md5"), true, false), (None, true, true)]
            {
                keys.push(ProbeKey { path: path(n), sum: sum.map(str::to_string), content, real });
            }
        }
        let mark = "STEWARD-PROBE-test";
        let got = parse_batch(&keys, &sh(&batch_script(&keys, mark)), mark).expect("the batch adds up");
        for (k, p) in keys.iter().zip(&got) {
            // The content comes last in a single probe's answer, so the link's end goes first.
            let mut single = String::new();
            if k.real {
                single = format!("if [ -L {0} ]; then printf 'REAL %s\\n' \"$(readlink -m -- {0})\"; fi\n", q(&k.path));
            }
            single += &probe_script(&k.path, k.sum.as_deref(), k.content);
            let want = parse_probe(&sh(&single));
            assert_eq!(format!("{p:?}"), format!("{want:?}"), "{k:?}");
        }
        // A path that changes between the script's commands makes the batch not add up.
        let cut = batch_script(&keys[..1], mark).replacen("echo E\n", "echo E\n rm -f \"$p\"\n", 1);
        std::fs::write(d.join("file"), b"again").unwrap();
        assert!(parse_batch(&keys[..1], &sh(&cut), mark).is_none());
        let _ = std::fs::remove_dir_all(&d);
    }
}
