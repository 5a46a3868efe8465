//! `file`: a path's state (file, directory, link, hard, touch, absent) and its attributes.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::common::{self, attr_changes, probe, state_diff, Attrs, Probe};
use super::{fail, Arg, Args, ModError, Module, Outcome, TaskCtx};
use crate::template::shell_quote as q;

pub struct File;

const ARGS: &[Arg] = &[
    Arg::str("path", "the path to manage").aliases(&["dest", "name"]).required(),
    Arg::str("state", "file, directory, link, hard, touch or absent (default: what is there, or file)").choices(&[
        "file",
        "directory",
        "link",
        "hard",
        "touch",
        "absent",
    ]),
    Arg::str("src", "what a link points to (state=link or hard)"),
    Arg::bool("recurse", "apply owner, group and mode to a folder's contents too (state=directory)"),
    Arg::bool("force", "replace what is in the way of a link"),
    Arg::bool("follow", "follow links when setting attributes (default yes)"),
    Arg::str("modification_time", "touch: preserve, now, or YYYYMMDDHHMM.SS"),
    Arg::str("modification_time_format", "format of modification_time"),
    Arg::str("access_time", "touch: preserve, now, or YYYYMMDDHHMM.SS"),
    Arg::str("access_time_format", "format of access_time"),
];

#[async_trait]
impl Module for File {
    fn name(&self) -> &'static str {
        "file"
    }
    fn doc(&self) -> &'static str {
        "Make a path a file, a folder, a link or absent, with the owner, group and mode asked for.\n\nexample:\n  - file:\n      path: /srv/app/releases\n      state: directory\n      mode: \"0755\"\n  - file:\n      src: /srv/app/releases/1.4.2\n      dest: /srv/app/current\n      state: link\n"
    }
    fn args(&self) -> &'static [Arg] {
        ARGS
    }
    fn file_attrs(&self) -> bool {
        true
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let path = super::common::req_path(ctx, args, "path").await?;
        let path = if path.len() > 1 { path.trim_end_matches('/').to_string() } else { path };
        let attrs = Attrs::from_args(args)?;
        let follow = args.bool("follow", true)?;
        let p = probe(ctx, &path, None, false).await?;
        let state = match args.str("state")? {
            Some(s) => s,
            None => match p.lstat.as_ref() {
                Some(s) if s.is_dir() => "directory".into(),
                Some(s) if s.is_link() && !follow => "link".into(),
                Some(s) if s.is_link() => p.stat.as_ref().map(|s| s.state_name()).unwrap_or("link").into(),
                _ => "file".into(),
            },
        };
        let mut out = match state.as_str() {
            "absent" => absent(ctx, &path, &p).await?,
            "directory" => directory(ctx, args, &path, &p, &attrs, follow).await?,
            "link" | "hard" => link(ctx, args, &path, &p, &attrs, state == "hard").await?,
            "touch" => touch(ctx, args, &path, &p, &attrs, follow).await?,
            _ => file(ctx, &path, &p, &attrs, follow).await?,
        };
        out.data.insert("path".into(), json!(path));
        if !out.data.contains_key("state") {
            out.data.insert("state".into(), json!(state));
        }
        Ok(out)
    }
}

/// The two sides of a `file` task's diff, built up as it goes.
type StateDiff = (Map<String, Value>, Map<String, Value>);

/// Ansible's file module returns its diff with every result (so it is registered with or
/// without --diff): the path on both sides, then what differs. Under --diff a change shows it.
fn finish_diff(ctx: &TaskCtx, path: &str, out: &mut Outcome, d: StateDiff) {
    let side = |m: &Map<String, Value>| {
        let mut x: Map<String, Value> = [("path".to_string(), json!(path))].into_iter().collect();
        x.extend(m.clone());
        Value::Object(x)
    };
    out.data.insert("diff".into(), json!({"before": side(&d.0), "after": side(&d.1)}));
    if ctx.diff && out.changed {
        out.diffs.push(state_diff(path, d.0, d.1));
    }
}

/// Carry out attribute changes (not in check mode), folding them into the diff being built.
async fn apply(ctx: &TaskCtx, path: &str, ch: common::AttrChanges, out: &mut Outcome, d: &mut StateDiff) -> Result<(), ModError> {
    d.0.extend(ch.before.clone());
    d.1.extend(ch.after.clone());
    ch.execute(ctx, path, out).await.map(|_| ())
}

