//! `find`: files on the host by name pattern, type, age, size, mode or content, as Ansible's
//! module finds them. GNU find lists each folder's entries with their facts in one round trip;
//! the walk is then replayed here the way Python's `os.walk` goes (a folder's files, then its
//! folders, then each folder in turn), so `examined`, `depth`, `limit` and the order of
//! `files` come out as Ansible's. Content (`contains`) and checksums take one more round trip,
//! for the files that pass the other filters only.

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::{ExecCheck, fail, Arg, Args, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;
use crate::template::{PyAnchor, PyRegex};

pub struct Find;

const ARGS: &[Arg] = &[
    Arg::list("paths", "folders to search").aliases(&["name", "path"]).required(),
    Arg::list("patterns", "base-name patterns (globs, or regexes with use_regex; default: every name)").aliases(&["pattern"]),
    Arg::list("excludes", "base-name patterns to leave out").aliases(&["exclude"]),
    Arg::str("contains", "a regex a file's content must match (per line, or the whole file with read_whole_file)"),
    Arg::bool("read_whole_file", "match contains against the whole file, not line by line").default("false"),
    Arg::str("encoding", "the encoding to read files in for contains").default("utf-8"),
    Arg::bool("use_regex", "patterns are regexes, not globs").default("false"),
    Arg::bool("recurse", "descend into folders").default("false"),
    Arg::int("depth", "how deep to descend, with recurse (default: no limit)"),
    Arg::str("file_type", "file, directory, link or any").choices(&["file", "directory", "link", "any"]).default("file"),
    Arg::bool("hidden", "include names starting with a dot").default("false"),
    Arg::str("age", "older than this (1d, 2w, 3h; negative: younger)"),
    Arg::str("age_stamp", "mtime, atime or ctime").choices(&["mtime", "atime", "ctime"]).default("mtime"),
    Arg::str("size", "larger than this (10k, 1m; negative: smaller)"),
    Arg::bool("follow", "follow links to folders").default("false"),
    Arg::bool("get_checksum", "add each file's checksum").default("false"),
    Arg::str("checksum_algorithm", "md5, sha1, sha224, sha256, sha384 or sha512")
        .aliases(&["checksum", "checksum_algo"])
        .choices(&["md5", "sha1", "sha224", "sha256", "sha384", "sha512"])
        .default("sha1"),
    Arg::raw("mode", "permissions to match (octal or symbolic)"),
    Arg::bool("exact_mode", "mode must match exactly; false: any of its bits").default("true"),
    Arg::int("limit", "stop after this many matches"),
];

/// `1d`, `2w`, `-3h`, `30` (seconds) as seconds; a negative age means "younger than".
fn parse_age(s: &str) -> Option<i64> {
    parse_unit(s, &[("s", 1), ("m", 60), ("h", 3600), ("d", 86400), ("w", 604800)])
}

/// `10k`, `-2m`, `1g`, `512` (bytes) as bytes; a negative size means "smaller than".
fn parse_size(s: &str) -> Option<i64> {
    parse_unit(s, &[("b", 1), ("k", 1024), ("m", 1024 * 1024), ("g", 1024i64.pow(3)), ("t", 1024i64.pow(4))])
}

/// `^(-?\d+)(unit)?$`, lower-cased, as Ansible reads age and size.
fn parse_unit(s: &str, units: &[(&str, i64)]) -> Option<i64> {
    let s = s.to_lowercase();
    let end = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let (num, unit) = s.split_at(end);
    let digits = num.strip_prefix('-').unwrap_or(num);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mult = if unit.is_empty() { 1 } else { units.iter().find(|(u, _)| *u == unit)?.1 };
    Some(num.parse::<i64>().ok()? * mult)
}

/// Python's `fnmatch.fnmatch` on POSIX: `*`, `?`, `[seq]`, `[!seq]`, case-sensitive.
fn fnmatch(pat: &str, name: &str) -> bool {
    fn class(p: &[char], c: char) -> Option<(bool, usize)> {
        // p starts after '['; returns whether c is in the class and the length used.
        let mut i = 0;
        let neg = p.first() == Some(&'!');
        if neg {
            i += 1;
        }
        let start = i;
        let mut hit = false;
        while i < p.len() && (p[i] != ']' || i == start) {
            if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
                hit |= p[i] <= c && c <= p[i + 2];
                i += 3;
            } else {
                hit |= p[i] == c;
                i += 1;
            }
        }
        (i < p.len()).then_some((hit != neg, i + 1))
    }
    fn go(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => (0..=t.len()).any(|k| go(&p[1..], &t[k..])),
            Some('?') => !t.is_empty() && go(&p[1..], &t[1..]),
            Some('[') => match (t.first(), class(&p[1..], *t.first().unwrap_or(&'\0'))) {
                (Some(_), Some((true, n))) => go(&p[1 + n..], &t[1..]),
                (Some(_), Some((false, _))) => false,
                // An unclosed `[` is a plain character.
                (Some('['), None) => go(&p[1..], &t[1..]),
                _ => false,
            },
            Some(c) => t.first() == Some(c) && go(&p[1..], &t[1..]),
        }
    }
    let p: Vec<char> = pat.chars().collect();
    let t: Vec<char> = name.chars().collect();
    go(&p, &t)
}

