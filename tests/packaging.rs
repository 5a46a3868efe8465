//! steward installed as people install tools: `cargo install --path .`, and the Debian package
//! (`scripts/deb`, cargo-deb) on a fresh fleet container, where it must run a playbook, twice,
//! the second time changing nothing; its manual page and completions must be in place, and
//! `--version` must name the commit it was built from.

use std::path::Path;
use std::process::Command;

mod support;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The commit `git` says the checkout is at, as `steward --version` names it.
fn head() -> String {
    let out = Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).current_dir(root()).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn version_names_the_commit_on_every_subcommand() {
    let commit = head();
    for sub in [&[][..], &["run"], &["inventory"], &["doc"], &["vault"]] {
        let mut args: Vec<&str> = sub.to_vec();
        args.push("--version");
        let (code, out, err) = support::steward(&args, root());
        assert_eq!(code, 0, "steward {args:?}: {err}");
        assert!(out.contains(&format!("(commit {commit})")), "steward {args:?} printed {out:?}, not the commit {commit}");
    }
}

#[test]
fn man_page_is_generated() {
    let (code, out, _) = support::steward(&["man"], root());
    assert_eq!(code, 0);
    assert!(out.contains(".TH steward 1"), "not a manual page: {}", &out[..out.len().min(200)]);
    for sub in ["run", "inventory", "doc", "vault"] {
        assert!(out.contains(sub), "the manual page does not list `{sub}`");
    }
}

#[test]
fn cargo_install_works() {
    let dir = tempfile::tempdir().unwrap();
    // The workspace's own target folder: the debug build cargo test made is reused.
    let out = Command::new("cargo")
        .args(["install", "--quiet", "--debug", "--locked", "--offline", "--path", "."])
        .arg("--root")
        .arg(dir.path())
        .env("CARGO_TARGET_DIR", root().join("target"))
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo install failed: {}", String::from_utf8_lossy(&out.stderr));
    let bin = dir.path().join("bin/steward");
    let v = Command::new(&bin).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&v.stdout).contains(&head()));
}

#[test]
fn debian_package_installs_and_runs_on_the_fleet_image() {
    let out = Command::new(root().join("scripts/deb")).arg("--debug").current_dir(root()).output().unwrap();
    assert!(out.status.success(), "scripts/deb failed: {}", String::from_utf8_lossy(&out.stderr));
    let deb = String::from_utf8_lossy(&out.stdout).trim().lines().last().unwrap_or_default().to_string();
    assert!(deb.ends_with(".deb"), "scripts/deb printed {deb:?}");
    let fleet = support::Containers::up("deb", 1, &[]);
    let host = fleet.name(1);
    let sh = |script: &str| {
        let o = fleet.docker(&["exec", &host, "bash", "-c", script]);
        (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let cp = fleet.docker(&["cp", &root().join(&deb).display().to_string(), &format!("{host}:/tmp/steward.deb")]);
    assert!(cp.status.success(), "docker cp: {}", String::from_utf8_lossy(&cp.stderr));
    let (rc, _, err) = sh("dpkg -i /tmp/steward.deb");
    assert_eq!(rc, 0, "dpkg -i: {err}");
    let (rc, out, _) = sh("steward --version; test -s /usr/share/man/man1/steward.1.gz && echo MAN; test -s /usr/share/bash-completion/completions/steward && echo COMPLETIONS");
    assert_eq!(rc, 0);
    assert!(out.contains(&head()) && out.contains("MAN") && out.contains("COMPLETIONS"), "{out}");
    let playbook =
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - copy:\n        dest: /tmp/from-deb.txt\n        content: installed\n";
    let (rc, _, err) = sh(&format!("mkdir -p /tmp/pb && printf '%s' '{playbook}' > /tmp/pb/site.yml"));
    assert_eq!(rc, 0, "{err}");
    let run = "cd /tmp/pb && steward run site.yml -i localhost, -c local";
    let (rc, first, err) = sh(run);
    assert_eq!(rc, 0, "first run: {first}{err}");
    assert_eq!(support::recap(&first).get("localhost").map(|r| r.contains("changed=1")), Some(true), "{first}");
    let (rc, second, _) = sh(run);
    assert_eq!(rc, 0);
    assert_eq!(support::recap(&second).get("localhost").map(|r| r.contains("changed=0")), Some(true), "{second}");
    let (_, content, _) = sh("cat /tmp/from-deb.txt");
    assert_eq!(content, "installed");
}
