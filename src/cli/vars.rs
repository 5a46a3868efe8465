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
        } else {
            for (k, v) in crate::kv::parse_kv(item, None) {
                if k == "_raw_params" {
                    return Err(Diagnostic::new(format!("extra vars `{item}` are not key=value pairs"))
                        .help("use -e 'name=value', -e '{\"name\": 1}' or -e @file.yml"));
                }
                out.insert(k, v);
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
}
