//! Filters that reshape data: `combine`, `dict2items`/`items2dict`, `flatten`, `subelements`,
//! `extract`, `groupby`, and the value-choosing `default`, `ternary` and `mandatory`, with the
//! argument checks and messages of Ansible's `core.py` (playbooks assert on several of them).

use std::sync::Arc;

use minijinja::value::{Enumerator, Kwargs, Object, ObjectRepr, Rest, ValueOrKwargs};
use minijinja::State;
use minijinja::{Error, ErrorKind, Value as JValue};
use serde_json::{Map, Value};

use super::{err, is_sequence, j, py_class, py_iter, py_repr, py_type_name, to_jinja, PyArgs};
use crate::template::to_text;

/// A Python tuple with named fields (`groupby`'s `(grouper, list)`): indexable, iterable,
/// and printed by `string` the way Python prints a tuple.
#[derive(Debug)]
pub struct PyTuple {
    items: Vec<JValue>,
    names: &'static [&'static str],
}

impl Object for PyTuple {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        if let Some(i) = key.as_usize() {
            return self.items.get(i).cloned();
        }
        let name = key.as_str()?;
        self.names.iter().position(|n| *n == name).and_then(|i| self.items.get(i).cloned())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.items.len())
    }
}

impl PyTuple {
    /// `repr(tuple)`: `(1, 'a')`, `(1,)` for one item.
    pub fn py_repr(&self) -> String {
        let items: Vec<String> = self.items.iter().map(|x| j(x).map(|v| py_repr(&v)).unwrap_or_default()).collect();
        if items.len() == 1 {
            format!("({},)", items[0])
        } else {
            format!("({})", items.join(", "))
        }
    }
}

/// Jinja's `groupby`, its groups as `(grouper, list)` tuples.
pub fn groupby(v: JValue, attribute: Option<String>, kw: Kwargs) -> Result<JValue, Error> {
    let groups = minijinja::filters::groupby(v, attribute.as_deref(), kw)?;
    let mut out = Vec::new();
    for g in groups.try_iter()? {
        let grouper = g.get_item(&JValue::from(0))?;
        let list: Vec<JValue> = g.get_item(&JValue::from(1))?.try_iter()?.collect();
        out.push(JValue::from_object(PyTuple { items: vec![grouper, JValue::from(list)], names: &["grouper", "list"] }));
    }
    Ok(JValue::from(out))
}

/// Ansible's `default`: only an undefined value (or, with `boolean`, a false one) is replaced.
pub fn default(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("default", rest, kw, &["default_value", "boolean"])?;
    let boolean = match a.get(1) {
        None => false,
        Some(b) if b.kind() == minijinja::value::ValueKind::Bool => b.is_true(),
        Some(b) => {
            let t = py_type_name(&j(&b).unwrap_or(Value::Null));
            return Err(err(format!("The 'boolean' argument must be of type 'bool', not '{t}'.")));
        }
    };
    if v.is_undefined() || (boolean && !v.is_true()) {
        return Ok(a.get(0).unwrap_or_else(|| JValue::from("")));
    }
    Ok(v)
}

pub fn ternary(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("ternary", rest, kw, &["true_val", "false_val", "none_val"])?;
    let (t, f) = (a.required(0)?, a.required(1)?);
    if v.is_none() {
        if let Some(n) = a.get(2).filter(|n| !n.is_none()) {
            return Ok(n);
        }
    }
    Ok(if v.is_true() { t } else { f })
}

pub fn mandatory(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("mandatory", rest, kw, &["msg"])?;
    if v.is_undefined() {
        let msg = match a.get(0).filter(|m| !m.is_none()) {
            Some(m) => super::text(&m)?,
            None => "Mandatory variable not defined.".to_string(),
        };
        return Err(err(msg));
    }
    Ok(v)
}

/// `merge_hash`: `y` wins over `x`; maps merge deeper only when recursive.
fn merge_hash(x: &Value, y: &Value, recursive: bool, list_merge: &str) -> Result<Value, Error> {
    let (Value::Object(xm), Value::Object(ym)) = (x, y) else {
        let name = |v: &Value| py_type_name(v).to_string();
        return Err(err(format!("failed to combine variables, expected dicts but got a '{}' and a '{}'.", name(x), name(y))));
    };
    if xm.is_empty() || x == y {
        return Ok(y.clone());
    }
    if ym.is_empty() {
        return Ok(x.clone());
    }
    let mut out = xm.clone();
    super::combine_values(&mut out, ym, recursive, list_merge);
    Ok(Value::Object(out))
}

