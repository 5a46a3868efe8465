//! `password`: a random password kept in a file on the controller, so that later runs read the
//! same one: `lookup('password', 'creds/db length=15 chars=ascii_letters,digits')`.
//!
//! The file holds the plain password, then ` salt=SALT` once an `encrypt` scheme was asked for
//! (so the hash stays the same run after run), then ` ident=ID` for schemes that have one; a
//! new file's folder is made mode 0700 and the file 0600, as Ansible makes them. `/dev/null`
//! gives a fresh password each time and writes nothing. With `seed=` the password is what
//! Python's `random.Random(seed)` picks, so Ansible and steward give the same one.
//!
//! Hosts run concurrently: one lock for the whole process, and a lock file beside the password
//! file for other processes, make sure two hosts that share a file share its password.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use minijinja::Error;
use serde_json::{Map, Value};
use sha1::Digest as _;

use super::{err, int_option, parse_kv, Ctx};
use crate::template::filters::pyrandom::{PyRandom, Seed};
use crate::template::to_text;

const VALID: [&str; 5] = ["length", "encrypt", "chars", "ident", "seed"];
const DEFAULT_CHARS: [&str; 3] = ["ascii_letters", "digits", ".,:-_"];

struct Params {
    length: usize,
    encrypt: Option<String>,
    chars: Vec<char>,
    ident: Option<String>,
    seed: Option<Value>,
}

pub fn run(ctx: &Ctx, terms: Vec<Value>, kw: &Map<String, Value>) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for term in terms {
        let (relpath, p) = parameters(&to_text(&term), kw)?;
        let path = dwim(ctx, &relpath);
        out.push(Value::from(password(&path, &p)?));
    }
    Ok(out)
}

