//! The inventory: hosts, groups and their variables, and host patterns.
//!
//! Sources are INI and YAML files, directories of them, and comma lists (`web1,web2,`), as
//! Ansible reads them; `group_vars/` and `host_vars/` beside an inventory file and beside the
//! playbook are layered in Ansible's order by [`Inventory::host_vars`]. The executor asks this
//! module for the hosts of a pattern and for each host's variables; nothing here touches a host.

mod dynamic;
mod ini;
mod pattern;
mod range;
mod varsdir;
mod yamlinv;

use std::path::{Path, PathBuf};

use indexmap::{IndexMap, IndexSet};
use serde_json::{Map, Value};

use crate::diag::Diagnostic;

pub use range::expand_host_range;
pub use varsdir::read_vars_file;

#[derive(Clone, Debug, Default)]
pub struct Host {
    pub name: String,
    pub vars: Map<String, Value>,
}

#[derive(Clone, Debug, Default)]
pub struct Group {
    pub name: String,
    pub vars: Map<String, Value>,
    pub hosts: IndexSet<String>,
    pub children: IndexSet<String>,
}

/// [`Inventory::group_layer`]'s cache: by a host's groups, what they give it.
type GroupLayers = std::sync::Arc<std::sync::Mutex<std::collections::HashMap<Vec<u32>, std::sync::Arc<Map<String, Value>>>>>;

#[derive(Clone, Debug, Default)]
pub struct Inventory {
    pub hosts: IndexMap<String, Host>,
    pub groups: IndexMap<String, Group>,
    /// Folders whose `group_vars/` and `host_vars/` belong to the inventory.
    pub var_dirs: Vec<PathBuf>,
    /// Variables from `group_vars/` and `host_vars/` folders, read once per folder.
    dir_vars: varsdir::DirVars,
    /// The playbook's folder, whose `group_vars/` and `host_vars/` rank above the inventory's.
    pub playbook_dirs: Vec<PathBuf>,
    /// Ansible's implicit `localhost`: selectable by name, but not a member of `all`.
    pub implicit_localhost: bool,
    /// The `-i` sources as given, made absolute when they are paths (`ansible_inventory_sources`).
    pub sources: Vec<String>,
    /// Each host's groups, computed once when first asked (the inventory no longer changes then).
    /// By host index: the indices of its groups.
    membership: std::sync::OnceLock<Vec<Vec<u32>>>,
    /// The variables a set of groups gives its hosts (inventory, then `group_vars/`), by the
    /// groups' indices in variable order: hosts in the same groups share it.
    group_layers: GroupLayers,
    /// Each group's depth below `all`, computed once as `membership`.
    depths: std::sync::OnceLock<std::collections::HashMap<String, usize>>,
}

impl Inventory {
    pub fn new() -> Inventory {
        let mut inv = Inventory::default();
        inv.group_mut("all");
        inv.group_mut("ungrouped");
        inv
    }

    /// The inventory used when none is given: this machine, run without SSH.
    pub fn implicit_localhost() -> Inventory {
        let mut inv = Inventory::new();
        inv.add_host("localhost", Some("ungrouped"));
        inv.hosts["localhost"].vars.clone_from(&localhost_vars());
        inv
    }

    pub fn group_mut(&mut self, name: &str) -> &mut Group {
        if !self.groups.contains_key(name) {
            self.groups.insert(name.to_string(), Group { name: name.to_string(), ..Default::default() });
            if name != "all" {
                self.groups.get_mut("all").map(|g| g.children.insert(name.to_string()));
            }
        }
        self.groups.get_mut(name).expect("just inserted")
    }

    pub fn add_host(&mut self, name: &str, group: Option<&str>) -> &mut Host {
        if let Some(g) = group {
            self.group_mut(g).hosts.insert(name.to_string());
        }
        self.hosts.entry(name.to_string()).or_insert_with(|| Host { name: name.to_string(), vars: Map::new() })
    }

