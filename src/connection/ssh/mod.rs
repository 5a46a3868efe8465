//! The SSH transport, on russh: one connection per host for the whole run, many channels on
//! it, at most MaxSessions at once (learned from the server: a refused channel while others are
//! open shrinks the limit, and the next one waits), keepalives, connect timeouts, ProxyJump
//! through any number of hops, ProxyCommand, host keys checked against known_hosts, and
//! authentication by key file, ssh-agent or password. Files move over SFTP, streamed, with a
//! fallback through `cat` on an exec channel.

pub mod config;
pub mod known_hosts;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use russh::client::{self, Handle};
use russh::keys::{PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh::{ChannelMsg, Disconnect};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, Semaphore};

use super::{ConnError, Connection, ExecOutput, ExecRequest, Handshake, Step};
pub use config::Strict;

/// Everything needed to reach one host (or one hop on the way).
#[derive(Clone, Debug)]
pub struct Target {
    /// The name people know the host by (inventory name or hop spec), for messages.
    pub name: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub key_files: Vec<PathBuf>,
    pub identities_only: bool,
    pub jumps: Vec<Target>,
    pub proxy_command: Option<String>,
    pub known_hosts: Vec<PathBuf>,
    pub strict: Strict,
    pub connect_timeout: Duration,
    pub keepalive: Duration,
    pub keepalive_max: usize,
    pub key_passphrase: Option<String>,
}

/// What the inventory and command line say about a host's connection (Ansible's variables).
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub private_key_file: Option<String>,
    pub ssh_args: String,
    pub timeout: Option<u64>,
    /// `host_key_checking = False` (Ansible's setting) turns checking off.
    pub host_key_checking: Option<bool>,
    pub ssh_config: Option<PathBuf>,
    pub key_passphrase: Option<String>,
}

fn current_user() -> String {
    std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "root".into())
}

fn home() -> PathBuf {
    std::env::var("HOME").map(PathBuf::from).unwrap_or_default()
}

/// `[user@]host[:port]` as ProxyJump writes a hop.
fn parse_hop(spec: &str) -> (Option<String>, String, Option<u16>) {
    let (user, rest) = match spec.rsplit_once('@') {
        Some((u, r)) => (Some(u.to_string()), r),
        None => (None, spec),
    };
    if let Some(inner) = rest.strip_prefix('[') {
        if let Some((h, p)) = inner.split_once("]:") {
            return (user, h.to_string(), p.parse().ok());
        }
    }
    match rest.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (user, h.to_string(), p.parse().ok()),
        _ => (user, rest.to_string(), None),
    }
}

impl Target {
    /// For `-vvv`: where and how steward connects (the password, if any, is not shown).
    pub fn describe(&self) -> String {
        let auth = match (&self.password, self.key_files.is_empty()) {
            (Some(_), _) => "password".to_string(),
            (None, false) => format!("keys {}", self.key_files.iter().map(|k| k.display().to_string()).collect::<Vec<_>>().join(", ")),
            (None, true) => "the agent and default keys".to_string(),
        };
        let mut s = format!(
            "SSH CONNECTION FOR USER: {} to {}:{} (auth: {auth}; host keys: {:?} in {}; timeout {}s)",
            self.user,
            self.host,
            self.port,
            self.strict,
            self.known_hosts.iter().map(|k| k.display().to_string()).collect::<Vec<_>>().join(", "),
            self.connect_timeout.as_secs()
        );
        for j in &self.jumps {
            s += &format!(" via jump {}@{}:{}", j.user, j.host, j.port);
        }
        if let Some(p) = &self.proxy_command {
            s += &format!(" via ProxyCommand {p}");
        }
        s
    }

    /// Resolve a host: inventory settings first, then `-o` arguments, then ssh_config, then
    /// OpenSSH's defaults.
    pub fn resolve(name: &str, s: &Settings) -> Target {
        let mut s = s.clone();
        if s.ssh_config.is_none() {
            s.ssh_config = config::config_file_from_args(&s.ssh_args);
        }
        let s = &s;
        let lookup = s.host.clone().unwrap_or_else(|| name.to_string());
        let opts = config::options_from_args(&s.ssh_args, &lookup).or(config::options_for(&lookup, s.ssh_config.as_deref()));
        Self::build(name, &lookup, s.port, s.user.clone(), opts, s, 0)
    }

