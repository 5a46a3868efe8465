//! Running a play: hosts, batches (`serial`), fact gathering, each host's walk through the task
//! tree (blocks, includes, roles, handlers), and failures.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use indexmap::IndexSet;
use serde_json::{json, Map, Value};

use super::gate::{Gate, Release};
use super::task::{self, Chain, Env};
use super::vars::{self, Inherited, PlayScope};
use super::{HostState, Run};
use crate::diag::Diagnostic;
use crate::playbook::{Kw, Play, Task, TaskKind};
use crate::report::event::{HostResult, Status};
use crate::template;
use crate::yaml::Node;

pub enum PlayEnd {
    Continue,
    Stop,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Failed,
    Unreachable,
    EndHost,
    EndPlay,
    Abort,
}

/// A keyword holder in the chain above a task.
#[derive(Clone)]
enum KwRef {
    Play(Arc<Play>),
    Task(Arc<Task>),
}

impl KwRef {
    fn kw(&self) -> &Kw {
        match self {
            KwRef::Play(p) => &p.kw,
            KwRef::Task(t) => &t.kw,
        }
    }
}

fn chain_of(refs: &[KwRef]) -> Chain<'_> {
    Chain { kws: refs.iter().map(KwRef::kw).collect() }
}

/// Whether `--tags`/`--skip-tags` select a task with these tags.
pub fn tags_selected(tags: &[String], only: &[String], skip: &[String]) -> bool {
    let has = |t: &str| tags.iter().any(|x| x == t);
    let always = has("always");
    if !skip.is_empty() {
        let skipped = skip.iter().any(|s| match s.as_str() {
            "all" => true,
            "tagged" => !tags.is_empty(),
            "untagged" => tags.is_empty(),
            s => has(s),
        });
        if skipped {
            return false;
        }
    }
    if always {
        return true;
    }
    if only.is_empty() {
        return !has("never");
    }
    only.iter().any(|o| match o.as_str() {
        "all" => !has("never"),
        "tagged" => !tags.is_empty() && !has("never"),
        "untagged" => tags.is_empty(),
        o => has(o),
    })
}

type InheritedVars = Vec<Arc<Map<String, Value>>>;

struct Walker {
    run: Arc<Run>,
    play: Arc<Play>,
    host: Arc<HostState>,
    order: usize,
    ps: PlayScope,
    gate: Arc<Gate>,
    notified: Mutex<IndexSet<usize>>,
    /// For a role's handler notified by a task of the same role: the vars that task inherited
    /// (include_role `vars:`, a role entry's `vars:`), which the handler sees as in Ansible.
    handler_vars: Mutex<HashMap<usize, InheritedVars>>,
    in_handler: AtomicBool,
    /// The last failed result and what `ansible_failed_task` says of its task.
    last_failure: Mutex<Option<(Map<String, Value>, Value)>>,
    abort_run: Arc<AtomicBool>,
    /// The tasks after the one running, for batched probes ([`Walker::ahead`]).
    next: Mutex<Option<Arc<Next>>>,
    /// Each task's probes as [`task::prefetch`] first worked them out, by task uid.
    prefetched: Mutex<HashMap<usize, Vec<(String, crate::modules::ProbeKey)>>>,
}

/// Tasks that follow, with what they inherit.
struct Next {
    tasks: Vec<Arc<Task>>,
    inh: Inherited,
    chain: Vec<KwRef>,
}

/// How many tasks ahead a batch of probes looks.
const LOOK_AHEAD: usize = 16;

/// What an include brings in for one item: its tasks, their variables, the line to print.
type IncludeRun = (Vec<Arc<Task>>, Map<String, Value>, String);

type BoxFlow<'a> = Pin<Box<dyn Future<Output = Flow> + Send + 'a>>;