    pub fn add_child(&mut self, parent: &str, child: &str) {
        self.group_mut(child);
        self.group_mut(parent).children.insert(child.to_string());
    }

    /// Load every source given with `-i`, in order.
    pub fn load(sources: &[String]) -> Result<Inventory, Diagnostic> {
        let mut inv = Inventory::new();
        for src in sources {
            inv.load_source(src)?;
            let p = Path::new(src);
            inv.sources.push(if p.exists() {
                std::fs::canonicalize(p).map(|a| a.display().to_string()).unwrap_or(src.clone())
            } else {
                src.clone()
            });
        }
        inv.finish();
        Ok(inv)
    }

    fn load_source(&mut self, src: &str) -> Result<(), Diagnostic> {
        let path = Path::new(src);
        if !path.exists() && src.contains(',') {
            for h in src.split(',').map(str::trim).filter(|h| !h.is_empty()) {
                for name in expand_host_range(h).map_err(Diagnostic::new)? {
                    self.add_host(&name, Some("ungrouped"));
                }
            }
            return Ok(());
        }
        if !path.exists() {
            return Err(Diagnostic::new(format!("inventory source `{src}` does not exist"))
                .help("give a file, a folder, or a comma list such as `web1,web2,`"));
        }
        self.load_path(path)
    }

    fn load_path(&mut self, path: &Path) -> Result<(), Diagnostic> {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| Diagnostic::new(format!("cannot read {}: {e}", path.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| !ignored_inventory_entry(p))
                .collect();
            entries.sort();
            for e in entries {
                self.load_path(&e)?;
            }
            self.var_dirs.push(path.to_path_buf());
            return Ok(());
        }
        if dynamic::is_script(path) {
            dynamic::load(self, path)?;
            self.note_var_dir(path);
            return Ok(());
        }
        let text = std::fs::read_to_string(path).map_err(|e| Diagnostic::new(format!("cannot read inventory {}: {e}", path.display())))?;
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let looks_yaml = matches!(ext, "yml" | "yaml" | "json") || yamlinv::looks_like_yaml(&text);
        if looks_yaml {
            yamlinv::parse(self, &text, path)?;
        } else {
            ini::parse(self, &text, path)?;
        }
        self.note_var_dir(path);
        Ok(())
    }

    fn note_var_dir(&mut self, path: &Path) {
        if let Some(dir) = path.parent() {
            let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
            if !self.var_dirs.iter().any(|d| d == dir) {
                self.var_dirs.push(dir.to_path_buf());
            }
        }
    }

    /// Hosts that belong to no group but `all` go to `ungrouped`; localhost gets the local connection.
    fn finish(&mut self) {
        self.regroup_ungrouped();
        if let Some(h) = self.hosts.get_mut("localhost") {
            for (k, v) in localhost_vars() {
                h.vars.entry(k).or_insert(v);
            }
        } else {
            self.hosts.insert("localhost".into(), Host { name: "localhost".into(), vars: localhost_vars() });
            self.implicit_localhost = true;
        }
    }

    /// `add_host`: a host (new or not) into groups, with more variables. Says whether the
    /// inventory changed, as Ansible reports it.
    pub fn add_dynamic_host(&mut self, name: &str, groups: &[String], vars: &Map<String, Value>) -> bool {
        let mut changed = false;
        if !self.hosts.contains_key(name) || (self.implicit_localhost && name == "localhost") {
            self.add_host(name, None);
            if name == "localhost" {
                self.implicit_localhost = false;
            }
            changed = true;
        }
        if let Some(h) = self.hosts.get_mut(name) {
            for (k, v) in vars {
                if h.vars.get(k) != Some(v) {
                    h.vars.insert(k.clone(), v.clone());
                    changed = true;
                }
            }
        }
        for g in groups {
            changed |= self.group_mut(g).hosts.insert(name.to_string());
        }
        if changed {
            self.reconcile();
        }
        changed
    }

