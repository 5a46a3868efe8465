//! Ansible's filters, written for minijinja: every filter of ansible-core's `plugins/filter`
//! under its short name and its `ansible.builtin.` name, with Ansible's arguments (by position
//! or keyword, as Python binds them), results and error messages; Jinja's own filters are
//! reachable as `ansible.builtin.*` too, as in Ansible.
//!
//! Filters take and give plain data: a value is turned into JSON-like data, worked on with
//! Python's semantics (truthiness, equality, `str()`), and turned back. The larger pieces live
//! in the files beside this one: YAML and JSON output, Python's regex dialect and random
//! generator, paths, URLs, the math and set filters, data reshaping, vault.

mod data;
mod ipaddr;
mod mathstuff;
pub(super) mod paths;
pub(super) mod pyformat;
pub(super) mod pyrandom;
pub(crate) mod pyregex;
mod text;
pub(super) mod urls;
pub(super) mod vaulting;
mod yaml;

use minijinja::value::{Kwargs, Rest};
use minijinja::{Environment, Error, ErrorKind, Value as JValue};
use serde_json::{Map, Value};

use super::{to_jinja, to_json};
pub use crate::pytext::{ansible_bool, format_time, json, py_float_repr, py_json, py_json_spaced, shell_quote};
pub use data::PyTuple;
pub use text::hex_digest;

pub(crate) fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Plain data of a value. An undefined value anywhere inside is an error, as in Ansible
/// (`{'key': undefined_var} | combine` fails naming the variable), not a silent `null`.
fn j(v: &JValue) -> Result<Value, Error> {
    let mut budget = 10_000usize;
    check_defined(v, 0, &mut budget)?;
    to_json(v)
}

fn check_defined(v: &JValue, depth: usize, budget: &mut usize) -> Result<(), Error> {
    if v.is_undefined() {
        return Err(Error::new(ErrorKind::UndefinedError, "undefined value"));
    }
    // Variables come from plain data and cannot hold undefined values; only what a
    // template builds can, so the scope objects are not walked.
    if depth > 32 || *budget == 0 || v.downcast_object_ref::<super::Scope>().is_some() {
        return Ok(());
    }
    match v.kind() {
        minijinja::value::ValueKind::Seq => {
            for x in v.try_iter()? {
                *budget = budget.saturating_sub(1);
                check_defined(&x, depth + 1, budget)?;
            }
        }
        minijinja::value::ValueKind::Map => {
            for k in v.try_iter()? {
                *budget = budget.saturating_sub(1);
                check_defined(&v.get_item(&k)?, depth + 1, budget)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Rows as Python tuples (`zip`, `product`, `subelements` give tuples, and a tuple is not
/// equal to a list in Jinja).
fn tuples(rows: Vec<Value>) -> JValue {
    JValue::from(rows.into_iter().map(tuple).collect::<Vec<_>>())
}

fn tuple(row: Value) -> JValue {
    match row {
        Value::Array(items) => JValue::from(minijinja::value::Tuple::new(items.iter().map(to_jinja).collect())),
        other => to_jinja(&other),
    }
}

/// `str(value)` as Python gives it.
fn text(v: &JValue) -> Result<String, Error> {
    if v.as_str().is_some() || !(v.is_tuple() || v.downcast_object_ref::<PyTuple>().is_some() || has_tuples(v)) {
        return Ok(super::to_text(&j(v)?));
    }
    value_repr(v)
}

fn has_tuples(v: &JValue) -> bool {
    v.kind() == minijinja::value::ValueKind::Seq && v.try_iter().is_ok_and(|mut it| it.any(|x| x.is_tuple() || has_tuples(&x)))
}

/// `repr` of a template value, keeping tuples apart from lists.
fn value_repr(v: &JValue) -> Result<String, Error> {
    let items = |v: &JValue| -> Result<Vec<String>, Error> { v.try_iter()?.map(|x| value_repr(&x)).collect() };
    if let Some(t) = v.downcast_object_ref::<PyTuple>() {
        return Ok(t.py_repr());
    }
    if v.is_tuple() {
        let i = items(v)?;
        return Ok(if i.len() == 1 { format!("({},)", i[0]) } else { format!("({})", i.join(", ")) });
    }
    if v.kind() == minijinja::value::ValueKind::Seq {
        return Ok(format!("[{}]", items(v)?.join(", ")));
    }
    Ok(py_repr(&j(v)?))
}

fn py_repr(v: &Value) -> String {
    super::pyfmt::py_repr(v)
}

/// `type(value)` printed, as Ansible's messages show it: `<class 'str'>`.
fn py_class(v: &Value) -> String {
    format!("<class '{}'>", py_type_name(v))
}

/// `is_sequence`: a list (or tuple), not a string or a mapping.
fn is_sequence(v: &Value) -> bool {
    matches!(v, Value::Array(_))
}

/// What `for x in value` yields in Python: items, keys, characters; or Python's `TypeError`.
fn py_iter(v: &Value) -> Result<Vec<Value>, String> {
    match v {
        Value::Array(a) => Ok(a.clone()),
        Value::Object(m) => Ok(m.keys().map(|k| Value::from(k.as_str())).collect()),
        Value::String(s) => Ok(s.chars().map(|c| Value::from(c.to_string())).collect()),
        other => Err(format!("'{}' object is not iterable", py_type_name(other))),
    }
}

/// A number as Python's math sees it (booleans are numbers there).
fn py_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(*b as i64 as f64),
        _ => None,
    }
}

/// Python's `==`: `1 == 1.0 == True`.
pub(super) fn py_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q)),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| py_eq(v, w))),
        _ => match (py_number(a), py_number(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
    }
}

/// A filter's arguments bound as Python binds them: by position, then by keyword.
pub(crate) struct PyArgs {
    name: &'static str,
    params: &'static [&'static str],
    pos: Vec<JValue>,
    kw: Vec<(String, JValue)>,
}

