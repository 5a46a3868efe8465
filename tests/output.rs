//! Output for CI: `--output json` (one event per line), `--junit FILE`, and
//! `--check --fail-on-change` (exit 10 when a machine has drifted).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn steward(args: &[&str]) -> (i32, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/output");
    let out = Command::new(env!("CARGO_BIN_EXE_steward")).args(args).current_dir(dir).env("NO_COLOR", "1").output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[test]
fn json_events_one_per_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out_var = format!("out={}", tmp.path().display());
    let (code, stdout) = steward(&["run", "mixed.yml", "-e", &out_var, "--output", "json"]);
    assert_eq!(code, 0, "{stdout}");
    let events: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}"))).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"play_start"));
    assert_eq!(&kinds[kinds.len() - 2..], &["recap", "end"]);
    let results: Vec<&Value> = events.iter().filter(|e| e["event"] == "result").collect();
    let statuses: Vec<&str> = results.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, vec!["changed", "skipped", "ok", "ignored"]);
    assert_eq!(results[0]["task"], "write a file");
    assert_eq!(results[0]["result"]["dest"], format!("{}/file.txt", tmp.path().display()));
    assert!(results[3]["result"]["rc"] == 1);
    assert!(!stdout.contains("the-secret-value"), "no_log output leaked: {stdout}");
    // The ignored failure counts as changed too (its command ran), as in ansible-playbook.
    let recap = &events[events.len() - 2]["hosts"]["localhost"];
    assert_eq!((recap["ok"].as_u64(), recap["changed"].as_u64(), recap["ignored"].as_u64()), (Some(3), Some(2), Some(1)));
}

