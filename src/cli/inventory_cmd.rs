//! `steward inventory --list | --graph | --host H`, as ansible-inventory prints them.

use serde_json::{json, Map, Value};

use super::{Error, InventoryArgs};
use crate::inventory::Inventory;

pub fn run(a: InventoryArgs) -> Result<(), Error> {
    let cfg = crate::config::Config::load();
    super::vault_cmd::setup(&a.inv.vault, &cfg)?;
    let inv = super::run::load_inventory(&a.inv.inventory, &cfg)?;
    let out = if let Some(h) = &a.host {
        if !inv.hosts.contains_key(h) || (inv.implicit_localhost && h == "localhost" && !a.inv.inventory.is_empty()) {
            return Err(Error::command(format!("you must pass a single valid host to --host parameter (`{h}` is not in the inventory)")));
        }
        Value::Object(inv.host_vars(h)?)
    } else if let Some(g) = &a.graph {
        if !inv.groups.contains_key(g) {
            return Err(Error::command(format!("no group `{g}` in the inventory")));
        }
        let mut s = String::new();
        graph(&inv, g, 0, a.vars, &mut s)?;
        print!("{s}");
        return Ok(());
    } else if a.list && !a.yaml {
        println!("{}", list_json(&inv)?);
        // A fleet's inventory is large and the process ends now: freeing it piece by piece
        // would cost a fifth of the command's time.
        std::mem::forget(inv);
        return Ok(());
    } else if a.list {
        list(&inv)?
    } else {
        return Err(Error::command("one of --list, --graph or --host is required"));
    };
    if a.yaml {
        print!("{}", serde_saphyr::to_string(&out).unwrap_or_default());
    } else {
        println!("{}", crate::pytext::py_json(&out, Some(4), true));
    }
    // A fleet's inventory is large and the process ends now: freeing it piece by piece would
    // cost a fifth of the command's time.
    std::mem::forget(out);
    std::mem::forget(inv);
    Ok(())
}

/// `--list`'s groups: each with its children (under `all`, only those no other group
/// contains) and hosts.
fn list_groups(inv: &Inventory) -> Map<String, Value> {
    let mut top = Map::new();
    let nested: std::collections::HashSet<&str> =
        inv.groups.values().filter(|g| g.name != "all").flat_map(|g| g.children.iter().map(String::as_str)).collect();
    for (name, g) in &inv.groups {
        let mut e = Map::new();
        let children: Vec<&String> = g.children.iter().filter(|c| name != "all" || !nested.contains(c.as_str())).collect();
        if !children.is_empty() {
            e.insert("children".into(), json!(children));
        }
        if !g.hosts.is_empty() {
            e.insert("hosts".into(), json!(g.hosts.iter().collect::<Vec<_>>()));
        }
        if name == "all" || !e.is_empty() {
            top.insert(name.clone(), Value::Object(e));
        }
    }
    top
}

/// `--list` as a value (for `--yaml`).
fn list(inv: &Inventory) -> Result<Value, crate::diag::Diagnostic> {
    let mut hostvars = Map::new();
    for h in inv.real_hosts() {
        let v = inv.host_vars(h)?;
        if !v.is_empty() {
            hostvars.insert(h.clone(), Value::Object(v));
        }
    }
    let mut top = list_groups(inv);
    top.insert("_meta".into(), json!({ "hostvars": hostvars, "profile": "inventory_legacy" }));
    Ok(Value::Object(top))
}

/// `--list` as ansible-inventory's JSON, written host by host: a fleet's host variables are
/// never all in memory as values at once.
fn list_json(inv: &Inventory) -> Result<String, crate::diag::Diagnostic> {
    use crate::pytext::json;
    let layout = json::Layout::python(Some(4), true, true);
    let mut hosts: Vec<&String> = inv.real_hosts().collect();
    hosts.sort_unstable();
    let mut meta = String::from("{");
    json::newline(&layout, 2, &mut meta);
    meta += "\"hostvars\": {";
    let mut first = true;
    for h in hosts {
        let v = inv.host_vars(h)?;
        if v.is_empty() {
            continue;
        }
        if !first {
            meta.push(',');
        }
        first = false;
        json::newline(&layout, 3, &mut meta);
        json::string(h, true, &mut meta);
        meta += ": ";
        json::write(&Value::Object(v), &layout, 3, &mut meta);
    }
    if !first {
        json::newline(&layout, 2, &mut meta);
    }
    meta += "},";
    json::newline(&layout, 2, &mut meta);
    meta += "\"profile\": \"inventory_legacy\"";
    json::newline(&layout, 1, &mut meta);
    meta.push('}');
    // The groups around it, `_meta` in its sorted place.
    let mut top = list_groups(inv);
    top.insert("_meta".into(), Value::Null);
    let text = json::dumps(&Value::Object(top), &layout);
    Ok(text.replacen("\"_meta\": null", &format!("\"_meta\": {meta}"), 1))
}

/// `--graph [--vars]` as ansible-inventory prints it: each group's children (under `all`,
/// those no other group contains, `ungrouped` first, in the order they were defined), then its
/// hosts, each with its variables when asked, then the group's own variables.
fn graph(inv: &Inventory, group: &str, depth: usize, vars: bool, out: &mut String) -> Result<(), crate::diag::Diagnostic> {
    let pad = "  |".repeat(depth);
    if depth == 0 {
        out.push_str(&format!("@{group}:\n"));
    } else {
        out.push_str(&format!("{pad}--@{group}:\n"));
    }
    let Some(g) = inv.groups.get(group) else { return Ok(()) };
    let mut children: Vec<&String> = g.children.iter().collect();
    if group == "all" {
        let nested: std::collections::HashSet<&str> =
            inv.groups.values().filter(|g| g.name != "all").flat_map(|g| g.children.iter().map(String::as_str)).collect();
        children.retain(|c| !nested.contains(c.as_str()));
        children.sort_by_key(|c| c.as_str() != "ungrouped");
    }
    for c in children {
        graph(inv, c, depth + 1, vars, out)?;
    }
    let inner = "  |".repeat(depth + 1);
    let show = |m: serde_json::Map<String, Value>, pad: &str, out: &mut String| {
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort();
        for k in keys {
            out.push_str(&format!("{pad}--{{{k} = {}}}\n", crate::pytext::py_str(&m[k])));
        }
    };
    for h in &g.hosts {
        out.push_str(&format!("{inner}--{h}\n"));
        if vars {
            show(inv.host_vars(h)?, &format!("{inner}  |"), out);
        }
    }
    if vars {
        show(inv.group_vars(group)?, &inner, out);
    }
    Ok(())
}
