//! steward: provisioning and configuration automation that runs Ansible playbooks.
//!
//! The pipeline (see DESIGN.md), and the layers its parts form, each using only the ones below
//! it (`tests/layers.rs` checks that no import points up):
//!
//! - [`cli`]: the command line; subcommands return a `Result` and `main` prints errors once.
//! - [`exec`]: the scheduler; all concurrency lives here.
//! - [`graph`]: the dependency graph of plays, roles and tasks, and the checks before a run.
//! - [`playbook`]: plays, roles, tasks and their keywords, loaded with source positions.
//! - [`modules`]: what a task does (plan, then apply), one file per module.
//! - [`template`]: variables and Jinja (minijinja with Ansible's filters, tests and lookups).
//! - [`ansible_core`] (the controller's ansible-core, for Python modules and plugins) and
//!   [`inventory`].
//! - [`connection`]: ssh, local, docker and chroot transports behind one trait.
//! - [`report`]: the events a run gives and the outputs (terminal, JSON lines, JUnit, HTML).
//! - [`config`]: ansible.cfg and the environment.
//! - [`yaml`]: YAML with positions.
//! - [`vault`], [`crypt`]: Ansible Vault and password hashing.
//! - the base: [`diag`] (errors with spans), [`pytext`] (Python's and Ansible's text forms),
//!   [`kv`] (`k=v` arguments), [`jsonpath`], [`random`].

pub mod ansible_core;
pub mod cli;
pub mod config;
pub mod connection;
pub mod crypt;
pub mod diag;
pub mod exec;
pub mod graph;
pub mod inventory;
pub mod jsonpath;
pub mod kv;
pub mod modules;
pub mod playbook;
pub mod pytext;
pub mod random;
pub mod report;
pub mod template;
pub mod vault;
pub mod yaml;
