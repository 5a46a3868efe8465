//! `steward pull` inside a fleet container, as a machine being imaged runs it: from a `file://`
//! repository, the first pull changes the host, a second changes nothing, `--only-if-changed`
//! skips the run while the repository stays where it was and runs it when it moves, and a
//! failing playbook's exit code is `run`'s.

mod support;

fn sh(fleet: &support::Containers, host: &str, script: &str) -> (i32, String) {
    let o = fleet.docker(&["exec", host, "bash", "-c", script]);
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr))
}

#[test]
fn pull_converges_the_host_and_runs_again_only_when_the_repository_moves() {
    let fleet = support::Containers::up("pull", 1, &[]);
    let host = fleet.name(1);
    let cp = fleet.docker(&["cp", env!("CARGO_BIN_EXE_steward"), &format!("{host}:/usr/local/bin/steward")]);
    assert!(cp.status.success(), "docker cp: {}", String::from_utf8_lossy(&cp.stderr));
    // The repository: local.yml for any host, and a playbook named after this one, which wins.
    let setup = r#"set -e
        mkdir -p /srv/site && cd /srv/site && git init -q -b main
        git config user.email ops@example.com && git config user.name ops
        printf -- '- hosts: localhost\n  gather_facts: false\n  tasks:\n    - fail:\n        msg: local.yml is not this host\n' > local.yml
        printf -- '- hosts: localhost\n  gather_facts: false\n  tasks:\n    - copy:\n        content: "{{ motd }}\\n"\n        dest: /etc/motd\n  vars:\n    motd: imaged by steward\n' > "$(hostname).yml"
        git add . && git commit -qm one"#;
    let (code, out) = sh(&fleet, &host, setup);
    assert_eq!(code, 0, "{out}");
    let pull = "steward pull -U file:///srv/site -d /var/lib/steward-pull";
    let (code, out) = sh(&fleet, &host, pull);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("changed=1"), "the first pull changes the host:\n{out}");
    assert_eq!(sh(&fleet, &host, "cat /etc/motd").1, "imaged by steward\n");
    let (code, out) = sh(&fleet, &host, pull);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("changed=0") && !out.contains("changed=1"), "the second pull changes nothing:\n{out}");
    let (code, out) = sh(&fleet, &host, &format!("{pull} --only-if-changed"));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Repository has not changed") && !out.contains("PLAY"), "nothing moved, nothing ran:\n{out}");
    // The repository moves: the pull runs, and changes the host again.
    let (code, out) =
        sh(&fleet, &host, r#"cd /srv/site && sed -i 's/imaged by steward/re-imaged/' "$(hostname).yml" && git commit -qam two"#);
    assert_eq!(code, 0, "{out}");
    let (code, out) = sh(&fleet, &host, &format!("{pull} --only-if-changed"));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("changed=1"), "{out}");
    assert_eq!(sh(&fleet, &host, "cat /etc/motd").1, "re-imaged\n");
    // A playbook that fails: the pull's exit code is the run's.
    let (code, out) = sh(&fleet, &host, &format!("{pull} local.yml"));
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("local.yml is not this host"), "{out}");
}
