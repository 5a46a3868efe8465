//! `find`: files on the host by name pattern, type, age, size or content, in one round trip
//! (GNU find prints each entry's facts; the patterns are matched on the controller).

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::{fail, Arg, Args, ModError, Module, Outcome, TaskCtx};
use crate::connection::ssh::config::glob_match;
use crate::template::shell_quote as q;

pub struct Find;

/// `1d`, `2w`, `-3h`, `30` (seconds) as seconds; a negative age means "younger than".
fn parse_age(s: &str) -> Result<i64, ModError> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len()));
    let n: i64 = num.parse().map_err(|_| ModError::Fail(format!("failed to process age {s}")))?;
    let mult = match unit.to_lowercase().as_str() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        "w" => 604800,
        _ => return fail(format!("failed to process age {s}")),
    };
    Ok(n * mult)
}

/// `10k`, `-2m`, `1g`, `512` (bytes) as bytes; a negative size means "smaller than".
fn parse_size(s: &str) -> Result<i64, ModError> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len()));
    let n: i64 = num.parse().map_err(|_| ModError::Fail(format!("failed to process size {s}")))?;
    let mult: i64 = match unit.to_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1024,
        "m" | "mb" => 1024 * 1024,
        "g" | "gb" => 1024 * 1024 * 1024,
        "t" | "tb" => 1024i64.pow(4),
        _ => return fail(format!("failed to process size {s}")),
    };
    Ok(n * mult)
}

fn matches(name: &str, patterns: &[String], regex: bool) -> Result<bool, ModError> {
    if regex {
        for p in patterns {
            let re = regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| ModError::Fail(format!("bad pattern {p}: {e}")))?;
            if re.is_match(name) {
                return Ok(true);
            }
        }
        Ok(false)
    } else {
        Ok(patterns.iter().any(|p| glob_match(p, name)))
    }
}

