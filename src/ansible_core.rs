//! Where the controller's Ansible lives: the Python that has ansible-core installed, its
//! `ansible` package folder (for `ansible.builtin` modules and `module_utils`), and the folders
//! that hold `ansible_collections` (configured paths, then a pip-installed `ansible` package's).
//! Asked once per run, and only when a playbook names a module steward has no native one for.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// An ansible-core installed on the controller.
#[derive(Debug, Clone)]
pub struct Install {
    /// The Python that imports it.
    pub python: PathBuf,
    /// The `ansible` package folder (`.../site-packages/ansible`).
    pub ansible: PathBuf,
    /// Folders that contain `ansible_collections/` from the Python installation.
    pub site_collections: Vec<PathBuf>,
}

static INSTALL: OnceLock<Option<Install>> = OnceLock::new();

/// The controller's ansible-core, if one can be found.
pub fn install() -> Option<&'static Install> {
    INSTALL.get_or_init(find_install).as_ref()
}

/// Pythons to ask, in order: `STEWARD_PYTHON`, the interpreter of an `ansible-playbook` on
/// PATH (a venv's), then `python3`.
fn pythons() -> Vec<PathBuf> {
    let mut out = vec![];
    if let Ok(p) = std::env::var("STEWARD_PYTHON") {
        out.push(PathBuf::from(p));
    }
    if let Some(script) = on_path("ansible-playbook") {
        if let Some(py) = shebang_python(&script) {
            out.push(py);
        }
        // A venv's bin folder has its python beside the script.
        if let Some(dir) = script.parent() {
            out.push(dir.join("python3"));
        }
    }
    out.push(PathBuf::from("python3"));
    out
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

fn shebang_python(script: &Path) -> Option<PathBuf> {
    let head = std::fs::read(script).ok()?;
    let first = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(first).ok()?.strip_prefix("#!")?.trim();
    let mut words = line.split_whitespace();
    let exe = words.next()?;
    // `#!/usr/bin/env python3`
    let exe = if exe.ends_with("/env") { words.next()? } else { exe };
    exe.contains("python").then(|| PathBuf::from(exe))
}

const PROBE: &str = "import os\n\
try:\n    import ansible\n    print(os.path.dirname(ansible.__file__))\nexcept Exception:\n    print('')\n\
try:\n    import ansible_collections as c\n    print(os.pathsep.join(os.path.dirname(p) for p in c.__path__))\nexcept Exception:\n    print('')\n";

fn find_install() -> Option<Install> {
    for py in pythons() {
        let Ok(out) = Command::new(&py).arg("-c").arg(PROBE).output() else { continue };
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let ansible = lines.next().unwrap_or("").trim();
        if ansible.is_empty() || !Path::new(ansible).join("module_utils").is_dir() {
            continue;
        }
        let site_collections = lines.next().unwrap_or("").split(':').filter(|s| !s.is_empty()).map(PathBuf::from).collect();
        return Some(Install { python: py, ansible: PathBuf::from(ansible), site_collections });
    }
    None
}

/// The folders that hold `ansible_collections/`, in Ansible's order: `./collections` next to
/// the playbook, `ANSIBLE_COLLECTIONS_PATH` (or `collections_path` in ansible.cfg, or the
/// defaults), then the Python installation's.
pub fn collection_roots(playbook_dir: &Path) -> Vec<PathBuf> {
    let mut roots = vec![playbook_dir.join("collections")];
    let cfg = crate::config::Config::read();
    let configured = cfg.get_list("defaults", "collections_path", &[':']);
    match configured.is_empty() {
        false => roots.extend(configured.into_iter().map(PathBuf::from)),
        true => {
            roots.push(PathBuf::from(expand_home("~/.ansible/collections")));
            roots.push(PathBuf::from("/usr/share/ansible/collections"));
        }
    }
    if let Some(i) = install() {
        roots.extend(i.site_collections.iter().cloned());
    }
    roots
}

fn expand_home(s: &str) -> String {
    match (s.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => format!("{home}/{rest}"),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_python_of_a_script() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ansible-playbook");
        std::fs::write(&p, "#!/opt/venv/bin/python3.11\nimport sys\n").unwrap();
        assert_eq!(shebang_python(&p), Some(PathBuf::from("/opt/venv/bin/python3.11")));
        std::fs::write(&p, "#!/usr/bin/env python3\n").unwrap();
        assert_eq!(shebang_python(&p), Some(PathBuf::from("python3")));
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        assert_eq!(shebang_python(&p), None);
    }
}
