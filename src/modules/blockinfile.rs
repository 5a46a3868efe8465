//! `blockinfile`: a block of lines between markers, with Ansible's default marker so that blocks
//! Ansible wrote are recognised.

use async_trait::async_trait;

use super::common::{self, probe};
use super::lineinfile::split_keep;
use super::{args, Arg, Args, ModError, Module, Outcome, Plan, TaskCtx};
use crate::template::PyRegex;

pub struct BlockInFile;

const ARGS: &[Arg] = &[
    Arg::str("path", "the file to edit").aliases(&["dest", "destfile", "name"]).required(),
    Arg::str("block", "the lines to put between the markers; empty removes the block").aliases(&["content"]).default(""),
    Arg::str("marker", "marker line template; {mark} becomes marker_begin or marker_end").default("# {mark} ANSIBLE MANAGED BLOCK"),
    Arg::str("marker_begin", "text for {mark} in the first marker").default("BEGIN"),
    Arg::str("marker_end", "text for {mark} in the last marker").default("END"),
    Arg::str("state", "present or absent").choices(&["present", "absent"]).default("present"),
    Arg::str("insertafter", "EOF or a regular expression: the block goes after its last match").default("EOF"),
    Arg::str("insertbefore", "BOF or a regular expression: the block goes before its last match"),
    args::CREATE,
    args::BACKUP,
    Arg::bool("prepend_newline", "add an empty line before the block").default("false"),
    Arg::bool("append_newline", "add an empty line after the block").default("false"),
    args::VALIDATE,
    args::ENCODING,
];

#[async_trait]
impl Module for BlockInFile {
    fn name(&self) -> &'static str {
        "blockinfile"
    }
    fn doc(&self) -> &'static str {
        include_str!("blockinfile.md")
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
        let p = probe(ctx, &path, None, true).await?;
        if p.effective(true).is_some_and(|s| s.is_dir()) {
            return Ok(Plan::done(Outcome::failed(format!("Path {path} is a directory !")).with("rc", 256)));
        }
        if !p.exists && !args.bool("create", false)? {
            return Ok(Plan::done(Outcome::failed(format!("Path {path} does not exist !")).with("rc", 257)));
        }
        let original = p.content.clone();
        let mut lines: Vec<Vec<u8>> = original.as_deref().map(split_keep).unwrap_or_default();
        if !present && !p.exists {
            return Ok(Plan::done(Outcome::ok().msg(format!("File {path} not present"))));
        }
        let (insertafter, insertbefore) = match (args.str("insertafter")?, args.str("insertbefore")?) {
            (None, None) => (Some("EOF".to_string()), None),
            (Some(_), Some(_)) => return super::fail("parameters are mutually exclusive: insertbefore|insertafter"),
            pair => pair,
        };
        let bad = |e: minijinja::Error| ModError::Fail(e.to_string());
        let insertre = match (&insertafter, &insertbefore) {
            (Some(a), _) if a != "EOF" => Some(PyRegex::new(a, false, false).map_err(bad)?),
            (None, Some(b)) if b != "BOF" => Some(PyRegex::new(b, false, false).map_err(bad)?),
            _ => None,
        };
        let marker = args.str("marker")?.unwrap_or_else(|| "# {mark} ANSIBLE MANAGED BLOCK".into());
        let marker0 = format!("{}\n", marker.replace("{mark}", &args.str("marker_begin")?.unwrap_or_else(|| "BEGIN".into()))).into_bytes();
        let marker1 = format!("{}\n", marker.replace("{mark}", &args.str("marker_end")?.unwrap_or_else(|| "END".into()))).into_bytes();
        let mut block = args.str("block")?.unwrap_or_default().into_bytes();
        let mut blocklines: Vec<Vec<u8>> = Vec::new();
        if present && !block.is_empty() {
            if !block.ends_with(b"\n") {
                block.push(b'\n');
            }
            blocklines.push(marker0.clone());
            blocklines.extend(split_keep(&block));
            blocklines.push(marker1.clone());
        }
        let (mut n0, mut n1) = (None, None);
        for (i, l) in lines.iter().enumerate() {
            if *l == marker0 {
                n0 = Some(i);
            }
            if *l == marker1 {
                n1 = Some(i);
            }
        }
        let mut n0 = match (n0, n1) {
            (Some(a), Some(b)) if a < b => {
                lines.drain(a..=b);
                a
            }
            (Some(a), Some(b)) => {
                lines.drain(b..=a);
                b
            }
            _ => match &insertre {
                Some(re) => {
                    let mut found = None;
                    if re_is_multiline(insertafter.as_deref().or(insertbefore.as_deref()).unwrap_or("")) {
                        let text = String::from_utf8_lossy(original.as_deref().unwrap_or_default()).into_owned();
                        if let Some(spans) = re.first(&text).map_err(bad)? {
                            let (st, en) = spans[0].unwrap_or((0, 0));
                            let upto = if insertafter.is_some() { en } else { st };
                            found = Some(text[..upto].matches('\n').count());
                        }
                    } else {
                        for (i, l) in lines.iter().enumerate() {
                            if re.is_match(&String::from_utf8_lossy(l)).unwrap_or(false) {
                                found = Some(i);
                            }
                        }
                    }
                    match found {
                        None => lines.len(),
                        Some(i) if insertafter.is_some() => i + 1,
                        Some(i) => i,
                    }
                }
                None if insertbefore.is_some() => 0,
                None => lines.len(),
            },
        };
        if n0 > 0 && !lines[n0 - 1].ends_with(b"\n") {
            lines[n0 - 1].push(b'\n');
        }
        if args.bool("prepend_newline", false)? && present && n0 != 0 && lines[n0 - 1] != b"\n" {
            lines.insert(n0, b"\n".to_vec());
            n0 += 1;
        }
        let nblock = blocklines.len();
        lines.splice(n0..n0, blocklines);
        if args.bool("append_newline", false)? && present {
            let after = n0 + nblock;
            if after < lines.len() && lines[after] != b"\n" {
                lines.insert(after, b"\n".to_vec());
            }
        }
        let result: Vec<u8> = lines.concat();
        let changed = original.as_deref() != Some(result.as_slice());
        let msg = if !changed {
            ""
        } else if original.is_none() {
            "File created"
        } else if nblock == 0 {
            "Block removed"
        } else {
            "Block inserted"
        };
        let mut plan = Plan::done(Outcome::ok().msg(msg));
        let st = p.effective(true).cloned();
        let edit = common::Edit {
            path: &path,
            original: original.as_deref(),
            new: result,
            from_file: None,
            changed,
            st: st.as_ref(),
            make_parents: true,
        };
        edit.plan_into(args, &mut plan, "backup_file")?;
        if plan.outcome.changed && !changed {
            plan.outcome.msg = Some("ownership, perms or SE linux context changed".into());
        }
        Ok(plan)
    }
}

