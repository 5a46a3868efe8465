//! Lookup plugins. `lookup()`, `query()`/`q()` and `with_<name>:` loops all come here: each
//! lookup is one function in [`LOOKUPS`] that takes the terms and keyword options and gives a
//! list, and this file shapes that list as Ansible does for the way it was called (`lookup`
//! joins strings with commas and unwraps a single value unless `wantlist=True`; `query` and
//! loops keep the list). A failing lookup says `The lookup plugin 'NAME' failed: ...`, or gives
//! nothing with `errors='ignore'`/`'warn'`.
//!
//! Relative file names are searched as Ansible searches them ([`file_candidates`]): the task's
//! `ansible_search_path` (its role, then the folder of its task file), each with the kind's
//! folder (`files/`, `templates/`, `vars/`) first, then the playbook's folder.

mod config;
mod csvfile;
mod files;
mod first_found;
mod lists;
mod password;
mod pipe;
mod sequence;
mod template;
mod vars;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::value::{Kwargs, Rest};
use minijinja::{Environment, Error, ErrorKind, State, Value as JValue};
use serde_json::{Map, Value};

use super::{to_jinja, to_json, to_text, Scope};

/// What a lookup is handed: its terms (positional arguments, or a loop's list) and its keyword
/// options; it gives the list of results.
type Run = fn(&Ctx, Vec<Value>, &Map<String, Value>) -> Result<Vec<Value>, Error>;

/// Every lookup steward has, under its short name (`ansible.builtin.NAME` is the same).
const LOOKUPS: &[(&str, Run)] = &[
    ("cartesian", lists::nested),
    ("config", config::run),
    ("csvfile", csvfile::run),
    ("dict", lists::dict),
    ("env", vars::env),
    ("file", files::file),
    ("fileglob", files::fileglob),
    ("first_found", first_found::run),
    ("flattened", lists::flattened),
    ("indexed_items", lists::indexed_items),
    ("items", lists::items),
    ("lines", pipe::lines),
    ("list", lists::list),
    ("nested", lists::nested),
    ("password", password::run),
    ("pipe", pipe::pipe),
    ("random_choice", lists::random_choice),
    ("sequence", sequence::run),
    ("subelements", lists::subelements),
    ("template", template::run),
    ("together", lists::together),
    ("varnames", vars::varnames),
    ("vars", vars::vars),
];

fn short(name: &str) -> &str {
    name.strip_prefix("ansible.builtin.").or_else(|| name.strip_prefix("community.general.")).unwrap_or(name)
}

fn find_lookup(name: &str) -> Option<Run> {
    let name = short(name);
    LOOKUPS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// Whether `with_<name>` names a lookup steward has.
pub fn exists(name: &str) -> bool {
    find_lookup(name).is_some() || super::python_plugins::has("lookup", name) != super::python_plugins::Found::No
}

/// The names of the lookups, for suggestions.
pub fn names() -> impl Iterator<Item = &'static str> {
    LOOKUPS.iter().map(|(n, _)| *n)
}

pub(crate) fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

pub fn register(env: &mut Environment<'static>) {
    env.add_function("lookup", lookup);
    env.add_function("query", query);
    env.add_function("q", query);
}

/// What a lookup can see: the task's variables, and how it was called.
pub struct Ctx<'a> {
    pub scope: Arc<Scope>,
    /// The task's action when the lookup runs as `with_<name>:` (first_found picks its folder
    /// from it).
    pub with_action: Option<&'a str>,
}

