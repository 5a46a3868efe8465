//! steward: provisioning and configuration automation that runs Ansible playbooks.
//!
//! The pipeline (see DESIGN.md): inventory and playbooks are loaded with source positions
//! ([`yaml`], [`inventory`], [`playbook`]), variables and templates are resolved ([`template`]),
//! the executor ([`exec`]) runs tasks through modules ([`modules`]) over connections
//! ([`connection`]), and only the report layer ([`report`]) prints.

pub mod cli;
pub mod config;
pub mod connection;
pub mod crypt;
pub mod diag;
pub mod exec;
pub mod graph;
pub mod inventory;
pub mod jsonpath;
pub mod modules;
pub mod playbook;
pub mod pytext;
pub mod random;
pub mod report;
pub mod template;
pub mod vault;
pub mod yaml;