/// The path and the options of one term; the term's `k=v` words win over keyword options.
fn parameters(term: &str, kw: &Map<String, Value>) -> Result<(String, Params), Error> {
    let mut opts: Map<String, Value> =
        kw.iter().filter(|(k, _)| VALID.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    let relpath = match term.split_once(' ') {
        None => term.to_string(),
        Some((first, rest)) => {
            let mut kv = parse_kv(rest);
            let mut relpath = first.to_string();
            if let Some(raw) = kv.remove("_raw_params") {
                // Spaces in the path.
                relpath = format!("{relpath} {}", to_text(&raw));
                if !term.starts_with(&relpath) {
                    return Err(err("Unrecognized value after key=value parameters given to password lookup"));
                }
            }
            let invalid: Vec<&str> = kv.keys().map(String::as_str).filter(|k| !VALID.contains(k)).collect();
            if !invalid.is_empty() {
                return Err(err(format!("Unrecognized parameter(s) given to password lookup: {}", invalid.join(", "))));
            }
            opts.extend(kv);
            relpath
        }
    };
    let text = |k: &str| opts.get(k).filter(|v| !v.is_null()).map(to_text).filter(|s| !s.is_empty());
    let length = match opts.get("length") {
        Some(v) => int_option("password", "length", v)?.max(0) as usize,
        None => 20,
    };
    let specs: Vec<String> = match opts.get("chars") {
        Some(Value::String(s)) => {
            let mut specs = Vec::new();
            if s.contains(",,") {
                specs.push(",".to_string());
            }
            specs.extend(s.replace(",,", ",").split(',').filter(|c| !c.is_empty()).map(str::to_string));
            specs
        }
        Some(Value::Array(a)) => a.iter().map(to_text).collect(),
        Some(other) => vec![to_text(other)],
        None => DEFAULT_CHARS.iter().map(|s| s.to_string()).collect(),
    };
    let params = Params {
        length,
        encrypt: text("encrypt"),
        chars: candidate_chars(&specs),
        ident: text("ident"),
        seed: opts.get("seed").filter(|v| !v.is_null()).cloned(),
    };
    Ok((relpath, params))
}

/// The characters to pick from: each spec is the name of a set of Python's `string` module
/// (`ascii_letters`, `digits`, `punctuation`, ...) or characters taken as they are; quotes
/// are never used.
fn candidate_chars(specs: &[String]) -> Vec<char> {
    const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
    const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const DIGITS: &str = "0123456789";
    const PUNCT: &str = r##"!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"##;
    const WHITE: &str = " \t\n\r\x0b\x0c";
    let mut s = String::new();
    for spec in specs {
        match spec.as_str() {
            "ascii_letters" => s.extend([LOWER, UPPER]),
            "ascii_lowercase" => s.push_str(LOWER),
            "ascii_uppercase" => s.push_str(UPPER),
            "digits" => s.push_str(DIGITS),
            "hexdigits" => s.push_str("0123456789abcdefABCDEF"),
            "octdigits" => s.push_str("01234567"),
            "punctuation" => s.push_str(PUNCT),
            "whitespace" => s.push_str(WHITE),
            "printable" => s.extend([DIGITS, LOWER, UPPER, PUNCT, WHITE]),
            other => s.push_str(other),
        }
    }
    s.chars().filter(|c| *c != '"' && *c != '\'').collect()
}

/// Ansible's `path_dwim`: `~` expanded, a relative path under the playbook's folder.
fn dwim(ctx: &Ctx, rel: &str) -> PathBuf {
    if let Some(rest) = rel.strip_prefix("~/") {
        return Path::new(&std::env::var("HOME").unwrap_or_default()).join(rest);
    }
    let p = Path::new(rel);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    match ctx.playbook_dir() {
        Some(d) => Path::new(&d).join(p),
        None => p.to_path_buf(),
    }
}

fn random_password(length: usize, chars: &[char], seed: Option<&Value>) -> Result<String, Error> {
    if chars.is_empty() {
        return Err(err("Cannot choose from an empty sequence"));
    }
    let mut rng = match seed {
        None => PyRandom::from_entropy(),
        Some(Value::Number(n)) if n.is_u64() => PyRandom::new(Seed::Int(n.as_u64().unwrap_or(0) as u128)),
        Some(Value::Number(n)) if n.is_i64() => PyRandom::new(Seed::Int(n.as_i64().unwrap_or(0).unsigned_abs() as u128)),
        Some(Value::Number(n)) => PyRandom::new(Seed::Float(n.as_f64().unwrap_or(0.0))),
        Some(other) => PyRandom::new(Seed::Str(&to_text(other))),
    };
    Ok((0..length).map(|_| chars[rng.below(chars.len() as u64) as usize]).collect())
}

/// The stored format: `PASSWORD[ salt=SALT[ ident=IDENT]]`, split at the last markers.
fn parse_content(content: &str) -> (String, Option<String>, Option<String>) {
    let Some(sep) = content.rfind(" salt=") else {
        return (content.to_string(), None, None);
    };
    let password = content[..sep].to_string();
    let rest = &content[sep + " salt=".len()..];
    if rest.is_empty() {
        return (password, None, None);
    }
    match rest.rfind(" ident=") {
        Some(i) => (password, Some(rest[..i].to_string()), Some(rest[i + " ident=".len()..].to_string())),
        None => (password, Some(rest.to_string()), None),
    }
}

/// (salt size, the ident a scheme implies) of the schemes Ansible knows.
fn scheme(name: &str) -> Option<(usize, Option<&'static str>)> {
    match name {
        "md5_crypt" => Some((8, None)),
        "bcrypt" => Some((22, Some("2b"))),
        "sha256_crypt" | "sha512_crypt" => Some((16, None)),
        _ => None,
    }
}

static LOCK: Mutex<()> = Mutex::new(());

fn password(path: &Path, p: &Params) -> Result<String, Error> {
    let dev_null = path == Path::new("/dev/null");
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let lock = if dev_null { None } else { Some(FileLock::take(path)?) };
    let content = if dev_null { None } else { std::fs::read_to_string(path).ok().map(|c| c.trim_end().to_string()) };
    let mut changed = false;
    let (plain, mut salt, mut ident) = match content {
        None => {
            changed = true;
            (random_password(p.length, &p.chars, p.seed.as_ref())?, None, None)
        }
        Some(c) => parse_content(&c),
    };
    if let Some(enc) = &p.encrypt {
        if salt.is_none() {
            changed = true;
            salt = Some(crate::crypt::random_salt(scheme(enc).map_or(8, |s| s.0)));
        }
    }
    match (&ident, &p.ident) {
        (None, _) => ident = p.ident.clone(),
        (Some(stored), Some(asked)) if stored != asked => {
            return Err(err(format!("The ident parameter provided ({stored}) does not match the stored one ({asked}).")));
        }
        _ => {}
    }
    if let (Some(enc), None) = (&p.encrypt, &ident) {
        if let Some(implied) = scheme(enc).and_then(|s| s.1) {
            ident = Some(implied.to_string());
            changed = true;
        }
    }
    if changed && !dev_null {
        let mut content = plain.clone();
        if let Some(s) = &salt {
            content.push_str(&format!(" salt={s}"));
            if let Some(i) = &ident {
                content.push_str(&format!(" ident={i}"));
            }
        }
        write_file(path, &content)?;
    }
    drop(lock);
    match &p.encrypt {
        Some(enc) => hash(&plain, enc, salt.as_deref()),
        None => Ok(plain),
    }
}

fn hash(plain: &str, scheme: &str, salt: Option<&str>) -> Result<String, Error> {
    match scheme {
        "sha256_crypt" | "sha512_crypt" => crate::crypt::hash_password(plain, scheme, salt, None).map_err(err),
        other => Err(err(format!("steward cannot hash passwords with {other:?}: use sha512_crypt or sha256_crypt"))),
    }
}

/// Make the missing folders of `dir` with mode 0700.
fn make_dirs(dir: &Path) -> Result<(), Error> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| err(format!("cannot create {}: {e}", dir.display())))
}