/// How base names are matched: globs or regexes (Python's `re.match`).
enum Patterns {
    Glob(Vec<String>),
    Regex(Vec<PyRegex>),
}

impl Patterns {
    fn new(pats: &[String], regex: bool) -> Result<Patterns, ModError> {
        if !regex {
            return Ok(Patterns::Glob(pats.to_vec()));
        }
        let res = pats
            .iter()
            .map(|p| PyRegex::anchored(p, false, false, PyAnchor::Match).map_err(|e| ModError::Fail(e.to_string())))
            .collect::<Result<_, _>>()?;
        Ok(Patterns::Regex(res))
    }
    fn any(&self, name: &str) -> bool {
        match self {
            Patterns::Glob(g) => g.iter().any(|p| fnmatch(p, name)),
            Patterns::Regex(r) => r.iter().any(|re| re.is_match(name).unwrap_or(false)),
        }
    }
}

/// One entry GNU find printed.
struct Entry {
    depth: usize,
    /// Its own type (lstat) and the type a link leads to: f d l b c p s.
    kind: char,
    deref_kind: char,
    mode: u32,
    size: i64,
    atime: f64,
    mtime: f64,
    ctime: f64,
    uid: i64,
    gid: i64,
    owner: String,
    group: String,
    nlink: i64,
    inode: i64,
    dev: i64,
    rel: String,
}

fn parse_entry(rec: &str) -> Option<Entry> {
    let f: Vec<&str> = rec.splitn(16, '\t').collect();
    if f.len() < 16 {
        return None;
    }
    let ch = |s: &str| s.chars().next().unwrap_or('U');
    Some(Entry {
        depth: f[0].parse().ok()?,
        kind: ch(f[1]),
        deref_kind: ch(f[2]),
        mode: u32::from_str_radix(f[3], 8).ok()?,
        size: f[4].parse().ok()?,
        atime: f[5].parse().ok()?,
        mtime: f[6].parse().ok()?,
        ctime: f[7].parse().ok()?,
        uid: f[8].parse().ok()?,
        gid: f[9].parse().ok()?,
        owner: f[10].to_string(),
        group: f[11].to_string(),
        nlink: f[12].parse().ok()?,
        inode: f[13].parse().ok()?,
        dev: f[14].parse().ok()?,
        rel: f[15].to_string(),
    })
}

/// One path of `paths`, as the host listed it.
struct Listing {
    /// The path with `~` expanded.
    path: String,
    is_dir: bool,
    /// Each folder's entries (by path relative to the top, "" for the top), in readdir order.
    children: HashMap<String, Vec<Entry>>,
    /// Folders that could not be listed, with Python's error text.
    errors: Vec<(String, String)>,
}

