//! The lookups that reshape lists: `items` (one level flattened), `list` (as given),
//! `indexed_items`, `dict` (key/value pairs), `together` (zip, padded with None), `nested` and
//! `cartesian` (every combination), `flattened` (all levels), `subelements` (each record with
//! each element of one of its lists), `random_choice`.
//!
//! Where Ansible's plugin iterates a value with Python's `for`, so does this: a string gives
//! its characters and a mapping its keys, as `with_nested: ['ab']` shows.

use serde_json::{json, Map, Value};

use super::{err, flatten1, Ctx};
use crate::template::filters::py_type_name;
use crate::template::py_str;
use crate::template::pyfmt::py_repr;
use minijinja::Error;

type Opts = Map<String, Value>;

/// Python's `list(v)`.
fn py_iter(v: &Value) -> Result<Vec<Value>, Error> {
    match v {
        Value::Array(a) => Ok(a.clone()),
        Value::String(s) => Ok(s.chars().map(|c| Value::from(c.to_string())).collect()),
        Value::Object(m) => Ok(m.keys().map(|k| Value::from(k.clone())).collect()),
        other => Err(err(format!("'{}' object is not iterable", py_type_name(other)))),
    }
}

pub fn items(_: &Ctx, terms: Vec<Value>, _: &Opts) -> Result<Vec<Value>, Error> {
    Ok(flatten1(terms))
}

pub fn list(_: &Ctx, terms: Vec<Value>, _: &Opts) -> Result<Vec<Value>, Error> {
    Ok(terms)
}

pub fn indexed_items(_: &Ctx, terms: Vec<Value>, _: &Opts) -> Result<Vec<Value>, Error> {
    Ok(flatten1(terms).into_iter().enumerate().map(|(i, v)| json!([i, v])).collect())
}

pub fn dict(_: &Ctx, terms: Vec<Value>, _: &Opts) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        let Value::Object(m) = t else {
            return Err(err(format!(
                "the 'dict' lookup plugin expects a dictionary, got '{}' of type <class '{}'>)",
                py_str(&t),
                py_type_name(&t)
            )));
        };
        out.extend(m.into_iter().map(|(k, v)| json!({"key": k, "value": v})));
    }
    Ok(out)
}

pub fn together(_: &Ctx, terms: Vec<Value>, _: &Opts) -> Result<Vec<Value>, Error> {
    if terms.is_empty() {
        return Err(err("with_together requires at least one element in each list"));
    }
    let lists = terms.iter().map(py_iter).collect::<Result<Vec<_>, _>>()?;
    let n = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok((0..n).map(|i| Value::Array(flatten1(lists.iter().map(|l| l.get(i).cloned().unwrap_or(Value::Null)).collect()))).collect())
}

pub fn nested(_: &Ctx, terms: Vec<Value>, _: &Opts) -> Result<Vec<Value>, Error> {
    let mut lists = terms.iter();
    let Some(first) = lists.next() else {
        return Err(err("with_nested requires at least one element in the nested list"));
    };
    let mut acc: Vec<Value> = py_iter(first)?;
    for l in lists {
        let l = py_iter(l)?;
        acc = acc.iter().flat_map(|x| l.iter().map(move |y| Value::Array(flatten1(vec![x.clone(), y.clone()])))).collect();
    }
    acc.iter().map(|x| py_iter(x).map(|v| Value::Array(flatten1(v)))).collect()
}

pub fn flattened(_: &Ctx, terms: Vec<Value>, _: &Opts) -> Result<Vec<Value>, Error> {
    fn flat(v: Value, out: &mut Vec<Value>) {
        match v {
            Value::Array(a) => a.into_iter().for_each(|x| flat(x, out)),
            o => out.push(o),
        }
    }
    let mut out = vec![];
    terms.into_iter().for_each(|t| flat(t, &mut out));
    Ok(out)
}

pub fn random_choice(_: &Ctx, terms: Vec<Value>, _: &Opts) -> Result<Vec<Value>, Error> {
    if terms.is_empty() {
        return Ok(terms);
    }
    let mut r = crate::template::filters::pyrandom::PyRandom::from_entropy();
    let i = r.below(terms.len() as u64) as usize;
    Ok(vec![terms[i].clone()])
}

