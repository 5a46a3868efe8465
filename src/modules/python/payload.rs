//! The zip a Python module runs from, as Ansible's AnsiballZ carries it: the module under its
//! package name, the `ansible.module_utils` and collection `module_utils` it imports (found by
//! reading its imports, recursively), and the few module_utils every module needs. Built on
//! the controller once per module per run.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;

/// Where dotted names are looked up: `ansible.module_utils.*` in the custom folders and then
/// ansible-core's, `ansible_collections.*` in the collection roots.
pub struct Sources {
    pub module_utils: Vec<PathBuf>,
    pub collection_roots: Vec<PathBuf>,
}

/// The package `__init__.py` Ansible writes for `ansible` and `ansible.module_utils`, so that
/// the controller's `ansible/__init__.py` (which imports the controller side) is not sent.
const NAMESPACE_INIT: &[u8] = b"from pkgutil import extend_path\n__path__=extend_path(__path__,__name__)\n";

/// Module utils every module needs, whatever it imports: the loader the wrapper calls and the
/// legacy serialization profile.
const ALWAYS: &[&str] = &[
    "ansible.module_utils.basic",
    "ansible.module_utils._internal._ansiballz._loader",
    "ansible.module_utils._internal._json._profiles._module_legacy_c2m",
    "ansible.module_utils._internal._json._profiles._module_legacy_m2c",
];

impl Sources {
    /// The file of a dotted module name (`a/b.py` or `a/b/__init__.py`), if it exists.
    fn file_of(&self, name: &str) -> Option<(PathBuf, bool)> {
        let parts: Vec<&str> = name.split('.').collect();
        let roots: Vec<PathBuf> = match parts.as_slice() {
            ["ansible", "module_utils", rest @ ..] => {
                self.module_utils.iter().map(|r| rest.iter().fold(r.clone(), |p, s| p.join(s))).collect()
            }
            ["ansible_collections", rest @ ..] => {
                self.collection_roots.iter().map(|r| rest.iter().fold(r.join("ansible_collections"), |p, s| p.join(s))).collect()
            }
            _ => return None,
        };
        // A package wins over a module of the same name, as in Python.
        roots.into_iter().find_map(|base| {
            let init = base.join("__init__.py");
            if init.is_file() {
                return Some((init, true));
            }
            let py = base.with_extension("py");
            py.is_file().then_some((py, false))
        })
    }
}

/// The dotted names a Python source imports (absolute, or relative resolved against
/// `package`), only those under `ansible.module_utils` and `ansible_collections`. Each
/// `from X import a, b` yields `X`, `X.a` and `X.b`, since `a` may be a submodule.
pub fn imports(source: &str, package: &str) -> Vec<String> {
    let mut out = vec![];
    for stmt in statements(source) {
        let words: Vec<&str> = stmt.split_whitespace().collect();
        match words.as_slice() {
            ["import", ..] => {
                let rest = stmt.trim_start().strip_prefix("import").unwrap_or("");
                for item in rest.split(',') {
                    if let Some(name) = item.split_whitespace().next() {
                        out.push(name.to_string());
                    }
                }
            }
            ["from", base, "import", ..] => {
                let Some(base) = absolute(base, package) else { continue };
                let names = stmt.split_once(" import ").map(|(_, n)| n).unwrap_or("");
                out.push(base.clone());
                for item in names.replace(['(', ')'], " ").split(',') {
                    match item.split_whitespace().next() {
                        Some("*") | None => {}
                        Some(n) => out.push(if base.ends_with('.') { format!("{base}{n}") } else { format!("{base}.{n}") }),
                    }
                }
            }
            _ => {}
        }
    }
    out.retain(|n| n.starts_with("ansible.module_utils") || n.starts_with("ansible_collections."));
    out
}

/// `..module_utils.x` seen from `package` as an absolute name.
fn absolute(base: &str, package: &str) -> Option<String> {
    let dots = base.len() - base.trim_start_matches('.').len();
    if dots == 0 {
        return Some(base.to_string());
    }
    let mut parts: Vec<&str> = package.split('.').collect();
    for _ in 1..dots {
        parts.pop()?;
    }
    let rest = &base[dots..];
    Some(if rest.is_empty() { parts.join(".") } else { format!("{}.{rest}", parts.join(".")) })
}

/// Logical lines that start an import statement: comments dropped, bracketed and
/// backslash-continued lines joined, `;`-separated statements split.
fn statements(source: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut depth = 0i32;
    for line in source.lines() {
        let code = line.split('#').next().unwrap_or("");
        if cur.is_empty() {
            let t = code.trim_start();
            if !(t.starts_with("import ") || t.starts_with("from ") || t.contains("; import ") || t.contains("; from ")) {
                continue;
            }
        }
        let code = code.trim_end();
        let (code, continued) = match code.strip_suffix('\\') {
            Some(c) => (c, true),
            None => (code, false),
        };
        depth += code.matches('(').count() as i32 - code.matches(')').count() as i32;
        cur.push(' ');
        cur.push_str(code);
        if depth <= 0 && !continued {
            out.extend(cur.split(';').map(|s| s.trim().to_string()).filter(|s| s.starts_with("import ") || s.starts_with("from ")));
            cur.clear();
            depth = 0;
        }
    }
    out
}

/// A built payload: the zip's bytes.
pub struct Payload {
    pub zip: Vec<u8>,
}