/// Python's `os.path.normpath` for the absolute or relative paths find returns.
fn normpath(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            ".." if abs => {}
            c => parts.push(c),
        }
    }
    let j = parts.join("/");
    match (abs, j.is_empty()) {
        (true, _) => format!("/{j}"),
        (false, true) => ".".into(),
        (false, false) => j,
    }
}

/// Python's text of an `OSError` from a message such as find prints.
fn os_error(path: &str, msg: &str) -> Option<String> {
    let errno = match msg {
        "Permission denied" => 13,
        "No such file or directory" => 2,
        "Operation not permitted" => 1,
        _ => return None,
    };
    Some(format!("[Errno {errno}] {msg}: '{path}'"))
}

/// What reading one file for `contains` (and its checksum) gave.
#[derive(Default, Clone)]
struct FileData {
    /// The decoded text; `Err(true)` for an encoding error, `Err(false)` if it could not be read.
    text: Option<Result<String, bool>>,
    checksum: Option<String>,
}

struct Filters {
    patterns: Patterns,
    excludes: Option<Patterns>,
    file_type: String,
    hidden: bool,
    age: Option<i64>,
    age_stamp: String,
    size: Option<i64>,
    mode: Option<u32>,
    exact_mode: bool,
    depth: Option<usize>,
    recurse: bool,
    limit: Option<usize>,
    contains: Option<PyRegex>,
    whole: bool,
    encoding: Option<String>,
    get_checksum: bool,
}

impl Filters {
    fn names(&self, name: &str) -> bool {
        self.patterns.any(name) && !self.excludes.as_ref().is_some_and(|e| e.any(name))
    }
    fn age_ok(&self, e: &Entry, now: f64) -> bool {
        let t = match self.age_stamp.as_str() {
            "atime" => e.atime,
            "ctime" => e.ctime,
            _ => e.mtime,
        };
        match self.age {
            None => true,
            Some(a) if a >= 0 => now - t >= a.unsigned_abs() as f64,
            Some(a) => now - t <= a.unsigned_abs() as f64,
        }
    }
    fn size_ok(&self, e: &Entry) -> bool {
        match self.size {
            None => true,
            Some(s) if s >= 0 => e.size >= s,
            Some(s) => e.size <= -s,
        }
    }
    fn mode_ok(&self, e: &Entry) -> bool {
        match self.mode {
            None => true,
            Some(m) if self.exact_mode => e.mode & 0o7777 == m,
            Some(m) => e.mode & 0o7777 & m != 0,
        }
    }
    /// Whether the file passes the filters that need no content (a candidate for reading).
    fn candidate(&self, e: &Entry, now: f64) -> bool {
        let base = e.rel.rsplit('/').next().unwrap_or(&e.rel);
        e.kind == 'f' && self.names(base) && self.age_ok(e, now) && self.size_ok(e)
    }
}

