//! Modules: what a task does. One file per module, registered with one line in the `modules!`
//! list below, which makes [`MODULES`].
//!
//! A module is a file `NAME.rs` with a type that implements [`Module`], and its documentation
//! `NAME.md` beside it (a description, then `## Example` with YAML tasks, which a test checks).
//! It declares its arguments ([`Arg`]), so a playbook is checked before it runs (unknown
//! arguments get a did-you-mean, literal values of the wrong type are refused), and the
//! collection it answers to.
//!
//! At run time a module works in two steps. [`Module::plan`] asks the host for its state (one
//! round trip where it can) and decides, changing nothing: it returns a [`Plan`], the result
//! to report and the [`Change`]s still to make. [`Module::apply`] makes them. The executor
//! alone decides what check mode and `--diff` mean (see [`execute`]): in check mode the plan
//! is the result, and diffs are dropped unless asked for. Modules never print: they return an
//! [`Outcome`].

pub mod args;
pub mod common;

pub mod python;
#[cfg(test)]
pub mod testing;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::connection::{Become, ConnError, Connection, ExecOutput, ExecRequest};
use crate::template::Scope;

pub use args::{Arg, Args, Kind};

/// Registers the modules: `file::Type` declares the file `file.rs` (with `file.md` beside it) and
/// puts the type in [`MODULES`]. Adding a module is its file and one line here.
macro_rules! modules {
    ($($file:ident :: $ty:ident),* $(,)?) => {
        $(pub mod $file;)*
        /// Every module steward knows, by its short name.
        pub static MODULES: &[&dyn Module] = &[$(&$file::$ty),*];
    };
}

modules! {
    add_host::AddHost,
    apk::Apk,
    apt::Apt,
    apt_repository::AptRepository,
    archive::Archive,
    assemble::Assemble,
    assert::Assert,
    async_status::AsyncStatus,
    authorized_key::AuthorizedKey,
    blockinfile::BlockInFile,
    command::Command,
    copy::Copy,
    cron::Cron,
    debug::Debug,
    dnf::Dnf,
    fail::Fail,
    fetch::Fetch,
    file::File,
    find::Find,
    gather_facts::GatherFacts,
    get_url::GetUrl,
    getent::Getent,
    group::Group,
    group_by::GroupBy,
    hostname::Hostname,
    include_vars::IncludeVars,
    known_hosts::KnownHosts,
    lineinfile::LineInFile,
    locale_gen::LocaleGen,
    meta::Meta,
    mount::Mount,
    package::Package,
    pause::Pause,
    ping::Ping,
    raw::Raw,
    reboot::Reboot,
    replace::Replace,
    script::Script,
    service::Service,
    service_facts::ServiceFacts,
    set_fact::SetFact,
    setup::Setup,
    shell::Shell,
    slurp::Slurp,
    stat::Stat,
    synchronize::Synchronize,
    sysctl::Sysctl,
    systemd::Systemd,
    template::Template,
    tempfile::Tempfile,
    timezone::Timezone,
    ufw::Ufw,
    unarchive::Unarchive,
    uri::Uri,
    user::User,
    wait_for::WaitFor,
    wait_for_connection::WaitForConnection,
}

/// Find a module by its short name, an alias, or its fully qualified name: under
/// `ansible.builtin` or `ansible.legacy` every module (ansible-core's routing also sends the
/// builtin names of modules that moved to a collection there), under another collection the
/// modules that declare it. A collection module steward does not implement is not found, so
/// the playbook check names it.
pub fn find(name: &str) -> Option<&'static dyn Module> {
    let (ns, short) = match name.rsplit_once('.') {
        Some((ns, short)) => (Some(ns), short),
        None => (None, name),
    };
    MODULES.iter().copied().find(|m| {
        (m.name() == short || m.aliases().contains(&short))
            && match ns {
                None | Some("ansible.builtin" | "ansible.legacy") => true,
                Some(ns) => m.collection() == ns,
            }
    })
}

