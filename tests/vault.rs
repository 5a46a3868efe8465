//! Ansible Vault: files and inline values that ansible-vault encrypted (the fixtures in
//! tests/vault were made with ansible-vault 2.19) are decrypted; what steward encrypts,
//! ansible-vault decrypts (checked when ansible-vault is installed; scripts/test installs it).

use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vault")
}

fn steward(args: &[&str]) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_steward")).args(args).current_dir(dir()).env("NO_COLOR", "1").output().unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr))
}

#[test]
fn files_and_inline_values_from_ansible_vault() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.txt");
    let out_var = format!("out={}", out.display());
    let (code, text) = steward(&["run", "playbook.yml", "-e", &out_var, "--vault-password-file", "password.txt"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "swordfish inline-secret\n");
    assert!(!text.contains("swordfish") && !text.contains("inline-secret"), "a decrypted value reached the output:\n{text}");
    let (code, text) = steward(&["run", "playbook.yml", "-e", &out_var, "--vault-id", "prod@password.txt"]);
    assert_eq!(code, 0, "{text}");
}

#[test]
fn a_missing_or_wrong_password_is_a_clear_error() {
    let (code, text) = steward(&["run", "playbook.yml", "-e", "out=/nonexistent"]);
    assert_eq!(code, 4, "{text}");
    assert!(text.contains("no vault password was given"), "{text}");
    let tmp = tempfile::tempdir().unwrap();
    let wrong = tmp.path().join("wrong");
    std::fs::write(&wrong, "not-it").unwrap();
    let (code, text) = steward(&["run", "playbook.yml", "-e", "out=/nonexistent", "--vault-password-file", wrong.to_str().unwrap()]);
    assert_eq!(code, 4, "{text}");
    assert!(text.contains("wrong password"), "{text}");
}

fn ansible_vault() -> Option<PathBuf> {
    let cands = [std::env::var("ANSIBLE_VAULT_BIN").ok().map(PathBuf::from), Some(PathBuf::from("/opt/ansible-venv/bin/ansible-vault"))];
    for c in cands.into_iter().flatten() {
        if c.exists() {
            return Some(c);
        }
    }
    Command::new("ansible-vault").arg("--version").output().ok().filter(|o| o.status.success()).map(|_| PathBuf::from("ansible-vault"))
}

#[test]
fn what_steward_encrypts_ansible_vault_decrypts() {
    let tmp = tempfile::tempdir().unwrap();
    let pw = dir().join("password.txt");
    for (label, header) in [(None, "$ANSIBLE_VAULT;1.1;AES256"), (Some("prod"), "$ANSIBLE_VAULT;1.2;AES256;prod")] {
        let f = tmp.path().join("vars.yml");
        std::fs::write(&f, "api_key: 12345\n").unwrap();
        let mut args = vec!["vault", "encrypt", f.to_str().unwrap()];
        let id = label.map(|l| format!("{l}@{}", pw.display()));
        match &id {
            Some(id) => args.extend(["--vault-id", id.as_str()]),
            None => args.extend(["--vault-password-file", pw.to_str().unwrap()]),
        }
        let (code, text) = steward(&args);
        assert_eq!(code, 0, "{text}");
        let enc = std::fs::read_to_string(&f).unwrap();
        assert!(enc.starts_with(header), "{enc}");
        // steward reads it back...
        let (code, text) = steward(&["vault", "view", f.to_str().unwrap(), "--vault-password-file", pw.to_str().unwrap()]);
        assert_eq!((code, text.as_str()), (0, "api_key: 12345\n"));
        // ...and so does ansible-vault.
        match ansible_vault() {
            Some(av) => {
                let o = Command::new(av).args(["view", "--vault-password-file"]).arg(&pw).arg(&f).output().unwrap();
                assert_eq!(String::from_utf8_lossy(&o.stdout), "api_key: 12345\n", "{}", String::from_utf8_lossy(&o.stderr));
            }
            None => eprintln!("ansible-vault is not installed: only steward's own reading was checked"),
        }
    }
}