impl Ctx<'_> {
    /// A variable's value, rendered; `None` when it is not defined.
    pub fn var(&self, name: &str) -> Result<Option<Value>, Error> {
        if matches!(name, "hostvars" | "vars") && self.scope.raw(name).is_none() {
            let v = JValue::from_dyn_object(self.scope.clone()).get_attr(name)?;
            return (!v.is_undefined()).then(|| to_json(&v)).transpose();
        }
        self.scope.resolve(name)
    }

    fn str_var(&self, name: &str) -> Option<String> {
        self.var(name).ok().flatten().and_then(|v| v.as_str().map(str::to_string))
    }

    pub fn playbook_dir(&self) -> Option<String> {
        self.str_var("playbook_dir")
    }

    pub fn search_path(&self) -> Vec<String> {
        search_path_of(|n| self.var(n).ok().flatten())
    }

    /// A file named by a lookup term: absolute as it is, relative where Ansible looks for it.
    pub fn find(&self, sub: &str, name: &str) -> Option<PathBuf> {
        let p = Path::new(name);
        if p.is_absolute() {
            return p.exists().then(|| p.to_path_buf());
        }
        if let Some(rest) = name.strip_prefix("~/") {
            let home = std::env::var("HOME").unwrap_or_default();
            let p = Path::new(&home).join(rest);
            return p.exists().then_some(p);
        }
        file_candidates(&self.search_path(), self.playbook_dir().as_deref(), sub, name)
            .into_iter()
            .find(|c| c.exists())
            .or_else(|| p.exists().then(|| p.to_path_buf()))
    }
}

/// The scope of the template that calls a lookup.
fn scope_of(state: &State) -> Arc<Scope> {
    state.lookup("vars").and_then(|v| v.downcast_object::<Scope>()).unwrap_or_else(|| Scope::new(vec![], None))
}

/// The keyword arguments of a call, as data (every one is read, so minijinja does not refuse
/// them as unused).
fn options(kw: &Kwargs) -> Result<Map<String, Value>, Error> {
    let mut out = Map::new();
    for k in kw.args() {
        let v: JValue = kw.get(k)?;
        out.insert(k.to_string(), to_json(&v)?);
    }
    Ok(out)
}

fn positional(terms: &[JValue]) -> Result<Vec<Value>, Error> {
    terms.iter().map(to_json).collect()
}

/// Run a lookup by name, its failure worded as Ansible words it.
fn run(ctx: &Ctx, name: &str, terms: Vec<Value>, opts: &Map<String, Value>) -> Result<Vec<Value>, Error> {
    let Some(f) = find_lookup(name) else {
        match super::python_plugins::has("lookup", name) {
            super::python_plugins::Found::Yes => {
                let mut vars = Map::new();
                for v in super::python_plugins::LOOKUP_VARS {
                    if let Ok(Some(x)) = ctx.var(v) {
                        vars.insert(v.to_string(), x);
                    }
                }
                return super::python_plugins::lookup(name, terms, opts, &vars)
                    .map_err(|e| err(format!("The lookup plugin '{name}' failed: {}", e.detail().unwrap_or("unknown error"))));
            }
            super::python_plugins::Found::Broken(why) => return Err(err(format!("lookup plugin '{name}' failed to load: {why}"))),
            super::python_plugins::Found::No => {}
        }
        return Err(err(format!("The lookup plugin '{name}' was not found.")));
    };
    f(ctx, terms, opts).map_err(|e| match e.kind() {
        ErrorKind::UndefinedError => e,
        _ => err(format!("The lookup plugin '{name}' failed: {}", e.detail().unwrap_or("unknown error"))),
    })
}

/// `errors=`: what a failing lookup gives instead of failing the template.
fn on_error(name: &str, opts: &mut Map<String, Value>) -> Result<Option<bool>, Error> {
    match opts.remove("errors") {
        None => Ok(None),
        Some(Value::String(s)) if s == "strict" => Ok(None),
        Some(Value::String(s)) if s == "ignore" => Ok(Some(false)),
        Some(Value::String(s)) if s == "warn" => Ok(Some(true)),
        Some(other) => Err(err(format!(
            "The lookup plugin '{name}' failed: errors must be one of 'strict', 'warn' or 'ignore', not {}",
            super::py_str(&other)
        ))),
    }
}

fn call(state: &State, name: &str, terms: &[JValue], kw: &Kwargs) -> Result<(Result<Vec<Value>, Error>, bool), Error> {
    let mut opts = options(kw)?;
    let wantlist = opts.remove("wantlist").is_some_and(|v| super::filters_bool(&v));
    let errors = on_error(name, &mut opts)?;
    let ctx = Ctx { scope: scope_of(state), with_action: None };
    let out = run(&ctx, name, positional(terms)?, &opts);
    match (out, errors) {
        (Err(e), Some(warn)) if e.kind() != ErrorKind::UndefinedError => {
            if warn {
                crate::diag::warn(&format!("An error occurred while running the lookup plugin '{name}': {}", e.detail().unwrap_or("")));
            }
            Ok((Err(e), wantlist))
        }
        (out, _) => Ok((Ok(out?), wantlist)),
    }
}