/// `copy` for `copy`, `ansible.builtin.copy` and `ansible.legacy.copy`; other names as they are.
pub fn builtin_short(name: &str) -> &str {
    name.strip_prefix("ansible.builtin.").or_else(|| name.strip_prefix("ansible.legacy.")).unwrap_or(name)
}

pub fn names() -> impl Iterator<Item = &'static str> {
    MODULES.iter().map(|m| m.name())
}

/// How a module takes a bare string (`command: ls -l`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FreeForm {
    /// No free-form text: `k=v` pairs only.
    No,
    /// Free text goes to `_raw_params`; only the module's own `k=v` options are split out.
    Raw,
    /// The whole string is the command, nothing split out (`raw`).
    Whole,
    /// A free string names this argument (`include_vars: file.yml`).
    Named(&'static str),
}

#[async_trait]
pub trait Module: Send + Sync {
    fn name(&self) -> &'static str;
    /// The collection whose fully qualified name also finds the module (`ansible.posix` for
    /// `ansible.posix.mount`); `ansible.builtin.NAME` and `ansible.legacy.NAME` always do.
    fn collection(&self) -> &'static str {
        "ansible.builtin"
    }
    /// Other names Ansible's routing sends to this module (`yum` is `dnf`).
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }
    /// Its Markdown documentation (`include_str!("NAME.md")`): what it does, then examples
    /// under `## Example`, for `steward doc`.
    fn doc(&self) -> &'static str;
    fn args(&self) -> &'static [Arg];
    fn free_form(&self) -> FreeForm {
        FreeForm::No
    }
    /// Whether the module also takes owner, group and mode ([`args::FILE_ATTRS`]).
    fn file_attrs(&self) -> bool {
        false
    }
    /// Modules such as `set_fact` take any argument name.
    fn any_args(&self) -> bool {
        false
    }
    /// Whether the module can predict its change in check mode; one that cannot is skipped
    /// there, as Ansible skips a module without `supports_check_mode`.
    fn supports_check_mode(&self) -> bool {
        true
    }
    /// Whether `async:` may run it in the background (Ansible's action plugins that copy files
    /// or work on the controller refuse it).
    fn supports_async(&self) -> bool {
        !self.controller_only()
    }
    /// Runs once per task for all the hosts of the play (the first host's), as Ansible's
    /// add_host does, not once per host.
    fn bypass_host_loop(&self) -> bool {
        false
    }
    /// Modules that run on the controller only and need no connection (debug, set_fact, ...).
    fn controller_only(&self) -> bool {
        false
    }
    /// The probe [`TaskCtx::probe`] will first be asked for with these arguments, when it
    /// is known without asking the host, so an earlier task's batch can answer it
    /// ([`crate::connection::probes`]). `diff`: the run shows diffs.
    fn first_probe(&self, _args: &Args, _diff: bool) -> Option<ProbeKey> {
        None
    }
    /// Ask the host and decide, changing nothing on it: the result to report and the changes
    /// still to make (none when the host is already as asked). In check mode the executor
    /// reports this plan as the result, so `outcome.changed` is the prediction.
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError>;
    /// Make the planned changes and return the result. The executor calls it only outside
    /// check mode and only when the plan holds changes. The default carries out
    /// [`Change::Sh`] and [`Change::Write`] in order and reports the plan's outcome; a module
    /// with [`Change::Own`] steps, or whose result comes from doing the work (a command's
    /// output), implements its own.
    async fn apply(&self, ctx: &TaskCtx, args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        let _ = args;
        plan.apply_all(ctx).await
    }
}

/// What a module decided for one host before anything on it changed.
#[derive(Default)]
pub struct Plan {
    /// The result to report: as it stands in check mode; `apply` may add to it (or replace it
    /// when the work itself gives the result).
    pub outcome: Outcome,
    /// What is still to do on the host, in order.
    pub changes: Vec<Change>,
}