    fn build(
        name: &str,
        lookup: &str,
        port: Option<u16>,
        user: Option<String>,
        o: config::HostOptions,
        s: &Settings,
        depth: usize,
    ) -> Target {
        let mut key_files: Vec<PathBuf> = Vec::new();
        if let Some(k) = &s.private_key_file {
            key_files.push(PathBuf::from(shellexpand_home(k)));
        }
        key_files.extend(o.identity_files.iter().map(|f| PathBuf::from(shellexpand_home(f))));
        let mut known = Vec::new();
        match &o.user_known_hosts {
            Some(files) => known.extend(files.iter().map(|f| PathBuf::from(shellexpand_home(f)))),
            None => known.push(home().join(".ssh/known_hosts")),
        }
        match &o.global_known_hosts {
            Some(files) => known.extend(files.iter().map(PathBuf::from)),
            None => known.push(PathBuf::from("/etc/ssh/ssh_known_hosts")),
        }
        let strict = match s.host_key_checking {
            Some(false) => Strict::No,
            _ => o.strict.unwrap_or(Strict::Yes),
        };
        let mut jumps = Vec::new();
        if let Some(j) = o.proxy_jump.as_deref().filter(|j| !j.eq_ignore_ascii_case("none")) {
            if depth < 8 {
                for hop in j.split(',').map(str::trim).filter(|h| !h.is_empty()) {
                    let (u, h, p) = parse_hop(hop);
                    let hop_opts = config::options_for(&h, s.ssh_config.as_deref());
                    // A hop takes its own settings from ssh_config, not the target's inventory ones.
                    let hop_settings =
                        Settings { ssh_config: s.ssh_config.clone(), host_key_checking: s.host_key_checking, ..Default::default() };
                    let mut t = Self::build(hop, &h, p, u, hop_opts, &hop_settings, depth + 1);
                    // Hops before this one are reached through the earlier hops, not again.
                    t.jumps.clear();
                    jumps.push(t);
                }
            }
        }
        let host = o.hostname.clone().unwrap_or_else(|| lookup.to_string());
        let port = port.or(o.port).unwrap_or(22);
        let proxy_command = o.proxy_command.filter(|c| !c.eq_ignore_ascii_case("none")).map(|c| {
            c.replace("%h", &host).replace("%p", &port.to_string()).replace("%r", user.as_deref().unwrap_or("")).replace("%%", "%")
        });
        Target {
            name: name.to_string(),
            host,
            port,
            user: user.or(o.user).unwrap_or_else(current_user),
            password: s.password.clone(),
            key_files,
            identities_only: o.identities_only.unwrap_or(false),
            jumps,
            proxy_command,
            known_hosts: known,
            strict,
            connect_timeout: Duration::from_secs(s.timeout.or(o.connect_timeout).unwrap_or(10)),
            keepalive: Duration::from_secs(o.server_alive_interval.unwrap_or(15).max(1)),
            keepalive_max: o.server_alive_count_max.unwrap_or(3),
            key_passphrase: s.key_passphrase.clone(),
        }
    }
}

fn shellexpand_home(p: &str) -> String {
    match p.strip_prefix("~/") {
        Some(rest) => home().join(rest).display().to_string(),
        None => p.to_string(),
    }
}

