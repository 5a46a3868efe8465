//! Reading playbooks and task files into the model, checking everything on the way.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::keywords::{self, BLOCK, COMMON, PLAY, TASK};
use super::{roles, Kw, Loop, Play, Playbook, Role, Task, TaskKind};
use crate::diag::{suggest, Diagnostic};
use crate::kv::{parse_kv, split_args};
use crate::modules::{self, FreeForm};
use crate::yaml::{self, Loc, Node, NodeKind};

/// What every load of a run shares, at the start and when a dynamic include loads later: the
/// roles path, and the extra vars (a static import's file name may use them, as in Ansible).
#[derive(Clone, Debug, Default)]
pub struct LoadEnv {
    pub roles_path: Vec<PathBuf>,
    pub extra_vars: Map<String, Value>,
}

/// What loading needs to know and what it collects for the play being loaded.
pub struct LoadCtx {
    pub playbook_dir: PathBuf,
    pub roles_path: Vec<PathBuf>,
    pub env: Arc<LoadEnv>,
    /// The play's own vars, for file names of static imports.
    pub play_vars: Map<String, Value>,
    /// Roles already used in this play (name and parameters), so each runs once.
    pub(super) seen_roles: Vec<String>,
    pub(super) role_handlers: Vec<Arc<Task>>,
    pub(super) role_defaults: Map<String, Value>,
    pub(super) role_vars: Map<String, Value>,
    /// Roles loaded as dependencies of others.
    pub(super) dependency_role_names: Vec<String>,
    /// The roles whose tasks are being loaded, outermost first.
    pub(super) role_stack: Vec<(String, PathBuf)>,
    /// Every role loaded so far, in order: Ansible searches their `action_plugins/` for the
    /// rest of the play.
    pub(super) role_dirs: Vec<PathBuf>,
    pub(super) depth: usize,
    /// Above zero while loading tasks that may never run (a block or import under `when`,
    /// a rescue section): a deferrable fault there becomes a task that fails when it runs.
    pub(super) guard: usize,
    /// The play's `collections:` keyword.
    pub(super) collections: Vec<String>,
}

impl LoadCtx {
    pub fn new(playbook_dir: &Path, env: Arc<LoadEnv>) -> LoadCtx {
        crate::template::python_plugins::set_playbook_dir(playbook_dir);
        LoadCtx {
            playbook_dir: playbook_dir.to_path_buf(),
            roles_path: env.roles_path.clone(),
            env,
            play_vars: Map::new(),
            seen_roles: vec![],
            role_handlers: vec![],
            role_defaults: Map::new(),
            role_vars: Map::new(),
            dependency_role_names: Vec::new(),
            role_stack: Vec::new(),
            collections: Vec::new(),
            role_dirs: Vec::new(),
            depth: 0,
            guard: 0,
        }
    }
}

type R<T> = Result<T, Diagnostic>;

/// A `vars_files` entry whose name is literal and exists is read once now, so that a file
/// that does not parse or cannot be decrypted stops the run before it starts. Names with
/// templates, and files that are not there yet, are read when the play starts.
fn check_literal_vars_files(files: &[(Value, crate::yaml::Loc)], dir: &Path) -> R<()> {
    for (entry, loc) in files {
        let first = match entry {
            Value::Array(a) => a.first(),
            v => Some(v),
        };
        let Some(Value::String(name)) = first else { continue };
        if name.contains("{{") || name.contains("{%") {
            continue;
        }
        let path = if Path::new(name).is_absolute() { PathBuf::from(name) } else { dir.join(name) };
        if path.is_file() {
            crate::inventory::read_vars_file(&path).map_err(|e| e.at(loc.clone(), "in this vars_files entry"))?;
        }
    }
    Ok(())
}

pub fn load_playbook(path: &Path, env: &Arc<LoadEnv>) -> R<Playbook> {
    let abs = std::fs::canonicalize(path).map_err(|e| Diagnostic::new(format!("cannot open playbook {}: {e}", path.display())))?;
    let dir = abs.parent().map(Path::to_path_buf).unwrap_or_default();
    let root = yaml::load_file(&abs)?;
    load_playbook_node(&root, &abs, &dir, env)
}

/// A playbook from parsed YAML (an ad-hoc command builds one), relative to `dir`.
pub fn load_playbook_node(root: &Node, abs: &Path, dir: &Path, env: &Arc<LoadEnv>) -> R<Playbook> {
    let dir = dir.to_path_buf();
    let abs = abs.to_path_buf();
    let mut plays = Vec::new();
    let items = match &root.kind {
        NodeKind::Seq(items) => items.clone(),
        NodeKind::Null => vec![],
        _ => {
            return Err(Diagnostic::new("a playbook must be a list of plays")
                .at(root.loc.clone(), "expected a list (each play starts with `- hosts:`)"))
        }
    };
    for item in &items {
        if let Some(imp) = item.get("import_playbook") {
            let Some(file) = imp.as_str() else {
                return Err(Diagnostic::new("import_playbook takes a file name").at(imp.loc.clone(), "expected a string"));
            };
            let p = dir.join(file);
            let sub = load_playbook(&p, env).map_err(|d| if d.spans.is_empty() { d.at(imp.loc.clone(), "imported here") } else { d })?;
            // `vars:` on the import apply to every imported play, over the plays' own.
            let vars = match item.get("vars") {
                Some(v) => vars_map(v)?,
                None => Map::new(),
            };
            if vars.is_empty() {
                plays.extend(sub.plays);
            } else {
                for play in sub.plays {
                    let mut p = (*play).clone();
                    p.vars.extend(vars.clone());
                    plays.push(Arc::new(p));
                }
            }
            continue;
        }
        let mut ctx = LoadCtx::new(&dir, env.clone());
        plays.push(Arc::new(load_play(item, &mut ctx)?));
    }
    Ok(Playbook { path: abs, dir, plays })
}

fn unknown_key(key: &Node, allowed: &[&[&str]], what: &str) -> Diagnostic {
    let k = key.key_string();
    let mut d = Diagnostic::new(format!("`{k}` is not a valid keyword for a {what}")).at(key.loc.clone(), "unknown keyword");
    let all = allowed.iter().flat_map(|a| a.iter().copied());
    if let Some(s) = suggest(&k, all) {
        d = d.help(format!("did you mean `{s}`?"));
    }
    d
}

