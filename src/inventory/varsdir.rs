//! `group_vars/` and `host_vars/` folders: `NAME`, `NAME.yml`, `NAME.yaml`, `NAME.json`, or a
//! folder `NAME/` whose files are read in name order. Each is read once and cached; each
//! `group_vars/` or `host_vars/` folder is listed once, so that the hosts without a file there
//! (most of a large fleet) cost no lookup on the disk.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::diag::Diagnostic;

#[derive(Clone, Debug, Default)]
pub struct DirVars {
    cache: Arc<Mutex<HashMap<PathBuf, Map<String, Value>>>>,
    /// The names in each `DIR/group_vars` or `DIR/host_vars` folder.
    listings: Arc<Mutex<HashMap<PathBuf, Arc<HashSet<String>>>>>,
}

impl DirVars {
    /// The names in `folder` (none if it is not there), listed once.
    fn listing(&self, folder: PathBuf) -> Arc<HashSet<String>> {
        let Ok(mut l) = self.listings.lock() else { return Arc::default() };
        l.entry(folder)
            .or_insert_with_key(|f| {
                let names = std::fs::read_dir(f).into_iter().flatten().flatten();
                Arc::new(names.filter_map(|e| e.file_name().to_str().map(str::to_string)).collect())
            })
            .clone()
    }

    pub fn load(&self, dir: &Path, kind: &str, name: &str) -> Result<Map<String, Value>, Diagnostic> {
        let names = self.listing(dir.join(kind));
        if !["", ".yml", ".yaml", ".json"].iter().any(|ext| names.contains(&format!("{name}{ext}"))) {
            return Ok(Map::new());
        }
        let base = dir.join(kind).join(name);
        if let Some(v) = self.cache.lock().ok().and_then(|c| c.get(&base).cloned()) {
            return Ok(v);
        }
        let mut out = Map::new();
        let mut files = Vec::new();
        for ext in ["", ".yml", ".yaml", ".json"] {
            let p = PathBuf::from(format!("{}{ext}", base.display()));
            if p.is_file() {
                files.push(p);
            }
        }
        if base.is_dir() {
            let mut inner: Vec<PathBuf> = walk(&base);
            inner.sort();
            files.extend(inner);
        }
        for f in files {
            out.extend(read_vars_file(&f)?);
        }
        if let Ok(mut c) = self.cache.lock() {
            c.insert(base, out.clone());
        }
        Ok(out)
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with('.') {
                continue;
            }
            if p.is_dir() {
                out.extend(walk(&p));
            } else if name.ends_with(".yml") || name.ends_with(".yaml") || name.ends_with(".json") || !name.contains('.') {
                out.push(p);
            }
        }
    }
    out
}

/// A YAML (or JSON) file of variables: a mapping, or empty.
pub fn read_vars_file(path: &Path) -> Result<Map<String, Value>, Diagnostic> {
    let node = crate::yaml::load_file(path)?;
    match node.to_value() {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(Diagnostic::new(format!("variables file {} must hold a mapping", path.display()))
            .at(node.loc.clone(), "expected key: value pairs")),
    }
}
