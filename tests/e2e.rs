//! End-to-end: every folder under tests/cases is a playbook plus the values ansible-playbook
//! gave for it (expected.json, written by tests/ansible/derive.py). Each case runs with the real
//! binary against localhost in a fresh folder, twice; the recaps, exit codes and the files left
//! behind must match Ansible's, and the second run must change nothing.
//!
//! Each case is a test of its own, named after its folder (a libtest-mimic harness), so that
//! `cargo test --test e2e -- loops` runs one, `-- --list` lists them, and they run side by side.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod support;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

fn steward(case: &Path, root: &Path) -> (i32, String, String) {
    let mut args: Vec<String> = vec!["run".into(), "playbook.yml".into(), "-e".into(), format!("root={}", root.display())];
    if let Ok(extra) = std::fs::read_to_string(case.join("args")) {
        args.extend(extra.split_whitespace().map(str::to_string));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(&args)
        .current_dir(case)
        .env("NO_COLOR", "1")
        .env_remove("ANSIBLE_INVENTORY")
        .output()
        .expect("run steward");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn check_case(name: &str) -> Result<(), String> {
    let case = cases_dir().join(name);
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("expected.json")).map_err(|e| format!("{name}: no expected.json: {e}"))?)
            .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let mut errors = Vec::new();
    for run in ["first", "second"] {
        let (rc, out, err) = steward(&case, &root);
        let want_rc = expected[run]["rc"].as_i64().unwrap() as i32;
        if rc != want_rc {
            errors.push(format!("{run} run: exit code {rc}, ansible-playbook gave {want_rc}\n{out}\n{err}"));
        }
        let got = support::recap(&out);
        let want: BTreeMap<String, String> = serde_json::from_value(expected[run]["recap"].clone()).unwrap();
        if got != want {
            errors.push(format!("{run} run: recap {got:?}, ansible-playbook gave {want:?}\n{out}\n{err}"));
        }
        if run == "second" && !case.join("not-idempotent").exists() && got.values().any(|r| !r.contains("changed=0 ")) {
            errors.push(format!("second run changed something: {got:?}"));
        }
    }
    let files = support::snapshot_as(&root, "{{root}}", true);
    let want: BTreeMap<String, Value> = serde_json::from_value(expected["files"].clone()).unwrap();
    for (path, w) in &want {
        match files.get(path) {
            None => errors.push(format!("{path}: missing (ansible-playbook made {w})")),
            Some(g) if g != w => errors.push(format!("{path}: {g}\n   ansible-playbook: {w}")),
            _ => {}
        }
    }
    for path in files.keys() {
        if !want.contains_key(path) {
            errors.push(format!("{path}: made by steward, not by ansible-playbook"));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("case {name}:\n{}", errors.join("\n")))
    }
}

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut names: Vec<String> =
        std::fs::read_dir(cases_dir()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert!(names.len() >= 12, "at least a dozen cases");
    let trials = names.into_iter().map(|name| libtest_mimic::Trial::test(name.clone(), move || Ok(check_case(&name)?))).collect();
    libtest_mimic::run(&args, trials).exit();
}