fn map_of<'a>(node: &'a Node, what: &str) -> R<&'a [(Node, Node)]> {
    node.as_map()
        .ok_or_else(|| Diagnostic::new(format!("a {what} must be a mapping")).at(node.loc.clone(), format!("found {}", node.type_name())))
}

fn load_play(node: &Node, ctx: &mut LoadCtx) -> R<Play> {
    let map = map_of(node, "play")?;
    for (k, _) in map {
        let key = k.key_string();
        if !PLAY.contains(&key.as_str()) {
            return Err(unknown_key(k, &[PLAY], "play"));
        }
    }
    let Some(hosts) = node.get("hosts") else {
        return Err(Diagnostic::new("the field `hosts` is required but was not set").at(node.loc.clone(), "this play has no `hosts`"));
    };
    let hosts_v = match &hosts.kind {
        NodeKind::Str(_) | NodeKind::Seq(_) => hosts.to_value(),
        _ => {
            return Err(
                Diagnostic::new("`hosts` must be a pattern or a list of patterns").at(hosts.loc.clone(), "expected a string or a list")
            )
        }
    };
    let kw = parse_kw(node)?;
    let named_node = node.get("name").filter(|n| !n.is_null());
    let named = named_node.is_some();
    let name = match named_node {
        Some(n) => scalar_string(n, "name")?,
        None => match &hosts_v {
            Value::Array(a) => a.iter().map(crate::pytext::to_text).collect::<Vec<_>>().join(","),
            v => crate::pytext::to_text(v),
        },
    };
    let vars = match node.get("vars") {
        Some(v) => vars_map(v)?,
        None => Map::new(),
    };
    ctx.play_vars = vars.clone();
    // `collections:`: where a task's short module names are looked for after steward's own.
    ctx.collections = match node.get("collections").map(|c| c.to_value()) {
        Some(Value::Array(a)) => a.iter().filter_map(|c| c.as_str().map(str::to_string)).collect(),
        Some(Value::String(c)) => vec![c],
        _ => vec![],
    };
    let mut vars_files = Vec::new();
    if let Some(vf) = node.get("vars_files") {
        match &vf.kind {
            NodeKind::Seq(items) => {
                for i in items {
                    vars_files.push((i.to_value(), i.loc.clone()));
                }
            }
            NodeKind::Str(_) => vars_files.push((vf.to_value(), vf.loc.clone())),
            NodeKind::Null => {}
            _ => return Err(Diagnostic::new("`vars_files` must be a list of file names").at(vf.loc.clone(), "expected a list")),
        }
    }
    check_literal_vars_files(&vars_files, &ctx.playbook_dir)?;
    let gather_facts = node.get("gather_facts").map(|g| bool_like(g, "gather_facts")).transpose()?;
    let mut gather_args = Map::new();
    for k in ["gather_subset", "gather_timeout", "fact_path"] {
        if let Some(v) = node.get(k).filter(|v| !v.is_null()) {
            gather_args.insert(k.to_string(), v.to_value());
        }
    }
    let mut vars_prompt = Vec::new();
    if let Some(vp) = node.get("vars_prompt") {
        let items: Vec<&Node> = match &vp.kind {
            NodeKind::Seq(items) => items.iter().collect(),
            NodeKind::Null => vec![],
            _ => return Err(Diagnostic::new("`vars_prompt` must be a list of prompts").at(vp.loc.clone(), "expected a list")),
        };
        for i in items {
            let m = map_of(i, "vars_prompt entry")?;
            if i.get("name").is_none() {
                return Err(Diagnostic::new("a vars_prompt entry needs `name:`").at(i.loc.clone(), "no name"));
            }
            for (k, _) in m {
                let key = k.key_string();
                if !["name", "prompt", "default", "private", "confirm", "encrypt", "salt_size", "salt", "unsafe"].contains(&key.as_str()) {
                    return Err(unknown_key(
                        k,
                        &[&["name", "prompt", "default", "private", "confirm", "encrypt", "salt_size", "salt", "unsafe"]],
                        "vars_prompt entry",
                    ));
                }
            }
            if let Value::Object(o) = i.to_value() {
                vars_prompt.push(o);
            }
        }
    }
    let serial = node.get("serial").map(|s| s.to_value());
    let max_fail_percentage = match node.get("max_fail_percentage") {
        Some(n) => Some(match &n.kind {
            NodeKind::Int(i) => *i as f64,
            NodeKind::Float(f) => *f,
            NodeKind::Str(s) => s
                .trim_end_matches('%')
                .parse()
                .map_err(|_| Diagnostic::new("`max_fail_percentage` must be a number").at(n.loc.clone(), "expected a number"))?,
            _ => return Err(Diagnostic::new("`max_fail_percentage` must be a number").at(n.loc.clone(), "expected a number")),
        }),
        None => None,
    };
    let strategy = match node.get("strategy") {
        Some(s) => {
            let v = scalar_string(s, "strategy")?;
            let v = v.rsplit('.').next().unwrap_or(&v).to_string();
            if !["linear", "free", "graph", "host_pinned"].contains(&v.as_str()) {
                let mut d = Diagnostic::new(format!("unknown strategy `{v}`")).at(s.loc.clone(), "expected linear, free or graph");
                if let Some(x) = suggest(&v, ["linear", "free", "graph"]) {
                    d = d.help(format!("did you mean `{x}`?"));
                }
                return Err(d);
            }
            Some(v)
        }
        None => None,
    };
    let order = match node.get("order") {
        Some(o) => {
            let v = scalar_string(o, "order")?;
            if !["inventory", "reverse_inventory", "sorted", "reverse_sorted", "shuffle"].contains(&v.as_str()) {
                return Err(Diagnostic::new(format!("unknown host order `{v}`"))
                    .at(o.loc.clone(), "expected inventory, reverse_inventory, sorted, reverse_sorted or shuffle"));
            }
            Some(v)
        }
        None => None,
    };
    let force_handlers = match node.get("force_handlers") {
        Some(f) => matches!(bool_like(f, "force_handlers")?, Value::Bool(true)),
        None => false,
    };
    let needs = match node.get("needs") {
        Some(n) => string_list(n, "needs")?,
        None => vec![],
    };
    let max_concurrent_tasks = match node.get("max_concurrent_tasks") {
        Some(n) => match n.kind {
            NodeKind::Int(i) if i > 0 => Some(i as usize),
            _ => return Err(Diagnostic::new("`max_concurrent_tasks` must be a positive integer").at(n.loc.clone(), "expected a number")),
        },
        None => None,
    };
    let base = ctx.playbook_dir.clone();
    let mut role_tasks = Vec::new();
    let mut play_roles: Vec<String> = Vec::new();
    if let Some(roles) = node.get("roles") {
        match &roles.kind {
            NodeKind::Seq(items) => {
                for r in items {
                    role_tasks.extend(roles::load_role_entry(r, ctx)?);
                    if let Some(name) = role_tasks.last().and_then(|t| t.role.as_ref()).map(|r| r.name.clone()) {
                        if !play_roles.contains(&name) {
                            play_roles.push(name);
                        }
                    }
                }
            }
            NodeKind::Null => {}
            _ => return Err(Diagnostic::new("`roles` must be a list").at(roles.loc.clone(), "expected a list of roles")),
        }
    }
    let pre_tasks = section(node, "pre_tasks", ctx, &base)?;
    let mut tasks = role_tasks;
    tasks.extend(section(node, "tasks", ctx, &base)?);
    let post_tasks = section(node, "post_tasks", ctx, &base)?;
    // Handlers run only when notified.
    ctx.guard += 1;
    let own_handlers = section(node, "handlers", ctx, &base);
    ctx.guard -= 1;
    let own_handlers = own_handlers?;
    let mut handlers = std::mem::take(&mut ctx.role_handlers);
    handlers.extend(own_handlers);
    Ok(Play {
        name,
        named,
        loc: node.loc.clone(),
        hosts: hosts_v,
        vars,
        vars_files,
        gather_facts,
        gather_args,
        vars_prompt,
        kw,
        serial,
        max_fail_percentage,
        strategy,
        order,
        force_handlers,
        pre_tasks,
        tasks,
        post_tasks,
        handlers,
        role_defaults: std::mem::take(&mut ctx.role_defaults),
        role_vars: std::mem::take(&mut ctx.role_vars),
        role_names: play_roles,
        dependency_role_names: std::mem::take(&mut ctx.dependency_role_names),
        dir: ctx.playbook_dir.clone(),
        load_env: ctx.env.clone(),
        needs,
        needs_declared: node.get("needs").is_some(),
        max_concurrent_tasks,
    })
}