impl Walker {
    fn walk_list<'a>(
        self: &'a Arc<Self>,
        tasks: &'a [Arc<Task>],
        prefix: Vec<u32>,
        inh: Inherited,
        chain: Vec<KwRef>,
        rescuable: bool,
    ) -> BoxFlow<'a> {
        Box::pin(async move {
            for (i, t) in tasks.iter().enumerate() {
                let mut pos = prefix.clone();
                pos.push(i as u32);
                // This one too: a loop's later items.
                let after = &tasks[i..tasks.len().min(i + 1 + LOOK_AHEAD)];
                let next = Next { tasks: after.to_vec(), inh: inh.clone(), chain: chain.clone() };
                *self.next.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(next));
                let flow = self.walk_task(t, pos, inh.clone(), chain.clone(), rescuable).await;
                if flow != Flow::Continue {
                    return flow;
                }
            }
            Flow::Continue
        })
    }

    /// Under `strategy: graph`: run each task as soon as the tasks it depends on are done, up to
    /// `max_concurrent_tasks` (default 8) at once on this host. After a failure no new task
    /// starts; those running finish.
    fn walk_graph<'a>(
        self: &'a Arc<Self>,
        tasks: &'a [Arc<Task>],
        prefix: Vec<u32>,
        inh: Inherited,
        chain: Vec<KwRef>,
        deps: Vec<Vec<usize>>,
    ) -> BoxFlow<'a> {
        Box::pin(async move {
            let n = tasks.len();
            let mut remaining: Vec<usize> = deps.iter().map(Vec::len).collect();
            let mut dependents = vec![Vec::new(); n];
            for (i, ds) in deps.iter().enumerate() {
                for &d in ds {
                    dependents[d].push(i);
                }
            }
            let limit = self.play.max_concurrent_tasks.unwrap_or(8).max(1);
            // Tasks that run side by side have no "next" to look ahead to.
            *self.next.lock().unwrap_or_else(|e| e.into_inner()) = None;
            let mut ready: std::collections::VecDeque<usize> = (0..n).filter(|i| remaining[*i] == 0).collect();
            let mut set = tokio::task::JoinSet::new();
            let mut stop: Option<Flow> = None;
            loop {
                while set.len() < limit && stop.is_none() {
                    let Some(i) = ready.pop_front() else { break };
                    let (w, t, inh, chain) = (self.clone(), tasks[i].clone(), inh.clone(), chain.clone());
                    let mut pos = prefix.clone();
                    pos.push(i as u32);
                    set.spawn(async move { (i, w.walk_task(&t, pos, inh, chain, false).await) });
                }
                let Some(done) = set.join_next().await else { break };
                let (i, flow) = done.unwrap_or((usize::MAX, Flow::Failed));
                if flow != Flow::Continue {
                    stop.get_or_insert(flow);
                    continue;
                }
                for &d in dependents.get(i).map(Vec::as_slice).unwrap_or(&[]) {
                    remaining[d] -= 1;
                    if remaining[d] == 0 {
                        ready.push_back(d);
                    }
                }
            }
            stop.unwrap_or(Flow::Continue)
        })
    }

    fn walk_task<'a>(
        self: &'a Arc<Self>,
        t: &'a Arc<Task>,
        pos: Vec<u32>,
        mut inh: Inherited,
        mut chain: Vec<KwRef>,
        rescuable: bool,
    ) -> BoxFlow<'a> {
        Box::pin(async move {
            if t.role.is_some() {
                inh.role = t.role.clone();
            }
            chain.push(KwRef::Task(t.clone()));
            match &t.kind {
                TaskKind::Block { block, rescue, always } => {
                    if !t.kw.vars.is_empty() {
                        inh.vars.push(Arc::new(t.kw.vars.clone()));
                    }
                    let mut sub = pos.clone();
                    sub.push(0);
                    let mut flow = self.walk_list(block, sub, inh.clone(), chain.clone(), rescuable || !rescue.is_empty()).await;
                    if flow == Flow::Failed && !rescue.is_empty() {
                        let mut rinh = inh.clone();
                        if let Some((res, failed_task)) = self.last_failure.lock().ok().and_then(|f| f.clone()) {
                            let mut m = Map::new();
                            m.insert("ansible_failed_result".into(), Value::Object(res));
                            m.insert("ansible_failed_task".into(), failed_task);
                            rinh.vars.push(Arc::new(m));
                        }
                        let mut sub = pos.clone();
                        sub.push(1);
                        flow = self.walk_list(rescue, sub, rinh, chain.clone(), rescuable).await;
                    }
                    if !always.is_empty() && !matches!(flow, Flow::Unreachable | Flow::EndPlay | Flow::Abort) {
                        let mut sub = pos.clone();
                        sub.push(2);
                        let f2 = self.walk_list(always, sub, inh.clone(), chain.clone(), rescuable).await;
                        if f2 != Flow::Continue {
                            flow = f2;
                        }
                    }
                    if flow == Flow::Failed && !rescuable {
                        self.host.failed.store(true, Ordering::Relaxed);
                    }
                    flow
                }
                TaskKind::Import { tasks } => {
                    if !t.kw.vars.is_empty() {
                        inh.vars.push(Arc::new(t.kw.vars.clone()));
                    }
                    self.walk_list(tasks, pos, inh, chain, rescuable).await
                }
                TaskKind::IncludeTasks { .. } | TaskKind::IncludeRole { .. } => self.include(t, pos, inh, chain, rescuable).await,
                TaskKind::Module { .. } | TaskKind::Templated { .. } | TaskKind::Invalid { .. } | TaskKind::Meta { .. } => {
                    self.leaf(t, pos, inh, chain, rescuable).await
                }
            }
        })
    }

    fn selected(&self, t: &Task, chain: &[KwRef]) -> bool {
        if self.in_handler.load(Ordering::Relaxed) {
            return true;
        }
        let tags = chain_of(chain).tags();
        if !tags_selected(&tags, &self.run.opts.tags, &self.run.opts.skip_tags) {
            return false;
        }
        if !self.run.started.load(Ordering::Relaxed) {
            let start = self.run.opts.start_at_task.as_deref().unwrap_or("");
            if t.display_name() == start || t.name.as_deref() == Some(start) {
                self.run.started.store(true, Ordering::Relaxed);
            } else {
                return false;
            }
        }
        true
    }

    /// Wait for the gate to let this host run `t`: the task's shared result and whether this host
    /// is the first of its group, or how the walk goes on instead (the play stops, or `--step`
    /// was told not to run it).
    async fn enter(&self, t: &Task, pos: Vec<u32>, chain: &[KwRef]) -> Result<(super::gate::Shared, bool), Flow> {
        let handler = self.in_handler.load(Ordering::Relaxed);
        let release = if self.needs_sync(t, chain) {
            self.gate.wait(self.order, pos, t.uid, &t.display_name(), handler).await
        } else {
            self.gate.pass(t.uid, &t.display_name(), handler)
        };
        match release {
            Release::Run(s, first) => Ok((s, first)),
            Release::Skip => Err(Flow::Continue),
            Release::Abort => Err(Flow::Abort),
        }
    }

    /// `throttle: N` on the task (or a block above it): at most N hosts run it at once.
    fn throttle(&self, t: &Task, c: &Chain<'_>, inh: &Inherited) -> Option<Arc<tokio::sync::Semaphore>> {
        let v = c.get(|k| &k.throttle)?;
        let scope = vars::task_scope(&self.run, &self.host, &self.ps, inh, Some(t));
        let n = template::render_value(v, &scope).ok()?.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))?;
        if n <= 0 {
            return None;
        }
        let mut map = self.run.throttles.lock().unwrap_or_else(|e| e.into_inner());
        Some(map.entry(t.uid).or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(n as usize))).clone())
    }

    /// Whether a task depends on the other hosts, so every host must reach it first (Ansible's
    /// linear order, kept where it is observable in results).
    fn needs_sync(&self, t: &Task, chain: &[KwRef]) -> bool {
        // `--step` asks once per task, for every host.
        if self.run.opts.step || self.play.max_fail_percentage.is_some() || matches!(t.kind, TaskKind::Meta { .. }) {
            return true;
        }
        let c = chain_of(chain);
        if c.get(|k| &k.any_errors_fatal).is_some_and(|v| *v != Value::Bool(false))
            || c.get(|k| &k.run_once).is_some_and(|v| *v != Value::Bool(false))
            || c.get(|k| &k.delegate_to).is_some()
        {
            return true;
        }
        let mut cache = self.run.sync_cache.lock().unwrap_or_else(|e| e.into_inner());
        *cache.entry(t.uid).or_insert_with(|| crate::graph::reads_other_hosts(t))
    }

    fn env<'a>(&'a self, inh: &'a Inherited, chain: &'a Chain<'a>) -> Env<'a> {
        Env { run: &self.run, host: &self.host, ps: &self.ps, inh, chain, ahead: None }
    }

    /// The probes of the module tasks that follow the running one, worked out (once per task)
    /// only when a probe is not already answered.
    fn ahead(self: &Arc<Self>) -> Option<crate::modules::Ahead> {
        let next = self.next.lock().unwrap_or_else(|e| e.into_inner()).clone()?;
        let w = self.clone();
        Some(Arc::new(move || {
            let mut keys = Vec::new();
            for t in &next.tasks {
                let TaskKind::Module { module, args } = &t.kind else { continue };
                if let Some(k) = w.prefetched.lock().unwrap_or_else(|e| e.into_inner()).get(&t.uid) {
                    keys.extend(k.iter().cloned());
                    continue;
                }
                let mut inh = next.inh.clone();
                if t.role.is_some() {
                    inh.role = t.role.clone();
                }
                let mut chain = next.chain.clone();
                chain.push(KwRef::Task(t.clone()));
                let c = chain_of(&chain);
                let k = task::prefetch(&w.env(&inh, &c), t, *module, args);
                keys.extend(k.iter().cloned());
                w.prefetched.lock().unwrap_or_else(|e| e.into_inner()).insert(t.uid, k);
            }
            keys
        }))
    }

    /// Print and count a result, remember failures for rescue, and say how the walk goes on.
    fn finish(&self, t: &Task, mut r: HostResult, chain: &Chain<'_>, rescuable: bool, show: bool) -> Flow {
        r.task = t.display_name();
        if r.status == Status::Failed {
            // Only a failure needs the variables, to evaluate a templated ignore_errors.
            let ign = chain
                .get(|k| &k.ignore_errors)
                .map(|v| {
                    let scope = vars::task_scope(&self.run, &self.host, &self.ps, &Inherited::default(), None);
                    template::render_value(v, &scope).map(|x| template::filters_bool(&x)).unwrap_or(false)
                })
                .unwrap_or(false);
            r.ignored = ign;
            r.rescued = !ign && rescuable;
        }
        if r.status == Status::Unreachable {
            r.ignored = chain.get(|k| &k.ignore_unreachable).is_some_and(template::filters_bool);
        }
        if show {
            self.run.reporter.host_result(&r, Some(&t.loc));
            self.run.count(&r);
        }
        match r.status {
            Status::Failed if !r.ignored => {
                if let Ok(mut f) = self.last_failure.lock() {
                    // As Ansible's task object: its own name (no role prefix), action and tags.
                    let failed_task = json!({"name": t.name.clone().unwrap_or_default(), "action": t.module_name(), "tags": t.kw.tags});
                    *f = Some((r.result.clone(), failed_task));
                }
                if !rescuable {
                    self.host.failed.store(true, Ordering::Relaxed);
                }
                let fatal = chain.get(|k| &k.any_errors_fatal).is_some_and(template::filters_bool);
                if fatal && !rescuable {
                    self.abort_run.store(true, Ordering::Relaxed);
                    self.gate.abort();
                }
                Flow::Failed
            }
            Status::Unreachable if !r.ignored => {
                self.host.unreachable.store(true, Ordering::Relaxed);
                Flow::Unreachable
            }
            _ => Flow::Continue,
        }
    }

    fn notify(&self, t: &Task, r: &HostResult, inh: &Inherited) {
        if r.status != Status::Changed && !(r.is_loop && r.items.iter().any(|i| i.status == Status::Changed)) {
            return;
        }
        let Ok(mut n) = self.notified.lock() else {
            return;
        };
        for name in &t.notify {
            for (j, h) in self.play.handlers.iter().enumerate() {
                if h.handler_matches(name) {
                    n.insert(j);
                    let same_role = matches!((&h.role, &inh.role), (Some(a), Some(b)) if Arc::ptr_eq(a, b) || a.path == b.path);
                    if same_role && !inh.vars.is_empty() {
                        if let Ok(mut hv) = self.handler_vars.lock() {
                            hv.insert(j, inh.vars.clone());
                        }
                    }
                }
            }
        }
    }

    async fn leaf(self: &Arc<Self>, t: &Arc<Task>, pos: Vec<u32>, inh: Inherited, chain: Vec<KwRef>, rescuable: bool) -> Flow {
        if !self.selected(t, &chain) {
            return Flow::Continue;
        }
        let (shared, first) = match self.enter(t, pos.clone(), &chain).await {
            Ok(entered) => entered,
            Err(flow) => return flow,
        };
        self.run.reporter.progress_task(&self.host.name, &t.display_name());
        let c = chain_of(&chain);
        let flow = match &t.kind {
            TaskKind::Meta { action } => {
                let (flow, stepped) = self.meta(t, action, &pos, &inh, &c).await;
                if stepped {
                    return flow;
                }
                flow
            }
            TaskKind::Invalid { error } => {
                let scope = vars::task_scope(&self.run, &self.host, &self.ps, &inh, Some(t));
                let r = match task::first_false(&c.when(), &scope) {
                    Ok(Some(cond)) => task::skipped_result(&self.host.name, &cond),
                    Ok(None) => task::failed_result(&self.host.name, error.runtime_message()),
                    Err(e) => task::failed_result(&self.host.name, e),
                };
                task::register(&self.host, t, &r);
                self.finish(t, r, &c, rescuable, true)
            }
            TaskKind::Templated { name, args } => match self.resolve_templated(t, &inh, &c, name, args) {
                Ok((module, args)) => self.module_leaf(t, module, &args, &inh, &c, rescuable, shared, first).await,
                Err(r) => {
                    task::register(&self.host, t, &r);
                    self.finish(t, *r, &c, rescuable, true)
                }
            },
            TaskKind::Module { module, args } => self.module_leaf(t, *module, args, &inh, &c, rescuable, shared, first).await,
            _ => Flow::Continue,
        };
        self.gate.done();
        flow
    }

    /// A module named by a template: found and its arguments checked now. A false `when`
    /// skips it before the name matters.
    fn resolve_templated(
        &self,
        t: &Arc<Task>,
        inh: &Inherited,
        c: &Chain<'_>,
        name: &str,
        args: &Node,
    ) -> Result<(&'static dyn crate::modules::Module, Node), Box<HostResult>> {
        let scope = vars::task_scope(&self.run, &self.host, &self.ps, inh, Some(t));
        if t.loop_.is_none() {
            match task::first_false(&c.when(), &scope) {
                Ok(Some(cond)) => return Err(Box::new(task::skipped_result(&self.host.name, &cond))),
                Err(e) => return Err(Box::new(task::failed_result(&self.host.name, e))),
                Ok(None) => {}
            }
        }
        let rendered = template::render_value(&Value::String(name.to_string()), &scope)
            .map(|v| crate::pytext::to_text(&v))
            .map_err(|e| Box::new(task::failed_result(&self.host.name, e.message)))?;
        let found = crate::modules::find(&rendered).or_else(|| {
            let mut role_dirs: Vec<&std::path::Path> = t.role.iter().map(|r| r.path.as_path()).collect();
            role_dirs.extend(t.role.iter().flat_map(|r| r.parents.iter().map(|(_, p)| p.as_path())));
            let search = crate::modules::python::Search { playbook_dir: &self.run.playbook_dir, role_dirs };
            crate::modules::python::resolve(&rendered, &search)
        });
        let Some(module) = found else {
            return Err(Box::new(task::failed_result(
                &self.host.name,
                format!("couldn't resolve module/action '{rendered}'. This often indicates a misspelling, missing collection, or incorrect module path."),
            )));
        };
        crate::modules::args::validate(module, args).map_err(|d| Box::new(task::failed_result(&self.host.name, d.runtime_message())))?;
        Ok((module, args.clone()))
    }

    #[allow(clippy::too_many_arguments)]
    async fn module_leaf(
        self: &Arc<Self>,
        t: &Arc<Task>,
        module: &'static dyn crate::modules::Module,
        args: &Node,
        inh: &Inherited,
        c: &Chain<'_>,
        rescuable: bool,
        shared: super::gate::Shared,
        first: bool,
    ) -> Flow {
        let run_once = module.bypass_host_loop() || {
            let scope = vars::task_scope(&self.run, &self.host, &self.ps, inh, Some(t));
            c.get(|k| &k.run_once)
                .map(|v| template::render_value(v, &scope).map(|x| template::filters_bool(&x)).unwrap_or(false))
                .unwrap_or(false)
        };
        let r = if run_once && !first {
            // The first host of the group runs it; the others take its result.
            let mut rx = shared.subscribe();
            let got = rx.wait_for(Option::is_some).await.ok().and_then(|v| v.clone());
            let mut r =
                got.unwrap_or_else(|| task::failed_result(&self.host.name, "the run_once task did not finish on the first host".into()));
            r.host = self.host.name.clone();
            r
        } else {
            let _throttle = match self.throttle(t, c, inh) {
                Some(sem) => sem.acquire_owned().await.ok(),
                None => None,
            };
            let _permit = self.run.forks.acquire().await.ok();
            let started = std::time::Instant::now();
            let mut env = self.env(inh, c);
            env.ahead = self.ahead();
            let mut r = task::run_module_task(&env, t, module, args).await;
            r.duration = started.elapsed().as_secs_f64();
            if run_once {
                shared.send_replace(Some(r.clone()));
            }
            r
        };
        let is_leader = !run_once || first;
        task::register(&self.host, t, &r);
        self.notify(t, &r, inh);
        self.finish(t, r, c, rescuable, is_leader)
    }

    /// Carry out a meta task. The bool says whether the gate step was already closed.
    async fn meta(self: &Arc<Self>, t: &Arc<Task>, action: &Value, pos: &[u32], inh: &Inherited, c: &Chain<'_>) -> (Flow, bool) {
        let scope = vars::task_scope(&self.run, &self.host, &self.ps, inh, Some(t));
        match task::first_false(&c.when(), &scope) {
            Ok(Some(_)) => {
                let r = task::skipped_result(&self.host.name, &Value::Null);
                if matches!(action.as_str(), Some("end_host" | "end_play" | "end_batch")) {
                    self.run.reporter.host_result(&r, None);
                    self.run.count(&r);
                }
                return (Flow::Continue, false);
            }
            Err(e) => return (self.finish(t, task::failed_result(&self.host.name, e), c, false, true), false),
            Ok(None) => {}
        }
        let action = template::render_value(action, &scope).map(|v| crate::pytext::to_text(&v)).unwrap_or_default();
        match action.as_str() {
            "flush_handlers" => {
                // This step ends before the handlers take steps of their own.
                self.gate.done();
                (self.flush(pos.to_vec()).await, true)
            }
            "end_host" => (Flow::EndHost, false),
            "end_play" | "end_batch" => {
                self.gate.abort();
                (Flow::EndPlay, false)
            }
            "clear_facts" => {
                self.host.clear_facts();
                (Flow::Continue, false)
            }
            "clear_host_errors" => {
                self.host.failed.store(false, Ordering::Relaxed);
                (Flow::Continue, false)
            }
            "reset_connection" => {
                self.host.close();
                (Flow::Continue, false)
            }
            _ => (Flow::Continue, false),
        }
    }

    async fn include(self: &Arc<Self>, t: &Arc<Task>, pos: Vec<u32>, inh: Inherited, mut chain: Vec<KwRef>, rescuable: bool) -> Flow {
        if !self.selected(t, &chain) {
            return Flow::Continue;
        }
        if let Err(flow) = self.enter(t, pos.clone(), &chain).await {
            return flow;
        }
        let c = chain_of(&chain);
        let scope = vars::task_scope(&self.run, &self.host, &self.ps, &inh, Some(t));
        // Each entry: the tasks to run, their extra variables, what to print.
        let mut runs: Vec<IncludeRun> = Vec::new();
        let items: Vec<Option<Value>> = match &t.loop_ {
            Some(lp) => match task::loop_items(lp, &scope, t.module_name()) {
                Ok(items) => items.into_iter().map(Some).collect(),
                Err(e) => {
                    let flow = self.finish(t, task::failed_result(&self.host.name, e), &c, rescuable, true);
                    self.gate.done();
                    return flow;
                }
            },
            None => vec![None],
        };
        let names = match t.loop_.as_ref().map(|_| task::LoopNames::of(t, &scope)).transpose() {
            Ok(n) => n,
            Err(e) => {
                let flow = self.finish(t, task::failed_result(&self.host.name, e), &c, rescuable, true);
                self.gate.done();
                return flow;
            }
        };
        let whens = c.when();
        let mut skipped = 0;
        for (i, item) in items.iter().enumerate() {
            let mut vars = t.kw.vars.clone();
            if let (Some(it), Some(names)) = (item, &names) {
                vars.insert(names.item.clone(), it.clone());
                if let Some(iv) = &names.index {
                    vars.insert(iv.clone(), json!(i));
                }
            }
            let s = scope.with_layer(vars.clone());
            match task::first_false(&whens, &s) {
                Ok(Some(_)) => {
                    skipped += 1;
                    continue;
                }
                Err(e) => {
                    let flow = self.finish(t, task::failed_result(&self.host.name, e), &c, rescuable, true);
                    self.gate.done();
                    return flow;
                }
                Ok(None) => {}
            }
            let label = item.as_ref().map(|x| format!(" => (item={})", crate::pytext::py_str(x))).unwrap_or_default();
            match &t.kind {
                TaskKind::IncludeTasks { file, preloaded, base, deferred } => {
                    let tasks = match (preloaded, item, deferred) {
                        (_, None, Some(d)) => Err(d.runtime_message()),
                        (Some(p), None, _) => Ok((p.clone(), self.include_path(file, base, &s, t))),
                        _ => self.load_include(file, base, &s, t),
                    };
                    match tasks {
                        Ok((tasks, shown)) => runs.push((tasks, vars, format!("{shown}{label}"))),
                        Err(e) => {
                            let flow = self.finish(t, task::failed_result(&self.host.name, e), &c, rescuable, true);
                            self.gate.done();
                            return flow;
                        }
                    }
                }
                TaskKind::IncludeRole { deferred: Some(d), .. } => {
                    let flow = self.finish(t, task::failed_result(&self.host.name, d.runtime_message()), &c, rescuable, true);
                    self.gate.done();
                    return flow;
                }
                TaskKind::IncludeRole { name, tasks, .. } => runs.push((tasks.clone(), vars, format!("{name}{label}"))),
                _ => {}
            }
        }
        // Every item skipped, or a loop with no items: the include shows as skipped.
        if skipped == items.len() {
            let r = task::skipped_result(&self.host.name, whens.first().unwrap_or(&Value::Null));
            self.run.reporter.host_result(&r, None);
            self.run.count(&r);
        }
        for (_, _, shown) in &runs {
            self.run.reporter.included(shown, std::slice::from_ref(&self.host.name));
            self.run.count(&HostResult::new(&self.host.name, Status::Ok, Map::new()));
        }
        self.gate.done();
        // Included tasks do not inherit the include's own keywords, only those above it.
        chain.pop();
        for (k, (tasks, vars, _)) in runs.into_iter().enumerate() {
            let mut sub = pos.clone();
            sub.push(k as u32);
            let mut inh2 = inh.clone();
            if !vars.is_empty() {
                inh2.vars.push(Arc::new(vars));
            }
            let flow = self.walk_list(&tasks, sub, inh2, chain.clone(), rescuable).await;
            if flow != Flow::Continue {
                return flow;
            }
        }
        Flow::Continue
    }

    fn include_path(&self, file: &Value, base: &std::path::Path, scope: &Arc<template::Scope>, t: &Task) -> String {
        let name = template::render_value(file, scope).map(|v| crate::pytext::to_text(&v)).unwrap_or_default();
        self.find_include(&name, base, t).map(|p| p.display().to_string()).unwrap_or(name)
    }

    fn find_include(&self, name: &str, base: &std::path::Path, t: &Task) -> Option<std::path::PathBuf> {
        let mut cands = vec![base.join(name)];
        if let Some(r) = &t.role {
            cands.push(r.path.join("tasks").join(name));
        }
        cands.push(self.play.dir.join(name));
        cands.into_iter().find(|p| p.is_file())
    }

    /// Load an `include_tasks` file chosen at run time.
    fn load_include(
        &self,
        file: &Value,
        base: &std::path::Path,
        scope: &Arc<template::Scope>,
        t: &Task,
    ) -> Result<(Vec<Arc<Task>>, String), String> {
        let name = template::render_value(file, scope).map_err(|e| e.message)?;
        let name = crate::pytext::to_text(&name);
        let path = self.find_include(&name, base, t).ok_or_else(|| format!("Could not find or access '{name}'"))?;
        let mut ctx = crate::playbook::LoadCtx::new(&self.play.dir, self.play.load_env.clone());
        let tasks = crate::playbook::load_task_file(&path, &mut ctx, t.role.clone()).map_err(|d| d.runtime_message())?;
        Ok((tasks, path.display().to_string()))
    }

    /// Run the handlers this host notified, in the order they are defined.
    fn flush(self: &Arc<Self>, prefix: Vec<u32>) -> BoxFlow<'_> {
        Box::pin(async move {
            if self.host.failed.load(Ordering::Relaxed) && !self.play.force_handlers && !self.run.opts.force_handlers {
                return Flow::Continue;
            }
            for _pass in 0..8 {
                let mut ran = false;
                for (j, h) in self.play.handlers.iter().enumerate() {
                    let take = self.notified.lock().map(|mut n| n.shift_remove(&j)).unwrap_or(false);
                    if !take {
                        continue;
                    }
                    ran = true;
                    let mut pos = prefix.clone();
                    pos.push(j as u32);
                    self.in_handler.store(true, Ordering::Relaxed);
                    let chain = vec![KwRef::Play(self.play.clone())];
                    let vars = self.handler_vars.lock().ok().and_then(|hv| hv.get(&j).cloned()).unwrap_or_default();
                    let inh = Inherited { vars, role: h.role.clone() };
                    let flow = self.walk_task(h, pos, inh, chain, false).await;
                    self.in_handler.store(false, Ordering::Relaxed);
                    if flow != Flow::Continue {
                        return flow;
                    }
                }
                if !ran {
                    break;
                }
            }
            Flow::Continue
        })
    }

    async fn walk_play(self: &Arc<Self>, gather: Option<Arc<Task>>) -> Flow {
        let chain = vec![KwRef::Play(self.play.clone())];
        let inh = Inherited::default();
        if let Some(g) = gather {
            let flow = self.leaf(&g, vec![0], inh.clone(), chain.clone(), false).await;
            if flow != Flow::Continue {
                return flow;
            }
        }
        let sections: [(&[Arc<Task>], u32); 3] = [(&self.play.pre_tasks, 1), (&self.play.tasks, 3), (&self.play.post_tasks, 5)];
        let graph = self.play.strategy.as_deref() == Some("graph");
        for (tasks, n) in sections {
            let flow = if graph {
                match crate::graph::section(tasks, true) {
                    Ok(g) => self.walk_graph(tasks, vec![n], inh.clone(), chain.clone(), g.deps()).await,
                    Err(_) => Flow::Failed,
                }
            } else {
                self.walk_list(tasks, vec![n], inh.clone(), chain.clone(), false).await
            };
            let flush = self.flush(vec![n + 1]).await;
            if flow != Flow::Continue {
                return flow;
            }
            if flush != Flow::Continue {
                return flush;
            }
        }
        Flow::Continue
    }
}