    /// `group_by`: a host into a group (made if new) under parent groups.
    pub fn add_dynamic_group(&mut self, host: &str, group: &str, parents: &[String]) -> bool {
        let mut changed = !self.groups.contains_key(group);
        // A new group is a child of `all` already.
        self.group_mut(group);
        for p in parents.iter().filter(|p| *p != "all" && *p != group) {
            changed |= !self.groups.contains_key(p.as_str());
            changed |= self.group_mut(p).children.insert(group.to_string());
        }
        changed |= self.group_mut(group).hosts.insert(host.to_string());
        if changed {
            self.reconcile();
        }
        changed
    }

    /// After a change while running: `ungrouped` and the host-to-groups cache made anew.
    fn reconcile(&mut self) {
        self.membership = std::sync::OnceLock::new();
        self.depths = std::sync::OnceLock::new();
        self.group_layers = Default::default();
        self.regroup_ungrouped();
    }

    /// `ungrouped` holds the hosts in no other group (but `all`), and no others.
    fn regroup_ungrouped(&mut self) {
        let (add, remove) = {
            let grouped: std::collections::HashSet<&str> = self
                .groups
                .values()
                .filter(|g| g.name != "all" && g.name != "ungrouped")
                .flat_map(|g| g.hosts.iter().map(String::as_str))
                .collect();
            let now = self.groups.get("ungrouped").map(|g| &g.hosts);
            let has = |h: &str| now.is_some_and(|u| u.contains(h));
            let add: Vec<String> = self.real_hosts().filter(|h| !grouped.contains(h.as_str()) && !has(h)).cloned().collect();
            let remove: Vec<String> = now.into_iter().flatten().filter(|h| grouped.contains(h.as_str())).cloned().collect();
            (add, remove)
        };
        let ungrouped = &mut self.group_mut("ungrouped").hosts;
        for h in remove {
            ungrouped.shift_remove(&h);
        }
        ungrouped.extend(add);
    }

    /// Hosts of the inventory proper (the implicit localhost left out).
    pub fn real_hosts(&self) -> impl Iterator<Item = &String> {
        self.hosts.keys().filter(move |h| !(self.implicit_localhost && *h == "localhost"))
    }

    /// Read `group_vars/` and `host_vars/` beside the playbook too (they rank above the inventory's).
    pub fn add_playbook_dir(&mut self, dir: &Path) {
        if !self.playbook_dirs.iter().any(|d| d == dir) {
            self.playbook_dirs.push(dir.to_path_buf());
            self.group_layers = Default::default();
        }
    }

    /// All groups a host belongs to, directly or through children, `all` included.
    pub fn groups_of(&self, host: &str) -> Vec<String> {
        if self.implicit_localhost && host == "localhost" {
            return Vec::new();
        }
        self.group_indices(host).iter().filter_map(|&i| self.groups.get_index(i as usize).map(|(k, _)| k.clone())).collect()
    }

    /// [`Inventory::groups_of`] as indices into `groups`.
    fn group_indices(&self, host: &str) -> &[u32] {
        let members = self.membership.get_or_init(|| self.membership());
        match self.hosts.get_index_of(host) {
            Some(i) if !(self.implicit_localhost && host == "localhost") => &members[i],
            _ => &[],
        }
    }

