//! `file`: a path's state (file, directory, link, hard, touch, absent) and its attributes.
//!
//! It follows Ansible's file module step by step, since playbooks (and Ansible's own tests)
//! depend on its exact results: the state a path is in (`get_state`: absent, link, directory,
//! hard when a file has more than one name, else file), the path rewritten into a folder that
//! is in the way, one function per state, owner, group, mode and `attributes` set one after
//! the other as `set_fs_attributes_if_different` does (each adds to the diff), times set
//! after them, and the result's path fields filled from the path as it ends up. Everything
//! runs as POSIX shell and coreutils on the host; a link or file replaced is made under a
//! temporary name and renamed into place.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::common::{parse_probe, probe_script, resolve_mode, Attrs, Probe, Stat};
use super::{Arg, Args, Change, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

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
    Arg::bool("recurse", "apply owner, group and mode to a folder's contents too (state=directory)").default("false"),
    Arg::bool("force", "replace what is in the way of a link").default("false"),
    Arg::bool("follow", "follow links when setting attributes").default("true"),
    Arg::str("modification_time", "preserve, now, or a time in modification_time_format (default: now for touch, else preserve)"),
    Arg::str("modification_time_format", "strptime format of modification_time").default("%Y%m%d%H%M.%S"),
    Arg::str("access_time", "preserve, now, or a time in access_time_format (default: now for touch, else preserve)"),
    Arg::str("access_time_format", "strptime format of access_time").default("%Y%m%d%H%M.%S"),
    Arg::str("attributes", "file attributes as chattr takes them (=flags, +flags, -flags)").aliases(&["attr"]),
];

#[async_trait]
impl Module for File {
    fn name(&self) -> &'static str {
        "file"
    }
    fn doc(&self) -> &'static str {
        include_str!("file.md")
    }
    fn args(&self) -> &'static [Arg] {
        ARGS
    }
    fn first_probe(&self, args: &Args, _diff: bool) -> Option<super::ProbeKey> {
        let path = super::common::literal_path(args, "path")?;
        // A link's probe also asks whether its source exists.
        let linked = args.str("state").ok().flatten().as_deref() == Some("link") && args.has("src") && !args.bool("force", false).unwrap_or(true);
        (!linked).then(|| look_key(&path))
    }
    fn file_attrs(&self) -> bool {
        true
    }
    /// The module as Ansible's runs in check mode: every look-up, nothing changed. When that
    /// predicts a change, the step left for `apply` is the state function again, for real, on
    /// what the plan found (the path, its state, the owner and group looked up).
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let run = Run::new(ctx, args, true).await?;
        let (result, ready) = match run.prepare(args).await {
            Ok(Prep::Ready(r)) => (run.dispatch(&r).await, Some(r)),
            Ok(Prep::Done(d)) => (Ok(*d), None),
            Err(e) => (Err(e), None),
        };
        let out = finish(ctx, &run, result).await?;
        // Check mode warns about users and groups a real run would fail on or find by then:
        // the real run's result is its own.
        let unknown = [&run.owner, &run.group].iter().any(|w| w.as_ref().is_some_and(|x| !x.known));
        let mut plan = Plan::done(out);
        if let Some(r) = ready {
            let cut_short = run.cut_short.load(std::sync::atomic::Ordering::Relaxed);
            if plan.outcome.changed || cut_short || (unknown && r.state != "absent") {
                plan.changes.push(Change::own(*r));
            }
        }
        Ok(plan)
    }
    /// The state function, changing the host this time. A mode asked for a link itself
    /// (follow=false) is a change in the prediction only: here Linux leaves the link as it is,
    /// and the result is unchanged, as in Ansible.
    async fn apply(&self, ctx: &TaskCtx, args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        let Some(ready) = plan.own::<Ready>().next() else {
            return Ok(plan.outcome);
        };
        let run = Run::again(ctx, args, ready)?;
        let result = run.dispatch(ready).await;
        finish(ctx, &run, result).await
    }
}

/// A state function's result as the module's: the path fields added, the diff.
async fn finish(ctx: &TaskCtx, run: &Run<'_>, result: Step<Done>) -> Result<Outcome, ModError> {
    let (mut data, changed, failed, known, diff) = match result {
        Ok(r) => (r.data, r.changed, None, r.seen, r.diff),
        Err(Stop::Fail(msg, fields)) => (fields, false, Some(msg), None, None),
        Err(Stop::Error(e)) => return Err(e),
    };
    add_path_info(ctx, &mut data, known).await?;
    let mut out = match failed {
        Some(msg) => Outcome::failed(msg),
        None => Outcome::changed(changed),
    };
    if let Some(d) = diff {
        // Ansible's file module returns its diff as a mapping (`diff.before.src`), and only in
        // diff mode, which the executor decides.
        out.diff_result = Some(d.to_value());
        if changed {
            out.diffs.push(d.display());
        }
    }
    out.data = data;
    out.warnings = run.warnings.lock().map(|w| w.clone()).unwrap_or_default();
    Ok(out)
}

/// Why a state function stopped early: Ansible's `fail_json` (message and fields), or an
/// error of steward's own (the host went away).
enum Stop {
    Fail(String, Map<String, Value>),
    Error(ModError),
}

impl From<ModError> for Stop {
    fn from(e: ModError) -> Stop {
        match e {
            ModError::Fail(m) => Stop::Fail(m, Map::new()),
            other => Stop::Error(other),
        }
    }
}

type Step<T> = Result<T, Stop>;

fn bail<T>(msg: impl Into<String>, fields: &[(&str, Value)]) -> Step<T> {
    Err(Stop::Fail(msg.into(), fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()))
}

/// A state function's result: changed, the fields it returns, and its diff.
struct Done {
    changed: bool,
    data: Map<String, Value>,
    diff: Option<Diff>,
    /// The result's path as it is now, when already known (saves looking again).
    seen: Option<Seen>,
}

impl Done {
    fn new(changed: bool, fields: &[(&str, Value)], diff: Option<Diff>) -> Done {
        Done { changed, data: fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(), diff, seen: None }
    }
    fn seen(mut self, seen: Option<Seen>) -> Done {
        self.seen = seen;
        self
    }
}

/// The two sides of a diff, each starting with the path (Ansible's `initial_diff`).
#[derive(Clone, Debug, Default)]
struct Diff {
    before: Map<String, Value>,
    after: Map<String, Value>,
}

impl Diff {
    fn initial(path: &str, state: &str, prev: &str) -> Diff {
        let mut d = Diff::default();
        d.before.insert("path".into(), json!(path));
        d.after.insert("path".into(), json!(path));
        if prev != state {
            d.set("state", json!(prev), json!(state));
        }
        d
    }
    fn set(&mut self, key: &str, before: Value, after: Value) {
        self.before.insert(key.into(), before);
        self.after.insert(key.into(), after);
    }
    fn to_value(&self) -> Value {
        json!({"before": self.before, "after": self.after})
    }
    /// As the diff callback shows a dict diff: JSON, indented, keys sorted, no headers.
    fn display(&self) -> super::FileDiff {
        let text = |m: &Map<String, Value>| crate::pytext::py_json(&Value::Object(m.clone()), Some(4), true) + "\n";
        super::FileDiff { before: text(&self.before), after: text(&self.after), ..Default::default() }
    }
}

/// A path as the module sees it: `lstat`, `stat`, the link's target, and the path with
/// every link resolved (Python's `os.path.realpath`).
#[derive(Clone, Debug, Default)]
struct Seen {
    p: Probe,
    real: String,
}

impl Seen {
    /// Ansible's `get_state`.
    fn state(&self) -> &'static str {
        match &self.p.lstat {
            None => "absent",
            Some(l) if l.is_link() => "link",
            Some(l) if l.is_dir() => "directory",
            Some(_) if self.p.stat.as_ref().is_some_and(|s| s.nlink > 1) => "hard",
            Some(_) => "file",
        }
    }
    /// `os.path.exists`: what the path leads to exists.
    fn exists(&self) -> bool {
        self.p.stat.is_some()
    }
    fn is_link(&self) -> bool {
        self.p.lstat.as_ref().is_some_and(Stat::is_link)
    }
    /// `os.path.isdir`, following links.
    fn is_dir(&self) -> bool {
        self.p.stat.as_ref().is_some_and(Stat::is_dir)
    }
}

