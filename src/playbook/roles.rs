//! Roles: found in `roles/` beside the playbook or on the roles path, loaded with their
//! defaults, vars, handlers and `meta/main.yml` dependencies (which run first, once).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::keywords::COMMON;
use super::load::{load_task_file, parse_kw, vars_map, LoadCtx};
use super::{Kw, Role, Task, TaskKind};
use crate::diag::{suggest, Diagnostic};
use crate::yaml::{self, Node, NodeKind};

type R<T> = Result<T, Diagnostic>;

/// The folder of a role, searched as Ansible searches: the name (or path) under the playbook's
/// `roles/`, the roles path and the playbook's folder; failing those, the name as a path of
/// its own. With the role's name: as written, except for that last case, its folder's name
/// (so a role given by an absolute path is named by that path, as Ansible names it).
pub fn find_role(name: &str, playbook_dir: &Path, roles_path: &[PathBuf]) -> Result<(String, PathBuf), Vec<PathBuf>> {
    let mut searched = Vec::new();
    // `ns.coll.role`: a role inside an installed collection.
    if let [ns, coll, role] = name.split('.').collect::<Vec<_>>().as_slice() {
        for root in crate::ansible_core::collection_roots(playbook_dir) {
            let p = root.join("ansible_collections").join(ns).join(coll).join("roles").join(role);
            if p.is_dir() {
                return Ok((name.to_string(), p));
            }
            searched.push(p);
        }
    }
    let mut dirs = vec![playbook_dir.join("roles")];
    dirs.extend(roles_path.iter().cloned());
    dirs.push(playbook_dir.to_path_buf());
    for d in dirs {
        let p = d.join(name);
        if p.is_dir() {
            return Ok((name.to_string(), p));
        }
        searched.push(d);
    }
    let p = Path::new(name);
    if p.is_dir() {
        let base = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| name.to_string());
        return Ok((base, p.to_path_buf()));
    }
    Err(searched)
}

fn main_file(dir: &Path) -> Option<PathBuf> {
    ["main.yml", "main.yaml", "main.json", "main"].iter().map(|f| dir.join(f)).find(|p| p.is_file())
}

fn named_file(dir: &Path, name: &str) -> Option<PathBuf> {
    [format!("{name}.yml"), format!("{name}.yaml"), format!("{name}.json"), name.to_string()]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
}

fn read_vars(dir: &Path, name: Option<&str>) -> R<Map<String, Value>> {
    let file = match name {
        Some(n) => named_file(dir, n),
        None => main_file(dir),
    };
    match file {
        Some(f) => crate::inventory::read_vars_file(&f),
        None => {
            let sub = dir.join(name.unwrap_or("main"));
            let mut out = Map::new();
            if sub.is_dir() {
                let mut files: Vec<PathBuf> = std::fs::read_dir(&sub).map(|r| r.flatten().map(|e| e.path()).collect()).unwrap_or_default();
                files.sort();
                for f in files {
                    out.extend(crate::inventory::read_vars_file(&f)?);
                }
            }
            Ok(out)
        }
    }
}

pub struct RoleUse<'a> {
    pub name: String,
    pub params: Map<String, Value>,
    pub kw: Kw,
    pub tasks_from: Option<String>,
    pub vars_from: Option<String>,
    pub defaults_from: Option<String>,
    pub handlers_from: Option<String>,
    pub node: &'a Node,
}

/// An entry of a play's `roles:` list.
pub fn load_role_entry(entry: &Node, ctx: &mut LoadCtx) -> R<Vec<Arc<Task>>> {
    let use_ = match &entry.kind {
        NodeKind::Str(s) => RoleUse {
            name: s.clone(),
            params: Map::new(),
            kw: Kw::default(),
            tasks_from: None,
            vars_from: None,
            defaults_from: None,
            handlers_from: None,
            node: entry,
        },
        NodeKind::Map(m) => {
            let Some(name) = entry.get("role").or(entry.get("name")) else {
                return Err(Diagnostic::new("a role entry needs `role:`").at(entry.loc.clone(), "no role name"));
            };
            let mut params = Map::new();
            for (k, v) in m {
                let key = k.key_string();
                if key == "role" || (key == "name" && entry.get("role").is_none()) || COMMON.contains(&key.as_str()) {
                    continue;
                }
                params.insert(key, v.to_value());
            }
            let mut kw = parse_kw(entry)?;
            if let Some(v) = entry.get("vars") {
                kw.vars = vars_map(v)?;
            }
            RoleUse {
                name: name.key_string(),
                params,
                kw,
                tasks_from: None,
                vars_from: None,
                defaults_from: None,
                handlers_from: None,
                node: name,
            }
        }
        _ => return Err(Diagnostic::new("a role entry must be a name or a mapping").at(entry.loc.clone(), "here")),
    };
    load_role(use_, ctx, true)
}