/// Whether a pattern turns on multi-line mode with a leading `(?m)`-style flag group.
fn re_is_multiline(p: &str) -> bool {
    p.strip_prefix("(?").and_then(|r| r.split_once(')')).is_some_and(|(f, _)| f.chars().all(|c| "aiLmsux".contains(c)) && f.contains('m'))
}

#[cfg(test)]
mod tests {
    use super::super::common::Content;
    use super::super::testing::{args, probe_reply, Scripted, PROBE, WRITE};
    use super::super::{execute, Change, Module};
    use super::BlockInFile;

    async fn plan(host: &std::sync::Arc<Scripted>, yaml: &str) -> super::Plan {
        BlockInFile.plan(&host.ctx(false, true), &args(&BlockInFile, yaml)).await.unwrap()
    }

    const BLOCK: &str = "a\n# BEGIN ANSIBLE MANAGED BLOCK\nk=1\n# END ANSIBLE MANAGED BLOCK\nz\n";

    #[tokio::test]
    async fn inserts_a_block_between_markers_at_the_end() {
        let host = Scripted::new().on(PROBE, 0, &probe_reply(Some((0o644, b"a\nz"))));
        let p = plan(&host, "{path: /etc/x, block: k=1}").await;
        assert!(p.outcome.changed);
        assert_eq!(p.outcome.msg.as_deref(), Some("Block inserted"));
        let [Change::Write(w)] = p.changes.as_slice() else { panic!("one write expected") };
        let Content::Bytes(b) = &w.content else { panic!("bytes expected") };
        assert_eq!(String::from_utf8_lossy(b), "a\nz\n# BEGIN ANSIBLE MANAGED BLOCK\nk=1\n# END ANSIBLE MANAGED BLOCK\n");
        assert_eq!(p.outcome.diffs[0].before, "a\nz");
    }

