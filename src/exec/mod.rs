//! The executor: runs plays on hosts. All concurrency lives here.
//!
//! Each host walks the play's task tree in its own tokio task; a [`gate::Gate`] decides when a
//! host may run its next task. Under `linear` (the default) it keeps Ansible's order: a task
//! starts when every host still in the play has reached it. Forks bound how many hosts run a
//! task at once. Results go to the report layer as they arrive.

pub mod gate;
mod host;
mod play;
pub mod shard;
mod task;
mod vars;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::inventory::Inventory;
use crate::playbook::Playbook;
use crate::report::event::{HostResult, Stats};
use crate::report::Reporter;

pub use host::HostState;
pub use play::tags_selected;

/// What the command line asks of a run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    pub check: bool,
    /// `--force-handlers`: every play as if it said `force_handlers: true`.
    pub force_handlers: bool,
    /// `--step`: ask on the terminal before each task.
    pub step: bool,
    /// `--shard K/N`: only the hosts of this slice of the inventory.
    pub shard: Option<shard::Shard>,
    pub diff: bool,
    /// Diffs are computed (not printed) for the HTML report.
    pub report: bool,
    pub forks: usize,
    pub verbosity: u8,
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
    pub limit: Option<String>,
    pub extra_vars: Map<String, Value>,
    pub become_: bool,
    pub become_user: Option<String>,
    pub become_method: Option<String>,
    pub become_password: Option<String>,
    pub remote_user: Option<String>,
    pub start_at_task: Option<String>,
    pub connection: Option<String>,
    pub private_key: Option<String>,
    pub ssh_password: Option<String>,
    pub key_passphrase: Option<String>,
    pub timeout: Option<u64>,
    pub ssh_args: Option<String>,
    /// Ansible's `host_key_checking` (ANSIBLE_HOST_KEY_CHECKING).
    pub host_key_checking: Option<bool>,
    /// Exit with [`exit::CHANGED`] when anything changed (with --check: would change).
    pub fail_on_change: bool,
    /// Whether plays gather facts unless they say (ansible.cfg `gathering`: not `explicit`).
    pub gather_default: bool,
}

/// Exit codes, as ansible-playbook's.
pub mod exit {
    pub const OK: i32 = 0;
    pub const ERROR: i32 = 1;
    pub const FAILED: i32 = 2;
    pub const UNREACHABLE: i32 = 4;
    pub const PARSE: i32 = 4;
    pub const INTERRUPTED: i32 = 99;
    /// `--fail-on-change`: the run would change (or changed) something. ansible-playbook does
    /// not use this code.
    pub const CHANGED: i32 = 10;

    /// A finished run's code from its recap: failures first, then unreachable hosts, then (with
    /// `--fail-on-change`) changes.
    pub fn of_recap(stats: &indexmap::IndexMap<String, crate::report::event::Stats>, fail_on_change: bool) -> i32 {
        if stats.values().any(|s| s.failed > 0) {
            FAILED
        } else if stats.values().any(|s| s.unreachable > 0) {
            UNREACHABLE
        } else if fail_on_change && stats.values().any(|s| s.changed > 0) {
            CHANGED
        } else {
            OK
        }
    }
}

/// Shared state of one run of one or more playbooks.
pub struct Run {
    /// The inventory; `add_host` and `group_by` replace it while the run goes on (readers
    /// keep the snapshot they took).
    inv: std::sync::RwLock<Arc<Inventory>>,
    /// How often the inventory changed during the run (0: never), so that per-host group lists
    /// computed once per play are known to be stale.
    pub inv_gen: std::sync::atomic::AtomicU64,
    groups_cache: Mutex<Option<(u64, Arc<Value>)>>,
    pub opts: Arc<RunOptions>,
    pub reporter: Arc<Reporter>,
    hosts: std::sync::RwLock<IndexMap<String, Arc<HostState>>>,
    pub stats: Mutex<IndexMap<String, Stats>>,
    pub forks: Arc<tokio::sync::Semaphore>,
    pub playbook_dir: PathBuf,
    /// Set once `--start-at-task` has found its task.
    pub started: std::sync::atomic::AtomicBool,
    /// `--step` still asks (until it is told to continue).
    pub stepping: Arc<std::sync::atomic::AtomicBool>,
    /// Per task: whether it reads other hosts' variables (so hosts must reach it together).
    pub sync_cache: Mutex<std::collections::HashMap<usize, bool>>,
    /// Per task with `throttle`: how many hosts may run it at once.
    pub throttles: Mutex<std::collections::HashMap<usize, Arc<tokio::sync::Semaphore>>>,
}

impl Run {
    pub fn new(inv: Inventory, opts: RunOptions, reporter: Reporter, playbook_dir: PathBuf) -> Result<Arc<Run>, crate::diag::Diagnostic> {
        let inv = Arc::new(inv);
        let mut hosts: IndexMap<String, Arc<HostState>> = IndexMap::new();
        for h in inv.hosts.keys() {
            let vars = inv.host_vars(h)?;
            hosts.insert(h.clone(), Arc::new(HostState::new(h, vars)));
        }
        let forks = opts.forks.max(1);
        let started = opts.start_at_task.is_none();
        let step = opts.step;
        Ok(Arc::new(Run {
            inv: std::sync::RwLock::new(inv),
            inv_gen: std::sync::atomic::AtomicU64::new(0),
            groups_cache: Mutex::new(None),
            opts: Arc::new(opts),
            reporter: Arc::new(reporter),
            hosts: std::sync::RwLock::new(hosts),
            stats: Mutex::new(IndexMap::new()),
            forks: Arc::new(tokio::sync::Semaphore::new(forks)),
            playbook_dir,
            started: std::sync::atomic::AtomicBool::new(started),
            stepping: Arc::new(std::sync::atomic::AtomicBool::new(step)),
            sync_cache: Mutex::new(std::collections::HashMap::new()),
            throttles: Mutex::new(std::collections::HashMap::new()),
        }))
    }