fn lookup(state: &State, name: String, terms: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let (out, wantlist) = call(state, &name, &terms, &kw)?;
    let Ok(out) = out else {
        return Ok(if wantlist { to_jinja(&Value::Array(vec![])) } else { JValue::from(()) });
    };
    Ok(to_jinja(&shape(out, wantlist)))
}

/// `lookup()`'s result: the list as it is with `wantlist`, else one value alone, several
/// strings joined with commas, anything else as the list.
fn shape(mut out: Vec<Value>, wantlist: bool) -> Value {
    if wantlist || out.is_empty() {
        return Value::Array(out);
    }
    if out.len() == 1 {
        return out.remove(0);
    }
    if out.iter().all(Value::is_string) {
        return Value::from(out.iter().map(to_text).collect::<Vec<_>>().join(","));
    }
    Value::Array(out)
}

fn query(state: &State, name: String, terms: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let (out, _) = call(state, &name, &terms, &kw)?;
    Ok(to_jinja(&Value::Array(out.unwrap_or_default())))
}

/// The items of `with_<name>: TERMS` in a task whose action is `action`. The terms are
/// rendered first (a string that renders to something other than a list is one term);
/// first_found renders them itself, dropping what is undefined, as Ansible does.
pub fn with_loop(name: &str, terms: &Value, scope: &Arc<Scope>, action: &str) -> Result<Vec<Value>, String> {
    let ctx = Ctx { scope: scope.clone(), with_action: Some(action) };
    let terms = if short(name) == "first_found" {
        first_found::render_terms(terms, scope)?
    } else {
        super::render_value(terms, scope).map_err(|e| e.message)?
    };
    let terms = match terms {
        Value::Array(a) => a,
        other => vec![other],
    };
    run(&ctx, name, terms, &Map::new()).map_err(|e| e.detail().unwrap_or("lookup failed").to_string())
}

/// The top-level terms, each list among them spliced in (Ansible's `_flatten`).
pub(crate) fn flatten1(terms: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::new();
    for t in terms {
        match t {
            Value::Array(a) => out.extend(a),
            v => out.push(v),
        }
    }
    out
}

/// Ansible's `parse_kv` for lookup terms: `k=v` words (escapes such as `\t` and `\x1a` decoded,
/// quotes around a value dropped), every other word, as written, in `_raw_params`.
pub(crate) fn parse_kv(s: &str) -> Map<String, Value> {
    let mut out = Map::new();
    let mut raw: Vec<String> = Vec::new();
    for orig in crate::kv::split_args(s) {
        let x = crate::kv::decode_escapes(&orig);
        let b = x.as_bytes();
        match (1..b.len()).find(|&i| b[i] == b'=' && b[i - 1] != b'\\') {
            Some(pos) => {
                out.insert(x[..pos].trim().to_string(), Value::from(unquote(x[pos + 1..].trim())));
            }
            None if x.contains('=') => raw.push(x.replace("\\=", "=")),
            None => raw.push(orig),
        }
    }
    if !raw.is_empty() {
        out.insert("_raw_params".into(), Value::from(raw.join(" ")));
    }
    out
}

/// Python's `unquote`: one pair of matching outer quotes removed.
fn unquote(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() > 1 && b[0] == b[b.len() - 1] && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 2] != b'\\' {
        return s[1..s.len() - 1].to_string();
    }
    s.to_string()
}

/// An option of type integer, converted as Ansible's configuration does (a whole number, or
/// text that reads as one: `'3'`, `'3.0'`).
pub(crate) fn int_option(plugin: &str, name: &str, v: &Value) -> Result<i64, Error> {
    let bad = || {
        err(format!(
            "Config '{name}' for '{plugin}' lookup plugin from 'Direct' has an invalid value: Invalid value provided for 'integer': {}",
            super::pyfmt::py_repr(v)
        ))
    };
    match v {
        Value::Bool(b) => Ok(*b as i64),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Ok(i),
            (None, Some(f)) if f.fract() == 0.0 => Ok(f as i64),
            _ => Err(bad()),
        },
        Value::String(s) => {
            let t = s.trim();
            if let Ok(i) = t.parse::<i64>() {
                return Ok(i);
            }
            // Decimal text only: `0x10` is not a number here, as in Ansible.
            let decimal = !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
            match t.parse::<f64>() {
                Ok(f) if decimal && f.fract() == 0.0 && f.is_finite() => Ok(f as i64),
                _ => Err(bad()),
            }
        }
        _ => Err(bad()),
    }
}

