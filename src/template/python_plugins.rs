//! Filter, test and lookup plugins written in Python (a role's or the playbook's
//! `filter_plugins/`, `test_plugins/`, `lookup_plugins/`, and collections'), where steward has no
//! native one. They run in one long-lived Python process on the controller (the installed
//! ansible-core loads them with its own plugin loader), started only when a template names a
//! plugin steward does not have. A filter or test found there is added to the template
//! environment under its name, so each is looked up once.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use minijinja::value::{Kwargs, Rest};
use minijinja::{Error, ErrorKind, Value as JValue};
use serde_json::{json, Map, Value};

use super::{to_jinja, to_json};

const BRIDGE: &str = include_str!("python_plugins.py");

/// The plugin kinds and the folder name each has beside a playbook or in a role.
const KINDS: &[(&str, &str)] = &[("filter", "filter_plugins"), ("test", "test_plugins"), ("lookup", "lookup_plugins")];

#[derive(Default)]
struct State {
    /// Plugin folders seen so far (kind, folder), in the order Ansible adds them.
    dirs: Vec<(&'static str, PathBuf)>,
    /// How many of `dirs` the process has been told about.
    sent: usize,
    playbook_dir: Option<PathBuf>,
    process: Option<Process>,
    /// Names asked about already, and the answer.
    known: Vec<(String, String, Found)>,
}

struct Process {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

fn state() -> &'static Mutex<State> {
    static S: OnceLock<Mutex<State>> = OnceLock::new();
    S.get_or_init(Default::default)
}

/// Note the plugin folders of a playbook folder or a role, as Ansible adds them when it loads
/// the playbook or the role. Nothing starts until a template needs a plugin.
pub fn add_dirs_of(dir: &Path) {
    let Ok(mut s) = state().lock() else { return };
    for (kind, sub) in KINDS {
        let d = dir.join(sub);
        if d.is_dir() && !s.dirs.iter().any(|(k, x)| k == kind && *x == d) {
            s.dirs.push((kind, d));
        }
    }
}

/// The playbook's folder, for its `collections/`.
pub fn set_playbook_dir(dir: &Path) {
    if let Ok(mut s) = state().lock() {
        s.playbook_dir.get_or_insert_with(|| dir.to_path_buf());
        drop(s);
        add_dirs_of(dir);
    }
}

/// Whether a Python plugin of this kind could exist for `name` without starting Python: a
/// plugin folder was seen, or the name is a collection's.
fn may_exist(s: &State, kind: &str, name: &str) -> bool {
    name.split('.').count() >= 3 || s.dirs.iter().any(|(k, _)| *k == kind) || (kind == "lookup" && core_lookup(name))
}

/// Whether the controller's ansible-core has a lookup of this name (one steward lacks, such as
/// `ini` or `url`).
fn core_lookup(name: &str) -> bool {
    let short = name.strip_prefix("ansible.builtin.").unwrap_or(name);
    !short.contains('.')
        && crate::ansible_core::install().is_some_and(|i| i.ansible.join("plugins").join("lookup").join(format!("{short}.py")).is_file())
}

impl State {
    fn ask(&mut self, req: Value) -> Result<Value, String> {
        if self.process.is_none() {
            self.process = Some(start()?);
            let roots = crate::ansible_core::collection_roots(self.playbook_dir.as_deref().unwrap_or(Path::new(".")));
            let roots: Vec<String> = roots.iter().map(|p| p.display().to_string()).collect();
            self.send(json!({"op": "init", "collections": roots, "dirs": {}}))?;
        }
        if self.sent < self.dirs.len() {
            let mut dirs: Map<String, Value> = Map::new();
            for (k, d) in &self.dirs[self.sent..] {
                let e = dirs.entry(k.to_string()).or_insert_with(|| json!([]));
                if let Value::Array(a) = e {
                    a.push(json!(d.display().to_string()));
                }
            }
            self.sent = self.dirs.len();
            self.send(json!({"op": "init", "dirs": dirs}))?;
        }
        self.send(req)
    }

