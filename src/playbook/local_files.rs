//! Controller files named literally (`copy: src=motd`, `template: src=app.conf.j2`) that are not
//! there: found before the run instead of failing half-way through it. Only where the failure
//! would be certain: a task that may not run, or whose failure is ignored or rescued, fails
//! when (and if) it runs, with Ansible's own message; and a task after one that could write
//! files on the controller (a task delegated to it or in a play on it, `fetch`), or in a run of
//! some tasks only (tags, `--start-at-task`), gets a warning instead, since the file may be
//! there when the task comes.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use super::{each_task, Nest, Play, Task, TaskKind};
use crate::diag::Diagnostic;

/// What to do with a literal controller file that is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    Refuse,
    Warn,
}

/// The controller file a task reads, with the folder it is looked for in (`files`,
/// `templates`): `None` for a task that reads none, or names it with a template.
fn local_src(t: &Task) -> Option<(&str, &'static str, &crate::diag::Loc)> {
    let TaskKind::Module { module, args } = &t.kind else { return None };
    let sub = match module.name() {
        "copy" | "unarchive" => "files",
        "template" => "templates",
        _ => return None,
    };
    let truthy = |k: &str| args.get(k).is_some_and(|n| crate::template::filters_bool(&n.to_value()));
    // On the host, not the controller (`unarchive`'s old `copy: no` says the same).
    if truthy("remote_src") || args.get("copy").is_some_and(|n| !crate::template::filters_bool(&n.to_value())) {
        return None;
    }
    let node = args.get("src")?;
    let name = node.as_str()?;
    if name.is_empty() || crate::pytext::is_template(name) || name.contains("://") {
        return None;
    }
    Some((name, sub, &node.loc))
}

/// Modules that never write a file where they run.
const READ_ONLY: &[&str] = &[
    "debug",
    "assert",
    "fail",
    "set_fact",
    "set_stats",
    "meta",
    "include_vars",
    "pause",
    "ping",
    "setup",
    "gather_facts",
    "stat",
    "wait_for",
    "package_facts",
    "service_facts",
    "add_host",
    "group_by",
    "async_status",
];

/// Whether the play runs on the controller itself.
fn on_controller(p: &Play) -> bool {
    let hosts = crate::pytext::to_text(&p.hosts);
    is_local(&p.kw.connection) || hosts.split([',', ':']).any(|h| matches!(h.trim(), "localhost" | "127.0.0.1"))
}

fn is_local(v: &Option<Value>) -> bool {
    v.as_ref().and_then(Value::as_str).is_some_and(|c| c == "local")
}

/// Whether a task may write files on the controller (so that a later task finds one there).
fn writes_on_controller(t: &Task, play_on_controller: bool) -> bool {
    let module = match &t.kind {
        TaskKind::Module { module, .. } => module.name(),
        TaskKind::Templated { .. } => "",
        _ => return false,
    };
    module == "fetch" || ((play_on_controller || t.kw.delegate_to.is_some() || is_local(&t.kw.connection)) && !READ_ONLY.contains(&module))
}

/// Every literal controller file of tasks that certainly run is there. `partial`: the run
/// selects some tasks only (tags, `--start-at-task`).
pub fn check(plays: &[Arc<Play>], playbook_dir: &Path, partial: bool) -> Result<(), Diagnostic> {
    // Once a task may have written on the controller, a missing file may be its work.
    let mut written = partial;
    for p in plays {
        let local = on_controller(p);
        let mut first = Ok(());
        for (sec, handlers) in [(&p.pre_tasks, false), (&p.tasks, false), (&p.post_tasks, false), (&p.handlers, true)] {
            each_task(sec, Nest { guarded: handlers, ..Nest::default() }, &mut |t, nest| {
                let how = if written { Missing::Warn } else { Missing::Refuse };
                written |= writes_on_controller(t, local);
                if first.is_err() || nest.guarded || Nest::guards(t) {
                    return;
                }
                let Some((name, sub, loc)) = local_src(t) else { return };
                let search: Vec<String> =
                    t.role.iter().map(|r| r.path.display().to_string()).chain([t.base.display().to_string()]).collect();
                let candidates = if Path::new(name).is_absolute() {
                    vec![Path::new(name).to_path_buf()]
                } else {
                    crate::template::file_candidates(&search, Some(&playbook_dir.display().to_string()), sub, name)
                };
                if candidates.iter().any(|c| c.exists()) {
                    return;
                }
                let mut searched: Vec<String> = Vec::new();
                for c in &candidates {
                    let c = c.display().to_string();
                    if !searched.contains(&c) {
                        searched.push(c);
                    }
                }
                let d = Diagnostic::new(format!("the controller file `{name}` of task `{}` does not exist", t.display_name()))
                    .at(loc.clone(), "not found")
                    .note(format!("searched in: {}", searched.join(", ")));
                match how {
                    Missing::Refuse => first = Err(d.help("create the file, fix the name, or set `remote_src: true` if it is on the host")),
                    Missing::Warn => crate::diag::warn(&format!(
                        "{}; the task will fail unless an earlier task creates it ({}:{})",
                        d.message,
                        crate::diag::relative(&loc.file),
                        loc.line
                    )),
                }
            });
        }
        first?;
    }
    Ok(())
}
