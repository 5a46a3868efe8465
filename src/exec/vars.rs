//! Building the variables a task sees, in Ansible's precedence order.
//!
//! Lowest first: role defaults, inventory, facts, play vars, vars_files, role vars, block vars,
//! task vars, include_vars, set_fact and register, role parameters, extra vars. Magic variables
//! (`inventory_hostname`, `groups`, `hostvars`, ...) sit on top.

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::{HostState, Run};
use crate::playbook::{Play, Role, Task};
use crate::template::{HostVarsSource, Scope};

/// Per host, for one play: the layers that do not change from task to task.
pub struct PlayScope {
    pub magic: Arc<Map<String, Value>>,
    pub shared: Arc<Map<String, Value>>,
    pub play_vars: Arc<Map<String, Value>>,
    pub vars_files: Arc<Map<String, Value>>,
    pub role_defaults: Arc<Map<String, Value>>,
    pub role_vars: Arc<Map<String, Value>>,
    pub extra: Arc<Map<String, Value>>,
    /// Below everything: `ansible_host` (the inventory name) and `ansible_connection` as the
    /// host is reached, when nothing sets them, as Ansible gives them to tasks.
    pub connection_defaults: Arc<Map<String, Value>>,
}

/// What blocks and roles above a task add.
#[derive(Clone, Default)]
pub struct Inherited {
    /// Block (and include) vars, outermost first.
    pub vars: Vec<Arc<Map<String, Value>>>,
    pub role: Option<Arc<Role>>,
}

pub struct HostVarsView(pub Arc<Run>);

impl HostVarsSource for HostVarsView {
    fn host_names(&self) -> Vec<String> {
        self.0.host_names()
    }

    fn host_scope(&self, host: &str) -> Option<Arc<Scope>> {
        let h = self.0.host(host)?;
        let mut magic = Map::new();
        magic.insert("inventory_hostname".into(), json!(host));
        magic.insert("inventory_hostname_short".into(), json!(host.split('.').next().unwrap_or(host)));
        magic.insert("group_names".into(), json!(group_names(&self.0, host)));
        let layers = vec![
            (Arc::new(magic), false),
            (Arc::new(self.0.opts.extra_vars.clone()), false),
            (HostState::snapshot(&h.set_facts), true),
            (HostState::snapshot(&h.include_vars), false),
            (HostState::snapshot(&h.facts), true),
            (HostState::snapshot(&h.inventory), false),
        ];
        Some(Scope::new_marked(layers, Some(Arc::new(HostVarsView(self.0.clone())))))
    }
}

pub fn group_names(run: &Run, host: &str) -> Vec<String> {
    let mut g: Vec<String> = run.inv().groups_of(host).into_iter().filter(|g| g != "all").collect();
    g.sort();
    g
}

pub fn groups_map(run: &Run) -> Value {
    let mut m = Map::new();
    let inv = run.inv();
    for g in inv.groups.keys() {
        m.insert(g.clone(), json!(inv.group_hosts(g).into_iter().collect::<Vec<_>>()));
    }
    Value::Object(m)
}

#[allow(clippy::too_many_arguments)]
/// What every host of a batch shares: computed once, not once per host (a 1,000-host play
/// would otherwise copy its host lists a million times).
pub struct PlayShared {
    pub magic: Arc<Map<String, Value>>,
    pub play_vars: Arc<Map<String, Value>>,
    pub role_defaults: Arc<Map<String, Value>>,
    pub role_vars: Arc<Map<String, Value>>,
    pub extra: Arc<Map<String, Value>>,
    /// The play's `connection:` or `-c`.
    pub connection: Option<String>,
}

