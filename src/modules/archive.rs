//! `archive` (community.general) and `unarchive`: tar (plain, gz, bz2, xz) and zip archives,
//! made and unpacked on the host with tar, gzip, bzip2, xz, zip and unzip. A new archive is
//! built under a temporary name and replaces the old one only when its members differ (so
//! re-running changes nothing); unpacking happens only when the tree differs from the archive.

use async_trait::async_trait;
use serde_json::Value;

use super::{fail, Arg, Args, ModError, Module, Outcome, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Archive;
pub struct Unarchive;

fn compress_flag(format: &str) -> &'static str {
    match format {
        "gz" => "z",
        "bz2" => "j",
        "xz" => "J",
        _ => "",
    }
}

fn compressor(format: &str) -> &'static str {
    match format {
        "bz2" => "bzip2",
        "xz" => "xz",
        _ => "gzip",
    }
}

/// The folder the archive's member names are relative to: the paths' common parent, with a
/// trailing slash (as Ansible's arcroot).
fn common_root(paths: &[String]) -> String {
    let parents: Vec<String> = paths.iter().map(|p| super::common::parent_dir(p.trim_end_matches('/'))).collect();
    let first = parents.first().cloned().unwrap_or_else(|| "/".into());
    let mut root: Vec<&str> = first.split('/').collect();
    for p in &parents[1..] {
        let parts: Vec<&str> = p.split('/').collect();
        let n = root.iter().zip(parts.iter()).take_while(|(a, b)| a == b).count();
        root.truncate(n);
    }
    let r = root.join("/");
    if r.is_empty() {
        "/".into()
    } else {
        format!("{}/", r.trim_end_matches('/'))
    }
}