fn section(node: &Node, key: &str, ctx: &mut LoadCtx, base: &Path) -> R<Vec<Arc<Task>>> {
    match node.get(key) {
        Some(list) => load_tasks(list, ctx, base, None),
        None => Ok(vec![]),
    }
}

/// Load a task file (import_tasks, include_tasks, a role's tasks/main.yml).
pub fn load_task_file(path: &Path, ctx: &mut LoadCtx, role: Option<Arc<Role>>) -> R<Vec<Arc<Task>>> {
    if ctx.depth > 64 {
        return Err(Diagnostic::new(format!("includes nested too deeply at {} (a file includes itself?)", path.display())));
    }
    let node = yaml::load_file(path)?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    ctx.depth += 1;
    let out = load_tasks(&node, ctx, &base, role);
    ctx.depth -= 1;
    out
}

pub(super) fn load_tasks(node: &Node, ctx: &mut LoadCtx, base: &Path, role: Option<Arc<Role>>) -> R<Vec<Arc<Task>>> {
    match &node.kind {
        NodeKind::Null => Ok(vec![]),
        NodeKind::Seq(items) => items.iter().map(|t| load_task(t, ctx, base, role.clone()).map(Arc::new)).collect(),
        _ => Err(Diagnostic::new("a task list must be a list").at(node.loc.clone(), format!("found {}", node.type_name()))),
    }
}

fn scalar_string(n: &Node, what: &str) -> R<String> {
    match &n.kind {
        NodeKind::Str(s) => Ok(s.clone()),
        NodeKind::Int(_) | NodeKind::Float(_) | NodeKind::Bool(_) => Ok(crate::pytext::to_text(&n.to_value())),
        _ => Err(Diagnostic::new(format!("`{what}` must be a string")).at(n.loc.clone(), format!("found {}", n.type_name()))),
    }
}

fn bool_like(n: &Node, what: &str) -> R<Value> {
    match &n.kind {
        NodeKind::Bool(b) => Ok(Value::Bool(*b)),
        NodeKind::Str(s) if crate::pytext::is_template(s) => Ok(Value::String(s.clone())),
        NodeKind::Str(s) => match crate::modules::args::parse_bool(s) {
            Some(b) => Ok(Value::Bool(b)),
            None => Err(Diagnostic::new(format!("`{what}` must be a boolean, not `{s}`")).at(n.loc.clone(), "expected true or false")),
        },
        NodeKind::Int(0) => Ok(Value::Bool(false)),
        NodeKind::Int(1) => Ok(Value::Bool(true)),
        _ => Err(Diagnostic::new(format!("`{what}` must be a boolean")).at(n.loc.clone(), format!("found {}", n.type_name()))),
    }
}

fn string_list(n: &Node, what: &str) -> R<Vec<String>> {
    match &n.kind {
        NodeKind::Str(s) => Ok(vec![s.clone()]),
        NodeKind::Seq(items) => items.iter().map(|i| scalar_string(i, what)).collect(),
        NodeKind::Null => Ok(vec![]),
        _ => Err(Diagnostic::new(format!("`{what}` must be a string or a list of strings"))
            .at(n.loc.clone(), format!("found {}", n.type_name()))),
    }
}

fn tags(n: &Node) -> R<Vec<String>> {
    let raw = match &n.kind {
        NodeKind::Str(s) => s.split(',').map(|t| t.trim().to_string()).collect(),
        NodeKind::Int(_) | NodeKind::Float(_) => vec![n.key_string()],
        NodeKind::Seq(items) => items.iter().map(|i| scalar_string(i, "tags")).collect::<R<Vec<_>>>()?,
        NodeKind::Null => vec![],
        _ => return Err(Diagnostic::new("`tags` must be a string or a list").at(n.loc.clone(), format!("found {}", n.type_name()))),
    };
    Ok(raw.into_iter().filter(|t| !t.is_empty()).collect())
}

fn conditions(n: &Node, what: &str) -> R<Vec<Value>> {
    match &n.kind {
        NodeKind::Seq(items) => items.iter().map(|i| condition(i, what)).collect(),
        _ => Ok(vec![condition(n, what)?]),
    }
}

