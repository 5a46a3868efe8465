//! JSON as Python's `json.dumps` writes it: `", "` and `": "` separators (`","` with an
//! indent), `\uXXXX` for non-ASCII unless `ensure_ascii=False`, floats as Python prints them.
//! Rendered files and `to_json` comparisons in playbooks depend on these bytes.

use serde_json::Value;

/// Layout options of `json.dumps`.
#[derive(Clone)]
pub struct Layout {
    pub indent: Option<String>,
    pub sort_keys: bool,
    pub item_sep: String,
    pub key_sep: String,
    pub ensure_ascii: bool,
}

impl Layout {
    pub fn python(indent: Option<usize>, sort_keys: bool, space: bool) -> Layout {
        let item_sep = if indent.is_some() || !space { "," } else { ", " };
        Layout { indent: indent.map(|n| " ".repeat(n)), sort_keys, item_sep: item_sep.into(), key_sep: ": ".into(), ensure_ascii: true }
    }
}

pub fn dumps(v: &Value, l: &Layout) -> String {
    let mut out = String::new();
    write(v, l, 0, &mut out);
    out
}

/// A line break and the indentation of `level` (nothing without an indent).
pub fn newline(l: &Layout, level: usize, out: &mut String) {
    if let Some(ind) = &l.indent {
        out.push('\n');
        for _ in 0..level {
            out.push_str(ind);
        }
    }
}

/// `v` appended to `out` as if it were nested `level` deep: a piece of a larger document
/// written without building the whole of it.
pub fn write(v: &Value, l: &Layout, level: usize, out: &mut String) {
    match v {
        Value::Array(a) if !a.is_empty() => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(&l.item_sep);
                }
                newline(l, level + 1, out);
                write(x, l, level + 1, out);
            }
            newline(l, level, out);
            out.push(']');
        }
        Value::Object(m) if !m.is_empty() => {
            out.push('{');
            let mut keys: Vec<&String> = m.keys().collect();
            if l.sort_keys {
                keys.sort();
            }
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(&l.item_sep);
                }
                newline(l, level + 1, out);
                string(k, l.ensure_ascii, out);
                out.push_str(&l.key_sep);
                write(&m[k.as_str()], l, level + 1, out);
            }
            newline(l, level, out);
            out.push('}');
        }
        Value::String(s) => string(s, l.ensure_ascii, out),
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(0.0);
            out.push_str(&if f.is_nan() {
                "NaN".to_string()
            } else if f.is_infinite() {
                if f > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
            } else {
                super::py_float_repr(f)
            });
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A JSON string with Python's escapes.
pub fn string(s: &str, ascii: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if ascii && !c.is_ascii() => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Expected values: ansible-core 2.19.14's to_json / to_nice_json.
    #[test]
    fn python_layout() {
        let thing = json!({"sublist": ["howdy"], "subdict": {"k1": "v1"}});
        assert_eq!(dumps(&thing, &Layout::python(None, false, true)), r#"{"sublist": ["howdy"], "subdict": {"k1": "v1"}}"#);
        assert_eq!(
            dumps(&thing, &Layout::python(Some(4), true, true)),
            "{\n    \"subdict\": {\n        \"k1\": \"v1\"\n    },\n    \"sublist\": [\n        \"howdy\"\n    ]\n}"
        );
        assert_eq!(dumps(&json!({"k": "Quotes \"'\n"}), &Layout::python(Some(4), true, true)), "{\n    \"k\": \"Quotes \\\"'\\n\"\n}");
        assert_eq!(dumps(&json!(["é", 1e-5, 1.0, [], {}]), &Layout::python(None, false, true)), r#"["\u00e9", 1e-05, 1.0, [], {}]"#);
    }
}