/// Fill the result's path fields: from a state already known (the probe, when nothing changed,
/// or what a change printed), else by looking once more.
async fn refresh(ctx: &TaskCtx, path: &str, out: &mut Outcome, follow: bool, known: Option<&common::Stat>) -> Result<(), ModError> {
    let fresh;
    let st = match known {
        Some(st) => Some(st),
        None if ctx.check => None,
        None => {
            fresh = probe(ctx, path, None, false).await?;
            fresh.effective(follow)
        }
    };
    if let Some(st) = st {
        for (k, v) in common::path_result(path, Some(st), "path") {
            if k != "state" {
                out.data.insert(k, v);
            }
        }
    }
    Ok(())
}

async fn absent(ctx: &TaskCtx, path: &str, p: &Probe) -> Result<Outcome, ModError> {
    let mut out = Outcome::ok();
    if p.exists {
        out.changed = true;
        let before: Map<String, Value> =
            [("state".to_string(), json!(p.lstat.as_ref().map(|s| s.state_name()).unwrap_or("file")))].into_iter().collect();
        let after: Map<String, Value> = [("state".to_string(), json!("absent"))].into_iter().collect();
        finish_diff(ctx, path, &mut out, (before, after));
        if !ctx.check {
            let r = ctx.sh(format!("rm -rf -- {}", q(path))).await?;
            if r.rc != 0 {
                return fail(format!("rmtree failed: {}", r.stderr_str().trim()));
            }
        }
    }
    Ok(out)
}

async fn file(ctx: &TaskCtx, path: &str, p: &Probe, attrs: &Attrs, follow: bool) -> Result<Outcome, ModError> {
    let Some(st) = p.effective(follow) else {
        return Ok(Outcome::failed(format!("file ({path}) is absent, cannot continue")).with("path", path).with("state", "absent"));
    };
    if st.is_dir() {
        return Ok(Outcome::failed(format!("{path} is a directory, cannot continue as state=file")));
    }
    let mut out = Outcome::ok();
    let mut d: StateDiff = Default::default();
    apply(ctx, path, attr_changes(path, Some(st), attrs, false, follow)?, &mut out, &mut d).await?;
    finish_diff(ctx, path, &mut out, d);
    out.data.extend(common::path_result(path, Some(st), "path"));
    let known = if out.changed { None } else { Some(st) };
    refresh(ctx, path, &mut out, follow, known).await?;
    Ok(out)
}

async fn directory(ctx: &TaskCtx, args: &Args, path: &str, p: &Probe, attrs: &Attrs, follow: bool) -> Result<Outcome, ModError> {
    let mut out = Outcome::ok();
    let mut created = None;
    let mut d: StateDiff = Default::default();
    match p.effective(follow) {
        Some(st) if st.is_dir() => {
            apply(ctx, path, attr_changes(path, Some(st), attrs, true, follow)?, &mut out, &mut d).await?;
        }
        Some(_) => {
            return Ok(Outcome::failed(format!("There is a file in the way: {path} exists and is not a directory")).with("path", path))
        }
        None => {
            out.changed = true;
            d.0.insert("state".into(), json!("absent"));
            d.1.insert("state".into(), json!("directory"));
            if !ctx.check {
                // As Ansible, folders created on the way get the same owner, group and mode.
                let mut each = String::new();
                if let Some(m) = &attrs.mode {
                    each += &format!("chmod {:04o} \"$d\" || exit 1; ", common::resolve_mode(m, 0o755, true)?);
                }
                if let Some(o) = &attrs.owner {
                    each += &format!("chown {} \"$d\" || exit 1; ", q(o));
                }
                if let Some(g) = &attrs.group {
                    each += &format!("chgrp {} \"$d\" || exit 1; ", q(g));
                }
                let script = format!(
                    "p={0}; set --; while [ ! -e \"$p\" ] && [ \"$p\" != / ] && [ \"$p\" != . ]; do set -- \"$p\" \"$@\"; p=$(dirname \"$p\"); done\nmkdir -p -- {0} || exit 1\nfor d in \"$@\"; do {each}:; done\n{1}",
                    q(path),
                    common::stat_after(path)
                );
                let r = ctx.sh(script).await?;
                if r.rc != 0 {
                    return fail(format!("There was an issue creating {path} as requested: {}", r.stderr_str().trim()));
                }
                created = common::parse_probe(&r.stdout).lstat;
            }
        }
    }
    if args.bool("recurse", false)? && !attrs.is_empty() {
        // Apply owner/group/mode below the folder; report a change only if something differed.
        let mut check = String::new();
        let mut apply = String::new();
        if let Some(o) = &attrs.owner {
            check += &format!("find {0} ! -user {1} -print -quit;", q(path), q(o));
            apply += &format!("chown -R {} -- {};", q(o), q(path));
        }
        if let Some(g) = &attrs.group {
            check += &format!("find {0} ! -group {1} -print -quit;", q(path), q(g));
            apply += &format!("chgrp -R {} -- {};", q(g), q(path));
        }
        if let Some(m) = &attrs.mode {
            if m.chars().all(|c| c.is_ascii_digit()) {
                check += &format!("find {0} ! -perm {1} -print -quit;", q(path), q(&format!("{:o}", common::resolve_mode(m, 0, true)?)));
            } else {
                check += &format!("find {0} -print -quit;", q(path));
            }
            apply += &format!("chmod -R {} -- {};", q(m), q(path));
        }
        let r = ctx.sh(check).await?;
        if !r.stdout_str().trim().is_empty() {
            out.changed = true;
            if !ctx.check {
                let r = ctx.sh(apply).await?;
                if r.rc != 0 {
                    return fail(format!("cannot set attributes under {path}: {}", r.stderr_str().trim()));
                }
            }
        }
    }
    finish_diff(ctx, path, &mut out, d);
    let known = match &created {
        Some(c) if !args.bool("recurse", false)? => Some(c),
        _ if !out.changed => p.effective(follow),
        _ => None,
    };
    refresh(ctx, path, &mut out, follow, known).await?;
    Ok(out)
}