    #[tokio::test]
    async fn inserts_after_the_last_match_of_insertafter() {
        let host = Scripted::new().on(PROBE, 0, &probe_reply(Some((0o644, b"a\nz\n"))));
        let p = plan(&host, "{path: /etc/x, block: k=1, insertafter: '^a'}").await;
        assert_eq!(p.outcome.diffs[0].after, BLOCK);
    }

    #[tokio::test]
    async fn a_block_already_there_changes_nothing() {
        let host = Scripted::new().on(PROBE, 0, &probe_reply(Some((0o644, BLOCK.as_bytes()))));
        let p = plan(&host, "{path: /etc/x, block: k=1, insertafter: '^a'}").await;
        assert!(!p.outcome.changed && p.changes.is_empty() && p.outcome.diffs.is_empty());
        assert_eq!(p.outcome.msg.as_deref(), Some(""));
    }

    #[tokio::test]
    async fn a_changed_block_is_replaced_where_it_is() {
        let host = Scripted::new().on(PROBE, 0, &probe_reply(Some((0o644, BLOCK.as_bytes()))));
        let p = plan(&host, "{path: /etc/x, block: k=2}").await;
        assert_eq!(p.outcome.diffs[0].after, BLOCK.replace("k=1", "k=2"));
    }

    #[tokio::test]
    async fn absent_removes_the_block_and_its_markers() {
        let host = Scripted::new().on(PROBE, 0, &probe_reply(Some((0o644, BLOCK.as_bytes()))));
        let p = plan(&host, "{path: /etc/x, state: absent, backup: true}").await;
        assert_eq!(p.outcome.msg.as_deref(), Some("Block removed"));
        assert_eq!(p.outcome.diffs[0].after, "a\nz\n");
        let [Change::Write(w)] = p.changes.as_slice() else { panic!("one write expected") };
        assert_eq!(w.backup, Some("backup_file"));
    }

    #[tokio::test]
    async fn a_missing_file_fails_unless_create() {
        let host = Scripted::new().on(PROBE, 0, &probe_reply(None));
        let p = plan(&host, "{path: /etc/new/x, block: k=1}").await;
        assert!(p.outcome.failed && p.changes.is_empty());
        assert_eq!(p.outcome.msg.as_deref(), Some("Path /etc/new/x does not exist !"));
        assert_eq!(p.outcome.data["rc"], 257);
        let p = plan(&host, "{path: /etc/new/x, block: k=1, create: true}").await;
        assert_eq!(p.outcome.msg.as_deref(), Some("File created"));
        let [Change::Write(w)] = p.changes.as_slice() else { panic!("one write expected") };
        assert!(w.make_parents && w.existed.is_none());
    }

    #[tokio::test]
    async fn only_the_mode_differs() {
        let host = Scripted::new().on(PROBE, 0, &probe_reply(Some((0o644, BLOCK.as_bytes()))));
        let p = plan(&host, "{path: /etc/x, block: k=1, mode: '0600'}").await;
        assert_eq!(p.outcome.msg.as_deref(), Some("ownership, perms or SE linux context changed"));
        let [Change::Sh { script, .. }] = p.changes.as_slice() else { panic!("one command expected") };
        assert_eq!(script, "chmod 0600 -- /etc/x");
    }

    #[tokio::test]
    async fn check_mode_sends_the_probe_only_and_a_real_run_writes() {
        let host = Scripted::new().on(PROBE, 0, &probe_reply(Some((0o644, b"a\n"))));
        let a = args(&BlockInFile, "{path: /etc/x, block: k=1}");
        let out = execute(&BlockInFile, &host.ctx(true, true), &a).await.unwrap();
        assert!(out.changed && out.diffs.len() == 1);
        assert_eq!(host.commands().len(), 1);
        let host = host.on(WRITE, 0, b"");
        let out = execute(&BlockInFile, &host.ctx(false, false), &a).await.unwrap();
        assert!(out.changed && out.diffs.is_empty());
        assert_eq!(host.commands().len(), 3);
        let want = "a\n# BEGIN ANSIBLE MANAGED BLOCK\nk=1\n# END ANSIBLE MANAGED BLOCK\n";
        assert_eq!(host.stdin_of(WRITE).as_deref(), Some(want.as_bytes()));
    }
}
