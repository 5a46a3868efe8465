//! Over SSH, on real OpenSSH servers: loopback sshd processes (as the plain account `fleet`) and
//! Docker hosts from tests/fleet where a test needs isolation (sudo, a network behind a jump
//! host). Nothing here is a mock: every test talks to sshd.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use support::{recap, steward, write, Containers, Loopback, Opts};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn ok(stdout: &str, host: &str) -> String {
    recap(stdout).get(host).cloned().unwrap_or_else(|| panic!("no recap for {host}:\n{stdout}"))
}

/// Every file under `data`, as tests/ansible/derive_rollout.sh records them.
fn snapshot(data: &Path) -> BTreeMap<String, Value> {
    support::snapshot_as(data, "{{data}}", false)
}

#[test]
fn rollout_on_ten_hosts_matches_ansible() {
    let fleet = Loopback::start(10, Opts::default());
    let inv = fleet.inventory("");
    let data = fleet.data_dir();
    let root = format!("root={}/{{{{ inventory_hostname }}}}", data.display());
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(repo().join("tests/ssh/rollout-expected.json")).unwrap()).unwrap();
    let pb = repo().join("playbooks");
    for run in ["first", "second"] {
        let (code, out, err) = steward(&["run", "-i", inv.to_str().unwrap(), "rollout.yml", "-e", &root], &pb);
        assert_eq!(code, 0, "{out}\n{err}");
        let want: BTreeMap<String, String> = serde_json::from_value(expected[run].clone()).unwrap();
        assert_eq!(recap(&out), want, "{run} run differs from ansible-playbook:\n{out}");
    }
    let want: BTreeMap<String, Value> = serde_json::from_value(expected["files"].clone()).unwrap();
    let got = snapshot(&data);
    for (path, w) in &want {
        assert_eq!(got.get(path), Some(w), "{path} differs from what ansible-playbook left");
    }
    assert_eq!(
        got.len(),
        want.len(),
        "steward left other files than ansible-playbook: {:?}",
        got.keys().filter(|k| !want.contains_key(*k)).collect::<Vec<_>>()
    );
}

/// Four shard processes side by side over the loopback fleet, merged, give the recap and the
/// files of one unsharded run of the same rollout.
#[test]
fn four_shards_merged_are_one_run() {
    let fleet = Loopback::start(8, Opts::default());
    let inv = fleet.inventory("");
    let pb = repo().join("playbooks");
    let run_into = |data: &Path, extra: &[&str]| {
        let root = format!("root={}/{{{{ inventory_hostname }}}}", data.display());
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_steward"));
        c.args(["run", "-i", inv.to_str().unwrap(), "rollout.yml", "-e", &root]).args(extra).current_dir(&pb).env("NO_COLOR", "1");
        c.env_remove("SSH_AUTH_SOCK").env_remove("ANSIBLE_HOST_KEY_CHECKING");
        c
    };
    let whole_data = fleet.data_dir();
    let out = run_into(&whole_data, &[]).output().unwrap();
    let whole = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{whole}");
    let shard_data = fleet.path("shards");
    std::fs::create_dir_all(&shard_data).unwrap();
    std::process::Command::new("chmod").arg("777").arg(&shard_data).status().unwrap();
    let shards: Vec<_> = (1..=4)
        .map(|k| {
            let file = std::fs::File::create(fleet.path(&format!("shard{k}.json"))).unwrap();
            run_into(&shard_data, &["--shard", &format!("{k}/4"), "--output", "json"]).stdout(file).spawn().unwrap()
        })
        .collect();
    for mut s in shards {
        assert!(s.wait().unwrap().success());
    }
    let files: Vec<String> = (1..=4).map(|k| fleet.path(&format!("shard{k}.json")).display().to_string()).collect();
    let mut args = vec!["report", "merge"];
    args.extend(files.iter().map(String::as_str));
    let (code, merged, err) = steward(&args, fleet.dir.path());
    assert_eq!(code, 0, "{merged}{err}");
    assert_eq!(recap(&merged), recap(&whole));
    assert_eq!(recap(&merged).len(), 8);
    assert_eq!(support::snapshot_as(&shard_data, "{{data}}", false), support::snapshot_as(&whole_data, "{{data}}", false));
}

const PING: &str = "- hosts: fleet\n  gather_facts: false\n  tasks:\n    - ping:\n";

