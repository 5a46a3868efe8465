//! `copy`: put a file (or inline content, or a folder) on the host, written atomically.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde_json::json;

use super::common::{self, attr_changes, parse_probe, probe, sha1_hex, Attrs, LinkModeOnly, Stat};
use super::{args, fail, Arg, Args, Change, ExecCheck, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Copy;

const ARGS: &[Arg] = &[
    Arg::str("src", "a file or folder on the controller (the role's files/ is searched), or on the host with remote_src"),
    Arg::raw("content", "the file's content, instead of src"),
    // Required, with the action plugin's message when missing.
    Arg::str("dest", "where to put it on the host (required)"),
    Arg::bool("force", "replace a file whose content differs; false: only create it").default("true"),
    args::BACKUP,
    Arg::bool("remote_src", "src is on the host, not the controller").default("false"),
    args::VALIDATE,
    Arg::new("directory_mode", super::Kind::Mode, "mode of folders created when copying a folder"),
    Arg::bool("follow", "accepted for compatibility"),
    Arg::bool("local_follow", "accepted for compatibility"),
    Arg::bool("decrypt", "accepted for compatibility"),
    Arg::str("checksum", "accepted for compatibility (the copy is not checked against it)"),
];

/// copy's own steps in a plan (besides the writes and commands).
enum Step {
    /// What a real run finds that check mode lets pass (Ansible's action plugin stops before
    /// the module in check mode): fail with this message.
    Fail(String),
    /// Carry the steps out and report the plan's result as it is (a folder); without it, the
    /// result's path fields are the file's state after the change.
    Plain,
}

#[async_trait]
impl Module for Copy {
    fn supports_async(&self) -> bool {
        false
    }
    fn name(&self) -> &'static str {
        "copy"
    }
    fn doc(&self) -> &'static str {
        include_str!("copy.md")
    }
    fn args(&self) -> &'static [Arg] {
        ARGS
    }
    fn file_attrs(&self) -> bool {
        true
    }
    fn first_probe(&self, args: &Args, diff: bool) -> Option<super::ProbeKey> {
        let dest = common::literal_path(args, "dest").filter(|d| !d.ends_with('/'))?;
        if args.bool("remote_src", false).unwrap_or(true) {
            return None;
        }
        Some(super::ProbeKey { path: dest, sum: Some("sha1".into()), content: diff, real: false })
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let Some(dest) = args.str("dest")? else {
            return fail("dest is required");
        };
        let dest = super::common::expand_path(ctx, &dest).await?;
        let attrs = Attrs::from_args(args)?;
        let force = args.bool("force", true)?;
        if args.bool("remote_src", false)? {
            return remote_plan(ctx, args, &dest, &attrs, force).await;
        }
        let (content, src_name) = if let Some(c) = args.raw("content") {
            if args.has("src") {
                return fail("src and content are mutually exclusive");
            }
            let text = match c {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(_) | serde_json::Value::Object(_) => crate::pytext::py_json(c, None, false),
                other => crate::pytext::to_text(other),
            };
            (text.into_bytes(), None)
        } else {
            let Some(src) = args.str("src")?.filter(|s| !s.is_empty()) else {
                return fail("src (or content) is required");
            };
            let Some(path) = ctx.find_local("files", &src) else {
                return fail(ctx.not_found("files", &src));
            };
            if path.is_dir() {
                return dir_plan(ctx, args, &path, &src, &dest, force).await;
            }
            (Vec::new(), Some(path))
        };
        let dest = if dest.ends_with('/') {
            match &src_name {
                Some(p) => format!("{dest}{}", p.file_name().and_then(|n| n.to_str()).unwrap_or("")),
                None => return fail("can not use content with a dir as dest"),
            }
        } else {
            dest
        };
        match &src_name {
            Some(p) => put_plan(ctx, args, &dest, common::Source::File(p), force, Some(p), false).await,
            None => put_plan(ctx, args, &dest, common::Source::Bytes(content), force, None, false).await,
        }
    }
    async fn apply(&self, ctx: &TaskCtx, _args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        apply_put(ctx, plan).await
    }
}

/// Ansible's limit for showing a file's content in a diff.
const MAX_DIFF: u64 = 104_448;

