//! Host keys checked as OpenSSH checks them: `~/.ssh/known_hosts` and
//! `/etc/ssh/ssh_known_hosts` (or the files the user names), hashed entries, wildcards and
//! negations, `[host]:port`, and `@revoked` keys. russh's own check covers less (exact and
//! hashed names only), so entries are parsed with `ssh-key` and matched here.

use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use russh::keys::ssh_key::known_hosts::{HostPatterns, KnownHosts, Marker};
use russh::keys::PublicKey;

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Trusted,
    Unknown,
    /// A different key of the same kind is on record: a possible man in the middle.
    Changed {
        file: PathBuf,
        line: usize,
    },
    Revoked {
        file: PathBuf,
    },
}

/// The name a host has in known_hosts: `host`, or `[host]:port` off port 22.
pub fn host_entry_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

fn hashed_matches(salt: &[u8], hash: &[u8; 20], name: &str) -> bool {
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(salt) else { return false };
    mac.update(name.as_bytes());
    mac.finalize().into_bytes().as_slice() == hash
}

fn patterns_match(p: &HostPatterns, name: &str) -> bool {
    match p {
        HostPatterns::Patterns(list) => super::config::patterns_match(list.iter().map(String::as_str), name),
        HostPatterns::HashedName { salt, hash } => hashed_matches(salt, hash, name),
    }
}

/// Check `key` for `host`:`port` against the files, in order.
pub fn check(files: &[PathBuf], host: &str, port: u16, key: &PublicKey) -> Verdict {
    let name = host_entry_name(host, port);
    let mut changed: Option<Verdict> = None;
    let mut trusted = false;
    for f in files {
        let Ok(text) = std::fs::read_to_string(f) else { continue };
        // Line numbers for the message: entries are read one line at a time.
        for (n, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let Some(Ok(entry)) = KnownHosts::new(t).next() else { continue };
            if !patterns_match(entry.host_patterns(), &name) {
                continue;
            }
            let same = entry.public_key().key_data() == key.key_data();
            match entry.marker() {
                Some(Marker::Revoked) if same => return Verdict::Revoked { file: f.clone() },
                Some(_) => continue,
                None => {}
            }
            if same {
                trusted = true;
            } else if entry.public_key().algorithm() == key.algorithm() && changed.is_none() {
                changed = Some(Verdict::Changed { file: f.clone(), line: n + 1 });
            }
        }
    }
    if trusted {
        Verdict::Trusted
    } else {
        changed.unwrap_or(Verdict::Unknown)
    }
}

/// Remember a new host key (StrictHostKeyChecking accept-new).
pub fn append(file: &Path, host: &str, port: u16, key: &PublicKey) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let line = format!("{} {}\n", host_entry_name(host, port), key.to_openssh().map_err(|e| std::io::Error::other(e.to_string()))?);
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(file)?;
    f.write_all(line.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEfOTO4fabhUKa+5tLr/A6jaD7HCynCW2W0PCl+b3mm6";
    const KEY_B: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP/CBsfbKcxe+mV+0umQW+fQalgf1KCTbNVWgkMATqlw";

    fn key(s: &str) -> PublicKey {
        PublicKey::from_openssh(s).unwrap()
    }

    fn file(text: &str) -> (tempfile::TempDir, Vec<PathBuf>) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("known_hosts");
        std::fs::write(&p, text).unwrap();
        (d, vec![p])
    }

    #[test]
    fn exact_port_wildcard_changed_revoked() {
        let (_d, f) = file(&format!("web1 {KEY_A}\n[db1]:2222 {KEY_A}\n*.lan,!bad.lan {KEY_B}\n"));
        assert_eq!(check(&f, "web1", 22, &key(KEY_A)), Verdict::Trusted);
        assert_eq!(check(&f, "db1", 2222, &key(KEY_A)), Verdict::Trusted);
        assert_eq!(check(&f, "db1", 22, &key(KEY_A)), Verdict::Unknown);
        assert_eq!(check(&f, "x.lan", 22, &key(KEY_B)), Verdict::Trusted);
        assert_eq!(check(&f, "bad.lan", 22, &key(KEY_B)), Verdict::Unknown);
        assert!(matches!(check(&f, "web1", 22, &key(KEY_B)), Verdict::Changed { line: 1, .. }));
        let (_d, f) = file(&format!("@revoked * {KEY_A}\nweb1 {KEY_A}\n"));
        assert!(matches!(check(&f, "web1", 22, &key(KEY_A)), Verdict::Revoked { .. }));
    }

    #[test]
    fn hashed_names() {
        // ssh-keygen -H style: |1|base64(salt)|base64(hmac-sha1(salt, name))
        use base64::Engine as _;
        let salt = b"0123456789abcdefghij";
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(salt).unwrap();
        mac.update(b"[web1]:2200");
        let h = mac.finalize().into_bytes();
        let b64 = base64::engine::general_purpose::STANDARD;
        let (_d, f) = file(&format!("|1|{}|{} {KEY_A}\n", b64.encode(salt), b64.encode(h)));
        assert_eq!(check(&f, "web1", 2200, &key(KEY_A)), Verdict::Trusted);
        assert_eq!(check(&f, "web1", 22, &key(KEY_A)), Verdict::Unknown);
    }
}