fn write_file(path: &Path, content: &str) -> Result<(), Error> {
    if let Some(dir) = path.parent() {
        make_dirs(dir)?;
    }
    let fail = |e: std::io::Error| err(format!("cannot write {}: {e}", path.display()));
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path).map_err(fail)?;
    // An existing file gets 0600 too, as Ansible chmods it before writing.
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).map_err(fail)?;
    f.write_all(format!("{content}\n").as_bytes()).map_err(fail)
}

/// The lock file other processes (another steward, or Ansible) wait on while one writes.
struct FileLock(Option<PathBuf>);

impl FileLock {
    fn take(path: &Path) -> Result<FileLock, Error> {
        let dir = path.parent().unwrap_or(Path::new("."));
        make_dirs(dir)?;
        let digest = sha1::Sha1::digest(path.as_os_str().as_encoded_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let lock = dir.join(format!("{hex}.ansible_lockfile"));
        for wait in [1u64, 2, 4, 0] {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&lock) {
                Ok(_) => return Ok(FileLock(Some(lock))),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && wait > 0 => {
                    std::thread::sleep(std::time::Duration::from_secs(wait));
                    if !lock.exists() {
                        return Ok(FileLock(None));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => break,
                Err(e) => return Err(err(format!("cannot create the lock file {}: {e}", lock.display()))),
            }
        }
        Err(err(format!(
            "Password lookup cannot get the lock in 7 seconds, abort...This may caused by un-removed lockfile you can manually remove it from controller machine at {} and try again",
            lock.display()
        )))
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        if let Some(l) = &self.0 {
            let _ = std::fs::remove_file(l);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn seeded_as_python() {
        // random.Random('foo'), choosing from Ansible's default characters.
        let chars = candidate_chars(&DEFAULT_CHARS.map(String::from));
        assert_eq!(random_password(20, &chars, Some(&json!("foo"))).unwrap(), "6JUEsF6-,RiuGZDEWF4r");
        let abc: Vec<char> = "abc".chars().collect();
        assert_eq!(random_password(20, &abc, Some(&json!(42))).unwrap(), "caacbaaacacccacbaaaa");
    }

    #[test]
    fn terms_and_content() {
        let (path, p) = parameters("/tmp/x y length=8 chars=digits,,", &Map::new()).unwrap();
        assert_eq!(path, "/tmp/x y");
        assert_eq!(p.length, 8);
        assert_eq!(p.chars.iter().collect::<String>(), ",0123456789");
        assert!(parameters("/tmp/x lenght=8", &Map::new()).is_err());
        assert_eq!(parse_content("pw salt=abc ident=2b"), ("pw".into(), Some("abc".into()), Some("2b".into())));
        assert_eq!(parse_content("p w"), ("p w".into(), None, None));
    }

    #[test]
    fn file_kept_and_salted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/pw");
        let (_, p) = parameters("x length=8", &Map::new()).unwrap();
        let first = password(&path, &p).unwrap();
        assert_eq!(first.len(), 8);
        assert_eq!(password(&path, &p).unwrap(), first);
        let (_, enc) = parameters("x encrypt=sha256_crypt", &Map::new()).unwrap();
        let hashed = password(&path, &enc).unwrap();
        assert!(hashed.starts_with("$5$rounds=535000$"), "{hashed}");
        assert_eq!(password(&path, &enc).unwrap(), hashed);
        let stored = std::fs::read_to_string(&path).unwrap();
        assert!(stored.starts_with(&format!("{first} salt=")));
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
    }
}
