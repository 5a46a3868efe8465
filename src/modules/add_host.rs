//! `add_host`: put a host (new or not) into the inventory of the running playbook, with groups
//! and variables, so later plays can target it. Runs once per task, not once per host, as
//! Ansible's does; the executor applies the change and reports `changed` when the inventory
//! changed.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::{fail, Arg, Args, FreeForm, ModError, Module, Outcome, Plan, TaskCtx};

pub struct AddHost;

#[async_trait]
impl Module for AddHost {
    fn name(&self) -> &'static str {
        "add_host"
    }
    fn doc(&self) -> &'static str {
        include_str!("add_host.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("name", "the host's name, optionally with :port").aliases(&["host", "hostname"]),
            Arg::raw("groups", "groups to put it in (a list, or names separated by commas)").aliases(&["group", "groupname"]),
        ];
        A
    }
    fn any_args(&self) -> bool {
        // Every other argument is a variable for the new host.
        true
    }
    fn free_form(&self) -> FreeForm {
        FreeForm::No
    }
    fn controller_only(&self) -> bool {
        true
    }
    fn bypass_host_loop(&self) -> bool {
        true
    }
    async fn plan(&self, _ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        Ok(Plan::done(outcome(args)?))
    }
}

/// The task's result, decided on the controller.
fn outcome(args: &Args) -> Result<Outcome, ModError> {
    let mut args = args.map.clone();
    if let Some(Value::Object(raw)) = args.remove("_raw_params") {
        for (k, v) in raw {
            args.entry(k).or_insert(v);
        }
    }
    let name = ["name", "hostname", "host"].iter().find_map(|k| args.get(*k).filter(|v| !v.is_null()).map(crate::pytext::to_text));
    let Some(name) = name else {
        return fail("name, host or hostname needs to be provided");
    };
    let mut host_vars = Map::new();
    let (name, port) = split_port(&name);
    if let Some(p) = port {
        host_vars.insert("ansible_ssh_port".into(), json!(p));
    }
    let groups = ["groupname", "groups", "group"].iter().find_map(|k| args.get(*k).filter(|v| !v.is_null()).cloned());
    let mut new_groups: Vec<String> = Vec::new();
    match groups {
        None => {}
        Some(Value::Array(a)) => a.iter().map(crate::pytext::to_text).for_each(|g| push_unique(&mut new_groups, g.trim())),
        Some(Value::String(s)) => s.split(',').for_each(|g| push_unique(&mut new_groups, g.trim())),
        Some(_) => return fail("Groups must be specified as a list."),
    }
    for (k, v) in args {
        if !["name", "hostname", "host", "groupname", "groups", "group"].contains(&k.as_str()) && !k.starts_with('_') {
            host_vars.insert(k, v);
        }
    }
    Ok(Outcome::ok().with("add_host", json!({"host_name": name, "groups": new_groups, "host_vars": host_vars})))
}

fn push_unique(out: &mut Vec<String>, g: &str) {
    if !g.is_empty() && !out.iter().any(|x| x == g) {
        out.push(g.to_string());
    }
}

/// `host:port` and `[v6]:port`; a bare IPv6 address has no port.
fn split_port(name: &str) -> (String, Option<u16>) {
    if let Some(rest) = name.strip_prefix('[') {
        if let Some((h, p)) = rest.split_once("]:") {
            return (h.to_string(), p.parse().ok());
        }
        return (rest.trim_end_matches(']').to_string(), None);
    }
    match name.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => match p.parse() {
            Ok(port) => (h.to_string(), Some(port)),
            Err(_) => (name.to_string(), None),
        },
        _ => (name.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ports() {
        assert_eq!(super::split_port("web1:2222"), ("web1".into(), Some(2222)));
        assert_eq!(super::split_port("[::1]:22"), ("::1".into(), Some(22)));
        assert_eq!(super::split_port("fe80::1"), ("fe80::1".into(), None));
        assert_eq!(super::split_port("web1"), ("web1".into(), None));
    }
}