/// One step of a [`Plan`].
pub enum Change {
    /// A shell script, run with the task's become and environment; a non-zero exit fails the
    /// task with `failure` and the script's stderr.
    Sh { script: String, failure: String },
    /// A file's new content ([`common::Write`]: backup, validate, temporary name, rename).
    Write(Box<common::Write>),
    /// Work only the module itself knows how to do, carried out by its own `apply`.
    Own(Box<dyn std::any::Any + Send + Sync>),
}

impl Change {
    pub fn sh(script: impl Into<String>, failure: impl Into<String>) -> Change {
        Change::Sh { script: script.into(), failure: failure.into() }
    }
    pub fn own<T: std::any::Any + Send + Sync>(step: T) -> Change {
        Change::Own(Box::new(step))
    }
}

impl Plan {
    /// Nothing to change: the outcome is the whole result.
    pub fn done(outcome: Outcome) -> Plan {
        Plan { outcome, changes: Vec::new() }
    }
    /// A change that makes the result changed (the usual case).
    pub fn change(&mut self, c: Change) {
        self.outcome.changed = true;
        self.changes.push(c);
    }
    /// The module's own steps of type `T`, in order.
    pub fn own<T: 'static>(&self) -> impl Iterator<Item = &T> {
        self.changes.iter().filter_map(|c| match c {
            Change::Own(b) => b.downcast_ref::<T>(),
            _ => None,
        })
    }
    /// Carry out the [`Change::Sh`] and [`Change::Write`] steps in order; the outcome is the
    /// plan's, with what the writes report (a backup's name). An [`Change::Own`] step here is
    /// a module that forgot its `apply`.
    pub async fn apply_all(self, ctx: &TaskCtx) -> Result<Outcome, ModError> {
        let mut out = self.outcome;
        for c in self.changes {
            match c {
                Change::Sh { script, failure } => {
                    ctx.sh(script).await?.ok_or_fail(&failure)?;
                }
                Change::Write(w) => {
                    w.apply(ctx, &mut out).await?;
                }
                Change::Own(_) => return fail("internal error: a module step without the module's apply"),
            }
        }
        Ok(out)
    }
}

/// Run a module on one host as the executor does: plan; outside check mode, apply what was
/// planned; the diffs only when `--diff` (or the task's `diff:`) asks for them. The one place
/// check mode and diff mode are decided for every module.
pub async fn execute(m: &dyn Module, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
    let plan = m.plan(ctx, args).await?;
    let mut out = if ctx.check || plan.changes.is_empty() { plan.outcome } else { m.apply(ctx, args, plan).await? };
    if !ctx.diff {
        out.diffs.clear();
        out.diff_result = None;
    }
    Ok(out)
}

/// The headings of a module's Markdown documentation after its description.
const DOC_SECTIONS: [&str; 2] = ["\n## Returns", "\n## Example"];

/// The text under one of [`DOC_SECTIONS`], to the next one.
fn doc_section<'a>(doc: &'a str, heading: &str) -> Option<&'a str> {
    let body = &doc[doc.find(heading)? + heading.len()..];
    // The rest of the heading's line (`## Examples`) is not part of the text.
    let body = body.split_once('\n').map_or("", |(_, b)| b);
    let end = DOC_SECTIONS.iter().filter_map(|h| body.find(h)).min().unwrap_or(body.len());
    Some(&body[..end])
}

/// A module's Markdown documentation split into its description and its YAML examples.
pub fn doc_parts(doc: &str) -> (&str, Vec<&str>) {
    let desc = &doc[..DOC_SECTIONS.iter().filter_map(|h| doc.find(h)).min().unwrap_or(doc.len())];
    let mut examples = Vec::new();
    let mut rest = doc_section(doc, "\n## Example").unwrap_or("");
    while let Some(start) = rest.find("```yaml\n") {
        let body = &rest[start + 8..];
        let end = body.find("\n```").unwrap_or(body.len());
        examples.push(&body[..end]);
        rest = &body[end..];
        if rest.len() > 4 {
            rest = &rest[4..];
        } else {
            break;
        }
    }
    (desc.trim_end(), examples)
}

