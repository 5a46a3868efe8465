//! Every subcommand's errors take one path: the subcommand returns the error, and `main` prints
//! it once on stderr, in one format, and exits with its code (1, or 4 for a playbook that does
//! not load). The messages and codes are the ones steward printed before that path existed.

use std::path::Path;
use std::process::{Command, Stdio};

fn steward(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("HOME", dir)
        .env_remove("ANSIBLE_CONFIG")
        .env_remove("ANSIBLE_INVENTORY")
        .env_remove("ANSIBLE_VAULT_PASSWORD_FILE")
        .stdin(Stdio::null())
        .output()
        .expect("run steward");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn each_subcommand_prints_its_error_once_with_its_exit_code() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("ok.yml"), "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n").unwrap();
    std::fs::write(dir.join("bad.yml"), "foo: [\n").unwrap();
    std::fs::write(dir.join("inv.ini"), "[web]\nweb1 ansible_host=x\n").unwrap();
    let yaml_error = "error: YAML syntax error: unclosed bracket '['\n --> bad.yml:1:6\n  |\n1 | foo: [\n  |      ^ here\n";
    let extra_vars_error =
        "error: extra vars `x` are neither key=value pairs nor a YAML mapping\n   = help: use -e 'name=value', -e 'name: value', -e '{\"name\": 1}' or -e @file.yml\n";
    let cases: &[(&[&str], i32, &str)] = &[
        (&["run"], 1, "error: a playbook is required: steward run PLAYBOOK...\n"),
        (&["run", "missing.yml"], 1, "error: the playbook missing.yml could not be found\n"),
        (&["run", "bad.yml"], 4, yaml_error),
        (&["run", "ok.yml", "-e", "x"], 1, extra_vars_error),
        (
            &["run", "ok.yml", "-i", "nofile_inv"],
            1,
            "error: inventory source `nofile_inv` does not exist\n   = help: give a file, a folder, or a comma list such as `web1,web2,`\n",
        ),
        (
            &["run", "ok.yml", "--vault-password-file", "/nonexistent"],
            1,
            "error: cannot read vault password file /nonexistent: No such file or directory (os error 2)\n",
        ),
        (&["graph", "bad.yml"], 4, yaml_error),
        (&["graph", "ok.yml", "-e", "x"], 1, extra_vars_error),
        (&["adhoc", "localhost", "ok.yml"], 1, "error: steward adhoc takes one host pattern, not playbooks (use steward run)\n"),
        (&["inventory"], 1, "error: one of --list, --graph or --host is required\n"),
        (
            &["inventory", "-i", "inv.ini", "--host", "nohost"],
            1,
            "error: you must pass a single valid host to --host parameter (`nohost` is not in the inventory)\n",
        ),
        (&["inventory", "-i", "inv.ini", "--graph", "nogroup"], 1, "error: no group `nogroup` in the inventory\n"),
        (&["doc", "copyy"], 1, "error: no module `copyy` (did you mean `copy`?)\n"),
        (&["vault", "view", "/nonexistent"], 1, "error: cannot read /nonexistent: No such file or directory (os error 2)\n"),
        (&["vault", "encrypt", "ok.yml"], 1, "error: no vault password given: use --vault-password-file, --ask-vault-pass or --vault-id\n"),
    ];
    let mut wrong = Vec::new();
    for (args, code, want) in cases {
        let (got_code, stdout, stderr) = steward(dir, args);
        if (got_code, stdout.as_str(), stderr.as_str()) != (*code, "", *want) {
            wrong.push(format!(
                "steward {}: exit {got_code} (want {code})\n--- stdout\n{stdout}--- stderr\n{stderr}--- wanted stderr\n{want}",
                args.join(" ")
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_successful_command_exits_0_with_nothing_on_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("ok.yml"), "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n").unwrap();
    let (code, stdout, stderr) = steward(tmp.path(), &["run", "ok.yml", "--syntax-check"]);
    assert_eq!((code, stdout.as_str(), stderr.as_str()), (0, "\nplaybook: ok.yml\n", ""));
}