async fn link(ctx: &TaskCtx, args: &Args, path: &str, p: &Probe, attrs: &Attrs, hard: bool) -> Result<Outcome, ModError> {
    // Without src, a link that is there stays as it is (its attributes may still change).
    let is_link = p.lstat.as_ref().is_some_and(|s| s.is_link());
    let (src, shown_src) = match (args.str("src")?, &p.link_target) {
        (Some(s), _) => (s.clone(), json!(s)),
        (None, Some(t)) if !hard && is_link => {
            // As Ansible: with follow and a target that exists, src is the link's target.
            let shown = if args.bool("follow", true)? && p.stat.is_some() { json!(t) } else { Value::Null };
            (t.clone(), shown)
        }
        (None, _) => {
            return fail(if hard { "src is required for creating new hardlinks" } else { "src is required for creating new symlinks" })
        }
    };
    let force = args.bool("force", false)?;
    let mut out = Outcome::ok();
    let mut d: StateDiff = Default::default();
    let current_ok = if hard {
        let s = probe(ctx, &src, None, false).await?;
        match (p.lstat.as_ref(), s.lstat.as_ref()) {
            (Some(x), Some(y)) => x.inode == y.inode && x.dev == y.dev,
            _ => false,
        }
    } else {
        p.lstat.as_ref().is_some_and(|s| s.is_link()) && p.link_target.as_deref() == Some(src.as_str())
    };
    if !current_ok {
        if let Some(st) = &p.lstat {
            if st.is_dir() && !force {
                return Ok(Outcome::failed(format!(
                    "refusing to convert from directory to {} for {path}",
                    if hard { "hard" } else { "symlink" }
                )));
            }
            if st.is_file() && !force && !hard {
                return Ok(Outcome::failed(format!("refusing to convert from file to symlink for {path}")));
            }
        }
        // Ansible refuses a link to a missing source unless forced; a relative source resolves
        // from the link's folder. The check runs with the change, in the same round trip.
        let base = if src.starts_with('/') { src.clone() } else { format!("{}/{src}", common::parent_dir(path)) };
        let src_check = if !hard && !force {
            format!("if [ ! -e {0} ] && [ ! -L {0} ]; then echo STEWARD-NOSRC; exit 3; fi; ", q(&base))
        } else {
            String::new()
        };
        let missing_src = || {
            Ok(Outcome::failed(format!("src file does not exist, use \"force=yes\" if you really want to create the link: {base}"))
                .with("path", path)
                .with("src", src.clone()))
        };
        if ctx.check && !src_check.is_empty() && ctx.sh(format!("{src_check}:")).await?.rc != 0 {
            return missing_src();
        }
        out.changed = true;
        match (&p.lstat, &p.link_target) {
            // A link pointed elsewhere: the state stays, its source changes.
            (Some(st), Some(old)) if st.is_link() && !hard => {
                d.0.insert("src".into(), json!(old));
                d.1.insert("src".into(), json!(src));
            }
            _ => {
                d.0.insert("state".into(), json!(p.lstat.as_ref().map(|s| s.state_name()).unwrap_or("absent")));
                d.1.insert("state".into(), json!(if hard { "hard" } else { "link" }));
            }
        }
        if !ctx.check {
            let flag = if hard { "-f" } else { "-sfn" };
            let rm = if p.lstat.as_ref().is_some_and(|s| s.is_dir() && !s.is_link()) {
                format!("rm -rf -- {} && ", q(path))
            } else {
                String::new()
            };
            let dir = common::parent_dir(path);
            let cmd = format!(
                "{src_check}{rm}t={}/.steward-link.$$ && ln {flag} -- {} \"$t\" && mv -f{} -- \"$t\" {}",
                q(&dir),
                q(&src),
                if hard { "" } else { "T" },
                q(path)
            );
            let r = ctx.sh(&cmd).await?;
            if r.stdout_str().contains("STEWARD-NOSRC") {
                return missing_src();
            }
            if r.rc != 0 {
                // BusyBox mv has no -T; fall back to ln alone.
                let r2 = ctx.sh(format!("{rm}ln {flag} -- {} {}", q(&src), q(path))).await?;
                if r2.rc != 0 {
                    return fail(format!("Error while linking: {}", r2.stderr_str().trim()));
                }
            }
        }
    }
    if !attrs.is_empty() && !ctx.check {
        let now = probe(ctx, path, None, false).await?;
        // With follow (the default) the attributes are the link target's, as chmod on Linux
        // changes the target anyway; comparing the link's own 0777 would change every run.
        let follow = !hard && args.bool("follow", true)?;
        if follow && now.lstat.as_ref().is_some_and(|s| s.is_link()) && now.stat.is_none() {
            // A link to nothing: there is nothing to give the attributes to.
            out.warnings
                .push("Cannot set fs attributes on a non-existent symlink target. follow should be set to False to avoid this.".into());
        } else {
            let st = if follow { now.stat.as_ref().or(now.lstat.as_ref()) } else { now.lstat.as_ref() };
            apply(ctx, path, attr_changes(path, st, attrs, false, follow)?, &mut out, &mut d).await?;
        }
    }
    finish_diff(ctx, path, &mut out, d);
    out.data.insert("src".into(), shown_src);
    out.data.insert("dest".into(), json!(path));
    Ok(out)
}

