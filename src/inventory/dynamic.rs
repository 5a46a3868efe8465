//! Executable inventories, run as Ansible runs them: `SCRIPT --list` prints JSON groups (and
//! usually `_meta.hostvars`); without `_meta`, `SCRIPT --host NAME` gives each host's variables.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::Inventory;
use crate::diag::Diagnostic;

/// An executable file that is not YAML or INI by its name.
pub fn is_script(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if matches!(ext, "yml" | "yaml" | "json" | "ini" | "cfg" | "txt") {
        return false;
    }
    std::fs::metadata(path).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

fn run(path: &Path, args: &[&str]) -> Result<Value, Diagnostic> {
    let out = Command::new(path)
        .args(args)
        .output()
        .map_err(|e| Diagnostic::new(format!("cannot run inventory script {}: {e}", path.display())))?;
    if !out.status.success() {
        return Err(Diagnostic::new(format!(
            "inventory script {} {} failed with exit code {}: {}",
            path.display(),
            args.join(" "),
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| Diagnostic::new(format!("inventory script {} {} did not print JSON: {e}", path.display(), args.join(" "))))
}

pub fn load(inv: &mut Inventory, path: &Path) -> Result<(), Diagnostic> {
    let list = run(path, &["--list"])?;
    let Value::Object(groups) = list else {
        return Err(Diagnostic::new(format!("inventory script {} --list must print a JSON object", path.display())));
    };
    let meta = groups.get("_meta").and_then(|m| m.get("hostvars")).cloned();
    for (name, g) in &groups {
        if name == "_meta" {
            continue;
        }
        inv.group_mut(name);
        // A group is either a list of hosts or {hosts, vars, children}.
        let (hosts, vars, children) = match g {
            Value::Array(h) => (h.clone(), None, vec![]),
            Value::Object(o) => (
                o.get("hosts").and_then(Value::as_array).cloned().unwrap_or_default(),
                o.get("vars").and_then(Value::as_object).cloned(),
                o.get("children").and_then(Value::as_array).cloned().unwrap_or_default(),
            ),
            _ => continue,
        };
        for h in hosts {
            if let Some(h) = h.as_str() {
                inv.add_host(h, if name == "all" { None } else { Some(name) });
            }
        }
        if let Some(v) = vars {
            inv.group_mut(name).vars.extend(v);
        }
        for c in children {
            if let Some(c) = c.as_str() {
                inv.add_child(name, c);
            }
        }
    }
    let names: Vec<String> = inv.hosts.keys().cloned().collect();
    for h in names {
        let vars = match &meta {
            Some(m) => m.get(&h).cloned(),
            None => Some(run(path, &["--host", &h])?),
        };
        if let Some(Value::Object(v)) = vars {
            if let Some(host) = inv.hosts.get_mut(&h) {
                host.vars.extend(v);
            }
        }
    }
    Ok(())
}