fn gather_task(play: &Play) -> Arc<Task> {
    let loc = play.loc.clone();
    let module = crate::modules::find("setup").expect("setup is registered");
    let args = Node::from_value(&Value::Object(play.gather_args.clone()), &loc);
    let mut t = Task::new(TaskKind::Module { module, args }, loc, play.dir.clone());
    t.name = Some("Gathering Facts".into());
    t.kw = Kw { tags: vec!["always".into()], ..Default::default() };
    Arc::new(t)
}

/// Split hosts into `serial` batches: a number, a percentage, or a list of them.
pub fn batches(hosts: &[String], serial: Option<&Value>) -> Vec<Vec<String>> {
    let Some(serial) = serial else {
        return vec![hosts.to_vec()];
    };
    let sizes: Vec<Value> = match serial {
        Value::Array(a) => a.clone(),
        v => vec![v.clone()],
    };
    let n = hosts.len();
    let size_of = |v: &Value| -> usize {
        let s = match v {
            Value::Number(x) => x.as_f64().unwrap_or(0.0) as usize,
            Value::String(s) if s.ends_with('%') => {
                let pct: f64 = s.trim_end_matches('%').trim().parse().unwrap_or(100.0);
                ((n as f64) * pct / 100.0) as usize
            }
            Value::String(s) => s.trim().parse().unwrap_or(n),
            _ => n,
        };
        if s == 0 {
            if n > 0 {
                1
            } else {
                0
            }
        } else {
            s
        }
    };
    let mut out = Vec::new();
    let mut i = 0;
    let mut k = 0;
    while i < n {
        let size = size_of(sizes.get(k).or(sizes.last()).unwrap_or(&Value::from(n))).max(1);
        out.push(hosts[i..(i + size).min(n)].to_vec());
        i += size;
        k += 1;
    }
    out
}