fn has_glob(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

#[async_trait]
impl Module for Archive {
    fn name(&self) -> &'static str {
        "archive"
    }
    fn collection(&self) -> &'static str {
        "community.general"
    }
    fn doc(&self) -> &'static str {
        include_str!("archive.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::list("path", "files, folders or globs to pack").required(),
            Arg::str("dest", "the archive; needed for more than one file or a folder"),
            Arg::str("format", "gz (default), bz2, xz, tar or zip").choices(&["gz", "bz2", "xz", "tar", "zip"]),
            Arg::list("exclude_path", "paths (or globs) to leave out"),
            Arg::list("exclusion_patterns", "member name patterns to leave out"),
            Arg::bool("force_archive", "make an archive even of a single file"),
            Arg::bool("remove", "remove the sources once packed"),
        ];
        A
    }
    fn file_attrs(&self) -> bool {
        true
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let format = args.str("format")?.unwrap_or_else(|| "gz".into());
        let raw_paths = args.str_list("path")?;
        let globs = raw_paths.iter().any(|p| has_glob(p));
        // Expand globs on the host; the shell leaves a pattern with no match as it is.
        let mut script = String::from("for p in");
        for p in &raw_paths {
            script += " ";
            script += &if has_glob(p) {
                p.split('/').map(|s| if has_glob(s) { s.to_string() } else { q(s) }).collect::<Vec<_>>().join("/")
            } else {
                q(p)
            };
        }
        script +=
            "; do if [ -e \"$p\" ] || [ -L \"$p\" ]; then [ -d \"$p\" ] && echo \"D $p\" || echo \"F $p\"; else echo \"M $p\"; fi; done\n";
        for p in args.str_list("exclude_path")? {
            script += &format!("for p in {}; do echo \"X $p\"; done\n", if has_glob(&p) { p } else { q(&p) });
        }
        let r = ctx.sh(script).await?;
        let text = r.stdout_str();
        let excluded: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("X ")).collect();
        let mut found: Vec<(String, bool)> = text
            .lines()
            .filter_map(|l| {
                l.strip_prefix("D ").map(|p| (p.to_string(), true)).or_else(|| l.strip_prefix("F ").map(|p| (p.to_string(), false)))
            })
            .filter(|(p, _)| !excluded.contains(&p.as_str()))
            .collect();
        found.sort();
        found.dedup();
        let missing: Vec<String> = text.lines().filter_map(|l| l.strip_prefix("M ").map(str::to_string)).collect();
        if found.is_empty() {
            return fail(format!("Error, no source paths were found: {}", raw_paths.join(", ")));
        }
        let paths: Vec<String> = found.iter().map(|(p, _)| p.clone()).collect();
        let must_archive = args.bool("force_archive", false)? || globs || found[0].1 || found.len() > 1;
        let dest = match args.str("dest")? {
            Some(d) => d,
            None if !must_archive => format!("{}.{format}", paths[0]),
            None => return fail("Error, must specify \"dest\" when archiving multiple files or trees"),
        };
        let root = common_root(&paths);
        let mut out = Outcome::ok()
            .with("dest", dest.clone())
            .with("arcroot", root.clone())
            .with("expanded_paths", paths.clone())
            .with("missing", missing.clone())
            .with("expanded_exclude_paths", excluded.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let remove = args.bool("remove", false)?;
        if remove && paths.iter().any(|p| dest.starts_with(&format!("{}/", p.trim_end_matches('/'))) || *p == dest) {
            return fail(format!("Error, created archive can not be contained in source paths when remove=true: {dest}"));
        }
        let d = q(&dest);
        let dir = q(&super::common::parent_dir(&dest));
        let build = if must_archive {
            let members: Vec<String> = paths.iter().map(|p| q(p.strip_prefix(&root).unwrap_or(p).trim_start_matches('/'))).collect();
            let excl: String = args.str_list("exclusion_patterns")?.iter().map(|p| format!(" --exclude={}", q(p))).collect();
            if format == "zip" {
                let zx: String = args.str_list("exclusion_patterns")?.iter().map(|p| format!(" -x {}", q(p))).collect();
                format!("rm -f \"$t\" && (cd {} && zip -q -X -r \"$t\" {}{zx})", q(&root), members.join(" "))
            } else {
                format!("tar -C {} -c{}f \"$t\"{excl} {}", q(&root), compress_flag(&format), members.join(" "))
            }
        } else {
            format!("{} -c {} > \"$t\"", compressor(&format), q(&paths[0]))
        };
        // The listing that decides whether the archive changed: members with mode, owner,
        // size and time for archives; the content's checksum for a compressed file.
        let listing = |f: &str| -> String {
            if !must_archive {
                format!("{{ {} -dc {f} 2>/dev/null || true; }} | cksum", compressor(&format))
            } else if format == "zip" {
                format!("unzip -Z -l {f} 2>/dev/null | sed 1d")
            } else {
                format!("tar -tv --full-time -f {f} 2>/dev/null")
            }
        };
        if ctx.check {
            let r = ctx.sh(format!("[ -e {d} ] && echo EXISTS; true")).await?;
            out.changed = must_archive || !r.stdout_str().contains("EXISTS");
            return Ok(out.with("archived", paths.clone()));
        }
        let script = format!(
            "set -e\nt=$(mktemp {dir}/.steward.XXXXXXXX)\ntrap 'rm -f \"$t\"' EXIT\n{build}\n\
             old=$({old} || true)\nnew=$({new})\n\
             if [ -e {d} ] && [ \"$old\" = \"$new\" ]; then echo SAME; else chmod 0644 \"$t\"; [ -e {d} ] && chmod --reference={d} \"$t\" 2>/dev/null; mv -f \"$t\" {d}; echo CHANGED; fi\n",
            old = listing(&d),
            new = listing("\"$t\""),
        );
        let r = ctx.sh(script).await?;
        if r.rc != 0 {
            return fail(format!("Error creating {dest}: {}", r.stderr_str().trim()));
        }
        out.changed = r.stdout_str().contains("CHANGED");
        if remove {
            let list: Vec<String> = paths.iter().map(|p| q(p)).collect();
            let r = ctx.sh(format!("rm -rf -- {}", list.join(" "))).await?;
            if r.rc != 0 {
                return fail(format!("Error deleting some source files: {}", r.stderr_str().trim()));
            }
            out.changed = true;
        }
        let attrs = super::common::Attrs::from_args(args)?;
        if !attrs.is_empty() {
            let p = super::common::probe(ctx, &dest, None, false).await?;
            super::common::attr_changes(&dest, p.lstat.as_ref(), &attrs, false, true)?.apply(ctx, &dest, &mut out).await?;
        }
        out = out.with("archived", paths).with("dest_state", if must_archive { "archive" } else { "compress" });
        Ok(out)
    }
}