/// russh calls this during the handshake; the host key is checked here.
struct Client {
    host: String,
    port: u16,
    files: Vec<PathBuf>,
    strict: Strict,
    /// Why the key was refused, for the error message.
    refusal: Arc<Mutex<Option<String>>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(&mut self, key: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let key: &PublicKey = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key,
            PublicKeyOrCertificate::Certificate(_) => {
                *self.refusal.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some("the server offered a host certificate; steward checks plain host keys only".into());
                return Ok(false);
            }
        };
        if self.strict == Strict::No {
            return Ok(true);
        }
        let verdict = known_hosts::check(&self.files, &self.host, self.port, key);
        let fp = key.fingerprint(Default::default());
        let name = known_hosts::host_entry_name(&self.host, self.port);
        let refusal = match verdict {
            known_hosts::Verdict::Trusted => return Ok(true),
            known_hosts::Verdict::Unknown if self.strict == Strict::AcceptNew => {
                let file = self.files.first().cloned().unwrap_or_else(|| home().join(".ssh/known_hosts"));
                return Ok(known_hosts::append(&file, &self.host, self.port, key).is_ok());
            }
            known_hosts::Verdict::Unknown => format!(
                "the host key of {name} is not known ({} {fp}). If it is right, trust it with `ssh-keyscan -p {} {} >> ~/.ssh/known_hosts`, or set `StrictHostKeyChecking accept-new` for it in ~/.ssh/config (or ANSIBLE_HOST_KEY_CHECKING=False)",
                key.algorithm(),
                self.port,
                self.host
            ),
            known_hosts::Verdict::Changed { file, line } => format!(
                "WARNING: THE HOST KEY OF {name} HAS CHANGED! Someone could be intercepting the connection (man in the middle), or the host was reinstalled. It now offers {} {fp}, which does not match {}:{line}. steward refuses to connect; if the change is expected, remove the old key with `ssh-keygen -R {}` and trust the new one",
                key.algorithm(),
                file.display(),
                if self.port == 22 { self.host.clone() } else { format!("'[{}]:{}'", self.host, self.port) }
            ),
            known_hosts::Verdict::Revoked { file } => format!("the host key of {name} ({fp}) is marked @revoked in {}", file.display()),
        };
        *self.refusal.lock().unwrap_or_else(|e| e.into_inner()) = Some(refusal);
        Ok(false)
    }
}

/// An open SSH connection to a host.
pub struct Ssh {
    name: String,
    handle: Handle<Client>,
    /// Channels that may be open at once; shrinks to the server's MaxSessions.
    sessions: Arc<Semaphore>,
    /// How many slots `sessions` still has in all (it never drops below one).
    capacity: AtomicUsize,
    open: Arc<AtomicUsize>,
    /// Idle long-lived shells that run plain commands without a new channel each time.
    shells: tokio::sync::Mutex<Vec<Shell>>,
    /// Signalled when a shell goes back to `shells`, for tasks waiting for a slot.
    returned: tokio::sync::Notify,
    /// Connections to jump hosts, kept open as long as this one.
    _jumps: Vec<Handle<Client>>,
    /// Probes answered in batches, until anything else runs on the host.
    probes: super::probes::ProbeCache,
}

/// A `/bin/sh` kept running on its own channel. Each command is sent as `( eval '...' )`, so
/// `exit` and syntax errors stay inside a subshell; a random mark after it on stdout (with the
/// exit code) and on stderr tells where its output ends. This saves the server a channel and
/// two shell start-ups per command.
struct Shell {
    rd: russh::ChannelReadHalf,
    wr: russh::ChannelWriteHalf<client::Msg>,
    mark: String,
    _guard: ChannelGuard,
}

const MAX_SHELLS: usize = 4;

fn find_bytes(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl Shell {
    /// Close the shell's channel and wait (briefly) until the server has closed it too, so
    /// its session slot is free for the next channel.
    async fn retire(mut self) {
        let _ = self.wr.eof().await;
        let _ = self.wr.close().await;
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(m) = self.rd.wait().await {
                if matches!(m, ChannelMsg::Close) {
                    break;
                }
            }
        })
        .await;
    }

    async fn run(&mut self, cmd: &str) -> Result<(i32, Vec<u8>, Vec<u8>), String> {
        let line = format!(
            "( eval {} ) </dev/null; printf '%s %d\\n' '{m}' $?; printf '%s\\n' '{m}' >&2\n",
            crate::pytext::shell_quote(cmd),
            m = self.mark
        );
        self.wr.data_bytes(line.into_bytes()).await.map_err(|e| e.to_string())?;
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let (mut rc, mut err_done) = (None::<i32>, false);
        let mark = self.mark.as_bytes();
        // Where the mark may start in each buffer: only new bytes are searched.
        let (mut out_from, mut err_from) = (0usize, 0usize);
        while rc.is_none() || !err_done {
            match self.rd.wait().await {
                Some(ChannelMsg::Data { data }) => {
                    out.extend_from_slice(&data);
                    if rc.is_none() {
                        if let Some(pos) = find_bytes(&out[out_from..], mark).map(|p| p + out_from) {
                            let tail = &out[pos + mark.len()..];
                            if let Some(nl) = tail.iter().position(|b| *b == b'\n') {
                                rc = String::from_utf8_lossy(&tail[..nl]).trim().parse().ok().or(Some(-1));
                                out.truncate(pos);
                            }
                        } else {
                            out_from = out.len().saturating_sub(mark.len());
                        }
                    }
                }
                Some(ChannelMsg::ExtendedData { data, ext: 1 }) => {
                    err.extend_from_slice(&data);
                    if !err_done {
                        if let Some(pos) = find_bytes(&err[err_from..], mark).map(|p| p + err_from) {
                            err.truncate(pos);
                            err_done = true;
                        } else {
                            err_from = err.len().saturating_sub(mark.len());
                        }
                    }
                }
                Some(ChannelMsg::Eof | ChannelMsg::Close | ChannelMsg::ExitStatus { .. }) | None => return Err("the shell ended".into()),
                Some(_) => {}
            }
        }
        Ok((rc.unwrap_or(-1), out, err))
    }
}