#[test]
fn unknown_host_key_is_refused_with_a_way_to_trust_it() {
    let fleet = Loopback::start(1, Opts::default());
    fleet.write_known_hosts("");
    let inv = fleet.inventory("");
    write(&fleet.path("pb.yml"), PING);
    let (code, out, _) = steward(&["run", "-i", inv.to_str().unwrap(), "pb.yml"], fleet.dir.path());
    assert_eq!(code, 4, "{out}");
    assert_eq!(ok(&out, "h1"), "ok=0 changed=0 unreachable=1 failed=0 skipped=0 rescued=0 ignored=0");
    assert!(out.contains("is not known") && out.contains("ssh-keyscan"), "{out}");
}

#[test]
fn changed_host_key_is_refused_loudly() {
    let fleet = Loopback::start(2, Opts::default());
    // h1 is recorded with h2's key: a different key of the same kind.
    let h1 = &fleet.hosts[0];
    let h2 = &fleet.hosts[1];
    fleet.write_known_hosts(&format!("{} {}\n{} {}\n", h1.addr, h2.host_key_pub, h2.addr, h2.host_key_pub));
    let inv = fleet.inventory("");
    write(&fleet.path("pb.yml"), PING);
    let (code, out, _) = steward(&["run", "-i", inv.to_str().unwrap(), "pb.yml"], fleet.dir.path());
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("HAS CHANGED"), "{out}");
    assert_eq!(ok(&out, "h2"), "ok=1 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0");
}

#[test]
fn accept_new_trusts_and_remembers_a_new_key() {
    let fleet = Loopback::start(1, Opts::default());
    fleet.write_known_hosts("");
    let inv = fleet.inventory("");
    let cfg = fleet.path("ssh_config");
    write(&cfg, "Host *\n  StrictHostKeyChecking accept-new\n");
    write(&fleet.path("pb.yml"), PING);
    let args = format!("-F {} -o UserKnownHostsFile={}", cfg.display(), fleet.path("known_hosts").display());
    let (code, out, _) = steward(&["run", "-i", inv.to_str().unwrap(), "pb.yml", "--ssh-extra-args", &args], fleet.dir.path());
    assert_eq!(code, 0, "{out}");
    let known = std::fs::read_to_string(fleet.path("known_hosts")).unwrap();
    assert!(known.contains(&fleet.hosts[0].host_key_pub), "{known}");
}

#[test]
fn an_unreachable_host_among_reachable_ones() {
    let fleet = Loopback::start(2, Opts::default());
    let inv = fleet.inventory(&format!("dead ansible_host={}\n", fleet.dead_addr()));
    write(&fleet.path("pb.yml"), "- hosts: fleet\n  gather_facts: false\n  tasks:\n    - command: echo one\n    - command: echo two\n");
    let (code, out, _) = steward(&["run", "-i", inv.to_str().unwrap(), "pb.yml"], fleet.dir.path());
    assert_eq!(code, 4, "{out}");
    assert_eq!(ok(&out, "dead"), "ok=0 changed=0 unreachable=1 failed=0 skipped=0 rescued=0 ignored=0");
    assert_eq!(ok(&out, "h1"), "ok=2 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0");
    assert_eq!(ok(&out, "h2"), "ok=2 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0");
}

#[test]
fn a_host_that_drops_mid_run_is_unreachable_and_the_others_go_on() {
    let fleet = Loopback::start(3, Opts::default());
    let inv = fleet.inventory("");
    // The sshd process serving h2's connection is killed by h2's own task.
    write(
        &fleet.path("pb.yml"),
        "- hosts: fleet\n  gather_facts: false\n  tasks:\n    - command: echo one\n    - shell: kill -9 $PPID\n      when: inventory_hostname == 'h2'\n    - command: echo two\n",
    );
    let t0 = std::time::Instant::now();
    let (code, out, _) = steward(&["run", "-i", inv.to_str().unwrap(), "pb.yml"], fleet.dir.path());
    assert!(t0.elapsed().as_secs() < 30, "the run hung");
    assert_eq!(code, 4, "{out}");
    assert!(ok(&out, "h2").contains("unreachable=1"), "{out}");
    assert_eq!(ok(&out, "h1"), "ok=2 changed=2 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0");
}