/// Replays `os.walk` over one listing: the matches, how many entries were looked at, and the
/// error that stopped this path (an encoding error while reading content).
fn walk(
    l: &Listing,
    f: &Filters,
    now: f64,
    data: &HashMap<String, FileData>,
    files: &mut Vec<Value>,
    looked: &mut usize,
    limit_hit: &mut bool,
) -> Result<(), String> {
    let mut stack = vec![String::new()];
    while let Some(root) = stack.pop() {
        let Some(entries) = l.children.get(&root) else {
            continue;
        };
        let (fs, ds): (Vec<&Entry>, Vec<&Entry>) = entries.iter().partition(|e| e.deref_kind != 'd');
        *looked += entries.len();
        let mut descend = f.recurse;
        for e in fs.iter().chain(ds.iter()) {
            let path = normpath(&format!("{}/{}", l.path, e.rel));
            if let Some(d) = f.depth {
                if e.depth > d {
                    descend = false;
                    continue;
                }
            }
            let base = e.rel.rsplit('/').next().unwrap_or(&e.rel);
            if base.starts_with('.') && !f.hidden {
                continue;
            }
            let d = data.get(&path);
            let hit = match (f.file_type.as_str(), e.kind) {
                ("any", _) => f.names(base) && f.age_ok(e, now) && f.mode_ok(e) && (e.kind != 'f' || f.size_ok(e)),
                ("directory", 'd') | ("link", 'l') => f.names(base) && f.age_ok(e, now) && f.mode_ok(e),
                ("file", 'f') => f.names(base) && f.age_ok(e, now) && f.size_ok(e) && content_ok(f, &path, d)? && f.mode_ok(e),
                _ => false,
            };
            if hit {
                let mut r = stat_info(&path, e);
                if e.kind == 'f' && f.get_checksum {
                    if let Some(c) = d.and_then(|d| d.checksum.clone()) {
                        r.insert("checksum".into(), json!(c));
                    }
                }
                files.push(Value::Object(r));
            }
            if f.limit == Some(files.len()) {
                *limit_hit = true;
                return Ok(());
            }
        }
        if !f.recurse {
            return Ok(());
        }
        if descend {
            // Depth first, in the order the folders were listed.
            for d in ds.iter().rev() {
                stack.push(d.rel.clone());
            }
        }
    }
    Ok(())
}

/// Ansible's `contentfilter`; an encoding error stops the path with Ansible's message.
fn content_ok(f: &Filters, path: &str, d: Option<&FileData>) -> Result<bool, String> {
    let Some(re) = &f.contains else {
        return Ok(true);
    };
    match d.and_then(|d| d.text.clone()) {
        Some(Ok(text)) => {
            if f.whole {
                return Ok(re.is_match(&text).unwrap_or(false));
            }
            Ok(text.split_inclusive('\n').any(|line| re.is_match(line).unwrap_or(false)))
        }
        Some(Err(true)) => {
            let enc = f.encoding.clone().unwrap_or_else(|| "None (default determined by the Python built-in function \"open\")".into());
            Err(format!("Failed to read the file {path} due to an encoding error. current encoding: {enc}"))
        }
        _ => Ok(false),
    }
}

fn stat_info(path: &str, e: &Entry) -> Map<String, Value> {
    let m = e.mode;
    let bit = |b: u32| json!(m & b != 0);
    let mut r = Map::new();
    r.insert("path".into(), json!(path));
    r.insert("mode".into(), json!(format!("{:04o}", m & 0o7777)));
    for (k, c) in [("isdir", 'd'), ("ischr", 'c'), ("isblk", 'b'), ("isreg", 'f'), ("isfifo", 'p'), ("islnk", 'l'), ("issock", 's')] {
        r.insert(k.into(), json!(e.kind == c));
    }
    r.insert("uid".into(), json!(e.uid));
    r.insert("gid".into(), json!(e.gid));
    r.insert("size".into(), json!(e.size));
    r.insert("inode".into(), json!(e.inode));
    r.insert("dev".into(), json!(e.dev));
    r.insert("nlink".into(), json!(e.nlink));
    r.insert("atime".into(), json!(e.atime));
    r.insert("mtime".into(), json!(e.mtime));
    r.insert("ctime".into(), json!(e.ctime));
    r.insert("gr_name".into(), json!(e.group));
    r.insert("pw_name".into(), json!(e.owner));
    for (k, b) in [
        ("wusr", 0o200),
        ("rusr", 0o400),
        ("xusr", 0o100),
        ("wgrp", 0o020),
        ("rgrp", 0o040),
        ("xgrp", 0o010),
        ("woth", 0o002),
        ("roth", 0o004),
        ("xoth", 0o001),
        ("isuid", 0o4000),
        ("isgid", 0o2000),
    ] {
        r.insert(k.into(), bit(b));
    }
    r
}

/// Records separated by NUL bytes.
fn records(out: &[u8]) -> impl Iterator<Item = &[u8]> {
    out.split(|b| *b == 0)
}