impl PyArgs {
    /// Bind to named parameters; extra or unknown arguments are Python's `TypeError`s.
    pub fn new(name: &'static str, rest: Rest<JValue>, kw: Kwargs, params: &'static [&'static str]) -> Result<PyArgs, Error> {
        let a = PyArgs::any(name, rest, kw)?;
        if a.pos.len() > params.len() {
            return Err(err(format!("{name}() takes at most {} arguments ({} given)", params.len() + 1, a.pos.len() + 1)));
        }
        for (k, _) in &a.kw {
            match params.iter().position(|p| p == k) {
                None => return Err(err(format!("{name}() got an unexpected keyword argument '{k}'"))),
                Some(i) if i < a.pos.len() => return Err(err(format!("{name}() got multiple values for argument '{k}'"))),
                _ => {}
            }
        }
        Ok(PyArgs { params, ..a })
    }

    /// Take any positional and keyword arguments (`*args, **kwargs`).
    pub fn any(name: &'static str, rest: Rest<JValue>, kw: Kwargs) -> Result<PyArgs, Error> {
        let mut named = Vec::new();
        for key in kw.args() {
            let v: JValue = kw.get(key)?;
            named.push((key.to_string(), v));
        }
        Ok(PyArgs { name, params: &[], pos: rest.0, kw: named })
    }

    pub fn get(&self, i: usize) -> Option<JValue> {
        self.pos.get(i).cloned().or_else(|| self.params.get(i).and_then(|p| self.keyword(p)))
    }

    /// Positional `i`, or the keyword `name` (for `**kwargs` filters).
    pub fn get_any(&self, i: usize, name: &str) -> Option<JValue> {
        self.pos.get(i).cloned().or_else(|| self.keyword(name))
    }

    pub fn required(&self, i: usize) -> Result<JValue, Error> {
        self.get(i).ok_or_else(|| {
            let p = self.params.get(i).copied().unwrap_or("?");
            err(format!("{}() missing 1 required positional argument: '{p}'", self.name))
        })
    }

    pub fn string_or(&self, i: usize, default: &str) -> Result<String, Error> {
        match self.get(i).filter(|v| !v.is_none()) {
            Some(v) => text(&v),
            None => Ok(default.to_string()),
        }
    }

    pub fn positional(&self) -> &[JValue] {
        &self.pos
    }

    pub fn keyword(&self, name: &str) -> Option<JValue> {
        self.kw.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    pub fn keywords(&self) -> impl Iterator<Item = &str> {
        self.kw.iter().map(|(k, _)| k.as_str())
    }
}

/// Register `$f` as `$name` and `ansible.builtin.$name`, and note the name for did-you-mean.
macro_rules! filters {
    ($env:ident; $($name:literal => $f:expr),* $(,)?) => {
        $(
            $env.add_filter($name, $f);
            $env.add_filter(concat!("ansible.builtin.", $name), $f);
        )*
        NAMES.get_or_init(|| vec![$($name),*]);
    };
}

/// The names of Ansible's filters steward has, for a did-you-mean on an unknown one.
static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();

/// Filter names an unknown one may have meant (Jinja's own and Ansible's).
pub fn known_names() -> impl Iterator<Item = &'static str> {
    const JINJA: &[&str] = &[
        "abs",
        "attr",
        "batch",
        "capitalize",
        "center",
        "default",
        "dictsort",
        "escape",
        "first",
        "float",
        "format",
        "groupby",
        "indent",
        "int",
        "items",
        "join",
        "last",
        "length",
        "list",
        "lower",
        "map",
        "max",
        "min",
        "pprint",
        "random",
        "reject",
        "rejectattr",
        "replace",
        "reverse",
        "round",
        "safe",
        "select",
        "selectattr",
        "slice",
        "sort",
        "string",
        "striptags",
        "sum",
        "title",
        "tojson",
        "trim",
        "truncate",
        "unique",
        "upper",
        "urlencode",
        "wordcount",
        "wordwrap",
        "xmlattr",
    ];
    NAMES.get().map(|v| v.as_slice()).unwrap_or(&[]).iter().copied().chain(JINJA.iter().copied())
}

/// Jinja's own filters under `ansible.builtin.`, where minijinja has them.
macro_rules! jinja_aliases {
    ($env:ident; $($name:literal => $f:expr),* $(,)?) => {
        $( $env.add_filter(concat!("ansible.builtin.", $name), $f); )*
    };
}

pub fn register(env: &mut Environment<'static>) {
    use minijinja::filters as jf;
    filters! { env;
        // plugins/filter/core.py
        "b64decode" => text::b64decode,
        "b64encode" => text::b64encode,
        "to_uuid" => text::to_uuid,
        "to_json" => to_json_filter,
        "to_nice_json" => to_nice_json,
        "from_json" => from_json,
        "to_yaml" => |v: JValue, rest: Rest<JValue>, kw: Kwargs| to_yaml(v, rest, kw, false),
        "to_nice_yaml" => |v: JValue, rest: Rest<JValue>, kw: Kwargs| to_yaml(v, rest, kw, true),
        "from_yaml" => from_yaml,
        "from_yaml_all" => from_yaml_all,
        "basename" => |v: JValue| path_fn(v, paths::basename),
        "dirname" => |v: JValue| path_fn(v, paths::dirname),
        "expanduser" => |v: JValue| path_fn(v, paths::expanduser),
        "expandvars" => |v: JValue| path_fn(v, paths::expandvars),
        "path_join" => text::path_join,
        "realpath" => |v: JValue| path_fn(v, paths::realpath),
        "relpath" => relpath,
        "splitext" => |v: JValue| -> Result<JValue, Error> {
            let (a, b) = paths::splitext(&path_arg(&v)?);
            Ok(tuple(serde_json::json!([a, b])))
        },
        "win_basename" => |v: JValue| path_fn(v, paths::win_basename),
        "win_dirname" => |v: JValue| path_fn(v, paths::win_dirname),
        "win_splitdrive" => |v: JValue| -> Result<JValue, Error> {
            let (a, b) = paths::win_splitdrive(&path_arg(&v)?);
            Ok(tuple(serde_json::json!([a, b])))
        },
        "commonpath" => |v: JValue| -> Result<JValue, Error> {
            let parts = data::sequence_of_strings(&j(&v)?, "commonpath")?;
            paths::commonpath(&parts).map(JValue::from).map_err(err)
        },
        "normpath" => |v: JValue| path_fn(v, paths::normpath),
        "fileglob" => |v: JValue| -> Result<JValue, Error> { Ok(to_jinja(&Value::from(paths::fileglob(&path_arg(&v)?)))) },
        "bool" => bool_filter,
        "to_datetime" => text::to_datetime,
        "strftime" => text::strftime,
        "quote" => text::quote,
        "md5" => |v: JValue| -> Result<String, Error> { Ok(hex_digest("md5", text(&v)?.as_bytes()).unwrap_or_default()) },
        "sha1" => |v: JValue| -> Result<String, Error> { Ok(hex_digest("sha1", text(&v)?.as_bytes()).unwrap_or_default()) },
        "checksum" => |v: JValue| -> Result<String, Error> { Ok(hex_digest("sha1", text(&v)?.as_bytes()).unwrap_or_default()) },
        "password_hash" => password_hash,
        "hash" => text::hash,
        "regex_replace" => text::regex_replace,
        "regex_escape" => text::regex_escape,
        "regex_search" => text::regex_search,
        "regex_findall" => text::regex_findall,
        "ternary" => data::ternary,
        "random" => random,
        "shuffle" => shuffle,
        "mandatory" => data::mandatory,
        "comment" => text::comment,
        "type_debug" => |v: JValue| -> Result<String, Error> { Ok(py_type_name(&j(&v)?).into()) },
        "combine" => data::combine,
        "extract" => data::extract,
        "flatten" => data::flatten,
        "dict2items" => data::dict2items,
        "items2dict" => data::items2dict,
        "subelements" => data::subelements,
        "split" => text::split,
        "groupby" => data::groupby,
        "map" => data::map,
        "select" => data::select,
        "reject" => data::reject,
        "selectattr" => data::selectattr,
        "rejectattr" => data::rejectattr,
        "d" => data::default,
        "default" => data::default,
        // plugins/filter/mathstuff.py
        "log" => |v: JValue, rest: Rest<JValue>, kw: Kwargs| -> Result<f64, Error> {
            let a = PyArgs::new("log", rest, kw, &["base"])?;
            let base = a.get(0).map(|b| j(&b)).transpose()?;
            mathstuff::log(&j(&v)?, base.as_ref()).map_err(err)
        },
        "pow" => |v: JValue, y: JValue| -> Result<f64, Error> { mathstuff::pow(&j(&v)?, &j(&y)?).map_err(err) },
        "root" => |v: JValue, rest: Rest<JValue>, kw: Kwargs| -> Result<f64, Error> {
            let a = PyArgs::new("root", rest, kw, &["base"])?;
            let base = a.get(0).map(|b| j(&b)).transpose()?;
            mathstuff::root(&j(&v)?, base.as_ref()).map_err(err)
        },
        "unique" => unique,
        "intersect" => |a: JValue, b: JValue| setop(a, b, "intersect"),
        "difference" => |a: JValue, b: JValue| setop(a, b, "difference"),
        "symmetric_difference" => |a: JValue, b: JValue| setop(a, b, "symmetric_difference"),
        "union" => |a: JValue, b: JValue| setop(a, b, "union"),
        "product" => product,
        "permutations" => permutations,
        "combinations" => combinations,
        "human_readable" => human_readable,
        "human_to_bytes" => human_to_bytes,
        "rekey_on_member" => rekey_on_member,
        "zip" => |v: JValue, rest: Rest<JValue>, kw: Kwargs| zip(v, rest, kw, false),
        "zip_longest" => |v: JValue, rest: Rest<JValue>, kw: Kwargs| zip(v, rest, kw, true),
        // plugins/filter/urls.py, urlsplit.py, encryption.py
        "urldecode" => |v: JValue| -> Result<String, Error> { Ok(urls::urldecode(&text(&v)?)) },
        "urlsplit" => urlsplit,
        "vault" => vault,
        "unvault" => unvault,
        // Jinja's, replaced because Ansible's or Python's behaviour differs from minijinja's.
        "string" => |v: JValue| text(&v),
        "int" => to_int,
        "truncate" => truncate,
        "urlencode" => text::urlencode,
        "format" => format_filter,
    }
    jinja_aliases! { env;
        "abs" => jf::abs, "attr" => jf::attr, "batch" => jf::batch, "capitalize" => jf::capitalize,
        "count" => jf::length, "dictsort" => jf::dictsort, "e" => jf::escape, "escape" => jf::escape,
        "first" => jf::first, "float" => jf::float, "indent" => jf::indent,
        "items" => jf::items, "join" => jf::join, "last" => jf::last, "length" => jf::length,
        "list" => jf::list, "lower" => jf::lower, "max" => jf::max, "min" => jf::min,
        "pprint" => jf::pprint,
        "replace" => jf::replace, "reverse" => jf::reverse, "round" => jf::round, "safe" => jf::safe,
        "slice" => jf::slice, "sort" => jf::sort,
        "sum" => jf::sum, "title" => jf::title, "tojson" => jf::tojson, "trim" => jf::trim,
        "upper" => jf::upper,
        "center" => center,
    }
    env.add_filter("center", center);
    // ansible-core's internal collection; its tests use `finalize` to compare lazy results.
    env.add_filter("ansible._protomatter.finalize", |v: JValue| -> Result<JValue, Error> { Ok(to_jinja(&j(&v)?)) });
    env.add_function("undef", undef);
    // Not ansible-core, but common in playbooks (ansible.utils' network filters).
    env.add_filter("ipaddr", ipaddr::ipaddr);
    env.add_filter("ansible.utils.ipaddr", ipaddr::ipaddr);
    env.add_filter("ipv4", |v: JValue, q: Option<String>| ipaddr::ipfamily(v, q, 4));
    env.add_filter("ipv6", |v: JValue, q: Option<String>| ipaddr::ipfamily(v, q, 6));
    env.add_filter("json_query", json_query);
    env.add_filter("version_compare", |a: String, b: String, op: Option<String>| super::tests::version(a, b, op));
}

fn json_layout(a: &PyArgs, mut l: json::Layout) -> Result<json::Layout, Error> {
    for k in a.keywords() {
        if !["indent", "sort_keys", "separators", "ensure_ascii", "skipkeys", "allow_nan", "profile", "vault_to_text", "preprocess_unsafe"]
            .contains(&k)
        {
            return Err(err(format!("__init__() got an unexpected keyword argument '{k}'")));
        }
    }
    if let Some(i) = a.keyword("indent").filter(|i| !i.is_none()) {
        l.indent = Some(match i.as_i64() {
            Some(n) => " ".repeat(n.max(0) as usize),
            None => text(&i)?,
        });
        l.item_sep = ",".into();
    }
    if let Some(s) = a.keyword("sort_keys") {
        l.sort_keys = s.is_true();
    }
    if let Some(e) = a.keyword("ensure_ascii") {
        l.ensure_ascii = e.is_true();
    }
    if let Some(Value::Array(seps)) = a.keyword("separators").map(|s| j(&s)).transpose()? {
        if let [Value::String(i), Value::String(k)] = seps.as_slice() {
            l.item_sep = i.clone();
            l.key_sep = k.clone();
        }
    }
    Ok(l)
}

fn to_json_filter(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::any("to_json", rest, kw)?;
    let l = json_layout(&a, json::Layout::python(None, false, true))?;
    Ok(JValue::from(json::dumps(&j(&v)?, &l)))
}

fn to_nice_json(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::any("to_nice_json", rest, kw)?;
    let mut l = json_layout(&a, json::Layout::python(Some(4), true, true))?;
    if let Some(i) = a.positional().first() {
        l.indent = Some(" ".repeat(i.as_i64().unwrap_or(4).max(0) as usize));
    }
    l.item_sep = ",".into();
    l.key_sep = ": ".into();
    Ok(JValue::from(json::dumps(&j(&v)?, &l)))
}

fn from_json(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    PyArgs::any("from_json", rest, kw)?;
    let s = text(&v)?;
    let parsed: Value = serde_json::from_str(&s).map_err(|e| err(e.to_string()))?;
    Ok(to_jinja(&parsed))
}

fn to_yaml(v: JValue, rest: Rest<JValue>, kw: Kwargs, nice: bool) -> Result<JValue, Error> {
    let a = PyArgs::any(if nice { "to_nice_yaml" } else { "to_yaml" }, rest, kw)?;
    let mut o = yaml::Options { flow: if nice { Some(false) } else { None }, ..yaml::Options::default() };
    if nice {
        o.indent = 4;
        if let Some(i) = a.positional().first() {
            o.indent = i.as_i64().ok_or_else(|| err("indent must be an integer"))?;
        }
    }
    for k in a.keywords() {
        let val = a.keyword(k).unwrap_or_default();
        let int = || val.as_i64().ok_or_else(|| err(format!("{k} must be an integer")));
        match k {
            "indent" => o.indent = int()?,
            "width" => o.width = int()?,
            "default_flow_style" => o.flow = if val.is_none() { None } else { Some(val.is_true()) },
            "default_style" => o.style = val.as_str().and_then(|s| s.chars().next()).filter(|c| "\"'|>".contains(*c)),
            "canonical" => o.canonical = val.is_true(),
            "explicit_start" => o.explicit_start = val.is_true(),
            "explicit_end" => o.explicit_end = val.is_true(),
            "sort_keys" => o.sort_keys = val.is_true(),
            "line_break" => {
                if let Some(lb) = val.as_str().filter(|l| ["\n", "\r", "\r\n"].contains(l)) {
                    o.line_break = lb.to_string();
                }
            }
            "version" => {
                let parts: Vec<i64> = val.try_iter()?.filter_map(|x| x.as_i64()).collect();
                if let [major, minor] = parts.as_slice() {
                    o.version = Some((*major, *minor));
                }
            }
            "encoding" | "tags" => {}
            "allow_unicode" => return Err(err("yaml.dump() got multiple values for keyword argument 'allow_unicode'")),
            other => return Err(err(format!("dump_all() got an unexpected keyword argument '{other}'"))),
        }
    }
    Ok(JValue::from(yaml::dump(&j(&v)?, &o)))
}

fn from_yaml(v: JValue) -> Result<JValue, Error> {
    match j(&v)? {
        Value::String(s) => {
            let node = crate::yaml::parse_str(&s, std::path::Path::new("<from_yaml>")).map_err(|e| err(e.message))?;
            Ok(to_jinja(&node.to_value()))
        }
        other => Ok(to_jinja(&other)),
    }
}

fn from_yaml_all(v: JValue) -> Result<JValue, Error> {
    match j(&v)? {
        Value::Null => Ok(to_jinja(&Value::Array(vec![]))),
        Value::String(s) => Ok(to_jinja(&Value::Array(yaml::load_all(&s).map_err(err)?))),
        other => Ok(to_jinja(&other)),
    }
}

/// The text a path function works on; Python's `os.path` rejects anything else.
fn path_arg(v: &JValue) -> Result<String, Error> {
    match j(v)? {
        Value::String(s) => Ok(s),
        other => Err(err(format!("expected str, bytes or os.PathLike object, not {}", py_type_name(&other)))),
    }
}

fn path_fn(v: JValue, f: fn(&str) -> String) -> Result<JValue, Error> {
    Ok(JValue::from(f(&path_arg(&v)?)))
}

fn relpath(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("relpath", rest, kw, &["start"])?;
    let start = a.get(0).filter(|s| !s.is_none()).map(|s| path_arg(&s)).transpose()?;
    paths::relpath(&path_arg(&v)?, start.as_deref()).map(JValue::from).map_err(err)
}

/// Ansible's `bool`: yes/no/on/off/true/false/1/0 in any case; other values compare with 1.
fn bool_filter(v: JValue) -> Result<bool, Error> {
    if v.is_none() {
        return Ok(false);
    }
    Ok(match j(&v)? {
        Value::Bool(b) => b,
        Value::String(s) => matches!(s.to_lowercase().as_str(), "yes" | "on" | "true" | "1"),
        Value::Number(n) => n.as_f64() == Some(1.0),
        _ => false,
    })
}

/// Python's name for a value's type (`type_debug`, error messages).
pub fn py_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Jinja's `int(value, default=0, base=10)`.
fn to_int(v: JValue, default: Option<i64>, kw: Kwargs) -> Result<i64, Error> {
    let base: Option<u32> = kw.get("base")?;
    kw.assert_all_used()?;
    let d = default.unwrap_or(0);
    Ok(match j(&v)? {
        Value::Number(n) => n.as_i64().unwrap_or_else(|| n.as_f64().unwrap_or(0.0) as i64),
        Value::Bool(b) => b as i64,
        Value::String(s) => {
            let s = s.trim().replace('_', "");
            match base {
                Some(b) => {
                    let digits = s.trim_start_matches("0x").trim_start_matches("0o").trim_start_matches("0b");
                    i64::from_str_radix(digits, b).unwrap_or(d)
                }
                None => s.parse::<i64>().or_else(|_| s.parse::<f64>().map(|f| f as i64)).unwrap_or(d),
            }
        }
        _ => d,
    })
}

/// Jinja's `truncate(length=255, killwords=False, end='...', leeway=5)`.
fn truncate(s: String, length: Option<usize>, killwords: Option<bool>, end: Option<String>, leeway: Option<usize>) -> String {
    let length = length.unwrap_or(255);
    let end = end.unwrap_or_else(|| "...".into());
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= length + leeway.unwrap_or(5) {
        return s;
    }
    let keep: String = chars[..length.saturating_sub(end.chars().count())].iter().collect();
    if killwords.unwrap_or(false) {
        return keep + &end;
    }
    match keep.rsplit_once(' ') {
        Some((head, _)) => head.to_string() + &end,
        None => keep + &end,
    }
}

/// Jinja's `center(width=80)`.
fn center(s: String, width: Option<usize>) -> String {
    let width = width.unwrap_or(80);
    let n = s.chars().count();
    if n >= width {
        return s;
    }
    // Python's str.center puts the odd space on the left when the width is odd.
    let total = width - n;
    let left = total / 2 + (total & width & 1);
    format!("{}{s}{}", " ".repeat(left), " ".repeat(total - left))
}

fn password_hash(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("password_hash", rest, kw, &["hashtype", "salt", "salt_size", "rounds", "ident"])?;
    let scheme = a.string_or(0, "sha512")?;
    let known = ["md5", "blowfish", "sha256", "sha512", "md5_crypt", "bcrypt", "sha256_crypt", "sha512_crypt"];
    if !known.contains(&scheme.as_str()) {
        return Err(err(format!("{scheme} is not in the list of supported passlib algorithms: md5, blowfish, sha256, sha512")));
    }
    if let Some(size) = a.get(2).filter(|s| !s.is_none()) {
        if size.as_i64().is_none() {
            return Err(err("salt_size must be an integer"));
        }
    }
    let rounds = match a.get(3).filter(|r| !r.is_none()) {
        Some(r) => Some(r.as_i64().ok_or_else(|| err("rounds must be an integer"))?.max(0) as usize),
        None => None,
    };
    if rounds.is_some_and(|r| r < 1000) {
        return Err(err(format!("Could not hash the secret: rounds must be at least 1000 for {scheme}")));
    }
    let salt = a.get(1).filter(|s| !s.is_none()).map(|s| text(&s)).transpose()?;
    crate::crypt::hash_password(&text(&v)?, &scheme, salt.as_deref(), rounds)
        .map(JValue::from)
        .map_err(|e| err(format!("Could not hash the secret: {e}")))
}

fn json_query(v: JValue, expr: String) -> Result<JValue, Error> {
    let data = j(&v)?;
    let out = crate::jsonpath::query(&data, &expr).map_err(|e| err(format!("json_query: {e}")))?;
    Ok(to_jinja(&out))
}

fn rng(seed: Option<JValue>) -> Result<pyrandom::PyRandom, Error> {
    Ok(match seed.map(|s| j(&s)).transpose()? {
        None | Some(Value::Null) => pyrandom::PyRandom::from_entropy(),
        Some(Value::String(s)) => pyrandom::PyRandom::new(pyrandom::Seed::Str(&s)),
        Some(Value::Bool(b)) => pyrandom::PyRandom::new(pyrandom::Seed::Int(b as u128)),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => pyrandom::PyRandom::new(pyrandom::Seed::Int(i.unsigned_abs() as u128)),
            None => match n.as_u64() {
                Some(u) => pyrandom::PyRandom::new(pyrandom::Seed::Int(u as u128)),
                None => pyrandom::PyRandom::new(pyrandom::Seed::Float(n.as_f64().unwrap_or(0.0))),
            },
        },
        Some(other) => {
            return Err(err(format!(
                "The only supported seed types are: None, int, float, str, bytes, and bytearray, not {}",
                py_type_name(&other)
            )))
        }
    })
}

