//! `copy`: put a file (or inline content, or a folder) on the host, written atomically.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde_json::json;

use super::common::{self, attr_changes, probe, sha1_hex, Attrs};
use super::{fail, Arg, Args, ModError, Module, Outcome, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Copy;

const ARGS: &[Arg] = &[
    Arg::str("src", "a file or folder on the controller (the role's files/ is searched), or on the host with remote_src"),
    Arg::raw("content", "the file's content, instead of src"),
    Arg::str("dest", "where to put it on the host").required(),
    Arg::bool("force", "replace a file whose content differs (default yes); no: only create it"),
    Arg::bool("backup", "keep a timestamped copy of the old file"),
    Arg::bool("remote_src", "src is on the host, not the controller"),
    Arg::str("validate", "a command to check the new file before it is put in place; %s is its path"),
    Arg::new("directory_mode", super::Kind::Mode, "mode of folders created when copying a folder"),
    Arg::bool("follow", "follow links at dest"),
    Arg::bool("local_follow", "follow links in src"),
    Arg::bool("decrypt", "accepted for compatibility"),
    Arg::str("checksum", "expected sha1 of the file"),
];

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
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let dest = super::common::req_path(ctx, args, "dest").await?;
        let attrs = Attrs::from_args(args)?;
        let force = args.bool("force", true)?;
        if args.bool("remote_src", false)? {
            return remote_copy(ctx, args, &dest, &attrs, force).await;
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
            let Some(src) = args.str("src")? else {
                return fail("src (or content) is required");
            };
            let Some(path) = ctx.find_local("files", &src) else {
                return fail(format!("Could not find or access '{src}' on the controller"));
            };
            if path.is_dir() {
                return copy_dir(ctx, args, &path, &src, &dest, force).await;
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
            Some(p) => put(ctx, args, &dest, common::Source::File(p), force, Some(p)).await,
            None => put(ctx, args, &dest, common::Source::Bytes(content), force, None).await,
        }
    }
}

/// Ansible's limit for showing a file's content in a diff.
const MAX_DIFF: u64 = 104_448;

/// Put new content at `dest` if it differs (shared by copy and template).
pub async fn put(
    ctx: &TaskCtx,
    args: &Args,
    dest: &str,
    content: common::Source<'_>,
    force: bool,
    src: Option<&Path>,
) -> Result<Outcome, ModError> {
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
    let mut p = probe(ctx, dest, Some("sha1"), ctx.diff).await?;
    let mut dest = dest.to_string();
    if p.effective(true).is_some_and(|s| s.is_dir()) {
        // A folder as dest: the file goes inside it, named after the source.
        let Some(name) = src.and_then(|s| s.file_name()).and_then(|n| n.to_str()) else {
            return fail(format!("can not use content with a dir as dest ({dest})"));
        };
        dest = format!("{}/{name}", dest.trim_end_matches('/'));
        p = probe(ctx, &dest, Some("sha1"), ctx.diff).await?;
    }
    let (checksum, shown, md5) = match &content {
        common::Source::Bytes(b) => (sha1_hex(b), b.clone(), crate::template::hex_digest("md5", b)),
        common::Source::File(f) => {
            let sum = common::sha1_file(f).map_err(|e| ModError::Fail(format!("cannot read {}: {e}", f.display())))?;
            let size = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
            let shown = if ctx.diff && size <= MAX_DIFF {
                std::fs::read(f).unwrap_or_default()
            } else {
                b"(content not shown: larger than 100 KiB)\n".to_vec()
            };
            (sum, shown, None)
        }
    };
    let st = p.effective(true).cloned();
    let same = p.checksum.as_deref() == Some(checksum.as_str());
    let mut out = Outcome::ok();
    if p.exists && !force {
        out.data = common::path_result(&dest, st.as_ref(), "dest");
        out.data.insert("checksum".into(), json!(p.checksum));
        return Ok(out);
    }
    if !p.exists && !p.parent_dir && !ctx.check {
        return fail(format!("Destination directory {} does not exist", common::parent_dir(&dest)));
    }
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
    let written = edit.commit(ctx, args, &mut out, "backup_file").await?;
    let final_st = match written {
        Some(w) => Some(w),
        // Only owner, group or mode changed: look once more.
        None if out.changed && !ctx.check => probe(ctx, &dest, None, false).await?.effective(true).cloned(),
        None => st,
    };
    let data = common::path_result(&dest, final_st.as_ref(), "dest");
    out.data.extend(data);
    out.data.insert("checksum".into(), json!(checksum));
    if let Some(m) = md5 {
        out.data.insert("md5sum".into(), json!(m));
    }
    if let Some(s) = src {
        out.data.insert("src".into(), json!(s.display().to_string()));
    }
    Ok(out)
}

