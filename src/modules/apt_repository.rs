//! `apt_repository`: a source line in /etc/apt/sources.list.d, named as Ansible names the file,
//! then the package lists refreshed.

use async_trait::async_trait;

use super::common::{content_diff, probe, Attrs, Write};
use super::{fail, Arg, Args, Change, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct AptRepository;

const SOURCE_TYPES: &[&str] = &["deb", "deb-src"];

/// A sources.list line: whether it is a source, enabled, its text and comment.
fn parse(line: &str) -> (bool, bool, String, String) {
    let mut l = line.trim();
    let mut enabled = true;
    if let Some(r) = l.strip_prefix('#') {
        enabled = false;
        l = r;
    }
    let mut comment = String::new();
    if let Some(i) = l.find('#').filter(|i| *i > 0) {
        comment = l[i + 1..].trim().to_string();
        l = &l[..i];
    }
    let chunks: Vec<&str> = l.split_whitespace().collect();
    let valid = chunks.first().is_some_and(|c| SOURCE_TYPES.contains(c));
    let source = if valid { chunks.join(" ") } else { l.trim().to_string() };
    (valid, enabled, source, comment)
}

/// The file Ansible puts a new source in: its URL's host and path, as `a_b_c.list`.
fn suggest_filename(source: &str) -> String {
    let mut l = String::new();
    let mut depth = 0;
    for c in source.chars() {
        match c {
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            _ if depth == 0 => l.push(c),
            _ => {}
        }
    }
    let l = match l.find("://") {
        Some(i) => {
            let start = l[..i].rfind(|c: char| !c.is_alphanumeric() && c != '_').map(|j| j + 1).unwrap_or(0);
            format!("{}{}", &l[..start], &l[i + 3..])
        }
        None => l,
    };
    let first = l.split_whitespace().find(|p| !SOURCE_TYPES.contains(p)).unwrap_or("");
    let first = match first.rsplit_once('@') {
        Some((_, host)) => host,
        None => first,
    };
    let cleaned: String = first.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' }).collect();
    format!("{}.list", cleaned.split_whitespace().collect::<Vec<_>>().join("_"))
}

fn render(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// A line as Ansible writes it back.
fn dump(line: &str) -> String {
    let (_, enabled, source, comment) = parse(line);
    let mut s = if enabled { source } else { format!("# {source}") };
    if !comment.is_empty() {
        s += &format!(" # {comment}");
    }
    s
}

#[async_trait]
impl Module for AptRepository {
    fn name(&self) -> &'static str {
        "apt_repository"
    }
    fn doc(&self) -> &'static str {
        include_str!("apt_repository.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("repo", "the source line").required(),
            Arg::str("state", "present or absent").choices(&["present", "absent"]).default("present"),
            Arg::str("filename", "the file's name under sources.list.d, without .list (default: made from the line's URL)"),
            Arg::bool("update_cache", "run apt-get update after a change").aliases(&["update-cache"]).default("true"),
            Arg::str("mode", "the new file's mode (a file already there keeps its own)").default("0644"),
            Arg::bool("validate_certs", "accepted for compatibility"),
            Arg::int("update_cache_retries", "accepted for compatibility"),
            Arg::int("update_cache_retry_max_delay", "accepted for compatibility"),
            Arg::str("codename", "accepted; PPAs are not supported"),
            Arg::bool("install_python_apt", "accepted; steward needs no python-apt"),
        ];
        A
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let repo = args.req_str("repo")?;
        if repo.starts_with("ppa:") {
            return fail("PPA sources are not supported; give the deb line with signed-by instead");
        }
        let present = args.str("state")?.as_deref() != Some("absent");
        let (valid, _, source, _) = parse(&repo);
        if !valid {
            return fail(format!("Invalid repository string: {repo}"));
        }
        let file = match args.str("filename")? {
            Some(f) => format!("/etc/apt/sources.list.d/{}.list", f.trim_end_matches(".list")),
            None => format!("/etc/apt/sources.list.d/{}", suggest_filename(&source)),
        };
        // Every sources file, each as `#FILE path` then its lines.
        let r = ctx.sh("for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do [ -f \"$f\" ] && { echo \"#FILE $f\"; cat \"$f\"; echo; }; done; true").await?;
        let mut files: Vec<(String, Vec<String>)> = Vec::new();
        for line in r.stdout_str().lines() {
            if let Some(f) = line.strip_prefix("#FILE ") {
                files.push((f.to_string(), Vec::new()));
            } else if let Some((_, lines)) = files.last_mut() {
                lines.push(line.to_string());
            }
        }
        for (_, lines) in files.iter_mut() {
            // The echo after each file's content.
            if lines.last().is_some_and(|l| l.is_empty()) {
                lines.pop();
            }
        }
        let originals: Vec<(String, String)> = files.iter().map(|(f, l)| (f.clone(), render(l))).collect();
        let mut new_files = files.clone();
        let mut found = false;
        for (_, lines) in new_files.iter_mut() {
            let mut kept = Vec::new();
            for l in lines.iter() {
                let (v, enabled, s, _) = parse(l);
                if v && s == source {
                    found = true;
                    if !present {
                        continue;
                    }
                    if !enabled {
                        kept.push(dump(&s));
                        continue;
                    }
                }
                kept.push(l.clone());
            }
            *lines = kept;
        }
        if present && !found {
            match new_files.iter_mut().find(|(f, _)| *f == file) {
                Some((_, lines)) => lines.push(source.clone()),
                None => new_files.push((file.clone(), vec![source.clone()])),
            }
        }
        let out = Outcome::ok()
            .with("repo", repo.clone())
            .with("state", if present { "present" } else { "absent" })
            .with("sources_added", Vec::<String>::new())
            .with("sources_removed", Vec::<String>::new());
        let mut plan = Plan::done(out);
        for (f, lines) in &new_files {
            let text = render(lines);
            let before = originals.iter().find(|(o, _)| o == f).map(|(_, t)| t.clone());
            if before.as_deref() == Some(text.as_str()) {
                continue;
            }
            plan.outcome.diffs.push(content_diff(f, before.as_ref().map(|b| b.as_bytes()), text.as_bytes()));
            if text.trim().is_empty() && before.is_some() {
                // A file left with no sources goes, as Ansible removes it.
                plan.change(Change::sh(format!("rm -f -- {}", q(f)), format!("cannot remove {f}")));
                continue;
            }
            // A new file gets the task's mode; one there keeps its own.
            let existed = if before.is_some() { probe(ctx, f, None, false).await?.lstat } else { None };
            let mode = args.str("mode")?.unwrap_or_else(|| "0644".into());
            let attrs = if existed.is_none() { Attrs { mode: Some(mode), ..Default::default() } } else { Attrs::default() };
            plan.change(Change::Write(Box::new(Write::new(f.clone(), text.into_bytes(), attrs, existed))));
        }
        if plan.outcome.changed && args.bool("update_cache", true)? {
            plan.changes.push(Change::sh("LC_ALL=C apt-get update -q >/dev/null", "Failed to update apt cache"));
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_files_as_ansible() {
        assert_eq!(suggest_filename("deb [trusted=yes] file:/srv/repo ./"), "file_srv_repo.list");
        assert_eq!(suggest_filename("deb http://dl.google.com/linux/chrome/deb/ stable main"), "dl_google_com_linux_chrome_deb.list");
        assert_eq!(
            suggest_filename("deb [arch=amd64 signed-by=/k.asc] https://user:pw@repo.example.com/apt stable main"),
            "repo_example_com_apt.list"
        );
        assert_eq!(parse("# deb http://a b c # note"), (true, false, "deb http://a b c".into(), "note".into()));
    }

    use super::super::testing::{args, probe_reply, Scripted, PROBE};

    const SOURCES: &str = "for f in /etc/apt/sources.list";

    #[tokio::test]
    async fn a_new_source_goes_to_its_own_file_then_the_lists_are_refreshed() {
        let host = Scripted::new().on(SOURCES, 0, b"#FILE /etc/apt/sources.list\ndeb http://deb.debian.org/debian bookworm main\n\n");
        let a = args(&AptRepository, "{repo: 'deb [trusted=yes] file:/srv/repo ./'}");
        let p = AptRepository.plan(&host.ctx(false, false), &a).await.unwrap();
        assert!(p.outcome.changed);
        let [Change::Write(w), Change::Sh { script, .. }] = p.changes.as_slice() else { panic!("a write and the refresh expected") };
        assert_eq!(w.path, "/etc/apt/sources.list.d/file_srv_repo.list");
        let super::super::common::Content::Bytes(b) = &w.content else { panic!() };
        assert_eq!(b, b"deb [trusted=yes] file:/srv/repo ./\n");
        assert!(w.existed.is_none() && w.attrs.mode.as_deref() == Some("0644"));
        assert_eq!(script, "LC_ALL=C apt-get update -q >/dev/null");
        assert_eq!(host.commands().len(), 1);
    }

    #[tokio::test]
    async fn absent_removes_the_line_and_a_file_left_empty() {
        let host = Scripted::new()
            .on(
                SOURCES,
                0,
                b"#FILE /etc/apt/sources.list\ndeb http://a b c\n\n#FILE /etc/apt/sources.list.d/x.list\n# deb http://x y z\n\n",
            )
            .on(PROBE, 0, &probe_reply(Some((0o644, b""))));
        let p = AptRepository
            .plan(&host.ctx(false, false), &args(&AptRepository, "{repo: 'deb http://x y z', state: absent, update_cache: false}"))
            .await
            .unwrap();
        let [Change::Sh { script, .. }] = p.changes.as_slice() else { panic!("one removal expected") };
        assert_eq!(script, "rm -f -- /etc/apt/sources.list.d/x.list");
        assert_eq!(p.outcome.diffs[0].before, "# deb http://x y z\n");
        // Already there (enabled): nothing to do.
        let p = AptRepository.plan(&host.ctx(false, false), &args(&AptRepository, "{repo: 'deb http://a b c'}")).await.unwrap();
        assert!(!p.outcome.changed && p.changes.is_empty());
    }
}
