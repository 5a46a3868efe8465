//! The variables Ansible gives a template file while it renders (the `template` module and the
//! `template` lookup): where it is, who owns it, when it changed, the controller's name, and
//! `ansible_managed`. Times print as Python prints a datetime.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde_json::{Map, Value};

/// The controller's host name, as `os.uname()[1]` gives it.
pub fn controller_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_else(|_| "localhost".into())
}

/// The account name of a uid on the controller (`/etc/passwd`), as pwd.getpwuid finds it.
fn user_of_uid(uid: u32) -> Option<String> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
    })
}

fn py_datetime(secs: i64, micros: u32) -> String {
    let base = super::format_time("%Y-%m-%d %H:%M:%S", secs, false);
    if micros == 0 {
        base
    } else {
        format!("{base}.{micros:06}")
    }
}

/// `template_host`, `template_path` (as given), `template_fullpath`, `template_mtime`,
/// `template_uid`, `template_run_date`, `template_destpath`, and `ansible_managed` unless the
/// play already sets it (from ansible.cfg's `ansible_managed`, `{host}`, `{uid}` and `{file}`
/// becoming those variables and the rest strftime of the file's mtime, as Ansible makes it).
pub fn template_vars(path: &Path, given: &str, dest: Option<&str>, managed_is_set: bool) -> Map<String, Value> {
    let full = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()).display().to_string();
    let meta = std::fs::metadata(path).ok();
    let mut m = Map::new();
    m.insert("template_host".into(), Value::from(controller_hostname()));
    m.insert("template_path".into(), Value::from(given));
    m.insert("template_fullpath".into(), Value::from(full));
    if let Some(md) = &meta {
        m.insert("template_mtime".into(), Value::from(py_datetime(md.mtime(), (md.mtime_nsec() / 1000) as u32)));
        let uid = md.uid();
        let owner = user_of_uid(uid).map(Value::from).unwrap_or_else(|| Value::from(uid));
        m.insert("template_uid".into(), owner);
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    m.insert("template_run_date".into(), Value::from(py_datetime(now.as_secs() as i64, now.subsec_micros())));
    m.insert("template_destpath".into(), dest.map(Value::from).unwrap_or(Value::Null));
    if !managed_is_set {
        let managed = crate::config::Config::read().get("defaults", "ansible_managed").unwrap_or_else(|| "Ansible managed".into());
        let managed = managed
            .replace("{host}", "{{ template_host }}")
            .replace("{uid}", "{{ template_uid }}")
            .replace("{file}", "{{ template_path }}");
        let mtime = meta.as_ref().map(|m| m.mtime()).unwrap_or(0);
        m.insert("ansible_managed".into(), Value::from(super::format_time(&managed, mtime, false)));
    }
    m
}