/// Decide whether new content goes to `dest` (shared by copy, template and assemble): the
/// write when it differs, else owner, group and mode. `parents_made`: an earlier step of the
/// same plan makes the folder `dest` goes in. [`apply_put`] carries the plan out.
pub async fn put_plan(
    ctx: &TaskCtx,
    args: &Args,
    dest: &str,
    content: common::Source<'_>,
    force: bool,
    src: Option<&Path>,
    parents_made: bool,
) -> Result<Plan, ModError> {
    // mode=preserve: the mode of the source on the controller.
    let preserved;
    let args = match (args.str("mode")?.as_deref(), src) {
        (Some("preserve"), Some(s)) => {
            use std::os::unix::fs::PermissionsExt as _;
            let m = std::fs::metadata(s).map_err(|e| ModError::Fail(format!("cannot read {}: {e}", s.display())))?.permissions().mode();
            let mut a = args.clone();
            a.map.insert("mode".into(), json!(format!("{:04o}", m & 0o7777)));
            preserved = a;
            &preserved
        }
        _ => args,
    };
    // ctx.diff is read only to skip fetching the old content (and the new file's), which
    // only a diff shows.
    let with_content = ctx.diff;
    let mut p = probe(ctx, dest, Some("sha1"), with_content).await?;
    let mut dest = dest.to_string();
    if p.effective(true).is_some_and(|s| s.is_dir()) {
        // A folder as dest: the file goes inside it, named after the source.
        let Some(name) = src.and_then(|s| s.file_name()).and_then(|n| n.to_str()) else {
            return fail(format!("can not use content with a dir as dest ({dest})"));
        };
        dest = format!("{}/{name}", dest.trim_end_matches('/'));
        p = probe(ctx, &dest, Some("sha1"), with_content).await?;
    }
    let (checksum, shown) = match &content {
        common::Source::Bytes(b) => (sha1_hex(b), b.clone()),
        common::Source::File(f) => {
            let sum = common::sha1_file(f).map_err(|e| ModError::Fail(format!("cannot read {}: {e}", f.display())))?;
            let size = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
            let shown = if size > MAX_DIFF {
                b"(content not shown: larger than 100 KiB)\n".to_vec()
            } else if with_content {
                std::fs::read(f).unwrap_or_default()
            } else {
                Vec::new()
            };
            (sum, shown)
        }
    };
    let st = p.effective(true).cloned();
    let same = p.checksum.as_deref() == Some(checksum.as_str());
    let mut plan = Plan::done(Outcome::ok());
    if p.exists && !force {
        plan.outcome.data = common::path_result(&dest, st.as_ref(), "dest");
        plan.outcome.data.insert("checksum".into(), json!(p.checksum));
        return Ok(plan);
    }
    // The legacy checksum, which the copy module reports of a file it writes.
    let md5 = match &content {
        _ if same => None,
        common::Source::Bytes(b) => crate::template::hex_digest("md5", b),
        common::Source::File(f) => Some(common::md5_file(f).map_err(|e| ModError::Fail(format!("cannot read {}: {e}", f.display())))?),
    };
    let from_file = match content {
        common::Source::File(f) => Some(f),
        common::Source::Bytes(_) => None,
    };
    let edit = common::Edit {
        path: &dest,
        original: p.content.as_deref(),
        new: shown,
        from_file,
        changed: !same,
        st: st.as_ref(),
        make_parents: false,
    };
    edit.plan_into(args, &mut plan, "backup_file")?;
    if !same && !p.exists && !p.parent_dir && !parents_made {
        let msg = format!("Destination directory {} does not exist", common::parent_dir(&dest));
        plan.changes.insert(0, Change::own(Step::Fail(msg)));
    }
    let data = common::path_result(&dest, st.as_ref(), "dest");
    plan.outcome.data.extend(data);
    plan.outcome.data.insert("checksum".into(), json!(checksum));
    if let Some(m) = md5 {
        plan.outcome.data.insert("md5sum".into(), json!(m));
    }
    if let Some(s) = src {
        plan.outcome.data.insert("src".into(), json!(s.display().to_string()));
    }
    Ok(plan)
}

