//! System modules on real hosts: every folder under tests/system is a playbook (site.yml), a
//! script that prints the host's state (probe.sh), and what ansible-playbook did with them on a
//! fresh fleet container (expected.json, written by tests/ansible/derive_system.sh). Each case
//! gets a fresh container; steward runs the playbook in --check mode (which must change nothing
//! on the host), then twice for real. Recaps, exit codes and the host's state before and after
//! must match Ansible's, and the second run must change nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

mod support;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/system")
}

fn in_container(name: &str, script: &Path) -> String {
    let out = Command::new("docker")
        .args(["exec", "-i", name, "sh", "-s"])
        .stdin(Stdio::from(std::fs::File::open(script).unwrap()))
        .output()
        .expect("docker exec");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn only_recap(stdout: &str) -> String {
    support::recap(stdout).into_values().next().unwrap_or_default()
}

fn check_case(name: &str) -> Result<(), String> {
    let case = cases_dir().join(name);
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("expected.json")).map_err(|e| format!("{name}: no expected.json: {e}"))?)
            .unwrap();
    // Marker files ask for more of the container: capabilities for mounts and sysctls, and a
    // restart policy so that it comes back after a reboot.
    let mut env: Vec<(&str, &str)> = Vec::new();
    if case.join("system-caps").exists() {
        env.push(("SYSTEM_CAPS", "1"));
    }
    if case.join("restart-always").exists() {
        env.push(("RESTART", "always"));
    }
    let fleet = support::Containers::up(&format!("sys{name}"), 1, &env);
    let host = fleet.name(1);
    if case.join("setup.sh").exists() {
        in_container(&host, &case.join("setup.sh"));
    }
    let probe = case.join("probe.sh");
    let mut errors = Vec::new();
    let fresh = in_container(&host, &probe);
    if fresh != expected["fresh"].as_str().unwrap() {
        errors.push(format!("fresh host differs from Ansible's:\n{fresh}\n   ansible's:\n{}", expected["fresh"].as_str().unwrap()));
    }
    let inv = fleet.inventory.display().to_string();
    for run in ["check", "first", "second"] {
        let mut args = vec!["run", "-i", &inv, "site.yml"];
        if run == "check" {
            args.push("--check");
        }
        let (rc, out, err) = support::steward(&args, &case);
        let want_rc = expected[run]["rc"].as_i64().unwrap() as i32;
        if rc != want_rc {
            errors.push(format!("{run} run: exit code {rc}, ansible-playbook gave {want_rc}\n{out}\n{err}"));
        }
        let got = only_recap(&out);
        // A case may record where steward's check run knowingly differs from Ansible's, and why.
        let differs = std::fs::read_to_string(case.join("check-differs")).ok().filter(|_| run == "check");
        let want = match &differs {
            Some(text) => text.lines().next().unwrap_or_default(),
            None => expected[run]["recap"].as_str().unwrap(),
        };
        if got != want {
            errors.push(format!("{run} run: recap `{got}`, ansible-playbook gave `{want}`\n{out}\n{err}"));
        }
        if run == "second" && !got.contains("changed=0 ") {
            errors.push(format!("second run changed something: {got}\n{out}"));
        }
        if run == "check" {
            let now = in_container(&host, &probe);
            if now != fresh {
                errors.push(format!("--check changed the host:\nbefore:\n{fresh}\nafter:\n{now}"));
            }
        }
    }
    let after = in_container(&host, &probe);
    if after != expected["after"].as_str().unwrap() {
        errors.push(format!("host state after the runs:\n{after}\n   ansible-playbook left:\n{}", expected["after"].as_str().unwrap()));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("case {name}:\n{}", errors.join("\n")))
    }
}

#[test]
fn system_cases_match_ansible() {
    let mut names: Vec<String> = std::fs::read_dir(cases_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    if let Ok(only) = std::env::var("STEWARD_SYSTEM_CASE") {
        names.retain(|n| n == &only);
    }
    // Four containers at a time: each case is mostly waiting on its host.
    let queue = std::sync::Mutex::new(names);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let Some(name) = queue.lock().unwrap().pop() else { break };
                if let Err(e) = check_case(&name) {
                    failures.lock().unwrap().push(e);
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