/// The script that lists every path; `max` is find's -maxdepth.
fn list_script(paths: &[String], follow: bool, max: Option<usize>) -> String {
    let fmt = "F%d\\t%y\\t%Y\\t%m\\t%s\\t%A@\\t%T@\\t%C@\\t%U\\t%G\\t%u\\t%g\\t%n\\t%i\\t%D\\t%P\\0";
    let opt = if follow { "-L" } else { "-H" };
    let max = max.map(|m| format!(" -maxdepth {m}")).unwrap_or_default();
    let mut s = String::from("export LC_ALL=C\ne=$(mktemp) || exit 1\nprintf 'T%s\\0' \"$(date +%s.%N)\"\n");
    for p in paths {
        let set = match p.strip_prefix('~') {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("p=\"$HOME\"{}", q(rest)),
            _ => format!("p={}", q(p)),
        };
        s += &format!(
            "{set}\nprintf 'P%s\\0' \"$p\"\nif [ -d \"$p\" ]; then find {opt} \"$p\" -mindepth 1{max} -printf '{fmt}' 2>\"$e\"; printf 'W%s\\0' \"$(cat \"$e\")\"; else printf 'N\\0'; fi\n"
        );
    }
    s + "rm -f \"$e\"\n"
}

fn parse_listing(out: &[u8]) -> (f64, Vec<Listing>) {
    let mut now = 0.0;
    let mut ls: Vec<Listing> = Vec::new();
    for rec in records(out) {
        let rec = String::from_utf8_lossy(rec);
        let (tag, body) = match rec.chars().next() {
            Some(c) => (c, &rec[1..]),
            None => continue,
        };
        match (tag, ls.last_mut()) {
            ('T', _) => now = body.trim().parse().unwrap_or(0.0),
            ('P', _) => ls.push(Listing { path: body.to_string(), is_dir: true, children: HashMap::new(), errors: vec![] }),
            ('N', Some(l)) => l.is_dir = false,
            ('F', Some(l)) => {
                if let Some(e) = parse_entry(body) {
                    let parent = e.rel.rsplit_once('/').map(|(p, _)| p.to_string()).unwrap_or_default();
                    l.children.entry(parent).or_default().push(e);
                }
            }
            ('W', Some(l)) => {
                for line in body.lines() {
                    // find: '/some/dir': Permission denied
                    let Some(rest) = line.strip_prefix("find: '") else { continue };
                    let Some((path, msg)) = rest.rsplit_once("': ") else { continue };
                    if let Some(text) = os_error(path, msg.trim()) {
                        l.errors.push((path.to_string(), text));
                    }
                }
            }
            _ => {}
        }
    }
    (now, ls)
}

