//! `replace`: replace every match of a regular expression in a file.

use async_trait::async_trait;

use super::common::{self, probe};
use super::{args, Arg, Args, ExecCheck, ModError, Module, Outcome, Plan, TaskCtx};
use crate::template::{py_sub, PyRegex};

pub struct Replace;

const ARGS: &[Arg] = &[
    Arg::str("path", "the file to edit").aliases(&["dest", "destfile", "name"]).required(),
    Arg::str("regexp", "a (Python-style) regular expression, matched in multiline mode").required(),
    Arg::str("replace", "the replacement; \\1 and \\g<name> refer to groups; empty deletes the matches").default(""),
    Arg::str("after", "only replace after the first match of this expression"),
    Arg::str("before", "only replace before the last match of this expression"),
    args::BACKUP,
    args::VALIDATE,
    args::ENCODING,
];

#[async_trait]
impl Module for Replace {
    fn name(&self) -> &'static str {
        "replace"
    }
    fn doc(&self) -> &'static str {
        include_str!("replace.md")
    }
    fn args(&self) -> &'static [Arg] {
        ARGS
    }
    fn file_attrs(&self) -> bool {
        true
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let path = super::common::req_path(ctx, args, "path").await?;
        let p = probe(ctx, &path, None, true).await?;
        if p.effective(true).is_some_and(|s| s.is_dir()) {
            return Ok(Plan::done(Outcome::failed(format!("Path {path} is a directory !")).with("rc", 256)));
        }
        let original = match p.content.clone() {
            Some(c) => c,
            // Not a regular file (a device such as /dev/null): read it as Python's open() does.
            None if p.exists => {
                let r = ctx.sh(format!("cat -- {}", crate::pytext::shell_quote(&path))).await?;
                r.ok_or_fail(&format!("Unable to read the contents of '{path}'"))?.stdout
            }
            None => return Ok(Plan::done(Outcome::failed(format!("Path {path} does not exist !")).with("rc", 257))),
        };
        let text = String::from_utf8_lossy(&original).into_owned();
        let bad = |e: minijinja::Error| ModError::Fail(format!("Unable to process replace due to error: {e}"));
        let (after, before) = (args.str("after")?.filter(|s| !s.is_empty()), args.str("before")?.filter(|s| !s.is_empty()));
        let pattern = match (&after, &before) {
            (Some(a), Some(b)) => format!("{a}(?P<subsection>.*?){b}"),
            (Some(a), None) => format!("{a}(?P<subsection>.*)"),
            (None, Some(b)) => format!("(?P<subsection>.*){b}"),
            (None, None) => String::new(),
        };
        let (start, end) = if pattern.is_empty() {
            (0, text.len())
        } else {
            let re = PyRegex::new(&format!("(?s){pattern}"), false, false).map_err(bad)?;
            let group = re.group_index("subsection").unwrap_or(1);
            match re.first(&text).map_err(bad)?.and_then(|spans| spans.get(group).copied().flatten()) {
                Some(span) => span,
                None => {
                    return Ok(Plan::done(
                        Outcome::ok().with("rc", 0).msg(format!("Pattern for before/after params did not match the given file: {pattern}")),
                    ))
                }
            }
        };
        let section = &text[start..end];
        let re = PyRegex::new(&args.req_str("regexp")?, false, true).map_err(bad)?;
        let rep = args.str("replace")?.unwrap_or_default();
        let (replaced, count) = py_sub(&re, &rep, section, 0).map_err(bad)?;
        let changed = count > 0 && replaced != section;
        let result = format!("{}{}{}", &text[..start], replaced, &text[end..]);
        let msg = if changed { format!("{count} replacements made") } else { String::new() };
        let mut plan = Plan::done(Outcome::ok().with("rc", 0).msg(msg));
        let st = p.effective(true).cloned();
        let edit = common::Edit {
            path: &path,
            original: Some(&original),
            new: result.into_bytes(),
            from_file: None,
            changed,
            st: st.as_ref(),
            make_parents: false,
        };
        edit.plan_into(args, &mut plan, "backup_file")?;
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::Content;
    use super::super::testing::{args, probe_reply, Scripted, PROBE, WRITE};
    use super::super::{execute, Change, Module};
    use super::Replace;

    async fn plan(host: &std::sync::Arc<Scripted>, yaml: &str) -> super::Plan {
        Replace.plan(&host.ctx(false, true), &args(&Replace, yaml)).await.unwrap()
    }

    #[tokio::test]
    async fn replaces_every_match_with_groups() {
        let host = Scripted::new().on(PROBE, 0, &probe_reply(Some((0o644, b"a=1\nb=2\nc\n"))));
        let p = plan(&host, "{path: /etc/x, regexp: '^(\\w)=(\\d)$', replace: '\\2:\\1', backup: true}").await;
        assert!(p.outcome.changed);
        assert_eq!(p.outcome.msg.as_deref(), Some("2 replacements made"));
        let [Change::Write(w)] = p.changes.as_slice() else { panic!("one write expected") };
        let Content::Bytes(b) = &w.content else { panic!("bytes expected") };
        assert_eq!(b, b"1:a\n2:b\nc\n");
        assert_eq!(w.backup, Some("backup_file"));
        assert!(!w.make_parents);
        assert_eq!((p.outcome.diffs[0].before.as_str(), p.outcome.diffs[0].after.as_str()), ("a=1\nb=2\nc\n", "1:a\n2:b\nc\n"));
    }

    #[tokio::test]
    async fn no_match_changes_nothing() {
        let host = Scripted::new().on(PROBE, 0, &probe_reply(Some((0o644, b"a=1\n"))));
        let p = plan(&host, "{path: /etc/x, regexp: '^z', replace: w}").await;
        assert!(!p.outcome.changed && p.changes.is_empty() && p.outcome.diffs.is_empty());
        assert_eq!(p.outcome.msg.as_deref(), Some(""));
        assert_eq!(p.outcome.data["rc"], 0);
        // The same text put back is no change either.
        let p = plan(&host, "{path: /etc/x, regexp: '^a', replace: a}").await;
        assert!(!p.outcome.changed);
    }

    #[tokio::test]
    async fn only_between_after_and_before() {
        let host = Scripted::new().on(PROBE, 0, &probe_reply(Some((0o644, b"x\n[s]\nx\n[t]\nx\n"))));
        let p = plan(&host, "{path: /etc/x, regexp: '^x$', replace: z, after: '\\[s\\]', before: '\\[t\\]'}").await;
        assert_eq!(p.outcome.diffs[0].after, "x\n[s]\nz\n[t]\nx\n");
        assert_eq!(p.outcome.msg.as_deref(), Some("1 replacements made"));
        let p = plan(&host, "{path: /etc/x, regexp: '^x$', replace: z, after: nomatch}").await;
        assert!(!p.outcome.changed && p.changes.is_empty());
        assert_eq!(
            p.outcome.msg.as_deref(),
            Some("Pattern for before/after params did not match the given file: nomatch(?P<subsection>.*)")
        );
    }

    #[tokio::test]
    async fn a_missing_file_or_a_folder_fails() {
        let host = Scripted::new().on(PROBE, 0, &probe_reply(None));
        let p = plan(&host, "{path: /etc/x, regexp: a}").await;
        assert!(p.outcome.failed && p.changes.is_empty());
        assert_eq!(p.outcome.data["rc"], 257);
        let dir = b"PDIR\nSTAT directory|755|0|0|root|root|4096|1700000000|1700000000|1700000000|42|2|2049\nACCESS rwx\n";
        let host = Scripted::new().on(PROBE, 0, dir);
        let p = plan(&host, "{path: /etc, regexp: a}").await;
        assert_eq!(p.outcome.msg.as_deref(), Some("Path /etc is a directory !"));
    }

    #[tokio::test]
    async fn only_the_owner_differs() {
        let host = Scripted::new().on(PROBE, 0, &probe_reply(Some((0o644, b"a\n"))));
        let p = plan(&host, "{path: /etc/x, regexp: z, owner: app}").await;
        assert!(p.outcome.changed);
        let [Change::Sh { script, .. }] = p.changes.as_slice() else { panic!("one command expected") };
        assert_eq!(script, "chown app -- /etc/x");
    }

    #[tokio::test]
    async fn check_mode_sends_the_probe_only_and_a_real_run_writes() {
        let host = Scripted::new().on(PROBE, 0, &probe_reply(Some((0o600, b"old\n"))));
        let a = args(&Replace, "{path: /etc/x, regexp: old, replace: new}");
        let out = execute(&Replace, &host.ctx(true, false), &a).await.unwrap();
        assert!(out.changed && out.diffs.is_empty());
        assert_eq!(host.commands().len(), 1);
        let host = host.on(WRITE, 0, b"");
        let out = execute(&Replace, &host.ctx(false, true), &a).await.unwrap();
        assert!(out.changed && out.diffs.len() == 1);
        assert_eq!(host.stdin_of(WRITE).as_deref(), Some(&b"new\n"[..]));
        // The file's mode is kept.
        let write = host.commands().into_iter().find(|c| c.contains(WRITE)).unwrap();
        assert!(write.contains("chmod 0600"), "{write}");
    }
}
