//! The shipped roles and playbooks on the test fleet, beyond what tests/system compares with
//! Ansible: a rollout in batches that rolls a bad release back, the baseline's compliance audit,
//! backup rotation, imaging a root file system through the chroot connection, and the docker
//! connection. Every playbook runs twice: the second run changes nothing.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{recap, steward, write, Containers};

fn playbooks() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks")
}

fn sh(container: &str, script: &str) -> String {
    let out = Command::new("docker").args(["exec", container, "sh", "-c", script]).output().expect("docker exec");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn changed(stdout: &str) -> Vec<String> {
    recap(stdout).into_iter().filter(|(_, r)| !r.contains("changed=0 ")).map(|(h, _)| h).collect()
}

/// A release archive holding APP-VERSION/ with a health check that passes or fails.
fn release(dir: &Path, version: &str, healthy: bool) -> PathBuf {
    let root = dir.join(format!("src-{version}/app-{version}"));
    std::fs::create_dir_all(root.join("bin")).unwrap();
    write(&root.join("VERSION"), &format!("{version}\n"));
    write(&root.join("bin/health"), &format!("#!/bin/sh\n{}\n", if healthy { "exit 0" } else { "echo unhealthy >&2; exit 1" }));
    Command::new("chmod").args(["755", root.join("bin/health").to_str().unwrap()]).status().unwrap();
    let archive = dir.join(format!("app-{version}.tar.gz"));
    let st = Command::new("tar")
        .args(["-C", root.parent().unwrap().to_str().unwrap(), "-czf", archive.to_str().unwrap(), &format!("app-{version}")])
        .status()
        .unwrap();
    assert!(st.success());
    archive
}

#[test]
fn release_goes_out_in_batches_and_a_bad_one_is_rolled_back() {
    let fleet = Containers::up("rel", 3, &[]);
    let inv = fleet.inventory.to_str().unwrap().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let good = release(tmp.path(), "1.0", true);
    let bad = release(tmp.path(), "2.0", false);
    let run = |version: &str, archive: &Path| {
        steward(
            &[
                "run",
                "-i",
                &inv,
                "release.yml",
                "-e",
                &format!("app_version={version}"),
                "-e",
                &format!("app_archive={}", archive.display()),
                "-e",
                "app_health_delay=0",
            ],
            &playbooks(),
        )
    };
    let (code, out, err) = run("1.0", &good);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(changed(&out).len(), 3, "every host takes the release:\n{out}");
    for i in 1..=3 {
        assert_eq!(sh(&fleet.name(i), "cat /opt/app/current/VERSION"), "1.0");
    }
    let (code, out, err) = run("1.0", &good);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(changed(&out).is_empty(), "the second run changes nothing:\n{out}");

    // 2.0 fails its health check on the first batch (one host): that host goes back to 1.0
    // and the rollout stops there.
    let (code, out, err) = run("2.0", &bad);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(out.contains("failed its health check") && out.contains("rolled back to app-1.0"), "{out}");
    let r = recap(&out);
    assert_eq!(r.len(), 1, "only the first batch ran:\n{out}");
    for i in 1..=3 {
        assert_eq!(sh(&fleet.name(i), "cat /opt/app/current/VERSION"), "1.0", "host {i} runs 1.0");
        let unpacked = sh(&fleet.name(i), "ls /opt/app/releases");
        assert_eq!(unpacked.contains("app-2.0"), i == 1, "host {i}: {unpacked}");
    }
}

#[test]
fn baseline_check_diff_is_the_compliance_audit() {
    let fleet = Containers::up("audit", 1, &[("SYSTEM_CAPS", "1")]);
    let inv = fleet.inventory.to_str().unwrap().to_string();
    let host = fleet.name(1);
    let vars = ["-e", "baseline_sshd_reload=false", "-e", "baseline_install_unattended_upgrades=false"];
    let audit = |extra: &[&str]| {
        let mut a = vec!["run", "-i", &inv, "baseline.yml", "--check", "--diff", "--fail-on-change"];
        a.extend_from_slice(&vars);
        a.extend_from_slice(extra);
        steward(&a, &playbooks())
    };
    let before = sh(&host, "ls /etc/ssh/sshd_config.d; stat -c %a /etc/shadow /etc/crontab; grep ^PASS_MAX_DAYS /etc/login.defs");
    let (code, out, err) = audit(&[]);
    assert_eq!(code, 10, "deviations make the audit exit 10:\n{out}\n{err}");
    for want in ["+PasswordAuthentication no", "+X11Forwarding no", "-PASS_MAX_DAYS\t99999", "+PASS_MAX_DAYS\t90", "\"mode\": \"0600\""] {
        assert!(out.contains(want), "the audit shows `{want}`:\n{out}");
    }
    assert_eq!(
        sh(&host, "ls /etc/ssh/sshd_config.d; stat -c %a /etc/shadow /etc/crontab; grep ^PASS_MAX_DAYS /etc/login.defs"),
        before,
        "the audit changed the host"
    );

    let mut apply = vec!["run", "-i", &inv, "baseline.yml"];
    apply.extend_from_slice(&vars);
    let (code, out, err) = steward(&apply, &playbooks());
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, err) = audit(&[]);
    assert_eq!(code, 0, "a compliant host passes the audit:\n{out}\n{err}");
    assert!(changed(&out).is_empty(), "{out}");
    // Drift is found again.
    sh(&host, "chmod 644 /etc/crontab && sed -i 's/^PASS_MAX_DAYS.*/PASS_MAX_DAYS\t365/' /etc/login.defs");
    let (code, out, _) = audit(&[]);
    assert_eq!(code, 10, "{out}");
    assert!(out.contains("+PASS_MAX_DAYS\t90") && out.contains("/etc/crontab"), "{out}");
}

