//! Action plugins that a playbook or role ships in its `action_plugins/` folder. steward runs no
//! Python plugins, but a plugin file whose only code is a re-export of one of ansible-core's
//! own actions (`from ansible.plugins.action.debug import ActionModule`) is that action under
//! another name, so steward runs its own module for it. Ansible finds such files beside the
//! playbook and in every role it has loaded; the task's action keeps the name it was given (so
//! `with_first_found` still picks its folder by that name).

use std::path::{Path, PathBuf};

/// What an action name found in `action_plugins/` turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Plugin {
    /// The plugin only re-exports ansible-core's action of this name.
    Builtin(String),
    /// Any other plugin, which steward cannot run: the file, for the error.
    Python(PathBuf),
}

/// The first `action_plugins/NAME.py` under `dirs` (in order), and what it is.
pub fn find(dirs: &[PathBuf], name: &str) -> Option<Plugin> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let file = dirs.iter().map(|d| d.join("action_plugins").join(format!("{name}.py"))).find(|f| f.is_file())?;
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    Some(match reexported_action(&text) {
        Some(action) => Plugin::Builtin(action),
        None => Plugin::Python(file),
    })
}

/// The builtin action a plugin's source re-exports, when that is all it does: besides blank
/// lines and comments, only `from __future__ import ...`, one
/// `from ansible.plugins.action.X import ActionModule`, and `assert ActionModule` (which
/// linters want for an import that is otherwise unused).
fn reexported_action(text: &str) -> Option<String> {
    let mut action = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with("from __future__ import ") || line == "assert ActionModule" {
            continue;
        }
        let (module, imported) = line.strip_prefix("from ")?.split_once(" import ")?;
        let name = module.trim().strip_prefix("ansible.plugins.action.")?;
        let imported = imported.trim();
        if action.is_some() || !(imported == "ActionModule" || imported == "ActionModule as ActionModule") {
            return None;
        }
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        action = Some(name.to_string());
    }
    action
}

/// Where Ansible looks for a task's action plugins: beside the playbook, then the roles loaded
/// so far, then the task's own role and the roles that brought it in.
pub fn search_dirs(playbook_dir: &Path, loaded: &[PathBuf], role: Option<&super::Role>) -> Vec<PathBuf> {
    let mut dirs = vec![playbook_dir.to_path_buf()];
    let own = role.into_iter().flat_map(|r| std::iter::once(r.path.clone()).chain(r.parents.iter().map(|(_, p)| p.clone())));
    for d in loaded.iter().cloned().chain(own) {
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reexport_is_the_builtin_action() {
        let src = "from __future__ import annotations\n\nfrom ansible.plugins.action.debug import ActionModule\n\nassert ActionModule\n";
        assert_eq!(reexported_action(src), Some("debug".into()));
    }

    #[test]
    fn any_other_code_is_a_python_plugin() {
        assert_eq!(reexported_action("from ansible.plugins.action import ActionBase\nclass ActionModule(ActionBase):\n    pass\n"), None);
        let subclass = "from ansible.plugins.action.debug import ActionModule as Base\nclass ActionModule(Base):\n    pass\n";
        assert_eq!(reexported_action(subclass), None);
        assert_eq!(reexported_action("# nothing here\n"), None);
        let two = "from ansible.plugins.action.debug import ActionModule\nfrom ansible.plugins.action.copy import ActionModule\n";
        assert_eq!(reexported_action(two), None);
    }

    #[test]
    fn found_in_the_first_folder_that_has_it() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        for d in [&a, &b] {
            std::fs::create_dir_all(d.join("action_plugins")).unwrap();
        }
        std::fs::write(a.join("action_plugins/mine.py"), "from ansible.plugins.action import ActionBase\n").unwrap();
        std::fs::write(b.join("action_plugins/mine.py"), "from ansible.plugins.action.template import ActionModule\n").unwrap();
        std::fs::write(b.join("action_plugins/alias.py"), "from ansible.plugins.action.template import ActionModule\n").unwrap();
        let dirs = vec![a.clone(), b.clone()];
        assert_eq!(find(&dirs, "mine"), Some(Plugin::Python(a.join("action_plugins/mine.py"))));
        assert_eq!(find(&dirs, "alias"), Some(Plugin::Builtin("template".into())));
        assert_eq!(find(&dirs, "none"), None);
        assert_eq!(find(&dirs, "../b/action_plugins/alias"), None);
    }
}
