//! Modules: what a task does. One file per module, registered with one line in [`MODULES`].
//!
//! Each module declares its arguments ([`Arg`]), so a playbook is checked before it runs
//! (unknown arguments get a did-you-mean, literal values of the wrong type are refused); its
//! doc text is what `steward doc NAME` prints. At run time a module first asks the host for its
//! state (one round trip where it can), decides on the controller, and changes the host only if
//! needed and not in check mode. Modules never print: they return an [`Outcome`].

pub mod args;
pub mod common;

mod add_host;
mod apt;
mod apt_repository;
mod archive;
mod assemble;
mod assert;
pub mod async_status;
mod authorized_key;
mod blockinfile;
mod command;
mod copy;
mod cron;
mod debug;
mod fail;
mod fetch;
mod file;
mod find;
mod gather_facts;
mod getent;
mod group;
mod group_by;
mod hostname;
mod http;
mod include_vars;
mod known_hosts;
mod lineinfile;
mod locale_gen;
mod meta;
mod mount;
mod package;
mod pause;
mod ping;
pub mod python;
mod replace;
mod script;
mod service;
mod service_facts;
mod set_fact;
mod setup;
mod slurp;
mod stat;
mod sysctl;
mod tempfile;
mod template;
mod timezone;
mod ufw;
mod user;
mod wait_for;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::connection::{Become, ConnError, Connection, ExecOutput, ExecRequest};
use crate::template::Scope;

pub use args::{Arg, Args, Kind};

/// Every module steward knows, by its short name. Adding a module: one file, one line here.
pub static MODULES: &[&dyn Module] = &[
    &add_host::AddHost,
    &apt::Apt,
    &apt_repository::AptRepository,
    &archive::Unarchive,
    &archive::Archive,
    &assemble::Assemble,
    &assert::Assert,
    &async_status::AsyncStatus,
    &authorized_key::AuthorizedKey,
    &blockinfile::BlockInFile,
    &command::Command,
    &command::Raw,
    &command::Shell,
    &copy::Synchronize,
    &copy::Copy,
    &cron::Cron,
    &debug::Debug,
    &fail::Fail,
    &fetch::Fetch,
    &file::File,
    &find::Find,
    &gather_facts::GatherFacts,
    &getent::Getent,
    &group::Group,
    &group_by::GroupBy,
    &hostname::Hostname,
    &http::Uri,
    &http::GetUrl,
    &include_vars::IncludeVars,
    &known_hosts::KnownHosts,
    &lineinfile::LineInFile,
    &locale_gen::LocaleGen,
    &meta::Meta,
    &mount::Mount,
    &package::Apk,
    &package::Dnf,
    &package::Package,
    &pause::Pause,
    &ping::Ping,
    &replace::Replace,
    &script::Script,
    &service::Systemd,
    &service::Service,
    &service_facts::ServiceFacts,
    &set_fact::SetFact,
    &setup::Setup,
    &slurp::Slurp,
    &stat::Stat,
    &sysctl::Sysctl,
    &template::Template,
    &tempfile::Tempfile,
    &timezone::Timezone,
    &ufw::Ufw,
    &user::User,
    &wait_for::WaitForConnection,
    &wait_for::Reboot,
    &wait_for::WaitFor,
];

/// Find a module by its short name or its `ansible.builtin.` name.
pub fn find(name: &str) -> Option<&'static dyn Module> {
    let short = crate::playbook::collections::short_name(name)?;
    // Names Ansible's routing sends to another module.
    let short = match short {
        "systemd_service" => "systemd",
        "yum" => "dnf",
        other => other,
    };
    MODULES.iter().copied().find(|m| m.name() == short)
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
    /// What it does, its arguments and an example, for `steward doc`.
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
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError>;
}

/// A unified diff's two sides, as Ansible's `diff` result carries them.
#[derive(Clone, Debug, Default)]
pub struct FileDiff {
    pub before_header: String,
    pub after_header: String,
    pub before: String,
    pub after: String,
}

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
    /// Facts to set on the host (`set_fact`, `setup`); `include_vars` uses `include_vars`.
    pub facts: Option<Map<String, Value>>,
    pub include_vars: Option<Map<String, Value>>,
    pub cacheable: bool,
    pub warnings: Vec<String>,
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
}

/// Opens a host's connection anew and makes it the one later tasks use.
#[derive(Clone)]
pub struct Reconnect {
    pub spec: crate::connection::Spec,
    pub host: Option<Arc<crate::exec::HostState>>,
}

impl Reconnect {
    pub async fn open(&self) -> Result<Arc<dyn Connection>, ConnError> {
        let c = self.spec.open().await?;
        if let Some(h) = &self.host {
            if let Ok(mut slot) = h.conn.lock() {
                *slot = Some(c.clone());
            }
        }
        Ok(c)
    }
}

impl TaskCtx {
    /// Run a shell script on the host with the task's become and environment.
    pub async fn sh(&self, cmd: impl Into<String>) -> Result<ExecOutput, ModError> {
        self.sh_in(cmd, None).await
    }

    /// Run commands one after the other in one round trip, stopping at the first that fails;
    /// the task fails with `failure` and the command's stderr.
    pub async fn run_all(&self, cmds: &[String], failure: &str) -> Result<(), ModError> {
        let r = self.sh(format!("set -e\n{}\n", cmds.join("\n"))).await?;
        if r.rc != 0 {
            return fail(format!("{failure}: {}", r.stderr_str().trim()));
        }
        Ok(())
    }

    pub async fn sh_in(&self, cmd: impl Into<String>, stdin: Option<Vec<u8>>) -> Result<ExecOutput, ModError> {
        let req = ExecRequest { cmd: cmd.into(), stdin, env: self.env.clone(), become_: self.become_.clone(), cwd: None, stdin_file: None };
        Ok(self.conn.exec(req).await?)
    }

    /// A file on the controller, searched as Ansible searches (role's `sub/`, role, playbook's
    /// `sub/`, playbook folder).
    pub fn find_local(&self, sub: &str, name: &str) -> Option<PathBuf> {
        let p = std::path::Path::new(name);
        if p.is_absolute() {
            return p.exists().then(|| p.to_path_buf());
        }
        let mut sp = crate::template::search_path_of(|n| self.scope.resolve(n).ok().flatten());
        if sp.is_empty() {
            sp.extend(self.role_path.as_ref().map(|r| r.display().to_string()));
        }
        let pb = self.playbook_dir.display().to_string();
        crate::template::file_candidates(&sp, Some(&pb), sub, name).into_iter().find(|c| c.exists())
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
            assert!(m.doc().contains("\nexample:\n"), "{} has no example", m.name());
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
}
