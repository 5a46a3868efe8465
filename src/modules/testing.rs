//! For unit tests of modules' decisions: a [`Connection`] that answers from a script instead of
//! a host, and records what it was asked. A module's `plan` runs against it as it would
//! against a host; the test checks the plan (changed, diffs, steps) and, for `apply`, the
//! commands it sent. What the answers say a host holds is up to the test; the fleet tests and
//! Ansible's suite run the same modules against real hosts.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::{Args, Module, TaskCtx};
use crate::connection::{ConnError, Connection, ExecOutput, ExecRequest};
use crate::template::Scope;

/// One scripted answer: the first rule whose `when` is part of the command answers it.
struct Rule {
    when: String,
    reply: ExecOutput,
    /// Answers once, then gives way to later rules (a file read before and after a change).
    once: bool,
}

#[derive(Default)]
pub struct Scripted {
    rules: Mutex<Vec<Rule>>,
    /// Every command asked, in order (with stdin, when it had one).
    pub seen: Mutex<Vec<(String, Option<Vec<u8>>)>>,
    /// Every file uploaded: (controller path, destination).
    pub uploads: Mutex<Vec<(PathBuf, String)>>,
}

impl Scripted {
    pub fn new() -> Arc<Scripted> {
        Arc::new(Scripted::default())
    }
    /// Answer commands containing `when` with this exit code and output.
    pub fn on(self: &Arc<Self>, when: &str, rc: i32, stdout: &[u8]) -> Arc<Self> {
        self.push(when, rc, stdout, b"", false)
    }
    /// As [`Scripted::on`], for the next matching command only.
    pub fn once(self: &Arc<Self>, when: &str, rc: i32, stdout: &[u8]) -> Arc<Self> {
        self.push(when, rc, stdout, b"", true)
    }
    pub fn fails(self: &Arc<Self>, when: &str, rc: i32, stderr: &[u8]) -> Arc<Self> {
        self.push(when, rc, b"", stderr, false)
    }
    fn push(self: &Arc<Self>, when: &str, rc: i32, stdout: &[u8], stderr: &[u8], once: bool) -> Arc<Self> {
        let reply = ExecOutput { rc, stdout: stdout.to_vec(), stderr: stderr.to_vec() };
        self.rules.lock().unwrap().push(Rule { when: when.into(), reply, once });
        self.clone()
    }
    /// The commands asked so far.
    pub fn commands(&self) -> Vec<String> {
        self.seen.lock().unwrap().iter().map(|(c, _)| c.clone()).collect()
    }
    /// The stdin of the first command containing `when`.
    /// What the first command holding `when` got on stdin, or for a small file write
    /// ([`super::common::printf_format`]), the content its script carries.
    pub fn stdin_of(&self, when: &str) -> Option<Vec<u8>> {
        let seen = self.seen.lock().unwrap();
        let (cmd, stdin) = seen.iter().find(|(c, _)| c.contains(when))?;
        stdin.clone().or_else(|| inline_content(cmd))
    }
    /// A task context on this connection.
    pub fn ctx(self: &Arc<Self>, check: bool, diff: bool) -> TaskCtx {
        TaskCtx {
            conn: self.clone(),
            host: "testhost".into(),
            check,
            diff,
            become_: None,
            env: vec![],
            scope: Scope::new(vec![], None),
            role_path: None,
            playbook_dir: PathBuf::from("/nonexistent"),
            verbosity: 0,
            task_name: "test".into(),
            no_log: false,
            reconnect: None,
            ahead: None,
        }
    }
}

#[async_trait]
impl Connection for Scripted {
    async fn exec(&self, req: ExecRequest) -> Result<ExecOutput, ConnError> {
        self.seen.lock().unwrap().push((req.cmd.clone(), req.stdin.clone()));
        let mut rules = self.rules.lock().unwrap();
        let Some(i) = rules.iter().position(|r| req.cmd.contains(&r.when)) else {
            panic!("no scripted answer for:\n{}", req.cmd);
        };
        let reply = rules[i].reply.clone();
        if rules[i].once {
            rules.remove(i);
        }
        Ok(reply)
    }
    async fn put_file(&self, local: &Path, dest: &str) -> Result<(), ConnError> {
        self.uploads.lock().unwrap().push((local.to_path_buf(), dest.to_string()));
        Ok(())
    }
    async fn get_file(&self, path: &str) -> Result<Vec<u8>, ConnError> {
        Err(ConnError::Io(format!("scripted connection: no file {path}")))
    }
    fn transport(&self) -> &'static str {
        "scripted"
    }
}

/// A module's arguments from YAML, checked as a task's are.
pub fn args(m: &dyn Module, yaml: &str) -> Args {
    let v: Value = serde_saphyr::from_str(yaml).expect("test arguments are YAML");
    let map: Map<String, Value> = match v {
        Value::Object(m) => m,
        _ => panic!("test arguments are a mapping"),
    };
    Args::prepare(m, map).expect("test arguments are valid")
}

/// What the file probe ([`crate::connection::stat::probe_script`]) prints for a regular file
/// with this mode and content (owned by root), or for nothing at the path.
pub fn probe_reply(file: Option<(u32, &[u8])>) -> Vec<u8> {
    match file {
        None => b"PDIR\nABSENT\n".to_vec(),
        Some((mode, content)) => {
            let mut out = format!(
                "PDIR\nSTAT regular file|{mode:o}|0|0|root|root|{}|1700000000|1700000000|1700000000|42|1|2049\nACCESS rw\nCONTENT\n",
                content.len()
            )
            .into_bytes();
            out.extend_from_slice(content);
            out
        }
    }
}

/// The marker a probe's script holds, to script its answer.
pub const PROBE: &str = "printf 'STAT '";
/// The marker of a file write's script ([`super::common::write_file`]).
pub const WRITE: &str = "/.steward.";

/// The bytes of the `printf '...' > "$t"` line of an inline write, decoded.
fn inline_content(cmd: &str) -> Option<Vec<u8>> {
    let start = cmd.find("\nprintf '")? + "\nprintf '".len();
    let end = start + cmd[start..].find("' > \"$t\"\n")?;
    let f = &cmd.as_bytes()[start..end];
    let (mut out, mut i) = (Vec::new(), 0);
    while i < f.len() {
        match (f[i], f.get(i + 1)) {
            (b'%', Some(b'%')) | (b'\\', Some(b'\\')) => {
                out.push(f[i]);
                i += 2;
            }
            (b'\\', Some(_)) => {
                out.push(u8::from_str_radix(std::str::from_utf8(&f[i + 1..i + 4]).ok()?, 8).ok()?);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

#[test]
fn printf_format_round_trips() {
    let all: Vec<u8> = (0..=255u8).chain(*b"%s\\0'1\n").collect();
    let script = format!("x\nprintf {} > \"$t\"\n", super::common::printf_format(&all));
    assert_eq!(inline_content(&script), Some(all));
}
