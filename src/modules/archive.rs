//! `archive` (community.general): tar (plain, gz, bz2, xz) and zip archives, or one compressed
//! file, made on the host with tar, gzip, bzip2, xz and zip. A new archive is built under a
//! temporary name and replaces the old one only when its members differ (so re-running
//! changes nothing).

use super::{ExecCheck, fail, Arg, Args, Change, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;
use async_trait::async_trait;

pub struct Archive;

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
            Arg::str("dest", "the archive; needed for more than one file or a folder (one file: PATH.FORMAT)"),
            Arg::str("format", "gz, bz2, xz, tar or zip").choices(&["gz", "bz2", "xz", "tar", "zip"]).default("gz"),
            Arg::list("exclude_path", "paths (or globs) to leave out"),
            Arg::list("exclusion_patterns", "member name patterns to leave out"),
            Arg::bool("force_archive", "make an archive even of a single file").default("false"),
            Arg::bool("remove", "remove the sources once packed").default("false"),
        ];
        A
    }
    fn file_attrs(&self) -> bool {
        true
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
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
        let out = Outcome::ok()
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
        let script = format!(
            "set -e\nt=$(mktemp {dir}/.steward.XXXXXXXX)\ntrap 'rm -f \"$t\"' EXIT\n{build}\n\
             old=$({old} || true)\nnew=$({new})\n\
             if [ -e {d} ] && [ \"$old\" = \"$new\" ]; then echo SAME; else chmod 0644 \"$t\"; [ -e {d} ] && chmod --reference={d} \"$t\" 2>/dev/null; mv -f \"$t\" {d}; echo CHANGED; fi\n",
            old = listing(&d),
            new = listing("\"$t\""),
        );
        // The prediction (check mode), as Ansible's: an archive of several paths or a folder
        // is always new; a compressed file only when there is none yet. A real run builds it
        // and compares.
        let exists = ctx.sh(format!("[ -e {d} ] && echo EXISTS; true")).await?.stdout_str().contains("EXISTS");
        let mut plan = Plan::done(out.with("archived", paths.clone()));
        plan.outcome.changed = must_archive || !exists;
        plan.changes.push(Change::own(Build {
            script,
            dest,
            paths,
            remove,
            dest_state: if must_archive { "archive" } else { "compress" },
        }));
        Ok(plan)
    }
    async fn apply(&self, ctx: &TaskCtx, args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        let Some(b) = plan.own::<Build>().next() else {
            return plan.apply_all(ctx).await;
        };
        let mut out = Outcome { changed: false, ..plan.outcome.clone() };
        let r = ctx.sh(b.script.clone()).await?;
        let r = r.ok_or_fail(&format!("Error creating {}", b.dest))?;
        out.changed = r.stdout_str().contains("CHANGED");
        if b.remove {
            let list: Vec<String> = b.paths.iter().map(|p| q(p)).collect();
            let r = ctx.sh(format!("rm -rf -- {}", list.join(" "))).await?;
            r.ok_or_fail("Error deleting some source files")?;
            out.changed = true;
        }
        out = out.with("dest_state", b.dest_state);
        let attrs = super::common::Attrs::from_args(args)?;
        if attrs.is_empty() {
            return Ok(out);
        }
        let p = super::common::probe(ctx, &b.dest, None, false).await?;
        let mut rest = Plan::done(out);
        super::common::attr_changes(&b.dest, p.lstat.as_ref(), &attrs, false, true)?.plan_into(&b.dest, &mut rest);
        rest.apply_all(ctx).await
    }
}

/// The archive's build: under a temporary name, put in place when its members differ.
struct Build {
    script: String,
    dest: String,
    paths: Vec<String>,
    /// Remove the sources once packed.
    remove: bool,
    dest_state: &'static str,
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
