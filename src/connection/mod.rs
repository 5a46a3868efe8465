//! Connections: how a command reaches a host.
//!
//! [`Connection`] is the one interface modules use: run a shell command (with stdin,
//! environment and privilege escalation), put a file, get a file. It is shaped for SSH (one
//! connection, many channels) and implemented here for the local machine; modules never know
//! which transport they talk to.

pub mod local;
pub mod stat;

use std::fmt;

use async_trait::async_trait;

/// Privilege escalation for one command: sudo, su or doas to `user`.
#[derive(Clone, Default)]
pub struct Become {
    pub method: String,
    pub user: String,
    pub password: Option<String>,
    pub flags: Option<String>,
    pub exe: Option<String>,
}

impl fmt::Debug for Become {
    // The password never reaches a log, even a debug one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Become({} to {}{})", self.method, self.user, if self.password.is_some() { ", with password" } else { "" })
    }
}

/// A marker printed by the wrapper just before the real command starts, so that a password
/// prompt can be told apart from the command's own output.
pub const BECOME_SUCCESS: &str = "STEWARD-BECOME-SUCCESS-7f3a";

impl Become {
    /// Wrap a shell command so it runs as the target user. Returns the wrapped command and
    /// whether the password must be fed on stdin first.
    pub fn wrap(&self, cmd: &str) -> (String, bool) {
        let quoted = crate::template::shell_quote(cmd);
        let inner = crate::template::shell_quote(&format!("echo {BECOME_SUCCESS}; {cmd}"));
        let flags = self.flags.clone().unwrap_or_default();
        match self.method.as_str() {
            "su" => {
                let exe = self.exe.clone().unwrap_or_else(|| "su".into());
                (format!("{exe} {flags} {} -c {inner}", crate::template::shell_quote(&self.user)), self.password.is_some())
            }
            "doas" => {
                let exe = self.exe.clone().unwrap_or_else(|| "doas".into());
                let n = if self.password.is_some() { "" } else { "-n" };
                (format!("{exe} {n} {flags} -u {} /bin/sh -c {inner}", crate::template::shell_quote(&self.user)), self.password.is_some())
            }
            _ => {
                let exe = self.exe.clone().unwrap_or_else(|| "sudo".into());
                let flags = if flags.is_empty() { "-H -S -n".to_string() } else { flags };
                if self.password.is_some() {
                    let flags = flags.replace(" -n", "").replace("-n ", "");
                    let prompt = "[sudo via steward] password:";
                    (format!("{exe} {flags} -p '{prompt}' -u {} /bin/sh -c {inner}", crate::template::shell_quote(&self.user)), true)
                } else {
                    let _ = quoted;
                    (format!("{exe} {flags} -u {} /bin/sh -c {inner}", crate::template::shell_quote(&self.user)), false)
                }
            }
        }
    }
}

/// One command to run on a host.
#[derive(Clone, Debug, Default)]
pub struct ExecRequest {
    /// A POSIX shell script, run with `/bin/sh -c`.
    pub cmd: String,
    pub stdin: Option<Vec<u8>>,
    pub env: Vec<(String, String)>,
    pub become_: Option<Become>,
    pub cwd: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct ExecOutput {
    pub rc: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    /// The host cannot be reached (or dropped): counted as unreachable.
    #[error("{0}")]
    Unreachable(String),
    /// Privilege escalation failed (wrong password, no sudo rights).
    #[error("{0}")]
    Become(String),
    #[error("{0}")]
    Io(String),
}

#[async_trait]
pub trait Connection: Send + Sync {
    /// Run a command and wait for it, collecting its output.
    async fn exec(&self, req: ExecRequest) -> Result<ExecOutput, ConnError>;
    /// Copy a file from the controller to `dest` on the host (no privilege escalation).
    async fn put_file(&self, local: &std::path::Path, dest: &str) -> Result<(), ConnError>;
    /// Read a file from the host.
    async fn get_file(&self, path: &str) -> Result<Vec<u8>, ConnError>;
    /// What is at `path` (without following a link), or `None` when nothing is.
    async fn stat(&self, path: &str) -> Result<Option<stat::Stat>, ConnError> {
        let out = self.exec(ExecRequest { cmd: stat::probe_script(path, None, false), ..Default::default() }).await?;
        Ok(stat::parse_probe(&out.stdout).lstat)
    }
    /// Close the connection at the end of the run.
    async fn close(&self) {}
    /// `local`, `ssh`, `docker`, ...
    fn transport(&self) -> &'static str;
}

/// Strip the become marker (and any prompt before it) from a command's output.
pub fn strip_become_marker(out: &mut ExecOutput) -> bool {
    let text = String::from_utf8_lossy(&out.stdout);
    if let Some(pos) = text.find(BECOME_SUCCESS) {
        let after = pos + BECOME_SUCCESS.len();
        let after = if text[after..].starts_with('\n') { after + 1 } else { after };
        out.stdout = out.stdout[after..].to_vec();
        true
    } else {
        false
    }
}
