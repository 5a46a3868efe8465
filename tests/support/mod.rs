//! Real hosts for the tests: sshd processes on 127.0.x.y addresses (logging in as the plain
//! account `fleet`, see TESTING.md), and Docker containers from tests/fleet when a test needs
//! isolation (sudo, an unreachable network behind a jump host).
#![allow(dead_code)]

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const USER: &str = "fleet";

fn sh(cmd: &str) -> Output {
    Command::new("/bin/sh").arg("-c").arg(cmd).output().expect("run /bin/sh")
}

/// The key every loopback host accepts, made once per machine.
pub fn key_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = PathBuf::from("/tmp/steward-test-ssh");
        std::fs::create_dir_all(&d).unwrap();
        if !d.join("id_ed25519").exists() {
            let o = sh(&format!("ssh-keygen -q -t ed25519 -N '' -C steward-tests -f {}/id_ed25519", d.display()));
            assert!(o.status.success(), "ssh-keygen: {o:?}");
        }
        replace_file(&d.join("authorized_keys"), &std::fs::read(d.join("id_ed25519.pub")).unwrap());
        // The account exists, is unlocked for key logins, and has a plain shell.
        let o =
            sh(&format!("id {USER} >/dev/null 2>&1 || {{ useradd -m -s /bin/bash {USER} && usermod -p '*' {USER}; }}; mkdir -p /run/sshd"));
        assert!(o.status.success(), "creating the test account needs root: {o:?}");
        d
    })
}

/// Let one more key log in. The file is replaced by a rename: the sshd processes of tests
/// running at the same time read it, and must never see it empty or half-written.
pub fn authorize(pubkey: &str) {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _held = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let auth = key_dir().join("authorized_keys");
    let mut keys = std::fs::read_to_string(&auth).unwrap();
    if !keys.contains(pubkey.trim()) {
        keys += pubkey;
        replace_file(&auth, keys.as_bytes());
    }
}

fn replace_file(path: &Path, data: &[u8]) {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, data).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

pub fn key() -> PathBuf {
    key_dir().join("id_ed25519")
}

static NET: AtomicU8 = AtomicU8::new(40);

pub struct Host {
    pub name: String,
    pub addr: String,
    pub host_key_pub: String,
    child: Child,
}

/// N sshd processes on their own 127.0.K.i addresses, with a known_hosts file and an inventory.
pub struct Loopback {
    pub dir: tempfile::TempDir,
    pub hosts: Vec<Host>,
    pub net: u8,
}

#[derive(Default, Clone)]
pub struct Opts {
    pub max_sessions: Option<u32>,
    pub password_auth: bool,
}

