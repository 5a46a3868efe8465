//! `--shard K/N` and `steward report merge`: a fleet run in slices (here 12 local hosts in 3
//! shards) gives the same recap, report and exit code as the one run it stands for, every host
//! in exactly one slice; and what would change meaning across slices is refused before the run.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const INVENTORY: &str = "[fleet]\nh[01:12]\n[fleet:vars]\nansible_connection=local\n";

fn steward(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_steward"));
    c.args(args).current_dir(dir).env("NO_COLOR", "1").env("STEWARD_PROGRESS", "off");
    for k in ["JOB_COMPLETION_INDEX", "CI_NODE_INDEX", "CI_NODE_TOTAL", "SLURM_ARRAY_TASK_ID"] {
        c.env_remove(k);
    }
    c.envs(env.iter().copied());
    let out = c.output().expect("run steward");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn recap_lines(out: &str) -> Vec<String> {
    out.lines().filter(|l| l.contains(" : ok=")).map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect()
}

fn setup(pb: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("inv.ini"), INVENTORY).unwrap();
    std::fs::write(tmp.path().join("pb.yml"), pb).unwrap();
    tmp
}

#[test]
fn shards_cover_the_fleet_once_and_merge_into_the_whole_run() {
    let pb = "- name: roll out\n  hosts: fleet\n  gather_facts: false\n  tasks:\n    - copy:\n        content: \"{{ inventory_hostname }}\\n\"\n        dest: \"{{ playbook_dir }}/out-{{ inventory_hostname }}\"\n    - command: 'false'\n      when: inventory_hostname == 'h07'\n";
    let tmp = setup(pb);
    let dir = tmp.path();
    let mut seen: Vec<BTreeSet<String>> = Vec::new();
    let mut files = Vec::new();
    for k in 1..=3 {
        let (code, out, err) = steward(dir, &["run", "-i", "inv.ini", "pb.yml", "--shard", &format!("{k}/3"), "--output", "json"], &[]);
        assert!(code == 0 || code == 2, "shard {k}: {err}");
        let hosts: BTreeSet<String> = out
            .lines()
            .filter(|l| l.contains("\"event\":\"result\""))
            .filter_map(|l| l.split("\"host\":\"").nth(1)?.split('"').next().map(str::to_string))
            .collect();
        let file = format!("shard{k}.json");
        std::fs::write(dir.join(&file), out).unwrap();
        files.push(file);
        seen.push(hosts);
    }
    let all: BTreeSet<String> = seen.iter().flatten().cloned().collect();
    assert_eq!(all.len(), 12, "every host runs in some shard: {seen:?}");
    assert_eq!(seen.iter().map(BTreeSet::len).sum::<usize>(), 12, "no host runs in two shards: {seen:?}");
    assert!(seen.iter().all(|s| !s.is_empty()), "12 hosts in 3 slices leave none empty: {seen:?}");
    // The merge: one recap, one report, one exit code.
    let mut args = vec!["report", "merge"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["--report", "run.html", "--junit", "run.xml"]);
    let (code, merged, err) = steward(dir, &args, &[]);
    assert_eq!(code, 2, "h07 failed, so the whole run failed: {merged}{err}");
    // The same playbook run whole, after the files are gone again.
    for h in &all {
        std::fs::remove_file(dir.join(format!("out-{h}"))).unwrap();
    }
    let (code, whole, _) = steward(dir, &["run", "-i", "inv.ini", "pb.yml"], &[]);
    assert_eq!(code, 2);
    assert_eq!(recap_lines(&merged), recap_lines(&whole));
    let html = std::fs::read_to_string(dir.join("run.html")).unwrap();
    assert!(html.contains("12 hosts · 12 changes · 1 failure") && html.contains("<h2 id=\"changes\">Changes (12)</h2>"), "{html}");
    let xml = std::fs::read_to_string(dir.join("run.xml")).unwrap();
    assert_eq!(xml.matches("<testsuite ").count(), 1, "one play, one suite: {xml}");
    assert!(xml.contains("tests=\"24\" failures=\"1\" skipped=\"11\""), "{xml}");
    // A shard that did not finish is said, not merged as if it had.
    let cut: String = std::fs::read_to_string(dir.join(&files[0]))
        .unwrap()
        .lines()
        .filter(|l| !l.contains("\"event\":\"end\""))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.join("cut.json"), cut).unwrap();
    let (code, _, err) = steward(dir, &["report", "merge", "cut.json", &files[1]], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("cut.json: no end event"), "{err}");
}

#[test]
fn shard_auto_reads_the_schedulers_and_cross_host_keywords_are_refused() {
    let tmp = setup("- hosts: fleet\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n");
    let dir = tmp.path();
    let hosts = |args: &[&str], env: &[(&str, &str)]| {
        let mut a = vec!["run", "-i", "inv.ini", "pb.yml", "--list-hosts"];
        a.extend_from_slice(args);
        let (code, out, err) = steward(dir, &a, env);
        assert_eq!(code, 0, "{err}");
        out.lines().filter(|l| l.starts_with("      h")).map(|l| l.trim().to_string()).collect::<Vec<_>>()
    };
    // GitLab counts from 1, Kubernetes from 0: the same slice either way.
    let explicit = hosts(&["--shard", "2/3"], &[]);
    assert_eq!(hosts(&["--shard", "auto"], &[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "3")]), explicit);
    assert_eq!(hosts(&["--shard", "auto"], &[("JOB_COMPLETION_INDEX", "1"), ("JOB_COMPLETIONS", "3")]), explicit);
    let (code, _, err) = steward(dir, &["run", "-i", "inv.ini", "pb.yml", "--shard", "auto"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("no shard in the environment"), "{err}");
    for (kw, pb) in [
        ("run_once", "- hosts: fleet\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n      run_once: true\n"),
        ("serial", "- hosts: fleet\n  gather_facts: false\n  serial: 30%\n  tasks:\n    - debug: msg=hi\n"),
        ("max_fail_percentage", "- hosts: fleet\n  gather_facts: false\n  max_fail_percentage: 10\n  tasks:\n    - debug: msg=hi\n"),
        ("any_errors_fatal", "- hosts: fleet\n  gather_facts: false\n  any_errors_fatal: true\n  tasks:\n    - debug: msg=hi\n"),
    ] {
        std::fs::write(dir.join("pb.yml"), pb).unwrap();
        let (code, out, err) = steward(dir, &["run", "-i", "inv.ini", "pb.yml", "--shard", "1/3"], &[]);
        assert_eq!(code, 4, "{kw}: {out}{err}");
        assert!(err.contains("--shard 1/3") && err.contains(kw) && err.contains("pb.yml:"), "{kw}: {err}");
        assert!(!out.contains("TASK ["), "{kw}: nothing runs:\n{out}");
    }
}