#[test]
fn fifty_megabytes_of_output() {
    let fleet = Loopback::start(1, Opts::default());
    let inv = fleet.inventory("");
    write(
        &fleet.path("pb.yml"),
        "- hosts: fleet\n  gather_facts: false\n  tasks:\n    - shell: head -c 50000000 /dev/zero | tr '\\0' a; echo; echo err >&2\n      register: big\n    - assert:\n        that:\n          - big.stdout | length == 50000000\n          - big.stderr == 'err'\n",
    );
    let (code, out, err) = steward(&["run", "-i", inv.to_str().unwrap(), "pb.yml"], fleet.dir.path());
    assert_eq!(code, 0, "{}\n{err}", &out[out.len().saturating_sub(3000)..]);
}

#[test]
fn a_hundred_megabyte_file_copy() {
    let fleet = Loopback::start(1, Opts::default());
    let inv = fleet.inventory("");
    let data = fleet.data_dir();
    let src = fleet.path("big.bin");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&src).unwrap();
        let chunk: Vec<u8> = (0..1_048_576u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        for _ in 0..100 {
            f.write_all(&chunk).unwrap();
        }
    }
    let pb = format!(
        "- hosts: fleet\n  gather_facts: false\n  tasks:\n    - copy:\n        src: {}\n        dest: {}/big.bin\n        mode: '0640'\n",
        src.display(),
        data.display()
    );
    write(&fleet.path("pb.yml"), &pb);
    let (code, out, err) = steward(&["run", "-i", inv.to_str().unwrap(), "pb.yml"], fleet.dir.path());
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(ok(&out, "h1").contains("changed=1"), "{out}");
    let a = std::fs::read(&src).unwrap();
    let b = std::fs::read(data.join("big.bin")).unwrap();
    assert!(a == b, "the copy differs");
    let (code, out, _) = steward(&["run", "-i", inv.to_str().unwrap(), "pb.yml"], fleet.dir.path());
    assert_eq!(code, 0);
    assert!(ok(&out, "h1").contains("changed=0"), "second run changed something:\n{out}");
}

#[test]
fn max_sessions_two_queues_channels() {
    use steward::connection::{ssh, Connection, ExecRequest};
    let fleet = Loopback::start(1, Opts { max_sessions: Some(2), ..Default::default() });
    let h = &fleet.hosts[0];
    let settings = ssh::Settings {
        host: Some(h.addr.clone()),
        user: Some(support::USER.into()),
        private_key_file: Some(support::key().display().to_string()),
        ssh_args: format!("-o UserKnownHostsFile={}", fleet.path("known_hosts").display()),
        ..Default::default()
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let results = rt.block_on(async {
        let conn = std::sync::Arc::new(ssh::Ssh::connect(&ssh::Target::resolve("h1", &settings)).await.expect("connect"));
        let mut set = tokio::task::JoinSet::new();
        for i in 0..8 {
            let c = conn.clone();
            // Plain commands, commands with input, and a file upload share the two sessions.
            let req = match i % 3 {
                0 => ExecRequest { cmd: format!("sleep 0.2; cat; echo {i}"), stdin: Some(Vec::new()), ..Default::default() },
                _ => ExecRequest { cmd: format!("sleep 0.2; echo {i}"), ..Default::default() },
            };
            set.spawn(async move { c.exec(req).await });
        }
        let upload = fleet.path("upload.txt");
        std::fs::write(&upload, "sent over sftp").unwrap();
        let dest = format!("{}/uploaded.txt", fleet.data_dir().display());
        conn.put_file(&upload, &dest).await.expect("upload under MaxSessions 2");
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "sent over sftp");
        let mut outs = Vec::new();
        while let Some(r) = set.join_next().await {
            outs.push(r.unwrap());
        }
        conn.close().await;
        outs
    });
    let mut got: Vec<String> = results.into_iter().map(|r| r.expect("exec under MaxSessions 2").stdout_str().trim().to_string()).collect();
    got.sort();
    assert_eq!(got, (0..8).map(|i| i.to_string()).collect::<Vec<_>>());
}