/// Read the candidate files (decoded to UTF-8) and checksums, in one round trip.
async fn read_files(ctx: &TaskCtx, names: &[String], f: &Filters, algo: &str) -> Result<HashMap<String, FileData>, ModError> {
    let mut data = HashMap::new();
    if names.is_empty() {
        return Ok(data);
    }
    let enc = f.encoding.as_deref().filter(|e| !matches!(e.to_lowercase().replace(['-', '_'], "").as_str(), "utf8"));
    let mut s = String::from("t=$(mktemp) || exit 1\n");
    if let Some(e) = enc {
        s += &format!("iconv -f {} -t UTF-8 </dev/null >/dev/null 2>&1 || printf 'X\\0'\n", q(e));
    }
    for n in names {
        s += &format!("f={}\nprintf 'C\\0'\n", q(n));
        if f.contains.is_some() {
            let read = match enc {
                Some(e) => format!("iconv -f {} -t UTF-8 < \"$f\" > \"$t\" 2>/dev/null", q(e)),
                None => "cat -- \"$f\" > \"$t\"".into(),
            };
            s += &format!(
                "if [ -r \"$f\" ]; then if {read}; then printf 'R%s\\0' \"$(wc -c < \"$t\")\"; cat \"$t\"; else printf 'E\\0'; fi; else printf 'U\\0'; fi\n"
            );
        }
        if f.get_checksum {
            s += &format!("printf 'S%s\\0' \"$({algo}sum < \"$f\" 2>/dev/null | cut -d' ' -f1)\"\n");
        }
    }
    s += "rm -f \"$t\"\n";
    let r = ctx.sh(s).await?;
    let out = &r.stdout;
    let mut i = 0;
    let mut cur: Option<usize> = None;
    let next = |i: &mut usize| -> Option<String> {
        let end = out[*i..].iter().position(|b| *b == 0)? + *i;
        let rec = String::from_utf8_lossy(&out[*i..end]).into_owned();
        *i = end + 1;
        Some(rec)
    };
    let mut unknown = false;
    while let Some(rec) = next(&mut i) {
        match rec.chars().next() {
            Some('X') => unknown = true,
            Some('C') => cur = Some(cur.map_or(0, |c| c + 1)),
            Some('R') => {
                let n: usize = rec[1..].trim().parse().unwrap_or(0);
                let end = (i + n).min(out.len());
                let bytes = &out[i..end];
                i = end;
                let text = String::from_utf8(bytes.to_vec()).map(|t| t.replace("\r\n", "\n").replace('\r', "\n")).map_err(|_| true);
                if let Some(c) = cur {
                    data.entry(names[c].clone()).or_insert_with(FileData::default).text = Some(text);
                }
            }
            Some('E') | Some('U') => {
                if let Some(c) = cur {
                    data.entry(names[c].clone()).or_insert_with(FileData::default).text = Some(Err(rec.starts_with('E')));
                }
            }
            Some('S') => {
                if let Some(c) = cur {
                    data.entry(names[c].clone()).or_insert_with(FileData::default).checksum = Some(rec[1..].to_string());
                }
            }
            _ => {}
        }
    }
    if unknown {
        return Err(ModError::Fail(format!("unknown encoding: {}", enc.unwrap_or(""))));
    }
    Ok(data)
}

#[async_trait]
impl Module for Find {
    fn name(&self) -> &'static str {
        "find"
    }
    fn doc(&self) -> &'static str {
        include_str!("find.md")
    }
    fn args(&self) -> &'static [Arg] {
        ARGS
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        Ok(Plan::done(search(ctx, args).await?))
    }
}