fn play_hosts(run: &Arc<Run>, play: &Play) -> Result<Vec<String>, Diagnostic> {
    let scope = template::Scope::new(vec![Arc::new(run.opts.extra_vars.clone())], None);
    let pattern = match template::render_value(&play.hosts, &scope) {
        Ok(Value::Array(a)) => a.iter().map(crate::pytext::to_text).collect::<Vec<_>>().join(","),
        Ok(v) => crate::pytext::to_text(&v),
        Err(e) => return Err(Diagnostic::new(format!("hosts: {}", e.message)).at(play.loc.clone(), "in this play")),
    };
    let mut hosts = run.inv().select(&pattern)?;
    if let Some(limit) = &run.opts.limit {
        let allowed: std::collections::HashSet<String> = limit_hosts(run, limit)?.into_iter().collect();
        hosts.retain(|h| allowed.contains(h));
    }
    if let Some(shard) = run.opts.shard {
        hosts.retain(|h| shard.contains(h));
    }
    hosts.retain(|h| run.host(h).is_some_and(|s| !s.is_down()));
    match play.order.as_deref() {
        Some("sorted") => hosts.sort(),
        Some("reverse_sorted") => {
            hosts.sort();
            hosts.reverse()
        }
        Some("reverse_inventory") => hosts.reverse(),
        Some("shuffle") => {
            let mut s =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos() as u64).unwrap_or(1) | 1;
            for i in (1..hosts.len()).rev() {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                hosts.swap(i, (s % (i as u64 + 1)) as usize);
            }
        }
        _ => {}
    }
    Ok(hosts)
}