    fn send(&mut self, req: Value) -> Result<Value, String> {
        let p = self.process.as_mut().ok_or("the Python plugin process is not running")?;
        let line = serde_json::to_string(&req).map_err(|e| e.to_string())? + "\n";
        let mut answer = String::new();
        let io = p.stdin.write_all(line.as_bytes()).and_then(|_| p.stdin.flush()).and_then(|_| p.stdout.read_line(&mut answer));
        if io.is_err() || answer.is_empty() {
            self.process = None;
            return Err("the Python plugin process stopped (see its error above)".into());
        }
        let v: Value = serde_json::from_str(&answer).map_err(|e| format!("the Python plugin process answered badly: {e}"))?;
        match v.get("error") {
            Some(e) => Err(super::to_text(e)),
            None => Ok(v.get("ok").cloned().unwrap_or(Value::Null)),
        }
    }
}

fn start() -> Result<Process, String> {
    let install = crate::ansible_core::install()
        .ok_or("Python plugins need ansible-core installed on the controller; none was found (install it, or set STEWARD_PYTHON to a Python that has it)")?;
    let mut child = Command::new(&install.python)
        .arg("-c")
        .arg(BRIDGE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", install.python.display()))?;
    let stdin = child.stdin.take().ok_or("no stdin")?;
    let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
    Ok(Process { _child: child, stdin, stdout })
}

/// What the Python side says of a plugin name.
#[derive(Clone, Debug, PartialEq)]
pub enum Found {
    Yes,
    No,
    /// The plugin's file is there but does not load: why.
    Broken(String),
}

/// Whether a Python plugin of `kind` named `name` exists (asked once per name).
pub fn has(kind: &str, name: &str) -> Found {
    let Ok(mut s) = state().lock() else { return Found::No };
    if !may_exist(&s, kind, name) || crate::ansible_core::install().is_none() {
        return Found::No;
    }
    if let Some((_, _, known)) = s.known.iter().find(|(k, n, _)| k == kind && n == name) {
        return known.clone();
    }
    let found = match s.ask(json!({"op": "has", "kind": kind, "name": name})) {
        Ok(Value::Bool(true)) => Found::Yes,
        Ok(_) => Found::No,
        Err(e) => Found::Broken(e),
    };
    s.known.push((kind.to_string(), name.to_string(), found.clone()));
    found
}

fn call(req: Value) -> Result<Value, Error> {
    let mut s = state().lock().map_err(|_| Error::new(ErrorKind::InvalidOperation, "the Python plugin process is unusable"))?;
    s.ask(req).map_err(|m| Error::new(ErrorKind::InvalidOperation, m))
}

fn args_of(args: &[JValue], kwargs: &Kwargs) -> Result<(Vec<Value>, Map<String, Value>), Error> {
    let pos = args.iter().map(to_json).collect::<Result<Vec<_>, _>>()?;
    let mut kw = Map::new();
    for k in kwargs.args() {
        let v: JValue = kwargs.get(k)?;
        kw.insert(k.to_string(), to_json(&v)?);
    }
    Ok((pos, kw))
}

/// A filter that calls the Python one of this name.
pub fn filter(name: String) -> impl Fn(JValue, Rest<JValue>, Kwargs) -> Result<JValue, Error> + Send + Sync + 'static {
    move |value, args, kwargs| {
        let (args, kwargs) = args_of(&args, &kwargs)?;
        let out = call(json!({"op": "filter", "name": name, "value": to_json(&value)?, "args": args, "kwargs": kwargs}))?;
        Ok(to_jinja(&out))
    }
}

/// A test that calls the Python one of this name.
pub fn test(name: String) -> impl Fn(JValue, Rest<JValue>, Kwargs) -> Result<bool, Error> + Send + Sync + 'static {
    move |value, args, kwargs| {
        let (args, kwargs) = args_of(&args, &kwargs)?;
        let out = call(json!({"op": "test", "name": name, "value": to_json(&value)?, "args": args, "kwargs": kwargs}))?;
        Ok(out == json!(true))
    }
}

/// Run a Python lookup plugin.
/// The variables a lookup is given: those lookups read (where files are searched, the
/// inventory's groups, the host), not every variable of the task.
pub const LOOKUP_VARS: &[&str] =
    &["ansible_search_path", "role_path", "playbook_dir", "groups", "inventory_hostname", "inventory_dir", "ansible_play_hosts"];

pub fn lookup(name: &str, terms: Vec<Value>, kwargs: &Map<String, Value>, variables: &Map<String, Value>) -> Result<Vec<Value>, Error> {
    let out = call(json!({"op": "lookup", "name": name, "terms": terms, "kwargs": kwargs, "variables": variables}))?;
    Ok(match out {
        Value::Array(a) => a,
        Value::Null => vec![],
        other => vec![other],
    })
}

/// The name in minijinja's "filter NAME is unknown" / "test NAME is unknown".
pub fn unknown_name(e: &Error) -> Option<(&'static str, String)> {
    let kind = match e.kind() {
        ErrorKind::UnknownFilter => "filter",
        ErrorKind::UnknownTest => "test",
        _ => return None,
    };
    let detail = e.detail()?;
    let name = detail.strip_prefix(kind)?.trim_start().strip_suffix("is unknown")?.trim();
    Some((kind, name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_unknown_name() {
        let e = Error::new(ErrorKind::UnknownFilter, "filter ns.coll.thing is unknown");
        assert_eq!(unknown_name(&e), Some(("filter", "ns.coll.thing".to_string())));
        let e = Error::new(ErrorKind::UnknownTest, "test is_mac is unknown");
        assert_eq!(unknown_name(&e), Some(("test", "is_mac".to_string())));
        assert_eq!(unknown_name(&Error::new(ErrorKind::InvalidOperation, "x")), None);
    }

    #[test]
    fn nothing_starts_without_a_plugin_folder_or_a_collection_name() {
        let s = State::default();
        assert!(!may_exist(&s, "filter", "to_jsn"));
        assert!(may_exist(&s, "filter", "community.general.json_query"));
    }
}
