//! Connections: how a command reaches a host.
//!
//! [`Connection`] is the one interface modules use: run a shell command (with stdin,
//! environment and privilege escalation), put a file, get a file. It is shaped for SSH (one
//! connection, many channels) and implemented here for the local machine; modules never know
//! which transport they talk to.

pub mod local;
pub mod ssh;
pub mod stat;
pub mod traced;
pub mod wrapped;

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

/// The prompt steward asks sudo to print, so it can be told apart from the command's output.
pub const SUDO_PROMPT: &str = "[sudo via steward] password:";

impl Become {
    /// Whether the method reads its password from a terminal (su, doas) rather than stdin.
    pub fn needs_tty(&self) -> bool {
        self.password.is_some() && matches!(self.method.as_str(), "su" | "doas")
    }

    /// Wrap a shell command so it runs as the target user, after printing a marker that tells
    /// the command's output from a password prompt.
    pub fn wrap(&self, cmd: &str) -> String {
        let q = crate::template::shell_quote;
        let inner = q(&format!("echo {BECOME_SUCCESS}; {cmd}"));
        let flags = self.flags.clone().unwrap_or_default();
        let user = q(&self.user);
        match self.method.as_str() {
            "su" => format!("{} {flags} {user} -c {inner}", self.exe.as_deref().unwrap_or("su")),
            "doas" => {
                let n = if self.password.is_some() { "" } else { "-n" };
                format!("{} {n} {flags} -u {user} /bin/sh -c {inner}", self.exe.as_deref().unwrap_or("doas"))
            }
            _ => {
                let flags = if flags.is_empty() { "-H -S -n".to_string() } else { flags };
                let exe = self.exe.as_deref().unwrap_or("sudo");
                if self.password.is_some() {
                    let flags = flags.split_whitespace().filter(|f| *f != "-n").collect::<Vec<_>>().join(" ");
                    format!("{exe} {flags} -p '{SUDO_PROMPT}' -u {user} /bin/sh -c {inner}")
                } else {
                    format!("{exe} {flags} -u {user} /bin/sh -c {inner}")
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
    /// A local file streamed to the command's stdin (large uploads are never held in memory).
    pub stdin_file: Option<std::path::PathBuf>,
    pub env: Vec<(String, String)>,
    pub become_: Option<Become>,
    pub cwd: Option<String>,
}

impl ExecRequest {
    /// The command line to run: environment and folder set inside it (so they survive
    /// privilege escalation), then wrapped for become.
    pub fn command_line(&self) -> String {
        let mut inner = String::new();
        for (k, v) in &self.env {
            inner += &format!("{k}={}; export {k}; ", crate::template::shell_quote(v));
        }
        if let Some(d) = &self.cwd {
            inner += &format!("cd {} || exit 1; ", crate::template::shell_quote(d));
        }
        inner += &self.cmd;
        match &self.become_ {
            Some(b) => b.wrap(&inner),
            None => inner,
        }
    }
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

/// The start of a command run with become: until the marker appears, output may be a password
/// prompt (answered once; a second prompt means the password was wrong) or an error from
/// sudo/su/doas. After the marker, everything is the command's own output and its stdin may flow.
pub struct Handshake {
    pending: bool,
    /// `sudo`, `su`, `doas`: Ansible's messages name it.
    method: String,
    password: Option<String>,
    sent: bool,
    tty: bool,
    pre_out: Vec<u8>,
    pre_err: Vec<u8>,
}

pub enum Step {
    Nothing,
    SendPassword(String),
    Start,
    Fail(ConnError),
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

const WRONG_PASSWORD: &[&str] = &["Sorry, try again", "incorrect password", "Authentication failure", "doas: authentication failed"];

impl Handshake {
    pub fn new(b: Option<&Become>) -> Handshake {
        Handshake {
            pending: b.is_some(),
            method: b.map(|b| b.method.rsplit('.').next().unwrap_or(&b.method).to_string()).unwrap_or_default(),
            password: b.and_then(|b| b.password.clone()),
            sent: false,
            tty: b.is_some_and(Become::needs_tty),
            pre_out: vec![],
            pre_err: vec![],
        }
    }

    /// Whether stdin may flow from the start (no become).
    pub fn started(&self) -> bool {
        !self.pending
    }

    fn incorrect(&self) -> ConnError {
        ConnError::Become(format!("Incorrect {} password", self.method))
    }

    fn wrong(&self, text: &[u8]) -> bool {
        let t = String::from_utf8_lossy(text);
        WRONG_PASSWORD.iter().any(|w| t.contains(w))
    }

    pub fn on_stdout(&mut self, data: &[u8], out: &mut Vec<u8>) -> Step {
        if !self.pending {
            out.extend_from_slice(data);
            return Step::Nothing;
        }
        self.pre_out.extend_from_slice(data);
        if let Some(pos) = find(&self.pre_out, BECOME_SUCCESS.as_bytes()) {
            let mut after = pos + BECOME_SUCCESS.len();
            while after < self.pre_out.len() && (self.pre_out[after] == b'\r' || self.pre_out[after] == b'\n') {
                after += 1;
                if self.pre_out[after - 1] == b'\n' {
                    break;
                }
            }
            out.extend_from_slice(&self.pre_out[after..]);
            self.pending = false;
            return Step::Start;
        }
        if self.tty {
            return self.prompt_check(true);
        }
        Step::Nothing
    }

    pub fn on_stderr(&mut self, data: &[u8], err: &mut Vec<u8>) -> Step {
        if !self.pending {
            err.extend_from_slice(data);
            return Step::Nothing;
        }
        self.pre_err.extend_from_slice(data);
        self.prompt_check(false)
    }

    fn prompt_check(&mut self, tty: bool) -> Step {
        let buf = if tty { &self.pre_out } else { &self.pre_err };
        if self.wrong(buf) {
            return Step::Fail(self.incorrect());
        }
        let prompt: &[u8] = if tty { b"assword" } else { SUDO_PROMPT.as_bytes() };
        let count = buf.windows(prompt.len()).filter(|w| *w == prompt).count();
        if count == 0 {
            return Step::Nothing;
        }
        if self.sent && count > 1 {
            return Step::Fail(self.incorrect());
        }
        if self.sent {
            return Step::Nothing;
        }
        match &self.password {
            Some(p) => {
                self.sent = true;
                Step::SendPassword(format!("{p}\n"))
            }
            None => Step::Fail(ConnError::Become("Missing become password: sudo asks for one (use -K or ansible_become_password)".into())),
        }
    }

    /// At the end: a command that never printed the marker failed to escalate.
    pub fn finish(&self) -> Result<(), ConnError> {
        if !self.pending {
            return Ok(());
        }
        let err = String::from_utf8_lossy(&self.pre_err).replace(SUDO_PROMPT, "");
        let out = String::from_utf8_lossy(&self.pre_out).into_owned();
        let text = format!("{} {}", err.trim(), out.trim());
        if WRONG_PASSWORD.iter().any(|w| text.contains(w)) {
            return Err(self.incorrect());
        }
        if text.contains("password is required") {
            return Err(ConnError::Become("Missing become password: sudo asks for one (use -K or ansible_become_password)".into()));
        }
        Err(ConnError::Become(format!("privilege escalation failed: {}", text.trim())))
    }
}

/// How to open a host's connection, resolved from its variables. Owned, so a task that
/// reboots the host can open it again.
#[derive(Clone, Debug)]
pub enum Spec {
    Local,
    Ssh { name: String, settings: ssh::Settings },
    Docker { container: String, user: Option<String>, exe: Option<String> },
    Chroot { root: String, exe: Option<String> },
}

impl Spec {
    /// What `-vvv` says about the connection before it opens (never a password).
    pub fn describe(&self) -> String {
        match self {
            Spec::Local => "LOCAL CONNECTION".into(),
            Spec::Ssh { name, settings } => {
                let t = ssh::Target::resolve(name, settings);
                t.describe()
            }
            Spec::Docker { container, user, .. } => {
                format!("DOCKER CONNECTION to container {container} as {}", user.as_deref().unwrap_or("its default user"))
            }
            Spec::Chroot { root, .. } => format!("CHROOT CONNECTION into {root}"),
        }
    }

    pub async fn open(&self) -> Result<std::sync::Arc<dyn Connection>, ConnError> {
        Ok(match self {
            Spec::Local => std::sync::Arc::new(local::Local),
            Spec::Ssh { name, settings } => {
                let target = ssh::Target::resolve(name, settings);
                std::sync::Arc::new(ssh::Ssh::connect(&target).await?)
            }
            Spec::Docker { container, user, exe } => {
                std::sync::Arc::new(wrapped::Wrapped::docker(container, user.clone(), exe.clone()).await?)
            }
            Spec::Chroot { root, exe } => std::sync::Arc::new(wrapped::Wrapped::chroot(root, exe.clone())?),
        })
    }
}