    /// `groups` as it is now (made anew only after the inventory changed).
    pub fn groups_now(&self) -> Value {
        let gen = self.inv_gen.load(std::sync::atomic::Ordering::Relaxed);
        if let Ok(c) = self.groups_cache.lock() {
            if let Some((g, v)) = &*c {
                if *g == gen {
                    return (**v).clone();
                }
            }
        }
        let v = vars::groups_map(self);
        if let Ok(mut c) = self.groups_cache.lock() {
            *c = Some((gen, Arc::new(v.clone())));
        }
        v
    }

    /// The inventory as it is now.
    pub fn inv(&self) -> Arc<Inventory> {
        self.inv.read().map(|i| i.clone()).unwrap_or_default()
    }

    pub fn host(&self, name: &str) -> Option<Arc<HostState>> {
        self.hosts.read().ok()?.get(name).cloned()
    }

    pub fn host_names(&self) -> Vec<String> {
        self.hosts.read().map(|h| h.keys().cloned().collect()).unwrap_or_default()
    }

    fn all_hosts(&self) -> Vec<Arc<HostState>> {
        self.hosts.read().map(|h| h.values().cloned().collect()).unwrap_or_default()
    }

    /// Change the inventory (add_host, group_by); hosts it touches get their inventory
    /// variables anew (group_vars of a new group apply). Returns what `change` returned.
    pub fn change_inventory(
        &self,
        touched: &[String],
        change: impl FnOnce(&mut Inventory) -> bool,
    ) -> Result<bool, crate::diag::Diagnostic> {
        let Ok(mut guard) = self.inv.write() else { return Ok(false) };
        let mut inv = (**guard).clone();
        if !change(&mut inv) {
            return Ok(false);
        }
        let inv = Arc::new(inv);
        *guard = inv.clone();
        drop(guard);
        self.inv_gen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let Ok(mut hosts) = self.hosts.write() else { return Ok(true) };
        for h in touched {
            let vars = inv.host_vars(h)?;
            match hosts.get(h) {
                Some(state) => state.set_inventory(vars),
                None => {
                    hosts.insert(h.clone(), Arc::new(HostState::new(h, vars)));
                }
            }
        }
        Ok(true)
    }

    pub fn count(&self, r: &HostResult) {
        if let Ok(mut s) = self.stats.lock() {
            s.entry(r.host.clone()).or_default().count(r);
        }
    }

    pub fn touch_stats(&self, host: &str) {
        if let Ok(mut s) = self.stats.lock() {
            s.entry(host.to_string()).or_default();
        }
    }

    /// Run every play of a playbook. Returns ansible-playbook's exit code.
    pub async fn run_playbook(self: &Arc<Self>, pb: &Playbook) -> i32 {
        // Each play waits for the one before it, or for the plays it `needs:` (so plays on
        // different hosts can run at the same time).
        let deps: Vec<Vec<usize>> = pb
            .plays
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if p.needs_declared {
                    p.needs.iter().filter_map(|n| pb.plays.iter().position(|x| &x.name == n)).collect()
                } else if i > 0 {
                    vec![i - 1]
                } else {
                    vec![]
                }
            })
            .collect();
        let mut done = vec![false; pb.plays.len()];
        let mut started = vec![false; pb.plays.len()];
        let mut set = tokio::task::JoinSet::new();
        let mut stop = false;
        loop {
            if !stop {
                for (i, p) in pb.plays.iter().enumerate() {
                    if !started[i] && deps[i].iter().all(|d| done[*d]) {
                        started[i] = true;
                        let (run, p) = (self.clone(), p.clone());
                        set.spawn(async move { (i, play::run_play(&run, &p).await) });
                    }
                }
            }
            let Some(r) = set.join_next().await else { break };
            let (i, res) = match r {
                Ok(x) => x,
                Err(_) => {
                    stop = true;
                    continue;
                }
            };
            done[i] = true;
            match res {
                Ok(play::PlayEnd::Continue) => {}
                Ok(play::PlayEnd::Stop) => stop = true,
                Err(d) => {
                    self.reporter.message(&d.render());
                    set.abort_all();
                    self.recap();
                    return exit::ERROR;
                }
            }
        }
        self.recap();
        // Close the connections side by side: each may wait on its server's reply.
        let mut closing = tokio::task::JoinSet::new();
        for h in self.all_hosts() {
            closing.spawn(async move { h.disconnect().await });
        }
        closing.join_all().await;
        self.exit_code()
    }

    fn recap(&self) {
        let mut stats = self.stats.lock().map(|s| s.clone()).unwrap_or_default();
        stats.sort_keys();
        self.reporter.recap(&stats);
        self.reporter.finish(self.exit_code());
    }

    pub fn exit_code(&self) -> i32 {
        let stats = self.stats.lock().map(|s| s.clone()).unwrap_or_default();
        exit::of_recap(&stats, self.opts.fail_on_change)
    }
}