#[async_trait]
impl Module for Find {
    fn name(&self) -> &'static str {
        "find"
    }
    fn doc(&self) -> &'static str {
        "Find files on the host by name (globs or regexes), type, age, size or content; the list comes\n\
         back in `files` (path, size, mode, mtime, owner, ...).\n\n\
         example:\n  - find:\n      paths: /var/log\n      patterns: \"*.log\"\n      age: 2w\n      recurse: true\n    register: old_logs\n"
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::list("paths", "folders to search").aliases(&["name", "path"]).required(),
            Arg::list("patterns", "base-name patterns (globs, or regexes with use_regex); default all").aliases(&["pattern"]),
            Arg::list("excludes", "base-name patterns to leave out").aliases(&["exclude"]),
            Arg::str("contains", "a regex a file's content must match"),
            Arg::bool("use_regex", "patterns are regexes, not globs"),
            Arg::bool("recurse", "descend into folders"),
            Arg::int("depth", "how deep to descend, with recurse"),
            Arg::str("file_type", "file (default), directory, link or any").choices(&["file", "directory", "link", "any"]),
            Arg::bool("hidden", "include names starting with a dot"),
            Arg::str("age", "older than this (1d, 2w, 3h; negative: younger)"),
            Arg::str("age_stamp", "mtime (default), atime or ctime").choices(&["mtime", "atime", "ctime"]),
            Arg::str("size", "larger than this (10k, 1m; negative: smaller)"),
            Arg::bool("follow", "follow links"),
            Arg::bool("get_checksum", "accepted; checksums are not computed"),
            Arg::str("read_whole_file", "accepted for compatibility"),
        ];
        A
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let paths = args.str_list("paths")?;
        let patterns = args.str_list("patterns")?;
        let excludes = args.str_list("excludes")?;
        let regex = args.bool("use_regex", false)?;
        let recurse = args.bool("recurse", false)?;
        let hidden = args.bool("hidden", false)?;
        let ftype = args.str("file_type")?.unwrap_or_else(|| "file".into());
        let age = args.str("age")?.map(|a| parse_age(&a)).transpose()?;
        let size = args.str("size")?.map(|s| parse_size(&s)).transpose()?;
        let stamp = match args.str("age_stamp")?.as_deref() {
            Some("atime") => "%A@",
            Some("ctime") => "%C@",
            _ => "%T@",
        };
        let depth = if recurse { args.int("depth")?.map(|d| format!(" -maxdepth {d}")).unwrap_or_default() } else { " -maxdepth 1".into() };
        let follow = if args.bool("follow", false)? { "-L " } else { "" };
        let mut script = String::from("date +%s\n");
        for p in &paths {
            script += &format!(
                "if [ -d {0} ]; then find {follow}{0} -mindepth 1{depth} -printf '%y\\t%m\\t%s\\t{stamp}\\t%U\\t%G\\t%u\\t%g\\t%n\\t%i\\t%p\\n'; else echo \"SKIP\\t\"{0}; fi\n",
                q(p)
            );
        }
        let r = ctx.sh(script).await?;
        let text = r.stdout_str();
        let mut lines = text.lines();
        let now: f64 = lines.next().and_then(|l| l.trim().parse().ok()).unwrap_or(0.0);
        let mut files = Vec::new();
        let mut skipped = Map::new();
        let mut examined = 0;
        for line in lines {
            if let Some(p) = line.strip_prefix("SKIP\t") {
                skipped.insert(
                    p.to_string(),
                    json!(format!("{p} was skipped as it does not seem to be a valid directory or it cannot be accessed")),
                );
                continue;
            }
            let f: Vec<&str> = line.splitn(11, '\t').collect();
            if f.len() < 11 {
                continue;
            }
            examined += 1;
            let path = f[10];
            let base = path.rsplit('/').next().unwrap_or(path);
            let kind = f[0];
            let type_ok = match ftype.as_str() {
                "file" => kind == "f",
                "directory" => kind == "d",
                "link" => kind == "l",
                _ => true,
            };
            if !type_ok || (!hidden && base.starts_with('.')) {
                continue;
            }
            if !patterns.is_empty() && !matches(base, &patterns, regex)? {
                continue;
            }
            if !excludes.is_empty() && matches(base, &excludes, regex)? {
                continue;
            }
            let mtime: f64 = f[3].parse().unwrap_or(0.0);
            if let Some(a) = age {
                let old = now - mtime;
                if (a >= 0 && old < a as f64) || (a < 0 && old > (-a) as f64) {
                    continue;
                }
            }
            let sz: i64 = f[2].parse().unwrap_or(0);
            if let Some(s) = size {
                if (s >= 0 && sz < s) || (s < 0 && sz > -s) {
                    continue;
                }
            }
            let mode = u32::from_str_radix(f[1], 8).unwrap_or(0);
            files.push(json!({
                "path": path,
                "mode": format!("{mode:04o}"),
                "isdir": kind == "d",
                "isreg": kind == "f",
                "islnk": kind == "l",
                "size": sz,
                "mtime": mtime,
                "uid": f[4].parse::<i64>().unwrap_or(0),
                "gid": f[5].parse::<i64>().unwrap_or(0),
                "pw_name": f[6],
                "gr_name": f[7],
                "nlink": f[8].parse::<i64>().unwrap_or(0),
                "inode": f[9].parse::<i64>().unwrap_or(0),
            }));
        }
        if let Some(c) = args.str("contains")? {
            let names: Vec<String> = files.iter().filter(|f| f["isreg"] == json!(true)).filter_map(|f| f["path"].as_str().map(q)).collect();
            let hits: Vec<String> = if names.is_empty() {
                vec![]
            } else {
                let r = ctx.sh(format!("grep -lE -- {} {} 2>/dev/null; true", q(&c), names.join(" "))).await?;
                r.stdout_str().lines().map(str::to_string).collect()
            };
            files.retain(|f| f["path"].as_str().is_some_and(|p| hits.iter().any(|h| h == p)));
        }
        let n = files.len();
        Ok(Outcome::ok()
            .with("files", Value::Array(files))
            .with("matched", n)
            .with("examined", examined)
            .with("skipped_paths", Value::Object(skipped))
            .msg("All paths examined"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_sizes_patterns() {
        assert_eq!(parse_age("2w").unwrap(), 1_209_600);
        assert_eq!(parse_age("-3h").unwrap(), -10_800);
        assert_eq!(parse_size("10k").unwrap(), 10_240);
        assert!(matches("alice-1.tar.gz", &["alice-*.tar.gz".into()], false).unwrap());
        assert!(matches("app.log", &[r"\w+\.log".into()], true).unwrap());
        assert!(!matches("app.log.1", &[r"\w+\.log".into()], true).unwrap());
    }
}