fn condition(n: &Node, what: &str) -> R<Value> {
    match &n.kind {
        NodeKind::Str(s) => {
            if let Some(expr) = s.trim().strip_prefix("{{").and_then(|x| x.strip_suffix("}}")) {
                check_expr(expr, n)?;
            } else if !crate::pytext::is_template(s) {
                check_expr(s, n)?;
            }
            Ok(Value::String(s.clone()))
        }
        NodeKind::Bool(_) | NodeKind::Int(_) | NodeKind::Float(_) | NodeKind::Null => Ok(n.to_value()),
        _ => Err(Diagnostic::new(format!("`{what}` must be an expression or a list of expressions"))
            .at(n.loc.clone(), format!("found {}", n.type_name()))),
    }
}

/// A condition's syntax is checked when the playbook is loaded.
fn check_expr(expr: &str, n: &Node) -> R<()> {
    crate::template::env().compile_expression(expr).map(|_| ()).map_err(|e| {
        Diagnostic::new(format!("invalid expression `{}`: {}", expr.trim(), e.detail().unwrap_or("syntax error")))
            .at(n.loc.clone(), "this expression")
    })
}

pub(super) fn vars_map(n: &Node) -> R<Map<String, Value>> {
    let mut out = Map::new();
    let mut add = |m: &[(Node, Node)]| -> R<()> {
        for (k, v) in m {
            let key = k.key_string();
            if !crate::modules::valid_var_name(&key) {
                return Err(Diagnostic::new(format!("`{key}` is not a valid variable name"))
                    .at(k.loc.clone(), "letters, digits and underscores, not starting with a digit"));
            }
            out.insert(key, v.to_value());
        }
        Ok(())
    };
    match &n.kind {
        NodeKind::Map(m) => add(m)?,
        NodeKind::Seq(items) => {
            for i in items {
                add(map_of(i, "vars entry")?)?;
            }
        }
        NodeKind::Null => {}
        _ => return Err(Diagnostic::new("`vars` must be a mapping").at(n.loc.clone(), format!("found {}", n.type_name()))),
    }
    Ok(out)
}

/// The keywords a play, block, role entry or task passes down.
pub(super) fn parse_kw(node: &Node) -> R<Kw> {
    let mut kw = Kw::default();
    let Some(map) = node.as_map() else {
        return Ok(kw);
    };
    for (k, v) in map {
        let key = k.key_string();
        let val = || v.to_value();
        match key.as_str() {
            "become" => kw.become_ = Some(bool_like(v, "become")?),
            "become_user" => kw.become_user = Some(Value::String(scalar_string(v, "become_user")?)),
            "become_method" => {
                let m = scalar_string(v, "become_method")?;
                let short = m.rsplit('.').next().unwrap_or(&m).to_string();
                if !crate::pytext::is_template(&short) && !["sudo", "su", "doas"].contains(&short.as_str()) {
                    return Err(
                        Diagnostic::new(format!("become method `{m}` is not supported")).at(v.loc.clone(), "expected sudo, su or doas")
                    );
                }
                kw.become_method = Some(Value::String(short));
            }
            "become_flags" => kw.become_flags = Some(val()),
            "become_exe" => kw.become_exe = Some(val()),
            "remote_user" => kw.remote_user = Some(val()),
            "connection" => kw.connection = Some(Value::String(scalar_string(v, "connection")?)),
            "port" => kw.port = Some(val()),
            "environment" => {
                if !matches!(v.kind, NodeKind::Map(_) | NodeKind::Str(_) | NodeKind::Seq(_) | NodeKind::Null) {
                    return Err(Diagnostic::new("`environment` must be a mapping").at(v.loc.clone(), "expected NAME: value pairs"));
                }
                kw.environment = Some(val());
            }
            "ignore_errors" => kw.ignore_errors = Some(bool_like(v, "ignore_errors")?),
            "ignore_unreachable" => kw.ignore_unreachable = Some(bool_like(v, "ignore_unreachable")?),
            "no_log" => kw.no_log = Some(bool_like(v, "no_log")?),
            "check_mode" => kw.check_mode = Some(bool_like(v, "check_mode")?),
            "diff" => kw.diff = Some(bool_like(v, "diff")?),
            "any_errors_fatal" => kw.any_errors_fatal = Some(bool_like(v, "any_errors_fatal")?),
            "delegate_to" => kw.delegate_to = Some(Value::String(scalar_string(v, "delegate_to")?)),
            "delegate_facts" => kw.delegate_facts = Some(bool_like(v, "delegate_facts")?),
            "run_once" => kw.run_once = Some(bool_like(v, "run_once")?),
            "throttle" => kw.throttle = Some(val()),
            "timeout" => kw.timeout = Some(val()),
            "module_defaults" => {
                if !matches!(v.kind, NodeKind::Map(_) | NodeKind::Seq(_) | NodeKind::Null | NodeKind::Str(_)) {
                    return Err(Diagnostic::new("`module_defaults` must be a mapping of module names to arguments")
                        .at(v.loc.clone(), format!("found {}", v.type_name())));
                }
                kw.module_defaults = Some(val());
            }
            "tags" => kw.tags = tags(v)?,
            "when" => kw.when = conditions(v, "when")?,
            "vars" => kw.vars = vars_map(v)?,
            _ => {}
        }
    }
    Ok(kw)
}

/// Which key of a task map names its action.
fn action_keys(map: &[(Node, Node)]) -> Vec<&(Node, Node)> {
    map.iter().filter(|(k, _)| !keywords::is_task_keyword(&k.key_string())).collect()
}