/// Where relative file names are looked for, most specific first.
pub fn search_dirs(role_path: Option<&str>, playbook_dir: Option<&str>, sub: &str) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(r) = role_path {
        dirs.push(Path::new(r).join(sub));
        dirs.push(PathBuf::from(r));
    }
    if let Some(p) = playbook_dir {
        dirs.push(Path::new(p).join(sub));
        dirs.push(PathBuf::from(p));
    }
    dirs
}

/// The places Ansible looks for a relative file `name` of kind `sub` (files, templates, vars),
/// in order: for each entry of the task's `ansible_search_path` (its role, then the folder of
/// its task file) `ENTRY/sub/name` and `ENTRY/name`, then the same under the playbook's folder.
pub fn file_candidates(search_path: &[String], playbook_dir: Option<&str>, sub: &str, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let prefixed = name.split('/').next() == Some(sub);
    for entry in search_path {
        let p = Path::new(entry);
        // A task file in a subfolder of a role's tasks/: the role's own folders come first.
        if let Some(parent) = p.parent().filter(|d| d.ends_with("tasks")) {
            if let Some(role) = parent.parent() {
                out.push(role.join(sub).join(name));
            }
            out.push(parent.join(name));
        }
        if !prefixed {
            out.push(p.join(sub).join(name));
        }
        out.push(p.join(name));
    }
    if let Some(pb) = playbook_dir {
        if !prefixed {
            out.push(Path::new(pb).join(sub).join(name));
        }
        out.push(Path::new(pb).join(name));
    }
    out
}

/// The task's search path from its variables (`ansible_search_path`, or the role's folder).
pub fn search_path_of(lookup: impl Fn(&str) -> Option<Value>) -> Vec<String> {
    match lookup("ansible_search_path") {
        Some(Value::Array(a)) => a.iter().map(to_text).collect(),
        _ => lookup("role_path").map(|v| vec![to_text(&v)]).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kv_terms_as_ansible_parses_them() {
        let m = parse_kv(r#""The Rock" Johnson file=people.csv delimiter=, col=1"#);
        assert_eq!(m["_raw_params"], json!("\"The Rock\" Johnson"));
        assert_eq!(m["delimiter"], json!(","));
        let m = parse_kv(r#"fruit file=tabs.csv delimiter="\t" col=1"#);
        assert_eq!(m["delimiter"], json!("\t"));
        let m = parse_kv(r"again file=x1a.csv delimiter=\x1a col=1");
        assert_eq!(m["delimiter"], json!("\x1a"));
        let m = parse_kv(r#"maybe file="cool list of things.csv" delimiter=, col=3"#);
        assert_eq!(m["file"], json!("cool list of things.csv"));
        assert_eq!(m["_raw_params"], json!("maybe"));
    }

    #[test]
    fn results_shaped_for_lookup() {
        assert_eq!(shape(vec![json!("a"), json!("b")], false), json!("a,b"));
        assert_eq!(shape(vec![json!(1), json!("b")], false), json!([1, "b"]));
        assert_eq!(shape(vec![json!([1])], false), json!([1]));
        assert_eq!(shape(vec![], false), json!([]));
        assert_eq!(shape(vec![json!("a")], true), json!(["a"]));
    }

    #[test]
    fn integer_options() {
        assert_eq!(int_option("sequence", "start", &json!("3.0")).unwrap(), 3);
        assert_eq!(int_option("sequence", "start", &json!("0600")).unwrap(), 600);
        let e = int_option("sequence", "start", &json!("0x10")).unwrap_err();
        assert!(e.detail().unwrap().contains("has an invalid value"), "{e}");
    }
}
