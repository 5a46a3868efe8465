//! What a path on a host looks like, asked for in one round trip: `stat` of the path and of
//! what a link points to, the link's target, optionally a checksum and the content. The shell
//! fragment uses only POSIX sh and coreutils, so any host can answer it.

use crate::pytext::shell_quote as q;

/// What `stat` says about a path.
#[derive(Clone, Debug, Default)]
pub struct Stat {
    pub kind: String,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub owner: String,
    pub group: String,
    pub size: u64,
    pub mtime: f64,
    pub atime: f64,
    pub ctime: f64,
    pub inode: u64,
    pub nlink: u64,
    pub dev: u64,
}

impl Stat {
    pub fn is_file(&self) -> bool {
        self.kind.starts_with("regular")
    }
    pub fn is_dir(&self) -> bool {
        self.kind == "directory"
    }
    pub fn is_link(&self) -> bool {
        self.kind == "symbolic link"
    }
    /// Ansible's name for the kind: file, directory, link, ...
    pub fn state_name(&self) -> &'static str {
        if self.is_file() {
            "file"
        } else if self.is_dir() {
            "directory"
        } else if self.is_link() {
            "link"
        } else {
            "file"
        }
    }
}

/// A path on the host, as one probe saw it.
#[derive(Clone, Debug, Default)]
pub struct Probe {
    pub exists: bool,
    /// The path itself (not following a link).
    pub lstat: Option<Stat>,
    /// What a link points at, when the path is a link to something that exists.
    pub stat: Option<Stat>,
    pub link_target: Option<String>,
    pub checksum: Option<String>,
    pub content: Option<Vec<u8>>,
    /// Whether the folder the path would be in exists.
    pub parent_dir: bool,
    /// What the connecting user may do with the path: some of `r`, `w`, `x`.
    pub access: String,
    /// Where a link really leads, when that was asked for (`readlink -m`).
    pub real: Option<String>,
}

impl Probe {
    /// The stat that counts for a module that follows links.
    pub fn effective(&self, follow: bool) -> Option<&Stat> {
        if follow {
            self.stat.as_ref().or(self.lstat.as_ref())
        } else {
            self.lstat.as_ref()
        }
    }
}

/// The times come twice: whole seconds (any `stat`), then with their fractions (GNU's `%.9Y`),
/// which Python's `st_mtime` has and playbooks compare.
pub const STAT_FMT: &str = "%F|%a|%u|%g|%U|%G|%s|%Y|%X|%Z|%i|%h|%d|%.9Y|%.9X|%.9Z";

/// A shell fragment that reports on `path`; [`parse_probe`] reads its output.
pub fn probe_script(path: &str, checksum: Option<&str>, content: bool) -> String {
    let parent = match path.trim_end_matches('/').rfind('/') {
        Some(0) => "/".to_string(),
        Some(i) => path[..i].to_string(),
        None => ".".to_string(),
    };
    // Builtins where they do (no fork for [ ] or printf); stat once, twice only for a link.
    let mut s = format!(
        "p={}\nif [ -d {} ]; then echo PDIR; fi\nif [ -e \"$p\" ] || [ -L \"$p\" ]; then\n printf 'STAT '; stat -c '{STAT_FMT}' -- \"$p\"\n if [ -L \"$p\" ]; then printf 'LINK %s\\n' \"$(readlink -- \"$p\")\"; if [ -e \"$p\" ]; then printf 'STATL '; stat -L -c '{STAT_FMT}' -- \"$p\"; fi; fi\n printf 'ACCESS '; if [ -r \"$p\" ]; then printf r; fi; if [ -w \"$p\" ]; then printf w; fi; if [ -x \"$p\" ]; then printf x; fi; echo\n",
        q(path),
        q(&parent)
    );
    if let Some(algo) = checksum {
        // The digest printed as it comes (`HASH  -`), not captured: a subshell is a fork more.
        s += &format!(" if [ -f \"$p\" ] && [ -r \"$p\" ]; then printf 'SUM '; {algo}sum < \"$p\"; fi\n");
    }
    if content {
        s += " if [ -f \"$p\" ] && [ -r \"$p\" ]; then printf 'CONTENT\\n'; cat -- \"$p\"; fi\n";
    }
    s += "else echo ABSENT; fi\n";
    s
}