    /// Every host's groups, in the inventory's group order: the groups that name it and all
    /// their ancestors, and `all`. Linear in hosts × their groups (not a walk over every group's
    /// hosts per group).
    fn membership(&self) -> Vec<Vec<u32>> {
        let n = self.groups.len();
        let mut parents: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (gi, g) in self.groups.values().enumerate() {
            for c in &g.children {
                if let Some(ci) = self.groups.get_index_of(c) {
                    parents[ci].push(gi);
                }
            }
        }
        // Each group with its ancestors, found once (a cycle stops where it closes).
        fn up(i: usize, parents: &[Vec<usize>], memo: &mut [Option<Vec<u32>>], on_path: &mut [bool]) {
            if memo[i].is_some() {
                return;
            }
            on_path[i] = true;
            let mut out = vec![i as u32];
            for &p in &parents[i] {
                if !on_path[p] {
                    up(p, parents, memo, on_path);
                    out.extend(memo[p].iter().flatten());
                }
            }
            on_path[i] = false;
            out.sort_unstable();
            out.dedup();
            memo[i] = Some(out);
        }
        let mut memo: Vec<Option<Vec<u32>>> = vec![None; n];
        let mut on_path = vec![false; n];
        let mut out: Vec<Vec<u32>> = vec![Vec::new(); self.hosts.len()];
        let all = self.groups.get_index_of("all").map(|i| i as u32);
        for (gi, g) in self.groups.values().enumerate() {
            up(gi, &parents, &mut memo, &mut on_path);
            for h in &g.hosts {
                if let Some(hi) = self.hosts.get_index_of(h) {
                    out[hi].extend(memo[gi].iter().flatten());
                }
            }
        }
        for (gs, h) in out.iter_mut().zip(self.hosts.keys()) {
            if self.implicit_localhost && h == "localhost" {
                gs.clear();
                continue;
            }
            gs.extend(all);
            gs.sort_unstable();
            gs.dedup();
        }
        out
    }

    /// A group's hosts, its children's included, in inventory order.
    pub fn group_hosts(&self, group: &str) -> IndexSet<String> {
        let mut seen = IndexSet::new();
        let mut out = IndexSet::new();
        self.collect_group_hosts(group, &mut seen, &mut out);
        if group == "all" {
            // `all` lists every host in the order they were defined.
            return self.real_hosts().cloned().collect();
        }
        // Inventory order: by each host's place, not by a walk over every host per group.
        let mut ordered: Vec<(usize, String)> = out.into_iter().filter_map(|h| Some((self.hosts.get_index_of(&h)?, h))).collect();
        ordered.sort_unstable_by_key(|(i, _)| *i);
        ordered.into_iter().map(|(_, h)| h).collect()
    }

    fn collect_group_hosts(&self, group: &str, seen: &mut IndexSet<String>, out: &mut IndexSet<String>) {
        if !seen.insert(group.to_string()) {
            return;
        }
        if let Some(g) = self.groups.get(group) {
            out.extend(g.hosts.iter().cloned());
            for c in &g.children {
                self.collect_group_hosts(c, seen, out);
            }
        }
    }

    /// Depth of a group below `all`, for Ansible's group variable order: 1 for a group no
    /// other group contains, else one more than its deepest parent (a cycle is cut off).
    fn depth(&self, group: &str) -> usize {
        if group == "all" {
            return 0;
        }
        let depths = self.depths.get_or_init(|| {
            let mut parents: std::collections::HashMap<&str, Vec<&str>> = std::collections::HashMap::new();
            for g in self.groups.values().filter(|g| g.name != "all") {
                for c in g.children.iter().filter(|c| **c != g.name) {
                    parents.entry(c.as_str()).or_default().push(g.name.as_str());
                }
            }
            let mut memo = std::collections::HashMap::new();
            for g in self.groups.keys() {
                group_depth(g, &parents, &mut memo, 0);
            }
            memo.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
        });
        depths.get(group).copied().unwrap_or(1)
    }

    /// A group's own variables: the inventory's, then its `group_vars/` files.
    pub fn group_vars(&self, group: &str) -> Result<Map<String, Value>, Diagnostic> {
        let mut out = self.groups.get(group).map(|g| g.vars.clone()).unwrap_or_default();
        for d in self.var_dirs.iter().chain(self.playbook_dirs.iter()) {
            merge_into(&mut out, &self.dir_vars.load(d, "group_vars", group)?);
        }
        Ok(out)
    }