/// A module's `## Returns`: what its result holds besides `changed`, `failed` and `msg` (and
/// `diff` with `--diff`), one [`return_item`] a line, or one sentence when nothing.
pub fn doc_returns(doc: &str) -> Option<&str> {
    doc_section(doc, "\n## Returns").map(str::trim).filter(|s| !s.is_empty())
}

/// A `` - `key`: meaning `` line of a module's `## Returns`, or `` - `a`, `b`: meaning `` for
/// keys that share a meaning: the keys and the meaning.
pub fn return_item(line: &str) -> Option<(Vec<&str>, &str)> {
    let mut rest = line.trim().strip_prefix("- ")?;
    let mut keys = Vec::new();
    loop {
        let (key, after) = rest.strip_prefix('`')?.split_once('`')?;
        keys.push(key);
        match after.strip_prefix(", ") {
            Some(more) => rest = more,
            None => return Some((keys, after.strip_prefix(": ")?.trim())),
        }
    }
}

pub use crate::report::event::FileDiff;

/// What a module reports back.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub changed: bool,
    pub failed: bool,
    pub skipped: bool,
    pub msg: Option<String>,
    /// Return values (rc, stdout, path, stat, ...), registered with the result.
    pub data: Map<String, Value>,
    pub diffs: Vec<FileDiff>,
    /// The result's `diff` when a module returns it in a form of its own (file's mapping of
    /// path and state); like `diffs`, kept only in diff mode.
    pub diff_result: Option<Value>,
    /// Facts to set on the host (`set_fact`, `setup`); `include_vars` uses `include_vars`.
    pub facts: Option<Map<String, Value>>,
    pub include_vars: Option<Map<String, Value>>,
    pub cacheable: bool,
    pub warnings: Vec<String>,
    /// Where a failure is, when that is more precise than the task (a line of a template file).
    pub origin: Option<crate::diag::Loc>,
}