#[async_trait]
impl Module for Unarchive {
    fn supports_async(&self) -> bool {
        false
    }
    fn name(&self) -> &'static str {
        "unarchive"
    }
    fn doc(&self) -> &'static str {
        include_str!("unarchive.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("src", "the archive: a controller file (searched like copy's src), a host path with remote_src, or a URL").required(),
            Arg::str("dest", "the folder to unpack into; it must exist").required(),
            Arg::bool("remote_src", "the archive is already on the host"),
            Arg::str("creates", "skip when this path exists"),
            Arg::bool("list_files", "return the archive's member names in `files`"),
            Arg::list("exclude", "member names or patterns to leave out"),
            Arg::list("include", "only these member names or patterns"),
            Arg::list("extra_opts", "more options for tar or unzip"),
            Arg::bool("keep_newer", "do not replace files newer than the archive's"),
            Arg::bool("copy", "deprecated opposite of remote_src"),
            Arg::bool("validate_certs", "check https certificates (default yes)"),
            Arg::bool("decrypt", "accepted; vault-encrypted archives are decrypted on the controller"),
        ];
        A
    }
    fn file_attrs(&self) -> bool {
        true
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let src = args.req_str("src")?;
        let dest = args.req_str("dest")?;
        let remote = args.bool("remote_src", false)? || args.opt_bool("copy")? == Some(false);
        let mut out = Outcome::ok().with("dest", dest.clone()).with("src", src.clone());
        if let Some(c) = args.str("creates")? {
            let r = ctx.sh(format!("[ -e {} ]", q(&c))).await?;
            if r.rc == 0 {
                return Ok(out.with("skipped", true).msg(format!("skipped, since {c} exists")));
            }
        }
        let r = ctx.sh(format!("[ -d {} ]", q(&dest))).await?;
        if r.rc != 0 {
            return fail(format!("dest '{dest}' must be an existing dir"));
        }
        // Where the archive is on the host, and whether steward put it there.
        let (path, temp) = if src.contains("://") {
            (super::common::download(ctx, &src, "", args.bool("validate_certs", true)?).await?, true)
        } else if remote {
            if ctx.sh(format!("[ -f {} ]", q(&src))).await?.rc != 0 {
                return fail(format!("Source '{src}' does not exist"));
            }
            (src.clone(), false)
        } else {
            let Some(local) = ctx.find_local("files", &src) else {
                return fail(format!("Could not find or access '{src}' on the Ansible Controller."));
            };
            let tmp = format!("/tmp/.steward-archive.{}", super::common::sha1_hex(format!("{}{}", local.display(), ctx.host).as_bytes()));
            ctx.conn.put_file(&local, &tmp).await?;
            (tmp, true)
        };
        let result = unpack(ctx, args, &path, &dest, &mut out).await;
        if temp {
            let _ = ctx
                .conn
                .exec(crate::connection::ExecRequest {
                    cmd: format!("rm -f {}", q(&path)),
                    stdin: None,
                    env: vec![],
                    become_: ctx.become_.clone(),
                    cwd: None,
                    stdin_file: None,
                })
                .await;
        }
        result?;
        Ok(out)
    }
}