#[test]
fn junit_report() {
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("report.xml");
    let out_var = format!("out={}", tmp.path().display());
    let (code, stdout) = steward(&["run", "mixed.yml", "-e", &out_var, "--junit", report.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}");
    let xml = std::fs::read_to_string(&report).unwrap();
    assert!(xml.contains("<testsuite name=\"mixed.yml: mixed results\" tests=\"4\" failures=\"0\" skipped=\"1\""), "{xml}");
    assert!(xml.contains("<testcase classname=\"localhost\" name=\"write a file\""), "{xml}");
    assert!(!xml.contains("the-secret-value"), "{xml}");
}

#[test]
fn check_fail_on_change_gates_drift() {
    let tmp = tempfile::tempdir().unwrap();
    let out_var = format!("out={}", tmp.path().display());
    // Drift: the file is missing, so the check says it would change, and exits 10.
    let (code, stdout) = steward(&["run", "mixed.yml", "-e", &out_var, "--check", "--fail-on-change"]);
    assert_eq!(code, 10, "{stdout}");
    assert!(!tmp.path().join("file.txt").exists(), "check mode changed the host");
    // Converged: nothing would change.
    let (code, _) = steward(&["run", "mixed.yml", "-e", &out_var]);
    assert_eq!(code, 0);
    let (code, stdout) = steward(&["run", "mixed.yml", "-e", &out_var, "--check", "--fail-on-change"]);
    assert_eq!(code, 0, "{stdout}");
}

/// Ad-hoc commands print what `ansible` prints (the expected lines are ansible 2.19's output
/// for the same commands on localhost).
#[test]
fn adhoc_output_as_ansible() {
    let cases: &[(&[&str], i32, &str)] = &[
        (&["adhoc", "localhost", "-a", "echo hi"], 0, "localhost | CHANGED | rc=0 >>\nhi\n"),
        (&["adhoc", "localhost", "-m", "ping"], 0, "localhost | SUCCESS => {\n    \"changed\": false,\n    \"ping\": \"pong\"\n}\n"),
        (&["adhoc", "localhost", "-m", "ping", "-o"], 0, "localhost | SUCCESS => {\"changed\": false,\"ping\": \"pong\"}\n"),
        (&["adhoc", "localhost", "-m", "shell", "-a", "echo a; echo b", "-o"], 0, "localhost | CHANGED | rc=0 | (stdout) a\\nb\n"),
        (&["adhoc", "localhost", "-m", "shell", "-a", "exit 3"], 2, "localhost | FAILED | rc=3 >>\nnon-zero return code\n"),
    ];
    for (args, code, want) in cases {
        let (got_code, out) = steward(args);
        assert_eq!((got_code, out.as_str()), (*code, *want), "steward {}", args.join(" "));
    }
}

/// An executable inventory: groups from `--list`, host variables from `_meta` or `--host`.
#[test]
fn dynamic_inventory_script() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/inventory/dynamic.sh");
    let run = |extra: &[(&str, &str)], args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_steward"));
        c.args(args);
        for (k, v) in extra {
            c.env(k, v);
        }
        let o = c.output().unwrap();
        (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let inv = script.to_str().unwrap();
    // The same tree as ansible-inventory --graph prints for this script.
    let (code, graph) = run(&[], &["inventory", "-i", inv, "--graph"]);
    assert_eq!(code, 0);
    assert_eq!(
        graph,
        "@all:\n  |--@ungrouped:\n  |--@prod:\n  |  |--@web:\n  |  |  |--web1\n  |  |  |--web2\n  |  |--@db:\n  |  |  |--db1\n"
    );
    for env in [vec![], vec![("NO_META", "1")]] {
        let (code, host) = run(&env, &["inventory", "-i", inv, "--host", "web1"]);
        assert_eq!(code, 0);
        let v: Value = serde_json::from_str(&host).unwrap();
        assert_eq!(v, serde_json::json!({"port": 8080, "tier": "front"}));
    }
    let (code, out) =
        run(&[], &["adhoc", "-i", inv, "prod:&web", "-m", "debug", "-a", "msg={{ tier }}", "-o", "-e", "ansible_connection=local"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.lines().count(), 2, "{out}");
}

#[test]
fn progress_is_plain_lines_off_a_terminal_and_live_on_one() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/output");
    let bin = env!("CARGO_BIN_EXE_steward");
    // Not a terminal (a CI log): plain lines on stderr, and no escape codes anywhere.
    let out = Command::new(bin)
        .args(["run", "-i", "progress.ini", "progress.yml"])
        .current_dir(&dir)
        .env("NO_COLOR", "1")
        .env_remove("STEWARD_PROGRESS")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("[progress] PLAY [progress]: 3/3 hosts done, 6/6 tasks, 1 failed"), "{stderr}");
    assert!(!stdout.contains('\x1b') && !stderr.contains('\x1b'), "escape codes in a log:\n{stdout}{stderr}");
    assert!(!stdout.contains("[progress] PLAY"), "progress goes to stderr, not stdout");
    // On a terminal (script(1) gives the run one): the live display, drawn with escape codes.
    let cmd = format!("{bin} run -i progress.ini progress.yml");
    let out = Command::new("script")
        .args(["-qefc", &cmd, "/dev/null"])
        .current_dir(&dir)
        .env("TERM", "xterm-256color")
        .env_remove("STEWARD_PROGRESS")
        .output()
        .unwrap();
    let raw = String::from_utf8_lossy(&out.stdout);
    let screen = regex::Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]").unwrap().replace_all(&raw, "");
    assert!(screen.contains("PLAY [progress] [") && screen.contains("/3 hosts done, 1 failed"), "no live progress:\n{screen}");
    assert!(screen.contains("work a little"), "the active hosts' task is shown:\n{screen}");
    assert!(raw.contains('\x1b'), "the live display draws with escape codes");
    assert!(!screen.contains("[progress] PLAY"), "no plain lines on a terminal:\n{screen}");
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/output");
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("run.html");
    let out = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args([
            "run",
            "-i",
            "progress.ini",
            "report.yml",
            "-e",
            &format!("out={}", tmp.path().display()),
            "--report",
            report.to_str().unwrap(),
        ])
        .current_dir(&dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
    let html = std::fs::read_to_string(&report).unwrap();
    for want in [
        "<h2 id=\"recap\">",
        "h2 — migrate the database",
        "ERROR: relation users is locked",
        "+workers=4",
        "details hidden (no_log)",
        "id=\"exit\">2<",
    ] {
        assert!(html.contains(want), "the report lacks `{want}`:\n{html}");
    }
    assert!(!html.contains("report-secret-value"), "a no_log result reached the report");
    // Debian's chromium, headless: the page parses into the DOM we wrote and renders.
    let chromium =
        ["chromium", "chromium-browser"].into_iter().find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()));
    let chromium = chromium.expect("chromium is needed to check the HTML report (scripts/test installs Debian's chromium)");
    let url = format!("file://{}", report.display());
    let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"];
    let dom = Command::new(chromium).args(flags).arg("--dump-dom").arg(&url).output().unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("steward run report") && dom.contains("relation users is locked") && dom.contains("<table>"),
        "chromium's DOM:\n{dom}"
    );
    let shot = tmp.path().join("shot.png");
    let st = Command::new(chromium)
        .args(flags)
        .arg("--window-size=1200,1400")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 20_000, "the screenshot is empty ({} bytes)", png.len());
}
