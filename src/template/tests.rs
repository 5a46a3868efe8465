//! Ansible's Jinja tests (`is failed`, `is version`, `is file`, `is uri`, ...): every test of
//! ansible-core's `plugins/test` under its short and `ansible.builtin.` names, with Ansible's
//! arguments and messages; Jinja's own tests are reachable as `ansible.builtin.*` too.
//!
//! Results follow Python: `is truthy` is Python's truth (`"off"` is true unless
//! `convert_bool`), a task-result test on something that is not a dictionary is an error.

mod files;
mod version;

use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, Value as JValue};
use serde_json::Value;

use super::filters::{err, urls, PyArgs};
use super::to_json;

/// Register `$f` as `$name` and `ansible.builtin.$name`.
macro_rules! tests {
    ($env:ident; $($name:literal => $f:expr),* $(,)?) => {
        $(
            $env.add_test($name, $f);
            $env.add_test(concat!("ansible.builtin.", $name), $f);
        )*
    };
}

macro_rules! jinja_aliases {
    ($env:ident; $($name:literal => $f:expr),* $(,)?) => {
        $( $env.add_test(concat!("ansible.builtin.", $name), $f); )*
    };
}

pub fn register(env: &mut Environment<'static>) {
    use minijinja::tests as jt;
    tests! { env;
        // plugins/test/core.py
        "failed" => |v: JValue| Ok::<_, Error>(truthy_key(&result(&v, "failed")?, "failed")),
        "failure" => |v: JValue| Ok::<_, Error>(truthy_key(&result(&v, "failed")?, "failed")),
        "succeeded" => |v: JValue| Ok::<_, Error>(!truthy_key(&result(&v, "failed")?, "failed")),
        "success" => |v: JValue| Ok::<_, Error>(!truthy_key(&result(&v, "failed")?, "failed")),
        "successful" => |v: JValue| Ok::<_, Error>(!truthy_key(&result(&v, "failed")?, "failed")),
        "reachable" => |v: JValue| Ok::<_, Error>(!truthy_key(&result(&v, "unreachable")?, "unreachable")),
        "unreachable" => |v: JValue| Ok::<_, Error>(truthy_key(&result(&v, "unreachable")?, "unreachable")),
        "timedout" => timedout,
        "changed" => changed,
        "change" => changed,
        "skipped" => |v: JValue| Ok::<_, Error>(truthy_key(&result(&v, "skipped")?, "skipped")),
        "skip" => |v: JValue| Ok::<_, Error>(truthy_key(&result(&v, "skipped")?, "skipped")),
        "finished" => |v: JValue| async_state(&v, "finished"),
        "started" => |v: JValue| async_state(&v, "started"),
        "match" => |v: JValue, rest: Rest<JValue>, kw: Kwargs| regex(v, rest, kw, "match"),
        "search" => |v: JValue, rest: Rest<JValue>, kw: Kwargs| regex(v, rest, kw, "search"),
        "regex" => |v: JValue, rest: Rest<JValue>, kw: Kwargs| regex(v, rest, kw, ""),
        "version_compare" => version_test,
        "version" => version_test,
        "any" => |v: JValue| -> Result<bool, Error> { Ok(iterate(&v)?.iter().any(py_truthy)) },
        "all" => |v: JValue| -> Result<bool, Error> { Ok(iterate(&v)?.iter().all(py_truthy)) },
        "truthy" => |v: JValue, rest: Rest<JValue>, kw: Kwargs| truthy(v, rest, kw, "truthy"),
        "falsy" => |v: JValue, rest: Rest<JValue>, kw: Kwargs| truthy(v, rest, kw, "falsy").map(|t| !t),
        "vault_encrypted" => vault_encrypted,
        "vaulted_file" => |v: JValue| -> Result<bool, Error> { files::vaulted_file(&path(&v)?).map_err(err) },
        "defined" => |v: JValue| !v.is_undefined(),
        "undefined" => |v: JValue| v.is_undefined(),
        // plugins/test/files.py
        "directory" => |v: JValue| file_test(&v, files::is_dir),
        "is_dir" => |v: JValue| file_test(&v, files::is_dir),
        "file" => |v: JValue| file_test(&v, files::is_file),
        "is_file" => |v: JValue| file_test(&v, files::is_file),
        "link" => |v: JValue| file_test(&v, files::is_link),
        "is_link" => |v: JValue| file_test(&v, files::is_link),
        "exists" => |v: JValue| file_test(&v, files::exists),
        "link_exists" => |v: JValue| file_test(&v, files::link_exists),
        "abs" => |v: JValue| file_test(&v, |p| p.starts_with('/')),
        "is_abs" => |v: JValue| file_test(&v, |p| p.starts_with('/')),
        "same_file" => same_file,
        "is_same_file" => same_file,
        "mount" => |v: JValue| file_test(&v, files::is_mount),
        "is_mount" => |v: JValue| file_test(&v, files::is_mount),
        // plugins/test/mathstuff.py
        "subset" => |a: JValue, b: JValue| subset(&a, &b),
        "issubset" => |a: JValue, b: JValue| subset(&a, &b),
        "superset" => |a: JValue, b: JValue| subset(&b, &a),
        "issuperset" => |a: JValue, b: JValue| subset(&b, &a),
        "contains" => contains,
        "nan" => is_nan,
        "isnan" => is_nan,
        // plugins/test/uri.py
        "uri" => |v: JValue, rest: Rest<JValue>, kw: Kwargs| uri_test(v, rest, kw, "uri"),
        "url" => |v: JValue, rest: Rest<JValue>, kw: Kwargs| uri_test(v, rest, kw, "url"),
        "urn" => |v: JValue| uri_core(v, Some(serde_json::json!(["urn"])), "uri"),
    }
    jinja_aliases! { env;
        "boolean" => jt::is_boolean, "divisibleby" => jt::is_divisibleby, "eq" => jt::is_eq,
        "equalto" => jt::is_eq, "escaped" => jt::is_safe, "even" => jt::is_even, "false" => jt::is_false,
        "filter" => jt::is_filter, "float" => jt::is_float, "ge" => jt::is_ge, "gt" => jt::is_gt,
        "greaterthan" => jt::is_gt, "in" => jt::is_in, "integer" => jt::is_integer, "iterable" => jt::is_iterable,
        "le" => jt::is_le, "lower" => jt::is_lower, "lt" => jt::is_lt, "lessthan" => jt::is_lt,
        "mapping" => jt::is_mapping, "ne" => jt::is_ne, "none" => jt::is_none, "number" => jt::is_number,
        "odd" => jt::is_odd, "sameas" => jt::is_sameas, "sequence" => jt::is_sequence, "string" => jt::is_string,
        "test" => jt::is_test, "true" => jt::is_true, "upper" => jt::is_upper,
    }
    // Not in Ansible, kept for playbooks written against earlier steward.
    env.add_test("list", |v: JValue| v.kind() == ValueKind::Seq);
    env.add_test("dict", |v: JValue| v.kind() == ValueKind::Map);
}