pub fn play_shared(run: &Arc<Run>, play: &Play, play_hosts: &[String], batch: &[String], groups: &Value) -> PlayShared {
    let mut m = Map::new();
    m.insert("groups".into(), groups.clone());
    m.insert("play_hosts".into(), json!(batch));
    m.insert("ansible_play_batch".into(), json!(batch));
    m.insert("ansible_play_hosts".into(), json!(play_hosts));
    m.insert("ansible_play_hosts_all".into(), json!(play_hosts));
    m.insert("ansible_play_name".into(), json!(play.name));
    m.insert("playbook_dir".into(), json!(play.dir.display().to_string()));
    m.insert("ansible_check_mode".into(), json!(run.opts.check));
    m.insert("ansible_diff_mode".into(), json!(run.opts.diff));
    m.insert("ansible_verbosity".into(), json!(run.opts.verbosity));
    m.insert("ansible_forks".into(), json!(run.opts.forks));
    m.insert("ansible_run_tags".into(), json!(if run.opts.tags.is_empty() { vec!["all".to_string()] } else { run.opts.tags.clone() }));
    m.insert("ansible_skip_tags".into(), json!(run.opts.skip_tags));
    m.insert("omit".into(), json!(crate::template::OMIT));
    m.insert("ansible_inventory_sources".into(), json!(run.inv().sources));
    m.insert("ansible_play_role_names".into(), json!(play.role_names));
    m.insert("role_names".into(), json!(play.role_names));
    m.insert("ansible_dependent_role_names".into(), json!(play.dependency_role_names));
    // As Ansible: the play's roles and their dependencies (not roles imported by tasks).
    let mut all = play.role_names.clone();
    all.extend(play.dependency_role_names.iter().filter(|n| !play.role_names.contains(n)).cloned());
    m.insert("ansible_role_names".into(), json!(all));
    m.insert(
        "ansible_version".into(),
        json!({"full": "2.19.0", "major": 2, "minor": 19, "revision": 0, "string": "2.19.0", "steward": env!("CARGO_PKG_VERSION")}),
    );
    if let Some(d) = run.inv().var_dirs.first() {
        m.insert("inventory_dir".into(), json!(d.display().to_string()));
    }
    PlayShared {
        magic: Arc::new(m),
        play_vars: Arc::new(play.vars.clone()),
        role_defaults: Arc::new(play.role_defaults.clone()),
        role_vars: Arc::new(play.role_vars.clone()),
        extra: Arc::new(run.opts.extra_vars.clone()),
        connection: play.kw.connection.as_ref().map(crate::pytext::to_text).or_else(|| run.opts.connection.clone()),
    }
}

pub fn play_scope(run: &Arc<Run>, shared: &PlayShared, host: &str, vars_files: Map<String, Value>) -> PlayScope {
    let mut m = Map::new();
    m.insert("inventory_hostname".into(), json!(host));
    m.insert("inventory_hostname_short".into(), json!(host.split('.').next().unwrap_or(host)));
    m.insert("group_names".into(), json!(group_names(run, host)));
    let mut conn = Map::new();
    conn.insert("ansible_host".into(), json!(host));
    let connection = shared.connection.clone().unwrap_or_else(|| if host == "localhost" { "local".into() } else { "ssh".into() });
    conn.insert("ansible_connection".into(), json!(connection));
    PlayScope {
        connection_defaults: Arc::new(conn),
        magic: Arc::new(m),
        shared: shared.magic.clone(),
        play_vars: shared.play_vars.clone(),
        vars_files: Arc::new(vars_files),
        role_defaults: shared.role_defaults.clone(),
        role_vars: shared.role_vars.clone(),
        extra: shared.extra.clone(),
    }
}

