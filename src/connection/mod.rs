//! Connections: how a command reaches a host.
//!
//! [`Connection`] is the one interface modules use: run a shell command (with stdin,
//! environment and privilege escalation), put a file, get a file. It is shaped for SSH (one
//! connection, many channels) and implemented here for the local machine; modules never know
//! which transport they talk to.

pub mod local;
pub mod probes;
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
    /// Empty: the method's own default (root), with no user on its command line.
    pub user: String,
    pub password: Option<String>,
    /// `None`: the method's default flags (sudo's `-H -S -n`); `Some("")`: none at all.
    pub flags: Option<String>,
    pub exe: Option<String>,
    /// sudo: the folder to change to before sudo runs (`ansible_sudo_chdir`), so a user who
    /// may not read the login folder can still start.
    pub chdir: Option<String>,
    /// su: the words a password prompt starts with (`ansible_su_prompt_l10n`); empty means
    /// Ansible's list of translations.
    pub prompts: Vec<String>,
    /// How long the command may stay silent before the prompt or the marker appears; past it
    /// the host counts as unreachable, as Ansible's connections count it.
    pub timeout: Option<std::time::Duration>,
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

/// What su's password prompt starts with, in the languages Ansible's su plugin knows.
const SU_PROMPTS: &[&str] = &[
    "Password",
    "암호",
    "パスワード",
    "Adgangskode",
    "Contraseña",
    "Contrasenya",
    "Hasło",
    "Heslo",
    "Jelszó",
    "Lösenord",
    "Mật khẩu",
    "Mot de passe",
    "Parola",
    "Parool",
    "Pasahitza",
    "Passord",
    "Passwort",
    "Salasana",
    "Sandi",
    "Senha",
    "Wachtwoord",
    "ססמה",
    "Лозинка",
    "Парола",
    "Пароль",
    "गुप्तशब्द",
    "शब्दकूट",
    "సంకేతపదము",
    "හස්පදය",
    "密码",
    "密碼",
    "口令",
];

impl Become {
    /// Whether the method reads its password from a terminal (su, doas) rather than stdin.
    pub fn needs_tty(&self) -> bool {
        self.password.is_some() && matches!(self.method.as_str(), "su" | "doas")
    }

    /// Wrap a shell command so it runs as the target user, after printing a marker that tells
    /// the command's output from a password prompt.
    pub fn wrap(&self, cmd: &str) -> String {
        let q = crate::pytext::shell_quote;
        let inner = q(&format!("echo {BECOME_SUCCESS}; {cmd}"));
        let flags = self.flags.clone().unwrap_or_default();
        let words = |parts: &[&str]| parts.iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(" ");
        let user = if self.user.is_empty() { String::new() } else { q(&self.user) };
        let user_opt = if self.user.is_empty() { String::new() } else { format!("-u {user}") };
        match self.method.as_str() {
            "su" => words(&[self.exe.as_deref().unwrap_or("su"), &flags, &user, "-c", &inner]),
            "doas" => {
                let n = if self.password.is_some() { "" } else { "-n" };
                words(&[self.exe.as_deref().unwrap_or("doas"), n, &flags, &user_opt, "/bin/sh -c", &inner])
            }
            _ => {
                let mut exe = self.exe.clone().unwrap_or_else(|| "sudo".into());
                if let Some(d) = &self.chdir {
                    exe = format!("cd {} && {exe}", q(d));
                }
                let flags = self.flags.clone().unwrap_or_else(|| "-H -S -n".into());
                if self.password.is_some() {
                    let prompt = format!("-p '{SUDO_PROMPT}'");
                    words(&[&exe, &interactive_flags(&flags), &prompt, &user_opt, "/bin/sh -c", &inner])
                } else {
                    words(&[&exe, &flags, &user_opt, "/bin/sh -c", &inner])
                }
            }
        }
    }