/// `subelements`: `[records, 'key.sub', {skip_missing: bool}]`; records may be a mapping,
/// whose values are the records. A record (or the whole mapping) with a true `skipped` is left
/// out, as a registered result of a skipped task is.
pub fn subelements(_: &Ctx, terms: Vec<Value>, _: &Opts) -> Result<Vec<Value>, Error> {
    let terms_err = |msg: &str| err(format!("subelements lookup expects a list of two or three items, {msg}"));
    if !(2..=3).contains(&terms.len()) {
        return Err(terms_err(""));
    }
    let Value::String(path) = &terms[1] else {
        return Err(terms_err("first a dict or a list, second a string pointing to the subkey"));
    };
    let skipped = |m: &Map<String, Value>| m.get("skipped").is_some_and(|v| v != &Value::Bool(false));
    let records: Vec<Value> = match &terms[0] {
        Value::Object(m) if skipped(m) => return Ok(vec![]),
        Value::Object(m) => m.values().cloned().collect(),
        Value::Array(a) => a.clone(),
        _ => return Err(terms_err("first a dict or a list, second a string pointing to the subkey")),
    };
    let flags = match terms.get(2) {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(terms_err("the optional third item must be a dict with flags ('skip_missing',)")),
    };
    let skip_missing = flags.get("skip_missing").is_some_and(crate::template::filters_bool);
    let keys: Vec<&str> = path.split('.').collect();
    let mut out = Vec::new();
    for record in records {
        let Value::Object(item0) = &record else {
            return Err(err(format!("subelements lookup expects a dictionary, got '{}'", py_str(&record))));
        };
        if skipped(item0) {
            continue;
        }
        let mut sub = item0;
        let mut sublist: &[Value] = &[];
        for (i, key) in keys.iter().enumerate() {
            let last = i + 1 == keys.len();
            // As Ansible: a missing key with skip_missing moves on to the next key of the path.
            let Some(v) = sub.get(*key) else {
                if skip_missing {
                    continue;
                }
                return Err(err(format!("could not find '{key}' key in iterated item '{}'", py_repr(&Value::Object(sub.clone())))));
            };
            match (last, v) {
                (false, Value::Object(m)) => sub = m,
                (false, _) if skip_missing => {}
                (false, other) => return Err(err(format!("the key {key} should point to a dictionary, got '{}'", py_str(other)))),
                (true, Value::Array(a)) => sublist = a,
                (true, other) => return Err(err(format!("the key {key} should point to a list, got '{}'", py_str(other)))),
            }
        }
        // The record comes without the list it was split on, as Ansible pops it.
        let mut shown = item0.clone();
        if !sublist.is_empty() {
            remove_path(&mut shown, &keys);
        }
        out.extend(sublist.iter().map(|s| json!([Value::Object(shown.clone()), s])));
    }
    Ok(out)
}

fn remove_path(m: &mut Map<String, Value>, keys: &[&str]) {
    match keys {
        [last] => {
            m.remove(*last);
        }
        [first, rest @ ..] => {
            if let Some(Value::Object(inner)) = m.get_mut(*first) {
                remove_path(inner, rest);
            }
        }
        [] => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Scope;

    fn ctx() -> Ctx<'static> {
        Ctx { scope: Scope::new(vec![], None), with_action: None }
    }

    #[test]
    fn together_and_nested() {
        let o = Map::new();
        assert_eq!(together(&ctx(), vec![json!(["a", "b"]), json!([1])], &o).unwrap(), vec![json!(["a", 1]), json!(["b", null])]);
        assert!(together(&ctx(), vec![], &o).is_err());
        assert_eq!(nested(&ctx(), vec![json!(["ab"])], &o).unwrap(), vec![json!(["a", "b"])]);
        assert_eq!(nested(&ctx(), vec![json!([1, 2]), json!(["x"])], &o).unwrap(), vec![json!([1, "x"]), json!([2, "x"])]);
    }

    #[test]
    fn subelements_paths_and_skips() {
        let o = Map::new();
        let users = json!([{"name": "a", "m": {"h": [1, 2]}}, {"name": "b", "skipped": true, "m": {"h": [3]}}, {"name": "c"}]);
        let e = subelements(&ctx(), vec![users.clone(), json!("m.h")], &o).unwrap_err();
        assert!(e.detail().unwrap().contains("could not find 'm' key"));
        let r = subelements(&ctx(), vec![users, json!("m.h"), json!({"skip_missing": true})], &o).unwrap();
        assert_eq!(r, vec![json!([{"name": "a", "m": {}}, 1]), json!([{"name": "a", "m": {}}, 2])]);
        let e = subelements(&ctx(), vec![json!(9001), json!("g")], &o).unwrap_err();
        assert!(e.detail().unwrap().contains("first a dict or a list"));
    }
}