/// The scope for a task on a host.
pub fn task_scope(run: &Arc<Run>, host: &HostState, ps: &PlayScope, inh: &Inherited, task: Option<&Task>) -> Arc<Scope> {
    // `true`: data from tasks and facts, never templated again (see Scope::literal).
    let mut layers: Vec<(Arc<Map<String, Value>>, bool)> = Vec::with_capacity(20);
    let empty = Map::new();
    let task_vars = task.map(|t| &t.kw.vars).unwrap_or(&empty);
    let mut role_magic = Map::new();
    if let Some(r) = &inh.role {
        role_magic.insert("role_path".into(), json!(r.path.display().to_string()));
        role_magic.insert("role_name".into(), json!(r.name));
        role_magic.insert("ansible_role_name".into(), json!(r.name));
        if !r.parents.is_empty() {
            role_magic.insert("ansible_parent_role_names".into(), json!(r.parents.iter().map(|p| &p.0).collect::<Vec<_>>()));
            role_magic
                .insert("ansible_parent_role_paths".into(), json!(r.parents.iter().map(|p| p.1.display().to_string()).collect::<Vec<_>>()));
        }
    }
    if let Some(t) = task {
        role_magic.insert("ansible_search_path".into(), search_path(inh.role.as_deref(), &t.base));
    }
    if run.inv_gen.load(std::sync::atomic::Ordering::Relaxed) > 0 {
        // add_host or group_by changed the inventory since the play began.
        role_magic.insert("groups".into(), run.groups_now());
        role_magic.insert("group_names".into(), json!(group_names(run, &host.name)));
    }
    if !role_magic.is_empty() {
        layers.push((Arc::new(role_magic), false));
    }
    layers.push((ps.magic.clone(), false));
    layers.push((ps.shared.clone(), false));
    layers.push((ps.extra.clone(), false));
    if let Some(r) = &inh.role {
        if !r.params.is_empty() {
            layers.push((Arc::new(r.params.clone()), false));
        }
    }
    layers.push((HostState::snapshot(&host.set_facts), true));
    layers.push((HostState::snapshot(&host.include_vars), false));
    if !task_vars.is_empty() {
        layers.push((Arc::new(task_vars.clone()), false));
    }
    for v in inh.vars.iter().rev() {
        layers.push((v.clone(), false));
    }
    if let Some(r) = &inh.role {
        layers.push((Arc::new(r.vars.clone()), false));
    }
    layers.push((ps.role_vars.clone(), false));
    layers.push((ps.vars_files.clone(), false));
    layers.push((ps.play_vars.clone(), false));
    layers.push((HostState::snapshot(&host.facts), true));
    layers.push((HostState::snapshot(&host.inventory), false));
    if let Some(r) = &inh.role {
        layers.push((Arc::new(r.defaults.clone()), false));
    }
    layers.push((ps.role_defaults.clone(), false));
    layers.push((ps.connection_defaults.clone(), false));
    Scope::new_marked(layers, Some(Arc::new(HostVarsView(run.clone()))))
}

/// Where a task's relative file names are looked for, as Ansible's `ansible_search_path`: the
/// task's role, then the folder of the file the task is written in.
fn search_path(role: Option<&Role>, base: &Path) -> Value {
    let mut out = Vec::new();
    if let Some(r) = role {
        out.push(r.path.display().to_string());
    }
    let dir = base.display().to_string();
    if !out.contains(&dir) {
        out.push(dir);
    }
    json!(out)
}

/// Read a play's `vars_files` for a host (names may use the host's variables).
pub fn load_vars_files(play: &Play, scope: &Arc<Scope>) -> Result<Map<String, Value>, crate::diag::Diagnostic> {
    let mut out = Map::new();
    for (entry, loc) in &play.vars_files {
        // A list entry means "the first of these that exists".
        let candidates: Vec<Value> = match entry {
            Value::Array(a) => a.clone(),
            v => vec![v.clone()],
        };
        let mut found = false;
        let mut tried = Vec::new();
        for c in candidates {
            let name = crate::template::render_value(&c, scope)
                .map_err(|e| crate::diag::Diagnostic::new(format!("vars_files: {}", e.message)).at(loc.clone(), "in this file name"))?;
            let name = crate::pytext::to_text(&name);
            let path = if Path::new(&name).is_absolute() { Path::new(&name).to_path_buf() } else { play.dir.join(&name) };
            if path.is_file() {
                out.extend(crate::inventory::read_vars_file(&path)?);
                found = true;
                break;
            }
            tried.push(name);
        }
        if !found {
            return Err(
                crate::diag::Diagnostic::new(format!("vars file {} was not found", tried.join(" or "))).at(loc.clone(), "listed here")
            );
        }
    }
    Ok(out)
}
