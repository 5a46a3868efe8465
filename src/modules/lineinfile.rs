//! `lineinfile`: make sure one line is in a file (or is not), as Ansible's module decides it.

use async_trait::async_trait;
use serde_json::json;

use super::common::{self, probe};
use super::{args, fail, Arg, Args, ModError, Module, Outcome, Plan, TaskCtx};
use crate::template::{PyRegex, PyTemplate};

pub struct LineInFile;

const ARGS: &[Arg] = &[
    Arg::str("path", "the file to edit").aliases(&["dest", "destfile", "name"]).required(),
    Arg::str("line", "the line to insert or replace").aliases(&["value"]),
    Arg::str("regexp", "a regular expression: the last matching line is replaced (or removed)").aliases(&["regex"]),
    Arg::str("search_string", "a literal string: the last line containing it is replaced (or removed)"),
    Arg::str("state", "present or absent").choices(&["present", "absent"]).default("present"),
    Arg::str("insertafter", "EOF or a regular expression: insert after its last match (used when no line matches)").default("EOF"),
    Arg::str("insertbefore", "BOF or a regular expression: insert before its last match"),
    args::CREATE,
    args::BACKUP,
    Arg::bool("backrefs", "expand \\1 groups of regexp in line; do nothing if regexp does not match").default("false"),
    Arg::bool("firstmatch", "use the first match of insertafter/insertbefore instead of the last").default("false"),
    args::VALIDATE,
    args::ENCODING,
];

#[async_trait]
impl Module for LineInFile {
    fn name(&self) -> &'static str {
        "lineinfile"
    }
    fn doc(&self) -> &'static str {
        include_str!("lineinfile.md")
    }
    fn args(&self) -> &'static [Arg] {
        ARGS
    }
    fn file_attrs(&self) -> bool {
        true
    }
    fn first_probe(&self, args: &Args, _diff: bool) -> Option<super::ProbeKey> {
        let path = super::common::literal_path(args, "path")?;
        Some(super::ProbeKey { path, sum: None, content: true, real: false })
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let path = super::common::req_path(ctx, args, "path").await?;
        let present = args.str("state")?.as_deref() != Some("absent");
        let mut warnings = Vec::new();
        let empty_regexp = args.str("regexp")?.is_some_and(|r| r.is_empty());
        if empty_regexp || args.str("search_string")?.is_some_and(|r| r.is_empty()) {
            let mut m = format!(
                "The {} is an empty string, which will match every line in the file. This may have unintended consequences, such as replacing the last line in the file rather than appending.",
                if empty_regexp { "regular expression" } else { "search string" }
            );
            if empty_regexp {
                m += " If this is desired, use '^' to match every line in the file and avoid this warning.";
            }
            warnings.push(m);
        }
        let p = probe(ctx, &path, None, true).await?;
        if p.effective(true).is_some_and(|s| s.is_dir()) {
            return Ok(Plan::done(Outcome::failed(format!("Path {path} is a directory !")).with("rc", 256)));
        }
        let original = p.content.clone();
        if original.is_none() {
            if !present {
                return Ok(Plan::done(Outcome::ok().msg("file not present").with("found", 0)));
            }
            if !args.bool("create", false)? {
                return Ok(Plan::done(Outcome::failed(format!("Destination {path} does not exist !")).with("rc", 257)));
            }
        }
        let regexp = match args.str("regexp")? {
            Some(r) => Some(line_regex(&r).map_err(|e| ModError::Fail(format!("invalid regexp `{r}`: {e}")))?),
            None => None,
        };
        let search = args.str("search_string")?;
        let before = original.clone().unwrap_or_default();
        let mut lines = split_keep(&before);
        let (changed_lines, msg, found) = if present {
            let Some(line) = args.str("line")? else {
                return fail("line is required with state=present");
            };
            let (c, m) = present_edit(&mut lines, &line, regexp.as_ref(), search.as_deref(), args)?;
            (c, m, None)
        } else {
            if regexp.is_none() && search.is_none() && !args.has("line") {
                return fail("one of line, search_string, or regexp is required with state=absent");
            }
            let line = args.str("line")?;
            let n0 = lines.len();
            lines.retain(|l| {
                let bare = trim_eol(l);
                let hit = match (&regexp, &search) {
                    (Some(re), _) => re.is_match(&String::from_utf8_lossy(l)).unwrap_or(false),
                    (None, Some(s)) => contains(bare, s.as_bytes()),
                    _ => line.as_deref().is_some_and(|x| bare == x.as_bytes()),
                };
                !hit
            });
            let n = n0 - lines.len();
            (n > 0, if n > 0 { format!("{n} line(s) removed") } else { String::new() }, Some(n))
        };
        let after: Vec<u8> = lines.concat();
        let mut plan = Plan::done(Outcome { warnings, msg: Some(msg), ..Outcome::ok() });
        if let Some(n) = found {
            plan.outcome.data.insert("found".into(), json!(n));
        }
        let st = p.effective(true).cloned();
        let edit = common::Edit {
            path: &path,
            original: original.as_deref(),
            new: after,
            from_file: None,
            changed: changed_lines || original.is_none(),
            st: st.as_ref(),
            make_parents: true,
        };
        edit.plan_into(args, &mut plan, "backup")?;
        if plan.outcome.changed && !changed_lines && original.is_some() {
            plan.outcome.msg = Some("ownership, perms or SE linux context changed".into());
        }
        if plan.outcome.changed && original.is_none() && present {
            plan.outcome.msg = Some("line added".into());
        }
        Ok(plan)
    }
}