#[test]
fn backups_rotate() {
    let fleet = Containers::up("bak", 1, &[]);
    let inv = fleet.inventory.to_str().unwrap().to_string();
    let host = fleet.name(1);
    sh(&host, "useradd -m alice && echo data > /home/alice/data.txt && useradd -m bob");
    for _ in 0..2 {
        let (code, out, err) = steward(&["run", "-i", &inv, "backup.yml", "-e", "backup_keep=3"], &playbooks());
        assert_eq!(code, 0, "{out}\n{err}");
    }
    // Five backups, a second apart (the archives are named to the second): three stay per user.
    for _ in 0..5 {
        sh(&host, "/usr/local/sbin/steward-home-backup");
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let list = sh(&host, "ls /var/backups/home");
    assert_eq!(list.lines().filter(|l| l.starts_with("alice-")).count(), 3, "{list}");
    assert_eq!(list.lines().filter(|l| l.starts_with("bob-")).count(), 3, "{list}");
    let newest = list.lines().filter(|l| l.starts_with("alice-")).max().unwrap().to_string();
    assert_eq!(sh(&host, &format!("tar -xzOf /var/backups/home/{newest} alice/data.txt")), "data");
}

#[test]
fn image_a_root_file_system_through_chroot() {
    // The fleet image's root file system, unpacked: a machine before its first boot.
    let image =
        String::from_utf8(Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fleet/image")).output().unwrap().stdout).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("rootfs");
    std::fs::create_dir_all(&root).unwrap();
    let id = String::from_utf8(Command::new("docker").args(["create", image.trim()]).output().unwrap().stdout).unwrap();
    let id = id.trim();
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!("docker export {id} | tar -x -C {} && docker rm {id} >/dev/null", root.display()))
        .status()
        .unwrap();
    assert!(st.success());
    let inv = tmp.path().join("inv.ini");
    write(&inv, &format!("web07 ansible_connection=chroot ansible_host={}\n", root.display()));
    let host_sysctl = std::fs::read_to_string("/proc/sys/net/ipv4/conf/all/send_redirects").unwrap_or_default();
    for run in 0..2 {
        let (code, out, err) = steward(&["run", "-i", inv.to_str().unwrap(), "image.yml", "-e", "image_hostname=web07"], &playbooks());
        assert_eq!(code, 0, "{out}\n{err}");
        assert_eq!(changed(&out).is_empty(), run == 1, "run {run}:\n{out}");
    }
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap_or_default();
    assert_eq!(read("etc/hostname"), "web07\n");
    assert!(read("etc/ssh/sshd_config.d/00-baseline.conf").contains("PasswordAuthentication no"));
    assert!(read("etc/login.defs").contains("PASS_MAX_DAYS\t90"));
    assert!(read("etc/sysctl.d/90-baseline.conf").contains("net.ipv4.conf.all.send_redirects=0"));
    // Nothing reached the controller itself.
    assert_eq!(std::fs::read_to_string("/proc/sys/net/ipv4/conf/all/send_redirects").unwrap_or_default(), host_sysctl);
}

#[test]
fn docker_connection_configures_a_container_without_ssh() {
    let fleet = Containers::up("dk", 1, &[]);
    let host = fleet.name(1);
    let tmp = tempfile::tempdir().unwrap();
    let inv = tmp.path().join("inv.ini");
    write(&inv, &format!("box ansible_connection=docker ansible_host={host}\n"));
    let pb = tmp.path().join("pb.yml");
    write(
        &pb,
        "- hosts: box\n  gather_facts: false\n  tasks:\n    - copy: {dest: /etc/motd, content: \"managed\\n\"}\n    - user: {name: svc, shell: /usr/sbin/nologin}\n    - lineinfile: {path: /etc/environment, line: APP_ENV=prod}\n    - command: id -un\n      register: who\n      changed_when: false\n    - assert: {that: \"who.stdout == 'root'\"}\n",
    );
    for run in 0..2 {
        let (code, out, err) = steward(&["run", "-i", inv.to_str().unwrap(), pb.to_str().unwrap()], tmp.path());
        assert_eq!(code, 0, "{out}\n{err}");
        assert_eq!(changed(&out).is_empty(), run == 1, "run {run}:\n{out}");
    }
    assert_eq!(
        sh(&host, "cat /etc/motd; getent passwd svc | cut -d: -f7; grep APP_ENV /etc/environment"),
        "managed\n/usr/sbin/nologin\nAPP_ENV=prod"
    );
    // A stopped container is unreachable, not an error in the playbook.
    fleet.docker(&["stop", "-t", "0", &host]);
    let (code, out, _) = steward(&["run", "-i", inv.to_str().unwrap(), pb.to_str().unwrap()], tmp.path());
    assert_eq!(code, 4, "{out}");
}
