//! `first_found`: the first of several files that exists. Terms are file names, lists of them,
//! or mappings with `files`, `paths` and `skip` (a mapping's options replace the ones before
//! it); `files` and `paths` given as text are split on `,;` and `,:;`. Relative names are
//! searched as the other file lookups search them; as `with_first_found:` the kind of folder
//! follows the task's action (`templates/` for an action with `template` in its name, `vars/`
//! for `var`, else `files/`), and terms that are undefined are left out, as Ansible does for
//! loops that used to rely on it.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use minijinja::value::ValueKind;
use minijinja::{Error, ErrorKind, Value as JValue};
use serde_json::{Map, Value};

use super::{err, Ctx};
use crate::template::filters::py_type_name;
use crate::template::{filters_bool, is_template, to_text, Scope};

pub fn run(ctx: &Ctx, terms: Vec<Value>, kw: &Map<String, Value>) -> Result<Vec<Value>, Error> {
    let subdir = ctx.with_action.map(|action| match ["template", "var"].iter().find(|s| action.contains(*s)) {
        Some(s) => format!("{s}s"),
        None => "files".to_string(),
    });
    let mut opts = kw.clone();
    let terms = if terms.is_empty() { opts.get("files").map(list).unwrap_or_default() } else { terms };
    let mut search = Vec::new();
    collect(&terms, &mut opts, &mut search)?;
    for name in &search {
        if let Some(p) = ctx.find(subdir.as_deref().unwrap_or(""), name) {
            return Ok(vec![Value::from(normalize(&p).display().to_string())]);
        }
    }
    if opts.get("skip").is_some_and(filters_bool) {
        return Ok(vec![]);
    }
    Err(err("No file was found when using first_found."))
}

/// A `list` option: a list as it is, text split on commas.
fn list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Null => vec![],
        Value::String(s) => s.split(',').map(|x| Value::from(x.trim())).collect(),
        other => vec![other.clone()],
    }
}

fn split_on(values: &[Value], seps: &[char]) -> Vec<String> {
    values.iter().flat_map(|v| to_text(v).split(seps).map(str::to_string).collect::<Vec<_>>()).collect()
}

fn collect(terms: &[Value], opts: &mut Map<String, Value>, search: &mut Vec<String>) -> Result<(), Error> {
    for term in terms {
        let files = match term {
            Value::Object(m) => {
                *opts = m.clone();
                opts.get("files").map(list).unwrap_or_default()
            }
            Value::String(_) => vec![term.clone()],
            Value::Array(a) => {
                collect(a, opts, search)?;
                continue;
            }
            other => {
                return Err(err(format!("Invalid term supplied. A string, dict or list is required, not '{}').", py_type_name(other))))
            }
        };
        let files = split_on(&files, &[',', ';']);
        let paths = split_on(&opts.get("paths").map(list).unwrap_or_default(), &[',', ':', ';']);
        if paths.is_empty() {
            search.extend(files);
        } else {
            for p in &paths {
                search.extend(files.iter().map(|f| Path::new(p).join(f).display().to_string()));
            }
        }
    }
    Ok(())
}