/// The probe of a path, and where it really leads when it is a link (only a link's real path
/// is ever used, so no other path pays for the extra process).
fn look_script(path: &str) -> String {
    format!(
        "{}if [ -L {p} ]; then printf 'REAL %s\\n' \"$(readlink -m -- {p} 2>/dev/null || readlink -f -- {p} 2>/dev/null || printf %s {p})\"; fi\n",
        probe_script(path, None, false),
        p = q(path)
    )
}

fn parse_look(path: &str, out: &[u8]) -> Seen {
    seen(path, parse_probe(out))
}

fn seen(path: &str, p: Probe) -> Seen {
    let real = p.real.clone().unwrap_or_else(|| path.to_string());
    Seen { p, real }
}

async fn look(ctx: &TaskCtx, path: &str) -> Result<Seen, ModError> {
    if let Some(p) = ctx.probe(look_key(path)).await? {
        return Ok(seen(path, p));
    }
    let r = ctx.sh_look(look_script(path)).await?;
    Ok(parse_look(path, &r.stdout))
}

fn look_key(path: &str) -> super::ProbeKey {
    super::ProbeKey { path: path.to_string(), sum: None, content: false, real: true }
}

/// Marks where one path's probe ends in [`look_all`]'s output.
const NEXT_PATH: &str = "STEWARD-NEXT-PATH";

/// `before` (shell that may stop the script), then a look at each path, in one round trip.
/// Gives the output before the first look, and each path's state.
async fn look_all(ctx: &TaskCtx, before: &str, paths: &[String]) -> Result<(String, Vec<Seen>), ModError> {
    let mut script = before.to_string();
    for p in paths {
        script += &format!("echo {NEXT_PATH}\n{}", look_script(p));
    }
    let r = if before.is_empty() { ctx.sh_look(script).await? } else { ctx.sh_change(script).await? };
    let out = r.stdout_str();
    let marker = format!("{NEXT_PATH}\n");
    let mut parts = out.split(marker.as_str());
    let head = parts.next().unwrap_or("").to_string();
    let seen = paths.iter().zip(parts).map(|(p, text)| parse_look(p, text.as_bytes())).collect();
    Ok((head, seen))
}

/// `os.path.join` of two paths.
fn join(a: &str, b: &str) -> String {
    if b.starts_with('/') || a.is_empty() {
        b.to_string()
    } else if a.ends_with('/') {
        format!("{a}{b}")
    } else {
        format!("{a}/{b}")
    }
}

/// `os.path.dirname`.
fn dirname(p: &str) -> String {
    match p.rfind('/') {
        None => String::new(),
        Some(i) => {
            let head = &p[..=i];
            let trimmed = head.trim_end_matches('/');
            if trimmed.is_empty() {
                head.to_string()
            } else {
                trimmed.to_string()
            }
        }
    }
}

/// `os.path.basename`.
fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// A user or group asked for, and its number on the host if it has one there.
#[derive(Clone, Debug)]
struct Who {
    spec: String,
    id: Option<u32>,
    /// Whether the host's user (group) database has it.
    known: bool,
}

/// Look an owner and a group up on the host (`getpwnam`/`getgrnam`, or the number given).
async fn resolve(ctx: &TaskCtx, owner: Option<&str>, group: Option<&str>) -> Result<(Option<Who>, Option<Who>), ModError> {
    if owner.is_none() && group.is_none() {
        return Ok((None, None));
    }
    let entry = |db: &str, key: &str, tag: &str| {
        format!(
            "printf '{tag} %s\\n' \"$( (getent {db} {k} 2>/dev/null || awk -F: -v k={k} '$1 == k || $3 == k' /etc/{db}) | head -n 1)\"\n",
            k = q(key)
        )
    };
    let mut script = String::new();
    if let Some(o) = owner {
        script += &entry("passwd", o, "PW");
    }
    if let Some(g) = group {
        script += &entry("group", g, "GR");
    }
    let r = ctx.sh_look(script).await?;
    let text = r.stdout_str();
    let who = |spec: Option<&str>, tag: &str| {
        spec.map(|s| {
            let line = text.lines().find_map(|l| l.strip_prefix(tag)).unwrap_or("").trim_start();
            let found: Option<u32> = line.split(':').nth(2).and_then(|x| x.parse().ok());
            match s.parse::<u32>() {
                Ok(n) => Who { spec: s.to_string(), id: Some(n), known: found.is_some() },
                Err(_) => Who { spec: s.to_string(), id: found, known: found.is_some() },
            }
        })
    };
    Ok((who(owner, "PW "), who(group, "GR ")))
}

/// A time `modification_time` or `access_time` asks for (Ansible's `get_timestamp_for_time`).
#[derive(Clone, Debug, PartialEq)]
enum Stamp {
    Preserve,
    Now,
    /// Seconds since the epoch, the host's local time read (Python's `time.mktime`).
    At(f64),
}

/// `text` read with the strptime `format`, written as `YYYY-MM-DD HH:MM:SS` (for `date -d`).
fn local_time(text: &str, format: &str) -> Option<String> {
    let (cs, cf) = (std::ffi::CString::new(text).ok()?, std::ffi::CString::new(format).ok()?);
    // SAFETY: an all-zero `tm` is a valid value of this plain C struct.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    tm.tm_mday = 1;
    // SAFETY: valid C strings and an initialised tm.
    let end = unsafe { libc::strptime(cs.as_ptr(), cf.as_ptr(), &mut tm) };
    // SAFETY: `end` points into `cs` when not null.
    if end.is_null() || unsafe { *end } != 0 {
        return None;
    }
    Some(format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec))
}

/// Everything one run of the module keeps: the host, what is asked, warnings so far.
struct Run<'a> {
    ctx: &'a TaskCtx,
    owner: Option<Who>,
    group: Option<Who>,
    mode: Option<String>,
    attributes: Option<String>,
    warnings: std::sync::Mutex<Vec<String>>,
    /// Check mode's run: look, decide, change nothing (a path to be made counts as made).
    predict: bool,
    /// The prediction stopped where only check mode stops (Ansible's `check_mode and not
    /// os.path.exists`: a link to nothing): a real run goes on (to warn), so it must run.
    cut_short: std::sync::atomic::AtomicBool,
}

/// What [`Run::prepare`] found: the state function to run and everything it starts from.
struct Ready {
    path: String,
    seen: Seen,
    state: String,
    src: Option<String>,
    follow: bool,
    force: bool,
    recurse: bool,
    times: (Stamp, Stamp),
    /// Which of a link's possible sources exist.
    existing: Vec<String>,
    owner: Option<Who>,
    group: Option<Who>,
}

/// Either the result already (`_diff_peek`), or a state function to run.
enum Prep {
    Done(Box<Done>),
    Ready(Box<Ready>),
}

/// One command of a change, and the message the task fails with when it does.
struct Cmd {
    sh: String,
    msg: String,
    path: String,
    /// Whether the failure carries the command's output as `details` (chmod and chattr do;
    /// chown and chgrp give only their message).
    details: bool,
}