/// Python's truth of plain data.
fn py_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

fn iterate(v: &JValue) -> Result<Vec<Value>, Error> {
    match to_json(v)? {
        Value::Array(a) => Ok(a),
        Value::Object(m) => Ok(m.keys().map(|k| Value::from(k.as_str())).collect()),
        Value::String(s) => Ok(s.chars().map(|c| Value::from(c.to_string())).collect()),
        other => Err(err(format!("'{}' object is not iterable", super::py_type_name(&other)))),
    }
}

/// A task result, or the error Ansible gives when a result test gets something else.
fn result(v: &JValue, test: &str) -> Result<serde_json::Map<String, Value>, Error> {
    match to_json(v)? {
        Value::Object(m) => Ok(m),
        _ => Err(err(format!("The '{test}' test expects a dictionary"))),
    }
}

fn truthy_key(m: &serde_json::Map<String, Value>, key: &str) -> bool {
    m.get(key).is_some_and(py_truthy)
}

fn timedout(v: JValue) -> Result<bool, Error> {
    let m = result(&v, "timedout")?;
    Ok(match m.get("timedout") {
        Some(t) if py_truthy(t) => t.get("period").is_some_and(py_truthy),
        _ => false,
    })
}

/// `changed`: the result's own flag, or any of its loop items' flags when it has none.
fn changed(v: JValue) -> Result<bool, Error> {
    let m = result(&v, "changed")?;
    if let Some(c) = m.get("changed") {
        return Ok(py_truthy(c));
    }
    if let Some(Value::Array(results)) = m.get("results") {
        let first = results.first().ok_or_else(|| err("list index out of range"))?;
        if first.is_object() {
            return Ok(results.iter().any(|r| r.get("changed").is_some_and(py_truthy)));
        }
    }
    Ok(false)
}

/// `started`/`finished`: the async status, or true (with Ansible's warning) for other tasks.
fn async_state(v: &JValue, key: &str) -> Result<bool, Error> {
    let m = result(v, key)?;
    match m.get(key) {
        Some(x) => Ok(py_truthy(x)),
        None => {
            crate::diag::warn(&format!("The '{key}' test expects an async task, but a non-async task was tested"));
            Ok(true)
        }
    }
}