fn load_task(node: &Node, ctx: &mut LoadCtx, base: &Path, role: Option<Arc<Role>>) -> R<Task> {
    let map = map_of(node, "task")?;
    let kw = parse_kw(node)?;
    // `name:` with no value is a task without a name, as in Ansible.
    let name = node.get("name").filter(|n| !n.is_null()).map(|n| scalar_string(n, "name")).transpose()?;
    let mut task = Task::new(TaskKind::Import { tasks: vec![] }, node.loc.clone(), base.to_path_buf());
    task.name = name;
    task.kw = kw;
    task.role = role.clone();
    if node.get("block").is_some() {
        for (k, _) in map {
            let key = k.key_string();
            if !BLOCK.contains(&key.as_str()) && !COMMON.contains(&key.as_str()) && key != "id" && key != "after" {
                return Err(unknown_key(k, &[BLOCK, COMMON], "block"));
            }
        }
        let part = |key: &str, ctx: &mut LoadCtx, guarded: bool| -> R<Vec<Arc<Task>>> {
            ctx.guard += usize::from(guarded);
            let out = match node.get(key) {
                Some(n) => load_tasks(n, ctx, base, role.clone()),
                None => Ok(vec![]),
            };
            ctx.guard -= usize::from(guarded);
            out
        };
        let conditional = may_not_run(node, &task.kw);
        let has_rescue = node.get("rescue").is_some();
        let block = part("block", ctx, conditional || has_rescue)?;
        let rescue = part("rescue", ctx, true)?;
        let always = part("always", ctx, conditional)?;
        task.kind = TaskKind::Block { block, rescue, always };
        task_extensions(node, &mut task)?;
        return Ok(task);
    }
    for (k, _) in map {
        let key = k.key_string();
        if BLOCK.contains(&key.as_str()) {
            return Err(
                Diagnostic::new(format!("`{key}` is only valid in a block that has a `block:` list")).at(k.loc.clone(), "no `block:` here")
            );
        }
    }
    let actions = action_keys(map);
    let (action_name, args_node, action_loc) = match (actions.as_slice(), node.get("action").or(node.get("local_action"))) {
        ([], Some(a)) => {
            if node.get("local_action").is_some() {
                task.kw.delegate_to = Some(Value::from("localhost"));
            }
            split_action(a)?
        }
        ([(k, v)], None) => (k.key_string(), v.clone(), k.loc.clone()),
        ([], None) => {
            return Err(Diagnostic::new("no module or action in this task")
                .at(node.loc.clone(), "a task needs a module, such as `command:` or `copy:`"));
        }
        ([_, ..], Some(a)) => {
            let (k, _) = actions[0];
            let _ = a;
            return Err(Diagnostic::new(format!("conflicting action statements: `action` and `{}`", k.key_string()))
                .at(k.loc.clone(), "second action"));
        }
        (many, None) => {
            // More than one candidate: the first that is not a module is probably a misspelt keyword.
            for (k, _) in many.iter().copied() {
                if find_module(&k.key_string(), ctx, role.as_deref()).is_none() && !is_special_action(&k.key_string()) {
                    return Err(unknown_action(k));
                }
            }
            let names: Vec<String> = many.iter().map(|(k, _)| k.key_string()).collect();
            return Err(Diagnostic::new(format!("conflicting action statements: {}", names.join(", ")))
                .at(many[1].0.loc.clone(), "second action in one task"));
        }
    };
    let guarded = ctx.guard > 0 || may_not_run(node, &task.kw);
    // Imports under a condition load their files as code that may never run.
    ctx.guard += usize::from(guarded);
    let kind = build_action(&action_name, &args_node, &action_loc, node, ctx, base, role.clone(), &mut task);
    ctx.guard -= usize::from(guarded);
    task.kind = match kind {
        Ok(k) => k,
        Err(d) if guarded && d.deferrable => TaskKind::Invalid { error: Arc::new(d) },
        Err(d) => return Err(d),
    };
    task_fields(node, &mut task)?;
    task_extensions(node, &mut task)?;
    Ok(task)
}

/// Whether a task or block may be skipped or its failure tolerated, so that a fault in it
/// only matters if it runs: a `when`, `ignore_errors` or `failed_when`.
fn may_not_run(node: &Node, kw: &Kw) -> bool {
    !kw.when.is_empty() || kw.ignore_errors.is_some() || node.get("failed_when").is_some()
}

/// A native module, else a module file found as Ansible finds it (the roles' and the
/// playbook's `library/`, collections, the controller's ansible-core).
fn find_module(name: &str, ctx: &LoadCtx, role: Option<&Role>) -> Option<&'static dyn modules::Module> {
    modules::find(name).or_else(|| {
        let mut role_dirs: Vec<&Path> = role.map(|r| r.path.as_path()).into_iter().collect();
        role_dirs.extend(ctx.role_stack.iter().rev().map(|(_, p)| p.as_path()));
        let search = modules::python::Search { playbook_dir: &ctx.playbook_dir, role_dirs };
        let listed = || {
            (!name.contains('.'))
                .then(|| ctx.collections.iter().find_map(|c| modules::python::resolve(&format!("{c}.{name}"), &search)))
                .flatten()
        };
        // A module paired with an action plugin (synchronize-style) only works with it.
        listed().or_else(|| modules::python::resolve(name, &search)).filter(|_| modules::python::action_plugin(name, &search).is_none())
    })
}

fn is_special_action(name: &str) -> bool {
    let short = crate::modules::builtin_short(name);
    matches!(short, "include_tasks" | "import_tasks" | "include_role" | "import_role" | "include" | "import_playbook")
}

fn unknown_action(k: &Node) -> Diagnostic {
    let name = k.key_string();
    let mut d = Diagnostic::new(format!("unknown module or keyword `{name}`"))
        .at(k.loc.clone(), "not a module steward knows, nor a task keyword")
        .deferrable();
    let kws = COMMON.iter().chain(TASK.iter()).copied();
    let specials = ["include_tasks", "import_tasks", "include_role", "import_role"];
    let installed = modules::python::core_module_names();
    let mut candidates: Vec<&str> = modules::names().chain(kws).chain(specials).collect();
    candidates.extend(installed.iter().map(String::as_str));
    if let Some(s) = suggest(&name, candidates.iter().copied()) {
        d = d.help(format!("did you mean `{s}`?"));
    } else if name.contains('.') {
        d = d.help(if crate::ansible_core::install().is_some() {
            "no installed collection has this module (see `ansible-galaxy collection list`)"
        } else {
            "steward has no native module of this name, and no ansible-core is installed on the controller to find collection modules with (pip install ansible)"
        });
    }
    d
}