/// `random`: a number below an integer, or an item of a sequence; seeded as Python's Random.
fn random(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("random", rest, kw, &["start", "step", "seed"])?;
    let mut r = rng(a.get(2))?;
    let truthy = |x: Option<JValue>| x.filter(|x| x.is_true());
    let end = j(&v)?;
    let int_end = match &end {
        Value::Bool(b) => Some(*b as i64),
        Value::Number(n) => n.as_i64(),
        _ => None,
    };
    if let Some(end) = int_end {
        let start = truthy(a.get(0)).and_then(|s| s.as_i64()).unwrap_or(0);
        let step = truthy(a.get(1)).and_then(|s| s.as_i64()).unwrap_or(1);
        return r.randrange(start, end, step).map(JValue::from).map_err(err);
    }
    if matches!(end, Value::Array(_) | Value::String(_) | Value::Object(_)) {
        if truthy(a.get(0)).is_some() || truthy(a.get(1)).is_some() {
            return Err(err("start and step can only be used with integer values"));
        }
        let items = py_iter(&end).map_err(err)?;
        if items.is_empty() {
            return Err(err("Cannot choose from an empty sequence"));
        }
        if let Value::Object(_) = end {
            return Err(err(format!("{}", r.below(items.len() as u64))));
        }
        return Ok(to_jinja(&items[r.below(items.len() as u64) as usize]));
    }
    Err(err("random can only be used on sequences and integers"))
}

