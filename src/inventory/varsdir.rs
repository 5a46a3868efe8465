//! `group_vars/` and `host_vars/` folders: `NAME`, `NAME.yml`, `NAME.yaml`, `NAME.json`, or a
//! folder `NAME/` whose files are read in name order. Each is read once and cached; each
//! `group_vars/` or `host_vars/` folder is listed once, so that the hosts without a file there
//! (most of a large fleet) cost no lookup on the disk.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::diag::Diagnostic;

/// What a folder's `group_vars/` and `host_vars/` hold: names with their extension cut.
#[derive(Debug, Default)]
struct Listing {
    group_vars: HashSet<String>,
    host_vars: HashSet<String>,
}

#[derive(Clone, Debug, Default)]
pub struct DirVars {
    cache: Arc<Mutex<HashMap<PathBuf, Map<String, Value>>>>,
    /// Per folder DIR, the names in `DIR/group_vars` and `DIR/host_vars` that may hold
    /// variables for a group or host: file names with and without `.yml`, `.yaml`, `.json`.
    listings: Arc<Mutex<HashMap<PathBuf, Arc<Listing>>>>,
}

impl DirVars {
    /// The names under `dir` (none where a folder is not there), listed once.
    fn listing(&self, dir: &Path) -> Arc<Listing> {
        let Ok(mut l) = self.listings.lock() else { return Arc::default() };
        if let Some(found) = l.get(dir) {
            return found.clone();
        }
        let names = |kind: &str| -> HashSet<String> {
            let entries = std::fs::read_dir(dir.join(kind)).into_iter().flatten().flatten();
            entries
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .map(|n| ["yml", "yaml", "json"].iter().find_map(|x| n.strip_suffix(&format!(".{x}")).map(str::to_string)).unwrap_or(n))
                .collect()
        };
        let found = Arc::new(Listing { group_vars: names("group_vars"), host_vars: names("host_vars") });
        l.insert(dir.to_path_buf(), found.clone());
        found
    }

    pub fn load(&self, dir: &Path, kind: &str, name: &str) -> Result<Map<String, Value>, Diagnostic> {
        let listing = self.listing(dir);
        let names = if kind == "host_vars" { &listing.host_vars } else { &listing.group_vars };
        if !names.contains(name) {
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