/// A task action that no module of steward's has: an action plugin the playbook or a role
/// ships, when it only re-exports a builtin action steward implements.
fn plugin_action(name: &str, loc: &Loc, ctx: &LoadCtx, role: Option<&Role>, task: &mut Task) -> R<&'static dyn modules::Module> {
    let short = crate::modules::builtin_short(name);
    let dirs = super::action_plugins::search_dirs(&ctx.playbook_dir, &ctx.role_dirs, role);
    let unknown = || unknown_action(&Node::new(NodeKind::Str(name.to_string()), loc.clone()));
    match super::action_plugins::find(&dirs, short) {
        None => {
            // A collection's (or ansible-core's) action plugin: Python that runs on the controller.
            let mut role_dirs: Vec<&Path> = role.map(|r| r.path.as_path()).into_iter().collect();
            role_dirs.extend(ctx.role_stack.iter().rev().map(|(_, p)| p.as_path()));
            let search = modules::python::Search { playbook_dir: &ctx.playbook_dir, role_dirs };
            match modules::python::action_plugin(name, &search) {
                Some(file) => Err(Diagnostic::new(format!("`{name}` needs its action plugin, which steward does not run"))
                    .at(loc.clone(), "an action plugin runs Python on the controller")
                    .note(format!("{} is a Python action plugin; steward runs Python modules on the hosts and Python filter, test and lookup plugins, but not action or connection plugins", file.display()))
                    .deferrable()),
                None => Err(unknown()),
            }
        }
        Some(super::action_plugins::Plugin::Builtin(b)) => match modules::find(&b) {
            Some(m) => {
                task.action = Some(name.to_string());
                Ok(m)
            }
            None => Err(unknown().note(format!("the action plugin `{short}` is ansible-core's `{b}`, which steward does not implement"))),
        },
        Some(super::action_plugins::Plugin::Python(file)) => Err(Diagnostic::new(format!("unknown module or keyword `{name}`"))
            .at(loc.clone(), "an action plugin written in Python")
            .note(format!("{} is a Python action plugin; steward runs only its own modules", file.display()))
            .deferrable()),
    }
}

/// `action: copy src=a dest=b` or `action: {module: copy, src: a}`.
fn split_action(a: &Node) -> R<(String, Node, Loc)> {
    match &a.kind {
        NodeKind::Str(s) => {
            // The module is the first word; a `{{ ... }}` name is one word however it is spaced.
            let s = s.trim();
            let m = split_args(s).into_iter().next().unwrap_or_default();
            let rest = s[m.len().min(s.len())..].trim();
            Ok((m, Node::new(NodeKind::Str(rest.to_string()), a.loc.clone()), a.loc.clone()))
        }
        NodeKind::Map(m) => {
            let Some(module) = a.get("module") else {
                return Err(Diagnostic::new("`action` as a mapping needs a `module:` key").at(a.loc.clone(), "no module"));
            };
            let rest: Vec<(Node, Node)> = m.iter().filter(|(k, _)| k.as_str() != Some("module")).cloned().collect();
            Ok((scalar_string(module, "module")?, Node::new(NodeKind::Map(rest), a.loc.clone()), module.loc.clone()))
        }
        _ => Err(Diagnostic::new("`action` must be a string or a mapping").at(a.loc.clone(), "here")),
    }
}

/// A module's arguments as a mapping node, whatever form the playbook used.
fn args_node(module: &dyn modules::Module, v: &Node, task: &Node) -> R<Node> {
    let variable = |s: &str, loc: &Loc| {
        vec![(Node::new(NodeKind::Str("_variable_params".into()), loc.clone()), Node::new(NodeKind::Str(s.to_string()), loc.clone()))]
    };
    let mut entries: Vec<(Node, Node)> = match &v.kind {
        NodeKind::Null => vec![],
        NodeKind::Map(m) => m.clone(),
        // `assert: "{{ item }}"`: the arguments are a template that gives a mapping (Ansible's
        // "arg splat"), merged under the task's own arguments when it runs.
        NodeKind::Str(s) if matches!(module.free_form(), FreeForm::No) && crate::template::is_single_expression(s) => variable(s, &v.loc),
        NodeKind::Str(s) => {
            let parsed = match module.free_form() {
                FreeForm::Whole => [("_raw_params".to_string(), Value::String(s.clone()))].into_iter().collect(),
                FreeForm::Raw => {
                    let keys: Vec<&str> = modules::args::all_args(module).map(|a| a.name).collect();
                    parse_kv(s, Some(&keys))
                }
                FreeForm::Named(name) => {
                    let toks = split_args(s);
                    if !toks.is_empty() && toks.iter().all(|t| t.split_once('=').is_some_and(|(k, _)| !k.contains('{'))) {
                        parse_kv(s, None)
                    } else {
                        [(name.to_string(), Value::String(s.clone()))].into_iter().collect()
                    }
                }
                FreeForm::No => {
                    let m = parse_kv(s, None);
                    if m.contains_key("_raw_params") {
                        return Err(Diagnostic::new(format!("module `{}` takes `key=value` arguments, not free text", module.name()))
                            .at(v.loc.clone(), "free text here")
                            .help(format!("`steward doc {}` lists its arguments", module.name()))
                            .deferrable());
                    }
                    m
                }
            };
            parsed.into_iter().map(|(k, x)| (Node::new(NodeKind::Str(k), v.loc.clone()), Node::from_value(&x, &v.loc))).collect()
        }
        _ if matches!(module.free_form(), FreeForm::Whole) => {
            vec![(Node::new(NodeKind::Str("_raw_params".into()), v.loc.clone()), v.clone())]
        }
        _ => {
            return Err(Diagnostic::new(format!("arguments of module `{}` must be a mapping or key=value text", module.name()))
                .at(v.loc.clone(), format!("found {}", v.type_name())))
        }
    };
    if let Some(extra) = task.get("args") {
        if let NodeKind::Str(s) = &extra.kind {
            if crate::template::is_single_expression(s) && !entries.iter().any(|(k, _)| k.key_string() == "_variable_params") {
                entries.extend(variable(s, &extra.loc));
                return Ok(Node::new(NodeKind::Map(entries), v.loc.clone()));
            }
        }
        let Some(m) = extra.as_map() else {
            return Err(Diagnostic::new("`args` must be a mapping").at(extra.loc.clone(), "expected key: value pairs"));
        };
        for (k, x) in m {
            if !entries.iter().any(|(ek, _)| ek.key_string() == k.key_string()) {
                entries.push((k.clone(), x.clone()));
            }
        }
    }
    Ok(Node::new(NodeKind::Map(entries), v.loc.clone()))
}

