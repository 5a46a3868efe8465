//! Ansible Vault: `$ANSIBLE_VAULT;1.1;AES256` and `1.2` (with a vault id) files and inline
//! values, readable by ansible-vault and from it.
//!
//! The format: PBKDF2-HMAC-SHA256 (10,000 rounds) of the password and a 32-byte salt gives 80
//! bytes: an AES-256 key, an HMAC-SHA256 key and a CTR counter block. The body is the hex of
//! three hex lines (salt, HMAC of the ciphertext, ciphertext of the PKCS#7-padded text),
//! wrapped at 80 columns.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{OnceLock, RwLock};

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

const HEADER: &str = "$ANSIBLE_VAULT";

/// The passwords given for this run (`--vault-password-file`, `--vault-id`, ...), by label.
fn secrets() -> &'static RwLock<Vec<(String, String)>> {
    static S: OnceLock<RwLock<Vec<(String, String)>>> = OnceLock::new();
    S.get_or_init(|| RwLock::new(Vec::new()))
}

pub fn add_secret(label: &str, password: &str) {
    if let Ok(mut s) = secrets().write() {
        s.push((label.to_string(), password.to_string()));
    }
}

/// The password to encrypt with: the one registered under `label`, else the first one.
pub fn first_secret(label: Option<&str>) -> Option<(String, Option<String>)> {
    let s = secrets().read().ok()?;
    let found = label.and_then(|l| s.iter().find(|(x, _)| x == l)).or(s.first())?;
    Some((found.1.clone(), Some(found.0.clone())))
}

/// Values that must never be shown: decrypted `!vault` values, the become and SSH passwords.
fn known_secrets() -> &'static RwLock<Vec<String>> {
    static S: OnceLock<RwLock<Vec<String>>> = OnceLock::new();
    S.get_or_init(|| RwLock::new(Vec::new()))
}

/// Remember a value that output must mask (short values would mask too much, so they are not).
pub fn note_secret(value: &str) {
    let v = value.trim();
    if v.len() >= 6 {
        if let Ok(mut s) = known_secrets().write() {
            if !s.iter().any(|x| x == v) {
                s.push(v.to_string());
            }
        }
    }
}

/// `text` with every known secret replaced by `********`.
pub fn mask(text: &str) -> std::borrow::Cow<'_, str> {
    let Ok(s) = known_secrets().read() else { return text.into() };
    if s.is_empty() || !s.iter().any(|x| text.contains(x.as_str())) {
        return text.into();
    }
    let mut out = text.to_string();
    for x in s.iter() {
        out = out.replace(x.as_str(), "********");
    }
    out.into()
}

/// The key of the mapping that stands for a `!vault` value left encrypted because no password
/// was given: Ansible's own JSON form of a vaulted value. Using it fails (Ansible's
/// undecryptable-value marker); only `unvault` with the password reads it.
pub const ENCRYPTED_KEY: &str = "__ansible_vault";

/// Whether any value was left encrypted, so that finding one in data is worth a look.
static UNDECRYPTED: AtomicBool = AtomicBool::new(false);

/// What an undecryptable value says when it is used.
pub const UNDECRYPTABLE: &str = "Attempt to use undecryptable variable: Attempting to decrypt but no vault secrets found.";

/// Note that a `!vault` value is kept encrypted (as a mapping of [`ENCRYPTED_KEY`]).
pub fn note_encrypted() {
    UNDECRYPTED.store(true, Ordering::Relaxed);
}

/// The ciphertext of a value kept encrypted.
pub fn ciphertext_of(v: &serde_json::Value) -> Option<&str> {
    match v {
        serde_json::Value::Object(m) if m.len() == 1 => m.get(ENCRYPTED_KEY)?.as_str().filter(|t| is_vaulted(t)),
        _ => None,
    }
}

/// Whether any value was kept encrypted in this run.
pub fn any_encrypted() -> bool {
    UNDECRYPTED.load(Ordering::Relaxed)
}

/// Whether a value holds, anywhere inside, a value kept encrypted.
pub fn holds_encrypted(v: &serde_json::Value) -> bool {
    if !any_encrypted() {
        return false;
    }
    fn walk(v: &serde_json::Value, depth: usize) -> bool {
        match v {
            _ if depth > 64 => false,
            serde_json::Value::Object(m) => ciphertext_of(v).is_some() || m.values().any(|x| walk(x, depth + 1)),
            serde_json::Value::Array(a) => a.iter().any(|x| walk(x, depth + 1)),
            _ => false,
        }
    }
    walk(v, 0)
}

/// Whether any vault password was given.
pub fn has_secrets() -> bool {
    secrets().read().map(|s| !s.is_empty()).unwrap_or(false)
}

pub fn is_vaulted(text: &str) -> bool {
    text.trim_start().starts_with(HEADER)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if !s.len().is_multiple_of(2) {
        return Err("odd-length hex".into());
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| e.to_string())).collect()
}

fn keys(password: &str, salt: &[u8]) -> ([u8; 32], [u8; 32], [u8; 16]) {
    let mut out = [0u8; 80];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, 10_000, &mut out);
    let (mut k1, mut k2, mut iv) = ([0u8; 32], [0u8; 32], [0u8; 16]);
    k1.copy_from_slice(&out[..32]);
    k2.copy_from_slice(&out[32..64]);
    iv.copy_from_slice(&out[64..]);
    (k1, k2, iv)
}