/// The whole task is a look-up: nothing on the host changes.
async fn search(ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
    let paths = args.str_list("paths")?;
    let regex = args.bool("use_regex", false)?;
    let mut patterns = args.str_list("patterns")?;
    if patterns.is_empty() {
        patterns.push(if regex { ".*" } else { "*" }.into());
    }
    let excludes = args.str_list("excludes")?;
    let mode = match args.raw("mode") {
        None => None,
        Some(Value::String(s)) => Some(super::common::resolve_mode(s, 0, false)? & 0o7777),
        Some(v) => {
            return fail(format!(
                "argument 'mode' is not a string and conversion is not allowed, value is of type {}",
                crate::template::py_type_name(v)
            ))
        }
    };
    let age = match args.str("age")? {
        None => None,
        Some(a) => match parse_age(&a) {
            Some(v) => Some(v),
            None => return Ok(Outcome::failed("failed to process age").with("age", a)),
        },
    };
    let size = match args.str("size")? {
        None => None,
        Some(s) => match parse_size(&s) {
            Some(v) => Some(v),
            None => return Ok(Outcome::failed("failed to process size").with("size", s)),
        },
    };
    let limit = args.int("limit")?;
    if let Some(l) = limit.filter(|l| *l <= 0) {
        return fail(format!("limit cannot be {l} (use None for unlimited)"));
    }
    let contains = match args.str("contains")? {
        Some(c) => Some(
            PyRegex::anchored(&c, false, false, if args.bool("read_whole_file", false)? { PyAnchor::Search } else { PyAnchor::Match })
                .map_err(|e| ModError::Fail(e.to_string()))?,
        ),
        None => None,
    };
    let recurse = args.bool("recurse", false)?;
    let depth = args.int("depth")?.filter(|d| *d != 0).map(|d| d.max(0) as usize);
    let f = Filters {
        patterns: Patterns::new(&patterns, regex)?,
        excludes: if excludes.is_empty() { None } else { Some(Patterns::new(&excludes, regex)?) },
        file_type: args.str("file_type")?.unwrap_or_else(|| "file".into()),
        hidden: args.bool("hidden", false)?,
        age,
        age_stamp: args.str("age_stamp")?.unwrap_or_else(|| "mtime".into()),
        size,
        mode,
        exact_mode: args.bool("exact_mode", true)?,
        depth,
        recurse,
        limit: limit.map(|l| l as usize),
        contains,
        whole: args.bool("read_whole_file", false)?,
        encoding: args.str("encoding")?,
        get_checksum: args.bool("get_checksum", false)?,
    };
    let algo = args.str("checksum_algorithm")?.unwrap_or_else(|| "sha1".into());
    let max = if !recurse { Some(1) } else { depth.map(|d| d + 1) };
    let r = ctx.sh(list_script(&paths, args.bool("follow", false)?, max)).await?;
    let r = r.ok_or_fail("find failed")?;
    let (now, listings) = parse_listing(&r.stdout);

    // Files whose content or checksum may be needed.
    let mut wanted = Vec::new();
    if f.contains.is_some() || f.get_checksum {
        for l in listings.iter().filter(|l| l.is_dir) {
            for e in l.children.values().flatten() {
                if f.candidate(e, now) || (f.get_checksum && e.kind == 'f') {
                    wanted.push(normpath(&format!("{}/{}", l.path, e.rel)));
                }
            }
        }
    }
    let (data, enc_error) = match read_files(ctx, &wanted, &f, &algo).await {
        Ok(d) => (d, None),
        Err(ModError::Fail(m)) => (HashMap::new(), Some(m)),
        Err(e) => return Err(e),
    };

    let mut files = Vec::new();
    let mut skipped = Map::new();
    let mut warnings = Vec::new();
    let mut looked = 0;
    let mut limit_hit = false;
    for l in &listings {
        let result = if !l.is_dir {
            Err(format!("'{}' is not a directory", l.path))
        } else if let (Some(m), true) = (&enc_error, f.contains.is_some() && l.children.values().flatten().any(|e| f.candidate(e, now))) {
            Err(m.clone())
        } else {
            for (p, text) in &l.errors {
                skipped.insert(p.clone(), json!(text));
            }
            walk(l, &f, now, &data, &mut files, &mut looked, &mut limit_hit)
        };
        if let Err(e) = result {
            warnings.push(format!("Skipped '{}' path due to this access issue: {e}\n", l.path));
            skipped.insert(l.path.clone(), json!(e));
        }
    }
    let msg = if !warnings.is_empty() {
        "Not all paths examined, check warnings for details"
    } else if limit_hit {
        "Limit of matches reached"
    } else {
        "All paths examined"
    };
    let n = files.len();
    let mut out = Outcome::ok()
        .with("files", Value::Array(files))
        .with("matched", n)
        .with("examined", looked)
        .with("skipped_paths", Value::Object(skipped))
        .msg(msg);
    out.warnings = warnings;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_sizes_patterns() {
        assert_eq!(parse_age("2w"), Some(1_209_600));
        assert_eq!(parse_age("-3h"), Some(-10_800));
        assert_eq!(parse_age("3x"), None);
        assert_eq!(parse_size("10k"), Some(10_240));
        assert!(fnmatch("alice-*.tar.gz", "alice-1.tar.gz"));
        assert!(fnmatch("[a-c]?.txt", "b1.txt"));
        assert!(!fnmatch("[!a-c]?.txt", "b1.txt"));
        assert!(!fnmatch("*.XML", "a.xml"));
        assert_eq!(normpath("/a/b//c/"), "/a/b/c");
    }
}