    /// Whether text holds the password prompt of this method: sudo's is the one steward asks
    /// for; su's is one of the known words followed by a colon (ASCII or full-width), in any
    /// case, as Ansible matches it.
    fn prompted(&self, text: &str) -> usize {
        match self.method.as_str() {
            "su" => {
                let words: Vec<String> = if self.prompts.is_empty() {
                    SU_PROMPTS.iter().map(|p| regex::escape(p)).collect()
                } else {
                    self.prompts.iter().map(|p| regex::escape(p)).collect()
                };
                match regex::Regex::new(&format!("(?i)(?:{})\\s*[:：]", words.join("|"))) {
                    Ok(re) => re.find_iter(text).count(),
                    Err(_) => 0,
                }
            }
            "doas" => text.matches("assword").count(),
            _ => text.matches(SUDO_PROMPT).count(),
        }
    }
}

/// sudo's flags when a password will be typed: without `-n`/`--non-interactive`, and without
/// an `n` in a group of short flags (`-Sn` is `-S`), as Ansible's sudo plugin rewrites them.
fn interactive_flags(flags: &str) -> String {
    let Some(words) = shlex::split(flags) else {
        return flags.to_string();
    };
    let kept: Vec<String> = words
        .into_iter()
        .filter(|f| f != "-n" && f != "--non-interactive")
        .map(|f| match f.strip_prefix('-') {
            Some(rest) if !rest.starts_with('-') => {
                let word_len = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
                match rest[..word_len].find('n') {
                    Some(i) => format!("-{}{}", &rest[..i], &rest[i + 1..]),
                    None => f,
                }
            }
            _ => f,
        })
        .collect();
    shlex::try_join(kept.iter().map(String::as_str)).unwrap_or_else(|_| kept.join(" "))
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
    /// The command only looks (a probe): what a connection keeps of earlier probes
    /// ([`probes`]) still holds after it.
    pub read_only: bool,
}

impl ExecRequest {
    /// The command line to run: environment and folder set inside it (so they survive
    /// privilege escalation), then wrapped for become.
    pub fn command_line(&self) -> String {
        let mut inner = String::new();
        for (k, v) in &self.env {
            inner += &format!("{k}={}; export {k}; ", crate::pytext::shell_quote(v));
        }
        if let Some(d) = &self.cwd {
            inner += &format!("cd {} || exit 1; ", crate::pytext::shell_quote(d));
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
    /// Where batched probes of this host are kept ([`probes`]), on connections that keep
    /// them; each of its commands and transfers drops what they say.
    fn probes(&self) -> Option<&probes::ProbeCache> {
        None
    }
}

/// Where a host's open connection is kept, so later tasks use it and a reboot can replace it.
#[derive(Default)]
pub struct Slot(std::sync::Mutex<Option<std::sync::Arc<dyn Connection>>>);

impl Slot {
    pub fn get(&self) -> Option<std::sync::Arc<dyn Connection>> {
        self.0.lock().ok().and_then(|c| c.clone())
    }
    pub fn set(&self, c: Option<std::sync::Arc<dyn Connection>>) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = c;
        }
    }
    pub fn take(&self) -> Option<std::sync::Arc<dyn Connection>> {
        self.0.lock().ok().and_then(|mut c| c.take())
    }
}

