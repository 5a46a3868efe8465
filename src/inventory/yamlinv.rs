//! Ansible's YAML inventory: `all:` with `hosts`, `vars` and `children`, nested.

use std::path::Path;

use serde_json::Value;

use super::{expand_host_range, Inventory};
use crate::diag::Diagnostic;
use crate::yaml::{self, Node, NodeKind};

pub fn looks_like_yaml(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| l == "---" || (l.ends_with(':') && !l.starts_with('[')) || l.starts_with('{'))
}

pub fn parse(inv: &mut Inventory, text: &str, path: &Path) -> Result<(), Diagnostic> {
    let root = yaml::parse_str(text, path)?;
    if root.is_null() {
        return Ok(());
    }
    let Some(map) = root.as_map() else {
        return Err(Diagnostic::new("a YAML inventory must be a mapping of groups").at(root.loc.clone(), "here"));
    };
    for (k, v) in map {
        group(inv, &k.key_string(), v)?;
    }
    Ok(())
}

fn group(inv: &mut Inventory, name: &str, node: &Node) -> Result<(), Diagnostic> {
    inv.group_mut(name);
    let Some(map) = node.as_map() else {
        if node.is_null() {
            return Ok(());
        }
        return Err(Diagnostic::new(format!("group `{name}` must be a mapping")).at(node.loc.clone(), "here"));
    };
    for (k, v) in map {
        match k.key_string().as_str() {
            "hosts" => {
                let Some(hosts) = v.as_map() else {
                    if v.is_null() {
                        continue;
                    }
                    return Err(Diagnostic::new("`hosts` must be a mapping of host names").at(v.loc.clone(), "here"));
                };
                for (h, hv) in hosts {
                    let names = expand_host_range(&h.key_string()).map_err(|e| Diagnostic::new(e).at(h.loc.clone(), "here"))?;
                    for n in names {
                        let host = inv.add_host(&n, Some(name));
                        if let Value::Object(vars) = hv.to_value() {
                            for (k, v) in vars {
                                host.vars.insert(k, v);
                            }
                        }
                    }
                }
            }
            "vars" => match v.to_value() {
                Value::Object(vars) => inv.group_mut(name).vars.extend(vars),
                Value::Null => {}
                _ => return Err(Diagnostic::new("`vars` must be a mapping").at(v.loc.clone(), "here")),
            },
            "children" => {
                if let NodeKind::Map(children) = &v.kind {
                    for (c, cv) in children {
                        let cname = c.key_string();
                        inv.add_child(name, &cname);
                        group(inv, &cname, cv)?;
                    }
                }
            }
            other => {
                return Err(Diagnostic::new(format!("unknown key `{other}` in group `{name}` of a YAML inventory"))
                    .at(k.loc.clone(), "expected hosts, vars or children"))
            }
        }
    }
    Ok(())
}