fn regex(v: JValue, rest: Rest<JValue>, kw: Kwargs, kind: &str) -> Result<bool, Error> {
    let params: &'static [&'static str] =
        if kind.is_empty() { &["pattern", "ignorecase", "multiline", "match_type"] } else { &["pattern", "ignorecase", "multiline"] };
    let a = PyArgs::new(if kind.is_empty() { "regex" } else { "match" }, rest, kw, params)?;
    let text = crate::template::to_text(&to_json(&v)?);
    let pattern = a.string_or(0, "")?;
    let flag = |i: usize| a.get(i).is_some_and(|x| x.is_true());
    let kind = if kind.is_empty() { a.string_or(3, "search")? } else { kind.to_string() };
    use super::filters::pyregex::{Anchor, PyRegex};
    let anchor = match kind.as_str() {
        "search" => Anchor::Search,
        "match" => Anchor::Match,
        "fullmatch" => Anchor::Full,
        _ => return Err(err("'str' object is not callable")),
    };
    PyRegex::anchored(&pattern, flag(1), flag(2), anchor)?.is_match(&text)
}

fn version_test(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<bool, Error> {
    let a = PyArgs::new("version_compare", rest, kw, &["version", "operator", "strict", "version_type"])?;
    let value = crate::template::to_text(&to_json(&v)?);
    let version = crate::template::to_text(&to_json(&a.required(0)?)?);
    let op = a.string_or(1, "eq")?;
    let strict = a.get(2).filter(|s| !s.is_none()).map(|s| s.is_true());
    let vt = a.get(3).filter(|s| !s.is_none()).map(|s| crate::template::to_text(&to_json(&s).unwrap_or_default()));
    let value = if to_json(&v)? == Value::Null { String::new() } else { value };
    version::compare(&value, &version, &op, strict, vt.as_deref()).map_err(err)
}

/// The `version_compare` filter (steward's; Ansible has only the test).
pub fn version(a: String, b: String, op: Option<String>) -> Result<bool, Error> {
    version::compare(&a, &b, op.as_deref().unwrap_or("eq"), None, None).map_err(err)
}

/// `module_utils.parsing.convert_bool.boolean`, for `truthy(convert_bool=True)`.
fn convert_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_lowercase().as_str() {
            "y" | "yes" | "on" | "1" | "true" | "t" => Some(true),
            "n" | "no" | "off" | "0" | "false" | "f" => Some(false),
            _ => None,
        },
        Value::Number(n) if n.as_f64() == Some(1.0) => Some(true),
        Value::Number(n) if n.as_f64() == Some(0.0) => Some(false),
        _ => None,
    }
}

fn truthy(v: JValue, rest: Rest<JValue>, kw: Kwargs, name: &'static str) -> Result<bool, Error> {
    let a = PyArgs::new(name, rest, kw, &["convert_bool"])?;
    let v = to_json(&v)?;
    if a.get(0).is_some_and(|c| c.is_true()) {
        if let Some(b) = convert_bool(&v) {
            return Ok(b);
        }
    }
    Ok(py_truthy(&v))
}

/// Values stay encrypted in Ansible until used; steward decrypts `!vault` values when it
/// loads them, so only a value still holding vault text would count, and Ansible does not
/// count plain strings either: only its encrypted-value objects.
fn vault_encrypted(v: JValue) -> Result<bool, Error> {
    let _ = to_json(&v)?;
    Ok(false)
}

fn path(v: &JValue) -> Result<String, Error> {
    files::path_arg(&to_json(v)?).map_err(err)
}

fn file_test(v: &JValue, f: fn(&str) -> bool) -> Result<bool, Error> {
    Ok(f(&path(v)?))
}

fn same_file(a: JValue, b: JValue) -> Result<bool, Error> {
    files::same_file(&path(&a)?, &path(&b)?).map_err(err)
}

/// `set(a) <= set(b)`: items must be hashable, as in Python.
fn subset(a: &JValue, b: &JValue) -> Result<bool, Error> {
    let (a, b) = (iterate(a)?, iterate(b)?);
    if let Some(x) = a.iter().chain(&b).find(|x| x.is_array() || x.is_object()) {
        return Err(err(format!("unhashable type: '{}'", super::py_type_name(x))));
    }
    Ok(a.iter().all(|x| b.iter().any(|y| super::filters::py_eq(x, y))))
}

fn contains(seq: JValue, value: JValue) -> Result<bool, Error> {
    let (seq, value) = (to_json(&seq)?, to_json(&value)?);
    Ok(match &seq {
        Value::Array(l) => l.iter().any(|x| super::filters::py_eq(x, &value)),
        Value::String(s) => match &value {
            Value::String(v) => s.contains(v.as_str()),
            other => return Err(err(format!("'in <string>' requires string as left operand, not {}", super::py_type_name(other)))),
        },
        Value::Object(m) => m.contains_key(&crate::template::to_text(&value)),
        other => return Err(err(format!("argument of type '{}' is not iterable", super::py_type_name(other)))),
    })
}

