//! `steward inventory --list | --graph | --host H`, as ansible-inventory prints them.

use serde_json::{json, Map, Value};

use super::InventoryArgs;
use crate::inventory::Inventory;

pub fn run(a: InventoryArgs) -> i32 {
    let cfg = crate::config::Config::load();
    if let Err(e) = super::vault_cmd::setup(&a.inv.vault, &cfg) {
        eprintln!("error: {e}");
        return 1;
    }
    let inv = match super::run::load_inventory(&a.inv.inventory, &cfg) {
        Ok(i) => i,
        Err(d) => {
            eprint!("{}", d.render());
            return 1;
        }
    };
    let out = if let Some(h) = &a.host {
        if !inv.hosts.contains_key(h) || (inv.implicit_localhost && h == "localhost" && !a.inv.inventory.is_empty()) {
            eprintln!("error: you must pass a single valid host to --host parameter (`{h}` is not in the inventory)");
            return 1;
        }
        match inv.host_vars(h) {
            Ok(v) => Value::Object(v),
            Err(d) => {
                eprint!("{}", d.render());
                return 1;
            }
        }
    } else if let Some(g) = &a.graph {
        if !inv.groups.contains_key(g) {
            eprintln!("error: no group `{g}` in the inventory");
            return 1;
        }
        let mut s = String::new();
        graph(&inv, g, 0, a.vars, &mut s);
        print!("{s}");
        return 0;
    } else if a.list {
        match list(&inv) {
            Ok(v) => v,
            Err(d) => {
                eprint!("{}", d.render());
                return 1;
            }
        }
    } else {
        eprintln!("error: one of --list, --graph or --host is required");
        return 1;
    };
    if a.yaml {
        print!("{}", serde_saphyr::to_string(&out).unwrap_or_default());
    } else {
        println!("{}", crate::pytext::py_json(&out, Some(4), true));
    }
    0
}

fn list(inv: &Inventory) -> Result<Value, crate::diag::Diagnostic> {
    let mut top = Map::new();
    let mut hostvars = Map::new();
    for h in inv.real_hosts() {
        let v = inv.host_vars(h)?;
        if !v.is_empty() {
            hostvars.insert(h.clone(), Value::Object(v));
        }
    }
    top.insert("_meta".into(), json!({ "hostvars": hostvars }));
    for (name, g) in &inv.groups {
        let mut e = Map::new();
        if !g.children.is_empty() {
            e.insert("children".into(), json!(g.children.iter().collect::<Vec<_>>()));
        }
        if !g.hosts.is_empty() {
            e.insert("hosts".into(), json!(g.hosts.iter().collect::<Vec<_>>()));
        }
        if name == "all" || !e.is_empty() {
            top.insert(name.clone(), Value::Object(e));
        }
    }
    Ok(Value::Object(top))
}

fn graph(inv: &Inventory, group: &str, depth: usize, vars: bool, out: &mut String) {
    let pad = "  |".repeat(depth);
    if depth == 0 {
        out.push_str(&format!("@{group}:\n"));
    } else {
        out.push_str(&format!("{pad}--@{group}:\n"));
    }
    let Some(g) = inv.groups.get(group) else { return };
    let mut children: Vec<&String> = g.children.iter().collect();
    if group == "all" {
        // Only groups no other group contains hang under `all`, ungrouped first, as
        // ansible-inventory prints them.
        children.retain(|c| !inv.groups.values().any(|g| g.name != "all" && g.children.contains(*c)));
        children.sort_by_key(|c| (c.as_str() != "ungrouped", c.as_str().to_string()));
    }
    for c in children {
        graph(inv, c, depth + 1, vars, out);
    }
    let inner = "  |".repeat(depth + 1);
    for h in &g.hosts {
        out.push_str(&format!("{inner}--{h}\n"));
        if vars {
            if let Some(host) = inv.hosts.get(h) {
                for (k, v) in &host.vars {
                    out.push_str(&format!("{inner}  |--{{{k} = {}}}\n", crate::pytext::to_text(v)));
                }
            }
        }
    }
}
