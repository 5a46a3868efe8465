//! What people type and meet on day one, on localhost (local connection): ansible-playbook's
//! flags (YAML extra vars, --force-handlers, --step, the password files, -J, and the flags
//! steward accepts with a warning because they have nothing to act on), run-time errors, the
//! live progress, and the HTML and JUnit reports.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};

const LOCAL: &[&str] = &["-i", "localhost,", "-c", "local"];

fn run(dir: &Path, playbook: &str, extra: &[&str]) -> (i32, String, String) {
    std::fs::write(dir.join("pb.yml"), playbook).unwrap();
    let mut args = vec!["run", "pb.yml"];
    args.extend_from_slice(LOCAL);
    args.extend_from_slice(extra);
    support::steward(&args, dir)
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
    let (_, out, _) = support::steward(&["run", "pb.yml", "-i", "a,b,", "-c", "local"], tmp.path());
    assert_eq!(out.matches("NO MORE HOSTS LEFT").count(), 0, "{out}");
    std::fs::write(tmp.path().join("pb.yml"), pb.replace("any_errors_fatal: true", "max_fail_percentage: 10")).unwrap();
    let (_, out, _) = support::steward(&["run", "pb.yml", "-i", "a,b,", "-c", "local"], tmp.path());
    assert_eq!(out.matches("NO MORE HOSTS LEFT").count(), 2, "{out}");
}

#[test]
fn a_failed_until_says_what_was_retried() {
    let tmp = tempfile::tempdir().unwrap();
    let pb = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: wait for b\n      command: echo a\n      register: r\n      until: r.stdout == 'b'\n      retries: 2\n      delay: 0\n";
    let (code, out, _) = run(tmp.path(), pb, &[]);
    assert_eq!(code, 2);
    assert!(
        out.contains("[ERROR]: Task failed: Action failed: `wait for b` was retried 2 times and its last result (below) still did not pass `until: r.stdout == 'b'`"),
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
    // As Ansible: the lines up to the value, and a caret under it.
    assert!(out.contains("4     - debug:\n5         msg: \"{{ [1] | to_jsn }}\"\n               ^ column 14\n"), "{out}");
    // A missing key and an undefined variable point at their values too.
    let pb = "- hosts: localhost\n  gather_facts: false\n  vars:\n    d: {a: 1}\n  tasks:\n    - copy:\n        dest: /tmp/x\n        content: \"{{ d.b }}\"\n";
    let (code, out, _) = run(tmp.path(), pb, &[]);
    assert_eq!(code, 2);
    assert!(
        out.contains("has no attribute 'b'") && out.contains("8         content: \"{{ d.b }}\"\n                   ^ column 18\n"),
        "{out}"
    );
    let pb = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ nope }}\"\n";
    let (_, out, _) = run(tmp.path(), pb, &[]);
    assert!(out.contains("'nope' is undefined") && out.contains("               ^ column 14\n"), "{out}");
    let pb = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ [1] | zzzzqqq }}\"\n";
    let (_, out, _) = run(tmp.path(), pb, &[]);
    assert!(out.contains("No filter named 'zzzzqqq'.") && !out.contains("Did you mean"), "{out}");
}

#[test]
fn a_missing_template_lists_the_absolute_paths_searched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::fs::canonicalize(tmp.path()).unwrap();
    // Under ignore_errors the task runs (and fails) as in Ansible; see the next test for one
    // that certainly runs.
    let pb = format!(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - template:\n        src: nothere.j2\n        dest: {}/out\n      ignore_errors: true\n",
        dir.display()
    );
    let (code, out, _) = run(&dir, &pb, &[]);
    assert_eq!(code, 0, "{out}");
    let d = dir.display();
    assert!(
        out.contains(&format!("Could not find or access 'nothere.j2'\nSearched in:\n\t{d}/templates/nothere.j2\n\t{d}/nothere.j2"))
            && out.contains("on the Ansible Controller."),
        "{out}"
    );
}

#[test]
fn a_literal_src_that_is_not_there_is_refused_before_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::fs::canonicalize(tmp.path()).unwrap();
    let task = format!("    - copy:\n        src: motd.txt\n        dest: {}/motd\n", dir.display());
    let first = "    - debug: msg=first-task-ran\n";
    let pb = format!("- hosts: localhost\n  gather_facts: false\n  tasks:\n{first}{task}");
    let (code, out, err) = run(&dir, &pb, &[]);
    assert_eq!(code, 4, "{out}{err}");
    assert!(err.contains("the controller file `motd.txt` of task `copy` does not exist") && err.contains("pb.yml:6:14"), "{err}");
    assert!(err.contains(&format!("searched in: {}/files/motd.txt, {}/motd.txt", dir.display(), dir.display())), "{err}");
    assert!(!out.contains("first-task-ran"), "a task ran before the refusal:\n{out}");
    // Once it is there, the same playbook runs.
    std::fs::write(dir.join("motd.txt"), "hello\n").unwrap();
    let (code, out, err) = run(&dir, &pb, &[]);
    assert_eq!(code, 0, "{out}{err}");
    std::fs::remove_file(dir.join("motd.txt")).unwrap();
    // A task that may not run fails only if it does, with Ansible's message.
    let guarded = format!(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n{first}    - block:\n    {}      rescue:\n        - debug: msg=rescued\n",
        task.replace("\n    ", "\n        ")
    );
    let (code, out, err) = run(&dir, &guarded, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("first-task-ran") && out.contains("Could not find or access 'motd.txt'") && out.contains("rescued"), "{out}");
    // A playbook that may write on the controller first gets a warning, and runs.
    let local =
        format!("- hosts: localhost\n  gather_facts: false\n  tasks:\n{first}    - command: 'true'\n      delegate_to: localhost\n{task}");
    let (code, out, err) = run(&dir, &local, &[]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("[WARNING]") && err.contains("will fail unless an earlier task creates it"), "{err}");
    assert!(out.contains("first-task-ran"), "{out}");
}