fn wait_port(addr: &str) {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(10) {
        if TcpStream::connect((addr, 22)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("sshd on {addr} did not start");
}

impl Loopback {
    pub fn start(n: usize, opts: Opts) -> Loopback {
        let keys = key_dir();
        let dir = tempfile::tempdir().unwrap();
        // A range nobody listens on (an earlier run that was killed may have left sshd behind).
        let net = loop {
            let k = NET.fetch_add(1, Ordering::SeqCst);
            let free = (1..=n).all(|i| {
                let addr = format!("127.0.{k}.{i}:22").parse().expect("an address");
                TcpStream::connect_timeout(&addr, Duration::from_millis(50)).is_err()
            });
            if free {
                break k;
            }
        };
        let mut hosts = Vec::new();
        for i in 1..=n {
            let name = format!("h{i}");
            let addr = format!("127.0.{net}.{i}");
            let hk = dir.path().join(format!("hostkey{i}"));
            let o = sh(&format!("ssh-keygen -q -t ed25519 -N '' -f {}", hk.display()));
            assert!(o.status.success());
            let conf = dir.path().join(format!("sshd{i}.conf"));
            let mut c = format!(
                "ListenAddress {addr}:22\nHostKey {}\nPidFile none\nUsePAM no\nStrictModes no\nAuthorizedKeysFile {}/authorized_keys\nAllowTcpForwarding yes\nSubsystem sftp internal-sftp\nPasswordAuthentication {}\nLogLevel ERROR\n",
                hk.display(),
                keys.display(),
                if opts.password_auth { "yes" } else { "no" }
            );
            if let Some(m) = opts.max_sessions {
                c += &format!("MaxSessions {m}\n");
            }
            std::fs::write(&conf, c).unwrap();
            let child = Command::new("/usr/sbin/sshd")
                .args(["-D", "-e", "-f"])
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start sshd (is openssh-server installed?)");
            let pubkey = std::fs::read_to_string(hk.with_extension("pub")).unwrap();
            let pubkey = pubkey.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
            hosts.push(Host { name, addr, host_key_pub: pubkey, child });
        }
        for h in &hosts {
            wait_port(&h.addr);
        }
        let lb = Loopback { dir, hosts, net };
        lb.write_known_hosts(&lb.known_hosts_text());
        lb
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn known_hosts_text(&self) -> String {
        self.hosts.iter().map(|h| format!("{} {}\n", h.addr, h.host_key_pub)).collect()
    }

    pub fn write_known_hosts(&self, text: &str) {
        std::fs::write(self.path("known_hosts"), text).unwrap();
    }

    /// An inventory of these hosts in group `fleet`, plus `extra` lines for more hosts.
    pub fn inventory(&self, extra: &str) -> PathBuf {
        let mut s = String::from("[fleet]\n");
        for h in &self.hosts {
            s += &format!("{} ansible_host={}\n", h.name, h.addr);
        }
        s += extra;
        s += &format!(
            "\n[fleet:vars]\nansible_user={USER}\nansible_ssh_private_key_file={}\nansible_ssh_common_args='-o UserKnownHostsFile={}'\nansible_python_interpreter=/usr/bin/python3\n",
            key().display(),
            self.path("known_hosts").display()
        );
        let p = self.path("inventory.ini");
        std::fs::write(&p, s).unwrap();
        p
    }

    /// A folder the `fleet` account may write to.
    pub fn data_dir(&self) -> PathBuf {
        let d = self.path("data");
        std::fs::create_dir_all(&d).unwrap();
        sh(&format!("chmod 777 {}", d.display()));
        d
    }

    /// An address in this test's range where nothing listens.
    pub fn dead_addr(&self) -> String {
        format!("127.0.{}.250", self.net)
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        for h in &mut self.hosts {
            let _ = h.child.kill();
            let _ = h.child.wait();
        }
    }
}

/// Run the steward binary in `cwd`, without a terminal, as a fresh user would (no colours, no
/// agent, no ansible.cfg from the environment).
pub fn steward(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("ANSIBLE_HOST_KEY_CHECKING")
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("ANSIBLE_CONFIG")
        // Not a terminal: what asks (-J, --step) must refuse, not wait.
        .stdin(Stdio::null())
        .output()
        .expect("run steward");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The recap lines, host -> "ok=.. changed=.. ...".
pub fn recap(stdout: &str) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let mut seen = false;
    for line in stdout.lines() {
        if line.starts_with("PLAY RECAP") {
            seen = true;
            continue;
        }
        if let (true, Some((h, rest))) = (seen, line.split_once(" : ")) {
            if rest.trim_start().starts_with("ok=") {
                out.insert(h.trim().to_string(), rest.split_whitespace().collect::<Vec<_>>().join(" "));
            }
        }
    }
    out
}

/// `placeholder` stands for `data` in contents; `top` records the entries right under `data` too.
pub fn snapshot_as(data: &Path, placeholder: &str, keep_top: bool) -> std::collections::BTreeMap<String, serde_json::Value> {
    fn walk(data: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, serde_json::Value>, ph: &str, keep_top: bool) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            let d = data.display().to_string();
            let rel = p.strip_prefix(data).unwrap().display().to_string().replace(d.trim_start_matches('/'), ph);
            let top = !rel.contains('/') && !keep_top;
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let mode = format!("{:04o}", std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777);
            let d = data.display().to_string();
            if meta.file_type().is_symlink() {
                out.insert(
                    rel,
                    serde_json::json!({"type": "link", "target": std::fs::read_link(&p).unwrap().display().to_string().replace(&d, ph)}),
                );
            } else if meta.is_dir() {
                // A host's own folder is not recorded, as in derive_rollout.sh.
                if !top {
                    out.insert(rel, serde_json::json!({"type": "directory", "mode": mode}));
                }
                walk(data, &p, out, ph, keep_top);
            } else {
                out.insert(
                    rel,
                    serde_json::json!({"type": "file", "mode": mode, "content": std::fs::read_to_string(&p).unwrap().replace(&d, ph)}),
                );
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(data, data, &mut out, placeholder, keep_top);
    out
}

pub fn write(path: &Path, text: &str) {
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Docker hosts from tests/fleet, removed when dropped. Names and the network are unique to
/// the test, so tests can run side by side.
pub struct Containers {
    pub prefix: String,
    pub state: PathBuf,
    pub inventory: PathBuf,
    _dir: tempfile::TempDir,
}

impl Containers {
    pub fn up(tag: &str, n: usize, env: &[(&str, &str)]) -> Containers {
        let dir = tempfile::tempdir().unwrap();
        let prefix = format!("stw{}{tag}", std::process::id());
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fleet/up");
        let mut cmd = Command::new(&script);
        cmd.arg(n.to_string())
            .env("STEWARD_FLEET_DIR", dir.path())
            .env("STEWARD_FLEET_PREFIX", &prefix)
            .env("STEWARD_FLEET_NET", format!("{prefix}net"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run tests/fleet/up");
        assert!(out.status.success(), "tests/fleet/up failed: {}", String::from_utf8_lossy(&out.stderr));
        let inventory = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().lines().last().unwrap_or_default());
        Containers { prefix, state: dir.path().to_path_buf(), inventory, _dir: dir }
    }

    pub fn name(&self, i: usize) -> String {
        format!("{}{i}", self.prefix)
    }

    pub fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker").args(args).output().expect("docker")
    }
}

impl Drop for Containers {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fleet/down");
        let _ =
            Command::new(script).env("STEWARD_FLEET_PREFIX", &self.prefix).env("STEWARD_FLEET_NET", format!("{}net", self.prefix)).output();
    }
}
