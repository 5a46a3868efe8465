//! `ansible.cfg`, found as Ansible finds it (`ANSIBLE_CONFIG`, `./ansible.cfg`,
//! `~/.ansible.cfg`, `/etc/ansible/ansible.cfg`), with the matching `ANSIBLE_*` environment
//! variables on top. Command-line flags win over both. A setting steward does not know is
//! reported once, as a warning; none is dropped silently.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Settings steward reads: (section, key, environment variable).
const KNOWN: &[(&str, &str, &str)] = &[
    ("defaults", "inventory", "ANSIBLE_INVENTORY"),
    ("defaults", "roles_path", "ANSIBLE_ROLES_PATH"),
    ("defaults", "forks", "ANSIBLE_FORKS"),
    ("defaults", "remote_user", "ANSIBLE_REMOTE_USER"),
    ("defaults", "host_key_checking", "ANSIBLE_HOST_KEY_CHECKING"),
    ("defaults", "timeout", "ANSIBLE_TIMEOUT"),
    ("defaults", "private_key_file", "ANSIBLE_PRIVATE_KEY_FILE"),
    ("defaults", "vault_password_file", "ANSIBLE_VAULT_PASSWORD_FILE"),
    ("defaults", "gathering", "ANSIBLE_GATHERING"),
    ("defaults", "stdout_callback", "ANSIBLE_STDOUT_CALLBACK"),
    ("defaults", "collections_path", "ANSIBLE_COLLECTIONS_PATH"),
    ("defaults", "library", "ANSIBLE_LIBRARY"),
    ("defaults", "module_utils", "ANSIBLE_MODULE_UTILS"),
    ("defaults", "interpreter_python", "ANSIBLE_PYTHON_INTERPRETER"),
    ("privilege_escalation", "become", "ANSIBLE_BECOME"),
    ("privilege_escalation", "become_method", "ANSIBLE_BECOME_METHOD"),
    ("privilege_escalation", "become_user", "ANSIBLE_BECOME_USER"),
    ("privilege_escalation", "become_ask_pass", "ANSIBLE_BECOME_ASK_PASS"),
    ("ssh_connection", "ssh_args", "ANSIBLE_SSH_ARGS"),
    ("ssh_connection", "pipelining", "ANSIBLE_PIPELINING"),
];

/// Settings accepted because they change nothing in steward (said once, as a note).
const NO_EFFECT: &[(&str, &str, &str)] = &[
    ("ssh_connection", "control_path", "steward keeps one connection per host itself; ControlPath is not used"),
    ("ssh_connection", "control_path_dir", "steward keeps one connection per host itself"),
    ("defaults", "retry_files_enabled", "steward writes no retry files"),
    ("defaults", "deprecation_warnings", "no effect"),
    ("defaults", "nocows", "no effect"),
];

#[derive(Debug, Default, Clone)]
pub struct Config {
    pub file: Option<PathBuf>,
    values: BTreeMap<(String, String), String>,
}

fn find() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("ANSIBLE_CONFIG") {
        let p = PathBuf::from(p);
        if p.is_dir() {
            return Some(p.join("ansible.cfg")).filter(|f| f.is_file());
        }
        return p.is_file().then_some(p);
    }
    let mut cands = vec![PathBuf::from("ansible.cfg")];
    if let Ok(home) = std::env::var("HOME") {
        cands.push(Path::new(&home).join(".ansible.cfg"));
    }
    cands.push(PathBuf::from("/etc/ansible/ansible.cfg"));
    cands.into_iter().find(|p| p.is_file())
}

impl Config {
    /// The configuration in force, warnings for unknown settings printed once.
    pub fn load() -> Config {
        let Some(file) = find() else { return Config::default() };
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let mut c = Config::parse(&text);
        c.file = Some(std::fs::canonicalize(&file).unwrap_or(file));
        for (section, key) in c.values.keys() {
            let known = KNOWN.iter().any(|(s, k, _)| s == section && k == key);
            match NO_EFFECT.iter().find(|(s, k, _)| s == section && k == key) {
                Some((_, _, why)) => crate::diag::warn(&format!("ansible.cfg: [{section}] {key} is ignored: {why}")),
                None if !known => {
                    crate::diag::warn(&format!("ansible.cfg: [{section}] {key} is not a setting steward knows; it is ignored"))
                }
                None => {}
            }
        }
        c
    }