/// The start of a command run with become: until the marker appears, output may be a password
/// prompt (answered once; a second prompt means the password was wrong) or an error from
/// sudo/su/doas. After the marker, everything is the command's own output and its stdin may flow.
pub struct Handshake {
    pending: bool,
    become_: Option<Become>,
    /// `sudo`, `su`, `doas`: Ansible's messages name it.
    method: String,
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

const MISSING_PASSWORD: &str = "Missing become password: sudo asks for one (use -K or ansible_become_password)";

impl Handshake {
    pub fn new(b: Option<&Become>) -> Handshake {
        Handshake {
            pending: b.is_some(),
            become_: b.cloned(),
            method: b.map(|b| b.method.rsplit('.').next().unwrap_or(&b.method).to_string()).unwrap_or_default(),
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

    /// How long to wait for the prompt or the marker, while they have not come.
    pub fn timeout(&self) -> Option<std::time::Duration> {
        if self.pending {
            self.become_.as_ref().and_then(|b| b.timeout)
        } else {
            None
        }
    }

    /// What the command printed before the marker, in whole lines (a prompt waiting for an
    /// answer ends no line): the text Ansible puts in its timeout message.
    pub fn early_output(&self) -> String {
        let text = String::from_utf8_lossy(&self.pre_out);
        match text.rfind('\n') {
            Some(i) => text[..=i].trim().to_string(),
            None => String::new(),
        }
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
        let Some(b) = &self.become_ else { return Step::Nothing };
        let count = b.prompted(&String::from_utf8_lossy(buf));
        if count == 0 {
            return Step::Nothing;
        }
        if self.sent && count > 1 {
            return Step::Fail(self.incorrect());
        }
        if self.sent {
            return Step::Nothing;
        }
        match &b.password {
            Some(p) => {
                self.sent = true;
                Step::SendPassword(format!("{p}\n"))
            }
            None => Step::Fail(ConnError::Become(MISSING_PASSWORD.into())),
        }
    }

    /// At the end: a command that never printed the marker did not get to run. A known
    /// refusal (a wrong or missing password) is an error; anything else (sudo's folder that
    /// is not there, an unknown user) is the command's result, its output what was printed,
    /// as Ansible's connections hand it back.
    pub fn finish(&self, out: &mut Vec<u8>, err: &mut Vec<u8>) -> Result<(), ConnError> {
        if !self.pending {
            return Ok(());
        }
        let err_text = String::from_utf8_lossy(&self.pre_err).replace(SUDO_PROMPT, "");
        let out_text = String::from_utf8_lossy(&self.pre_out).into_owned();
        let text = format!("{} {}", err_text.trim(), out_text.trim());
        if WRONG_PASSWORD.iter().any(|w| text.contains(w)) {
            return Err(self.incorrect());
        }
        if text.contains("password is required") {
            return Err(ConnError::Become(MISSING_PASSWORD.into()));
        }
        out.extend_from_slice(out_text.as_bytes());
        err.extend_from_slice(err_text.as_bytes());
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sudo(flags: Option<&str>, password: Option<&str>) -> Become {
        Become {
            method: "sudo".into(),
            user: "app".into(),
            password: password.map(str::to_string),
            flags: flags.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn sudo_command_lines() {
        let inner = crate::pytext::shell_quote(&format!("echo {BECOME_SUCCESS}; id"));
        assert_eq!(sudo(None, None).wrap("id"), format!("sudo -H -S -n -u app /bin/sh -c {inner}"));
        // A password to type: no -n, alone or among short flags; sudo's prompt asked for.
        assert_eq!(
            sudo(Some("-Sn --set-home --intermediate-user 'a b'"), Some("pw")).wrap("id"),
            format!("sudo -S --set-home --intermediate-user 'a b' -p '{SUDO_PROMPT}' -u app /bin/sh -c {inner}")
        );
        // Flags set to nothing are no flags; no user is sudo's own default.
        let mut b = sudo(Some(""), None);
        b.user = String::new();
        b.chdir = Some("/no where".into());
        assert_eq!(b.wrap("id"), format!("cd '/no where' && sudo /bin/sh -c {inner}"));
    }

    #[test]
    fn su_prompts_in_any_language_or_the_ones_given() {
        let mut b = Become { method: "su".into(), user: "app".into(), password: Some("pw".into()), ..Default::default() };
        assert_eq!(b.prompted("Password: "), 1);
        assert_eq!(b.prompted("Пароль："), 1);
        assert_eq!(b.prompted("password :"), 1);
        assert_eq!(b.prompted("no prompt here"), 0);
        b.prompts = vec!["NOT_A_VALID_PROMPT".into()];
        assert_eq!(b.prompted("Password: "), 0);
        assert_eq!(b.wrap("id"), format!("su app -c {}", crate::pytext::shell_quote(&format!("echo {BECOME_SUCCESS}; id"))));
    }

    #[test]
    fn a_command_that_never_escalated_is_its_own_result() {
        let b = sudo(None, None);
        let mut hs = Handshake::new(Some(&b));
        let (mut out, mut err) = (vec![], vec![]);
        let _ = hs.on_stderr(b"sh: 1: cd: can't cd to /nonexistent_dir\n", &mut err);
        hs.finish(&mut out, &mut err).unwrap();
        assert_eq!(String::from_utf8_lossy(&err), "sh: 1: cd: can't cd to /nonexistent_dir\n");
        let mut hs = Handshake::new(Some(&b));
        let _ = hs.on_stderr(b"sudo: a password is required\n", &mut err);
        assert!(hs.finish(&mut out, &mut err).is_err());
    }
}