/// `shuffle`: a shuffled list of the items; a value that is not iterable comes back as is.
fn shuffle(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("shuffle", rest, kw, &["seed"])?;
    let Ok(mut items) = py_iter(&j(&v)?) else { return Ok(v) };
    let seed = a.get(0).filter(|s| s.is_true());
    rng(seed)?.shuffle(&mut items);
    Ok(to_jinja(&Value::Array(items)))
}

fn unique(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("unique", rest, kw, &["case_sensitive", "attribute"])?;
    let cs = a.get(0).filter(|c| !c.is_none()).map(|c| c.is_true());
    let attr = a.get(1).filter(|c| !c.is_none()).map(|c| text(&c)).transpose()?;
    mathstuff::unique(&j(&v)?, cs, attr.as_deref()).map(|x| to_jinja(&x)).map_err(err)
}

fn setop(a: JValue, b: JValue, op: &str) -> Result<JValue, Error> {
    mathstuff::setop(&j(&a)?, &j(&b)?, op).map(|x| to_jinja(&x)).map_err(err)
}

fn iterables(v: &JValue, rest: &[JValue]) -> Result<Vec<Vec<Value>>, Error> {
    std::iter::once(v).chain(rest).map(|x| py_iter(&j(x)?).map_err(err)).collect()
}

