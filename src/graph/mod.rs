//! The task graph of a play: nodes are the play's tasks (a block, a role or an import is one
//! node), edges say what must finish before what.
//!
//! Under `linear` and `free` the tasks keep their written order (one edge from each task to the
//! next). Under `strategy: graph` only these edges remain: declared ones (`after:` an `id` or a
//! name), data edges (a task that reads a variable an earlier task registers or sets depends on
//! that task), and handler edges (a task and the handlers it notifies). A cycle, or an `after:`
//! that names no task, is refused before anything runs. `steward graph` prints it as DOT.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use petgraph::graph::{DiGraph, NodeIndex};
use serde_json::Value;

use crate::diag::{suggest, Diagnostic};
use crate::playbook::{Play, Task, TaskKind};
use crate::yaml::Loc;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edge {
    /// Written order (linear and free strategies).
    Order,
    /// `after:`
    After,
    /// Reads a variable the other task registers or sets.
    Data(String),
}

/// The graph of one section (pre_tasks, tasks or post_tasks) of a play.
pub struct SectionGraph {
    pub g: DiGraph<usize, Edge>,
}

impl SectionGraph {
    /// For each task (by position), the positions it waits for.
    pub fn deps(&self) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); self.g.node_count()];
        for e in self.g.edge_indices() {
            if let Some((a, b)) = self.g.edge_endpoints(e) {
                out[self.g[b]].push(self.g[a]);
            }
        }
        out
    }
}

fn task_label(t: &Task) -> String {
    match &t.kind {
        TaskKind::Import { .. } if t.role.is_some() && t.name.is_none() => {
            format!("role {}", t.role.as_ref().map(|r| r.name.as_str()).unwrap_or(""))
        }
        // import_role wraps the role's node; import_tasks wraps the file's tasks.
        TaskKind::Import { tasks } if t.name.is_none() => match tasks.first() {
            Some(first) if matches!(first.kind, TaskKind::Import { .. }) && first.role.is_some() => {
                format!("import_role : {}", first.role.as_ref().map(|r| r.name.as_str()).unwrap_or(""))
            }
            _ => "import_tasks".into(),
        },
        _ => t.display_name(),
    }
}

/// Variables a task (and what it contains) registers or sets.
fn produced(t: &Task, out: &mut HashSet<String>) {
    if let Some(r) = &t.register {
        out.insert(r.clone());
    }
    match &t.kind {
        TaskKind::Module { module, args } if module.name() == "set_fact" => {
            if let Some(m) = args.as_map() {
                for (k, _) in m {
                    let k = k.key_string();
                    if k != "cacheable" {
                        out.insert(k);
                    }
                }
            }
        }
        TaskKind::Block { block, rescue, always } => {
            for x in block.iter().chain(rescue).chain(always) {
                produced(x, out);
            }
        }
        TaskKind::Import { tasks } | TaskKind::IncludeRole { tasks, .. } => {
            for x in tasks {
                produced(x, out);
            }
        }
        _ => {}
    }
}

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// Every text a task evaluates: arguments, conditions, loops, variables.
fn texts(t: &Task, out: &mut Vec<String>) {
    for w in &t.kw.when {
        strings(w, out);
    }
    for v in t.kw.vars.values() {
        strings(v, out);
    }
    for c in [&t.changed_when, &t.failed_when, &t.until].into_iter().flatten() {
        strings(c, out);
    }
    match &t.loop_ {
        Some(crate::playbook::Loop::Items { value, .. }) => strings(value, out),
        Some(crate::playbook::Loop::Lookup { terms, .. }) => strings(terms, out),
        None => {}
    }
    match &t.kind {
        TaskKind::Module { args, .. } => strings(&args.to_value(), out),
        TaskKind::Templated { name, args } => {
            strings(&Value::String(name.clone()), out);
            strings(&args.to_value(), out);
        }
        TaskKind::Meta { action } => strings(action, out),
        TaskKind::Invalid { .. } => {}
        TaskKind::IncludeTasks { file, preloaded, .. } => {
            strings(file, out);
            for x in preloaded.iter().flatten() {
                texts(x, out);
            }
        }
        TaskKind::Block { block, rescue, always } => block.iter().chain(rescue).chain(always).for_each(|x| texts(x, out)),
        TaskKind::Import { tasks } | TaskKind::IncludeRole { tasks, .. } => tasks.iter().for_each(|x| texts(x, out)),
    }
}