/// A time `modification_time` or `access_time` asks for.
#[derive(Debug, PartialEq)]
enum Stamp {
    Preserve,
    Now,
    /// Local time on the host, as `touch -d` reads it (Ansible's `time.mktime`).
    At(String),
}

impl Stamp {
    fn of(args: &Args, key: &str) -> Result<Stamp, ModError> {
        let given = args.str(key)?.unwrap_or_else(|| "now".into());
        let format = args.str(&format!("{key}_format"))?.unwrap_or_else(|| "%Y%m%d%H%M.%S".into());
        Ok(match given.as_str() {
            "preserve" => Stamp::Preserve,
            "now" => Stamp::Now,
            _ => Stamp::At(local_time(&given, &format).ok_or_else(|| {
                ModError::Fail(format!(
                    "Error while obtaining timestamp for time {given} using format {format}: time data '{given}' does not match format '{format}'"
                ))
            })?),
        })
    }
}

/// `text` read with the strptime `format`, written as `YYYY-MM-DD HH:MM:SS`.
fn local_time(text: &str, format: &str) -> Option<String> {
    let (cs, cf) = (std::ffi::CString::new(text).ok()?, std::ffi::CString::new(format).ok()?);
    // SAFETY: an all-zero `tm` is a valid value of this plain C struct.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: valid C strings and a zeroed tm.
    let end = unsafe { libc::strptime(cs.as_ptr(), cf.as_ptr(), &mut tm) };
    // SAFETY: `end` points into `cs` when not null.
    if end.is_null() || unsafe { *end } != 0 {
        return None;
    }
    Some(format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec))
}

