//! `-e/--extra-vars` in its three forms: `k=v ...`, JSON or YAML text, and `@file`.

use std::path::Path;

use serde_json::{Map, Value};

use crate::diag::Diagnostic;

pub fn parse_extra_vars(items: &[String]) -> Result<Map<String, Value>, Diagnostic> {
    let mut out = Map::new();
    for item in items {
        let item = item.trim();
        if let Some(file) = item.strip_prefix('@') {
            let node = crate::yaml::load_file(Path::new(file))?;
            match node.to_value() {
                Value::Object(m) => out.extend(m),
                Value::Null => {}
                _ => return Err(Diagnostic::new(format!("extra vars file {file} must hold a mapping"))),
            }
        } else if item.starts_with('{') || item.starts_with('[') || item.starts_with("---") {
            let node = crate::yaml::parse_str(item, Path::new("<extra vars>"))?;
            match node.to_value() {
                Value::Object(m) => out.extend(m),
                _ => return Err(Diagnostic::new(format!("extra vars `{item}` must be a mapping"))),
            }
        } else if item.starts_with('/') || item.starts_with('.') {
            return Err(Diagnostic::new(format!("Please prepend extra_vars filename '{item}' with '@'")));
        } else {
            let kv = crate::kv::parse_kv(item, None);
            if !kv.contains_key("_raw_params") {
                out.extend(kv);
                continue;
            }
            // Not key=value pairs: YAML text such as `a: 7` (Ansible would keep it as a
            // variable named `_raw_params`, which no playbook means).
            let refused = || {
                Diagnostic::new(format!("extra vars `{item}` are neither key=value pairs nor a YAML mapping"))
                    .help("use -e 'name=value', -e 'name: value', -e '{\"name\": 1}' or -e @file.yml")
            };
            let node = crate::yaml::parse_str(item, Path::new("<extra vars>")).map_err(|_| refused())?;
            match node.to_value() {
                Value::Object(m) => out.extend(m),
                _ => return Err(refused()),
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_forms() {
        let v = parse_extra_vars(&["a=1 b='x y'".into(), "{\"c\": [1, 2]}".into()]).unwrap();
        assert_eq!(v["a"], Value::from("1"));
        assert_eq!(v["b"], Value::from("x y"));
        assert_eq!(v["c"], serde_json::json!([1, 2]));
    }

    #[test]
    fn yaml_text_too() {
        let v = parse_extra_vars(&["a: 7".into(), "b: [x, y]\nc: {d: true}".into()]).unwrap();
        assert_eq!(v["a"], Value::from(7));
        assert_eq!(v["b"], serde_json::json!(["x", "y"]));
        assert_eq!(v["c"], serde_json::json!({"d": true}));
        let e = parse_extra_vars(&["just words".into()]).unwrap_err();
        assert!(e.message.contains("neither key=value pairs nor a YAML mapping"), "{}", e.message);
        let e = parse_extra_vars(&["./vars.yml".into()]).unwrap_err();
        assert_eq!(e.message, "Please prepend extra_vars filename './vars.yml' with '@'");
    }
}
