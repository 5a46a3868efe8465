//! Path filters: Python's `os.path` (POSIX) and `ntpath` (the `win_*` filters), as Ansible
//! exposes them, edge cases included (`dirname('//x')` is `//`, `normpath('')` is `.`).
//!
//! These run on the controller, like every filter: `realpath`, `relpath`, `expanduser` and
//! `fileglob` look at the controller's file system, environment and working directory.

/// `os.path.basename`.
pub fn basename(p: &str) -> String {
    p.rsplit('/').next().unwrap_or("").to_string()
}

/// `os.path.dirname`: trailing slashes go, unless the head is nothing but slashes.
pub fn dirname(p: &str) -> String {
    let head = &p[..p.rfind('/').map(|i| i + 1).unwrap_or(0)];
    if !head.is_empty() && head.chars().any(|c| c != '/') {
        head.trim_end_matches('/').to_string()
    } else {
        head.to_string()
    }
}

/// `os.path.splitext`: leading dots of the last component do not start an extension.
pub fn splitext(p: &str) -> (String, String) {
    let sep = p.rfind('/').map(|i| i as isize).unwrap_or(-1);
    if let Some(dot) = p.rfind('.') {
        if dot as isize > sep {
            let name_start = (sep + 1) as usize;
            if p[name_start..dot].chars().any(|c| c != '.') {
                return (p[..dot].to_string(), p[dot..].to_string());
            }
        }
    }
    (p.to_string(), String::new())
}

/// `os.path.normpath`: exactly two leading slashes are kept, as POSIX allows.
pub fn normpath(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let initial = if p.starts_with("//") && !p.starts_with("///") {
        2
    } else if p.starts_with('/') {
        1
    } else {
        0
    };
    let mut comps: Vec<&str> = Vec::new();
    for c in p.split('/') {
        if c.is_empty() || c == "." {
            continue;
        }
        if c != ".." || (initial == 0 && comps.is_empty()) || comps.last() == Some(&"..") {
            comps.push(c);
        } else if !comps.is_empty() {
            comps.pop();
        }
    }
    let out = "/".repeat(initial) + &comps.join("/");
    if out.is_empty() {
        ".".into()
    } else {
        out
    }
}

/// `os.path.join`: an absolute component starts over.
pub fn join<S: AsRef<str>>(parts: &[S]) -> String {
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        let p = p.as_ref();
        if i == 0 || p.starts_with('/') {
            out = p.to_string();
        } else if out.is_empty() || out.ends_with('/') {
            out.push_str(p);
        } else {
            out.push('/');
            out.push_str(p);
        }
    }
    out
}

fn abspath(p: &str) -> String {
    if p.starts_with('/') {
        return normpath(p);
    }
    let cwd = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_else(|_| "/".into());
    normpath(&join(&[cwd.as_str(), p]))
}

/// `os.path.relpath(path, start)`.
pub fn relpath(p: &str, start: Option<&str>) -> Result<String, String> {
    if p.is_empty() {
        return Err("no path specified".into());
    }
    let start = abspath(start.unwrap_or("."));
    let path = abspath(p);
    let s: Vec<&str> = start.split('/').filter(|x| !x.is_empty()).collect();
    let t: Vec<&str> = path.split('/').filter(|x| !x.is_empty()).collect();
    let common = s.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut rel: Vec<&str> = vec![".."; s.len() - common];
    rel.extend(&t[common..]);
    Ok(if rel.is_empty() { ".".into() } else { rel.join("/") })
}

/// `os.path.commonpath`.
pub fn commonpath(paths: &[String]) -> Result<String, String> {
    if paths.is_empty() {
        return Err("commonpath() arg is an empty sequence".into());
    }
    let abs = paths[0].starts_with('/');
    if paths.iter().any(|p| p.starts_with('/') != abs) {
        return Err("Can't mix absolute and relative paths".into());
    }
    let split: Vec<Vec<&str>> = paths.iter().map(|p| p.split('/').filter(|c| !c.is_empty() && *c != ".").collect()).collect();
    let (Some(s1), Some(s2)) = (split.iter().min(), split.iter().max()) else {
        return Err("commonpath() arg is an empty sequence".into());
    };
    let n = s1.iter().zip(s2.iter()).take_while(|(a, b)| a == b).count();
    Ok(format!("{}{}", if abs { "/" } else { "" }, s1[..n].join("/")))
}