/// `--limit PATTERN` or `--limit @file.retry` (one host per line).
fn limit_hosts(run: &Run, limit: &str) -> Result<Vec<String>, Diagnostic> {
    if let Some(file) = limit.strip_prefix('@') {
        let text = std::fs::read_to_string(file).map_err(|e| Diagnostic::new(format!("cannot read limit file {file}: {e}")))?;
        return Ok(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect());
    }
    run.inv().select(limit)
}

/// A play-level value (its name, `serial`) rendered with the play's vars and the extra vars,
/// as Ansible renders them before any host is involved; left as written if that fails.
fn play_value(run: &Run, play: &Play, v: &Value) -> Value {
    let scope = template::Scope::new(vec![Arc::new(run.opts.extra_vars.clone()), Arc::new(play.vars.clone())], None);
    template::render_value(v, &scope).unwrap_or_else(|_| v.clone())
}

pub async fn run_play(run: &Arc<Run>, play: &Arc<Play>) -> Result<PlayEnd, Diagnostic> {
    let hosts = play_hosts(run, play)?;
    let name = crate::pytext::to_text(&play_value(run, play, &Value::String(play.name.clone())));
    run.reporter.play_start(&name, &crate::diag::relative(&play.loc.file), play.named);
    run.reporter.progress_play(&name, hosts.len(), play.task_count());
    if hosts.is_empty() {
        run.reporter.no_hosts();
        return Ok(PlayEnd::Continue);
    }
    let groups = vars::groups_map(run);
    let abort_run = Arc::new(AtomicBool::new(false));
    let serial = play.serial.as_ref().map(|s| play_value(run, play, s));
    for batch in batches(&hosts, serial.as_ref()) {
        // A host is in the recap once it takes part (hosts of batches never reached are not).
        for h in &batch {
            run.touch_stats(h);
        }
        // `--step` takes the tasks one at a time, as linear does.
        let linear = run.opts.step || !matches!(play.strategy.as_deref(), Some("free" | "graph"));
        let states: Vec<Arc<HostState>> = batch.iter().filter_map(|h| run.host(h)).collect();
        let pct = play.max_fail_percentage;
        let check_states = states.clone();
        let total = states.len().max(1) as f64;
        let check: Box<dyn Fn() -> bool + Send + Sync> = Box::new(move || match pct {
            Some(p) => {
                let failed = check_states.iter().filter(|s| s.is_down()).count() as f64;
                failed * 100.0 / total > p
            }
            None => false,
        });
        let gate =
            Arc::new(Gate::new(states.len(), linear, run.reporter.clone(), check).stepping(run.opts.step.then(|| run.stepping.clone())));
        let gather = match &play.gather_facts {
            Some(v) => {
                let scope = template::Scope::new(vec![Arc::new(run.opts.extra_vars.clone())], None);
                template::render_value(v, &scope).map(|x| template::filters_bool(&x)).unwrap_or(true)
            }
            None => run.opts.gather_default,
        };
        let gather = gather.then(|| gather_task(play));
        let mut set = tokio::task::JoinSet::new();
        let shared = vars::play_shared(run, play, &hosts, &batch, &groups);
        for (order, host) in states.iter().enumerate() {
            let base_ps = vars::play_scope(run, &shared, &host.name, Map::new());
            let vars_files = if play.vars_files.is_empty() {
                Map::new()
            } else {
                let inh = Inherited::default();
                let scope = vars::task_scope(run, host, &base_ps, &inh, None);
                vars::load_vars_files(play, &scope)?
            };
            let ps = if play.vars_files.is_empty() { base_ps } else { vars::play_scope(run, &shared, &host.name, vars_files) };
            let w = Arc::new(Walker {
                run: run.clone(),
                play: play.clone(),
                host: host.clone(),
                order,
                ps,
                gate: gate.clone(),
                notified: Mutex::new(IndexSet::new()),
                handler_vars: Mutex::new(HashMap::new()),
                in_handler: AtomicBool::new(false),
                last_failure: Mutex::new(None),
                abort_run: abort_run.clone(),
                next: Mutex::new(None),
                prefetched: Mutex::new(HashMap::new()),
            });
            let g = gather.clone();
            set.spawn(async move {
                let flow = w.walk_play(g).await;
                w.gate.leave();
                w.run.reporter.progress_host_done(&w.host.name);
                flow
            });
        }
        while set.join_next().await.is_some() {}
        // Ansible's linear strategy says `NO MORE HOSTS LEFT` only when max_fail_percentage
        // ends the play, and then twice (once for the percentage, once for the hosts left);
        // any_errors_fatal and hosts that all failed end it quietly.
        if abort_run.load(Ordering::Relaxed) {
            return Ok(PlayEnd::Stop);
        }
        let all_down = states.iter().all(|s| s.is_down());
        if gate.is_aborted() && pct.is_some() {
            for _ in 0..2 {
                run.reporter.message("\nNO MORE HOSTS LEFT *************************************************************");
            }
            return Ok(PlayEnd::Stop);
        }
        if all_down {
            return Ok(PlayEnd::Stop);
        }
    }
    Ok(PlayEnd::Continue)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_selection() {
        let t = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(tags_selected(&t(&[]), &[], &[]));
        assert!(!tags_selected(&t(&["never"]), &[], &[]));
        assert!(tags_selected(&t(&["always"]), &t(&["x"]), &[]));
        assert!(tags_selected(&t(&["x"]), &t(&["x"]), &[]));
        assert!(!tags_selected(&t(&["y"]), &t(&["x"]), &[]));
        assert!(!tags_selected(&t(&["x"]), &[], &t(&["x"])));
        assert!(tags_selected(&t(&[]), &t(&["untagged"]), &[]));
    }

    #[test]
    fn serial_batches() {
        let hosts: Vec<String> = (1..=10).map(|i| format!("h{i}")).collect();
        let b = batches(&hosts, Some(&json!([1, "50%"])));
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![1, 5, 4]);
        assert_eq!(batches(&hosts, Some(&json!(3))).len(), 4);
    }
}