impl Outcome {
    pub fn ok() -> Outcome {
        Outcome::default()
    }
    pub fn changed(changed: bool) -> Outcome {
        Outcome { changed, ..Default::default() }
    }
    pub fn failed(msg: impl Into<String>) -> Outcome {
        Outcome { failed: true, msg: Some(msg.into()), ..Default::default() }
    }
    pub fn with(mut self, k: &str, v: impl Into<Value>) -> Outcome {
        self.data.insert(k.to_string(), v.into());
        self
    }
    pub fn msg(mut self, m: impl Into<String>) -> Outcome {
        self.msg = Some(m.into());
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModError {
    /// The module failed; the task fails on this host with this message.
    #[error("{0}")]
    Fail(String),
    /// The host could not be reached.
    #[error("{0}")]
    Unreachable(String),
}

impl From<ConnError> for ModError {
    fn from(e: ConnError) -> ModError {
        match e {
            ConnError::Unreachable(m) => ModError::Unreachable(m),
            ConnError::Become(m) | ConnError::Io(m) => ModError::Fail(m),
        }
    }
}

pub fn fail<T>(msg: impl Into<String>) -> Result<T, ModError> {
    Err(ModError::Fail(msg.into()))
}

/// The check most commands a module runs need: a non-zero exit fails the task with
/// `what: STDERR`.
pub trait ExecCheck: Sized {
    fn ok_or_fail(self, what: &str) -> Result<ExecOutput, ModError>;
}

impl ExecCheck for ExecOutput {
    fn ok_or_fail(self, what: &str) -> Result<ExecOutput, ModError> {
        if self.rc == 0 {
            return Ok(self);
        }
        let err = self.stderr_str();
        let err = err.trim();
        fail(if err.is_empty() { format!("{what} (rc {})", self.rc) } else { format!("{what}: {err}") })
    }
}

/// Everything a module may use while it runs on one host.
pub struct TaskCtx {
    pub conn: Arc<dyn Connection>,
    pub host: String,
    pub check: bool,
    pub diff: bool,
    pub become_: Option<Become>,
    pub env: Vec<(String, String)>,
    pub scope: Arc<Scope>,
    pub role_path: Option<PathBuf>,
    pub playbook_dir: PathBuf,
    pub verbosity: u8,
    pub task_name: String,
    /// The task's `no_log`: modules that censor their own output (Python ones) are told.
    pub no_log: bool,
    /// How to open the host's connection again (after a reboot); `None` on the controller.
    pub reconnect: Option<Reconnect>,
    /// The probes the next tasks on this host will ask for, worked out when first needed
    /// (see [`crate::connection::probes`]).
    pub ahead: Option<Ahead>,
}

/// The probes of the tasks after this one, each with the context it runs in
/// ([`probe_context`]).
pub type Ahead = Arc<dyn Fn() -> Vec<(String, ProbeKey)> + Send + Sync>;

pub use crate::connection::probes::ProbeKey;

/// How many of the next tasks' probes a change takes along: a host being changed (a first run)
/// mostly changes again at the next task, which drops anything seen further ahead.
pub const PIGGYBACK: usize = 2;

/// What a probe runs under (become and environment), as the command line it would have.
pub fn probe_context(become_: &Option<Become>, env: &[(String, String)]) -> String {
    ExecRequest { cmd: String::new(), env: env.to_vec(), become_: become_.clone(), ..Default::default() }.command_line()
}

/// Opens a host's connection anew and makes it the one later tasks use.
#[derive(Clone)]
pub struct Reconnect {
    pub spec: crate::connection::Spec,
    /// The host's connection slot, which the new connection replaces.
    pub slot: Option<Arc<crate::connection::Slot>>,
}

impl Reconnect {
    pub async fn open(&self) -> Result<Arc<dyn Connection>, ConnError> {
        let c = self.spec.open().await?;
        if let Some(slot) = &self.slot {
            slot.set(Some(c.clone()));
        }
        Ok(c)
    }
}

impl TaskCtx {
    /// What `key`'s path looks like on the host: from the last batch when nothing has run
    /// there since, else from a new batch that also asks about the next tasks' paths.
    pub async fn probe(&self, key: ProbeKey) -> Result<Option<crate::connection::stat::Probe>, ModError> {
        use crate::connection::probes::{batch_script, parse_batch};
        let Some(cache) = self.conn.probes() else { return Ok(None) };
        let context = probe_context(&self.become_, &self.env);
        cache.asked(&context, &key);
        if let Some(p) = cache.get(&context, &key) {
            return Ok(Some(p));
        }
        let mut keys = vec![key];
        let window = cache.window();
        if let Some(ahead) = self.ahead.as_ref().filter(|_| window > 0) {
            for (c, k) in ahead() {
                if keys.len() > window {
                    break;
                }
                if c == context && !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
        let mark = format!("STEWARD-PROBE-{}", common::random_name());
        let before = cache.generation();
        let out = self.sh(batch_script(&keys, &mark)).await?;
        let Some(probes) = parse_batch(&keys, &out.stdout, &mark).filter(|_| out.rc == 0) else { return Ok(None) };
        let first = probes[0].clone();
        cache.store(before, &context, keys.into_iter().zip(probes).collect());
        Ok(Some(first))
    }

    /// Run a script that changes the host, followed in the same round trip by the probes of
    /// the next [`PIGGYBACK`] paths the tasks ahead will ask about (which see the host as the
    /// change left it). The output is the script's alone.
    pub async fn sh_change(&self, script: String) -> Result<ExecOutput, ModError> {
        use crate::connection::probes::{batch_script, parse_batch};
        let Some(cache) = self.conn.probes() else { return self.sh(script).await };
        let asked = cache.take_asked();
        // Only while batches serve (none do when every answer is stale by the time it is asked).
        let Some(ahead) = self.ahead.as_ref().filter(|_| cache.window() > 0) else { return self.sh(script).await };
        let context = probe_context(&self.become_, &self.env);
        // The list starts with this task's own (every loop item's): what follows the last
        // one it asked about is ahead of it (and was not asked about).
        let all = ahead();
        let from = all.iter().rposition(|e| asked.contains(e)).map_or(0, |i| i + 1);
        let mut keys: Vec<ProbeKey> = Vec::new();
        for (c, k) in &all[from..] {
            if keys.len() == PIGGYBACK {
                break;
            }
            if *c == context && !keys.contains(k) {
                keys.push(k.clone());
            }
        }
        if keys.is_empty() {
            return self.sh(script).await;
        }
        let mark = format!("STEWARD-PROBE-{}", common::random_name());
        let full = format!(
            "( {script}\n)\nsteward_rc=$?\nif [ $steward_rc -ne 0 ]; then exit $steward_rc; fi\n{{\n{}}} 2>/dev/null\n",
            batch_script(&keys, &mark)
        );
        let before = cache.generation();
        let mut out = self.sh(full).await?;
        let sep = format!("{mark}\n");
        if let Some(i) = out.stdout.windows(sep.len()).position(|w| w == sep.as_bytes()) {
            let batch = out.stdout.split_off(i);
            if let Some(probes) = parse_batch(&keys, &batch, &mark).filter(|_| out.rc == 0) {
                cache.store(before, &context, keys.into_iter().zip(probes).collect());
            }
        }
        Ok(out)
    }

    /// Run a shell script on the host with the task's become and environment.
    pub async fn sh(&self, cmd: impl Into<String>) -> Result<ExecOutput, ModError> {
        self.sh_in(cmd, None).await
    }

    /// Run commands one after the other in one round trip, stopping at the first that fails;
    /// the task fails with `failure` and the command's stderr.
    pub async fn run_all(&self, cmds: &[String], failure: &str) -> Result<(), ModError> {
        self.sh(format!("set -e\n{}\n", cmds.join("\n"))).await?.ok_or_fail(failure)?;
        Ok(())
    }

    pub async fn sh_in(&self, cmd: impl Into<String>, stdin: Option<Vec<u8>>) -> Result<ExecOutput, ModError> {
        let req = ExecRequest { cmd: cmd.into(), stdin, env: self.env.clone(), become_: self.become_.clone(), ..Default::default() };
        Ok(self.conn.exec(req).await?)
    }

    /// Run a script that only looks at the host (a probe), so that it keeps what earlier
    /// probes saw valid.
    pub async fn sh_look(&self, cmd: impl Into<String>) -> Result<ExecOutput, ModError> {
        let req =
            ExecRequest { cmd: cmd.into(), env: self.env.clone(), become_: self.become_.clone(), read_only: true, ..Default::default() };
        Ok(self.conn.exec(req).await?)
    }

    /// A file on the controller, searched as Ansible searches (role's `sub/`, role, playbook's
    /// `sub/`, playbook folder).
    pub fn find_local(&self, sub: &str, name: &str) -> Option<PathBuf> {
        self.local_candidates(sub, name).into_iter().find(|c| c.exists())
    }

    /// Where [`TaskCtx::find_local`] looks, in order.
    fn local_candidates(&self, sub: &str, name: &str) -> Vec<PathBuf> {
        let p = std::path::Path::new(name);
        if p.is_absolute() {
            return vec![p.to_path_buf()];
        }
        let mut sp = crate::template::search_path_of(|n| self.scope.resolve(n).ok().flatten());
        if sp.is_empty() {
            sp.extend(self.role_path.as_ref().map(|r| r.display().to_string()));
        }
        let pb = self.playbook_dir.display().to_string();
        crate::template::file_candidates(&sp, Some(&pb), sub, name)
    }

    /// Ansible's message for a controller file that is not there, with every path searched.
    pub fn not_found(&self, sub: &str, name: &str) -> String {
        let searched: Vec<String> = self.local_candidates(sub, name).iter().map(|p| p.display().to_string()).collect();
        format!(
            "Could not find or access '{name}'\nSearched in:\n\t{} on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option",
            searched.join("\n\t")
        )
    }
}

pub use meta::ACTIONS as META_ACTIONS;
pub use set_fact::valid_name as valid_var_name;

#[cfg(test)]
mod doc_tests {
    use super::*;

    #[test]
    fn every_module_documents_its_arguments_and_an_example() {
        for m in MODULES {
            let (desc, examples) = doc_parts(m.doc());
            assert!(!desc.is_empty() && !examples.is_empty(), "{}.md has no description or no example", m.name());
            for a in args::all_args(*m) {
                assert!(!a.help.is_empty(), "{}: argument {} has no help", m.name(), a.name);
            }
            assert!(find(m.name()).is_some_and(|f| f.name() == m.name()), "{} cannot be found by name", m.name());
        }
        let mut names: Vec<_> = names().collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), MODULES.len(), "two modules share a name");
    }

    #[test]
    fn every_module_documents_what_it_returns() {
        for m in MODULES {
            let Some(returns) = doc_returns(m.doc()) else {
                panic!("{}.md has no `## Returns` section", m.name());
            };
            let lines: Vec<&str> = returns.lines().filter(|l| !l.trim().is_empty()).collect();
            // A list of `- `key`: meaning` items, or one line saying there is nothing more.
            let items = lines.iter().filter(|l| return_item(l).is_some()).count();
            assert!(
                items == lines.len() || (items == 0 && lines.len() == 1),
                "{}.md: `## Returns` mixes items and prose, or an item is not `- `key`: meaning`:\n{returns}",
                m.name()
            );
            let (desc, _) = doc_parts(m.doc());
            assert!(!desc.contains("## Returns"), "{}.md: the description runs into the returns", m.name());
        }
    }

    #[test]
    fn doc_sections_in_either_order() {
        let doc = "Does it.\n\n## Example\n\n```yaml\n- x:\n```\n\n## Returns\n\n- `rc`: the exit code\n";
        assert_eq!(doc_parts(doc), ("Does it.", vec!["- x:"]));
        assert_eq!(doc_returns(doc), Some("- `rc`: the exit code"));
        let doc = "Does it.\n\n## Returns\n\nNothing more.\n\n## Example\n\n```yaml\n- x:\n```\n";
        assert_eq!(doc_parts(doc), ("Does it.", vec!["- x:"]));
        assert_eq!(doc_returns(doc), Some("Nothing more."));
        assert_eq!(return_item("- `stat`: the path's state"), Some((vec!["stat"], "the path's state")));
        assert_eq!(return_item("- `uid`, `gid`: its ids, when `x`"), Some((vec!["uid", "gid"], "its ids, when `x`")));
        assert_eq!(return_item("Nothing more."), None);
        assert_eq!(return_item("- `rc` the exit code"), None);
    }

    #[test]
    fn routes_known_collection_modules_only() {
        let found = |n: &str| find(n).map(|m| m.name());
        assert_eq!(found("ansible.builtin.copy"), Some("copy"));
        assert_eq!(found("ansible.posix.authorized_key"), Some("authorized_key"));
        assert_eq!(found("ansible.builtin.sysctl"), Some("sysctl"));
        assert_eq!(found("community.general.ufw"), Some("ufw"));
        assert_eq!(found("copy"), Some("copy"));
        assert_eq!(found("yum"), Some("dnf"));
        assert_eq!(found("ansible.builtin.systemd_service"), Some("systemd"));
        assert_eq!(found("community.general.copy"), None);
        assert_eq!(found("community.mysql.mysql_user"), None);
    }
}
