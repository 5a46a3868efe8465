//! `replace`: replace every match of a regular expression in a file.

use async_trait::async_trait;

use super::common::{self, probe};
use super::{Arg, Args, ModError, Module, Outcome, TaskCtx};
use crate::template::{py_sub, PyRegex};

pub struct Replace;

const ARGS: &[Arg] = &[
    Arg::str("path", "the file to edit").aliases(&["dest", "destfile", "name"]).required(),
    Arg::str("regexp", "a (Python-style) regular expression, matched in multiline mode").required(),
    Arg::str("replace", "the replacement; \\1 and \\g<name> refer to groups (default: empty)"),
    Arg::str("after", "only replace after the first match of this expression"),
    Arg::str("before", "only replace before the last match of this expression"),
    Arg::bool("backup", "keep a timestamped copy of the old file"),
    Arg::str("validate", "a command to check the new file; %s is its path"),
    Arg::str("encoding", "accepted for compatibility"),
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
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let path = super::common::req_path(ctx, args, "path").await?;
        let p = probe(ctx, &path, None, true).await?;
        if p.effective(true).is_some_and(|s| s.is_dir()) {
            return Ok(Outcome::failed(format!("Path {path} is a directory !")).with("rc", 256));
        }
        let original = match p.content.clone() {
            Some(c) => c,
            // Not a regular file (a device such as /dev/null): read it as Python's open() does.
            None if p.exists => {
                let r = ctx.sh(format!("cat -- {}", crate::pytext::shell_quote(&path))).await?;
                if r.rc != 0 {
                    return super::fail(format!("Unable to read the contents of '{path}': {}", r.stderr_str().trim()));
                }
                r.stdout
            }
            None => return Ok(Outcome::failed(format!("Path {path} does not exist !")).with("rc", 257)),
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
                    return Ok(Outcome::ok()
                        .with("rc", 0)
                        .msg(format!("Pattern for before/after params did not match the given file: {pattern}")))
                }
            }
        };
        let section = &text[start..end];
        let re = PyRegex::new(&args.req_str("regexp")?, false, true).map_err(bad)?;
        let rep = args.str("replace")?.unwrap_or_default();
        let (replaced, count) = py_sub(&re, &rep, section, 0).map_err(bad)?;
        let changed = count > 0 && replaced != section;
        let result = format!("{}{}{}", &text[..start], replaced, &text[end..]);
        let mut out = Outcome::ok().with("rc", 0);
        out.msg = Some(if changed { format!("{count} replacements made") } else { String::new() });
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
        edit.commit(ctx, args, &mut out, "backup_file").await?;
        Ok(out)
    }
}
