//! Playbooks: YAML turned into a typed, validated model (plays, tasks, blocks, roles, handlers).
//!
//! Loading checks the whole playbook before anything runs: unknown keywords and modules, module
//! arguments and the types of literal values, each error pointing at file:line:column. Static
//! imports (`import_tasks`, `import_role`, `roles:`) are expanded here; dynamic includes are
//! loaded here too when their name is literal (so they are checked), and run by the executor.

pub mod action_plugins;
pub mod keywords;
mod load;
pub mod local_files;
mod roles;

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::modules::Module;
use crate::yaml::{Loc, Node};

pub use load::{load_playbook, load_playbook_node, load_task_file, LoadCtx, LoadEnv};
pub use roles::find_role;

pub struct Playbook {
    pub path: PathBuf,
    pub dir: PathBuf,
    pub plays: Vec<Arc<Play>>,
}

/// Keywords that plays, blocks and role entries pass down to their tasks.
#[derive(Clone, Debug, Default)]
pub struct Kw {
    pub become_: Option<Value>,
    pub become_user: Option<Value>,
    pub become_method: Option<Value>,
    pub become_flags: Option<Value>,
    pub become_exe: Option<Value>,
    pub remote_user: Option<Value>,
    pub connection: Option<Value>,
    pub port: Option<Value>,
    pub environment: Option<Value>,
    pub ignore_errors: Option<Value>,
    pub ignore_unreachable: Option<Value>,
    pub no_log: Option<Value>,
    pub check_mode: Option<Value>,
    pub diff: Option<Value>,
    pub any_errors_fatal: Option<Value>,
    pub delegate_to: Option<Value>,
    pub delegate_facts: Option<Value>,
    pub run_once: Option<Value>,
    pub throttle: Option<Value>,
    pub timeout: Option<Value>,
    /// Arguments for modules by name (`file:`, `ansible.builtin.file:`), or a list of such maps.
    pub module_defaults: Option<Value>,
    pub tags: Vec<String>,
    pub when: Vec<Value>,
    pub vars: Map<String, Value>,
}

#[derive(Clone)]
pub struct Play {
    pub name: String,
    /// Whether the play has a `name:`; without one, `name` is its hosts pattern.
    pub named: bool,
    pub loc: Loc,
    pub hosts: Value,
    pub vars: Map<String, Value>,
    pub vars_files: Vec<(Value, Loc)>,
    pub gather_facts: Option<Value>,
    /// `gather_subset`, `gather_timeout` and `fact_path`: the play's fact gathering arguments.
    pub gather_args: Map<String, Value>,
    /// `vars_prompt` entries (name, prompt, default, private, confirm, encrypt, salt_size,
    /// salt, unsafe), answered before the play runs.
    pub vars_prompt: Vec<Map<String, Value>>,
    pub kw: Kw,
    pub serial: Option<Value>,
    pub max_fail_percentage: Option<f64>,
    pub strategy: Option<String>,
    pub order: Option<String>,
    pub force_handlers: bool,
    pub pre_tasks: Vec<Arc<Task>>,
    pub tasks: Vec<Arc<Task>>,
    pub post_tasks: Vec<Arc<Task>>,
    pub handlers: Vec<Arc<Task>>,
    /// Defaults and vars of the play's roles, visible to the whole play (Ansible's default).
    pub role_defaults: Map<String, Value>,
    pub role_vars: Map<String, Value>,
    /// `ansible_play_role_names`: the `roles:` of the play.
    pub role_names: Vec<String>,
    /// `ansible_dependent_role_names`: the roles that are dependencies of the play's roles.
    pub dependency_role_names: Vec<String>,
    pub dir: PathBuf,
    /// For what loads while the play runs (dynamic includes).
    pub load_env: Arc<load::LoadEnv>,
    pub needs: Vec<String>,
    /// Whether the play says `needs:` at all (an empty list means: start right away).
    pub needs_declared: bool,
    pub max_concurrent_tasks: Option<usize>,
}

/// A role as loaded for one use: its folder, variables and handlers.
pub struct Role {
    pub name: String,
    pub path: PathBuf,
    pub defaults: Map<String, Value>,
    pub vars: Map<String, Value>,
    pub params: Map<String, Value>,
    /// The roles that imported or included this one, nearest first (name, folder):
    /// `ansible_parent_role_names` and `ansible_parent_role_paths`.
    pub parents: Vec<(String, PathBuf)>,
}