/// Whether a task reads other hosts' variables (`hostvars`, `ansible_play_hosts`, ...).
/// Whether a task reads `hostvars` (other hosts' variables, facts and results).
pub fn reads_hostvars(t: &Task) -> bool {
    let mut tx = Vec::new();
    texts(t, &mut tx);
    identifiers(&tx).contains("hostvars")
}

pub fn reads_other_hosts(t: &Task) -> bool {
    let mut tx = Vec::new();
    texts(t, &mut tx);
    let ids = identifiers(&tx);
    ["hostvars", "play_hosts", "ansible_play_hosts", "ansible_play_batch", "groups"].iter().any(|v| ids.contains(*v))
}

fn identifiers(texts: &[String]) -> HashSet<String> {
    let mut out = HashSet::new();
    for t in texts {
        let mut cur = String::new();
        for c in t.chars().chain(std::iter::once(' ')) {
            if c.is_ascii_alphanumeric() || c == '_' {
                cur.push(c);
            } else {
                if !cur.is_empty() && !cur.starts_with(|c: char| c.is_ascii_digit()) {
                    out.insert(cur.clone());
                }
                cur.clear();
            }
        }
    }
    out
}

/// The graph of one section. `graph_mode` is `strategy: graph`.
pub fn section(tasks: &[Arc<Task>], graph_mode: bool) -> Result<SectionGraph, Diagnostic> {
    let mut g: DiGraph<usize, Edge> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..tasks.len()).map(|i| g.add_node(i)).collect();
    if !graph_mode {
        for w in nodes.windows(2) {
            g.add_edge(w[0], w[1], Edge::Order);
        }
    }
    // after: by id or by name
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for (i, t) in tasks.iter().enumerate() {
        if let Some(id) = &t.id {
            by_name.insert(id.as_str(), i);
        }
        if let Some(n) = &t.name {
            by_name.entry(n.as_str()).or_insert(i);
        }
    }
    for (i, t) in tasks.iter().enumerate() {
        for a in &t.after {
            let Some(&j) = by_name.get(a.as_str()) else {
                let mut d =
                    Diagnostic::new(format!("task `{}` is `after:` `{a}`, but no task of this play has that id or name", task_label(t)))
                        .at(t.loc.clone(), "here");
                if let Some(s) = suggest(a, by_name.keys().copied()) {
                    d = d.help(format!("did you mean `{s}`?"));
                }
                return Err(d);
            };
            if !g.contains_edge(nodes[j], nodes[i]) {
                g.add_edge(nodes[j], nodes[i], Edge::After);
            }
        }
    }
    if graph_mode {
        // Data edges: from the latest earlier task that produces a variable this one reads.
        let mut producers: HashMap<String, usize> = HashMap::new();
        for (i, t) in tasks.iter().enumerate() {
            let mut tx = Vec::new();
            texts(t, &mut tx);
            let mut used: Vec<String> = identifiers(&tx).into_iter().collect();
            used.sort();
            for v in used {
                if let Some(&j) = producers.get(&v) {
                    if j != i && !g.contains_edge(nodes[j], nodes[i]) {
                        g.add_edge(nodes[j], nodes[i], Edge::Data(v));
                    }
                }
            }
            let mut made = HashSet::new();
            produced(t, &mut made);
            for v in made {
                producers.insert(v, i);
            }
        }
    }
    check_cycles(&g, tasks)?;
    Ok(SectionGraph { g })
}

fn check_cycles(g: &DiGraph<usize, Edge>, tasks: &[Arc<Task>]) -> Result<(), Diagnostic> {
    for scc in petgraph::algo::tarjan_scc(g) {
        let cyclic = scc.len() > 1 || scc.first().is_some_and(|n| g.contains_edge(*n, *n));
        if !cyclic {
            continue;
        }
        let cycle = cycle_in(g, &scc);
        let steps: Vec<String> = cycle
            .iter()
            .map(|n| {
                let t = &tasks[g[*n]];
                format!("`{}` ({})", task_label(t), loc_text(&t.loc))
            })
            .collect();
        // Every step of the cycle, each with the edge that makes it wait for the step before.
        let mut d = Diagnostic::new(format!("the tasks wait for each other in a cycle: {} -> back to the first", steps.join(" -> ")));
        for (k, n) in cycle.iter().enumerate() {
            let prev = cycle[(k + cycle.len() - 1) % cycle.len()];
            let (t, before) = (&tasks[g[*n]], task_label(&tasks[g[prev]]));
            let why = match g.find_edge(prev, *n).map(|e| &g[e]) {
                Some(Edge::Data(v)) => format!("reads `{v}`, which `{before}` sets"),
                Some(Edge::Order) => format!("comes after `{before}` in the written order"),
                Some(Edge::After) => format!("is `after:` `{before}`"),
                None => format!("waits for `{before}`"),
            };
            d = d.at(t.loc.clone(), format!("step {} of {}: `{}` {why}", k + 1, cycle.len(), task_label(t)));
        }
        return Err(d.help("remove one of the `after:` entries (or, under linear, an `after:` on a task written later)"));
    }
    Ok(())
}

