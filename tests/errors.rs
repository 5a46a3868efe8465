//! One bad playbook per kind of error, its message checked against a snapshot. Errors found
//! when loading exit with 4 before anything runs; undefined variables and broken templates fail
//! their task (exit 2) and name the variable or the template's line.

use std::path::Path;
use std::process::Command;

fn run(file: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/errors");
    let out = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["run", file])
        .current_dir(&dir)
        .env("NO_COLOR", "1")
        // The snapshots are the error messages; progress lines are tested in tests/output.rs.
        .env("STEWARD_PROGRESS", "off")
        .env("HOME", "/home/nobody")
        .env_remove("ANSIBLE_ROLES_PATH")
        .output()
        .expect("run steward");
    let text = format!(
        "exit: {}\n--- stderr\n{}--- stdout\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    // Paths and times differ from machine to machine.
    let text = text.replace(&dir.display().to_string(), "[DIR]");
    let re = regex::Regex::new(r#""(start|end|delta)": "[^"]*""#).unwrap();
    re.replace_all(&text, "\"$1\": \"[TIME]\"").into_owned()
}

macro_rules! error_case {
    ($name:ident, $code:expr) => {
        #[test]
        fn $name() {
            let out = run(concat!(stringify!($name), ".yml"));
            assert!(out.starts_with(&format!("exit: {}\n", $code)), "{out}");
            insta::assert_snapshot!(stringify!($name), out);
        }
    };
}

error_case!(yaml_syntax, 4);
error_case!(unknown_play_keyword, 4);
error_case!(unknown_task_keyword, 4);
error_case!(unknown_module, 4);
error_case!(unknown_argument, 4);
error_case!(wrong_type, 4);
error_case!(bad_choice, 4);
error_case!(missing_hosts, 4);
error_case!(bad_when, 4);
error_case!(missing_role, 4);
error_case!(missing_handler, 4);
error_case!(bad_retries, 4);
error_case!(two_loops, 4);
error_case!(free_text_args, 4);
error_case!(undefined_variable, 2);
error_case!(template_syntax, 2);