async fn unpack(ctx: &TaskCtx, args: &Args, path: &str, dest: &str, out: &mut Outcome) -> Result<(), ModError> {
    let (p, d) = (q(path), q(dest));
    let r = ctx
        .sh(format!("if unzip -Z1 {p} >/dev/null 2>&1; then echo zip; elif tar -tf {p} >/dev/null 2>&1; then echo tar; else echo none; fi"))
        .await?;
    let kind = r.stdout_str().trim().to_string();
    if kind == "none" {
        return fail(format!("Failed to find handler for \"{path}\". Make sure the required command to extract the file is installed."));
    }
    let extra: String = args.str_list("extra_opts")?.iter().map(|o| format!(" {}", q(o))).collect();
    let excludes = args.str_list("exclude")?;
    let includes = args.str_list("include")?;
    let keep_newer = args.bool("keep_newer", false)?;
    let attrs = super::common::Attrs::from_args(args)?;
    let (list_cmd, diff_cmd, extract_cmd, handler) = if kind == "zip" {
        let x: String = excludes.iter().map(|e| format!(" -x {}", q(e))).collect();
        let inc: String = includes.iter().map(|e| format!(" {}", q(e))).collect();
        (
            format!("unzip -Z1 {p}{inc}{x}"),
            // Unpacked next to the folder, then compared file by file.
            format!(
                "t=$(mktemp -d {d}/.steward.XXXXXXXX) && trap 'rm -rf \"$t\"' EXIT && unzip -qq -o{extra} {p}{inc}{x} -d \"$t\" && cd \"$t\" && \
                 find . ! -type d | while read -r f; do cmp -s \"$f\" {d}/\"$f\" || echo \"DIFF $f\"; done"
            ),
            format!("unzip -qq -o{}{extra} {p}{inc}{x} -d {d}", if keep_newer { " -u" } else { "" }),
            "ZipArchive",
        )
    } else {
        let x: String = excludes.iter().map(|e| format!(" --exclude={}", q(e))).collect();
        let inc: String = includes.iter().map(|e| format!(" {}", q(e))).collect();
        let owner: String =
            [attrs.owner.as_ref().map(|o| format!(" --owner={}", q(o))), attrs.group.as_ref().map(|g| format!(" --group={}", q(g)))]
                .into_iter()
                .flatten()
                .collect();
        (
            format!("tar -tf {p}{x}{inc}"),
            format!("LC_ALL=C tar -C {d} --diff -f {p}{owner}{extra}{x}{inc} 2>&1 | grep -v 'Uid differs\\|Gid differs' | sed 's/^/DIFF /'; true"),
            format!("tar -C {d} -x{} -f {p}{extra}{x}{inc}", if keep_newer { " --keep-newer-files" } else { "" }),
            "TgzArchive",
        )
    };
    let r = ctx.sh(format!("{list_cmd}; echo '#DIFF'; {diff_cmd}")).await?;
    let text = r.stdout_str();
    let (files, diff) = text.split_once("#DIFF\n").unwrap_or((&text, ""));
    let files: Vec<Value> = files.lines().map(|l| Value::String(l.to_string())).collect();
    out.data.insert("handler".into(), Value::String(handler.into()));
    if args.bool("list_files", false)? {
        out.data.insert("files".into(), Value::Array(files.clone()));
    }
    let mut changed = diff.lines().any(|l| l.starts_with("DIFF "));
    if !changed && !attrs.is_empty() {
        // The tree matches the archive; owner, group and mode may still differ.
        let names: Vec<String> =
            files.iter().filter_map(Value::as_str).map(|f| format!("{}/{}", dest.trim_end_matches('/'), f.trim_end_matches('/'))).collect();
        for n in names.iter().take(2000) {
            let pr = super::common::probe(ctx, n, None, false).await?;
            let ch = super::common::attr_changes(n, pr.lstat.as_ref(), &attrs, pr.lstat.as_ref().is_some_and(|s| s.is_dir()), false)?;
            if !ch.cmds.is_empty() {
                changed = true;
                break;
            }
        }
    }
    if !changed {
        return Ok(());
    }
    out.changed = true;
    if ctx.check {
        return Ok(());
    }
    let r = ctx.sh(extract_cmd.clone()).await?;
    if r.rc != 0 {
        return fail(format!("failed to unpack {path} to {dest}: {}", r.stderr_str().trim()));
    }
    out.data.insert(
        "extract_results".into(),
        serde_json::json!({"cmd": extract_cmd, "rc": r.rc, "out": r.stdout_str(), "err": r.stderr_str()}),
    );
    if !attrs.is_empty() {
        let names: Vec<String> = files
            .iter()
            .filter_map(Value::as_str)
            .map(|f| q(&format!("{}/{}", dest.trim_end_matches('/'), f.trim_end_matches('/'))))
            .collect();
        let mut cmds = Vec::new();
        if let Some(o) = &attrs.owner {
            cmds.push(format!("chown -h {} -- {}", q(o), names.join(" ")));
        }
        if let Some(g) = &attrs.group {
            cmds.push(format!("chgrp -h {} -- {}", q(g), names.join(" ")));
        }
        if let Some(m) = &attrs.mode {
            cmds.push(format!("chmod {} -- {}", q(m), names.join(" ")));
        }
        let r = ctx.sh(cmds.join(" && ")).await?;
        if r.rc != 0 {
            return fail(format!("cannot set attributes in {dest}: {}", r.stderr_str().trim()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_root_as_ansible() {
        assert_eq!(common_root(&["/home/alice".into()]), "/home/");
        assert_eq!(common_root(&["/srv/a/x".into(), "/srv/a/y/z".into()]), "/srv/a/");
        assert_eq!(common_root(&["/etc/x".into(), "/srv/y".into()]), "/");
        assert_eq!(compress_flag("xz"), "J");
    }
}
