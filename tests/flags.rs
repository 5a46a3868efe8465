//! ansible-playbook's flags that people type on day one, on localhost (local connection):
//! YAML extra vars, --force-handlers, the password files, -J, and the flags steward accepts
//! with a warning because they have nothing to act on.

use std::path::Path;
use std::process::{Command, Stdio};

fn steward(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("ANSIBLE_CONFIG")
        .stdin(Stdio::null())
        .output()
        .expect("run steward");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

const LOCAL: &[&str] = &["-i", "localhost,", "-c", "local"];

fn run(dir: &Path, playbook: &str, extra: &[&str]) -> (i32, String, String) {
    std::fs::write(dir.join("pb.yml"), playbook).unwrap();
    let mut args = vec!["run", "pb.yml"];
    args.extend_from_slice(LOCAL);
    args.extend_from_slice(extra);
    steward(dir, &args)
}

#[test]
fn extra_vars_in_yaml() {
    let tmp = tempfile::tempdir().unwrap();
    let pb = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - assert:\n        that: [a == 7, b.c == 'x']\n";
    let (code, out, err) = run(tmp.path(), pb, &["-e", "a: 7", "-e", "b: {c: x}"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn force_handlers_runs_what_a_failed_host_notified() {
    let tmp = tempfile::tempdir().unwrap();
    let pb = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: 'true'\n      notify: h\n    - fail: msg=stop\n  handlers:\n    - name: h\n      debug: msg=handler-ran\n";
    let (code, out, _) = run(tmp.path(), pb, &[]);
    assert_eq!(code, 2);
    assert!(!out.contains("handler-ran"), "a failed host runs no handlers without the flag:\n{out}");
    let (code, out, _) = run(tmp.path(), pb, &["--force-handlers"]);
    assert_eq!(code, 2);
    assert!(out.contains("RUNNING HANDLER [h]") && out.contains("handler-ran"), "{out}");
}

#[test]
fn password_files_are_read_or_run_and_a_missing_one_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pb = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n";
    std::fs::write(dir.join("pw.txt"), "secret-one\nsecond line\n").unwrap();
    let (code, out, err) = run(dir, pb, &["--become-password-file", "pw.txt", "--connection-password-file", "pw.txt"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("secret-one") && !err.contains("secret-one"), "a password reached the output");
    let script = dir.join("pw.sh");
    std::fs::write(&script, "#!/bin/sh\necho from-a-program\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (code, _, err) = run(dir, pb, &["--become-pass-file", "pw.sh"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(dir, pb, &["--become-password-file", "nothere.txt"]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot read the password file nothere.txt"), "{err}");
}

#[test]
fn accepted_flags_warn_when_they_have_nothing_to_act_on() {
    let tmp = tempfile::tempdir().unwrap();
    let pb = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n";
    let (code, out, err) = run(tmp.path(), pb, &["--sftp-extra-args", "-l 1000", "--scp-extra-args", "-l 1000", "--flush-cache"]);
    assert_eq!(code, 0, "{out}{err}");
    let all = format!("{out}{err}");
    assert!(all.contains("--sftp-extra-args is ignored") && all.contains("--scp-extra-args is ignored"), "{all}");
}

#[test]
fn dash_j_asks_for_the_vault_password_and_needs_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let pb = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n";
    let (code, _, err) = run(tmp.path(), pb, &["-J"]);
    assert_ne!(code, 0);
    assert!(err.to_lowercase().contains("terminal"), "{err}");
}

#[test]
fn a_blank_line_follows_each_diff_as_in_ansible() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("x.txt");
    let pb =
        format!("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - copy: {{dest: '{}', content: \"a\\n\"}}\n", dest.display());
    let (code, out, err) = run(tmp.path(), &pb, &["--diff"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("@@ -0,0 +1 @@\n+a\n\nchanged: [localhost]"), "{out}");
}

#[test]
fn hosts_that_all_fail_end_the_play_without_no_more_hosts_left() {
    let tmp = tempfile::tempdir().unwrap();
    let pb = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - fail: msg=stop\n    - debug: msg=after\n";
    let (code, out, _) = run(tmp.path(), pb, &[]);
    assert_eq!(code, 2);
    assert!(!out.contains("NO MORE HOSTS LEFT") && !out.contains("after"), "{out}");
    // any_errors_fatal ends it quietly too; max_fail_percentage says it twice, as Ansible does.
    let pb = "- hosts: all\n  gather_facts: false\n  any_errors_fatal: true\n  tasks:\n    - fail: msg=stop\n      when: inventory_hostname == 'a'\n    - debug: msg=after\n";
    std::fs::write(tmp.path().join("pb.yml"), pb).unwrap();
    let (_, out, _) = steward(tmp.path(), &["run", "pb.yml", "-i", "a,b,", "-c", "local"]);
    assert_eq!(out.matches("NO MORE HOSTS LEFT").count(), 0, "{out}");
    std::fs::write(tmp.path().join("pb.yml"), pb.replace("any_errors_fatal: true", "max_fail_percentage: 10")).unwrap();
    let (_, out, _) = steward(tmp.path(), &["run", "pb.yml", "-i", "a,b,", "-c", "local"]);
    assert_eq!(out.matches("NO MORE HOSTS LEFT").count(), 2, "{out}");
}

#[test]
fn a_failed_until_says_what_was_retried() {
    let tmp = tempfile::tempdir().unwrap();
    let pb = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: wait for b\n      command: echo a\n      register: r\n      until: r.stdout == 'b'\n      retries: 2\n      delay: 0\n";
    let (code, out, _) = run(tmp.path(), pb, &[]);
    assert_eq!(code, 2);
    assert!(
        out.contains("[ERROR]: Task failed: Action failed: `wait for b` was retried 2 times and its last result (below) still did not pass its `until` condition"),
        "{out}"
    );
    assert!(out.contains("\"stdout\": \"a\""), "the last result is shown: {out}");
    // A failure with no message at all reads as Ansible's.
    let pb = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: echo a\n      failed_when: true\n";
    let (_, out, _) = run(tmp.path(), pb, &[]);
    assert!(!out.contains("Task failed: \n"), "{out}");
}

#[test]
fn an_unknown_filter_gets_a_did_you_mean() {
    let tmp = tempfile::tempdir().unwrap();
    let pb = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ [1] | to_jsn }}\"\n";
    let (code, out, _) = run(tmp.path(), pb, &[]);
    assert_eq!(code, 2);
    // Ansible's words first (targets match on them), then the hint.
    assert!(out.contains("No filter named 'to_jsn'. Did you mean 'to_json'?"), "{out}");
    let pb = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ [1] | zzzzqqq }}\"\n";
    let (_, out, _) = run(tmp.path(), pb, &[]);
    assert!(out.contains("No filter named 'zzzzqqq'.") && !out.contains("Did you mean"), "{out}");
}

#[test]
fn a_missing_template_lists_the_absolute_paths_searched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::fs::canonicalize(tmp.path()).unwrap();
    let pb = format!(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - template:\n        src: nothere.j2\n        dest: {}/out\n",
        dir.display()
    );
    let (code, out, _) = run(&dir, &pb, &[]);
    assert_eq!(code, 2);
    let d = dir.display();
    assert!(
        out.contains(&format!("Could not find or access 'nothere.j2'\nSearched in:\n\t{d}/templates/nothere.j2\n\t{d}/nothere.j2"))
            && out.contains("on the Ansible Controller."),
        "{out}"
    );
}