#[allow(clippy::too_many_arguments)]
fn build_action(
    name: &str,
    v: &Node,
    loc: &Loc,
    task_node: &Node,
    ctx: &mut LoadCtx,
    base: &Path,
    role: Option<Arc<Role>>,
    task: &mut Task,
) -> R<TaskKind> {
    let short = crate::modules::builtin_short(name);
    match short {
        "include" => Err(Diagnostic::new("`include` was removed from Ansible")
            .at(loc.clone(), "removed keyword")
            .help("use `include_tasks` (dynamic) or `import_tasks` (static)")),
        "import_playbook" => {
            Err(Diagnostic::new("`import_playbook` is only valid at the top level of a playbook").at(loc.clone(), "not inside a play"))
        }
        "import_tasks" | "include_tasks" => {
            let mut file = match &v.kind {
                NodeKind::Str(s) => s.clone(),
                NodeKind::Map(_) => match v.get("file").or(v.get("_raw_params")) {
                    Some(f) => scalar_string(f, "file")?,
                    None => return Err(Diagnostic::new(format!("`{short}` needs a file")).at(v.loc.clone(), "no `file:`")),
                },
                _ => return Err(Diagnostic::new(format!("`{short}` takes a file name")).at(v.loc.clone(), "expected a string")),
            };
            if let Some(m) = v.as_map() {
                for (k, _) in m {
                    let key = k.key_string();
                    if !["file", "apply", "_raw_params"].contains(&key.as_str()) {
                        return Err(Diagnostic::new(format!("`{short}` has no argument `{key}`"))
                            .at(k.loc.clone(), "unknown argument")
                            .help("use `vars:` on the task to pass variables"));
                    }
                }
            }
            let mut templated = crate::pytext::is_template(&file);
            if short == "import_tasks" && templated {
                // Static: only what is known before the run (extra and play vars, role_path).
                file = load_time_render(ctx, role.as_deref(), &file).map_err(|e| {
                    Diagnostic::new(format!("`import_tasks` is static: its file name must be known before the run ({e})"))
                        .at(v.loc.clone(), "templated file name")
                        .help("use `include_tasks` for a file chosen at run time")
                })?;
                templated = false;
            }
            let path = resolve_task_file(&file, base, &ctx.playbook_dir, role.as_deref());
            if short == "import_tasks" {
                let Some(path) = path else {
                    return Err(Diagnostic::new(format!("could not find task file `{file}`")).at(v.loc.clone(), "no such file"));
                };
                let tasks = load_task_file(&path, ctx, role)?;
                return Ok(TaskKind::Import { tasks });
            }
            // A dynamic include is checked now when its name is literal, but a fault in it only
            // fails the task if the include runs.
            let (preloaded, deferred) = match (&path, templated) {
                (Some(p), false) => match load_task_file(p, ctx, role) {
                    Ok(tasks) => (Some(tasks), None),
                    Err(d) => (None, Some(Arc::new(d))),
                },
                (None, false) => {
                    (None, Some(Arc::new(Diagnostic::new(format!("could not find task file `{file}`")).at(v.loc.clone(), "no such file"))))
                }
                _ => (None, None),
            };
            Ok(TaskKind::IncludeTasks { file: Value::String(file), preloaded, base: base.to_path_buf(), deferred })
        }
        "import_role" | "include_role" => {
            if short == "import_role" {
                let tasks = roles::load_role_action(short, v, ctx, task)?;
                Ok(TaskKind::Import { tasks })
            } else {
                let mut name = match &v.kind {
                    NodeKind::Str(s) => {
                        let kv = parse_kv(s, None);
                        kv.get("name").or(kv.get("role")).map(crate::pytext::to_text).unwrap_or_default()
                    }
                    _ => v.get("name").or(v.get("role")).map(|n| n.key_string()).unwrap_or_default(),
                };
                if crate::pytext::is_template(&name) {
                    name = load_time_render(ctx, task.role.as_deref(), &name).unwrap_or(name);
                }
                // Dynamic: a fault in the role fails the task only if it runs.
                match roles::load_role_action(short, v, ctx, task) {
                    Ok(tasks) => Ok(TaskKind::IncludeRole { name, tasks, deferred: None }),
                    Err(d) => Ok(TaskKind::IncludeRole { name, tasks: vec![], deferred: Some(Arc::new(d)) }),
                }
            }
        }
        "meta" => {
            let action = match &v.kind {
                NodeKind::Str(s) => s.trim().to_string(),
                NodeKind::Map(_) => v.get("_raw_params").or(v.get("free_form")).map(|n| n.key_string()).unwrap_or_default(),
                _ => String::new(),
            };
            if !crate::pytext::is_template(&action) && !crate::modules::META_ACTIONS.contains(&action.as_str()) {
                let mut d = Diagnostic::new(format!("unknown meta action `{action}`")).at(v.loc.clone(), "not a meta action");
                if let Some(s) = suggest(&action, crate::modules::META_ACTIONS.iter().copied()) {
                    d = d.help(format!("did you mean `{s}`?"));
                }
                return Err(d);
            }
            Ok(TaskKind::Meta { action: Value::String(action) })
        }
        _ if crate::pytext::is_template(name) => {
            let args = match &v.kind {
                NodeKind::Null => Node::new(NodeKind::Map(vec![]), v.loc.clone()),
                NodeKind::Map(_) => v.clone(),
                NodeKind::Str(s) => {
                    let m = parse_kv(s, None);
                    Node::from_value(&Value::Object(m), &v.loc)
                }
                _ => return Err(Diagnostic::new("arguments must be a mapping or key=value text").at(v.loc.clone(), "here")),
            };
            let mut args = args;
            if let (Some(extra), NodeKind::Map(entries)) = (task_node.get("args").and_then(|a| a.as_map()), &mut args.kind) {
                for (k, x) in extra {
                    if !entries.iter().any(|(ek, _)| ek.key_string() == k.key_string()) {
                        entries.push((k.clone(), x.clone()));
                    }
                }
            }
            Ok(TaskKind::Templated { name: name.to_string(), args })
        }
        _ => {
            let module = match find_module(name, ctx, role.as_deref()) {
                Some(m) => m,
                None => plugin_action(name, loc, ctx, role.as_deref(), task)?,
            };
            let args = args_node(module, v, task_node)?;
            // Where the task may never run, its arguments are checked when it does (as
            // Ansible checks them): a role's branch for another system may use arguments
            // steward's module does not take.
            if let Err(d) = crate::modules::args::validate(module, &args) {
                if ctx.guard == 0 {
                    return Err(d);
                }
            }
            Ok(TaskKind::Module { module, args })
        }
    }
}