/// Carry out a plan of [`put_plan`] (or of a folder, a copy on the host): the result's path
/// fields are then the file's state after the change, looked at in the same round trip.
pub async fn apply_put(ctx: &TaskCtx, plan: Plan) -> Result<Outcome, ModError> {
    let Plan { outcome: mut out, changes } = plan;
    let plain = changes.iter().any(|c| matches!(c, Change::Own(b) if matches!(b.downcast_ref::<Step>(), Some(Step::Plain))));
    // The result's path fields are those of `dest` after the change, unless planned as they are.
    let dest = out.data.get("dest").and_then(|d| d.as_str()).map(str::to_string).filter(|_| !plain);
    let mut after: Option<Option<Stat>> = None;
    for c in changes {
        match c {
            Change::Own(b) => match b.downcast_ref::<Step>() {
                Some(Step::Fail(msg)) => return fail(msg.clone()),
                Some(Step::Plain) => {}
                // A mode asked for a link itself: nothing to do on the host.
                None if b.is::<LinkModeOnly>() => {}
                None => return fail("internal error: a step copy does not know"),
            },
            Change::Sh { script, failure } => match &dest {
                Some(d) => {
                    // The state after comes back with the change; a failing script stops first.
                    let look = common::stat_after_followed(d);
                    let r = ctx.sh(format!("{script}\nrc=$?; [ $rc -eq 0 ] || exit $rc\n{look}")).await?.ok_or_fail(&failure)?;
                    after = Some(parse_probe(&r.stdout).lstat);
                }
                None => {
                    ctx.sh(script).await?.ok_or_fail(&failure)?;
                }
            },
            Change::Write(w) => after = Some(w.apply(ctx, &mut out).await?),
        }
    }
    if let (Some(d), Some(st)) = (&dest, after) {
        out.data.extend(common::path_result(d, st.as_ref(), "dest"));
    }
    Ok(out)
}

/// Mark a plan whose result [`apply_put`] reports as planned ([`Step::Plain`]), when it has
/// steps at all.
pub fn as_planned(plan: &mut Plan) {
    let marked = plan.changes.iter().any(|c| matches!(c, Change::Own(b) if matches!(b.downcast_ref::<Step>(), Some(Step::Plain))));
    if !marked && !plan.changes.is_empty() {
        plan.changes.insert(0, Change::own(Step::Plain));
    }
}