/// A regular expression (Python's dialect) searched in one line with its newline, where `$`
/// matches before that newline as in Python.
fn line_regex(r: &str) -> Result<PyRegex, minijinja::Error> {
    PyRegex::new(r, false, false)
}

fn hit(re: &PyRegex, line: &[u8]) -> bool {
    re.is_match(&String::from_utf8_lossy(line)).unwrap_or(false)
}

/// Lines with their endings kept, as Python's `readlines()`.
pub fn split_keep(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in data.iter().enumerate() {
        if *b == b'\n' {
            out.push(data[start..=i].to_vec());
            start = i + 1;
        }
    }
    if start < data.len() {
        out.push(data[start..].to_vec());
    }
    out
}

fn trim_eol(l: &[u8]) -> &[u8] {
    let mut end = l.len();
    while end > 0 && (l[end - 1] == b'\n' || l[end - 1] == b'\r') {
        end -= 1;
    }
    &l[..end]
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// Ansible's `present()`: returns whether the lines changed and the message.
fn present_edit(
    lines: &mut Vec<Vec<u8>>,
    line: &str,
    regexp: Option<&PyRegex>,
    search: Option<&str>,
    args: &Args,
) -> Result<(bool, String), ModError> {
    let insertafter = args.str("insertafter")?;
    let insertbefore = args.str("insertbefore")?;
    let backrefs = args.bool("backrefs", false)?;
    let firstmatch = args.bool("firstmatch", false)?;
    let ins_re = match (&insertafter, &insertbefore) {
        (Some(a), _) if a != "BOF" && a != "EOF" => {
            Some(line_regex(a).map_err(|e| ModError::Fail(format!("invalid insertafter `{a}`: {e}")))?)
        }
        (None, Some(b)) if b != "BOF" => Some(line_regex(b).map_err(|e| ModError::Fail(format!("invalid insertbefore `{b}`: {e}")))?),
        _ => None,
    };
    let bline = line.as_bytes();
    let mut index = (-1i64, -1i64);
    let mut matched: Option<Vec<u8>> = None;
    if let Some(re) = regexp {
        let template = if backrefs { Some(PyTemplate::parse(line, re).map_err(|e| ModError::Fail(e.to_string()))?) } else { None };
        for (n, l) in lines.iter().enumerate() {
            let text = String::from_utf8_lossy(l);
            if let Ok(Some(spans)) = re.first(&text) {
                index.0 = n as i64;
                let mut expanded = String::new();
                match &template {
                    Some(t) => t.expand(&text, &spans, &mut expanded),
                    None => expanded.push_str(line),
                }
                matched = Some(expanded.into_bytes());
                if firstmatch {
                    break;
                }
            }
        }
    }
    if let Some(s) = search {
        for (n, l) in lines.iter().enumerate() {
            if contains(l, s.as_bytes()) {
                index.0 = n as i64;
                matched = Some(bline.to_vec());
                if firstmatch {
                    break;
                }
            }
        }
    }
    if matched.is_none() {
        for (n, l) in lines.iter().enumerate() {
            if trim_eol(l) == bline {
                index.0 = n as i64;
            } else if let Some(re) = &ins_re {
                if hit(re, l) {
                    if insertafter.is_some() {
                        index.1 = n as i64 + 1;
                    } else {
                        index.1 = n as i64;
                    }
                    if firstmatch {
                        break;
                    }
                }
            }
        }
    }
    let with_nl = |mut v: Vec<u8>| {
        if !v.ends_with(b"\n") {
            v.push(b'\n');
        }
        v
    };
    if index.0 != -1 {
        let new_line = if backrefs { matched.clone().unwrap_or_else(|| bline.to_vec()) } else { bline.to_vec() };
        let new_line = with_nl(new_line);
        let i = index.0 as usize;
        if lines[i] != new_line {
            lines[i] = new_line;
            return Ok((true, "line replaced".into()));
        }
        return Ok((false, String::new()));
    }
    if backrefs {
        return Ok((false, String::new()));
    }
    let added = (true, "line added".to_string());
    if insertbefore.as_deref() == Some("BOF") || insertafter.as_deref() == Some("BOF") {
        lines.insert(0, with_nl(bline.to_vec()));
        return Ok(added);
    }
    if insertafter.as_deref() == Some("EOF") || index.1 == -1 {
        if let Some(last) = lines.last() {
            if !last.ends_with(b"\n") && !last.ends_with(b"\r") {
                lines.push(b"\n".to_vec());
            }
        }
        lines.push(with_nl(bline.to_vec()));
        return Ok(added);
    }
    let i = index.1 as usize;
    if insertafter.is_some() {
        if lines.len() == i {
            if trim_eol(&lines[i - 1]) != bline {
                lines.push(with_nl(bline.to_vec()));
                return Ok(added);
            }
            return Ok((false, String::new()));
        }
        if bline != trim_eol(&lines[i]) {
            lines.insert(i, with_nl(bline.to_vec()));
            return Ok(added);
        }
        return Ok((false, String::new()));
    }
    lines.insert(i, with_nl(bline.to_vec()));
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{args, probe_reply, Scripted, PROBE, WRITE};
    use super::super::{execute, Change, Module};
    use super::LineInFile;

    async fn plan(host: &std::sync::Arc<Scripted>, yaml: &str) -> super::Plan {
        LineInFile.plan(&host.ctx(false, true), &args(&LineInFile, yaml)).await.unwrap()
    }

    #[tokio::test]
    async fn replaces_the_last_matching_line() {
        let host = Scripted::new().on(PROBE, 0, &probe_reply(Some((0o644, b"a=1\n#b=2\nc=3\n#b=4\n"))));
        let p = plan(&host, "{path: /etc/x, regexp: '^#?b=', line: b=5}").await;
        assert!(p.outcome.changed);
        assert_eq!(p.outcome.msg.as_deref(), Some("line replaced"));
        let [Change::Write(w)] = p.changes.as_slice() else { panic!("one write expected") };
        let super::super::common::Content::Bytes(b) = &w.content else { panic!() };
        assert_eq!(b, b"a=1\n#b=2\nc=3\nb=5\n");
        assert_eq!(p.outcome.diffs[0].after, "a=1\n#b=2\nc=3\nb=5\n");
        assert!(w.backup.is_none() && !w.make_parents);
    }

    #[tokio::test]
    async fn a_line_already_there_changes_nothing() {
        let host = Scripted::new().on(PROBE, 0, &probe_reply(Some((0o644, b"x\nb=5\n"))));
        let p = plan(&host, "{path: /etc/x, regexp: '^b=', line: b=5}").await;
        assert!(!p.outcome.changed && p.changes.is_empty() && p.outcome.diffs.is_empty());
    }

    #[tokio::test]
    async fn inserts_after_the_last_match_or_at_the_end() {
        let host = Scripted::new().on(PROBE, 0, &probe_reply(Some((0o644, b"[a]\nk=1\n[b]\nk=2"))));
        let p = plan(&host, "{path: /etc/x, line: new, insertafter: '^\\[a\\]'}").await;
        assert_eq!(p.outcome.diffs[0].after, "[a]\nnew\nk=1\n[b]\nk=2");
        let p = plan(&host, "{path: /etc/x, line: new}").await;
        assert_eq!(p.outcome.diffs[0].after, "[a]\nk=1\n[b]\nk=2\nnew\n");
        let p = plan(&host, "{path: /etc/x, line: new, insertbefore: BOF}").await;
        assert_eq!(p.outcome.diffs[0].after, "new\n[a]\nk=1\n[b]\nk=2");
    }

    #[tokio::test]
    async fn backrefs_without_a_match_change_nothing() {
        let host = Scripted::new().on(PROBE, 0, &probe_reply(Some((0o644, b"a\n"))));
        let p = plan(&host, "{path: /etc/x, regexp: '^(z)=', line: '\\1=1', backrefs: true}").await;
        assert!(!p.outcome.changed);
        let host = Scripted::new().on(PROBE, 0, &probe_reply(Some((0o644, b"z=0\n"))));
        let p = plan(&host, "{path: /etc/x, regexp: '^(z)=', line: '\\1=1', backrefs: true}").await;
        assert_eq!(p.outcome.diffs[0].after, "z=1\n");
    }

    #[tokio::test]
    async fn absent_removes_every_match_and_counts_them() {
        let host = Scripted::new().on(PROBE, 0, &probe_reply(Some((0o600, b"a\nb\na\n"))));
        let p = plan(&host, "{path: /etc/x, line: a, state: absent}").await;
        assert_eq!(p.outcome.data["found"], 2);
        assert_eq!(p.outcome.msg.as_deref(), Some("2 line(s) removed"));
        assert_eq!(p.outcome.diffs[0].after, "b\n");
    }

    #[tokio::test]
    async fn a_missing_file_fails_unless_create() {
        let host = Scripted::new().on(PROBE, 0, &probe_reply(None));
        let p = plan(&host, "{path: /etc/x, line: a}").await;
        assert!(p.outcome.failed && p.outcome.msg.as_deref() == Some("Destination /etc/x does not exist !"));
        let p = plan(&host, "{path: /etc/x, line: a, create: true, backup: true}").await;
        let [Change::Write(w)] = p.changes.as_slice() else { panic!("one write expected") };
        // Nothing to back up, and the folder may be missing.
        assert!(w.backup.is_none() && w.make_parents);
        assert_eq!(p.outcome.msg.as_deref(), Some("line added"));
    }

    #[tokio::test]
    async fn only_the_mode_differs() {
        let host = Scripted::new().on(PROBE, 0, &probe_reply(Some((0o644, b"a\n"))));
        let p = plan(&host, "{path: /etc/x, line: a, mode: '0600'}").await;
        assert_eq!(p.outcome.msg.as_deref(), Some("ownership, perms or SE linux context changed"));
        let [Change::Sh { script, .. }] = p.changes.as_slice() else { panic!("one command expected") };
        assert_eq!(script, "chmod 0600 -- /etc/x");
    }

    #[tokio::test]
    async fn check_mode_predicts_and_sends_nothing_but_the_probe() {
        let host = Scripted::new().on(PROBE, 0, &probe_reply(Some((0o644, b"a\n"))));
        let a = args(&LineInFile, "{path: /etc/x, line: b}");
        let out = execute(&LineInFile, &host.ctx(true, false), &a).await.unwrap();
        assert!(out.changed && out.diffs.is_empty());
        assert_eq!(host.commands().len(), 1);
        // A real run writes the new content through a temporary file.
        let host = host.on(WRITE, 0, b"");
        let out = execute(&LineInFile, &host.ctx(false, true), &a).await.unwrap();
        assert!(out.changed && out.diffs.len() == 1);
        assert_eq!(host.stdin_of(WRITE).as_deref(), Some(&b"a\nb\n"[..]));
    }
}
