//! File tests (`is file`, `is link`, `is mount`, ...): Python's `os.path` predicates on the
//! controller, relative paths taken from the working directory as in Ansible.
//!
//! Like Python, most of them answer `false` for a path that cannot be looked at; `same_file`
//! and a value that is no path at all are errors.

use std::os::unix::fs::MetadataExt;

use serde_json::Value;

/// The path a test was given, or Python's `TypeError` for other values.
pub fn path_arg(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) if n.is_i64() => Ok(format!("/proc/self/fd/{n}")),
        other => Err(format!("stat: path should be string, bytes, os.PathLike or integer, not {}", super::super::py_type_name(other))),
    }
}

pub fn is_dir(p: &str) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_dir())
}

pub fn is_file(p: &str) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file())
}

pub fn is_link(p: &str) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

pub fn exists(p: &str) -> bool {
    std::fs::metadata(p).is_ok()
}

pub fn link_exists(p: &str) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}

/// `os.path.samefile`: both must exist.
pub fn same_file(a: &str, b: &str) -> Result<bool, String> {
    let stat = |p: &str| std::fs::metadata(p).map_err(|e| format!("[Errno {}] {}: '{p}'", e.raw_os_error().unwrap_or(0), describe(&e)));
    let (x, y) = (stat(a)?, stat(b)?);
    Ok(x.dev() == y.dev() && x.ino() == y.ino())
}

fn describe(e: &std::io::Error) -> String {
    let s = e.to_string();
    s.split(" (os error").next().unwrap_or(&s).to_string()
}

/// `os.path.ismount`: another device than the parent's, or the root itself.
pub fn is_mount(p: &str) -> bool {
    let Ok(m) = std::fs::symlink_metadata(p) else { return false };
    if m.file_type().is_symlink() {
        return false;
    }
    let parent = crate::template::filters::paths::realpath(&format!("{p}/.."));
    let Ok(pm) = std::fs::symlink_metadata(&parent) else { return false };
    m.dev() != pm.dev() || m.ino() == pm.ino()
}

/// `is_encrypted_file`: the file starts with the vault header.
pub fn vaulted_file(p: &str) -> Result<bool, String> {
    use std::io::Read;
    let mut f = std::fs::File::open(p).map_err(|e| format!("Cannot test if the file '{p}' is a vault: {}", describe(&e)))?;
    let mut head = [0u8; 14];
    let n = f.read(&mut head).unwrap_or(0);
    Ok(&head[..n] == b"$ANSIBLE_VAULT")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates() {
        assert!(is_dir("/") && !is_dir("/does_not_exist_q"));
        assert!(is_mount("/") && is_mount("/proc") && !is_mount("/does_not_exist_q"));
        assert!(same_file("/", "/").unwrap());
        assert_eq!(same_file("/nonexistent_x", "/").unwrap_err(), "[Errno 2] No such file or directory: '/nonexistent_x'");
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink("does_not_exist", &link).unwrap();
        let l = link.to_str().unwrap();
        assert!(is_link(l) && link_exists(l) && !exists(l));
    }
}
