//! A secret planted in a playbook never reaches any output: the terminal (with -v and --diff),
//! `--output json`, the JUnit report. `no_log: true` hides a task's arguments and results.

use std::path::Path;
use std::process::Command;

const SECRET: &str = "Pl4nted-S3cret-value";

fn run(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/secrets"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.code() == Some(0), "{text}");
    text
}

#[test]
fn no_output_shows_the_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let d = format!("dir={}", tmp.path().display());
    let s = format!("secret_value={SECRET}");
    let junit = tmp.path().join("junit.xml");
    let html = tmp.path().join("report.html");
    let outputs = [
        run(&["run", "playbook.yml", "-e", &d, "-e", &s, "-vvv", "--diff", "--report", html.to_str().unwrap()]),
        run(&["run", "playbook.yml", "-e", &d, "-e", &s, "--output", "json", "--diff"]),
        run(&["run", "playbook.yml", "-e", &d, "-e", &s, "--junit", junit.to_str().unwrap(), "--check", "--diff"]),
    ];
    // The tasks did run with the secret.
    assert_eq!(std::fs::read_to_string(tmp.path().join("secret.txt")).unwrap(), format!("{SECRET}\n"));
    let files = [std::fs::read_to_string(&junit).unwrap(), std::fs::read_to_string(&html).unwrap()];
    for out in outputs.iter().chain(files.iter()) {
        assert!(!out.contains(SECRET), "the secret leaked:\n{out}");
        assert!(
            out.contains("no_log") || out.contains("censored") || out.contains("testsuite") || out.contains("steward run report"),
            "{out}"
        );
    }
}

#[test]
fn vault_values_are_masked_in_traces_diffs_and_reports() {
    const VAULTED: &str = "Vau1ted-Db-Passw0rd";
    let tmp = tempfile::tempdir().unwrap();
    let d = format!("dir={}", tmp.path().display());
    let junit = tmp.path().join("junit.xml");
    let pw = ["--vault-password-file", "vault-pass.txt"];
    let mut outputs = Vec::new();
    for extra in [&["-vvv", "--diff"][..], &["--output", "json", "--diff"][..], &["--junit", junit.to_str().unwrap(), "--diff"][..]] {
        let mut args = vec!["run", "vaulted.yml", "-e", &d];
        args.extend_from_slice(&pw);
        args.extend_from_slice(extra);
        outputs.push(run(&args));
        std::fs::remove_file(tmp.path().join("db.conf")).ok();
    }
    outputs.push(std::fs::read_to_string(&junit).unwrap());
    // The tasks used the real value.
    let mut args = vec!["run", "vaulted.yml", "-e", &d];
    args.extend_from_slice(&pw);
    run(&args);
    assert_eq!(std::fs::read_to_string(tmp.path().join("db.conf")).unwrap(), format!("password={VAULTED}\n"));
    assert!(outputs[0].contains("EXEC") && outputs[0].contains("********"), "the -vvv trace shows the command, masked:\n{}", outputs[0]);
    for out in &outputs {
        assert!(!out.contains(VAULTED), "the vault value leaked:\n{out}");
    }
}
