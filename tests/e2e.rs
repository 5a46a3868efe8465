//! End-to-end: every folder under tests/cases is a playbook plus the values ansible-playbook
//! gave for it (expected.json, written by tests/ansible/derive.py). Each case runs with the real
//! binary against localhost in a fresh folder, twice; the recaps, exit codes and the files left
//! behind must match Ansible's, and the second run must change nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

fn recap(stdout: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut seen = false;
    for line in stdout.lines() {
        if line.starts_with("PLAY RECAP") {
            seen = true;
            continue;
        }
        if !seen {
            continue;
        }
        if let Some((host, rest)) = line.split_once(" : ") {
            if rest.trim_start().starts_with("ok=") {
                out.insert(host.trim().to_string(), rest.split_whitespace().collect::<Vec<_>>().join(" "));
            }
        }
    }
    out
}

fn snapshot(root: &Path) -> BTreeMap<String, Value> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Value>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            // fetch nests the host's path under its dest: the root's own path is normalised too.
            let rel =
                p.strip_prefix(root).unwrap().display().to_string().replace(root.display().to_string().trim_start_matches('/'), "{{root}}");
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let mode = format!("{:04o}", std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777);
            let rs = root.display().to_string();
            if meta.file_type().is_symlink() {
                let t = std::fs::read_link(&p).unwrap().display().to_string().replace(&rs, "{{root}}");
                out.insert(rel, json!({"type": "link", "target": t}));
            } else if meta.is_dir() {
                out.insert(rel, json!({"type": "directory", "mode": mode}));
                walk(root, &p, out);
            } else {
                let data = std::fs::read(&p).unwrap();
                let text = String::from_utf8(data).expect("test files are text").replace(&rs, "{{root}}");
                out.insert(rel, json!({"type": "file", "mode": mode, "content": text}));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
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
        let got = recap(&out);
        let want: BTreeMap<String, String> = serde_json::from_value(expected[run]["recap"].clone()).unwrap();
        if got != want {
            errors.push(format!("{run} run: recap {got:?}, ansible-playbook gave {want:?}\n{out}\n{err}"));
        }
        if run == "second" && !case.join("not-idempotent").exists() && got.values().any(|r| !r.contains("changed=0 ")) {
            errors.push(format!("second run changed something: {got:?}"));
        }
    }
    let files = snapshot(&root);
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

#[test]
fn cases_match_ansible() {
    let mut names: Vec<String> =
        std::fs::read_dir(cases_dir()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert!(names.len() >= 12, "at least a dozen cases");
    let failures: Vec<String> = names.iter().filter_map(|n| check_case(n).err()).collect();
    assert!(failures.is_empty(), "{} of {} cases differ from ansible-playbook:\n\n{}", failures.len(), names.len(), failures.join("\n\n"));
}