    /// The configuration in force, read again without warnings (for lookups).
    pub fn read() -> Config {
        let Some(file) = find() else { return Config::default() };
        let mut c = Config::parse(&std::fs::read_to_string(&file).unwrap_or_default());
        c.file = Some(std::fs::canonicalize(&file).unwrap_or(file));
        c
    }

    /// A value as the file gives it, whatever environment variable may override it.
    pub fn file_value(&self, section: &str, key: &str) -> Option<&str> {
        self.values.get(&(section.to_string(), key.to_string())).map(String::as_str)
    }

    pub fn parse(text: &str) -> Config {
        let mut values = BTreeMap::new();
        let mut section = String::new();
        let mut last: Option<(String, String)> = None;
        for raw in text.lines() {
            let line = raw.trim_end();
            let t = line.trim_start();
            if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
                continue;
            }
            if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                section = name.trim().to_string();
                last = None;
                continue;
            }
            // An indented line continues the previous value.
            if raw.starts_with([' ', '\t']) {
                if let Some(k) = &last {
                    if let Some(v) = values.get_mut(k) {
                        let v: &mut String = v;
                        v.push('\n');
                        v.push_str(t);
                    }
                    continue;
                }
            }
            let Some(idx) = t.find(['=', ':']) else { continue };
            let key = t[..idx].trim().to_string();
            let value = t[idx + 1..].split(" ;").next().unwrap_or("").trim().to_string();
            let k = (section.clone(), key);
            values.insert(k.clone(), value);
            last = Some(k);
        }
        Config { file: None, values }
    }

    /// A setting: the environment variable first, then the file.
    pub fn get(&self, section: &str, key: &str) -> Option<String> {
        if let Some((_, _, env)) = KNOWN.iter().find(|(s, k, _)| *s == section && *k == key) {
            if let Ok(v) = std::env::var(env) {
                return Some(v);
            }
        }
        self.values.get(&(section.to_string(), key.to_string())).cloned()
    }

    pub fn get_bool(&self, section: &str, key: &str) -> Option<bool> {
        self.get(section, key).map(|v| crate::pytext::ansible_bool(&serde_json::Value::String(v)))
    }

    /// A path setting, relative to the configuration file's folder.
    pub fn get_path(&self, section: &str, key: &str) -> Option<String> {
        let v = self.get(section, key)?;
        Some(self.resolve(&v))
    }

    pub fn resolve(&self, v: &str) -> String {
        let v = match v.strip_prefix("~/") {
            Some(rest) => format!("{}/{rest}", std::env::var("HOME").unwrap_or_default()),
            None => v.to_string(),
        };
        match (&self.file, Path::new(&v).is_absolute()) {
            (Some(f), false) => f.parent().map(|d| d.join(&v).display().to_string()).unwrap_or(v),
            _ => v,
        }
    }

    /// A list setting (`roles_path = a:b`, `inventory = a,b`).
    pub fn get_list(&self, section: &str, key: &str, sep: &[char]) -> Vec<String> {
        self.get(section, key)
            .map(|v| v.split(sep).map(str::trim).filter(|s| !s.is_empty()).map(|s| self.resolve(s)).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_keys_continuations() {
        let c = Config::parse(
            "[defaults]\ninventory = ./inv\nforks=30 ; comment\nroles_path = a:b\n[ssh_connection]\nssh_args = -o A=1\n  -o B=2\n",
        );
        assert_eq!(c.get("defaults", "forks").as_deref(), Some("30"));
        assert_eq!(c.get("ssh_connection", "ssh_args").as_deref(), Some("-o A=1\n-o B=2"));
        assert_eq!(c.get_list("defaults", "roles_path", &[':']), vec!["a", "b"]);
    }
}
