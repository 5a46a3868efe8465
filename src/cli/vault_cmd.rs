//! `steward vault`: encrypt, decrypt, view, edit and encrypt_string, as ansible-vault; and the
//! setup of vault passwords for every command.

use super::{Error, VaultArgs, VaultOpts};
use crate::config::Config;
use crate::vault;

/// Register the vault passwords the options (and ansible.cfg) give. Returns the label to
/// encrypt with, if one was named.
pub fn setup(o: &VaultOpts, cfg: &Config) -> Result<Option<String>, String> {
    let mut first_label = None;
    let mut files = o.vault_password_file.clone();
    if files.is_empty() && o.vault_id.is_empty() && !o.ask_vault_pass {
        if let Some(f) = cfg.get_path("defaults", "vault_password_file") {
            files.push(f);
        }
    }
    for f in &files {
        vault::add_secret("default", &vault::read_password_file(f)?);
    }
    for id in &o.vault_id {
        let (label, source) = match id.split_once('@') {
            Some((l, s)) => (l.to_string(), s.to_string()),
            None => ("default".to_string(), id.clone()),
        };
        let pw = if source == "prompt" { prompt(&format!("Vault password ({label}): "))? } else { vault::read_password_file(&source)? };
        first_label.get_or_insert(label.clone());
        vault::add_secret(&label, &pw);
    }
    if o.ask_vault_pass {
        vault::add_secret("default", &prompt("Vault password: ")?);
    }
    Ok(first_label)
}

fn prompt(text: &str) -> Result<String, String> {
    super::run::prompt_password(text).ok_or_else(|| "a vault password prompt needs a terminal".to_string())
}

fn encryption_password(label: Option<&str>) -> Result<(String, Option<String>), String> {
    // The password registered under the label asked for, else the first one.
    vault::first_secret(label).ok_or_else(|| "no vault password given: use --vault-password-file, --ask-vault-pass or --vault-id".into())
}

pub fn run(a: VaultArgs) -> Result<(), Error> {
    let cfg = Config::load();
    let label = a.encrypt_vault_id.clone().or(setup(&a.vault, &cfg)?);
    Ok(act(&a, label.as_deref())?)
}

fn write_out(a: &VaultArgs, file: &str, text: &[u8]) -> Result<(), String> {
    match a.output.as_deref() {
        Some("-") => {
            use std::io::Write;
            std::io::stdout().write_all(text).map_err(|e| e.to_string())
        }
        Some(o) => std::fs::write(o, text).map_err(|e| format!("cannot write {o}: {e}")),
        None => {
            // In place, atomically: a temporary file beside it, then renamed.
            let tmp = format!("{file}.steward-tmp");
            std::fs::write(&tmp, text).map_err(|e| format!("cannot write {tmp}: {e}"))?;
            std::fs::rename(&tmp, file).map_err(|e| format!("cannot replace {file}: {e}"))
        }
    }
}

fn act(a: &VaultArgs, label: Option<&str>) -> Result<(), String> {
    let labelled = label.filter(|l| *l != "default");
    match a.action.as_str() {
        "encrypt" => {
            let (pw, _) = encryption_password(label)?;
            for f in &a.items {
                let text = std::fs::read(f).map_err(|e| format!("cannot read {f}: {e}"))?;
                if vault::is_vaulted(&String::from_utf8_lossy(&text)) {
                    return Err(format!("{f} is already encrypted"));
                }
                write_out(a, f, vault::encrypt(&text, &pw, labelled).as_bytes())?;
            }
            eprintln!("Encryption successful");
        }
        "decrypt" => {
            for f in &a.items {
                let text = std::fs::read_to_string(f).map_err(|e| format!("cannot read {f}: {e}"))?;
                write_out(a, f, &vault::decrypt(&text)?)?;
            }
            eprintln!("Decryption successful");
        }
        "view" => {
            for f in &a.items {
                let text = std::fs::read_to_string(f).map_err(|e| format!("cannot read {f}: {e}"))?;
                print!("{}", String::from_utf8_lossy(&vault::decrypt(&text)?));
            }
        }
        "edit" => {
            let (pw, _) = encryption_password(label)?;
            for f in &a.items {
                let text = std::fs::read_to_string(f).map_err(|e| format!("cannot read {f}: {e}"))?;
                let plain = vault::decrypt(&text)?;
                let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
                let tmp = dir.path().join("edit.yml");
                std::fs::write(&tmp, &plain).map_err(|e| e.to_string())?;
                let editor = std::env::var("EDITOR").unwrap_or_else(|_| "vi".into());
                let ok = std::process::Command::new("/bin/sh")
                    .arg("-c")
                    .arg(format!("{editor} \"$0\""))
                    .arg(&tmp)
                    .status()
                    .map_err(|e| e.to_string())?;
                if !ok.success() {
                    return Err(format!("{editor} failed; {f} is unchanged"));
                }
                let edited = std::fs::read(&tmp).map_err(|e| e.to_string())?;
                if edited != plain {
                    write_out(a, f, vault::encrypt(&edited, &pw, labelled).as_bytes())?;
                }
            }
        }
        _ => {
            let (pw, _) = encryption_password(label)?;
            for s in &a.items {
                let v = vault::encrypt(s.as_bytes(), &pw, labelled);
                let indented: String = v.lines().map(|l| format!("          {l}\n")).collect();
                match &a.name {
                    Some(n) => print!("{n}: !vault |\n{indented}"),
                    None => print!("!vault |\n{indented}"),
                }
            }
            eprintln!("Encryption successful");
        }
    }
    Ok(())
}