/// Build the zip for the module `source` whose dotted name is `fqn`.
pub fn build(fqn: &str, source: &[u8], sources: &Sources) -> Result<Payload, String> {
    let text = String::from_utf8_lossy(source);
    let package = fqn.rsplit_once('.').map(|(p, _)| p).unwrap_or("");
    // name -> (file, is a package)
    let mut files: BTreeMap<String, (PathBuf, bool)> = BTreeMap::new();
    let mut missing: BTreeSet<String> = BTreeSet::new();
    let mut todo: Vec<String> = imports(&text, package);
    todo.extend(ALWAYS.iter().map(|s| s.to_string()));
    while let Some(name) = todo.pop() {
        if files.contains_key(&name) || missing.contains(&name) {
            continue;
        }
        // Every package above it is needed too.
        let parts: Vec<&str> = name.split('.').collect();
        for i in 2..parts.len() {
            let parent = parts[..i].join(".");
            if !files.contains_key(&parent) && !missing.contains(&parent) {
                todo.push(parent);
            }
        }
        match sources.file_of(&name) {
            Some((path, is_pkg)) => {
                let src = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                let pkg = if is_pkg { name.clone() } else { name.rsplit_once('.').map(|(p, _)| p.to_string()).unwrap_or_default() };
                todo.extend(imports(&src, &pkg));
                files.insert(name, (path, is_pkg));
            }
            None => {
                missing.insert(name);
            }
        }
    }
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut add = |path: &str, data: &[u8]| -> Result<(), String> {
        zip.start_file(path, opts).map_err(|e| e.to_string())?;
        zip.write_all(data).map_err(|e| e.to_string())
    };
    add("ansible/__init__.py", NAMESPACE_INIT)?;
    add("ansible/module_utils/__init__.py", NAMESPACE_INIT)?;
    let mut written: BTreeSet<String> = ["ansible/__init__.py".to_string(), "ansible/module_utils/__init__.py".to_string()].into();
    for (name, (path, is_pkg)) in &files {
        let rel = zip_path(name, *is_pkg);
        if written.insert(rel.clone()) {
            add(&rel, &std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?)?;
        }
    }
    // The module, and empty packages for the folders above it that have no file.
    let parts: Vec<&str> = fqn.split('.').collect();
    for i in 1..parts.len() {
        let rel = format!("{}/__init__.py", parts[..i].join("/"));
        if written.insert(rel.clone()) {
            add(&rel, b"")?;
        }
    }
    add(&format!("{}.py", parts.join("/")), source)?;
    let cursor = zip.finish().map_err(|e| e.to_string())?;
    Ok(Payload { zip: cursor.into_inner() })
}

fn zip_path(name: &str, is_pkg: bool) -> String {
    let base = name.replace('.', "/");
    if is_pkg {
        format!("{base}/__init__.py")
    } else {
        format!("{base}.py")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_imports_in_every_form() {
        let src = "from __future__ import annotations\n\
import os\n\
from ansible.module_utils.basic import AnsibleModule\n\
from ansible.module_utils.common.text.converters import (\n    to_bytes,\n    to_text as t,  # comment\n)\n\
import ansible.module_utils.six as six, json\n\
try:\n    from ansible_collections.ns.coll.plugins.module_utils.x import y\nexcept ImportError:\n    pass\n\
from ..module_utils.helper import \\\n    thing\n";
        let got = imports(src, "ansible_collections.ns.coll.plugins.modules");
        for want in [
            "ansible.module_utils.basic",
            "ansible.module_utils.basic.AnsibleModule",
            "ansible.module_utils.common.text.converters.to_bytes",
            "ansible.module_utils.common.text.converters.to_text",
            "ansible.module_utils.six",
            "ansible_collections.ns.coll.plugins.module_utils.x.y",
            "ansible_collections.ns.coll.plugins.module_utils.helper",
            "ansible_collections.ns.coll.plugins.module_utils.helper.thing",
        ] {
            assert!(got.iter().any(|g| g == want), "{want} not in {got:?}");
        }
        assert!(!got.iter().any(|g| g == "os" || g == "json"));
    }

    #[test]
    fn relative_names() {
        assert_eq!(absolute(".x", "a.b.c").as_deref(), Some("a.b.c.x"));
        assert_eq!(absolute("..x", "a.b.c").as_deref(), Some("a.b.x"));
        assert_eq!(absolute("..", "a.b.c").as_deref(), Some("a.b"));
        assert_eq!(absolute("x.y", "a").as_deref(), Some("x.y"));
    }

    #[test]
    fn zips_the_module_and_what_it_imports() {
        let d = tempfile::tempdir().unwrap();
        let mu = d.path().join("module_utils");
        std::fs::create_dir_all(mu.join("common")).unwrap();
        std::fs::write(mu.join("basic.py"), "from ansible.module_utils.common.util import f\n").unwrap();
        std::fs::write(mu.join("common/__init__.py"), "").unwrap();
        std::fs::write(mu.join("common/util.py"), "import os\n").unwrap();
        std::fs::write(mu.join("unused.py"), "").unwrap();
        let sources = Sources { module_utils: vec![mu], collection_roots: vec![] };
        let p = build("ansible.modules.hello", b"from ansible.module_utils.basic import AnsibleModule\n", &sources).unwrap();
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(p.zip)).unwrap();
        let names: BTreeSet<String> = (0..z.len()).map(|i| z.by_index(i).unwrap().name().unwrap().to_string()).collect();
        for want in [
            "ansible/__init__.py",
            "ansible/module_utils/basic.py",
            "ansible/module_utils/common/__init__.py",
            "ansible/module_utils/common/util.py",
            "ansible/modules/__init__.py",
            "ansible/modules/hello.py",
        ] {
            assert!(names.contains(want), "{want} not in {names:?}");
        }
        assert!(!names.contains("ansible/module_utils/unused.py"));
    }
}