#[test]
fn sudo_with_a_password_and_with_a_wrong_one() {
    let c = Containers::up("sudo", 1, &[]);
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("pb.yml"),
        "- hosts: fleet\n  gather_facts: false\n  become: true\n  tasks:\n    - command: id -un\n      register: who\n      changed_when: false\n    - shell: cat\n      args:\n        stdin: through sudo\n      register: piped\n      changed_when: false\n    - assert:\n        that:\n          - who.stdout == 'root'\n          - piped.stdout == 'through sudo'\n",
    );
    let inv = c.inventory.to_str().unwrap();
    let name = c.name(1);
    let (code, out, err) =
        steward(&["run", "-i", inv, "pb.yml", "-e", "ansible_user=deploy", "-e", "ansible_become_password=deploy-password"], dir.path());
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(ok(&out, &name), "ok=3 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0");
    let t0 = std::time::Instant::now();
    let (code, out, _) =
        steward(&["run", "-i", inv, "pb.yml", "-e", "ansible_user=deploy", "-e", "ansible_become_password=not-the-password"], dir.path());
    assert!(t0.elapsed().as_secs() < 30, "a wrong password hung the run");
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("Incorrect sudo password"), "{out}");
    assert!(!out.contains("not-the-password"), "the password leaked into the output:\n{out}");
    let (code, out, _) = steward(&["run", "-i", inv, "pb.yml", "-e", "ansible_user=deploy"], dir.path());
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("Missing become password"), "{out}");
}