fn product(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::any("product", rest, kw)?;
    if let Some(k) = a.keywords().find(|k| *k != "repeat") {
        return Err(err(format!("product() got an unexpected keyword argument '{k}'")));
    }
    let repeat = a.keyword("repeat").and_then(|r| r.as_i64()).unwrap_or(1).max(0) as usize;
    Ok(tuples(mathstuff::product(&iterables(&v, a.positional())?, repeat)))
}

fn permutations(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("permutations", rest, kw, &["r"])?;
    let pool = py_iter(&j(&v)?).map_err(err)?;
    let r = a.get(0).filter(|r| !r.is_none()).map(|r| r.as_i64().unwrap_or(0).max(0) as usize);
    Ok(tuples(mathstuff::permutations(&pool, r)))
}

fn combinations(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("combinations", rest, kw, &["r"])?;
    let pool = py_iter(&j(&v)?).map_err(err)?;
    let r = a.get(0).ok_or_else(|| err("combinations() missing required argument 'r' (pos 2)"))?;
    let r = r.as_i64().ok_or_else(|| err("'str' object cannot be interpreted as an integer"))?;
    if r < 0 {
        return Err(err("r must be non-negative"));
    }
    Ok(tuples(mathstuff::combinations(&pool, r as usize)))
}

fn zip(v: JValue, rest: Rest<JValue>, kw: Kwargs, longest: bool) -> Result<JValue, Error> {
    let a = PyArgs::any(if longest { "zip_longest" } else { "zip" }, rest, kw)?;
    let fill = match a.keyword("fillvalue") {
        Some(f) if longest => f,
        _ => JValue::from(()),
    };
    if let Some(k) = a.keywords().find(|k| !(longest && *k == "fillvalue")) {
        return Err(err(format!("zip() got an unexpected keyword argument '{k}'")));
    }
    let lists = std::iter::once(&v).chain(a.positional()).map(py_iter_values).collect::<Result<Vec<_>, _>>()?;
    let rows = mathstuff::zip(&lists, longest, &fill);
    Ok(JValue::from(rows.into_iter().map(|r| JValue::from(minijinja::value::Tuple::new(r))).collect::<Vec<_>>()))
}