/// `remote_src`: a file (or folder) on the host copied to `dest` when it differs. The result
/// has the path fields of `dest` (as the module's `add_path_info` gives them).
async fn remote_plan(ctx: &TaskCtx, args: &Args, dest: &str, attrs: &Attrs, force: bool) -> Result<Plan, ModError> {
    let src = common::expand_path(ctx, &args.req_str("src")?).await?;
    let s = probe(ctx, &src, Some("sha1"), false).await?;
    if !s.exists {
        return fail(format!("Source {src} not found"));
    }
    // mode=preserve: the source's mode, here on the host.
    let mut attrs = attrs.clone();
    if attrs.mode.as_deref() == Some("preserve") {
        attrs.mode = s.effective(true).map(|st| format!("{:04o}", st.mode & 0o7777));
    }
    let d = probe(ctx, dest, Some("sha1"), false).await?;
    let mut plan = Plan::done(Outcome::ok());
    if (d.exists && !force) || (s.checksum.is_some() && s.checksum == d.checksum) {
        attr_changes(dest, d.effective(true), &attrs, false, true)?.plan_into(dest, &mut plan);
    } else {
        let copy = format!(
            "set -e\nt=$(mktemp {}/.steward.XXXXXXXX)\ncp -R -- {} \"$t\" 2>/dev/null || cp -- {} \"$t\"\nmv -f \"$t\" {}\n",
            q(&common::parent_dir(dest)),
            q(&src),
            q(&src),
            q(dest)
        );
        plan.change(Change::sh(copy, format!("copy from {src} to {dest} failed")));
        // The copy's attributes as asked, whatever they were.
        let attrs = attr_changes(dest, None, &attrs, false, true)?;
        if !attrs.cmds.is_empty() {
            plan.change(Change::sh(attrs.cmds.join(" && "), format!("cannot set attributes of {dest}")));
        }
    }
    plan.outcome.data = common::path_result(dest, d.effective(true), "dest");
    plan.outcome.data.insert("src".into(), json!(src));
    plan.outcome.data.insert("checksum".into(), json!(s.checksum));
    Ok(plan)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            out.push(p.clone());
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Where a folder from the controller goes: `dest/NAME` for `src: NAME`, `dest` itself for
/// `src: NAME/` (its contents).
pub fn dir_base(root: &Path, src: &str, dest: &str) -> String {
    if src.ends_with('/') {
        dest.trim_end_matches('/').to_string()
    } else {
        format!("{}/{}", dest.trim_end_matches('/'), root.file_name().and_then(|n| n.to_str()).unwrap_or(""))
    }
}

/// A folder from the controller: the folder itself (`src: dir`) or its contents (`src: dir/`),
/// recursively; only files whose content differs are written. One round trip finds the
/// missing folders and the checksums of the files already there, so files that did not
/// change cost nothing more.
pub async fn dir_plan(ctx: &TaskCtx, args: &Args, root: &Path, src: &str, dest: &str, force: bool) -> Result<Plan, ModError> {
    let base = dir_base(root, src, dest);
    let mut entries = Vec::new();
    walk(root, &mut entries);
    let mut dirs = vec![base.clone()];
    dirs.extend(entries.iter().filter(|p| p.is_dir()).map(|p| format!("{base}/{}", p.strip_prefix(root).unwrap_or(p).display())));
    let mut look = String::new();
    for d in &dirs {
        look += &format!("[ -d {0} ] || printf 'MISSING %s\\n' {0}\n", q(d));
    }
    look += &format!("cd {} 2>/dev/null && find . -type f -exec sha1sum {{}} + 2>/dev/null | sed 's/^/SUM /'\ntrue\n", q(&base));
    let out = ctx.sh(look).await?;
    let text = out.stdout_str();
    let mut plan = Plan::done(Outcome::ok());
    let missing: Vec<String> = text.lines().filter_map(|l| l.strip_prefix("MISSING ")).map(q).collect();
    if !missing.is_empty() {
        plan.change(Change::sh(format!("mkdir -p -- {}", missing.join(" ")), format!("cannot create the folders of {base}")));
    }
    if let Some(m) = args.str("directory_mode")? {
        // Every folder gets the mode; it does not count as a change.
        let all: Vec<String> = dirs.iter().map(|d| q(d)).collect();
        plan.changes
            .push(Change::sh(format!("chmod {} -- {}", q(&m), all.join(" ")), format!("cannot set the mode of the folders of {base}")));
    }
    let sums: std::collections::HashMap<&str, &str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("SUM "))
        .filter_map(|l| l.split_once("  "))
        .map(|(sum, path)| (path.trim_start_matches("./"), sum))
        .collect();
    let plain = !args.has("mode") && !args.has("owner") && !args.has("group");
    for f in entries.iter().filter(|p| p.is_file()) {
        let rel = f.strip_prefix(root).unwrap_or(f).display().to_string();
        if plain && sums.get(rel.as_str()).is_some_and(|s| common::sha1_file(f).is_ok_and(|l| l == *s)) {
            continue;
        }
        let target = format!("{base}/{rel}");
        let p = put_plan(ctx, args, &target, common::Source::File(f), force, Some(f), true).await?;
        plan.outcome.changed |= p.outcome.changed;
        plan.outcome.diffs.extend(p.outcome.diffs);
        plan.changes.extend(p.changes);
    }
    as_planned(&mut plan);
    plan.outcome.data.insert("dest".into(), json!(dest));
    plan.outcome.data.insert("src".into(), json!(root.display().to_string()));
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::super::common::{sha1_hex, Content};
    use super::super::testing::{args, probe_reply, Scripted, PROBE, WRITE};
    use super::super::{execute, Change, Module};
    use super::{Copy, Step};

    /// The probe's answer for a file with this mode and content, with its checksum.
    fn file_with_sum(mode: u32, content: &[u8]) -> Vec<u8> {
        let reply = String::from_utf8(probe_reply(Some((mode, content)))).unwrap();
        reply.replacen("ACCESS rw\n", &format!("ACCESS rw\nSUM {}\n", sha1_hex(content)), 1).into_bytes()
    }

    async fn plan(host: &std::sync::Arc<Scripted>, yaml: &str) -> super::Plan {
        Copy.plan(&host.ctx(false, true), &args(&Copy, yaml)).await.unwrap()
    }

    #[tokio::test]
    async fn new_content_is_written_with_a_diff() {
        let host = Scripted::new().on(PROBE, 0, &file_with_sum(0o644, b"old\n"));
        let p = plan(&host, "{content: \"new\\n\", dest: /etc/x, backup: true}").await;
        assert!(p.outcome.changed);
        let [Change::Write(w)] = p.changes.as_slice() else { panic!("one write expected") };
        let Content::Bytes(b) = &w.content else { panic!("bytes expected") };
        assert_eq!(b, b"new\n");
        assert_eq!(w.backup, Some("backup_file"));
        assert_eq!((p.outcome.diffs[0].before.as_str(), p.outcome.diffs[0].after.as_str()), ("old\n", "new\n"));
        assert_eq!(p.outcome.data["checksum"], "389cc6b7ae5a659383eab5dfc253764eccf84732");
        assert_eq!(p.outcome.data["md5sum"], "9cd599a3523898e6a12e13ec787da50a");
    }

    #[tokio::test]
    async fn the_same_checksum_changes_nothing() {
        let host = Scripted::new().on(PROBE, 0, &file_with_sum(0o644, b"same\n"));
        let p = plan(&host, "{content: \"same\\n\", dest: /etc/x}").await;
        assert!(!p.outcome.changed && p.changes.is_empty() && p.outcome.diffs.is_empty());
        assert_eq!(p.outcome.data["dest"], "/etc/x");
        assert_eq!(p.outcome.data["mode"], "0644");
        assert!(!p.outcome.data.contains_key("md5sum"), "only a written file has the legacy checksum");
    }

    #[tokio::test]
    async fn only_the_mode_differs_and_the_state_after_comes_back() {
        let host = Scripted::new().on(PROBE, 0, &file_with_sum(0o644, b"same\n"));
        let a = args(&Copy, "{content: \"same\\n\", dest: /etc/x, mode: '0600'}");
        let p = Copy.plan(&host.ctx(false, true), &a).await.unwrap();
        assert!(p.outcome.changed);
        let [Change::Sh { script, .. }] = p.changes.as_slice() else { panic!("one command expected") };
        assert_eq!(script, "chmod 0600 -- /etc/x");
        // The real run: the chmod and a look at the file in one round trip.
        let after = b"STAT regular file|600|0|0|root|root|5|1700000000|1700000000|1700000000|42|1|2049\n";
        let host = Scripted::new().on("chmod 0600", 0, after).on(PROBE, 0, &file_with_sum(0o644, b"same\n"));
        let out = execute(&Copy, &host.ctx(false, false), &a).await.unwrap();
        assert!(out.changed);
        assert_eq!(out.data["mode"], "0600");
        let cmds = host.commands();
        assert_eq!(cmds.len(), 2);
        assert!(
            cmds[1].starts_with("chmod 0600 -- /etc/x\nrc=$?; [ $rc -eq 0 ] || exit $rc\n") && cmds[1].contains("stat -L"),
            "{}",
            cmds[1]
        );
    }

    #[tokio::test]
    async fn force_no_leaves_an_existing_file() {
        let host = Scripted::new().on(PROBE, 0, &file_with_sum(0o644, b"old\n"));
        let p = plan(&host, "{content: new, dest: /etc/x, force: false, mode: '0600'}").await;
        assert!(!p.outcome.changed && p.changes.is_empty());
        assert_eq!(p.outcome.data["checksum"], sha1_hex(b"old\n"));
    }

    #[tokio::test]
    async fn a_missing_folder_is_a_change_in_check_mode_and_fails_for_real() {
        let host = Scripted::new().on(PROBE, 0, b"ABSENT\n");
        let a = args(&Copy, "{content: x, dest: /nope/x}");
        let out = execute(&Copy, &host.ctx(true, false), &a).await.unwrap();
        assert!(out.changed && !out.failed);
        let p = Copy.plan(&host.ctx(false, false), &a).await.unwrap();
        assert!(matches!(&p.changes[0], Change::Own(b) if matches!(b.downcast_ref::<Step>(), Some(Step::Fail(_)))));
        let err = execute(&Copy, &host.ctx(false, false), &a).await.unwrap_err();
        assert_eq!(err.to_string(), "Destination directory /nope does not exist");
        assert!(!host.commands().iter().any(|c| c.contains(WRITE)));
    }

    #[tokio::test]
    async fn a_folder_as_dest_takes_the_file_inside() {
        let dir = b"PDIR\nSTAT directory|755|0|0|root|root|4096|1700000000|1700000000|1700000000|42|2|2049\nACCESS rwx\n";
        let host = Scripted::new().once(PROBE, 0, dir).on(PROBE, 0, b"PDIR\nABSENT\n");
        let err = Copy.plan(&host.ctx(false, false), &args(&Copy, "{content: x, dest: /srv}")).await.err().unwrap();
        assert_eq!(err.to_string(), "can not use content with a dir as dest (/srv)");
    }

    #[tokio::test]
    async fn check_mode_sends_the_probe_only_and_a_real_run_writes_and_reports() {
        let host = Scripted::new().on(PROBE, 0, &file_with_sum(0o644, b"old\n"));
        let a = args(&Copy, "{content: \"new\\n\", dest: /etc/x, owner: app}");
        let out = execute(&Copy, &host.ctx(true, false), &a).await.unwrap();
        assert!(out.changed);
        assert_eq!(host.commands().len(), 1);
        let after = b"STAT regular file|644|1000|0|app|root|4|1700000000|1700000000|1700000000|43|1|2049\n";
        let host = Scripted::new().on(WRITE, 0, after).on(PROBE, 0, &file_with_sum(0o644, b"old\n"));
        let out = execute(&Copy, &host.ctx(false, false), &a).await.unwrap();
        assert!(out.changed);
        assert_eq!(host.stdin_of(WRITE).as_deref(), Some(&b"new\n"[..]));
        let write = host.commands().into_iter().find(|c| c.contains(WRITE)).unwrap();
        assert!(write.contains("chown app \"$t\""), "{write}");
        assert_eq!((out.data["owner"].as_str(), out.data["size"].as_u64()), (Some("app"), Some(4)));
    }

    #[tokio::test]
    async fn remote_src_copies_on_the_host_when_checksums_differ() {
        let host = Scripted::new().once(PROBE, 0, &file_with_sum(0o644, b"a\n")).on(PROBE, 0, &file_with_sum(0o644, b"b\n"));
        let p = plan(&host, "{src: /tmp/a, dest: /etc/x, remote_src: true, mode: '0640'}").await;
        assert!(p.outcome.changed);
        let scripts: Vec<&str> =
            p.changes.iter().filter_map(|c| if let Change::Sh { script, .. } = c { Some(script.as_str()) } else { None }).collect();
        assert_eq!(scripts.len(), 2);
        assert!(scripts[0].contains("cp -R -- /tmp/a \"$t\"") && scripts[0].contains("mv -f \"$t\" /etc/x"));
        assert_eq!(scripts[1], "chmod 0640 -- /etc/x");
        let host = Scripted::new().on(PROBE, 0, &file_with_sum(0o644, b"a\n"));
        let p = plan(&host, "{src: /tmp/a, dest: /etc/x, remote_src: true}").await;
        assert!(!p.outcome.changed && p.changes.is_empty());
        assert_eq!(p.outcome.data["mode"], "0644");
        // mode=preserve: the source's.
        let host = Scripted::new().once(PROBE, 0, &file_with_sum(0o547, b"a\n")).on(PROBE, 0, b"PDIR\nABSENT\n");
        let p = plan(&host, "{src: /tmp/a, dest: /etc/x, remote_src: true, mode: preserve}").await;
        let [_, Change::Sh { script, .. }] = p.changes.as_slice() else { panic!("a copy and a chmod expected") };
        assert_eq!(script, "chmod 0547 -- /etc/x");
    }
}