/// The shell commands that give `path` the times asked for (after it exists).
fn stamp_commands(path: &str, mtime: &Stamp, atime: &Stamp) -> Vec<String> {
    match (mtime, atime) {
        (Stamp::Now, Stamp::Now) => vec![format!("touch -- {}", q(path))],
        _ => [("-m", mtime), ("-a", atime)]
            .into_iter()
            .filter_map(|(flag, stamp)| match stamp {
                Stamp::Preserve => None,
                Stamp::Now => Some(format!("touch {flag} -- {}", q(path))),
                Stamp::At(t) => Some(format!("touch {flag} -d {} -- {}", q(t), q(path))),
            })
            .collect(),
    }
}

async fn touch(ctx: &TaskCtx, args: &Args, path: &str, p: &Probe, attrs: &Attrs, follow: bool) -> Result<Outcome, ModError> {
    let mtime = Stamp::of(args, "modification_time")?;
    let atime = Stamp::of(args, "access_time")?;
    let explicit = matches!(mtime, Stamp::At(_)) || matches!(atime, Stamp::At(_));
    let moves = matches!(mtime, Stamp::Now) || matches!(atime, Stamp::Now);
    let mut out = Outcome::ok();
    let mut d: StateDiff = Default::default();
    if !p.exists {
        out.changed = true;
        d.0.insert("state".into(), json!("absent"));
        d.1.insert("state".into(), json!("touch"));
    } else if moves || (explicit && ctx.check) {
        // Ansible reports a touch of an existing file as a change: its times move.
        out.changed = true;
        d.0.insert("state".into(), json!(p.lstat.as_ref().map(|s| s.state_name()).unwrap_or("file")));
        d.1.insert("state".into(), json!("touch"));
    }
    if !ctx.check && (p.exists || out.changed) {
        let mut steps = Vec::new();
        if !p.exists {
            steps.push(format!("touch -- {}", q(path)));
        }
        steps.extend(stamp_commands(path, &mtime, &atime));
        // Times given outright change the file only when they differ from what it had.
        let times = format!("stat -c '%Y %X' -- {}", q(path));
        let cmd = match (explicit, p.exists) {
            (true, true) => format!("before=$({times}) && {} && [ \"$before\" != \"$({times})\" ] && echo moved; true", steps.join(" && ")),
            _ if steps.is_empty() => ":".into(),
            _ => steps.join(" && "),
        };
        let r = ctx.sh(cmd).await?;
        if r.rc != 0 {
            return fail(format!("Error, could not touch target: {}", r.stderr_str().trim()));
        }
        if explicit && p.exists && r.stdout_str().trim() == "moved" && !out.changed {
            out.changed = true;
            d.0.insert("state".into(), json!(p.lstat.as_ref().map(|s| s.state_name()).unwrap_or("file")));
            d.1.insert("state".into(), json!("touch"));
        }
    }
    if !ctx.check {
        let now = probe(ctx, path, None, false).await?;
        apply(ctx, path, attr_changes(path, now.effective(follow), attrs, false, follow)?, &mut out, &mut d).await?;
    }
    finish_diff(ctx, path, &mut out, d);
    refresh(ctx, path, &mut out, follow, None).await?;
    out.data.insert("dest".into(), json!(path));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_with_strptime_formats() {
        assert_eq!(local_time("202001011200.0", "%Y%m%d%H%M.%S").as_deref(), Some("2020-01-01 12:00:00"));
        assert_eq!(local_time("2020-03-04", "%Y-%m-%d").as_deref(), Some("2020-03-04 00:00:00"));
        assert_eq!(local_time("garbage", "%Y%m%d%H%M.%S"), None);
    }

    #[test]
    fn touch_sets_only_the_times_asked_for() {
        let at = Stamp::At("2020-01-01 12:00:00".into());
        assert_eq!(stamp_commands("/f", &Stamp::Now, &Stamp::Now), ["touch -- /f"]);
        assert_eq!(stamp_commands("/f", &at, &Stamp::Preserve), ["touch -m -d '2020-01-01 12:00:00' -- /f"]);
        assert_eq!(stamp_commands("/f", &Stamp::Preserve, &Stamp::Now), ["touch -a -- /f"]);
        assert!(stamp_commands("/f", &Stamp::Preserve, &Stamp::Preserve).is_empty());
    }
}