/// Encrypt text; `label` makes a 1.2 vault with that vault id.
pub fn encrypt(plain: &[u8], password: &str, label: Option<&str>) -> String {
    let mut salt = [0u8; 32];
    crate::random::fill(&mut salt);
    encrypt_with_salt(plain, password, label, &salt)
}

fn encrypt_with_salt(plain: &[u8], password: &str, label: Option<&str>, salt: &[u8]) -> String {
    let (k1, k2, iv) = keys(password, salt);
    let pad = 16 - plain.len() % 16;
    let mut data = plain.to_vec();
    data.extend(std::iter::repeat_n(pad as u8, pad));
    let mut cipher = Aes256Ctr::new(&k1.into(), &iv.into());
    cipher.apply_keystream(&mut data);
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&k2).expect("any key length");
    mac.update(&data);
    let tag = mac.finalize().into_bytes();
    let inner = format!("{}\n{}\n{}", hex(salt), hex(&tag), hex(&data));
    let body = hex(inner.as_bytes());
    let header = match label {
        Some(l) => format!("{HEADER};1.2;AES256;{l}"),
        None => format!("{HEADER};1.1;AES256"),
    };
    let lines: Vec<&str> = body.as_bytes().chunks(80).map(|c| std::str::from_utf8(c).unwrap_or("")).collect();
    format!("{header}\n{}\n", lines.join("\n"))
}

fn decrypt_with(text: &str, password: &str) -> Result<Vec<u8>, String> {
    let mut lines = text.trim().lines();
    let header = lines.next().unwrap_or("");
    let parts: Vec<&str> = header.trim().split(';').collect();
    if parts.first() != Some(&HEADER) || parts.len() < 3 {
        return Err("not a vault".into());
    }
    if parts[2] != "AES256" {
        return Err(format!("vault cipher {} is not supported", parts[2]));
    }
    let body: String = lines.collect::<Vec<_>>().concat();
    let inner = String::from_utf8(unhex(&body)?).map_err(|e| e.to_string())?;
    let mut f = inner.lines();
    let (salt, tag, data) = (unhex(f.next().unwrap_or(""))?, unhex(f.next().unwrap_or(""))?, unhex(f.next().unwrap_or(""))?);
    let (k1, k2, iv) = keys(password, &salt);
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&k2).expect("any key length");
    mac.update(&data);
    mac.verify_slice(&tag).map_err(|_| "HMAC mismatch".to_string())?;
    let mut data = data;
    let mut cipher = Aes256Ctr::new(&k1.into(), &iv.into());
    cipher.apply_keystream(&mut data);
    let pad = *data.last().unwrap_or(&0) as usize;
    if pad == 0 || pad > 16 || pad > data.len() {
        return Err("bad padding".into());
    }
    data.truncate(data.len() - pad);
    Ok(data)
}

/// Decrypt with the passwords of this run (the one whose label matches first, then the others).
pub fn decrypt(text: &str) -> Result<Vec<u8>, String> {
    let label = text.lines().next().and_then(|h| h.trim().split(';').nth(3)).map(str::to_string);
    let secrets = secrets().read().map(|s| s.clone()).unwrap_or_default();
    if secrets.is_empty() {
        return Err("this is encrypted with Ansible Vault and no vault password was given (use --vault-password-file, --ask-vault-pass or --vault-id)".into());
    }
    let mut ordered: Vec<&(String, String)> = secrets.iter().filter(|(l, _)| Some(l) == label.as_ref()).collect();
    ordered.extend(secrets.iter().filter(|(l, _)| Some(l) != label.as_ref()));
    for (_, pw) in ordered {
        if let Ok(p) = decrypt_with(text, pw) {
            // Whole vault files are variables files; a single value (`!vault`) is a secret
            // in itself, kept so that traces can mask it.
            if let Ok(t) = std::str::from_utf8(&p) {
                if !t.contains('\n') {
                    note_secret(t);
                }
            }
            return Ok(p);
        }
    }
    Err("no vault password given could decrypt this (wrong password?)".into())
}

/// A password from `--vault-password-file` (an executable prints it; a file holds it).
pub fn read_password_file(path: &str) -> Result<String, String> {
    let p = std::path::Path::new(path);
    let executable = std::fs::metadata(p).map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0).unwrap_or(false);
    let text = if executable {
        let o = std::process::Command::new(p).output().map_err(|e| format!("cannot run {path}: {e}"))?;
        String::from_utf8_lossy(&o.stdout).into_owned()
    } else {
        std::fs::read_to_string(p).map_err(|e| format!("cannot read vault password file {path}: {e}"))?
    };
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_password() {
        let v = encrypt(b"secret: 42\n", "pw", None);
        assert!(v.starts_with("$ANSIBLE_VAULT;1.1;AES256\n"));
        assert_eq!(decrypt_with(&v, "pw").unwrap(), b"secret: 42\n");
        assert!(decrypt_with(&v, "nope").is_err());
        let v = encrypt(b"x", "pw", Some("prod"));
        assert!(v.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"));
        assert_eq!(decrypt_with(&v, "pw").unwrap(), b"x");
    }
}
