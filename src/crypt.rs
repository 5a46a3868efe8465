//! `crypt(3)` password hashes (`$6$` SHA-512, `$5$` SHA-256) as `/etc/shadow` stores them,
//! byte-exact with `openssl passwd -6 -salt S` and Ansible's `password_hash`.

const ITOA64: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn b64_from_24bit(b2: u8, b1: u8, b0: u8, n: usize, out: &mut String) {
    let mut w = ((b2 as u32) << 16) | ((b1 as u32) << 8) | (b0 as u32);
    for _ in 0..n {
        out.push(ITOA64[(w & 0x3f) as usize] as char);
        w >>= 6;
    }
}

fn encode_sha512(h: &[u8; 64]) -> String {
    const ORDER: [(usize, usize, usize); 21] = [
        (0, 21, 42),
        (22, 43, 1),
        (44, 2, 23),
        (3, 24, 45),
        (25, 46, 4),
        (47, 5, 26),
        (6, 27, 48),
        (28, 49, 7),
        (50, 8, 29),
        (9, 30, 51),
        (31, 52, 10),
        (53, 11, 32),
        (12, 33, 54),
        (34, 55, 13),
        (56, 14, 35),
        (15, 36, 57),
        (37, 58, 16),
        (59, 17, 38),
        (18, 39, 60),
        (40, 61, 19),
        (62, 20, 41),
    ];
    let mut out = String::new();
    for (a, b, c) in ORDER {
        b64_from_24bit(h[a], h[b], h[c], 4, &mut out);
    }
    b64_from_24bit(0, 0, h[63], 2, &mut out);
    out
}

fn encode_sha256(h: &[u8; 32]) -> String {
    const ORDER: [(usize, usize, usize); 10] =
        [(0, 10, 20), (21, 1, 11), (12, 22, 2), (3, 13, 23), (24, 4, 14), (15, 25, 5), (6, 16, 26), (27, 7, 17), (18, 28, 8), (9, 19, 29)];
    let mut out = String::new();
    for (a, b, c) in ORDER {
        b64_from_24bit(h[a], h[b], h[c], 4, &mut out);
    }
    b64_from_24bit(0, h[31], h[30], 3, &mut out);
    out
}

/// A fresh 16-character salt from the kernel's random source.
pub fn random_salt(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    crate::random::fill(&mut bytes);
    bytes.iter().map(|b| ITOA64[(*b & 0x3f) as usize] as char).collect()
}

pub fn hash_password(pw: &str, scheme: &str, salt: Option<&str>, rounds: Option<usize>) -> Result<String, String> {
    let salt = salt.map(str::to_string).unwrap_or_else(|| random_salt(16));
    let salt: String = salt.chars().take(16).collect();
    // Ansible's password_hash goes through passlib, whose default rounds these are.
    let default = if scheme.starts_with("sha256") { 535_000 } else { 656_000 };
    let r = rounds.unwrap_or(default) as u32;
    let params = sha_crypt::Params::new(r).map_err(|e| format!("password_hash: bad rounds: {e}"))?;
    let rounds_part = if r != 5000 { format!("rounds={r}$") } else { String::new() };
    match scheme {
        "sha512" | "sha512_crypt" => {
            let h = sha_crypt::sha512_crypt(pw.as_bytes(), salt.as_bytes(), params);
            Ok(format!("$6${rounds_part}{salt}${}", encode_sha512(&h)))
        }
        "sha256" | "sha256_crypt" => {
            let h = sha_crypt::sha256_crypt(pw.as_bytes(), salt.as_bytes(), params);
            Ok(format!("$5${rounds_part}{salt}${}", encode_sha256(&h)))
        }
        other => Err(format!("password_hash: scheme `{other}` is not supported (use sha512 or sha256)")),
    }
}

/// Check a password against a `$6$`/`$5$` hash.
pub fn verify(pw: &str, hash: &str) -> bool {
    let parts: Vec<&str> = hash.split('$').collect();
    if parts.len() < 4 {
        return false;
    }
    let scheme = match parts[1] {
        "6" => "sha512",
        "5" => "sha256",
        _ => return false,
    };
    let (rounds, salt) = match parts[2].strip_prefix("rounds=") {
        Some(r) => (r.parse().ok(), parts[3]),
        None => (Some(5000), parts[2]),
    };
    hash_password(pw, scheme, Some(salt), rounds).is_ok_and(|h| h == hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_openssl_passwd() {
        // openssl passwd -6 -salt saltsalt secret
        assert_eq!(
            hash_password("secret", "sha512", Some("saltsalt"), Some(5000)).unwrap(),
            "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1"
        );
        assert!(verify("secret", &hash_password("secret", "sha256", None, None).unwrap()));
        // Ansible's (passlib's) default: `'initial-Passw0rd' | password_hash('sha512', 'fixedsalt1234')`.
        assert_eq!(
            hash_password("initial-Passw0rd", "sha512", Some("fixedsalt1234"), None).unwrap(),
            "$6$rounds=656000$fixedsalt1234$0eJa6FUkMgUIMlCbznh9cSvgJDDhtiwYrlehAWZIbo64pb2Uq4swgkOJ12Jt/znrpkh4hngRK9pXjxUj2Dntf."
        );
    }
}