/// A shell fragment that prints the path's state after a change, for [`parse_probe`].
pub fn stat_after(path: &str) -> String {
    format!("printf 'STAT '; stat -c '{STAT_FMT}' -- {} 2>/dev/null || echo\n", q(path))
}

fn parse_stat(line: &str) -> Option<Stat> {
    let f: Vec<&str> = line.split('|').collect();
    if f.len() < 13 {
        return None;
    }
    // The fractional times where this `stat` gives them, else the whole seconds.
    let time = |i: usize| -> Option<f64> { f.get(i + 6).and_then(|x| x.trim().parse().ok()).or_else(|| f[i].parse().ok()) };
    Some(Stat {
        kind: f[0].to_string(),
        mode: u32::from_str_radix(f[1], 8).ok()?,
        uid: f[2].parse().ok()?,
        gid: f[3].parse().ok()?,
        owner: f[4].to_string(),
        group: f[5].to_string(),
        size: f[6].parse().ok()?,
        mtime: time(7)?,
        atime: time(8)?,
        ctime: time(9)?,
        inode: f[10].parse().ok()?,
        nlink: f[11].parse().ok()?,
        dev: f[12].trim().parse().ok()?,
    })
}

pub fn parse_probe(out: &[u8]) -> Probe {
    let mut p = Probe::default();
    let mut rest = out;
    while !rest.is_empty() {
        let end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
        let line = String::from_utf8_lossy(&rest[..end]).into_owned();
        rest = if end < rest.len() { &rest[end + 1..] } else { &[] };
        if line == "CONTENT" {
            p.content = Some(rest.to_vec());
            break;
        } else if line == "PDIR" {
            p.parent_dir = true;
        } else if line == "ABSENT" {
            continue;
        } else if let Some(a) = line.strip_prefix("ACCESS ") {
            p.access = a.trim().to_string();
        } else if let Some(s) = line.strip_prefix("STATL ") {
            p.stat = parse_stat(s);
        } else if let Some(s) = line.strip_prefix("STAT ") {
            p.lstat = parse_stat(s);
            p.exists = p.lstat.is_some();
        } else if let Some(s) = line.strip_prefix("LINK ") {
            p.link_target = Some(s.to_string());
        } else if let Some(s) = line.strip_prefix("REAL ") {
            p.real = Some(s.to_string());
        } else if let Some(s) = line.strip_prefix("SUM ") {
            p.checksum = s.split_whitespace().next().map(str::to_string);
        }
    }
    // Only a link is stat'ed twice; anything else is what it points at.
    if p.stat.is_none() && p.lstat.as_ref().is_some_and(|s| !s.is_link()) {
        p.stat = p.lstat.clone();
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_output() {
        let p = parse_probe(b"STAT regular file|644|0|0|root|root|5|1|2|3|4|1|2049\nSTATL regular file|644|0|0|root|root|5|1|2|3|4|1|2049\nSUM abc\nCONTENT\nhello");
        assert!(p.exists);
        assert_eq!(p.lstat.unwrap().mode, 0o644);
        assert_eq!(p.checksum.as_deref(), Some("abc"));
        assert_eq!(p.content.as_deref(), Some(&b"hello"[..]));
        assert!(!parse_probe(b"ABSENT\n").exists);
        let p = parse_probe(b"STAT regular file|644|0|0|root|root|5|1|2|3|4|1|2049|1.25|2.5|3.75\n");
        let st = p.lstat.unwrap();
        assert_eq!((st.mtime, st.atime, st.ctime, st.dev), (1.25, 2.5, 3.75, 2049));
    }
}