/// Ansible's `unfrackpath`: absolute, `~` expanded, `.` and `..` resolved without following links.
fn normalize(p: &Path) -> PathBuf {
    let p = match p.strip_prefix("~") {
        Ok(rest) => Path::new(&std::env::var("HOME").unwrap_or_default()).join(rest),
        Err(_) => p.to_path_buf(),
    };
    let abs = if p.is_absolute() { p } else { std::env::current_dir().unwrap_or_default().join(p) };
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The terms of `with_first_found:`, rendered with every undefined entry left out: a list
/// loses such items, a mapping such values, and `{{ var }}` is the variable's own value
/// treated the same way.
pub fn render_terms(terms: &Value, scope: &Arc<Scope>) -> Result<Value, String> {
    let _ = scope.take_error();
    Ok(lazy(terms, scope, 0)?.unwrap_or(Value::Array(vec![])))
}

fn lazy(v: &Value, scope: &Arc<Scope>, depth: usize) -> Result<Option<Value>, String> {
    if depth > 40 {
        return Err("recursive loop detected in template: a variable refers to itself".into());
    }
    match v {
        Value::Array(a) => {
            let mut out = Vec::new();
            for x in a {
                out.extend(lazy(x, scope, depth + 1)?);
            }
            Ok(Some(Value::Array(out)))
        }
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                if let Some(x) = lazy(x, scope, depth + 1)? {
                    out.insert(k.clone(), x);
                }
            }
            Ok(Some(Value::Object(out)))
        }
        Value::String(s) if is_template(s) => {
            if let Some(raw) = plain_variable(s).and_then(|n| raw_var(scope, n)) {
                return match raw {
                    (v, true) => Ok(Some(v)),
                    (v, false) => lazy(&v, scope, depth + 1),
                };
            }
            let out = match crate::template::single_expression(s.trim()) {
                // An expression's value may hold undefined parts (`[{'files': missing}]`).
                Some(expr) => eval_omitting_undefined(expr, scope),
                None => crate::template::render_value_raw(v, scope),
            };
            match (out, scope.take_error()) {
                (Ok(v), None) => Ok(Some(v)),
                (_, Some(e)) | (Err(e), None) if e.kind() == ErrorKind::UndefinedError => Ok(None),
                _ => Err(crate::template::render_value(v, scope).err().map(|e| e.message).unwrap_or_else(|| "template error".into())),
            }
        }
        other => Ok(Some(other.clone())),
    }
}

fn eval_omitting_undefined(expr: &str, scope: &Arc<Scope>) -> Result<Value, Error> {
    let v = crate::template::env().compile_expression(expr)?.eval(JValue::from_dyn_object(scope.clone()))?;
    omit_undefined(&v).ok_or_else(|| Error::new(ErrorKind::UndefinedError, "undefined value"))
}

/// A value as data, with the undefined items of its lists and values of its mappings left out.
fn omit_undefined(v: &JValue) -> Option<Value> {
    if v.is_undefined() {
        return None;
    }
    match v.kind() {
        ValueKind::Seq | ValueKind::Iterable => Some(Value::Array(v.try_iter().ok()?.filter_map(|x| omit_undefined(&x)).collect())),
        ValueKind::Map => {
            let mut m = Map::new();
            for k in v.try_iter().ok()? {
                if let Some(x) = v.get_item(&k).ok().as_ref().and_then(omit_undefined) {
                    m.insert(k.to_string(), x);
                }
            }
            Some(Value::Object(m))
        }
        _ => crate::template::to_json(v).ok(),
    }
}

/// The name in a string that is exactly `{{ name }}`.
fn plain_variable(s: &str) -> Option<&str> {
    let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?.trim();
    (!inner.is_empty() && inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(inner)
}

/// A variable's unrendered value, and whether it is literal data (never rendered again).
fn raw_var(scope: &Scope, name: &str) -> Option<(Value, bool)> {
    let i = scope.layers.iter().position(|l| l.contains_key(name))?;
    Some((scope.layers[i][name].clone(), scope.literal.get(i).copied().unwrap_or(false)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn terms_to_candidates() {
        let mut opts = Map::new();
        let mut search = Vec::new();
        collect(&[json!({"files": "a.yml;b", "paths": "x:/etc"}), json!("c")], &mut opts, &mut search).unwrap();
        assert_eq!(search, vec!["x/a.yml", "x/b", "/etc/a.yml", "/etc/b", "x/c", "/etc/c"]);
        let e = collect(&[json!(1)], &mut Map::new(), &mut vec![]).unwrap_err();
        assert!(e.detail().unwrap().contains("not 'int'"));
    }

    #[test]
    fn undefined_left_out() {
        let vars = json!({"files": ["{{ missing }}foo", "bar"], "x": "y"});
        let scope = Scope::new(vec![Arc::new(vars.as_object().unwrap().clone())], None);
        let t = render_terms(&json!(["{{ missing }}", {"files": "{{ files }}"}, "{{ x }}"]), &scope).unwrap();
        assert_eq!(t, json!([{"files": ["bar"]}, "y"]));
        assert_eq!(normalize(Path::new("/a/b/../c/./d")), PathBuf::from("/a/c/d"));
    }
}