impl<'a> Run<'a> {
    async fn new(ctx: &'a TaskCtx, args: &Args, predict: bool) -> Result<Run<'a>, ModError> {
        let attrs = Attrs::from_args(args)?;
        let (owner, group) = resolve(ctx, attrs.owner.as_deref(), attrs.group.as_deref()).await?;
        Ok(Run { ctx, owner, group, mode: attrs.mode, attributes: args.str("attributes")?, warnings: Default::default(), predict, cut_short: Default::default() })
    }

    /// The real run after a plan, with the owner and group it looked up.
    fn again(ctx: &'a TaskCtx, args: &Args, ready: &Ready) -> Result<Run<'a>, ModError> {
        let attrs = Attrs::from_args(args)?;
        Ok(Run {
            ctx,
            owner: ready.owner.clone(),
            group: ready.group.clone(),
            mode: attrs.mode,
            attributes: args.str("attributes")?,
            warnings: Default::default(),
            predict: false,
            cut_short: Default::default(),
        })
    }

    fn warn(&self, w: impl Into<String>) {
        if let Ok(mut ws) = self.warnings.lock() {
            ws.push(w.into());
        }
    }

    fn check(&self) -> bool {
        self.predict
    }

    fn any_attrs(&self) -> bool {
        self.owner.is_some() || self.group.is_some() || self.mode.is_some() || self.attributes.is_some()
    }

    /// Everything before the state function: the arguments, the path and its state (a folder
    /// in the way rewrites it), the times asked for.
    async fn prepare(&self, args: &Args) -> Step<Prep> {
        let ctx = self.ctx;
        let mut path = super::common::expand_home(ctx, &args.req_str("path")?).await?;
        let src = match args.str("src")? {
            Some(s) => Some(super::common::expand_home(ctx, &s).await?),
            None => None,
        };
        let recurse = args.bool("recurse", false)?;
        let force = args.bool("force", false)?;
        let follow = args.bool("follow", true)?;
        let mut state = args.str("state")?;

        // A folder in the way of anything but a link (or absent) means the path inside it.
        // For a link, whether its source exists is asked in the same round trip (for either
        // folder it may be relative to).
        let src_candidates: Vec<String> = match (&src, state.as_deref(), force) {
            (Some(s), Some("link"), false) => vec![join(&path, s), join(&dirname(&path), s)],
            _ => vec![],
        };
        let (mut seen, existing) = if src_candidates.is_empty() {
            (look(ctx, &path).await?, Vec::new())
        } else {
            let mut script = look_script(&path);
            for c in &src_candidates {
                script += &format!("if [ -e {0} ]; then printf 'EXISTS %s\\n' {0}; fi\n", q(c));
            }
            let r = ctx.sh_look(script).await?;
            let existing: Vec<String> = r.stdout_str().lines().filter_map(|l| l.strip_prefix("EXISTS ")).map(str::to_string).collect();
            (parse_look(&path, &r.stdout), existing)
        };
        if !matches!(state.as_deref(), Some("link" | "absent")) && seen.is_dir() {
            let base = match (args.str("_original_basename")?, &src) {
                (Some(b), _) if !b.is_empty() => Some(b),
                (_, Some(s)) if !basename(s).is_empty() => Some(basename(s).to_string()),
                _ => None,
            };
            if let Some(b) = base {
                path = join(&path, &b);
                seen = look(ctx, &path).await?;
            }
        }
        let prev = seen.state();
        let state = match state.take() {
            Some(s) => s,
            None if prev != "absent" => prev.to_string(),
            None if recurse => "directory".into(),
            None => "file".into(),
        };
        if recurse && state != "directory" {
            return bail("recurse option requires state to be 'directory'", &[("path", json!(path))]);
        }
        if src.is_some() && !matches!(state.as_str(), "link" | "hard") {
            return bail("src option requires state to be 'link' or 'hard'", &[("path", json!(path))]);
        }
        if state != "absent" {
            self.warn_unknown_ids();
        }

        // Times not given stay as they are, except that touch moves them to now.
        let stamp = |key: &str| -> Step<(String, String)> {
            let given = args.str(key)?.unwrap_or_else(|| if state == "touch" { "now" } else { "preserve" }.into());
            let format = args.str(&format!("{key}_format"))?.unwrap_or_else(|| "%Y%m%d%H%M.%S".into());
            Ok((given, format))
        };
        let mtime = stamp("modification_time")?;
        let atime = stamp("access_time")?;

        if args.raw("_diff_peek").is_some() {
            let r = ctx.sh(format!("head -c 8192 -- {} 2>/dev/null | tr -d -c '\\000' | wc -c", q(&path))).await?;
            let binary = r.stdout_str().trim().parse::<u64>().unwrap_or(0) > 0;
            return Ok(Prep::Done(Box::new(Done::new(false, &[("path", json!(path)), ("appears_binary", json!(binary))], None))));
        }
        let times =
            if state == "absent" { (Stamp::Preserve, Stamp::Preserve) } else { (self.stamp(&mtime).await?, self.stamp(&atime).await?) };
        let (owner, group) = (self.owner.clone(), self.group.clone());
        Ok(Prep::Ready(Box::new(Ready { path, seen, state, src, follow, force, recurse, times, existing, owner, group })))
    }

    /// The state function (in check mode, or for real).
    async fn dispatch(&self, r: &Ready) -> Step<Done> {
        let (path, seen, src, times) = (&r.path, r.seen.clone(), r.src.clone(), &r.times);
        match r.state.as_str() {
            "absent" => self.absent(path, &seen).await,
            "touch" => self.touch(path, &seen, r.follow, times).await,
            "directory" => self.directory(path, seen, r.follow, r.recurse, times).await,
            "link" => self.symlink(path, seen, src, r.follow, r.force, times, &r.existing).await,
            "hard" => self.hardlink(path, seen, src, r.follow, r.force, times).await,
            _ => self.file(path, seen, r.follow, times).await,
        }
    }

    /// Check mode cannot create the user or group a later task would: warn as Ansible does
    /// (only the plan prepares, so only the prediction has the warning).
    fn warn_unknown_ids(&self) {
        for (who, kind) in [(&self.owner, "user"), (&self.group, "group")] {
            if let Some(x) = who.as_ref().filter(|x| !x.known) {
                let with = match (x.spec.parse::<u32>().is_ok(), kind) {
                    (false, _) => "",
                    (true, "user") => "with uid ",
                    (true, _) => "with gid ",
                };
                self.warn(format!("failed to look up {kind} {with}{}. Create {kind} up to this point in real play", x.spec));
            }
        }
    }

    /// A time as Ansible reads it (`get_timestamp_for_time`); one given outright becomes
    /// seconds since the epoch in the host's time zone.
    async fn stamp(&self, (given, format): &(String, String)) -> Step<Stamp> {
        let failed = |why: String| bail(format!("Error while obtaining timestamp for time {given} using format {format}: {why}"), &[]);
        match given.as_str() {
            "preserve" => Ok(Stamp::Preserve),
            "now" => Ok(Stamp::Now),
            _ => {
                let Some(local) = local_time(given, format) else {
                    return failed(format!("time data '{given}' does not match format '{format}'"));
                };
                let r = self.ctx.sh(format!("date -d {} +%s", q(&local))).await?;
                match r.stdout_str().trim().parse::<f64>() {
                    Ok(t) if r.rc == 0 => Ok(Stamp::At(t)),
                    _ => failed(r.stderr_str().trim().to_string()),
                }
            }
        }
    }

    /// Run a change's commands in one round trip, stopping at the first that fails.
    async fn exec(&self, cmds: Vec<Cmd>) -> Step<()> {
        if cmds.is_empty() {
            return Ok(());
        }
        let mut script = String::new();
        for (i, c) in cmds.iter().enumerate() {
            script += &format!("e=$( {{ {}; }} 2>&1 ) || {{ printf 'STEWARD-STEP {i} %s' \"$e\"; exit 1; }}\n", c.sh);
        }
        let r = self.ctx.sh(script).await?;
        if r.rc == 0 {
            return Ok(());
        }
        let text = r.stdout_str();
        let (i, detail) = text
            .rsplit_once("STEWARD-STEP ")
            .and_then(|(_, rest)| rest.split_once(' ').map(|(i, d)| (i.parse::<usize>().ok(), d.trim().to_string())))
            .unwrap_or((None, r.stderr_str().trim().to_string()));
        let c = i.and_then(|i| cmds.get(i)).unwrap_or(&cmds[0]);
        if c.details {
            bail(c.msg.clone(), &[("path", json!(c.path)), ("details", json!(detail))])
        } else {
            bail(c.msg.clone(), &[("path", json!(c.path))])
        }
    }

    /// Ansible's `set_fs_attributes_if_different` for `path` as `st` (its lstat) shows it:
    /// owner, group, mode, then attributes, each added to the diff. In check mode a path that
    /// is not there would be created, so any attribute asked for is a change.
    async fn set_attrs(&self, path: &str, st: Option<&Stat>, exists: bool, diff: Option<&mut Diff>, changed: bool) -> Step<bool> {
        let (ch, cmds) = self.plan_attrs(path, st, exists, diff, changed).await?;
        self.exec(cmds).await?;
        Ok(ch)
    }

    /// What [`Run::set_attrs`] does, as commands not yet run.
    async fn plan_attrs(
        &self,
        path: &str,
        st: Option<&Stat>,
        exists: bool,
        mut diff: Option<&mut Diff>,
        mut changed: bool,
    ) -> Step<(bool, Vec<Cmd>)> {
        let mut cmds = Vec::new();
        if !self.any_attrs() {
            return Ok((changed, cmds));
        }
        if self.check() && !exists {
            return Ok((true, cmds));
        }
        let Some(st) = st else {
            return bail(format!("[Errno 2] No such file or directory: '{path}'"), &[("path", json!(path))]);
        };
        let cmd = |sh: String, msg: &str| Cmd {
            sh,
            msg: msg.to_string(),
            path: path.to_string(),
            details: matches!(msg, "chmod failed" | "chattr failed"),
        };
        for (who, key, cur, tool, what) in
            [(&self.owner, "owner", st.uid, "chown", "user"), (&self.group, "group", st.gid, "chgrp", "group")]
        {
            let Some(w) = who else { continue };
            let Some(id) = w.id else {
                return bail(format!("{tool} failed: failed to look up {what} {}", w.spec), &[("path", json!(path))]);
            };
            if id != cur {
                if let Some(d) = diff.as_deref_mut() {
                    d.set(key, json!(cur), json!(id));
                }
                changed = true;
                if !self.check() {
                    cmds.push(cmd(format!("{tool} -h {id} -- {}", q(path)), &format!("{tool} failed")));
                }
            }
        }
        if let Some(m) = &self.mode {
            let prev = st.mode & 0o7777;
            // An octal number, else a symbolic mode applied to the current one.
            let octal = if m.chars().all(|c| c.is_ascii_digit()) { u32::from_str_radix(m, 8).ok() } else { None };
            let Some(want) = octal.or_else(|| resolve_mode(m, st.mode, st.is_dir()).ok()) else {
                return bail(
                    "mode must be in octal or symbolic form",
                    &[("path", json!(path)), ("details", json!(format!("bad symbolic permission for mode: {m}")))],
                );
            };
            if want > 0o7777 {
                return bail("Invalid mode supplied, only permission info is allowed", &[("path", json!(path)), ("details", json!(want))]);
            }
            if want != prev {
                if let Some(d) = diff.as_deref_mut() {
                    d.set("mode", json!(format!("0{prev:03o}")), json!(format!("0{want:03o}")));
                }
                if self.check() {
                    changed = true;
                } else if !st.is_link() {
                    // Linux has no mode of a link's own: there Ansible's chmod leaves all as it was.
                    cmds.push(cmd(format!("chmod {want:04o} -- {}", q(path)), "chmod failed"));
                    changed = true;
                }
            }
        }
        if let Some(spec) = &self.attributes {
            let (op, flags) = match spec.chars().next() {
                Some(c @ ('+' | '-')) => (c, &spec[1..]),
                _ => ('=', spec.as_str()),
            };
            if !flags.is_empty() {
                let r = self.ctx.sh(format!("lsattr -d -- {} 2>/dev/null", q(path))).await?;
                let existing =
                    if r.rc == 0 { r.stdout_str().split_whitespace().next().unwrap_or("").replace('-', "") } else { String::new() };
                if existing != flags || op == '-' {
                    changed = true;
                    if let Some(d) = diff {
                        let before = if r.rc == 0 { json!(existing) } else { Value::Null };
                        d.set("attributes", before, json!(format!("{op}{flags}")));
                    }
                    if !self.check() {
                        cmds.push(cmd(
                            format!(
                                "c=$(command -v chattr) || exit 0; out=$(\"$c\" {} -- {} 2>&1) && [ -z \"$out\" ] || {{ echo \"Error while setting attributes: $out\"; false; }}",
                                q(&format!("{op}{flags}")),
                                q(path)
                            ),
                            "chattr failed",
                        ));
                    }
                }
            }
        }
        Ok((changed, cmds))
    }

    /// Ansible's `update_timestamp_for_file` (times are those of what a link points to).
    async fn set_times(&self, path: &str, times: &(Stamp, Stamp), diff: Option<&mut Diff>) -> Step<bool> {
        let (m, a) = times;
        if *m == Stamp::Preserve && *a == Stamp::Preserve {
            return Ok(false);
        }
        let p = q(path);
        let r = self.ctx.sh(format!("stat -L -c '%.9Y %.9X' -- {p} && date +%s.%N")).await?;
        let nums: Vec<f64> = r.stdout_str().split_whitespace().filter_map(|x| x.parse().ok()).collect();
        if r.rc != 0 || nums.len() < 3 {
            return bail(format!("Error while updating modification or access time: {}", r.stderr_str().trim()), &[("path", json!(path))]);
        }
        let (pm, pa, now) = (nums[0], nums[1], nums[2]);
        let resolve = |s: &Stamp, prev: f64| match s {
            Stamp::Preserve => prev,
            Stamp::Now => now,
            Stamp::At(t) => *t,
        };
        let (nm, na) = (resolve(m, pm), resolve(a, pa));
        let both_now = *m == Stamp::Now && *a == Stamp::Now;
        if !both_now && nm == pm && na == pa {
            return Ok(false);
        }
        if !self.check() {
            let cmd = if both_now {
                format!("touch -- {p}")
            } else {
                let mut parts = Vec::new();
                for (flag, s, t) in [("-m", m, nm), ("-a", a, na)] {
                    match s {
                        Stamp::Preserve => {}
                        Stamp::Now => parts.push(format!("touch -c {flag} -- {p}")),
                        Stamp::At(_) => parts.push(format!("touch -c {flag} -d @{t} -- {p}")),
                    }
                }
                parts.join(" && ")
            };
            let r = self.ctx.sh(cmd).await?;
            if r.rc != 0 {
                return bail(
                    format!("Error while updating modification or access time: {}", r.stderr_str().trim()),
                    &[("path", json!(path))],
                );
            }
        }
        if let Some(d) = diff {
            if nm != pm {
                d.set("mtime", json!(pm), json!(nm));
            }
            if na != pa {
                d.set("atime", json!(pa), json!(na));
            }
        }
        Ok(true)
    }

    /// Attributes, then times: what every state does last, to `path` as `known` shows it
    /// (else as it looks now). Returns whether anything changed, and the path's state when
    /// still right for the result's path fields (times are not among them).
    async fn finish_attrs(
        &self,
        path: &str,
        known: Option<Seen>,
        times: &(Stamp, Stamp),
        diff: &mut Diff,
        changed: bool,
    ) -> Step<(bool, Option<Seen>)> {
        // Nothing to set: no need to look.
        if !self.any_attrs() && times.0 == Stamp::Preserve && times.1 == Stamp::Preserve {
            return Ok((changed, known));
        }
        let seen = match known {
            Some(s) => s,
            None => look(self.ctx, path).await?,
        };
        let attrs = self.set_attrs(path, seen.p.lstat.as_ref(), seen.exists(), Some(diff), false).await?;
        let times = self.set_times(path, times, Some(diff)).await?;
        let still = self.check() || !attrs;
        Ok((changed || attrs || times, still.then_some(seen)))
    }

    async fn absent(&self, path: &str, seen: &Seen) -> Step<Done> {
        let prev = seen.state();
        if prev == "absent" {
            return Ok(Done::new(false, &[("path", json!(path)), ("state", json!("absent"))], None).seen(Some(seen.clone())));
        }
        let mut diff = Diff::initial(path, "absent", prev);
        if prev == "directory" {
            let entries = walk(self.ctx, path).await?;
            let (mut dirs, mut files) = (Vec::new(), Vec::new());
            for e in walk_order(path, &entries) {
                if e.leads_to_dir() {
                    dirs.push(json!(e.path));
                } else {
                    files.push(json!(e.path));
                }
            }
            diff.before.insert("path_content".into(), json!({"directories": dirs, "files": files}));
        }
        if !self.check() {
            let r = if prev == "directory" {
                self.ctx.sh(format!("rm -rf -- {}", q(path))).await?
            } else {
                self.ctx.sh(format!("rm -f -- {}", q(path))).await?
            };
            if r.rc != 0 {
                if prev == "directory" {
                    return bail(format!("rmtree failed: {}", r.stderr_str().trim()), &[]);
                }
                return bail("Unlinking failed.", &[("path", json!(path)), ("details", json!(r.stderr_str().trim()))]);
            }
        }
        let now = if self.check() { seen.clone() } else { Seen { real: path.to_string(), ..Default::default() } };
        Ok(Done::new(true, &[("path", json!(path)), ("state", json!("absent"))], Some(diff)).seen(Some(now)))
    }

    async fn touch(&self, path: &str, seen: &Seen, follow: bool, times: &(Stamp, Stamp)) -> Step<Done> {
        let prev = seen.state();
        let mut changed = false;
        if prev == "absent" {
            if self.check() {
                // Nothing there yet: the result has no path fields to look for.
                return Ok(Done::new(true, &[("dest", json!(path))], None).seen(Some(seen.clone())));
            }
            let r = self.ctx.sh(format!(": >> {}", q(path))).await?;
            if r.rc != 0 {
                return bail("Error, could not touch target.", &[("path", json!(path)), ("details", json!(r.stderr_str().trim()))]);
            }
            changed = true;
        }
        let mut diff = Diff::initial(path, "touch", prev);
        let target = if follow && seen.is_link() { seen.real.clone() } else { path.to_string() };
        let known = (prev != "absent" && target == path).then(|| seen.clone());
        let result = self.finish_attrs(&target, known, times, &mut diff, changed).await;
        match result {
            Ok((changed, now)) => Ok(Done::new(changed, &[("dest", json!(path))], Some(diff)).seen(now)),
            Err(Stop::Fail(msg, mut fields)) if prev == "absent" => {
                // A file this run created goes again when it cannot be given what was asked
                // (the failure still describes it, as it was when the module failed).
                add_path_info(self.ctx, &mut fields, None).await?;
                self.ctx.sh(format!("rm -f -- {}", q(path))).await?;
                Err(Stop::Fail(msg, fields))
            }
            Err(e) => Err(e),
        }
    }

    /// With `follow`, a link stands for what it leads to: that path, as it looks now.
    async fn through_link(&self, path: &str, seen: Seen, follow: bool) -> Step<(String, Seen)> {
        if seen.state() == "link" && follow {
            let real = seen.real.clone();
            let there = look(self.ctx, &real).await?;
            return Ok((real, there));
        }
        Ok((path.to_string(), seen))
    }

    async fn file(&self, path: &str, seen: Seen, follow: bool, times: &(Stamp, Stamp)) -> Step<Done> {
        let (path, seen) = self.through_link(path, seen, follow).await?;
        let prev = seen.state();
        if !matches!(prev, "file" | "hard") {
            return bail(format!("file ({path}) is {prev}, cannot continue"), &[("path", json!(path)), ("state", json!(prev))]);
        }
        let mut diff = Diff::initial(&path, "file", prev);
        let (changed, now) = self.finish_attrs(&path, Some(seen), times, &mut diff, false).await?;
        Ok(Done::new(changed, &[("path", json!(path))], Some(diff)).seen(now))
    }

    async fn directory(&self, path: &str, seen: Seen, follow: bool, recurse: bool, times: &(Stamp, Stamp)) -> Step<Done> {
        let (path, seen) = self.through_link(path, seen, follow).await?;
        let prev = seen.state();
        let mut diff = Diff::initial(&path, "directory", prev);
        if prev == "absent" {
            if self.check() {
                return Ok(Done::new(true, &[("path", json!(path))], Some(diff)).seen(Some(seen)));
            }
            // Each folder made on the way gets the owner, group and mode asked for.
            let mut prefixes = Vec::new();
            let mut cur = String::new();
            for part in path.trim_matches('/').split('/').filter(|s| !s.is_empty()) {
                cur = if cur.is_empty() && !path.starts_with('/') { part.to_string() } else { format!("{cur}/{part}") };
                prefixes.push(cur.clone());
            }
            // One round trip: shell tests find the missing folders, each is made and looked at.
            let mut make = String::new();
            for m in &prefixes {
                make += &format!(
                    "if [ ! -e {0} ] && [ ! -L {0} ]; then e=$(mkdir -- {0} 2>&1) || [ -d {0} ] || {{ printf 'STEWARD-MKDIR %s\\n%s\\n' {0} \"$e\"; exit 1; }}; echo {NEXT_PATH}; printf 'MADE %s\\n' {0}\n{1}fi\n",
                    q(m),
                    probe_script(m, None, false)
                );
            }
            let r = self.ctx.sh_change(make).await?;
            let out = r.stdout_str();
            if let Some(rest) = out.split_once("STEWARD-MKDIR ").map(|(_, r)| r) {
                let (which, err) = rest.split_once('\n').unwrap_or((rest, ""));
                return bail(format!("There was an issue creating {which} as requested: {}", err.trim()), &[("path", json!(path))]);
            }
            let marker = format!("{NEXT_PATH}\n");
            let (missing, made): (Vec<String>, Vec<Seen>) = out
                .split(marker.as_str())
                .skip(1)
                .filter_map(|part| {
                    let (first, rest) = part.split_once('\n')?;
                    let m = first.strip_prefix("MADE ")?.to_string();
                    Some((m.clone(), Seen { p: parse_probe(rest.as_bytes()), real: m }))
                })
                .unzip();
            let mut changed = false;
            let mut cmds = Vec::new();
            for (m, seen) in missing.iter().zip(&made) {
                changed = true;
                let (ch, more) = self.plan_attrs(m, seen.p.lstat.as_ref(), seen.exists(), Some(&mut diff), changed).await?;
                changed = ch;
                cmds.extend(more);
            }
            // What was made is as the last look saw it, unless attributes or times changed since.
            let unchanged_since = cmds.is_empty() && times.0 == Stamp::Preserve && times.1 == Stamp::Preserve;
            self.exec(cmds).await?;
            if !missing.is_empty() {
                changed |= self.set_times(&path, times, Some(&mut diff)).await?;
            }
            let last = made.last().filter(|_| unchanged_since && missing.last() == Some(&path)).cloned();
            return Ok(Done::new(changed, &[("path", json!(path))], Some(diff)).seen(last));
        }
        if prev != "directory" {
            return bail(format!("{path} already exists as a {prev}"), &[("path", json!(path))]);
        }
        let (mut changed, mut now) = self.finish_attrs(&path, Some(seen), times, &mut diff, false).await?;
        if recurse && self.recurse(&path, follow, times, 0).await? {
            // A link below may lead back to the folder itself.
            changed = true;
            now = None;
        }
        Ok(Done::new(changed, &[("path", json!(path))], Some(diff)).seen(now))
    }

    /// Ansible's `recursive_set_attributes`: everything below `top`, links themselves, and
    /// with `follow` what they point to (a folder's contents too).
    async fn recurse(&self, top: &str, follow: bool, times: &(Stamp, Stamp), depth: usize) -> Step<bool> {
        if depth > 40 {
            return bail(format!("Could not recursively set attributes on {top}. Original error was: 'too many levels of links'"), &[]);
        }
        let entries = walk(self.ctx, top).await?;
        let mut changed = false;
        let mut cmds = Vec::new();
        let timed = !(times.0 == Stamp::Preserve && times.1 == Stamp::Preserve);
        for e in walk_order(top, &entries) {
            let (ch, c) = self.plan_attrs(&e.path, Some(&e.st), e.target_kind != 'N', None, changed).await?;
            changed = ch;
            cmds.extend(c);
            if timed {
                self.exec(std::mem::take(&mut cmds)).await?;
                changed |= self.set_times(&e.path, times, None).await?;
            }
            if follow && e.st.is_link() && e.target_kind != 'N' && e.target_kind != 'L' {
                self.exec(std::mem::take(&mut cmds)).await?;
                let target = join(&dirname(&e.path), &e.link);
                if e.target_kind == 'd' {
                    changed |= Box::pin(self.recurse(&target, follow, times, depth + 1)).await?;
                }
                let t = look(self.ctx, &target).await?;
                changed = self.set_attrs(&target, t.p.lstat.as_ref(), t.exists(), None, changed).await?;
                changed |= self.set_times(&target, times, None).await?;
            }
        }
        self.exec(cmds).await?;
        Ok(changed)
    }

    #[allow(clippy::too_many_arguments)]
    async fn symlink(
        &self,
        path: &str,
        seen: Seen,
        src: Option<String>,
        follow: bool,
        force: bool,
        times: &(Stamp, Stamp),
        existing: &[String],
    ) -> Step<Done> {
        let prev = seen.state();
        // Without src, an existing link is kept as it points (its attributes may change).
        let src = match src {
            None if follow && seen.exists() => match &seen.p.link_target {
                Some(t) => Some(t.clone()),
                None => return bail(format!("[Errno 22] Invalid argument: '{path}'"), &[("path", json!(path))]),
            },
            s => s,
        };
        let relpath = if !seen.is_link() && seen.is_dir() { path.to_string() } else { dirname(path) };
        if let (Some(s), false) = (&src, force) {
            let absrc = join(&relpath, s);
            let exists =
                if existing.is_empty() && !s.is_empty() { look(self.ctx, &absrc).await?.exists() } else { existing.contains(&absrc) };
            if !exists {
                return bail(
                    format!("src file does not exist, use 'force=yes' if you really want to create the link: {absrc}"),
                    &[("path", json!(path)), ("src", json!(s))],
                );
            }
        }
        match prev {
            "directory" if !force => {
                return bail(format!("refusing to convert from {prev} to symlink for {path}"), &[("path", json!(path))])
            }
            "directory" => {
                let r = self.ctx.sh(format!("ls -A -- {} | head -n 1", q(path))).await?;
                if !r.stdout_str().trim().is_empty() {
                    return bail(format!("the directory {path} is not empty, refusing to convert it"), &[("path", json!(path))]);
                }
            }
            "file" | "hard" if !force => {
                return bail(format!("refusing to convert from {prev} to symlink for {path}"), &[("path", json!(path))])
            }
            _ => {}
        }
        let mut diff = Diff::initial(path, "link", prev);
        let mut changed = false;
        if prev == "link" {
            if let (Some(s), Some(old)) = (&src, &seen.p.link_target) {
                if old != s {
                    diff.set("src", json!(old), json!(s));
                    changed = true;
                }
            }
        } else {
            if src.is_none() {
                return bail("src is required for creating new symlinks", &[]);
            }
            changed = true;
        }
        let src_v = src.as_ref().map_or(Value::Null, |s| json!(s));
        let made = if changed && !self.check() {
            let s = q(src.as_deref().unwrap_or_default());
            let p = q(path);
            let script = if prev == "absent" {
                format!("ln -s -- {s} {p}")
            } else {
                // Made under a temporary name beside it, then renamed over what was there.
                let rmdir = if prev == "directory" { format!("rmdir -- {p} && ") } else { String::new() };
                let dir = dirname(path);
                let tmp = join(&dir, &format!(".{}.{}.tmp", std::process::id(), super::common::random_name()));
                let t = q(&tmp);
                format!("{rmdir}ln -s -- {s} {t} && {{ mv -fT -- {t} {p} 2>/dev/null || mv -f -- {t} {p} || {{ rm -f -- {t}; false; }}; }}")
            };
            // The change and a look at its result in one round trip.
            let guarded = format!("e=$( {{ {script}; }} 2>&1 ) || {{ printf 'STEWARD-FAILED %s\\n' \"$e\"; exit 1; }}\n");
            let (head, mut seen) = look_all(self.ctx, &guarded, &[path.to_string()]).await?;
            if let Some((_, err)) = head.split_once("STEWARD-FAILED ") {
                let what = if prev == "absent" { "Error while linking" } else { "Error while replacing" };
                return bail(format!("{what}: {}", err.trim()), &[("path", json!(path))]);
            }
            seen.pop()
        } else {
            None
        };
        // Nothing was changed on the host: it is as the first look saw it.
        let now = match made {
            Some(s) => s,
            None => seen.clone(),
        };
        if self.check() && !now.exists() {
            self.cut_short.store(true, std::sync::atomic::Ordering::Relaxed);
            return Ok(Done::new(changed, &[("dest", json!(path)), ("src", src_v)], Some(diff)).seen(Some(now)));
        }
        let target = if follow && now.is_link() { now.real.clone() } else { path.to_string() };
        let (changed, now) = if follow && now.is_link() && !now.exists() {
            // A link to nothing has no attributes to set: Ansible warns and carries on.
            self.warn(DANGLING);
            (changed, Some(now))
        } else if target == path {
            self.finish_attrs(&target, Some(now), times, &mut diff, changed).await?
        } else {
            // Attributes go to what the link leads to; the link itself stays as seen.
            let (changed, _) = self.finish_attrs(&target, None, times, &mut diff, changed).await?;
            (changed, Some(now))
        };
        Ok(Done::new(changed, &[("dest", json!(path)), ("src", src_v)], Some(diff)).seen(now))
    }

    async fn hardlink(&self, path: &str, seen: Seen, src: Option<String>, follow: bool, force: bool, times: &(Stamp, Stamp)) -> Step<Done> {
        let prev = seen.state();
        // Attributes go to what the path is now (a link's target when followed).
        let attr_path = if follow && seen.is_link() { seen.real.clone() } else { path.to_string() };
        if prev != "hard" && src.is_none() {
            return bail("src is required for creating new hardlinks", &[]);
        }
        let src_seen = match &src {
            Some(s) => {
                let l = look(self.ctx, s).await?;
                if !l.exists() {
                    return bail("src does not exist", &[("dest", json!(path)), ("src", json!(s))]);
                }
                Some(l)
            }
            None => None,
        };
        let src_v = src.as_ref().map_or(Value::Null, |s| json!(s));
        let same_inode = |a: &Seen| match (a.p.stat.as_ref(), src_seen.as_ref().and_then(|s| s.p.stat.as_ref())) {
            (Some(x), Some(y)) => x.inode == y.inode && x.dev == y.dev,
            _ => false,
        };
        let mut diff = Diff::initial(path, "hard", prev);
        let fields = |k: &str| vec![(k.to_string(), json!(path)), ("src".to_string(), src_v.clone())];
        let changed = match prev {
            "absent" => true,
            "link" => {
                let old = seen.p.link_target.clone().unwrap_or_default();
                if Some(&old) != src.as_ref() {
                    diff.set("src", json!(old), src_v.clone());
                    true
                } else {
                    false
                }
            }
            "hard" => {
                let differs = src.is_some() && !same_inode(&seen);
                if differs && !force {
                    return bail(
                        "Cannot link, different hard link exists at destination",
                        &[("dest", json!(path)), ("src", src_v.clone())],
                    );
                }
                differs
            }
            "file" => {
                if !force {
                    return bail(format!("Cannot link, {prev} exists at destination"), &[("dest", json!(path)), ("src", src_v.clone())]);
                }
                true
            }
            _ => {
                if seen.exists() {
                    if same_inode(&seen) {
                        return Ok(Done::new(false, &[("path", json!(path))], None));
                    } else if !force {
                        return bail(
                            "Cannot link: different hard link exists at destination",
                            &[("dest", json!(path)), ("src", src_v.clone())],
                        );
                    }
                }
                true
            }
        };
        if changed && !self.check() {
            let s = q(src.as_deref().unwrap_or_default());
            let p = q(path);
            let script = if prev == "absent" {
                format!("ln -L -- {s} {p}")
            } else {
                let rm = if prev == "directory" { format!("rm -f -- {p} && ") } else { String::new() };
                let tmp = join(&dirname(path), &format!(".{}.{}.tmp", std::process::id(), super::common::random_name()));
                let t = q(&tmp);
                format!("{rm}ln -L -- {s} {t} && {{ mv -f -- {t} {p} || {{ rm -f -- {t}; false; }}; }}")
            };
            let r = self.ctx.sh(script).await?;
            if r.rc != 0 {
                let what = if prev == "absent" { "Error while linking" } else { "Error while replacing" };
                return bail(format!("{what}: {}", r.stderr_str().trim()), &[("path", json!(path))]);
            }
        }
        let d: Map<String, Value> = fields("dest").into_iter().collect();
        let now = look(self.ctx, path).await?;
        if self.check() && !now.exists() {
            self.cut_short.store(true, std::sync::atomic::Ordering::Relaxed);
            return Ok(Done { changed, data: d, diff: Some(diff), seen: Some(now) });
        }
        let known = (attr_path == path).then_some(now);
        let (changed, now) = self.finish_attrs(&attr_path, known, times, &mut diff, changed).await?;
        Ok(Done { changed, data: d, diff: Some(diff), seen: now.filter(|_| attr_path == path) })
    }
}

const DANGLING: &str = "Cannot set fs attributes on a non-existent symlink target. follow should be set to False to avoid this.";

/// One path below a folder, as `find` lists it.
#[derive(Clone, Debug)]
struct Entry {
    path: String,
    st: Stat,
    /// `find`'s `%Y`: the type of what the path leads to (`N` nothing, `L` a loop).
    target_kind: char,
    /// A link's target, as written.
    link: String,
}

impl Entry {
    /// Whether `os.walk` lists it among the folders (a link to a folder counts).
    fn leads_to_dir(&self) -> bool {
        self.target_kind == 'd'
    }
}

/// Everything below `top` (its own links left unfollowed, `top` itself followed).
async fn walk(ctx: &TaskCtx, top: &str) -> Result<Vec<Entry>, ModError> {
    let r = ctx
        .sh(format!("find -H {} -mindepth 1 -printf '%y|%Y|%m|%U|%G|%u|%g|%s|%T@|%A@|%C@|%i|%n|%D\\0%p\\0%l\\0' 2>/dev/null; :", q(top)))
        .await?;
    Ok(parse_walk(&r.stdout))
}

fn parse_walk(out: &[u8]) -> Vec<Entry> {
    let fields: Vec<String> = out.split(|b| *b == 0).map(|f| String::from_utf8_lossy(f).into_owned()).collect();
    let mut entries = Vec::new();
    for chunk in fields.chunks(3) {
        let [meta, path, link] = chunk else { break };
        let m: Vec<&str> = meta.split('|').collect();
        if m.len() < 14 {
            continue;
        }
        let kind = match m[0] {
            "f" => "regular file",
            "d" => "directory",
            "l" => "symbolic link",
            _ => "other",
        };
        let num = |i: usize| m[i].parse::<u64>().unwrap_or(0);
        let time = |i: usize| m[i].parse::<f64>().unwrap_or(0.0);
        let st = Stat {
            kind: kind.into(),
            mode: u32::from_str_radix(m[2], 8).unwrap_or(0),
            uid: num(3) as u32,
            gid: num(4) as u32,
            owner: m[5].into(),
            group: m[6].into(),
            size: num(7),
            mtime: time(8),
            atime: time(9),
            ctime: time(10),
            inode: num(11),
            nlink: num(12),
            dev: num(13),
        };
        entries.push(Entry { path: path.clone(), st, target_kind: m[1].chars().next().unwrap_or('N'), link: link.clone() });
    }
    entries
}

/// The entries in the order `os.walk` (top down) gives them: a folder's folders, then its
/// other entries, then the same for each folder in turn (not into links to folders).
fn walk_order<'e>(top: &str, entries: &'e [Entry]) -> Vec<&'e Entry> {
    let mut kids: std::collections::HashMap<String, Vec<&Entry>> = std::collections::HashMap::new();
    for e in entries {
        kids.entry(dirname(&e.path)).or_default().push(e);
    }
    fn visit<'e>(root: &str, kids: &std::collections::HashMap<String, Vec<&'e Entry>>, out: &mut Vec<&'e Entry>) {
        let Some(list) = kids.get(root) else { return };
        let (dirs, files): (Vec<&Entry>, Vec<&Entry>) = list.iter().partition(|e| e.leads_to_dir());
        out.extend(dirs.iter().copied());
        out.extend(files);
        for d in dirs.iter().filter(|d| d.st.is_dir()) {
            visit(&d.path, kids, out);
        }
    }
    let mut out = Vec::new();
    visit(&dirname(&join(top, "x")), &kids, &mut out);
    out
}