/// `os.path.expanduser`: `~` from `$HOME`, `~name` from the password database.
pub fn expanduser(p: &str) -> String {
    if !p.starts_with('~') {
        return p.to_string();
    }
    let i = p[1..].find('/').map(|i| i + 1).unwrap_or(p.len());
    let home = if i == 1 { std::env::var("HOME").ok().or_else(|| home_of(None)) } else { home_of(Some(&p[1..i])) };
    let Some(home) = home else {
        return p.to_string();
    };
    let out = home.trim_end_matches('/').to_string() + &p[i..];
    if out.is_empty() {
        "/".into()
    } else {
        out
    }
}

fn home_of(user: Option<&str>) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 16384];
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer refers to a live local buffer whose length is passed along.
    let rc = unsafe {
        match user {
            Some(name) => {
                let c = std::ffi::CString::new(name).ok()?;
                libc::getpwnam_r(c.as_ptr(), &mut pw, buf.as_mut_ptr(), buf.len(), &mut result)
            }
            None => libc::getpwuid_r(libc::getuid(), &mut pw, buf.as_mut_ptr(), buf.len(), &mut result),
        }
    };
    if rc != 0 || result.is_null() || pw.pw_dir.is_null() {
        return None;
    }
    // SAFETY: getpw*_r filled pw_dir with a NUL-terminated string inside `buf`.
    Some(unsafe { std::ffi::CStr::from_ptr(pw.pw_dir) }.to_string_lossy().into_owned())
}