type Stream = Box<dyn Duplex>;
trait Duplex: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Duplex for T {}

fn unreachable(t: &Target, what: impl std::fmt::Display) -> ConnError {
    ConnError::Unreachable(format!("Failed to connect to the host via ssh: {}@{}:{}: {what}", t.user, t.host, t.port))
}

async fn proxy_command(t: &Target, cmd: &str) -> Result<Stream, ConnError> {
    let mut child = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| unreachable(t, format!("ProxyCommand `{cmd}` could not start: {e}")))?;
    let (Some(out), Some(inp)) = (child.stdout.take(), child.stdin.take()) else {
        return Err(unreachable(t, "ProxyCommand has no pipes"));
    };
    // The child lives as long as the stream: it is moved into a task that waits for it.
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
    Ok(Box::new(tokio::io::join(out, inp)))
}

async fn authenticate(h: &mut Handle<Client>, t: &Target) -> Result<(), ConnError> {
    let mut tried: Vec<String> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    let rsa_hash = h.best_supported_rsa_hash().await.ok().flatten().flatten();
    let mut keys: Vec<PathBuf> = t.key_files.clone();
    if keys.is_empty() || !t.identities_only {
        for d in ["id_ed25519", "id_ecdsa", "id_rsa"] {
            let p = home().join(".ssh").join(d);
            if p.exists() && !keys.contains(&p) {
                keys.push(p);
            }
        }
    }
    let explicit = t.key_files.len();
    for (i, path) in keys.iter().enumerate() {
        if !path.exists() {
            if i < explicit {
                problems.push(format!("key file {} does not exist", path.display()));
            }
            continue;
        }
        let key = match russh::keys::load_secret_key(path, t.key_passphrase.as_deref()) {
            Ok(k) => k,
            Err(russh::keys::Error::KeyIsEncrypted) => {
                problems.push(format!(
                    "key {} is encrypted and no passphrase was given (add it to ssh-agent, or pass the passphrase)",
                    path.display()
                ));
                continue;
            }
            Err(e) if t.key_passphrase.is_some() => {
                problems.push(format!("key {} could not be decrypted: wrong passphrase? ({e})", path.display()));
                continue;
            }
            Err(e) => {
                problems.push(format!("key {} could not be read: {e}", path.display()));
                continue;
            }
        };
        tried.push(path.display().to_string());
        let res =
            h.authenticate_publickey(&t.user, PrivateKeyWithHashAlg::new(Arc::new(key), rsa_hash)).await.map_err(|e| unreachable(t, e))?;
        if res.success() {
            return Ok(());
        }
    }
    if !t.identities_only || t.key_files.is_empty() {
        if let Ok(mut agent) = russh::keys::agent::client::AgentClient::connect_env().await {
            if let Ok(ids) = agent.request_identities().await {
                for id in ids {
                    if let russh::keys::agent::AgentIdentity::PublicKey { key, .. } = id {
                        tried.push("ssh-agent".into());
                        match h.authenticate_publickey_with(&t.user, key, rsa_hash, &mut agent).await {
                            Ok(r) if r.success() => return Ok(()),
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    if let Some(pw) = &t.password {
        tried.push("password".into());
        let res = h.authenticate_password(&t.user, pw).await.map_err(|e| unreachable(t, e))?;
        if res.success() {
            return Ok(());
        }
    }
    tried.dedup();
    let mut msg = format!(
        "Permission denied for {}@{} (tried: {})",
        t.user,
        t.host,
        if tried.is_empty() { "nothing".into() } else { tried.join(", ") }
    );
    for p in problems {
        msg += &format!("; {p}");
    }
    Err(ConnError::Unreachable(msg))
}

/// Open an SSH session over `stream` (or a new TCP connection) and log in.
async fn handshake(t: &Target, stream: Option<Stream>) -> Result<Handle<Client>, ConnError> {
    let refusal = Arc::new(Mutex::new(None));
    let handler = Client { host: t.host.clone(), port: t.port, files: t.known_hosts.clone(), strict: t.strict, refusal: refusal.clone() };
    let config = Arc::new(client::Config {
        inactivity_timeout: None,
        keepalive_interval: Some(t.keepalive),
        keepalive_max: t.keepalive_max,
        nodelay: true,
        ..Default::default()
    });
    let stream: Stream = match stream {
        Some(s) => s,
        None => match &t.proxy_command {
            Some(cmd) => proxy_command(t, cmd).await?,
            None => {
                let tcp = tokio::time::timeout(t.connect_timeout, tokio::net::TcpStream::connect((t.host.as_str(), t.port)))
                    .await
                    .map_err(|_| unreachable(t, format!("connection timed out after {}s", t.connect_timeout.as_secs())))?
                    .map_err(|e| unreachable(t, e))?;
                let _ = tcp.set_nodelay(true);
                Box::new(tcp)
            }
        },
    };
    // russh reads a packet's length and then its body, each a read of its own: buffered, one
    // system call takes what the server sent in one go. 8 KiB holds most packets of a
    // command's output; the buffer is kept per connection (64 KiB put a thousand hosts' run
    // over 200 MB).
    let stream = tokio::io::BufReader::with_capacity(8 * 1024, stream);
    let connected = tokio::time::timeout(t.connect_timeout + Duration::from_secs(5), client::connect_stream(config, stream, handler)).await;
    let mut h = match connected {
        Err(_) => return Err(unreachable(t, "the SSH handshake timed out")),
        Ok(Err(e)) => {
            let why = refusal.lock().unwrap_or_else(|e| e.into_inner()).take();
            return Err(match why {
                Some(w) => ConnError::Unreachable(w),
                None => unreachable(t, e),
            });
        }
        Ok(Ok(h)) => h,
    };
    tokio::time::timeout(t.connect_timeout + Duration::from_secs(20), authenticate(&mut h, t))
        .await
        .map_err(|_| unreachable(t, "authentication timed out"))??;
    Ok(h)
}

impl Ssh {
    /// Connect to a host, through its jump hosts if it has any.
    pub async fn connect(t: &Target) -> Result<Ssh, ConnError> {
        let mut jumps: Vec<Handle<Client>> = Vec::new();
        let mut stream: Option<Stream> = None;
        let hops: Vec<&Target> = t.jumps.iter().collect();
        for (i, hop) in hops.iter().enumerate() {
            let h = handshake(hop, stream.take()).await.map_err(|e| match e {
                ConnError::Unreachable(m) => ConnError::Unreachable(format!("jump host {}: {m}", hop.name)),
                other => other,
            })?;
            let (next_host, next_port) = match hops.get(i + 1) {
                Some(n) => (n.host.clone(), n.port),
                None => (t.host.clone(), t.port),
            };
            let ch = h
                .channel_open_direct_tcpip(next_host.clone(), next_port as u32, "127.0.0.1", 0)
                .await
                .map_err(|e| unreachable(t, format!("jump host {} could not reach {next_host}:{next_port}: {e}", hop.name)))?;
            stream = Some(Box::new(ch.into_stream()));
            jumps.push(h);
        }
        let handle = handshake(t, stream).await?;
        Ok(Ssh {
            name: t.name.clone(),
            handle,
            sessions: Arc::new(Semaphore::new(10)),
            capacity: AtomicUsize::new(10),
            open: Arc::new(AtomicUsize::new(0)),
            shells: tokio::sync::Mutex::new(Vec::new()),
            returned: tokio::sync::Notify::new(),
            _jumps: jumps,
            probes: super::probes::ProbeCache::for_address(&format!("ssh:{}:{}", t.host, t.port)),
        })
    }

    fn dropped(&self, e: impl std::fmt::Display) -> ConnError {
        ConnError::Unreachable(format!("the SSH connection to {} was lost: {e}", self.name))
    }

    /// A new channel, waiting for a free session when the server's MaxSessions is reached
    /// (an idle shell gives its session back for it).
    async fn channel(&self) -> Result<(russh::Channel<client::Msg>, ChannelGuard), ConnError> {
        let mut refused = 0u32;
        loop {
            let permit = match self.sessions.clone().try_acquire_owned() {
                Ok(p) => p,
                Err(_) => {
                    let idle = self.shells.lock().await.pop();
                    if let Some(sh) = idle {
                        sh.retire().await;
                        continue;
                    }
                    let returned = self.returned.notified();
                    tokio::select! {
                        p = self.sessions.clone().acquire_owned() => p.map_err(|e| self.dropped(e))?,
                        _ = returned => continue,
                    }
                }
            };
            if let Some(c) = self.open_with(permit, &mut refused).await? {
                return Ok(c);
            }
        }
    }

    /// Open a session channel with a slot in hand; `None` when the server refused it and the
    /// caller should try again (after the slot count has adapted, or a short wait).
    async fn open_with(
        &self,
        permit: tokio::sync::OwnedSemaphorePermit,
        refused: &mut u32,
    ) -> Result<Option<(russh::Channel<client::Msg>, ChannelGuard)>, ConnError> {
        if self.handle.is_closed() {
            return Err(self.dropped("closed by the server"));
        }
        match self.handle.channel_open_session().await {
            Ok(ch) => {
                self.open.fetch_add(1, Ordering::SeqCst);
                Ok(Some((ch, ChannelGuard { _permit: permit, open: self.open.clone() })))
            }
            Err(russh::Error::ChannelOpenFailure(reason)) => {
                *refused += 1;
                if self.open.load(Ordering::SeqCst) > 0 {
                    // Refused while others are open: the server's MaxSessions. Keep one slot
                    // less from now on (we hold a slot besides the open channels, so the count
                    // never reaches zero) and wait for a channel to close.
                    self.capacity.fetch_sub(1, Ordering::SeqCst);
                    permit.forget();
                    return Ok(None);
                }
                // The server may still be closing a channel we are done with.
                drop(permit);
                if *refused > 60 {
                    return Err(ConnError::Io(format!("the server keeps refusing session channels: {reason:?}")));
                }
                tokio::time::sleep(Duration::from_millis(10 * u64::from((*refused).min(20)))).await;
                Ok(None)
            }
            Err(e) => Err(self.dropped(e)),
        }
    }

    /// Run a plain command in a long-lived shell (opened on first use).
    async fn exec_in_shell(&self, req: &ExecRequest) -> Result<ExecOutput, ConnError> {
        let mut shell = self.shell().await?;
        let (rc, stdout, stderr) = match shell.run(&req.command_line()).await {
            Ok(r) => r,
            Err(e) if self.handle.is_closed() => return Err(self.dropped(e)),
            Err(e) => return Err(self.dropped(format!("the command's shell ended: {e}"))),
        };
        let mut out = ExecOutput { rc, stdout: Vec::new(), stderr: Vec::new() };
        let mut hs = Handshake::new(req.become_.as_ref());
        // The two streams come apart here, so stdout goes first: once it shows the marker,
        // all of stderr is the command's (as Ansible keeps what sudo printed that is not a
        // prompt); without the marker, stderr says why.
        let _ = hs.on_stdout(&stdout, &mut out.stdout);
        if let Step::Fail(e) = hs.on_stderr(&stderr, &mut out.stderr) {
            self.keep(shell).await;
            return Err(e);
        }
        self.keep(shell).await;
        hs.finish(&mut out.stdout, &mut out.stderr)?;
        Ok(out)
    }

    /// An idle shell, or a new one when a slot is free; else wait for one of the two. A shell
    /// never takes another shell's slot: busy shells come back soon.
    async fn shell(&self) -> Result<Shell, ConnError> {
        let mut refused = 0u32;
        loop {
            let returned = self.returned.notified();
            let idle = self.shells.lock().await.pop();
            if let Some(s) = idle {
                return Ok(s);
            }
            let permit = match self.sessions.clone().try_acquire_owned() {
                Ok(p) => p,
                Err(_) => tokio::select! {
                    _ = returned => continue,
                    p = self.sessions.clone().acquire_owned() => p.map_err(|e| self.dropped(e))?,
                },
            };
            let Some((ch, guard)) = self.open_with(permit, &mut refused).await? else { continue };
            ch.exec(true, "exec /bin/sh").await.map_err(|e| self.dropped(e))?;
            let (rd, wr) = ch.split();
            let mut b = [0u8; 16];
            crate::random::fill(&mut b);
            let mark = format!("STEWARD-END-{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>());
            return Ok(Shell { rd, wr, mark, _guard: guard });
        }
    }

    async fn keep(&self, shell: Shell) {
        let mut pool = self.shells.lock().await;
        if pool.len() < MAX_SHELLS {
            pool.push(shell);
            drop(pool);
        } else {
            drop(pool);
            shell.retire().await;
        }
        self.returned.notify_one();
    }

    async fn sftp(&self) -> Result<(russh_sftp::client::SftpSession, ChannelGuard), ConnError> {
        let (ch, guard) = self.channel().await?;
        ch.request_subsystem(true, "sftp").await.map_err(|e| ConnError::Io(format!("sftp subsystem: {e}")))?;
        let s = russh_sftp::client::SftpSession::new(ch.into_stream()).await.map_err(|e| ConnError::Io(format!("sftp: {e}")))?;
        s.set_timeout(120);
        Ok((s, guard))
    }
}

struct ChannelGuard {
    _permit: tokio::sync::OwnedSemaphorePermit,
    open: Arc<AtomicUsize>,
}

impl Drop for ChannelGuard {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What the reading side asks the writing side of a channel to do.
enum Write {
    Bytes(Vec<u8>),
    /// Send the request's stdin (bytes or file), then EOF.
    Stdin,
}

#[async_trait]
impl Connection for Ssh {
    async fn exec(&self, req: ExecRequest) -> Result<ExecOutput, ConnError> {
        let _changing = (!req.read_only).then(|| self.probes.changing());
        // Commands without input (and without a password prompt to answer) go to a long-lived shell.
        let plain = req.stdin.is_none() && req.stdin_file.is_none() && req.become_.as_ref().is_none_or(|b| b.password.is_none());
        if plain {
            return self.exec_in_shell(&req).await;
        }
        let line = format!("/bin/sh -c {}", crate::pytext::shell_quote(&req.command_line()));
        let (ch, _guard) = self.channel().await?;
        if req.become_.as_ref().is_some_and(|b| b.needs_tty()) {
            ch.request_pty(true, "xterm", 200, 50, 0, 0, &[]).await.map_err(|e| self.dropped(e))?;
        }
        ch.exec(true, line).await.map_err(|e| self.dropped(e))?;
        let (mut rd, wr) = ch.split();
        let (wtx, mut wrx) = mpsc::channel::<Write>(4);
        let stdin = (req.stdin.clone(), req.stdin_file.clone());
        // The writer runs beside the reader, so a command that reads its stdin slowly while
        // printing a lot never stalls the channel.
        let writer = tokio::spawn(async move {
            while let Some(w) = wrx.recv().await {
                match w {
                    Write::Bytes(b) => {
                        if wr.data_bytes(b).await.is_err() {
                            return;
                        }
                    }
                    Write::Stdin => {
                        if let Some(data) = &stdin.0 {
                            if wr.data(&data[..]).await.is_err() {
                                return;
                            }
                        }
                        if let Some(f) = &stdin.1 {
                            if let Ok(file) = tokio::fs::File::open(f).await {
                                if wr.data(tokio::io::BufReader::with_capacity(256 * 1024, file)).await.is_err() {
                                    return;
                                }
                            }
                        }
                        let _ = wr.eof().await;
                        return;
                    }
                }
            }
        });
        let mut hs = Handshake::new(req.become_.as_ref());
        if hs.started() {
            let _ = wtx.send(Write::Stdin).await;
        }
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut rc: Option<i32> = None;
        loop {
            // Until the prompt or the marker comes, silence for too long means the host is
            // not answering as it should (Ansible's ssh plugin counts it unreachable).
            let msg = match hs.timeout() {
                Some(t) => match tokio::time::timeout(t, rd.wait()).await {
                    Ok(m) => m,
                    Err(_) => {
                        writer.abort();
                        return Err(ConnError::Unreachable(format!(
                            "Timeout ({}s) waiting for privilege escalation prompt: {}",
                            t.as_secs(),
                            hs.early_output()
                        )));
                    }
                },
                None => rd.wait().await,
            };
            let Some(msg) = msg else { break };
            let step = match msg {
                ChannelMsg::Data { data } => hs.on_stdout(&data, &mut out),
                ChannelMsg::ExtendedData { data, ext: 1 } => hs.on_stderr(&data, &mut err),
                ChannelMsg::ExitStatus { exit_status } => {
                    rc = Some(exit_status as i32);
                    Step::Nothing
                }
                ChannelMsg::ExitSignal { signal_name, .. } => {
                    rc = Some(128 + signal_number(&signal_name));
                    Step::Nothing
                }
                ChannelMsg::Close => break,
                _ => Step::Nothing,
            };
            match step {
                Step::Nothing => {}
                Step::SendPassword(p) => {
                    let _ = wtx.send(Write::Bytes(p.into_bytes())).await;
                }
                Step::Start => {
                    let _ = wtx.send(Write::Stdin).await;
                }
                Step::Fail(e) => {
                    writer.abort();
                    return Err(e);
                }
            }
        }
        drop(wtx);
        writer.abort();
        hs.finish(&mut out, &mut err)?;
        match rc {
            Some(rc) => Ok(ExecOutput { rc, stdout: out, stderr: err }),
            None if self.handle.is_closed() => Err(self.dropped("the connection closed while a command ran")),
            // Some servers close a channel without an exit status.
            None => Ok(ExecOutput { rc: -1, stdout: out, stderr: err }),
        }
    }

    async fn put_file(&self, local: &Path, dest: &str) -> Result<(), ConnError> {
        let _changing = self.probes.changing();
        let mut file = tokio::fs::File::open(local).await.map_err(|e| ConnError::Io(format!("cannot read {}: {e}", local.display())))?;
        match self.sftp().await {
            Ok((sftp, _guard)) => {
                let mut remote = sftp.create(dest).await.map_err(|e| ConnError::Io(format!("sftp: cannot create {dest}: {e}")))?;
                tokio::io::copy_buf(&mut tokio::io::BufReader::with_capacity(256 * 1024, &mut file), &mut remote)
                    .await
                    .map_err(|e| ConnError::Io(format!("sftp: writing {dest}: {e}")))?;
                remote.shutdown().await.map_err(|e| ConnError::Io(format!("sftp: closing {dest}: {e}")))?;
                let _ = sftp.close().await;
                Ok(())
            }
            Err(_) => {
                // No SFTP on the server: stream through `cat` on an exec channel.
                let req = ExecRequest {
                    cmd: format!("cat > {}", crate::pytext::shell_quote(dest)),
                    stdin_file: Some(local.to_path_buf()),
                    ..Default::default()
                };
                let out = self.exec(req).await?;
                if out.rc != 0 {
                    return Err(ConnError::Io(format!("cannot write {dest}: {}", out.stderr_str().trim())));
                }
                Ok(())
            }
        }
    }

    async fn get_file(&self, path: &str) -> Result<Vec<u8>, ConnError> {
        if let Ok((sftp, _guard)) = self.sftp().await {
            if let Ok(data) = sftp.read(path).await {
                let _ = sftp.close().await;
                return Ok(data);
            }
        }
        let out = self.exec(ExecRequest { cmd: format!("cat {}", crate::pytext::shell_quote(path)), ..Default::default() }).await?;
        if out.rc != 0 {
            return Err(ConnError::Io(format!("cannot read {path}: {}", out.stderr_str().trim())));
        }
        Ok(out.stdout)
    }

    async fn close(&self) {
        let _ = self.handle.disconnect(Disconnect::ByApplication, "", "en").await;
    }

    fn transport(&self) -> &'static str {
        "ssh"
    }

    fn probes(&self) -> Option<&super::probes::ProbeCache> {
        Some(&self.probes)
    }
}

fn signal_number(s: &russh::Sig) -> i32 {
    use russh::Sig::*;
    match s {
        HUP => 1,
        INT => 2,
        QUIT => 3,
        ILL => 4,
        ABRT => 6,
        FPE => 8,
        KILL => 9,
        SEGV => 11,
        PIPE => 13,
        ALRM => 14,
        TERM => 15,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hops() {
        assert_eq!(parse_hop("deploy@bastion:2222"), (Some("deploy".into()), "bastion".into(), Some(2222)));
        assert_eq!(parse_hop("bastion"), (None, "bastion".into(), None));
        assert_eq!(parse_hop("[::1]:22"), (None, "::1".into(), Some(22)));
    }
}
