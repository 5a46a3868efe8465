//! `~/.ssh/config`, read as OpenSSH reads it: `Host` blocks (patterns, `!negation`, `*` and `?`),
//! the first value obtained for each option wins, `key value` or `key=value`, `Include`.
//!
//! Options honoured: HostName, User, Port, IdentityFile, IdentitiesOnly, ProxyJump (several
//! hops), ProxyCommand, StrictHostKeyChecking (yes, no, accept-new), UserKnownHostsFile,
//! GlobalKnownHostsFile, ConnectTimeout, ServerAliveInterval, ServerAliveCountMax. Others are
//! ignored; `Match` blocks are skipped.

use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strict {
    /// Refuse unknown keys (OpenSSH's default, and Ansible's).
    Yes,
    /// Trust a key never seen before and remember it; refuse a changed one.
    AcceptNew,
    /// Do not check (Ansible's `host_key_checking = False`).
    No,
}

#[derive(Clone, Debug, Default)]
pub struct HostOptions {
    pub hostname: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_files: Vec<String>,
    pub identities_only: Option<bool>,
    pub proxy_jump: Option<String>,
    pub proxy_command: Option<String>,
    pub strict: Option<Strict>,
    pub user_known_hosts: Option<Vec<String>>,
    pub global_known_hosts: Option<Vec<String>>,
    pub connect_timeout: Option<u64>,
    pub server_alive_interval: Option<u64>,
    pub server_alive_count_max: Option<usize>,
}

/// Shell-style glob match (`*`, `?`) as ssh_config patterns use.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// Whether a list of patterns (with `!negations`) matches a host name.
pub fn patterns_match<'a>(patterns: impl IntoIterator<Item = &'a str>, host: &str) -> bool {
    let mut matched = false;
    for p in patterns {
        if let Some(neg) = p.strip_prefix('!') {
            if glob_match(neg, host) {
                return false;
            }
        } else if glob_match(p, host) {
            matched = true;
        }
    }
    matched
}

fn split_line(line: &str) -> Option<(String, String)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let idx = line.find(|c: char| c.is_whitespace() || c == '=')?;
    let key = line[..idx].to_ascii_lowercase();
    let rest = line[idx..].trim_start_matches(|c: char| c.is_whitespace() || c == '=').trim();
    let value = rest.strip_prefix('"').and_then(|r| r.strip_suffix('"')).unwrap_or(rest).to_string();
    Some((key, value))
}

fn expand_home(p: &str) -> String {
    if let Some(rest) = p.strip_prefix("~/") {
        if let Ok(home) = std::env::var("HOME") {
            return format!("{home}/{rest}");
        }
    }
    p.to_string()
}

/// Options for `host` from a config file's text (`dir` resolves relative `Include`s).
pub fn options_from(text: &str, host: &str, dir: &Path, depth: usize) -> HostOptions {
    let mut o = HostOptions::default();
    apply(text, host, dir, depth, &mut o);
    o
}

fn apply(text: &str, host: &str, dir: &Path, depth: usize, o: &mut HostOptions) {
    let mut active = true;
    for line in text.lines() {
        let Some((key, value)) = split_line(line) else { continue };
        match key.as_str() {
            "host" => {
                active = patterns_match(value.split_whitespace(), host);
                continue;
            }
            "match" => {
                active = value.trim().eq_ignore_ascii_case("all");
                continue;
            }
            "include" if active && depth < 8 => {
                for pat in value.split_whitespace() {
                    let pat = expand_home(pat);
                    let full = if Path::new(&pat).is_absolute() { pat } else { dir.join(pat).display().to_string() };
                    let mut files: Vec<PathBuf> = glob::glob(&full).map(|g| g.filter_map(Result::ok).collect()).unwrap_or_default();
                    files.sort();
                    for f in files {
                        if let Ok(t) = std::fs::read_to_string(&f) {
                            apply(&t, host, dir, depth + 1, o);
                        }
                    }
                }
                continue;
            }
            _ => {}
        }
        if !active {
            continue;
        }
        let words = || value.split_whitespace().map(expand_home).collect::<Vec<_>>();
        match key.as_str() {
            "hostname" => {
                o.hostname.get_or_insert(value.replace("%h", host));
            }
            "user" => {
                o.user.get_or_insert(value);
            }
            "port" => o.port = o.port.or(value.parse().ok()),
            "identityfile" => o.identity_files.push(expand_home(&value)),
            "identitiesonly" => {
                o.identities_only.get_or_insert(value.eq_ignore_ascii_case("yes"));
            }
            "proxyjump" => {
                o.proxy_jump.get_or_insert(value);
            }
            "proxycommand" => {
                o.proxy_command.get_or_insert(value);
            }
            "stricthostkeychecking" => {
                o.strict.get_or_insert(match value.to_ascii_lowercase().as_str() {
                    "no" | "off" => Strict::No,
                    "accept-new" => Strict::AcceptNew,
                    _ => Strict::Yes,
                });
            }
            "userknownhostsfile" => {
                o.user_known_hosts.get_or_insert(words());
            }
            "globalknownhostsfile" => {
                o.global_known_hosts.get_or_insert(words());
            }
            "connecttimeout" => o.connect_timeout = o.connect_timeout.or(value.parse().ok()),
            "serveraliveinterval" => o.server_alive_interval = o.server_alive_interval.or(value.parse().ok()),
            "serveralivecountmax" => o.server_alive_count_max = o.server_alive_count_max.or(value.parse().ok()),
            _ => {}
        }
    }
}