pub enum Loop {
    /// `loop:` (and `with_items`/`with_list`, which only flatten differently)
    Items { value: Value, flatten: bool },
    /// `with_<lookup>:`
    Lookup { name: String, terms: Value },
}

#[derive(Clone, Debug)]
pub struct LoopControl {
    pub loop_var: String,
    pub index_var: Option<String>,
    pub label: Option<Value>,
    pub pause: Option<f64>,
    pub extended: bool,
}

impl Default for LoopControl {
    fn default() -> Self {
        LoopControl { loop_var: "item".into(), index_var: None, label: None, pause: None, extended: false }
    }
}

pub enum TaskKind {
    Module {
        module: &'static dyn Module,
        args: Node,
    },
    /// A module named by a template (`action: "{{ pkg_mgr }}"`): found, and its arguments
    /// checked, when the task runs.
    Templated {
        name: String,
        args: Node,
    },
    Meta {
        action: Value,
    },
    /// A task whose module or arguments steward refused, in a place that may never run
    /// (under `when`, in a rescue): it fails with this when it does run.
    Invalid {
        error: Arc<crate::diag::Diagnostic>,
    },
    Block {
        block: Vec<Arc<Task>>,
        rescue: Vec<Arc<Task>>,
        always: Vec<Arc<Task>>,
    },
    /// A static import, expanded: its tasks run in place (shown as they are, no task of its own).
    Import {
        tasks: Vec<Arc<Task>>,
    },
    /// `include_tasks`: the file is loaded when the task runs (preloaded when its name is literal).
    IncludeTasks {
        file: Value,
        preloaded: Option<Vec<Arc<Task>>>,
        base: PathBuf,
        /// Why the literal file could not be loaded: the task fails with it if it ever runs, as
        /// Ansible loads a dynamic include only then (a Windows-only or FreeBSD-only file must
        /// not refuse a playbook that never includes it on this host).
        deferred: Option<Arc<crate::diag::Diagnostic>>,
    },
    /// `include_role`: loaded with the play (its handlers join the play's); runs when reached.
    IncludeRole {
        name: String,
        tasks: Vec<Arc<Task>>,
        deferred: Option<Arc<crate::diag::Diagnostic>>,
    },
}

pub struct Task {
    pub uid: usize,
    pub name: Option<String>,
    pub loc: Loc,
    pub kind: TaskKind,
    pub kw: Kw,
    pub loop_: Option<Loop>,
    pub loop_control: LoopControl,
    pub register: Option<String>,
    pub notify: Vec<String>,
    pub listen: Vec<String>,
    pub changed_when: Option<Value>,
    pub failed_when: Option<Value>,
    pub until: Option<Value>,
    pub retries: Option<Value>,
    pub delay: Option<Value>,
    /// `async: SECONDS` and `poll: SECONDS` (0: fire and forget, see async_status).
    pub async_: Option<Value>,
    pub poll: Option<Value>,
    pub role: Option<Arc<Role>>,
    pub id: Option<String>,
    pub after: Vec<String>,
    /// The file this task came from, for relative includes.
    pub base: PathBuf,
    /// The action as the task names it, where that is not the module's own name: a plugin
    /// that re-exports a builtin action (`debug_var_alias` runs `debug`).
    pub action: Option<String>,
}

/// Where a task sits, for the checks made before the run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Nest {
    /// In a `rescue:`: it runs only when something failed.
    pub rescue: bool,
    /// Something around it decides whether it runs or whether its failure counts: a `when`,
    /// `ignore_errors` or `failed_when` on an enclosing block or include, a rescue that
    /// catches it, a handler.
    pub guarded: bool,
}

impl Nest {
    /// A task whose own keywords say it may not run, or that its failure may not count.
    pub fn guards(t: &Task) -> bool {
        !t.kw.when.is_empty() || t.kw.ignore_errors.is_some() || t.failed_when.is_some()
    }
}

