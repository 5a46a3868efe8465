//! Ansible's INI inventory format, read by hand: generic INI crates do not fit it
//! (host lines carry `k=v` variables, values are Python literals, `[g:children]`, `[g:vars]`).

use std::path::Path;

use serde_json::Value;

use super::{expand_host_range, Inventory};
use crate::diag::Diagnostic;
use crate::yaml::Loc;

enum Section {
    Hosts(String),
    Vars(String),
    Children(String),
}

pub fn parse(inv: &mut Inventory, text: &str, path: &Path) -> Result<(), Diagnostic> {
    crate::diag::remember_source(path, text);
    let mut section = Section::Hosts("ungrouped".to_string());
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let lineno = i as u32 + 1;
        let loc = |col: usize, len: usize| Loc { len: len.max(1) as u32, ..Loc::new(path, lineno, col as u32 + 1) };
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            let Some(end) = line.find(']') else {
                return Err(Diagnostic::new("inventory section header without `]`").at(loc(0, line.len()), "here"));
            };
            let header = &line[1..end];
            let (name, kind) = match header.split_once(':') {
                Some((n, k)) => (n.to_string(), k),
                None => (header.to_string(), "hosts"),
            };
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(Diagnostic::new(format!("invalid group name `{name}`")).at(loc(1, header.len()), "group name"));
            }
            inv.group_mut(&name);
            section = match kind {
                "hosts" => Section::Hosts(name),
                "vars" => Section::Vars(name),
                "children" => Section::Children(name),
                other => {
                    return Err(Diagnostic::new(format!("unknown section kind `:{other}` in inventory"))
                        .at(loc(1, header.len()), "expected :vars or :children"))
                }
            };
            continue;
        }
        match &section {
            Section::Hosts(group) => {
                // Most lines of a large inventory quote nothing: words as they are.
                let tokens = if line.contains(['"', '\'', '\\']) {
                    shlex::split(line)
                        .ok_or_else(|| Diagnostic::new("unbalanced quotes in inventory line").at(loc(0, line.len()), "here"))?
                } else {
                    line.split_whitespace().map(str::to_string).collect()
                };
                let Some((host_pat, vars)) = tokens.split_first() else {
                    continue;
                };
                let names = expand_host_range(host_pat).map_err(|e| Diagnostic::new(e).at(loc(0, host_pat.len()), "host range"))?;
                let mut parsed = Vec::new();
                for kv in vars {
                    if kv.starts_with('#') {
                        break;
                    }
                    let Some((k, v)) = kv.split_once('=') else {
                        let col = raw.find(kv.as_str()).unwrap_or(0);
                        return Err(Diagnostic::new(format!("host variable `{kv}` is not of the form key=value"))
                            .at(loc(col, kv.len()), "expected key=value"));
                    };
                    parsed.push((k.to_string(), literal(v)));
                }
                for name in names {
                    let (name, port) = split_port(&name);
                    let h = inv.add_host(&name, Some(group));
                    if let Some(p) = port {
                        h.vars.insert("ansible_port".into(), Value::from(p));
                    }
                    for (k, v) in &parsed {
                        h.vars.insert(k.clone(), v.clone());
                    }
                }
            }
            Section::Vars(group) => {
                let Some((k, v)) = line.split_once('=') else {
                    return Err(Diagnostic::new(format!("group variable line `{line}` is not of the form key=value"))
                        .at(loc(0, line.len()), "expected key=value"));
                };
                let v = v.trim();
                let v =
                    shlex::split(v).and_then(|t| if t.len() == 1 { t.into_iter().next() } else { None }).unwrap_or_else(|| v.to_string());
                inv.group_mut(group).vars.insert(k.trim().to_string(), literal(&v));
            }
            Section::Children(group) => {
                let child = line.split_whitespace().next().unwrap_or(line);
                inv.add_child(group, child);
            }
        }
    }
    Ok(())
}

/// `host:2222` sets the port; an IPv6 address is left alone.
fn split_port(name: &str) -> (String, Option<u16>) {
    if name.matches(':').count() == 1 {
        if let Some((h, p)) = name.split_once(':') {
            if let Ok(p) = p.parse() {
                return (h.to_string(), Some(p));
            }
        }
    }
    (name.to_string(), None)
}

/// Values in INI inventories are Python literals when they parse as one, strings otherwise.
pub fn literal(v: &str) -> Value {
    match v {
        "True" | "true" => return Value::Bool(true),
        "False" | "false" => return Value::Bool(false),
        "None" => return Value::Null,
        _ => {}
    }
    if let Ok(i) = v.parse::<i64>() {
        if !(v.len() > 1 && v.starts_with('0')) {
            return Value::from(i);
        }
    }
    if v.contains('.') {
        if let Ok(f) = v.parse::<f64>() {
            if let Some(n) = serde_json::Number::from_f64(f) {
                return Value::Number(n);
            }
        }
    }
    if (v.starts_with('[') && v.ends_with(']')) || (v.starts_with('{') && v.ends_with('}')) {
        if let Ok(j) = serde_json::from_str::<Value>(&v.replace('\'', "\"")) {
            return j;
        }
    }
    Value::String(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_children_vars_ranges() {
        let mut inv = Inventory::new();
        let text = "top ansible_port=2200\n[web]\nweb[1:3] role=front\n[db]\ndb1:5432\n[prod:children]\nweb\n[prod:vars]\nenv=\"prod east\"\ncount=3\n";
        parse(&mut inv, text, Path::new("hosts")).unwrap();
        inv.finish();
        assert_eq!(inv.group_hosts("prod").len(), 3);
        assert_eq!(inv.hosts["web2"].vars["role"], Value::from("front"));
        assert_eq!(inv.hosts["db1"].vars["ansible_port"], Value::from(5432));
        assert_eq!(inv.groups["prod"].vars["env"], Value::from("prod east"));
        assert_eq!(inv.groups["prod"].vars["count"], Value::from(3));
        assert!(inv.group_hosts("ungrouped").contains("top"));
    }
}