fn loc_text(l: &Loc) -> String {
    format!("{}:{}", crate::diag::relative(&l.file), l.line)
}

/// One cycle through the nodes of a strongly connected component, in edge order.
fn cycle_in(g: &DiGraph<usize, Edge>, scc: &[NodeIndex]) -> Vec<NodeIndex> {
    let inside: HashSet<NodeIndex> = scc.iter().copied().collect();
    let start = *scc.iter().min_by_key(|n| g[**n]).unwrap_or(&scc[0]);
    // Depth-first from the start until it is reached again.
    let mut path = vec![start];
    let mut seen = HashSet::new();
    fn dfs(
        g: &DiGraph<usize, Edge>,
        inside: &HashSet<NodeIndex>,
        start: NodeIndex,
        path: &mut Vec<NodeIndex>,
        seen: &mut HashSet<NodeIndex>,
    ) -> bool {
        let cur = *path.last().unwrap_or(&start);
        let mut next: Vec<NodeIndex> = g.neighbors(cur).filter(|n| inside.contains(n)).collect();
        next.sort_by_key(|n| g[*n]);
        for n in next {
            if n == start {
                return true;
            }
            if seen.insert(n) {
                path.push(n);
                if dfs(g, inside, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    if dfs(g, &inside, start, &mut path, &mut seen) {
        path
    } else {
        scc.to_vec()
    }
}

/// The dependencies of a role node: the other roles its wrapper runs before its own tasks.
fn role_dependencies(t: &Task) -> Vec<Arc<Task>> {
    let (TaskKind::Import { tasks }, Some(role)) = (&t.kind, &t.role) else { return vec![] };
    tasks
        .iter()
        .take_while(|x| matches!(x.kind, TaskKind::Import { .. }) && x.role.as_ref().is_some_and(|r| !Arc::ptr_eq(r, role)))
        .cloned()
        .collect()
}

/// Check every play of a playbook (sections, `needs:`), before anything runs.
pub fn check(plays: &[Arc<Play>]) -> Result<(), Diagnostic> {
    let names: Vec<&str> = plays.iter().map(|p| p.name.as_str()).collect();
    for p in plays {
        let graph = p.strategy.as_deref() == Some("graph");
        for sec in [&p.pre_tasks, &p.tasks, &p.post_tasks] {
            section(sec, graph)?;
        }
        for n in &p.needs {
            if !names.contains(&n.as_str()) {
                let mut d =
                    Diagnostic::new(format!("play `{}` needs `{n}`, but no play has that name", p.name)).at(p.loc.clone(), "this play");
                if let Some(s) = suggest(n, names.iter().copied()) {
                    d = d.help(format!("did you mean `{s}`?"));
                }
                return Err(d);
            }
        }
    }
    Ok(())
}

/// The whole playbook as DOT: one cluster per play, one edge per line.
pub fn dot(plays: &[Arc<Play>]) -> Result<String, Diagnostic> {
    let mut out = String::from("digraph steward {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n");
    let q = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    for (pi, p) in plays.iter().enumerate() {
        let pid = format!("p{}", pi + 1);
        let graph = p.strategy.as_deref() == Some("graph");
        out +=
            &format!("  subgraph cluster_{pid} {{\n    label=\"PLAY {} ({})\";\n", q(&p.name), p.strategy.as_deref().unwrap_or("linear"));
        let mut edges = Vec::new();
        let sections = [("pre", &p.pre_tasks), ("tasks", &p.tasks), ("post", &p.post_tasks)];
        let mut last_of_prev: Option<String> = None;
        for (sname, sec) in sections {
            if sec.is_empty() {
                continue;
            }
            let sg = section(sec, graph)?;
            let id = |i: usize| format!("{pid}_{sname}{}", i + 1);
            for (i, t) in sec.iter().enumerate() {
                out += &format!("    \"{}\" [label=\"{}\\n{}\"];\n", id(i), q(&task_label(t)), q(&loc_text(&t.loc)));
                // A role's dependencies (meta/main.yml) run first, inside its node.
                for (k, dep) in role_dependencies(t).iter().enumerate() {
                    let did = format!("{}_dep{}", id(i), k + 1);
                    out += &format!("    \"{did}\" [label=\"{}\\n(dependency)\", style=rounded];\n", q(&task_label(dep)));
                    edges.push(format!("    \"{did}\" -> \"{}\" [label=\"dependency\"];", id(i)));
                }
            }
            for e in sg.g.edge_indices() {
                let (a, b) = sg.g.edge_endpoints(e).expect("edge");
                let attr = match &sg.g[e] {
                    Edge::Order => String::new(),
                    Edge::After => " [label=\"after\"]".into(),
                    Edge::Data(v) => format!(" [label=\"{}\", style=dashed]", q(v)),
                };
                edges.push(format!("    \"{}\" -> \"{}\"{attr};", id(sg.g[a]), id(sg.g[b])));
            }
            // Sections follow one another: every task of the next waits for the previous section.
            if let Some(prev) = &last_of_prev {
                for (i, _) in sec.iter().enumerate() {
                    if sg.deps()[i].is_empty() {
                        edges.push(format!("    \"{prev}\" -> \"{}\" [style=dotted];", id(i)));
                    }
                }
            }
            let sink = format!("{pid}_{sname}_done");
            out += &format!("    \"{sink}\" [label=\"{sname} done\", shape=point];\n");
            for (i, _) in sec.iter().enumerate() {
                let has_out = sg.g.neighbors(sg.g.node_indices().nth(i).expect("node")).next().is_some();
                if !has_out {
                    edges.push(format!("    \"{}\" -> \"{sink}\" [style=dotted];", id(i)));
                }
            }
            last_of_prev = Some(sink);
        }
        for (hi, h) in p.handlers.iter().enumerate() {
            out += &format!("    \"{pid}_h{}\" [label=\"handler {}\", shape=ellipse];\n", hi + 1, q(&h.display_name()));
        }
        for (sname, sec) in sections {
            for (i, t) in sec.iter().enumerate() {
                for n in &t.notify {
                    for (hi, h) in p.handlers.iter().enumerate() {
                        if h.handler_matches(n) {
                            edges.push(format!(
                                "    \"{pid}_{sname}{}\" -> \"{pid}_h{}\" [label=\"notify\", style=dashed];",
                                i + 1,
                                hi + 1
                            ));
                        }
                    }
                }
            }
        }
        for e in edges {
            out += &e;
            out.push('\n');
        }
        out += "  }\n";
        out += &format!("  \"{pid}\" [label=\"PLAY {}\", shape=doubleoctagon];\n", q(&p.name));
    }
    // Play order, or `needs:`.
    for (pi, p) in plays.iter().enumerate() {
        if !p.needs.is_empty() {
            for n in &p.needs {
                if let Some(j) = plays.iter().position(|x| &x.name == n) {
                    out += &format!("  \"p{}\" -> \"p{}\" [label=\"needs\"];\n", j + 1, pi + 1);
                }
            }
        } else if pi > 0 && !p.needs_declared {
            out += &format!("  \"p{pi}\" -> \"p{}\";\n", pi + 1);
        }
    }
    out += "}\n";
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cycle error points at every task of the cycle, in cycle order, each with the edge
    /// that makes it wait for the one before, and quotes each task's line.
    #[test]
    fn a_cycle_error_names_every_step() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cycle.yml");
        std::fs::write(
            &file,
            "- hosts: localhost
  strategy: graph
  tasks:
    - name: one
      after: [three]
      command: \"true\"
      register: r1
    - name: two
      debug:
        msg: \"{{ r1 }}\"
    - name: three
      after: [two]
      command: \"true\"
",
        )
        .unwrap();
        let book = crate::playbook::load_playbook(&file, &Arc::new(crate::playbook::LoadEnv::default())).unwrap();
        let d = check(&book.plays).unwrap_err();
        let places: Vec<(u32, &str)> = d.spans.iter().map(|s| (s.loc.line, &*s.label)).collect();
        assert_eq!(
            places,
            [
                (4, "step 1 of 3: `one` is `after:` `three`"),
                (8, "step 2 of 3: `two` reads `r1`, which `one` sets"),
                (11, "step 3 of 3: `three` is `after:` `two`"),
            ]
        );
        let text = d.render();
        for line in ["4  |     - name: one", "8  |     - name: two", "11 |     - name: three"] {
            assert!(text.contains(line), "{line:?} is not quoted:\n{text}");
        }
        assert_eq!(text.matches("-->").count(), 1, "{text}");
        assert_eq!(text.matches(":::").count(), 2, "{text}");
    }
}