/// Visit every task of `tasks` and of the blocks, imports and loaded includes in them, in
/// order, each with where it sits.
pub fn each_task(tasks: &[Arc<Task>], nest: Nest, f: &mut impl FnMut(&Arc<Task>, Nest)) {
    for t in tasks {
        f(t, nest);
        let inner = Nest { guarded: nest.guarded || Nest::guards(t), ..nest };
        match &t.kind {
            TaskKind::Block { block, rescue, always } => {
                each_task(block, Nest { guarded: inner.guarded || !rescue.is_empty(), ..inner }, f);
                each_task(rescue, Nest { rescue: true, guarded: true }, f);
                each_task(always, inner, f);
            }
            TaskKind::Import { tasks } | TaskKind::IncludeRole { tasks, .. } => each_task(tasks, inner, f),
            TaskKind::IncludeTasks { preloaded: Some(tasks), .. } => each_task(tasks, inner, f),
            _ => {}
        }
    }
}

impl Play {
    /// How many tasks a host runs in this play when nothing fails, as far as is known before
    /// the run (fact gathering counts; rescues, handlers and templated includes do not).
    pub fn task_count(&self) -> usize {
        let mut n = usize::from(!matches!(self.gather_facts, Some(Value::Bool(false))));
        for sec in [&self.pre_tasks, &self.tasks, &self.post_tasks] {
            each_task(sec, Nest::default(), &mut |t, nest| {
                let leaf = !matches!(t.kind, TaskKind::Block { .. } | TaskKind::Import { .. });
                n += usize::from(leaf && !nest.rescue);
            });
        }
        n
    }
}

static UID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);

impl Task {
    /// Whether a notification by this name reaches this handler: its name, a `listen` topic,
    /// or `ROLE : NAME`.
    pub fn handler_matches(&self, name: &str) -> bool {
        if self.name.as_deref() == Some(name) || self.listen.iter().any(|l| l == name) {
            return true;
        }
        if let (Some(r), Some(n)) = (&self.role, &self.name) {
            return format!("{} : {n}", r.name) == name;
        }
        false
    }

    /// A task with every keyword unset; each gets its own `uid`.
    pub fn new(kind: TaskKind, loc: Loc, base: PathBuf) -> Task {
        Task {
            uid: UID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            name: None,
            loc,
            kind,
            kw: Kw::default(),
            loop_: None,
            loop_control: LoopControl::default(),
            register: None,
            notify: vec![],
            listen: vec![],
            changed_when: None,
            failed_when: None,
            until: None,
            retries: None,
            delay: None,
            async_: None,
            poll: None,
            role: None,
            id: None,
            after: vec![],
            base,
            action: None,
        }
    }

    /// The name Ansible shows in the TASK header: `role : name`, or the module's name.
    pub fn display_name(&self) -> String {
        let base = match (&self.name, &self.kind) {
            (Some(n), _) => n.clone(),
            (None, TaskKind::Module { module, .. }) => module.name().to_string(),
            (None, TaskKind::Templated { name, .. }) => name.clone(),
            (None, TaskKind::Invalid { .. }) => "invalid task".into(),
            (None, TaskKind::Meta { .. }) => "meta".into(),
            (None, TaskKind::IncludeTasks { .. }) => "include_tasks".into(),
            (None, TaskKind::IncludeRole { name, .. }) => format!("include_role : {name}"),
            (None, _) => "block".into(),
        };
        match &self.role {
            Some(r) if !matches!(self.kind, TaskKind::IncludeRole { .. }) => {
                format!("{} : {base}", r.name)
            }
            _ => base,
        }
    }

    /// The task's action: what `with_first_found` and `ansible_failed_task` see.
    pub fn module_name(&self) -> &str {
        match &self.kind {
            TaskKind::Module { .. } if self.action.is_some() => self.action.as_deref().unwrap_or_default(),
            TaskKind::Module { module, .. } => module.name(),
            TaskKind::Templated { name, .. } => name,
            TaskKind::Invalid { .. } => "invalid",
            TaskKind::Meta { .. } => "meta",
            TaskKind::IncludeTasks { .. } => "include_tasks",
            TaskKind::IncludeRole { .. } => "include_role",
            TaskKind::Block { .. } => "block",
            TaskKind::Import { .. } => "import",
        }
    }
}