#[test]
fn a_host_reached_only_through_a_jump_host() {
    // fleet1 is on the test network and an internal one; fleet2 only on the internal one,
    // which this machine cannot reach: only ProxyJump through fleet1 gets there.
    let c = Containers::up("jump", 2, &[]);
    let inner = format!("{}inner", c.prefix);
    assert!(c.docker(&["network", "create", "--internal", &inner]).status.success());
    let (j, t) = (c.name(1), c.name(2));
    assert!(c.docker(&["network", "connect", &inner, &j]).status.success());
    assert!(c.docker(&["network", "disconnect", &format!("{}net", c.prefix), &t]).status.success());
    assert!(c.docker(&["network", "connect", &inner, &t]).status.success());
    let ip = |name: &str| {
        let o = c.docker(&["inspect", "-f", &format!("{{{{(index .NetworkSettings.Networks \"{inner}\").IPAddress}}}}"), name]);
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let target_inner = ip(&t);
    let jump_outer = {
        let o = c.docker(&["inspect", "-f", &format!("{{{{(index .NetworkSettings.Networks \"{}net\").IPAddress}}}}", c.prefix), &j]);
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    // The target's key, read through the jump host, goes into known_hosts.
    let scan = c.docker(&["exec", &j, "ssh-keyscan", "-t", "ed25519", &target_inner]);
    let kh = c.state.join("known_hosts");
    let mut known = std::fs::read_to_string(&kh).unwrap();
    known += &String::from_utf8_lossy(&scan.stdout);
    std::fs::write(&kh, known).unwrap();
    let key = c.state.join("id_ed25519");
    let cfg = c.state.join("ssh_config");
    write(
        &cfg,
        &format!(
            "Host bastion\n  HostName {jump_outer}\n  User root\n  IdentityFile {}\n  UserKnownHostsFile {}\n",
            key.display(),
            kh.display()
        ),
    );
    let inv = c.state.join("jump.ini");
    write(
        &inv,
        &format!(
            "[fleet]\ninner ansible_host={target_inner} ansible_user=root ansible_ssh_private_key_file={} ansible_ssh_common_args='-F {} -J bastion -o UserKnownHostsFile={}'\n",
            key.display(),
            cfg.display(),
            kh.display()
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("pb.yml"), "- hosts: fleet\n  gather_facts: false\n  tasks:\n    - command: hostname\n      register: h\n    - assert:\n        that: h.stdout == lookup('env', 'TARGET')\n");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["run", "-i", inv.to_str().unwrap(), "pb.yml"])
        .current_dir(dir.path())
        .env("TARGET", &t)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
}

/// A key that needs a passphrase, and the same server reached with it.
fn encrypted_key(fleet: &Loopback, passphrase: &str) -> std::path::PathBuf {
    let k = fleet.path("enc_key");
    let o = std::process::Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", passphrase, "-f"]).arg(&k).output().unwrap();
    assert!(o.status.success());
    support::authorize(&std::fs::read_to_string(k.with_extension("pub")).unwrap());
    k
}

fn run_env(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> (i32, String) {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_steward"));
    c.args(args).current_dir(cwd).env("NO_COLOR", "1").env_remove("SSH_AUTH_SOCK").env_remove("STEWARD_SSH_KEY_PASSPHRASE");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[test]
fn encrypted_keys_missing_wrong_and_right_passphrase() {
    let fleet = Loopback::start(1, Opts::default());
    let k = encrypted_key(&fleet, "open sesame");
    let inv = fleet.inventory("");
    let text = std::fs::read_to_string(&inv).unwrap().replace(&support::key().display().to_string(), &k.display().to_string());
    std::fs::write(&inv, text).unwrap();
    write(&fleet.path("pb.yml"), PING);
    let args = ["run", "-i", inv.to_str().unwrap(), "pb.yml"];
    let (code, out) = run_env(&args, fleet.dir.path(), &[]);
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("is encrypted and no passphrase was given"), "{out}");
    let (code, out) = run_env(&args, fleet.dir.path(), &[("STEWARD_SSH_KEY_PASSPHRASE", "not it")]);
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("wrong passphrase"), "{out}");
    let (code, out) = run_env(&args, fleet.dir.path(), &[("STEWARD_SSH_KEY_PASSPHRASE", "open sesame")]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn ssh_agent_holds_the_key() {
    let fleet = Loopback::start(1, Opts::default());
    let k = encrypted_key(&fleet, "agent only");
    let sock = fleet.path("agent.sock");
    let agent = std::process::Command::new("ssh-agent").args(["-D", "-a"]).arg(&sock).stdout(std::process::Stdio::null()).spawn().unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
        }
    }
    let _agent = Kill(agent);
    for _ in 0..100 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // ssh-add reads the passphrase from SSH_ASKPASS when it has no terminal.
    let askpass = fleet.path("askpass.sh");
    write(&askpass, "#!/bin/sh\necho 'agent only'\n");
    std::process::Command::new("chmod").arg("+x").arg(&askpass).status().unwrap();
    let o = std::process::Command::new("ssh-add")
        .arg(&k)
        .env("SSH_AUTH_SOCK", &sock)
        .env("SSH_ASKPASS", &askpass)
        .env("SSH_ASKPASS_REQUIRE", "force")
        .env("DISPLAY", ":0")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "ssh-add: {}", String::from_utf8_lossy(&o.stderr));
    // No key file in the inventory: only the agent can log in.
    let inv = fleet.inventory("");
    let text = std::fs::read_to_string(&inv).unwrap().replace(&format!("ansible_ssh_private_key_file={}\n", support::key().display()), "");
    std::fs::write(&inv, text).unwrap();
    write(&fleet.path("pb.yml"), PING);
    let (code, out) = run_env(
        &["run", "-i", inv.to_str().unwrap(), "pb.yml"],
        fleet.dir.path(),
        &[("SSH_AUTH_SOCK", sock.to_str().unwrap()), ("HOME", "/nonexistent")],
    );
    assert_eq!(code, 0, "{out}");
}

#[test]
fn password_login() {
    let fleet = Loopback::start(1, Opts { password_auth: true, ..Default::default() });
    // The account gets a password for this test only; key logins stay as they were.
    let o =
        std::process::Command::new("/bin/sh").arg("-c").arg(format!("echo '{}:fleet-pass' | chpasswd", support::USER)).output().unwrap();
    assert!(o.status.success());
    let inv = fleet.inventory("");
    let text = std::fs::read_to_string(&inv)
        .unwrap()
        .replace(&format!("ansible_ssh_private_key_file={}\n", support::key().display()), "ansible_password=fleet-pass\n");
    std::fs::write(&inv, text).unwrap();
    write(&fleet.path("pb.yml"), PING);
    // -vvv shows how the connection is made, never the password.
    let (code, out) = run_env(&["run", "-i", inv.to_str().unwrap(), "pb.yml", "-vvv"], fleet.dir.path(), &[("HOME", "/nonexistent")]);
    let _ = std::process::Command::new("usermod").args(["-p", "*", support::USER]).status();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ESTABLISH SSH CONNECTION FOR USER: fleet") && out.contains("auth: password"), "{out}");
    assert!(out.contains("EXEC") && out.contains("rc=0"), "{out}");
    assert!(!out.contains("fleet-pass"), "the password leaked:\n{out}");
}

#[test]
fn proxy_command() {
    let fleet = Loopback::start(2, Opts::default());
    let h1 = &fleet.hosts[0];
    let kh = fleet.path("known_hosts");
    let proxy = format!(
        "ssh -q -i {} -o UserKnownHostsFile={} -o BatchMode=yes -W %h:%p {}@{}",
        support::key().display(),
        kh.display(),
        support::USER,
        h1.addr
    );
    let inv = fleet.inventory("");
    let text = std::fs::read_to_string(&inv).unwrap().replace(
        &format!("ansible_ssh_common_args='-o UserKnownHostsFile={}'", kh.display()),
        &format!("ansible_ssh_common_args='-o UserKnownHostsFile={} -o \"ProxyCommand={proxy}\"'", kh.display()),
    );
    std::fs::write(&inv, text).unwrap();
    write(&fleet.path("pb.yml"), "- hosts: h2\n  gather_facts: false\n  tasks:\n    - command: echo through the proxy\n");
    let (code, out) = run_env(&["run", "-i", inv.to_str().unwrap(), "pb.yml"], fleet.dir.path(), &[]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_host_that_does_not_answer_times_out() {
    // A paused container accepts the TCP connection in its kernel but never says a word.
    let c = Containers::up("pause", 1, &[]);
    assert!(c.docker(&["pause", &c.name(1)]).status.success());
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("pb.yml"), PING);
    let t0 = std::time::Instant::now();
    let (code, out, _) = steward(&["run", "-i", c.inventory.to_str().unwrap(), "pb.yml", "--timeout", "2"], dir.path());
    let took = t0.elapsed().as_secs();
    let _ = c.docker(&["unpause", &c.name(1)]);
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("timed out"), "{out}");
    assert!(took < 20, "took {took}s");
}

/// The cross-host cases of tests/cases (run_once, hostvars, serial with max_fail_percentage,
/// any_errors_fatal) on four SSH hosts: the same recaps and files as ansible-playbook gave.
#[test]
fn cross_host_cases_over_ssh_match_ansible() {
    for case in ["run_once", "hostvars", "serial_fail", "any_errors_fatal", "fetch_slurp"] {
        // As many SSH hosts as the case's inventory has local ones.
        let local = std::fs::read_to_string(repo().join("tests/cases").join(case).join("inventory")).unwrap();
        let n = local.lines().filter(|l| l.starts_with('h')).count();
        let fleet = Loopback::start(n, Opts::default());
        let inv = fleet.inventory("");
        // A root as deep as derive.py's (/tmp/NAME): fetch copies the root's path under its dest.
        let root = tempfile::Builder::new().prefix("steward-ssh-").tempdir_in("/tmp").unwrap();
        std::process::Command::new("chmod").arg("777").arg(root.path()).status().unwrap();
        let data = root.path().to_path_buf();
        let dir = repo().join("tests/cases").join(case);
        let expected: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
        for run in ["first", "second"] {
            let (code, out, err) =
                steward(&["run", "-i", inv.to_str().unwrap(), "playbook.yml", "-e", &format!("root={}", data.display())], &dir);
            assert_eq!(i64::from(code), expected[run]["rc"].as_i64().unwrap(), "{case} {run}: {out}\n{err}");
            let want: BTreeMap<String, String> = serde_json::from_value(expected[run]["recap"].clone()).unwrap();
            assert_eq!(recap(&out), want, "{case} {run} run differs from ansible-playbook:\n{out}");
        }
        let want: BTreeMap<String, Value> = serde_json::from_value(expected["files"].clone()).unwrap();
        assert_eq!(support::snapshot_as(&data, "{{root}}", true), want, "{case}: files differ from ansible-playbook's");
    }
}

/// `strategy: graph` over SSH: four one-second tasks on one host run side by side (on channels
/// of the same connection), and the fifth sees their results.
#[test]
fn graph_strategy_over_ssh() {
    let fleet = Loopback::start(1, Opts::default());
    let inv = fleet.inventory("");
    let out = fleet.data_dir().join("out");
    let (code, stdout, err) = steward(
        &["run", "-i", inv.to_str().unwrap(), "parallel.yml", "-e", &format!("out={}", out.display())],
        &repo().join("tests/graph"),
    );
    assert_eq!(code, 0, "{stdout}\n{err}");
    let times: Vec<f64> = std::fs::read_to_string(&out).unwrap().lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(times.len(), 4);
    let spread = times.iter().cloned().fold(f64::MIN, f64::max) - times.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread < 0.5, "the tasks did not run side by side: {times:?}");
}

#[test]
fn adhoc_on_the_fleet() {
    let fleet = Loopback::start(3, Opts::default());
    let inv = fleet.inventory("");
    let (code, out, err) =
        steward(&["adhoc", "-i", inv.to_str().unwrap(), "fleet", "-m", "shell", "-a", "echo $(id -un)", "-o"], fleet.dir.path());
    assert_eq!(code, 0, "{out}\n{err}");
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        vec!["h1 | CHANGED | rc=0 | (stdout) fleet", "h2 | CHANGED | rc=0 | (stdout) fleet", "h3 | CHANGED | rc=0 | (stdout) fleet"]
    );
}
