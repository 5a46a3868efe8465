//! Values printed the way Python prints them, because Ansible's templates are Python's:
//! `True`, `None`, `['a', 'b']`, `{'k': 1}`.

use minijinja::{Error, Output, State, Value as JValue};
use serde_json::Value;

pub fn formatter(out: &mut Output, _state: &mut State, v: &JValue) -> Result<(), Error> {
    if let Some(s) = v.as_str() {
        return out.write_str(s).map_err(Error::from);
    }
    if v.is_none() {
        // Ansible 2.19 prints a bare None as nothing.
        return Ok(());
    }
    let text = match super::to_json(v) {
        Ok(j) => py_str(&j),
        Err(e) if e.detail() == Some(crate::vault::UNDECRYPTABLE) => return Err(e),
        Err(_) => v.to_string(),
    };
    out.write_str(&text).map_err(Error::from)
}

/// `str(value)` in Python: strings bare, everything else as its repr.
pub fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

pub fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => {
            if n.is_f64() {
                let f = n.as_f64().unwrap_or(0.0);
                if f.fract() == 0.0 && f.abs() < 1e16 {
                    format!("{f:.1}")
                } else {
                    f.to_string()
                }
            } else {
                n.to_string()
            }
        }
        Value::String(s) => quote(s),
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => {
            format!("{{{}}}", m.iter().map(|(k, v)| format!("{}: {}", quote(k), py_repr(v))).collect::<Vec<_>>().join(", "))
        }
    }
}

fn quote(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn like_python() {
        assert_eq!(py_repr(&json!(["a", 1, true, null, {"k": 1.0}])), "['a', 1, True, None, {'k': 1.0}]");
        assert_eq!(py_repr(&json!("it's")), "\"it's\"");
    }
}
