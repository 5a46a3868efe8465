//! Ansible's Jinja tests: `is match`, `is version`, `is failed`, `is file`, ...

use minijinja::value::Kwargs;
use minijinja::{Environment, Error, ErrorKind, Value as JValue};
use serde_json::Value;

use super::{to_json, truthy};

pub fn register(env: &mut Environment<'static>) {
    env.add_test("match", |v: String, p: String, kw: Kwargs| re_test(&v, &p, kw, true));
    env.add_test("search", |v: String, p: String, kw: Kwargs| re_test(&v, &p, kw, false));
    env.add_test("regex", |v: String, p: String, kw: Kwargs| {
        let m: Option<String> = kw.get("match_type")?;
        re_test(&v, &p, kw, m.as_deref() == Some("match"))
    });
    env.add_test("version", |a: String, b: String, op: Option<String>| version(a, b, op));
    env.add_test("version_compare", |a: String, b: String, op: Option<String>| version(a, b, op));
    env.add_test("failed", |v: JValue| flag(&v, "failed"));
    env.add_test("failure", |v: JValue| flag(&v, "failed"));
    env.add_test("succeeded", |v: JValue| flag(&v, "failed").map(|f| !f));
    env.add_test("success", |v: JValue| flag(&v, "failed").map(|f| !f));
    env.add_test("successful", |v: JValue| flag(&v, "failed").map(|f| !f));
    env.add_test("changed", |v: JValue| flag(&v, "changed"));
    env.add_test("change", |v: JValue| flag(&v, "changed"));
    env.add_test("skipped", |v: JValue| flag(&v, "skipped"));
    env.add_test("skip", |v: JValue| flag(&v, "skipped"));
    env.add_test("unreachable", |v: JValue| flag(&v, "unreachable"));
    env.add_test("finished", |_v: JValue| true);
    env.add_test("file", |p: String| std::path::Path::new(&p).is_file());
    env.add_test("directory", |p: String| std::path::Path::new(&p).is_dir());
    env.add_test("link", |p: String| std::fs::symlink_metadata(&p).map(|m| m.file_type().is_symlink()).unwrap_or(false));
    env.add_test("exists", |p: String| std::path::Path::new(&p).exists());
    env.add_test("abs", |p: String| p.starts_with('/'));
    env.add_test("same_file", |a: String, b: String| match (std::fs::canonicalize(&a), std::fs::canonicalize(&b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    });
    env.add_test("subset", |a: JValue, b: JValue| subset(&a, &b));
    env.add_test("superset", |a: JValue, b: JValue| subset(&b, &a));
    env.add_test("contains", |a: JValue, b: JValue| -> Result<bool, Error> {
        let (a, b) = (to_json(&a)?, to_json(&b)?);
        Ok(match a {
            Value::Array(l) => l.contains(&b),
            Value::String(s) => s.contains(&super::to_text(&b)),
            Value::Object(m) => m.contains_key(&super::to_text(&b)),
            _ => false,
        })
    });
    env.add_test("truthy", |v: JValue| truthy(&v));
    env.add_test("falsy", |v: JValue| !truthy(&v));
    env.add_test("any", |v: JValue| -> Result<bool, Error> { Ok(v.try_iter()?.any(|x| x.is_true())) });
    env.add_test("all", |v: JValue| -> Result<bool, Error> { Ok(v.try_iter()?.all(|x| x.is_true())) });
    env.add_test("list", |v: JValue| v.kind() == minijinja::value::ValueKind::Seq);
    env.add_test("dict", |v: JValue| v.kind() == minijinja::value::ValueKind::Map);
    env.add_test("nan", |v: f64| v.is_nan());
}

fn re_test(v: &str, p: &str, kw: Kwargs, anchored: bool) -> Result<bool, Error> {
    let ic: Option<bool> = kw.get("ignorecase")?;
    let ml: Option<bool> = kw.get("multiline")?;
    let pat = if anchored { format!("^(?:{p})") } else { p.to_string() };
    let re = regex::RegexBuilder::new(&pat)
        .case_insensitive(ic.unwrap_or(false))
        .multi_line(ml.unwrap_or(false))
        .build()
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("invalid regular expression `{p}`: {e}")))?;
    Ok(re.is_match(v))
}

fn flag(v: &JValue, name: &str) -> Result<bool, Error> {
    let v = to_json(v)?;
    let Value::Object(m) = v else {
        return Err(Error::new(ErrorKind::InvalidOperation, format!("the `{name}` test expects a task result (a dictionary)")));
    };
    if name == "failed" {
        if let Some(Value::Array(results)) = m.get("results") {
            if results.iter().any(|r| r.get("failed").is_some_and(crate::template::filters_bool)) {
                return Ok(true);
            }
        }
    }
    Ok(m.get(name).is_some_and(crate::template::filters_bool))
}

fn subset(a: &JValue, b: &JValue) -> Result<bool, Error> {
    let (a, b) = (to_json(a)?, to_json(b)?);
    match (a, b) {
        (Value::Array(a), Value::Array(b)) => Ok(a.iter().all(|x| b.contains(x))),
        _ => Err(Error::new(ErrorKind::InvalidOperation, "subset and superset compare lists")),
    }
}

/// Compare versions the way Ansible's `version` test does by default (LooseVersion-like).
pub fn version(a: String, b: String, op: Option<String>) -> Result<bool, Error> {
    let ord = compare_versions(&a, &b);
    use std::cmp::Ordering::*;
    Ok(match op.as_deref().unwrap_or("eq") {
        "<" | "lt" => ord == Less,
        "<=" | "le" => ord != Greater,
        ">" | "gt" => ord == Greater,
        ">=" | "ge" => ord != Less,
        "==" | "=" | "eq" => ord == Equal,
        "!=" | "<>" | "ne" => ord != Equal,
        other => return Err(Error::new(ErrorKind::InvalidOperation, format!("version: unknown operator `{other}`"))),
    })
}

pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    enum Part {
        Num(u64),
        Str(String),
    }
    fn parts(s: &str) -> Vec<Part> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut num = None;
        for c in s.chars() {
            let is_num = c.is_ascii_digit();
            if c == '.' || c == '-' || c == '_' || c == '+' || (num.is_some() && num != Some(is_num)) {
                if !cur.is_empty() {
                    out.push(if num == Some(true) { Part::Num(cur.parse().unwrap_or(0)) } else { Part::Str(cur.clone()) });
                }
                cur.clear();
                num = None;
                if c == '.' || c == '-' || c == '_' || c == '+' {
                    continue;
                }
            }
            cur.push(c);
            num = Some(is_num);
        }
        if !cur.is_empty() {
            out.push(if num == Some(true) { Part::Num(cur.parse().unwrap_or(0)) } else { Part::Str(cur) });
        }
        out
    }
    parts(a).cmp(&parts(b))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn versions() {
        assert!(version("1.10".into(), "1.9".into(), Some(">".into())).unwrap());
        assert!(version("2.0".into(), "2.0".into(), None).unwrap());
        assert!(version("1.2.3".into(), "1.2.10".into(), Some("lt".into())).unwrap());
    }
}