/// `for x in value` over template values, which keeps what a template built as it is (an
/// undefined value inside a mapping stays undefined), as Python's `zip` passes items through.
fn py_iter_values(v: &JValue) -> Result<Vec<JValue>, Error> {
    if v.is_undefined() {
        return Err(Error::new(ErrorKind::UndefinedError, "undefined value"));
    }
    if let Some(s) = v.as_str() {
        return Ok(s.chars().map(|c| JValue::from(c.to_string())).collect());
    }
    match v.kind() {
        minijinja::value::ValueKind::Seq | minijinja::value::ValueKind::Iterable | minijinja::value::ValueKind::Map => {
            Ok(v.try_iter()?.collect())
        }
        _ => Err(err(format!("'{}' object is not iterable", py_type_name(&j(v)?)))),
    }
}

fn human_readable(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("human_readable", rest, kw, &["isbits", "unit"])?;
    let unit = a.get(1).filter(|u| !u.is_none()).map(|u| text(&u)).transpose()?;
    mathstuff::human_readable(&j(&v)?, a.get(0).is_some_and(|b| b.is_true()), unit.as_deref()).map(JValue::from).map_err(err)
}

fn human_to_bytes(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("human_to_bytes", rest, kw, &["default_unit", "isbits"])?;
    let unit = a.get(0).filter(|u| !u.is_none()).map(|u| text(&u)).transpose()?;
    mathstuff::human_to_bytes(&j(&v)?, unit.as_deref(), a.get(1).is_some_and(|b| b.is_true())).map(|x| to_jinja(&x)).map_err(err)
}

fn rekey_on_member(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("rekey_on_member", rest, kw, &["key", "duplicates"])?;
    let key = j(&a.required(0)?)?;
    let dup = a.string_or(1, "error")?;
    mathstuff::rekey_on_member(&j(&v)?, &key, &dup).map(|x| to_jinja(&x)).map_err(err)
}

fn urlsplit(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("urlsplit", rest, kw, &["query", "alias"])?;
    let query = a.string_or(0, "")?;
    let alias = a.string_or(1, "urlsplit")?;
    let parts = urls::split(&text(&v)?).map_err(err)?.to_map().map_err(err)?;
    if query.is_empty() {
        return Ok(to_jinja(&Value::Object(parts)));
    }
    parts.get(&query).map(to_jinja).ok_or_else(|| err(format!("{alias}: unknown URL component: {query}")))
}

fn vault(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("vault", rest, kw, &["secret", "salt", "vault_id", "wrap_object", "vaultid"])?;
    let secret = match j(&a.required(0)?)? {
        Value::String(s) => s,
        other => return Err(err(format!("Secret passed is required to be a string, instead we got {}.", py_class(&other)))),
    };
    let data = match j(&v)? {
        Value::String(s) => s,
        other => return Err(err(format!("Can only vault strings, instead we got {}.", py_class(&other)))),
    };
    let salt = a.get(1).filter(|s| !s.is_none()).map(|s| text(&s)).transpose()?;
    if salt.as_deref() == Some("") {
        return Err(err("Unable to encrypt."));
    }
    let mut id = a.string_or(2, "filter_default")?;
    if id == "filter_default" {
        if let Some(old) = a.get(4).filter(|x| !x.is_none()) {
            id = text(&old)?;
        }
    }
    Ok(JValue::from(vaulting::encrypt(data.as_bytes(), &secret, &id, salt.as_deref().map(str::as_bytes))))
}

fn unvault(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("unvault", rest, kw, &["secret", "vault_id", "vaultid"])?;
    let secret = match j(&a.required(0)?)? {
        Value::String(s) => s,
        other => return Err(err(format!("Secret passed is required to be as string, instead we got {}.", py_class(&other)))),
    };
    // As Ansible's unvault: an undecryptable value is what it decrypts.
    let vault = match super::encrypted::ciphertext(&v) {
        Some(ct) => ct,
        None => match j(&v)? {
            Value::String(s) => s,
            other => return Err(err(format!("Vault should be in the form of a string, instead we got {}.", py_class(&other)))),
        },
    };
    if !vaulting::is_encrypted(&vault) {
        return Ok(JValue::from(vault));
    }
    let plain = vaulting::decrypt(&vault, &secret).ok_or_else(|| err("Unable to decrypt."))?;
    Ok(JValue::from(String::from_utf8_lossy(&plain).into_owned()))
}