pub fn combine(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::any("combine", rest, kw)?;
    if a.keywords().any(|k| k != "recursive" && k != "list_merge") {
        return Err(err("'recursive' and 'list_merge' are the only valid keyword arguments"));
    }
    let recursive = a.keyword("recursive").is_some_and(|r| r.is_true());
    let list_merge = match a.keyword("list_merge") {
        Some(l) => super::text(&l)?,
        None => "replace".into(),
    };
    if !["replace", "keep", "append", "prepend", "append_rp", "prepend_rp"].contains(&list_merge.as_str()) {
        return Err(err(
            "merge_hash: 'list_merge' argument can only be equal to 'replace', 'keep', 'append', 'prepend', 'append_rp' or 'prepend_rp'",
        ));
    }
    let mut terms = vec![j(&v)?];
    for p in a.positional() {
        terms.push(j(p)?);
    }
    let dicts = flatten_values(&terms, Some(1), true);
    let Some(mut result) = dicts.last().cloned() else {
        return Ok(to_jinja(&Value::Object(Map::new())));
    };
    for d in dicts.iter().rev().skip(1) {
        result = merge_hash(d, &result, recursive, &list_merge)?;
    }
    Ok(to_jinja(&result))
}

fn is_null_like(v: &Value) -> bool {
    matches!(v, Value::Null) || matches!(v, Value::String(s) if s == "None" || s == "null")
}

fn flatten_values(items: &[Value], levels: Option<i64>, skip_nulls: bool) -> Vec<Value> {
    let mut out = Vec::new();
    for x in items {
        if skip_nulls && is_null_like(x) {
            continue;
        }
        match x {
            Value::Array(inner) => match levels {
                None => out.extend(flatten_values(inner, None, skip_nulls)),
                Some(l) if l >= 1 => out.extend(flatten_values(inner, Some(l - 1), skip_nulls)),
                Some(_) => out.push(x.clone()),
            },
            other => out.push(other.clone()),
        }
    }
    out
}

pub fn flatten(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("flatten", rest, kw, &["levels", "skip_nulls"])?;
    let levels = match a.get(0).filter(|l| !l.is_none()) {
        Some(l) => Some(l.as_i64().ok_or_else(|| err("'>=' not supported between instances of 'str' and 'int'"))?),
        None => None,
    };
    let skip_nulls = a.get(1).map(|s| s.is_true()).unwrap_or(true);
    let items = py_iter(&j(&v)?).map_err(err)?;
    Ok(to_jinja(&Value::Array(flatten_values(&items, levels, skip_nulls))))
}

pub fn dict2items(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("dict2items", rest, kw, &["key_name", "value_name"])?;
    let (kn, vn) = (a.string_or(0, "key")?, a.string_or(1, "value")?);
    let v = j(&v)?;
    let Value::Object(m) = v else {
        return Err(Error::new(ErrorKind::InvalidOperation, format!("dict2items requires a dictionary, got {} instead.", py_class(&v))));
    };
    let out: Vec<Value> = m
        .into_iter()
        .map(|(k, v)| {
            let mut e = Map::new();
            e.insert(kn.clone(), Value::String(k));
            e.insert(vn.clone(), v);
            Value::Object(e)
        })
        .collect();
    Ok(to_jinja(&Value::Array(out)))
}

pub fn items2dict(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("items2dict", rest, kw, &["key_name", "value_name"])?;
    let (kn, vn) = (a.string_or(0, "key")?, a.string_or(1, "value")?);
    let v = j(&v)?;
    let Value::Array(items) = &v else {
        return Err(err(format!("items2dict requires a list, got {} instead.", py_class(&v))));
    };
    let mut out = Map::new();
    for item in items {
        let Value::Object(m) = item else {
            return Err(err(format!("items2dict requires a list of dictionaries, got {} instead.", py_repr(&v))));
        };
        match (m.get(&kn), m.get(&vn)) {
            (Some(k), Some(val)) => {
                out.insert(to_text(k), val.clone());
            }
            _ => {
                return Err(err(format!(
                    "items2dict requires each dictionary in the list to contain the keys '{kn}' and '{vn}', got {} instead.",
                    py_repr(&v)
                )))
            }
        }
    }
    Ok(to_jinja(&Value::Object(out)))
}