#[test]
fn step_asks_before_each_task_and_needs_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pb = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: one\n      debug: msg=ran-one\n    - name: two\n      debug: msg=ran-two\n    - name: three\n      debug: msg=ran-three\n    - name: four\n      debug: msg=ran-four\n";
    std::fs::write(dir.join("pb.yml"), pb).unwrap();
    let (code, _, err) = support::steward(&["run", "pb.yml", "-i", "localhost,", "-c", "local", "--step"], dir);
    assert_eq!(code, 1);
    assert!(err.contains("--step") && err.contains("needs a terminal"), "{err}");
    // On a terminal (script(1) gives it one): yes to one, no to two, continue from three on.
    let cmd = format!("{} run pb.yml -i localhost, -c local --step", env!("CARGO_BIN_EXE_steward"));
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"y\nn\nc\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(screen.contains("Perform task: TASK: one (N)o/(y)es/(c)ontinue:"), "{screen}");
    assert!(screen.contains("Perform task: TASK: three (N)o/(y)es/(c)ontinue:"), "{screen}");
    assert!(!screen.contains("Perform task: TASK: four"), "continue stops the questions:\n{screen}");
    for (msg, ran) in [("ran-one", true), ("ran-two", false), ("ran-three", true), ("ran-four", true)] {
        assert_eq!(screen.contains(&format!("\"msg\": \"{msg}\"")), ran, "{msg}:\n{screen}");
    }
    assert!(screen.contains("ok=3"), "{screen}");
}

/// The live progress in plain mode (a CI log): one host's count moves as its tasks finish, and
/// a failure the playbook ignores is not counted as one.
#[test]
fn progress_counts_tasks_and_not_ignored_failures() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pb = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - fail: msg=never-mind\n      ignore_errors: true\n    - command: sleep 1\n    - command: sleep 1\n    - command: sleep 1\n    - command: sleep 1\n";
    std::fs::write(dir.join("pb.yml"), pb).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["run", "pb.yml", "-i", "localhost,", "-c", "local"])
        .current_dir(dir)
        .env("STEWARD_PROGRESS", "plain")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("[progress]")).collect();
    assert!(lines.iter().all(|l| !l.contains("failed")), "an ignored failure was counted:\n{err}");
    let moving = regex::Regex::new(r"0/1 hosts done, [1-4]/5 tasks").unwrap();
    assert!(lines.iter().any(|l| moving.is_match(l)), "no progress before the host was done:\n{err}");
    assert!(lines.last().is_some_and(|l| l.contains("1/1 hosts done, 5/5 tasks")), "{err}");
}

#[test]
fn the_html_report_says_what_kind_of_run_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::fs::canonicalize(tmp.path()).unwrap();
    let pb = format!(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - copy:\n        content: x\n        dest: {}/f\n    - fail: msg=ignored-one\n      ignore_errors: true\n    - block:\n        - fail: msg=rescued-one\n      rescue:\n        - debug: msg=fine\n",
        dir.display()
    );
    let report = dir.join("r.html");
    let html = |extra: &[&str]| {
        let mut args = vec!["--report", report.to_str().unwrap()];
        args.extend_from_slice(extra);
        let (code, out, err) = run(&dir, &pb, &args);
        assert_eq!(code, 0, "{out}{err}");
        std::fs::read_to_string(&report).unwrap()
    };
    let checked = html(&["--check"]);
    assert!(!dir.join("f").exists(), "check mode wrote the file");
    for want in [
        "<span id=\"playbook\">pb.yml</span>",
        "check mode</span> Nothing was changed",
        "1 host · 1 change predicted · 0 failures",
        "<h2 id=\"changes\">Would change (1)</h2>",
        "1 task would change",
        "unnamed play on localhost",
        "<h2 id=\"handled\">Rescued and ignored failures (2)</h2>",
        "ignored-one",
        "rescued-one",
    ] {
        assert!(checked.contains(want), "the check report lacks `{want}`:\n{checked}");
    }
    let real = html(&[]);
    assert!(dir.join("f").exists());
    assert!(real.contains("1 host · 1 change · 0 failures") && real.contains("<h2 id=\"changes\">Changes (1)</h2>"), "{real}");
    assert!(!real.contains("check mode") && !real.contains("would change"), "{real}");
}

#[test]
fn junit_keeps_same_named_plays_of_two_playbooks_apart_with_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let play = |task: &str| format!("- name: setup\n  hosts: localhost\n  gather_facts: false\n  tasks:\n    - {task}\n");
    std::fs::write(dir.join("a.yml"), play("debug: msg=a")).unwrap();
    std::fs::write(dir.join("b.yml"), play("shell: echo boom-on-stderr >&2; exit 3")).unwrap();
    let (code, out, err) = support::steward(&["run", "a.yml", "b.yml", "-i", "localhost,", "-c", "local", "--junit", "r.xml"], dir);
    assert_eq!(code, 2, "{out}{err}");
    let xml = std::fs::read_to_string(dir.join("r.xml")).unwrap();
    assert!(xml.contains("<testsuite name=\"a.yml: setup\" tests=\"1\" failures=\"0\""), "{xml}");
    assert!(xml.contains("<testsuite name=\"b.yml: setup\" tests=\"1\" failures=\"1\""), "{xml}");
    assert!(xml.contains("non-zero return code\n\nstderr:\nboom-on-stderr</failure>"), "{xml}");
}
