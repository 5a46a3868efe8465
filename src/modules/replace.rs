//! `replace`: replace every match of a regular expression in a file.

use async_trait::async_trait;

use super::common::{self, probe};
use super::{Arg, Args, ModError, Module, Outcome, TaskCtx};

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
        "Replace all matches of a regular expression in a file.\n\nexample:\n  - replace:\n      path: /etc/app.conf\n      regexp: '^(listen\\s*=\\s*).*$'\n      replace: '\\g<1>0.0.0.0:8080'\n"
    }
    fn args(&self) -> &'static [Arg] {
        ARGS
    }
    fn file_attrs(&self) -> bool {
        true
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let path = args.req_str("path")?;
        let p = probe(ctx, &path, None, true).await?;
        let Some(original) = p.content.clone() else {
            return Ok(Outcome::failed(format!("Path {path} does not exist !")).with("rc", 257));
        };
        let text = String::from_utf8_lossy(&original).into_owned();
        let pattern = args.req_str("regexp")?;
        let re = regex::RegexBuilder::new(&pattern)
            .multi_line(true)
            .build()
            .map_err(|e| ModError::Fail(format!("invalid regexp `{pattern}`: {e}")))?;
        let mut start = 0;
        let mut end = text.len();
        if let Some(a) = args.str("after")? {
            let r = regex::RegexBuilder::new(&a)
                .multi_line(true)
                .dot_matches_new_line(true)
                .build()
                .map_err(|e| ModError::Fail(e.to_string()))?;
            if let Some(m) = r.find(&text) {
                start = m.end();
            }
        }
        if let Some(b) = args.str("before")? {
            let r = regex::RegexBuilder::new(&b)
                .multi_line(true)
                .dot_matches_new_line(true)
                .build()
                .map_err(|e| ModError::Fail(e.to_string()))?;
            if let Some(m) = r.find_iter(&text).last() {
                end = m.start();
            }
        }
        if start > end {
            start = end;
        }
        let section = &text[start..end];
        let rep = args.str("replace")?.unwrap_or_default();
        let rep = crate::template::py_replacement(&rep);
        let count = re.find_iter(section).count();
        let replaced = re.replace_all(section, rep.as_str()).into_owned();
        let result = format!("{}{}{}", &text[..start], replaced, &text[end..]);
        let mut out = Outcome::ok();
        let st = p.effective(true).cloned();
        let changed = result != text;
        out.msg = Some(if changed { format!("{count} replacements made") } else { String::new() });
        let edit =
            common::Edit { path: &path, original: Some(&original), new: result.into_bytes(), from_file: None, changed, st: st.as_ref() };
        edit.commit(ctx, args, &mut out, "backup_file").await?;
        Ok(out)
    }
}
