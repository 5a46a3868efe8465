//! `blockinfile`: a block of lines between markers, with Ansible's default marker so that blocks
//! Ansible wrote are recognised.

use async_trait::async_trait;
use regex::Regex;

use super::common::{self, probe};
use super::{Arg, Args, ModError, Module, Outcome, TaskCtx};

pub struct BlockInFile;

const ARGS: &[Arg] = &[
    Arg::str("path", "the file to edit").aliases(&["dest", "destfile", "name"]).required(),
    Arg::str("block", "the lines to put between the markers").aliases(&["content"]),
    Arg::str("marker", "marker line template; {mark} becomes BEGIN or END (default: # {mark} ANSIBLE MANAGED BLOCK)"),
    Arg::str("marker_begin", "text for {mark} in the first marker (default BEGIN)"),
    Arg::str("marker_end", "text for {mark} in the last marker (default END)"),
    Arg::str("state", "present (default) or absent").choices(&["present", "absent"]),
    Arg::str("insertafter", "EOF (default) or a regular expression"),
    Arg::str("insertbefore", "BOF or a regular expression"),
    Arg::bool("create", "create the file if it is missing"),
    Arg::bool("backup", "keep a timestamped copy of the old file"),
    Arg::bool("prepend_newline", "add an empty line before the block"),
    Arg::bool("append_newline", "add an empty line after the block"),
    Arg::str("validate", "a command to check the new file; %s is its path"),
    Arg::str("encoding", "accepted for compatibility"),
];

#[async_trait]
impl Module for BlockInFile {
    fn name(&self) -> &'static str {
        "blockinfile"
    }
    fn doc(&self) -> &'static str {
        "Insert, update or remove a block of lines surrounded by marker lines.\n\nexample:\n  - blockinfile:\n      path: /etc/hosts\n      block: |\n        10.0.0.5 db1\n        10.0.0.6 db2\n"
    }
    fn args(&self) -> &'static [Arg] {
        ARGS
    }
    fn file_attrs(&self) -> bool {
        true
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let path = super::common::req_path(ctx, args, "path").await?;
        let present = args.str("state")?.as_deref() != Some("absent");
        let p = probe(ctx, &path, None, true).await?;
        if p.effective(true).is_some_and(|s| s.is_dir()) {
            return Ok(Outcome::failed(format!("Path {path} is a directory !")).with("rc", 256));
        }
        let original = p.content.clone();
        if original.is_none() && !args.bool("create", false)? {
            return Ok(Outcome::failed(format!("Path {path} does not exist !")).with("rc", 257));
        }
        let marker = args.str("marker")?.unwrap_or_else(|| "# {mark} ANSIBLE MANAGED BLOCK".into());
        let m0 = marker.replace("{mark}", &args.str("marker_begin")?.unwrap_or_else(|| "BEGIN".into()));
        let m1 = marker.replace("{mark}", &args.str("marker_end")?.unwrap_or_else(|| "END".into()));
        let block = args.str("block")?.unwrap_or_default();
        let text = original.as_deref().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut blocklines: Vec<String> = Vec::new();
        if present && !block.is_empty() {
            blocklines.push(m0.clone());
            blocklines.extend(block.lines().map(str::to_string));
            blocklines.push(m1.clone());
        }
        let (mut n0, mut n1) = (None, None);
        for (i, l) in lines.iter().enumerate() {
            if *l == m0 {
                n0 = Some(i);
            }
            if *l == m1 {
                n1 = Some(i);
            }
        }
        let insertafter = args.str("insertafter")?;
        let insertbefore = args.str("insertbefore")?;
        let pos = match (n0, n1) {
            (Some(a), Some(b)) if a < b => {
                lines.drain(a..=b);
                a
            }
            (Some(a), Some(b)) => {
                lines.drain(b..=a);
                b
            }
            _ => {
                let re = match (&insertafter, &insertbefore) {
                    (Some(a), _) if a != "EOF" => {
                        Some((Regex::new(a).map_err(|e| ModError::Fail(format!("invalid insertafter: {e}")))?, true))
                    }
                    (None, Some(b)) if b != "BOF" => {
                        Some((Regex::new(b).map_err(|e| ModError::Fail(format!("invalid insertbefore: {e}")))?, false))
                    }
                    _ => None,
                };
                match re {
                    Some((re, after)) => {
                        let mut found = None;
                        for (i, l) in lines.iter().enumerate() {
                            if re.is_match(l) {
                                found = Some(i);
                            }
                        }
                        match found {
                            None => lines.len(),
                            Some(i) if after => i + 1,
                            Some(i) => i,
                        }
                    }
                    None if insertbefore.as_deref() == Some("BOF") => 0,
                    None => lines.len(),
                }
            }
        };
        if !blocklines.is_empty() {
            if args.bool("prepend_newline", false)? && pos > 0 && !lines[pos - 1].is_empty() {
                blocklines.insert(0, String::new());
            }
            if args.bool("append_newline", false)? && pos < lines.len() && !lines[pos].is_empty() {
                blocklines.push(String::new());
            }
        }
        for (k, l) in blocklines.iter().enumerate() {
            lines.insert(pos + k, l.clone());
        }
        let result = if lines.is_empty() {
            String::new()
        } else {
            let mut r = lines.join("\n");
            if original.is_none() || text.ends_with('\n') {
                r.push('\n');
            }
            r
        };
        let mut out = Outcome::ok();
        let changed = original.as_deref() != Some(result.as_bytes()) && !(original.is_none() && result.is_empty());
        out.msg = Some(if !changed {
            String::new()
        } else if original.is_none() {
            "File created".into()
        } else if blocklines.is_empty() {
            "Block removed".into()
        } else {
            "Block inserted".into()
        });
        let st = p.effective(true).cloned();
        let edit = common::Edit {
            path: &path,
            original: original.as_deref(),
            new: result.into_bytes(),
            from_file: None,
            changed,
            st: st.as_ref(),
            make_parents: true,
        };
        edit.commit(ctx, args, &mut out, "backup").await?;
        Ok(out)
    }
}