/// A static name (an import's file) rendered with what is known while loading: the extra vars,
/// the play's vars, and the role's `role_path`/`role_name`.
pub(super) fn load_time_render(ctx: &LoadCtx, role: Option<&Role>, s: &str) -> Result<String, String> {
    let mut magic = Map::new();
    magic.insert("playbook_dir".into(), Value::String(ctx.playbook_dir.display().to_string()));
    if let Some(r) = role {
        magic.insert("role_path".into(), Value::String(r.path.display().to_string()));
        magic.insert("role_name".into(), Value::String(r.name.clone()));
    }
    let mut layers = vec![Arc::new(magic), Arc::new(ctx.env.extra_vars.clone())];
    if let Some(r) = role {
        layers.push(Arc::new(r.vars.clone()));
    }
    layers.push(Arc::new(ctx.play_vars.clone()));
    if let Some(r) = role {
        layers.push(Arc::new(r.defaults.clone()));
    }
    let scope = crate::template::Scope::new(layers, None);
    crate::template::render_value(&Value::String(s.to_string()), &scope).map(|v| crate::pytext::to_text(&v)).map_err(|e| e.message)
}

/// Where a relative task file is: beside the including file, the role's tasks/, the playbook.
fn resolve_task_file(file: &str, base: &Path, playbook_dir: &Path, role: Option<&Role>) -> Option<PathBuf> {
    let p = Path::new(file);
    if p.is_absolute() {
        return p.exists().then(|| p.to_path_buf());
    }
    let mut cands = vec![base.join(file)];
    if let Some(r) = role {
        cands.push(r.path.join("tasks").join(file));
        cands.push(r.path.join(file));
    }
    cands.push(playbook_dir.join(file));
    cands.into_iter().find(|c| c.is_file())
}

fn task_fields(node: &Node, task: &mut Task) -> R<()> {
    let map = node.as_map().unwrap_or(&[]);
    let mut loop_seen: Option<&Node> = None;
    for (k, v) in map {
        let key = k.key_string();
        match key.as_str() {
            "loop" => {
                if let Some(prev) = loop_seen {
                    return Err(Diagnostic::new(format!("`loop` and `{}` cannot be used together", prev.key_string()))
                        .at(k.loc.clone(), "second loop"));
                }
                loop_seen = Some(k);
                if !matches!(v.kind, NodeKind::Seq(_) | NodeKind::Str(_)) {
                    return Err(Diagnostic::new("`loop` must be a list or an expression that gives one")
                        .at(v.loc.clone(), format!("found {}", v.type_name())));
                }
                task.loop_ = Some(Loop::Items { value: v.to_value(), flatten: false });
            }
            k2 if k2.starts_with("with_") => {
                if let Some(prev) = loop_seen {
                    return Err(Diagnostic::new(format!("`{k2}` and `{}` cannot be used together", prev.key_string()))
                        .at(k.loc.clone(), "second loop"));
                }
                loop_seen = Some(k);
                let lookup = &k2[5..];
                if !crate::template::lookup_exists(lookup) {
                    let mut d = Diagnostic::new(format!("unknown loop `{k2}`")).at(k.loc.clone(), "no such lookup");
                    if let Some(s) = suggest(lookup, crate::template::lookup_names()) {
                        d = d.help(format!("did you mean `with_{s}`?"));
                    }
                    return Err(d);
                }
                task.loop_ = Some(match lookup {
                    "items" => Loop::Items { value: v.to_value(), flatten: true },
                    _ => Loop::Lookup { name: lookup.to_string(), terms: v.to_value() },
                });
            }
            "loop_control" => {
                let Some(m) = v.as_map() else {
                    return Err(
                        Diagnostic::new("`loop_control` must be a mapping").at(v.loc.clone(), "expected loop_var, index_var, label, ...")
                    );
                };
                for (lk, lv) in m {
                    match lk.key_string().as_str() {
                        "loop_var" => task.loop_control.loop_var = scalar_string(lv, "loop_var")?,
                        "index_var" => task.loop_control.index_var = Some(scalar_string(lv, "index_var")?),
                        "label" => task.loop_control.label = Some(lv.to_value()),
                        "pause" => task.loop_control.pause = lv.to_value().as_f64(),
                        "extended" => task.loop_control.extended = bool_like(lv, "extended")? == Value::Bool(true),
                        "extended_allitems" | "break_when" => {}
                        _ => return Err(unknown_key(lk, &[&["loop_var", "index_var", "label", "pause", "extended"]], "loop_control")),
                    }
                }
            }
            "register" => {
                let r = scalar_string(v, "register")?;
                if !crate::modules::valid_var_name(&r) {
                    return Err(Diagnostic::new(format!("`{r}` is not a valid variable name for register"))
                        .at(v.loc.clone(), "letters, digits and underscores"));
                }
                task.register = Some(r);
            }
            "notify" => task.notify = string_list(v, "notify")?,
            "listen" => task.listen = string_list(v, "listen")?,
            "changed_when" => task.changed_when = Some(Value::Array(conditions(v, "changed_when")?)),
            "failed_when" => task.failed_when = Some(Value::Array(conditions(v, "failed_when")?)),
            "until" => task.until = Some(Value::Array(conditions(v, "until")?)),
            "retries" => {
                // A literal must be a number; Ansible refuses `retries: many` too.
                if let NodeKind::Str(s) = &v.kind {
                    if !crate::pytext::is_template(s) && s.trim().parse::<i64>().is_err() {
                        return Err(Diagnostic::new(format!(
                            "the field 'retries' has an invalid value ({s}), and could not be converted to int"
                        ))
                        .at(v.loc.clone(), "expected a number of retries"));
                    }
                } else if !matches!(v.kind, NodeKind::Int(_) | NodeKind::Null) {
                    return Err(
                        Diagnostic::new("the field 'retries' must be a number").at(v.loc.clone(), format!("found {}", v.type_name()))
                    );
                }
                task.retries = Some(v.to_value());
            }
            "delay" => task.delay = Some(v.to_value()),
            "async" => task.async_ = Some(v.to_value()),
            "poll" => task.poll = Some(v.to_value()),
            _ => {}
        }
    }
    Ok(())
}

fn task_extensions(node: &Node, task: &mut Task) -> R<()> {
    if let Some(id) = node.get("id") {
        task.id = Some(scalar_string(id, "id")?);
    }
    if let Some(a) = node.get("after") {
        task.after = string_list(a, "after")?;
    }
    Ok(())
}