/// `import_role:` and `include_role:` in a task list.
pub fn load_role_action(action: &str, v: &Node, ctx: &mut LoadCtx, task: &Task) -> R<Vec<Arc<Task>>> {
    let converted;
    let v = match &v.kind {
        NodeKind::Str(s) => {
            let m = crate::kv::parse_kv(s, None);
            converted = Node::from_value(&Value::Object(m), &v.loc);
            &converted
        }
        _ => v,
    };
    let Some(map) = v.as_map() else {
        return Err(Diagnostic::new(format!("`{action}` takes a mapping with `name:`")).at(v.loc.clone(), "expected name: ROLE"));
    };
    // `role:` is another spelling of `name:` (Ansible reads `name`, else `role`).
    let allowed = [
        "name",
        "role",
        "tasks_from",
        "vars_from",
        "defaults_from",
        "handlers_from",
        "public",
        "allow_duplicates",
        "apply",
        "rolespec_validate",
    ];
    for (k, _) in map {
        let key = k.key_string();
        if !allowed.contains(&key.as_str()) {
            let mut d = Diagnostic::new(format!("`{action}` has no argument `{key}`")).at(k.loc.clone(), "unknown argument");
            if let Some(s) = suggest(&key, allowed.iter().copied()) {
                d = d.help(format!("did you mean `{s}`?"));
            }
            return Err(d);
        }
    }
    let Some(name) = v.get("name").or(v.get("role")) else {
        return Err(Diagnostic::new(format!("`{action}` needs `name:`")).at(v.loc.clone(), "no role name"));
    };
    let mut role_name = name.key_string();
    if crate::pytext::is_template(&role_name) {
        // The role is loaded with the play, so its name may use only what is known then:
        // extra vars, the play's vars, and the including role's `role_path` and vars.
        role_name = super::load::load_time_render(ctx, task.role.as_deref(), &role_name).map_err(|e| {
            Diagnostic::new(format!("the role name of `{action}` must be known before the run ({e})"))
                .at(name.loc.clone(), "templated role name")
                .deferrable()
        })?;
    }
    let s = |k: &str| v.get(k).map(|n| n.key_string());
    let use_ = RoleUse {
        name: role_name,
        params: Map::new(),
        kw: Kw::default(),
        tasks_from: s("tasks_from"),
        vars_from: s("vars_from"),
        defaults_from: s("defaults_from"),
        handlers_from: s("handlers_from"),
        node: name,
    };
    // A role imported or included by a task may run again where it is written.
    load_role(use_, ctx, false)
}