/// `math.isnan`; a value that is no number is simply not NaN.
fn is_nan(v: JValue) -> bool {
    v.kind() == ValueKind::Number && f64::try_from(v).is_ok_and(f64::is_nan)
}

/// `is_uri`/`is_url`: anything splits as a URI; a URL also needs a host (or `file:`).
fn uri_test(v: JValue, rest: Rest<JValue>, kw: Kwargs, kind: &'static str) -> Result<bool, Error> {
    let a = PyArgs::new(kind, rest, kw, &["schemes"])?;
    let schemes = a.get(0).map(|x| to_json(&x)).transpose()?;
    uri_core(v, schemes, kind)
}

/// `is_uri`/`is_url`: anything splits as a URI; a URL also needs a host (or `file:`).
fn uri_core(v: JValue, schemes: Option<Value>, kind: &'static str) -> Result<bool, Error> {
    let Value::String(s) = to_json(&v)? else { return Ok(false) };
    let Ok(parts) = urls::split(&s) else { return Ok(false) };
    let scheme_ok = match schemes.filter(py_truthy) {
        None => true,
        Some(Value::Array(l)) => l.iter().any(|x| x.as_str() == Some(parts.scheme.as_str())),
        Some(Value::String(text)) => text.contains(parts.scheme.as_str()),
        Some(_) => false,
    };
    Ok(scheme_ok && (kind == "uri" || !parts.netloc.is_empty() || parts.scheme == "file"))
}

#[cfg(test)]
mod unit {
    use crate::template::env;

    fn t(e: &str) -> String {
        match env().compile_expression(e).and_then(|x| x.eval(())) {
            Ok(v) => v.to_string(),
            Err(e) => format!("ERR {}", e.detail().unwrap_or("")),
        }
    }

    // Expected values: ansible-core 2.19.14's test_core, test_mathstuff and test_uri targets.
    #[test]
    fn core_tests() {
        assert!(t("'nope' is failed").contains("The 'failed' test expects a dictionary"));
        assert!(t("'nope' is reachable").contains("The 'unreachable' test expects a dictionary"));
        assert_eq!(t("{'failed': 'false'} is failed"), "True");
        assert_eq!(t("{'results': [{'changed': true}]} is changed"), "True");
        assert_eq!(t("{} is changed"), "False");
        assert_eq!(t("{'timedout': {'period': 3}} is timedout"), "True");
        assert_eq!(t("{'started': 0} is started"), "False");
        assert_eq!(t("'hello' is regex('.L', ignorecase=true)"), "True");
        assert_eq!(t("'hello' is regex('hello', match_type='fullmatch')"), "True");
        assert_eq!(t("'hello' is not match('.ll.')"), "True");
        assert_eq!(t("'off' is truthy"), "True");
        assert_eq!(t("'off' is truthy(convert_bool=True)"), "False");
        assert_eq!(t("'fred' is truthy(convert_bool=True)"), "True");
        assert_eq!(t("[''] is truthy"), "True");
        assert_eq!(t("'1.0' is version('2.0', '<', true)"), "True");
        assert!(t("'' is version('1.0', '>')").contains("version value cannot be empty"));
    }

    #[test]
    fn math_and_uri_tests() {
        assert_eq!(t("[1] is issubset([1, 2])"), "True");
        assert_eq!(t("[1, 2] is superset([1])"), "True");
        assert_eq!(t("[2] is superset([1])"), "False");
        assert_eq!(t("[1] is contains(1)"), "True");
        assert_eq!(t("'bad' is nan"), "False");
        assert_eq!(t("'nan' | float is nan"), "True");
        assert_eq!(t("'http://searchengine.tld' is uri"), "True");
        assert_eq!(t("'asldkfjhalsidfthjo' is not uri(['http', 'https'])"), "True");
        assert_eq!(t("'htp://searchengine.tld' is not url(['http'])"), "True");
        assert_eq!(t("'admin:secret@example.com' is not url"), "True");
        assert_eq!(t("'file://etc/hosts' is url"), "True");
        assert_eq!(t("'urn:isbn:9780307476463' is urn"), "True");
        assert_eq!(t("'ftps://admin:secret@example.com' is not urn"), "True");
        assert_eq!(t("'/' is is_abs"), "True");
        assert_eq!(t("'/' is is_mount"), "True");
        assert_eq!(t("'/' is same_file('/')"), "True");
        assert_eq!(t("1 is ansible.builtin.odd"), "True");
    }
}