/// Jinja's `format`: Python's `%` with the positional arguments or the keyword ones.
fn format_filter(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::any("format", rest, kw)?;
    let fmt = text(&v)?;
    let named: Map<String, Value> =
        a.keywords().map(|k| Ok((k.to_string(), j(&a.keyword(k).unwrap_or_default())?))).collect::<Result<_, Error>>()?;
    let out = if named.is_empty() {
        let pos: Vec<Value> = a.positional().iter().map(j).collect::<Result<_, _>>()?;
        pyformat::format(&fmt, pyformat::Args::Positional(&pos))
    } else if a.positional().is_empty() {
        pyformat::format(&fmt, pyformat::Args::Named(&named))
    } else {
        return Err(err("can't handle positional and keyword arguments at the same time"));
    };
    out.map(JValue::from).map_err(err)
}

/// Python's `'...' % args`: a tuple (Jinja's `(a, b)`, a list here) gives the positional
/// arguments, a mapping gives the named ones when the format names any, anything else is the
/// one argument.
pub(crate) fn percent(fmt: &str, args: &JValue) -> Result<JValue, Error> {
    let out = match j(args)? {
        Value::Array(pos) => pyformat::format(fmt, pyformat::Args::Positional(&pos)),
        Value::Object(named) if fmt.contains("%(") => pyformat::format(fmt, pyformat::Args::Named(&named)),
        one => pyformat::format(fmt, pyformat::Args::Positional(std::slice::from_ref(&one))),
    };
    out.map(JValue::from).map_err(err)
}

/// `undef(hint)`: a value that fails when used, for variables that must be overridden.
fn undef(hint: Option<String>) -> Result<JValue, Error> {
    Err(err(hint.unwrap_or_else(|| "Mandatory variable has not been overridden".into())))
}