async fn remote_copy(ctx: &TaskCtx, args: &Args, dest: &str, attrs: &Attrs, force: bool) -> Result<Outcome, ModError> {
    let src = args.req_str("src")?;
    let s = probe(ctx, &src, Some("sha1"), false).await?;
    if !s.exists {
        return fail(format!("Source {src} not found"));
    }
    let d = probe(ctx, dest, Some("sha1"), false).await?;
    let mut out = Outcome::ok();
    if (d.exists && !force) || (s.checksum.is_some() && s.checksum == d.checksum) {
        attr_changes(dest, d.effective(true), attrs, false, true)?.apply(ctx, dest, &mut out).await?;
    } else {
        out.changed = true;
        if !ctx.check {
            let tmp_cmd = format!(
                "set -e\nt=$(mktemp {}/.steward.XXXXXXXX)\ncp -R -- {} \"$t\" 2>/dev/null || cp -- {} \"$t\"\nmv -f \"$t\" {}\n",
                q(&common::parent_dir(dest)),
                q(&src),
                q(&src),
                q(dest)
            );
            let r = ctx.sh(tmp_cmd).await?;
            if r.rc != 0 {
                return fail(format!("copy from {src} to {dest} failed: {}", r.stderr_str().trim()));
            }
            let mut ignored = Outcome::ok();
            attr_changes(dest, None, attrs, false, true)?.apply(ctx, dest, &mut ignored).await?;
        }
    }
    out.data.insert("dest".into(), json!(dest));
    out.data.insert("src".into(), json!(src));
    out.data.insert("checksum".into(), json!(s.checksum));
    Ok(out)
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

/// A folder from the controller: the folder itself (`src: dir`) or its contents (`src: dir/`),
/// recursively; only files whose content differs are written.
async fn copy_dir(ctx: &TaskCtx, args: &Args, root: &Path, src: &str, dest: &str, force: bool) -> Result<Outcome, ModError> {
    let base = if src.ends_with('/') {
        dest.trim_end_matches('/').to_string()
    } else {
        format!("{}/{}", dest.trim_end_matches('/'), root.file_name().and_then(|n| n.to_str()).unwrap_or(""))
    };
    let mut entries = Vec::new();
    walk(root, &mut entries);
    let dir_mode = args.str("directory_mode")?;
    let mut result = Outcome::ok();
    let mut dirs = vec![base.clone()];
    dirs.extend(entries.iter().filter(|p| p.is_dir()).map(|p| format!("{base}/{}", p.strip_prefix(root).unwrap_or(p).display())));
    // One round trip for every missing folder.
    let mut mk = String::new();
    for d in &dirs {
        mk += &format!("[ -d {0} ] || {{ echo created; {1}mkdir -p {0}; }}\n", q(d), if ctx.check { ": " } else { "" });
        if let Some(m) = &dir_mode {
            if !ctx.check {
                mk += &format!("chmod {} {}\n", q(m), q(d));
            }
        }
    }
    // The same round trip lists the checksums of the files already there, so files that did
    // not change cost nothing more.
    mk += &format!("cd {} 2>/dev/null && find . -type f -exec sha1sum {{}} + 2>/dev/null | sed 's/^/SUM /'\ntrue\n", q(&base));
    let out = ctx.sh(mk).await?;
    let text = out.stdout_str();
    if text.lines().any(|l| l == "created") {
        result.changed = true;
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
        let o = put(ctx, args, &target, common::Source::File(f), force, Some(f)).await?;
        result.changed |= o.changed;
        result.diffs.extend(o.diffs);
    }
    result.data.insert("dest".into(), json!(dest));
    result.data.insert("src".into(), json!(root.display().to_string()));
    Ok(result)
}

/// `synchronize` (ansible.posix) without rsync: a folder from the controller brought to the
/// host like `copy` does it (only what changed), and with `delete`, what the source does not
/// have removed. Only `mode: push` exists; use `fetch` to bring files back.
pub struct Synchronize;

#[async_trait]
impl Module for Synchronize {
    fn supports_async(&self) -> bool {
        false
    }
    fn name(&self) -> &'static str {
        "synchronize"
    }
    fn collection(&self) -> &'static str {
        "ansible.posix"
    }
    fn doc(&self) -> &'static str {
        include_str!("synchronize.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("src", "the folder (or file) on the controller").required(),
            Arg::str("dest", "where it goes on the host").required(),
            Arg::str("mode", "push (the only one supported)").choices(&["push", "pull"]),
            Arg::bool("delete", "remove files in dest that src does not have"),
            Arg::bool("recursive", "accepted; folders are always copied recursively"),
            Arg::bool("archive", "accepted; contents are compared by checksum"),
            Arg::bool("checksum", "accepted; contents are always compared by checksum"),
            Arg::bool("compress", "accepted for compatibility"),
            Arg::list("rsync_opts", "accepted for compatibility; they have no effect"),
            Arg::bool("times", "accepted for compatibility"),
            Arg::bool("perms", "accepted for compatibility"),
            Arg::bool("links", "accepted for compatibility"),
            Arg::bool("use_ssh_args", "accepted; steward's own connection is used"),
            Arg::str("rsync_path", "accepted for compatibility"),
            Arg::int("dest_port", "accepted; steward's own connection is used"),
        ];
        A
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        if args.str("mode")?.as_deref() == Some("pull") {
            return fail("synchronize mode=pull is not supported by steward; use fetch to bring files to the controller");
        }
        let src = args.req_str("src")?;
        let dest = args.req_str("dest")?;
        let Some(root) = ctx.find_local("files", &src) else {
            return fail(format!("Could not find or access '{src}' on the controller"));
        };
        let copy_args =
            Args::prepare(&Copy, serde_json::Map::from_iter([("src".to_string(), json!(src)), ("dest".to_string(), json!(dest))]))?;
        if !root.is_dir() {
            return super::execute(&Copy, ctx, &copy_args).await;
        }
        let mut out = copy_dir(ctx, &copy_args, &root, &src, &dest, true).await?;
        if args.bool("delete", false)? {
            let base = if src.ends_with('/') {
                dest.trim_end_matches('/').to_string()
            } else {
                format!("{}/{}", dest.trim_end_matches('/'), root.file_name().and_then(|n| n.to_str()).unwrap_or(""))
            };
            let r = ctx.sh(format!("cd {} 2>/dev/null && find . -mindepth 1 -depth; true", q(&base))).await?;
            let extra: Vec<String> = r
                .stdout_str()
                .lines()
                .map(|l| l.trim_start_matches("./").to_string())
                .filter(|rel| !rel.is_empty() && !root.join(rel).exists() && std::fs::symlink_metadata(root.join(rel)).is_err())
                .collect();
            if !extra.is_empty() {
                out.changed = true;
                if ctx.diff {
                    out.diffs.push(super::FileDiff {
                        before: extra.iter().map(|e| format!("{base}/{e}\n")).collect(),
                        after: String::new(),
                        before_header: base.clone(),
                        after_header: base.clone(),
                    });
                }
                if !ctx.check {
                    let list: Vec<String> = extra.iter().map(|e| q(&format!("{base}/{e}"))).collect();
                    let r = ctx.sh(format!("rm -rf -- {}", list.join(" "))).await?;
                    if r.rc != 0 {
                        return fail(format!("cannot delete from {base}: {}", r.stderr_str().trim()));
                    }
                }
            }
        }
        Ok(out)
    }
}
