//! `unarchive`: a tar (plain, gz, bz2, xz) or zip archive unpacked into a folder on the host
//! with tar or unzip. It is unpacked only when the tree differs from the archive (tar's
//! `--diff`, or unzip's members compared one by one), so re-running changes nothing.

use async_trait::async_trait;
use serde_json::Value;

use super::common::{attr_changes, probe, Attrs};
use super::{ExecCheck, fail, Arg, Args, Change, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Unarchive;

/// Where the archive is on the host, and whether steward put it there (and so removes it).
/// One from the controller or a URL is copied to the host: deciding needs it there.
async fn fetch(ctx: &TaskCtx, args: &Args) -> Result<(String, bool), ModError> {
    let src = args.req_str("src")?;
    let remote = args.bool("remote_src", false)? || args.opt_bool("copy")? == Some(false);
    if src.contains("://") {
        return Ok((super::common::download(ctx, &src, "", args.bool("validate_certs", true)?).await?, true));
    }
    if remote {
        if ctx.sh(format!("[ -f {} ]", q(&src))).await?.rc != 0 {
            return fail(format!("Source '{src}' does not exist"));
        }
        return Ok((src, false));
    }
    let Some(local) = ctx.find_local("files", &src) else {
        return fail(ctx.not_found("files", &src));
    };
    let tmp = format!("/tmp/.steward-archive.{}", super::common::sha1_hex(format!("{}{}", local.display(), ctx.host).as_bytes()));
    ctx.conn.put_file(&local, &tmp).await?;
    Ok((tmp, true))
}

/// Remove the copy [`fetch`] made.
async fn remove_copy(ctx: &TaskCtx, path: &str) {
    let req = crate::connection::ExecRequest {
        cmd: format!("rm -f {}", q(path)),
        stdin: None,
        env: vec![],
        become_: ctx.become_.clone(),
        cwd: None,
        stdin_file: None,
        read_only: false,
    };
    let _ = ctx.conn.exec(req).await;
}

/// The archive's kind on the host: `zip` or `tar`.
async fn kind(ctx: &TaskCtx, path: &str) -> Result<String, ModError> {
    let p = q(path);
    let r = ctx
        .sh(format!("if unzip -Z1 {p} >/dev/null 2>&1; then echo zip; elif tar -tf {p} >/dev/null 2>&1; then echo tar; else echo none; fi"))
        .await?;
    let kind = r.stdout_str().trim().to_string();
    if kind == "none" {
        return fail(format!("Failed to find handler for \"{path}\". Make sure the required command to extract the file is installed."));
    }
    Ok(kind)
}

/// A handler's command lines: list the members, tell what differs in the tree, extract.
struct Handler {
    list: String,
    diff: String,
    extract: String,
    name: &'static str,
}

fn handler(kind: &str, args: &Args, path: &str, dest: &str) -> Result<Handler, ModError> {
    let (p, d) = (q(path), q(dest));
    let extra: String = args.str_list("extra_opts")?.iter().map(|o| format!(" {}", q(o))).collect();
    let excludes = args.str_list("exclude")?;
    let includes = args.str_list("include")?;
    let keep_newer = args.bool("keep_newer", false)?;
    let attrs = Attrs::from_args(args)?;
    Ok(if kind == "zip" {
        let x: String = excludes.iter().map(|e| format!(" -x {}", q(e))).collect();
        let inc: String = includes.iter().map(|e| format!(" {}", q(e))).collect();
        Handler {
            list: format!("unzip -Z1 {p}{inc}{x}"),
            // Unpacked next to the folder, then compared file by file.
            diff: format!(
                "t=$(mktemp -d {d}/.steward.XXXXXXXX) && trap 'rm -rf \"$t\"' EXIT && unzip -qq -o{extra} {p}{inc}{x} -d \"$t\" && cd \"$t\" && \
                 find . ! -type d | while read -r f; do cmp -s \"$f\" {d}/\"$f\" || echo \"DIFF $f\"; done"
            ),
            extract: format!("unzip -qq -o{}{extra} {p}{inc}{x} -d {d}", if keep_newer { " -u" } else { "" }),
            name: "ZipArchive",
        }
    } else {
        let x: String = excludes.iter().map(|e| format!(" --exclude={}", q(e))).collect();
        let inc: String = includes.iter().map(|e| format!(" {}", q(e))).collect();
        let owner: String =
            [attrs.owner.as_ref().map(|o| format!(" --owner={}", q(o))), attrs.group.as_ref().map(|g| format!(" --group={}", q(g)))]
                .into_iter()
                .flatten()
                .collect();
        Handler {
            list: format!("tar -tf {p}{x}{inc}"),
            diff: format!("LC_ALL=C tar -C {d} --diff -f {p}{owner}{extra}{x}{inc} 2>&1 | grep -v 'Uid differs\\|Gid differs' | sed 's/^/DIFF /'; true"),
            extract: format!("tar -C {d} -x{} -f {p}{extra}{x}{inc}", if keep_newer { " --keep-newer-files" } else { "" }),
            name: "TgzArchive",
        }
    })
}

/// The extraction: what kind of archive it is, and its members (for owner, group and mode).
struct Extract {
    kind: String,
    files: Vec<String>,
}

/// Compare the tree with the archive at `path` on the host; `Some` when it must be unpacked.
async fn decide(ctx: &TaskCtx, args: &Args, path: &str, dest: &str, out: &mut Outcome) -> Result<Option<Extract>, ModError> {
    let kind = kind(ctx, path).await?;
    let h = handler(&kind, args, path, dest)?;
    let r = ctx.sh(format!("{}; echo '#DIFF'; {}", h.list, h.diff)).await?;
    let text = r.stdout_str();
    let (files, diff) = text.split_once("#DIFF\n").unwrap_or((&text, ""));
    let files: Vec<String> = files.lines().map(str::to_string).collect();
    out.data.insert("handler".into(), Value::String(h.name.into()));
    if args.bool("list_files", false)? {
        out.data.insert("files".into(), Value::Array(files.iter().cloned().map(Value::String).collect()));
    }
    let mut changed = diff.lines().any(|l| l.starts_with("DIFF "));
    let attrs = Attrs::from_args(args)?;
    if !changed && !attrs.is_empty() {
        // The tree matches the archive; owner, group and mode may still differ.
        for f in files.iter().take(2000) {
            let n = format!("{}/{}", dest.trim_end_matches('/'), f.trim_end_matches('/'));
            let pr = probe(ctx, &n, None, false).await?;
            let ch = attr_changes(&n, pr.lstat.as_ref(), &attrs, pr.lstat.as_ref().is_some_and(|s| s.is_dir()), false)?;
            if !ch.cmds.is_empty() {
                changed = true;
                break;
            }
        }
    }
    Ok(changed.then_some(Extract { kind, files }))
}

/// Unpack, then set the task's owner, group and mode on every member.
async fn extract(ctx: &TaskCtx, args: &Args, x: &Extract, path: &str, dest: &str, out: &mut Outcome) -> Result<(), ModError> {
    let cmd = handler(&x.kind, args, path, dest)?.extract;
    let r = ctx.sh(cmd.clone()).await?;
    let r = r.ok_or_fail(&format!("failed to unpack {path} to {dest}"))?;
    out.data.insert("extract_results".into(), serde_json::json!({"cmd": cmd, "rc": r.rc, "out": r.stdout_str(), "err": r.stderr_str()}));
    let attrs = Attrs::from_args(args)?;
    if attrs.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = x.files.iter().map(|f| q(&format!("{}/{}", dest.trim_end_matches('/'), f.trim_end_matches('/')))).collect();
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
    r.ok_or_fail(&format!("cannot set attributes in {dest}"))?;
    Ok(())
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
            Arg::bool("remote_src", "the archive is already on the host").default("false"),
            Arg::str("creates", "skip when this path exists"),
            Arg::bool("list_files", "return the archive's member names in `files`").default("false"),
            Arg::list("exclude", "member names or patterns to leave out"),
            Arg::list("include", "only these member names or patterns"),
            Arg::list("extra_opts", "more options for tar or unzip"),
            Arg::bool("keep_newer", "do not replace files newer than the archive's").default("false"),
            Arg::bool("copy", "deprecated opposite of remote_src").default("true"),
            Arg::bool("validate_certs", "check https certificates").default("true"),
            Arg::bool("decrypt", "accepted; vault-encrypted archives are decrypted on the controller"),
        ];
        A
    }
    fn file_attrs(&self) -> bool {
        true
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let src = args.req_str("src")?;
        let dest = args.req_str("dest")?;
        let mut out = Outcome::ok().with("dest", dest.clone()).with("src", src.clone());
        if let Some(c) = args.str("creates")? {
            let r = ctx.sh(format!("[ -e {} ]", q(&c))).await?;
            if r.rc == 0 {
                return Ok(Plan::done(out.with("skipped", true).msg(format!("skipped, since {c} exists"))));
            }
        }
        let r = ctx.sh(format!("[ -d {} ]", q(&dest))).await?;
        if r.rc != 0 {
            return fail(format!("dest '{dest}' must be an existing dir"));
        }
        // The copy made to decide goes at once (check mode leaves nothing behind); a real
        // run that unpacks copies the archive again.
        let (path, temp) = fetch(ctx, args).await?;
        let decided = decide(ctx, args, &path, &dest, &mut out).await;
        if temp {
            remove_copy(ctx, &path).await;
        }
        let mut plan = Plan::done(out);
        if let Some(x) = decided? {
            plan.change(Change::own(x));
        }
        Ok(plan)
    }
    async fn apply(&self, ctx: &TaskCtx, args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        let Some(x) = plan.own::<Extract>().next() else {
            return Ok(plan.outcome);
        };
        let dest = args.req_str("dest")?;
        let mut out = plan.outcome.clone();
        let (path, temp) = fetch(ctx, args).await?;
        let done = extract(ctx, args, x, &path, &dest, &mut out).await;
        if temp {
            remove_copy(ctx, &path).await;
        }
        done.map(|()| out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::execute;
    use super::super::testing::{args, Scripted};
    use super::Unarchive;

    fn host(diff: &[u8]) -> std::sync::Arc<Scripted> {
        let mut listing = b"app/\napp/bin\n#DIFF\n".to_vec();
        listing.extend_from_slice(diff);
        Scripted::new()
            .on("[ -d /srv ]", 0, b"")
            .on("[ -f /tmp/app.tgz ]", 0, b"")
            .on("then echo zip; elif", 0, b"tar\n")
            .on("echo '#DIFF'", 0, &listing)
            .on("tar -C /srv -x", 0, b"")
    }

    #[tokio::test]
    async fn unpacks_only_when_the_tree_differs() {
        let a = args(&Unarchive, "{src: /tmp/app.tgz, dest: /srv, remote_src: true, list_files: true}");
        let h = host(b"");
        let out = execute(&Unarchive, &h.ctx(false, false), &a).await.unwrap();
        assert!(!out.changed && out.data["handler"] == "TgzArchive" && out.data["files"] == serde_json::json!(["app/", "app/bin"]));
        assert!(!h.commands().iter().any(|c| c.contains(" -x -f ")));
        let h = host(b"DIFF app/bin: Mod time differs\n");
        let out = execute(&Unarchive, &h.ctx(true, false), &a).await.unwrap();
        assert!(out.changed && h.commands().len() == 4, "check mode: look-ups only");
        let out = execute(&Unarchive, &h.ctx(false, false), &a).await.unwrap();
        assert!(out.changed && out.data["extract_results"]["cmd"] == "tar -C /srv -x -f /tmp/app.tgz");
    }
}
