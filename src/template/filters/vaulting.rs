//! The `vault` and `unvault` filters: Ansible Vault with a password given in the template.
//!
//! `crate::vault` reads and writes vaults with the run's own passwords (and a random salt);
//! these filters bring their own password and, for reproducible output, their own salt, so the
//! envelope is built here from the same primitives: PBKDF2-HMAC-SHA256 (10,000 rounds) giving
//! the AES-256-CTR key, the HMAC key and the counter block, in ansible-vault's text layout.

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

fn keys(password: &[u8], salt: &[u8]) -> ([u8; 32], [u8; 32], [u8; 16]) {
    let mut out = [0u8; 80];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, 10_000, &mut out);
    let (mut k1, mut k2, mut iv) = ([0u8; 32], [0u8; 32], [0u8; 16]);
    k1.copy_from_slice(&out[..32]);
    k2.copy_from_slice(&out[32..64]);
    iv.copy_from_slice(&out[64..]);
    (k1, k2, iv)
}

/// Encrypt as `VaultLib.encrypt`: a `1.2` envelope with the vault id unless it is `default`.
pub fn encrypt(plain: &[u8], password: &str, vault_id: &str, salt: Option<&[u8]>) -> String {
    let mut random = [0u8; 32];
    let salt = match salt {
        Some(s) => s.to_vec(),
        None => {
            crate::random::fill(&mut random);
            random.to_vec()
        }
    };
    let (k1, k2, iv) = keys(password.as_bytes(), &salt);
    let pad = 16 - plain.len() % 16;
    let mut data = plain.to_vec();
    data.extend(std::iter::repeat_n(pad as u8, pad));
    Aes256Ctr::new(&k1.into(), &iv.into()).apply_keystream(&mut data);
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&k2).expect("HMAC takes any key length");
    mac.update(&data);
    let tag = mac.finalize().into_bytes();
    let body = hex(format!("{}\n{}\n{}", hex(&salt), hex(&tag), hex(&data)).as_bytes());
    let header = if vault_id.is_empty() || vault_id == "default" {
        "$ANSIBLE_VAULT;1.1;AES256".to_string()
    } else {
        format!("$ANSIBLE_VAULT;1.2;AES256;{vault_id}")
    };
    let mut out = header;
    for chunk in body.as_bytes().chunks(80) {
        out.push('\n');
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
    }
    out.push('\n');
    out
}

pub fn is_encrypted(text: &str) -> bool {
    text.trim_start().starts_with("$ANSIBLE_VAULT;")
}

/// Decrypt a vault with one password; `None` when it is not a vault this password opens.
pub fn decrypt(text: &str, password: &str) -> Option<Vec<u8>> {
    let mut lines = text.trim().lines();
    let header: Vec<&str> = lines.next()?.trim().split(';').collect();
    if header.first() != Some(&"$ANSIBLE_VAULT") || header.get(2).map(|c| c.trim()) != Some("AES256") {
        return None;
    }
    let inner = String::from_utf8(unhex(&lines.collect::<String>())?).ok()?;
    let mut parts = inner.splitn(3, '\n');
    let (salt, tag, mut data) = (unhex(parts.next()?)?, unhex(parts.next()?)?, unhex(parts.next()?)?);
    let (k1, k2, iv) = keys(password.as_bytes(), &salt);
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&k2).expect("HMAC takes any key length");
    mac.update(&data);
    mac.verify_slice(&tag).ok()?;
    Aes256Ctr::new(&k1.into(), &iv.into()).apply_keystream(&mut data);
    let pad = *data.last()? as usize;
    if pad == 0 || pad > 16 || pad > data.len() {
        return None;
    }
    data.truncate(data.len() - pad);
    Some(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    // From ansible-core's filter_encryption target: `'secret' | vault('test', salt=7)`.
    const WITH_ID: &str = "$ANSIBLE_VAULT;1.2;AES256;filter_default
33370a34333734353636633035656232613935353432656132646533346233326431346232616261
6133383034376566366261316365633931356133633337396363370a376664386236313834326561
6338373864623763613165366636633031303739
";

    #[test]
    fn same_bytes_as_ansible() {
        assert_eq!(encrypt(b"secret", "test", "filter_default", Some(b"7")), WITH_ID);
        assert_eq!(decrypt(WITH_ID, "test").unwrap(), b"secret");
        assert!(decrypt(WITH_ID, "wrong").is_none());
        let v = encrypt(b"foo: bar\\n", "test1@secret", "test1", None);
        assert_eq!(decrypt(&v, "test1@secret").unwrap(), b"foo: bar\\n");
    }
}