/// Options for `host` from the user's `~/.ssh/config` and `/etc/ssh/ssh_config`.
pub fn options_for(host: &str, config_file: Option<&Path>) -> HostOptions {
    let mut o = HostOptions::default();
    let home = std::env::var("HOME").map(PathBuf::from).unwrap_or_default();
    let user_cfg = config_file.map(Path::to_path_buf).unwrap_or_else(|| home.join(".ssh/config"));
    for f in [user_cfg, PathBuf::from("/etc/ssh/ssh_config")] {
        if let Ok(t) = std::fs::read_to_string(&f) {
            let dir = f.parent().map(Path::to_path_buf).unwrap_or_default();
            apply(&t, host, &dir, 0, &mut o);
        }
    }
    o
}

/// Options given as `-o Key=Value` (in `ansible_ssh_common_args`, `ansible_ssh_extra_args`),
/// plus `-J hops`; these win over the config files.
pub fn options_from_args(args: &str, host: &str) -> HostOptions {
    let words = shlex::split(args).unwrap_or_default();
    let mut text = String::new();
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        if w == "-o" {
            if let Some(v) = words.get(i + 1) {
                text += v;
                text.push('\n');
            }
            i += 2;
            continue;
        }
        if let Some(v) = w.strip_prefix("-o") {
            text += v;
            text.push('\n');
        } else if w == "-J" {
            if let Some(v) = words.get(i + 1) {
                text += &format!("ProxyJump {v}\n");
            }
            i += 2;
            continue;
        }
        i += 1;
    }
    options_from(&text, host, Path::new("."), 0)
}

/// The config file named by `-F file` in ssh arguments.
pub fn config_file_from_args(args: &str) -> Option<PathBuf> {
    let words = shlex::split(args).unwrap_or_default();
    let mut it = words.iter();
    while let Some(w) = it.next() {
        if w == "-F" {
            return it.next().map(|f| PathBuf::from(expand_home(f)));
        }
        if let Some(f) = w.strip_prefix("-F") {
            return Some(PathBuf::from(expand_home(f)));
        }
    }
    None
}

impl HostOptions {
    /// Fill what this one lacks from `other` (the first value obtained wins).
    pub fn or(mut self, other: HostOptions) -> HostOptions {
        self.hostname = self.hostname.or(other.hostname);
        self.user = self.user.or(other.user);
        self.port = self.port.or(other.port);
        if self.identity_files.is_empty() {
            self.identity_files = other.identity_files;
        }
        self.identities_only = self.identities_only.or(other.identities_only);
        self.proxy_jump = self.proxy_jump.or(other.proxy_jump);
        self.proxy_command = self.proxy_command.or(other.proxy_command);
        self.strict = self.strict.or(other.strict);
        self.user_known_hosts = self.user_known_hosts.or(other.user_known_hosts);
        self.global_known_hosts = self.global_known_hosts.or(other.global_known_hosts);
        self.connect_timeout = self.connect_timeout.or(other.connect_timeout);
        self.server_alive_interval = self.server_alive_interval.or(other.server_alive_interval);
        self.server_alive_count_max = self.server_alive_count_max.or(other.server_alive_count_max);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_value_wins_and_patterns() {
        let cfg = "Host web* !web9\n  HostName %h.example.com\n  User deploy\n  Port=2222\n  ProxyJump bastion,inner:2200\nHost *\n  User other\n  StrictHostKeyChecking accept-new\n  IdentityFile ~/.ssh/id_a\n";
        let o = options_from(cfg, "web1", Path::new("."), 0);
        assert_eq!(o.hostname.as_deref(), Some("web1.example.com"));
        assert_eq!(o.user.as_deref(), Some("deploy"));
        assert_eq!(o.port, Some(2222));
        assert_eq!(o.proxy_jump.as_deref(), Some("bastion,inner:2200"));
        assert_eq!(o.strict, Some(Strict::AcceptNew));
        let o = options_from(cfg, "web9", Path::new("."), 0);
        assert_eq!(o.user.as_deref(), Some("other"));
        assert_eq!(o.hostname, None);
    }

    #[test]
    fn dash_o_arguments() {
        let o = options_from_args("-o StrictHostKeyChecking=no -o 'ProxyCommand=ssh -W %h:%p jump' -J a,b", "h");
        assert_eq!(o.strict, Some(Strict::No));
        assert_eq!(o.proxy_command.as_deref(), Some("ssh -W %h:%p jump"));
        assert_eq!(o.proxy_jump.as_deref(), Some("a,b"));
    }
}