pub fn combine_values(a: &mut Map<String, Value>, b: &Map<String, Value>, recursive: bool, list_merge: &str) {
    for (k, v) in b {
        match (a.get_mut(k), v) {
            (Some(Value::Object(am)), Value::Object(bm)) if recursive => combine_values(am, bm, true, list_merge),
            (Some(Value::Array(al)), Value::Array(bl)) if list_merge != "replace" => match list_merge {
                "append" => al.extend(bl.iter().cloned()),
                "prepend" => {
                    let mut n = bl.clone();
                    n.append(al);
                    *al = n;
                }
                "append_rp" => {
                    al.retain(|x| !bl.contains(x));
                    al.extend(bl.iter().cloned());
                }
                "prepend_rp" => {
                    let mut n = bl.clone();
                    n.extend(al.iter().filter(|x| !bl.contains(x)).cloned());
                    *al = n;
                }
                "keep" => {}
                _ => *al = bl.clone(),
            },
            _ => {
                a.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Python's replacement syntax (`\\1`, `\\g<name>`, `\\n`, `\\t`) in Rust regex's (`${1}`).
pub fn py_replacement(r: &str) -> String {
    let mut out = String::new();
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut num = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        num.push(d);
                        chars.next();
                    }
                    out.push_str(&format!("${{{num}}}"));
                }
                Some('g') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        out.push_str("\\g");
                    }
                }
                Some('t') => {
                    chars.next();
                    out.push('\t');
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::env;
    use serde_json::json;

    fn r(t: &str) -> String {
        env().render_str(t, ()).unwrap_or_else(|e| format!("ERR {}", e.detail().unwrap_or("")))
    }

    #[test]
    fn python_float_repr() {
        for (f, want) in [
            (1e-5, "1e-05"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (0.000123, "0.000123"),
            (1.5, "1.5"),
            (-2.0, "-2.0"),
            (123456789.123, "123456789.123"),
        ] {
            assert_eq!(py_float_repr(f), want);
        }
    }

    #[test]
    fn replacement_syntax() {
        assert_eq!(py_replacement(r"\1-\g<name>$"), "${1}-${name}$$");
    }

    // Expected strings: ansible-core 2.19.14 (its integration targets and `ansible -m debug`).
    #[test]
    fn serialization() {
        let v = json!({"sublist": ["howdy"], "subdict": {"k1": "v1"}});
        let s = crate::template::Scope::new(vec![std::sync::Arc::new(json!({ "thing": v }).as_object().unwrap().clone())], None);
        let t = |e: &str| crate::template::render_value(&json!(e), &s).unwrap();
        assert_eq!(t("{{ thing | to_yaml }}"), json!("subdict: {k1: v1}\nsublist: [howdy]\n"));
        assert_eq!(t("{{ thing | to_nice_yaml }}"), json!("subdict:\n    k1: v1\nsublist:\n- howdy\n"));
        assert_eq!(t("{{ thing | to_json }}"), json!("{\"sublist\": [\"howdy\"], \"subdict\": {\"k1\": \"v1\"}}"));
        assert_eq!(
            t("{{ thing | to_nice_json }}"),
            json!("{\n    \"subdict\": {\n        \"k1\": \"v1\"\n    },\n    \"sublist\": [\n        \"howdy\"\n    ]\n}")
        );
        assert_eq!(r("{{ 'thing' | to_yaml(default_style='|') }}"), "|-\n  thing\n");
        assert_eq!(r("{{ 'thing' | to_yaml(canonical=True) }}"), "---\n!!str \"thing\"\n");
        assert!(r("{{ 'thing' | to_yaml(nonexistent_argument=True) }}").contains("unexpected keyword argument"));
        assert_eq!(
            r("{{ '---\nbananas: yellow\n---\napples: red' | from_yaml_all | list }}"),
            "[{'bananas': 'yellow'}, {'apples': 'red'}]"
        );
        assert_eq!(r("{{ none | from_yaml_all }}"), "[]");
        assert_eq!(r("{{ 2 | from_yaml }}"), "2");
    }

    #[test]
    fn data_filters() {
        assert_eq!(r("{{ [1, 2, [3, [4, [5]], 6], 7] | flatten(levels=1) }}"), "[1, 2, 3, [4, [5]], 6, 7]");
        assert_eq!(r("{{ [1, none, [3, [4, [5]], 6], 7] | flatten(skip_nulls=False) }}"), "[1, None, 3, 4, 5, 6, 7]");
        assert_eq!(r("{{ [1, 2, [none, [4]]] | flatten }}"), "[1, 2, 4]");
        assert_eq!(r("{{ none | combine }}"), "{}");
        assert!(r("{{ [1] | combine(foo='bar') }}").contains("'recursive' and 'list_merge' are the only valid keyword arguments"));
        assert!(r("{{ [{'a': 1}, [{'b': 2}]] | combine({'c': 3}) }}").contains("failed to combine variables, expected dicts but got"));
        let d = "{'a': {'x': 1, 'l': [1, 1, 2]}, 'b': [1]}";
        let p = "{'a': {'y': 2, 'l': [2, 3]}, 'b': [2]}";
        assert_eq!(
            r(&format!("{{{{ {d} | combine({p}, recursive=True, list_merge='append_rp') }}}}")),
            "{'a': {'x': 1, 'l': [1, 1, 2, 3], 'y': 2}, 'b': [1, 2]}"
        );
        assert!(r("{{ True | subelements('foo') }}").contains("obj must be a list of dicts or a nested dict"));
        assert!(r("{{ {} | subelements(17) }}").contains("subelements must be a list or a string"));
        let demo = r#"[{"name": "alice", "groups": ["wheel"], "authorized": ["/tmp/alice/onekey.pub"]}]"#;
        assert!(r(&format!("{{{{ {demo} | subelements('does not compute') }}}}")).contains("could not find"));
        assert_eq!(r(&format!("{{{{ {demo} | subelements('does not compute', skip_missing=True) }}}}")), "[]");
        assert!(r(&format!("{{{{ {demo} | subelements('name') }}}}")).contains("should point to a list"));
        assert!(r(&format!("{{{{ {demo} | subelements(['groups', 'authorized']) }}}}")).contains("should point to a dictionary"));
        assert_eq!(r(&format!("{{{{ {demo} | subelements('groups') == [({demo}[0], 'wheel')] }}}}")), "True");
        assert!(r("{{ True | dict2items }}").contains("dict2items requires a dictionary"));
        assert!(r("{{ True | items2dict }}").contains("items2dict requires a list"));
        assert!(r("{{ [True] | items2dict }}").contains("items2dict requires a list of dictionaries"));
        assert!(r("{{ [{'key': 'a', 'notvalue': 1}] | items2dict }}").contains("to contain the keys 'key' and 'value'"));
        assert!(r("{{ True | path_join }}").contains("expects string or sequence"));
        assert!(r("{{ '/foo/bar/foobar' | commonpath }}").contains("|commonpath expects"));
        assert_eq!(r("{{ ([{'a': 1}] | groupby('a'))[0] | string }}"), "(1, [{'a': 1}])");
        assert_eq!(r("{{ false | default('passed', boolean=true) }}"), "passed");
        assert_eq!(r("{{ None | ternary('seven', 'eight', 'nine') }}"), "nine");
        assert_eq!(r("{{ 'haha' | ternary('seven', 'eight') }}"), "seven");
        assert!(r("{{ nope | mandatory('sad wolf') }}").contains("sad wolf"));
        assert_eq!(r("{{ nope | map('upper') is undefined }}"), "True");
        assert_eq!(r("{{ ['a'] | map('upper') | list }}"), "['A']");
        assert_eq!(r("{{ [{'a': 1}, {'a': 0}] | selectattr('a') | list }}"), "[{'a': 1}]");
        assert!(r("{{ {'a': {'b': nope}} | to_json }}").starts_with("ERR"));
    }

    #[test]
    fn math_and_random() {
        assert_eq!(r("{{ 2 | random(seed=1337) }}"), "1");
        assert_eq!(r("{{ [1,3,5,7,9] | shuffle(seed=1337) }}"), "[3, 1, 7, 5, 9]");
        assert_eq!(r("{{ 22 | shuffle }}"), "22");
        assert!(r("{{ None | random }}").contains("random can only be used on"));
        assert!(r("{{ [1,2,3] | random(step=2) }}").contains("start and step can only be used"));
        assert_eq!(r("{{ 100 | log(10) }}"), "2.0");
        assert!(r("{{ 'yo' | log }}").contains("can only be used on numbers"));
        assert_eq!(r("{{ 9 | root(1) }}"), "9.0");
        assert_eq!(r("{{ [1, 2] | zip(['a', 'b', 'c']) | list }}"), "[[1, 'a'], [2, 'b']]");
        assert_eq!(r("{{ [1, 2] | zip(['a', 'b']) | list | string }}"), "[(1, 'a'), (2, 'b')]");
        assert_eq!(r("{{ ([1] | zip(['a']) | first) | string }}"), "(1, 'a')");
        // Python's zip passes items through: an undefined value inside stays undefined.
        assert_eq!(r("{{ (([{'a': nope}] | zip([1]) | first | first).a) is undefined }}"), "True");
        assert_eq!(r("{{ 'ab' | zip({'x': 1, 'y': 2}) | list }}"), "[['a', 'x'], ['b', 'y']]");
        assert!(r("{{ 1 | zip([1]) | list }}").contains("'int' object is not iterable"));
        assert_eq!(r("{{ [1, 2] | zip(['a', 'b']) | list == [(1, 'a'), (2, 'b')] }}"), "True");
        assert_eq!(r("{{ '%s-%r' | format('a', 'b') }}"), "a-'b'");
        assert_eq!(r("{{ [1, 2] | zip_longest(['a', 'b', 'c'], fillvalue='x') | list }}"), "[[1, 'a'], [2, 'b'], ['x', 'c']]");
        assert_eq!(r("{{ 'abc' | permutations(2) | list | length }}"), "6");
        assert_eq!(r("{{ '  a' | center(6) }}"), "   a  ");
        assert_eq!(r("{{ 'a' | center(4) }}"), " a  ");
    }

    #[test]
    fn urls_and_vault() {
        let u = "'http://mary:MySecret@www.acme.com:9000/dir/index.html?query=term#fragment'";
        assert_eq!(r(&format!("{{{{ {u} | urlsplit('port') }}}}")), "9000");
        assert!(r(&format!("{{{{ {u} | urlsplit('bad_filter') }}}}")).contains("unknown URL component"));
        assert_eq!(r("{{ 'a%20b+c' | urldecode }}"), "a b c");
        assert_eq!(r("{{ 'secret' | vault('test', salt=7) | unvault('test') }}"), "secret");
        assert!(r("{{ 'x' | vault(5) }}").contains("Secret passed is required to be a string"));
    }
}