/// `os.path.expandvars`: `$name` and `${name}` from the environment; unknown ones stay.
pub fn expandvars(p: &str) -> String {
    if !p.contains('$') {
        return p.to_string();
    }
    let mut out = String::with_capacity(p.len());
    let mut rest = p;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, len) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(j) => (&braced[..j], j + 2),
                None => ("", 0),
            }
        } else {
            let n = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
            (&after[..n], n)
        };
        let value = if name.is_empty() { None } else { std::env::var(name).ok() };
        match value {
            Some(v) => out.push_str(&v),
            None => {
                out.push('$');
                out.push_str(&after[..len]);
            }
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// `os.path.realpath` (not strict): symlinks resolved as far as the path exists.
pub fn realpath(p: &str) -> String {
    let abs = abspath(p);
    if let Ok(c) = std::fs::canonicalize(&abs) {
        return c.display().to_string();
    }
    let mut head = abs.clone();
    let mut tail: Vec<String> = Vec::new();
    while let Some(i) = head.rfind('/') {
        tail.push(head[i + 1..].to_string());
        head.truncate(i);
        let base = if head.is_empty() { "/" } else { head.as_str() };
        if let Ok(c) = std::fs::canonicalize(base) {
            tail.reverse();
            let mut parts = vec![c.display().to_string()];
            parts.extend(tail);
            return normpath(&join(&parts));
        }
    }
    abs
}

/// `glob.glob` keeping regular files only; hidden names match only a leading `.`.
pub fn fileglob(pattern: &str) -> Vec<String> {
    let opts = glob::MatchOptions { case_sensitive: true, require_literal_separator: true, require_literal_leading_dot: true };
    match glob::glob_with(pattern, opts) {
        Ok(paths) => paths.flatten().filter(|p| p.is_file()).map(|p| p.display().to_string()).collect(),
        Err(_) => Vec::new(),
    }
}

fn is_win_sep(c: char) -> bool {
    c == '\\' || c == '/'
}

/// `ntpath.splitdrive`: a drive letter or a UNC `\\host\share`.
pub fn win_splitdrive(p: &str) -> (String, String) {
    let chars: Vec<char> = p.chars().collect();
    if chars.len() >= 2 {
        let norm: Vec<char> = chars.iter().map(|c| if *c == '/' { '\\' } else { *c }).collect();
        if norm[0] == '\\' && norm[1] == '\\' {
            let upper: String = norm.iter().take(8).collect::<String>().to_uppercase();
            let start = if upper == "\\\\?\\UNC\\" { 8 } else { 2 };
            let find = |from: usize| (from..norm.len()).find(|&k| norm[k] == '\\');
            let Some(index) = find(start) else {
                return (p.to_string(), String::new());
            };
            let Some(index2) = find(index + 1) else {
                return (p.to_string(), String::new());
            };
            return (chars[..index2].iter().collect(), chars[index2..].iter().collect());
        }
        if norm[1] == ':' {
            return (chars[..2].iter().collect(), chars[2..].iter().collect());
        }
    }
    (String::new(), p.to_string())
}

/// `ntpath.split`.
fn win_split(p: &str) -> (String, String) {
    let (drive, rest) = win_splitdrive(p);
    let chars: Vec<char> = rest.chars().collect();
    let mut i = chars.len();
    while i > 0 && !is_win_sep(chars[i - 1]) {
        i -= 1;
    }
    let head: String = chars[..i].iter().collect();
    let tail: String = chars[i..].iter().collect();
    let trimmed = head.trim_end_matches(is_win_sep);
    let head = if trimmed.is_empty() { head.as_str() } else { trimmed };
    (drive + head, tail)
}

pub fn win_basename(p: &str) -> String {
    win_split(p).1
}

pub fn win_dirname(p: &str) -> String {
    win_split(p).0
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values are Python 3.11's os.path / ntpath, through ansible-core's filters.
    #[test]
    fn posix_paths() {
        assert_eq!(dirname("/a/b/"), "/a/b");
        assert_eq!(dirname("//x"), "//");
        assert_eq!(dirname("a"), "");
        assert_eq!(basename("/a/b/"), "");
        assert_eq!(splitext("a.b.c"), ("a.b".into(), ".c".into()));
        assert_eq!(splitext(".bashrc"), (".bashrc".into(), "".into()));
        assert_eq!(normpath("/a/./b/../c//d/"), "/a/c/d");
        assert_eq!(normpath(""), ".");
        assert_eq!(normpath("//a"), "//a");
        assert_eq!(normpath("///a"), "/a");
        assert_eq!(normpath("a/.."), ".");
        assert_eq!(normpath("../x"), "../x");
        assert_eq!(relpath("/a/b/c", Some("/a/d")).unwrap(), "../b/c");
        assert_eq!(relpath("/a/b", Some("/a/b")).unwrap(), ".");
        assert_eq!(join(&["/etc", "subdir", "/test"]), "/test");
        assert_eq!(join(&["etc", "subdir", "test"]), "etc/subdir/test");
        assert_eq!(commonpath(&["/foo/bar/foobar".into(), "/foo/bar".into()]).unwrap(), "/foo/bar");
        assert_eq!(commonpath(&["a/b".into(), "a/c".into()]).unwrap(), "a");
        assert_eq!(commonpath(&["/a".into(), "b".into()]).unwrap_err(), "Can't mix absolute and relative paths");
    }

    #[test]
    fn environment_paths() {
        std::env::set_var("STEWARD_EXPANDVARS_T", "v");
        assert_eq!(expandvars("$STEWARD_EXPANDVARS_T/x ${STEWARD_EXPANDVARS_T} $NOPE_X_Q ${NOPE_Y_Q} $"), "v/x v $NOPE_X_Q ${NOPE_Y_Q} $");
        assert_eq!(expanduser("x/~"), "x/~");
    }

    #[test]
    fn windows_paths() {
        assert_eq!(win_basename(r"C:\x\y.txt"), "y.txt");
        assert_eq!(win_basename("C:/x/y.txt"), "y.txt");
        assert_eq!(win_dirname(r"C:\x\y.txt"), r"C:\x");
        assert_eq!(win_splitdrive(r"C:\x\y.txt"), ("C:".into(), r"\x\y.txt".into()));
        assert_eq!(win_splitdrive(r"\\server\share\x"), (r"\\server\share".into(), r"\x".into()));
        assert_eq!(win_splitdrive("x"), ("".into(), "x".into()));
    }
}