pub fn subelements(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("subelements", rest, kw, &["subelements", "skip_missing"])?;
    let skip = a.get(1).is_some_and(|s| s.is_true());
    let elements: Vec<Value> = match j(&v)? {
        Value::Object(m) => m.into_iter().map(|(_, v)| v).collect(),
        Value::Array(l) => l,
        _ => return Err(err("obj must be a list of dicts or a nested dict")),
    };
    let keys: Vec<String> = match j(&a.required(0)?)? {
        Value::Array(l) => l.iter().map(to_text).collect(),
        Value::String(s) => s.split('.').map(str::to_string).collect(),
        _ => return Err(err("subelements must be a list or a string")),
    };
    let mut out = Vec::new();
    for element in elements {
        let mut values = element.clone();
        let mut last = String::new();
        for k in &keys {
            last = k.clone();
            values = match &values {
                Value::Object(m) => match m.get(k) {
                    Some(x) => x.clone(),
                    None if skip => {
                        values = Value::Array(vec![]);
                        break;
                    }
                    None => {
                        return Err(err(format!(
                            "could not find {} key in iterated item {}",
                            py_repr(&Value::from(k.as_str())),
                            py_repr(&values)
                        )))
                    }
                },
                other => return Err(err(format!("the key {k} should point to a dictionary, got '{}'", super::super::py_str(other)))),
            };
        }
        let Value::Array(list) = values else {
            return Err(err(format!("the key {} should point to a list, got {}", py_repr(&Value::from(last.as_str())), py_repr(&values))));
        };
        for x in list {
            out.push(Value::Array(vec![element.clone(), x]));
        }
    }
    Ok(super::tuples(out))
}

/// `extract`: follow the keys into the container; a missing one gives undefined, so that
/// `default` can stand in for it.
pub fn extract(item: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("extract", rest, kw, &["container", "morekeys"])?;
    let mut keys = vec![item];
    match a.get(1) {
        None => {}
        Some(m) if m.kind() == minijinja::value::ValueKind::Seq => keys.extend(m.try_iter()?),
        Some(m) => keys.push(m),
    }
    let mut value = a.required(0)?;
    for k in keys {
        if value.is_undefined() {
            break;
        }
        value = value.get_item(&k).unwrap_or(JValue::UNDEFINED);
    }
    Ok(value)
}

/// `is_sequence` for the `path_join`/`commonpath` checks: a list, not a string or mapping.
pub fn sequence_of_strings(v: &Value, what: &str) -> Result<Vec<String>, Error> {
    if !is_sequence(v) {
        return Err(err(format!("|{what} expects sequence, got {} instead.", py_class(v))));
    }
    let Value::Array(items) = v else { return Ok(vec![]) };
    items
        .iter()
        .map(|x| match x {
            Value::String(s) => Ok(s.clone()),
            other => Err(err(format!("expected str, bytes or os.PathLike object, not {}", py_type_name(other)))),
        })
        .collect()
}

/// Ansible's `map`, `select`, `reject`, `selectattr` and `rejectattr` pass an undefined input
/// through (so `undefined | map(...) is undefined` holds) instead of failing on it.
pub fn map(state: &mut State, v: JValue, args: Rest<ValueOrKwargs>) -> Result<JValue, Error> {
    if v.is_undefined() {
        return Ok(v);
    }
    let attribute = args.iter().find_map(|a| Kwargs::try_from((**a).clone()).ok().and_then(|kw| kw.peek::<String>("attribute").ok()));
    let items: Vec<JValue> = match &attribute {
        Some(_) => v.try_iter().map(|it| it.collect()).unwrap_or_default(),
        None => Vec::new(),
    };
    let out: Vec<JValue> = minijinja::filters::map(state, v, args)?;
    if let Some(attr) = attribute {
        if let Some(i) = out.iter().position(|x| x.is_undefined()) {
            let ty = items.get(i).and_then(|x| crate::template::to_json(x).ok()).map(|x| py_type_name(&x)).unwrap_or("object");
            crate::template::note_undefined(format!("object of type '{ty}' has no attribute '{attr}'"));
        }
    }
    Ok(JValue::from(out))
}

pub fn select(state: &mut State, v: JValue, test: Option<String>, args: Rest<ValueOrKwargs>) -> Result<JValue, Error> {
    if v.is_undefined() {
        return Ok(v);
    }
    minijinja::filters::select(state, v, test.map(Into::into), args).map(JValue::from)
}

pub fn reject(state: &mut State, v: JValue, test: Option<String>, args: Rest<ValueOrKwargs>) -> Result<JValue, Error> {
    if v.is_undefined() {
        return Ok(v);
    }
    minijinja::filters::reject(state, v, test.map(Into::into), args).map(JValue::from)
}

pub fn selectattr(state: &mut State, v: JValue, attr: String, test: Option<String>, args: Rest<ValueOrKwargs>) -> Result<JValue, Error> {
    if v.is_undefined() {
        return Ok(v);
    }
    minijinja::filters::selectattr(state, v, attr.into(), test.map(Into::into), args).map(JValue::from)
}

pub fn rejectattr(state: &mut State, v: JValue, attr: String, test: Option<String>, args: Rest<ValueOrKwargs>) -> Result<JValue, Error> {
    if v.is_undefined() {
        return Ok(v);
    }
    minijinja::filters::rejectattr(state, v, attr.into(), test.map(Into::into), args).map(JValue::from)
}