fn load_role(use_: RoleUse, ctx: &mut LoadCtx, dedupe: bool) -> R<Vec<Arc<Task>>> {
    if crate::pytext::is_template(&use_.name) {
        return Err(Diagnostic::new("a role name cannot use variables in steward").at(use_.node.loc.clone(), "templated role name"));
    }
    let (role_name, path) = match find_role(&use_.name, &ctx.playbook_dir, &ctx.roles_path) {
        Ok(found) => found,
        Err(searched) => {
            let mut d = Diagnostic::new(format!("the role `{}` was not found", use_.name)).at(use_.node.loc.clone(), "unknown role");
            let mut available = Vec::new();
            for s in &searched {
                if let Ok(rd) = std::fs::read_dir(s) {
                    for e in rd.flatten() {
                        if e.path().join("tasks").is_dir() {
                            available.push(e.file_name().to_string_lossy().into_owned());
                        }
                    }
                }
            }
            if let Some(s) = suggest(&use_.name, available.iter().map(String::as_str)) {
                d = d.help(format!("did you mean `{s}`?"));
            }
            return Err(d.note(format!("searched: {}", searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))));
        }
    };
    let meta = match main_file(&path.join("meta")) {
        Some(f) => yaml::load_file(&f)?,
        None => Node::new(NodeKind::Null, crate::yaml::Loc::none()),
    };
    let allow_dup = meta.get("allow_duplicates").map(|n| matches!(n.kind, NodeKind::Bool(true))).unwrap_or(false);
    let key = format!("{}|{}", path.display(), Value::Object(use_.params.clone()));
    if dedupe && !allow_dup && ctx.seen_roles.contains(&key) {
        return Ok(vec![]);
    }
    ctx.seen_roles.push(key);
    if !ctx.role_dirs.contains(&path) {
        ctx.role_dirs.push(path.clone());
    }
    if ctx.depth > 32 {
        return Err(
            Diagnostic::new(format!("role dependencies nested too deeply at `{}` (a cycle?)", use_.name)).at(use_.node.loc.clone(), "here")
        );
    }
    let mut out: Vec<Arc<Task>> = Vec::new();
    if let Some(deps) = meta.get("dependencies") {
        if let NodeKind::Seq(items) = &deps.kind {
            ctx.depth += 1;
            for d in items {
                out.extend(load_role_entry(d, ctx)?);
            }
            ctx.depth -= 1;
        }
    }
    let defaults = read_vars(&path.join("defaults"), use_.defaults_from.as_deref())?;
    let vars = read_vars(&path.join("vars"), use_.vars_from.as_deref())?;
    // `dedupe` is for roles from `roles:` and `dependencies:`; below the top, a dependency.
    if dedupe && ctx.depth > 0 && !ctx.dependency_role_names.contains(&role_name) {
        ctx.dependency_role_names.push(role_name.clone());
    }
    let role = Arc::new(Role {
        name: role_name.clone(),
        path: path.clone(),
        defaults: defaults.clone(),
        vars: vars.clone(),
        params: use_.params.clone(),
        parents: ctx.role_stack.iter().rev().cloned().collect(),
    });
    for (k, v) in defaults {
        ctx.role_defaults.insert(k, v);
    }
    for (k, v) in vars {
        ctx.role_vars.insert(k, v);
    }
    let tasks_file = match &use_.tasks_from {
        Some(f) => named_file(&path.join("tasks"), f.trim_end_matches(".yml").trim_end_matches(".yaml")),
        None => main_file(&path.join("tasks")),
    };
    // A role under `when` may never run; nor may its handlers.
    let conditional = usize::from(!use_.kw.when.is_empty());
    ctx.guard += conditional;
    // As Ansible: a role's filter, test and lookup plugins are usable once the role is loaded.
    crate::template::python_plugins::add_dirs_of(&path);
    ctx.role_stack.push((role_name, path.clone()));
    let tasks = match tasks_file {
        Some(f) => load_task_file(&f, ctx, Some(role.clone())),
        None if use_.tasks_from.is_some() => {
            ctx.guard -= conditional;
            ctx.role_stack.pop();
            return Err(Diagnostic::new(format!("role `{}` has no tasks file `{}`", use_.name, use_.tasks_from.unwrap_or_default()))
                .at(use_.node.loc.clone(), "here"));
        }
        None => Ok(vec![]),
    };
    ctx.role_stack.pop();
    ctx.guard -= conditional;
    let tasks = tasks?;
    let handlers_file = match &use_.handlers_from {
        Some(f) => named_file(&path.join("handlers"), f),
        None => main_file(&path.join("handlers")),
    };
    if let Some(f) = handlers_file {
        ctx.guard += 1;
        let hs = load_task_file(&f, ctx, Some(role.clone()));
        ctx.guard -= 1;
        ctx.role_handlers.extend(hs?);
    }
    out.extend(tasks);
    let mut wrapper = Task::new(TaskKind::Import { tasks: out }, use_.node.loc.clone(), path.join("tasks"));
    wrapper.kw = use_.kw;
    wrapper.role = Some(role);
    Ok(vec![Arc::new(wrapper)])
}