    /// A host's inventory variables, layered in Ansible's precedence order.
    pub fn host_vars(&self, host: &str) -> Result<Map<String, Value>, Diagnostic> {
        let mut out = (*self.group_layer(host)?).clone();
        if let Some(h) = self.hosts.get(host) {
            merge_into(&mut out, &h.vars);
        }
        for d in self.var_dirs.iter().chain(self.playbook_dirs.iter()) {
            merge_into(&mut out, &self.dir_vars.load(d, "host_vars", host)?);
        }
        Ok(out)
    }

    /// What a host's groups give it, made once per set of groups. The groups apply in
    /// Ansible's order: `all` first, then by depth (parents before children), then by
    /// `ansible_group_priority`, then by name.
    fn group_layer(&self, host: &str) -> Result<std::sync::Arc<Map<String, Value>>, Diagnostic> {
        let mut groups: Vec<u32> = self.group_indices(host).to_vec();
        let key = |i: &u32| {
            let g = &self.groups[*i as usize];
            let prio = g.vars.get("ansible_group_priority").and_then(Value::as_i64).unwrap_or(1);
            (self.depth(&g.name), prio)
        };
        groups.sort_by(|a, b| key(a).cmp(&key(b)).then_with(|| self.groups[*a as usize].name.cmp(&self.groups[*b as usize].name)));
        if let Some(found) = self.group_layers.lock().ok().and_then(|c| c.get(&groups).cloned()) {
            return Ok(found);
        }
        let mut out = Map::new();
        // Variables written in inventory files rank lowest ...
        for &g in &groups {
            merge_into(&mut out, &self.groups[g as usize].vars);
        }
        // A setting of the group's, not a variable of its hosts (ansible-inventory shows none).
        out.remove("ansible_group_priority");
        // ... then group_vars/all (inventory's, then the playbook's), then the other groups.
        let dirs: Vec<&PathBuf> = self.var_dirs.iter().chain(self.playbook_dirs.iter()).collect();
        for d in &dirs {
            merge_into(&mut out, &self.dir_vars.load(d, "group_vars", "all")?);
        }
        for g in groups.iter().map(|&g| self.groups[g as usize].name.as_str()).filter(|g| *g != "all") {
            for d in &dirs {
                merge_into(&mut out, &self.dir_vars.load(d, "group_vars", g)?);
            }
        }
        let out = std::sync::Arc::new(out);
        if let Ok(mut c) = self.group_layers.lock() {
            c.insert(groups, out.clone());
        }
        Ok(out)
    }

    /// Hosts that a pattern such as `web:&prod:!db` selects, in inventory order.
    pub fn select(&self, pattern: &str) -> Result<Vec<String>, Diagnostic> {
        pattern::select(self, pattern)
    }
}

/// [`Inventory::depth`]'s walk up the parents, each group's answer kept.
fn group_depth<'a>(
    group: &'a str,
    parents: &std::collections::HashMap<&'a str, Vec<&'a str>>,
    memo: &mut std::collections::HashMap<&'a str, usize>,
    guard: usize,
) -> usize {
    if let Some(d) = memo.get(group) {
        return *d;
    }
    if guard > 64 {
        return 0;
    }
    let mut best = 1;
    for p in parents.get(group).into_iter().flatten() {
        best = best.max(1 + group_depth(p, parents, memo, guard + 1));
    }
    memo.insert(group, best);
    best
}

fn localhost_vars() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("ansible_connection".into(), Value::from("local"));
    m
}

fn ignored_inventory_entry(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with('.')
        || name == "group_vars"
        || name == "host_vars"
        || name.ends_with('~')
        || [".retry", ".pyc", ".pyo", ".orig", ".cfg", ".ini.bak", ".md"].iter().any(|s| name.ends_with(s))
}

pub fn merge_into(dst: &mut Map<String, Value>, src: &Map<String, Value>) {
    for (k, v) in src {
        dst.insert(k.clone(), v.clone());
    }
}