/// Ansible's `add_path_info`: the result's `path` (else `dest`), when it leads somewhere,
/// gets its owner, group, mode, state and size (of the path itself, not what a link points
/// to).
async fn add_path_info(ctx: &TaskCtx, data: &mut Map<String, Value>, known: Option<Seen>) -> Result<(), ModError> {
    let Some(path) = data.get("path").or_else(|| data.get("dest")).and_then(Value::as_str).map(str::to_string) else {
        return Ok(());
    };
    let seen = match known {
        Some(s) => s,
        None => look(ctx, &path).await?,
    };
    let (Some(st), true) = (seen.p.lstat.as_ref(), seen.exists()) else {
        return Ok(());
    };
    let name = |n: &str, id: u32| if n == "UNKNOWN" { id.to_string() } else { n.to_string() };
    data.insert("uid".into(), json!(st.uid));
    data.insert("gid".into(), json!(st.gid));
    data.insert("owner".into(), json!(name(&st.owner, st.uid)));
    data.insert("group".into(), json!(name(&st.group, st.gid)));
    data.insert("mode".into(), json!(format!("0{:03o}", st.mode & 0o7777)));
    data.insert("state".into(), json!(seen.state()));
    data.insert("size".into(), json!(st.size));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::testing::{args, probe_reply, Scripted, PROBE};
    use super::super::{execute, Change};

    const DIR: &[u8] = b"PDIR\nSTAT directory|755|0|0|root|root|4096|1700000000|1700000000|1700000000|42|2|2049\nACCESS rwx\n";
    /// A link to /opt/t, a regular file.
    const LINK: &[u8] = b"PDIR\nSTAT symbolic link|777|0|0|root|root|6|1700000000|1700000000|1700000000|43|1|2049\nLINK /opt/t\nSTATL regular file|644|0|0|root|root|3|1700000000|1700000000|1700000000|44|1|2049\nACCESS rw\nREAL /opt/t\n";

    fn file() -> Vec<u8> {
        probe_reply(Some((0o644, b"")))
    }

    async fn plan(host: &std::sync::Arc<Scripted>, yaml: &str) -> Plan {
        File.plan(&host.ctx(false, true), &args(&File, yaml)).await.unwrap()
    }

    fn diff_sides(p: &Plan) -> (Value, Value) {
        let d = &p.outcome.diffs[0];
        (serde_json::from_str(&d.before).unwrap(), serde_json::from_str(&d.after).unwrap())
    }

    #[tokio::test]
    async fn a_missing_directory_is_predicted_then_made() {
        let host = Scripted::new().on(PROBE, 0, b"PDIR\nABSENT\n");
        let a = args(&File, "{path: /srv/d, state: directory}");
        let out = execute(&File, &host.ctx(true, true), &a).await.unwrap();
        assert!(out.changed);
        let before: Value = serde_json::from_str(&out.diffs[0].before).unwrap();
        assert_eq!(before, json!({"path": "/srv/d", "state": "absent"}));
        assert_eq!(out.diff_result.as_ref().unwrap()["after"]["state"], "directory");
        assert_eq!(host.commands().len(), 1, "check mode only looks");
        let made = [b"STEWARD-NEXT-PATH\nMADE /srv/d\n".as_slice(), DIR].concat();
        let host = Scripted::new().on("mkdir --", 0, &made).on(PROBE, 0, b"PDIR\nABSENT\n");
        let out = execute(&File, &host.ctx(false, false), &a).await.unwrap();
        assert!(out.changed && out.diffs.is_empty() && !out.data.contains_key("diff"));
        let cmds = host.commands();
        assert_eq!(cmds.len(), 2);
        assert!(cmds[1].contains("mkdir -- /srv/d"));
        // The state the creation reported is the result's: no look after.
        assert_eq!((out.data["state"].as_str(), out.data["mode"].as_str()), (Some("directory"), Some("0755")));
    }

    #[tokio::test]
    async fn a_directory_as_asked_changes_nothing_and_a_mode_is_set() {
        let host = Scripted::new().on(PROBE, 0, DIR);
        let p = plan(&host, "{path: /srv/d, state: directory, mode: '0755'}").await;
        assert!(!p.outcome.changed && p.changes.is_empty());
        let p = plan(&host, "{path: /srv/d, state: directory, mode: '0700'}").await;
        assert!(p.outcome.changed && p.changes.len() == 1);
        let (before, after) = diff_sides(&p);
        assert_eq!((&before["mode"], &after["mode"]), (&json!("0755"), &json!("0700")));
        let host = Scripted::new().on("chmod 0700", 0, b"").on(PROBE, 0, DIR);
        let out = File.apply(&host.ctx(false, false), &args(&File, "{path: /srv/d, state: directory, mode: '0700'}"), p).await.unwrap();
        assert!(out.changed);
        assert!(host.commands()[0].contains("chmod 0700 -- /srv/d"));
    }

    #[tokio::test]
    async fn absent_removes_what_is_there() {
        let host = Scripted::new().on(PROBE, 0, &file());
        let a = args(&File, "{path: /etc/x, state: absent}");
        let out = execute(&File, &host.ctx(true, false), &a).await.unwrap();
        assert!(out.changed && host.commands().len() == 1);
        let host = Scripted::new().on("rm -f", 0, b"").on(PROBE, 0, &file());
        let out = execute(&File, &host.ctx(false, false), &a).await.unwrap();
        assert!(out.changed);
        assert_eq!(host.commands()[1], "rm -f -- /etc/x");
        assert_eq!(out.data["state"], "absent");
        // Nothing there: nothing to do.
        let host = Scripted::new().on(PROBE, 0, b"PDIR\nABSENT\n");
        let p = plan(&host, "{path: /etc/x, state: absent}").await;
        assert!(!p.outcome.changed && p.changes.is_empty());
    }

    #[tokio::test]
    async fn touch_creates_then_sets_the_times() {
        let host = Scripted::new().on(PROBE, 0, b"PDIR\nABSENT\n");
        let a = args(&File, "{path: /tmp/t, state: touch}");
        let p = File.plan(&host.ctx(false, false), &a).await.unwrap();
        assert!(p.outcome.changed && matches!(p.changes.as_slice(), [Change::Own(_)]));
        assert_eq!(host.commands().len(), 1);
        let host = Scripted::new()
            .on(": >>", 0, b"")
            .on("date +%s.%N", 0, b"1700000000.5 1700000000.5\n1700000100.0\n")
            .on("touch --", 0, b"")
            .on(PROBE, 0, &file());
        let out = File.apply(&host.ctx(false, false), &a, p).await.unwrap();
        assert!(out.changed);
        let cmds = host.commands();
        assert_eq!(cmds[0], ": >> /tmp/t");
        assert!(cmds.iter().any(|c| c == "touch -- /tmp/t"), "{cmds:?}");
        assert_eq!(out.data["dest"], "/tmp/t");
    }

    #[tokio::test]
    async fn a_link_is_made_when_its_source_exists() {
        let host = Scripted::new().on(PROBE, 0, b"PDIR\nABSENT\nEXISTS /opt/t\n");
        let a = args(&File, "{path: /srv/l, src: /opt/t, state: link}");
        let p = File.plan(&host.ctx(false, true), &a).await.unwrap();
        assert!(p.outcome.changed);
        let (before, after) = diff_sides(&p);
        assert_eq!((&before["state"], &after["state"]), (&json!("absent"), &json!("link")));
        let made = [b"STEWARD-NEXT-PATH\n".as_slice(), LINK].concat();
        let host = Scripted::new().on("ln -s", 0, &made);
        let out = File.apply(&host.ctx(false, false), &a, p).await.unwrap();
        assert!(out.changed);
        assert!(host.commands()[0].contains("ln -s -- /opt/t /srv/l"));
        assert_eq!(out.data["state"], "link");
        // A source that is not there fails, and nothing is left to do.
        let host = Scripted::new().on(PROBE, 0, b"PDIR\nABSENT\n");
        let p = plan(&host, "{path: /srv/l, src: /opt/t, state: link}").await;
        assert!(p.outcome.failed && p.changes.is_empty());
        assert!(p.outcome.msg.unwrap().starts_with("src file does not exist"));
    }

    #[tokio::test]
    async fn only_the_mode_of_a_file_changes() {
        let host = Scripted::new().on(PROBE, 0, &file());
        let a = args(&File, "{path: /etc/x, mode: '0600'}");
        let p = File.plan(&host.ctx(false, true), &a).await.unwrap();
        assert!(p.outcome.changed);
        assert_eq!(p.outcome.diff_result.as_ref().unwrap()["before"]["mode"], "0644");
        let out = execute(&File, &host.ctx(true, false), &a).await.unwrap();
        assert!(out.diff_result.is_none() && out.diffs.is_empty(), "the diff is in the result in diff mode only");
        let host = Scripted::new().on("chmod", 0, b"").on(PROBE, 0, &file());
        let out = File.apply(&host.ctx(false, false), &a, p).await.unwrap();
        assert!(out.changed);
        assert!(host.commands()[0].contains("chmod 0600 -- /etc/x"));
        // As asked already: nothing to do.
        let host = Scripted::new().on(PROBE, 0, &file());
        let p = plan(&host, "{path: /etc/x, state: file, mode: '0644'}").await;
        assert!(!p.outcome.changed && p.changes.is_empty());
    }

    #[tokio::test]
    async fn a_mode_for_a_link_itself_is_predicted_but_changes_nothing() {
        let host = Scripted::new().on(PROBE, 0, LINK);
        let a = args(&File, "{path: /srv/l, mode: '0600', follow: false}");
        let out = execute(&File, &host.ctx(true, true), &a).await.unwrap();
        assert!(out.changed);
        let after: Value = serde_json::from_str(&out.diffs[0].after).unwrap();
        assert_eq!(after["mode"], "0600");
        let out = execute(&File, &host.ctx(false, false), &a).await.unwrap();
        assert!(!out.changed);
        // Both runs only looked: no chmod of a link.
        assert_eq!(host.commands().len(), 2);
        assert!(!host.commands().iter().any(|c| c.contains("chmod")));
    }

    #[tokio::test]
    async fn an_unknown_owner_warns_in_check_mode_only() {
        let host = Scripted::new().on("getent passwd", 0, b"PW \n").on(PROBE, 0, &file());
        let a = args(&File, "{path: /etc/x, owner: ghost}");
        let out = execute(&File, &host.ctx(true, false), &a).await.unwrap();
        assert!(out.failed);
        assert_eq!(out.warnings, ["failed to look up user ghost. Create user up to this point in real play"]);
        let out = execute(&File, &host.ctx(false, false), &a).await.unwrap();
        assert!(out.failed && out.warnings.is_empty());
        assert_eq!(out.msg.as_deref(), Some("chown failed: failed to look up user ghost"));
    }

    #[test]
    fn times_are_read_with_strptime_formats() {
        assert_eq!(local_time("202001011200.0", "%Y%m%d%H%M.%S").as_deref(), Some("2020-01-01 12:00:00"));
        assert_eq!(local_time("2020-03-04", "%Y-%m-%d").as_deref(), Some("2020-03-04 00:00:00"));
        assert_eq!(local_time("garbage", "%Y%m%d%H%M.%S"), None);
    }

    #[test]
    fn paths_split_and_join_as_python_does() {
        assert_eq!(dirname("/a/b"), "/a");
        assert_eq!(dirname("/a"), "/");
        assert_eq!(dirname("a"), "");
        assert_eq!(dirname("a/b/"), "a/b");
        assert_eq!(join("", "x"), "x");
        assert_eq!(join("/a/", "x"), "/a/x");
        assert_eq!(join("/a", "/x"), "/x");
        assert_eq!(basename("/a/b"), "b");
        assert_eq!(basename("b"), "b");
    }

    #[test]
    fn walks_in_os_walk_order() {
        let e = |kind: char, path: &str| format!("{kind}|{kind}|755|0|0|root|root|0|1.5|1.5|1.5|1|1|1\0{path}\0\0");
        let out = [e('d', "/t/a"), e('f', "/t/a/x"), e('d', "/t/a/b"), e('f', "/t/y"), e('d', "/t/c")].concat();
        let entries = parse_walk(out.as_bytes());
        let order: Vec<&str> = walk_order("/t", &entries).iter().map(|e| e.path.as_str()).collect();
        assert_eq!(order, ["/t/a", "/t/c", "/t/y", "/t/a/b", "/t/a/x"]);
        assert_eq!(entries[0].st.mode, 0o755);
    }
}
