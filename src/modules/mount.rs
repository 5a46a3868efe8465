//! `mount` (ansible.posix): a file system's line in fstab, and whether it is mounted now.

use async_trait::async_trait;

use super::common::{content_diff, parse_probe, probe_script, Attrs, Content, Write};
use super::{args, fail, Arg, Args, Change, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Mount;

/// fstab escapes blanks and backslashes in its fields.
fn escape(s: &str) -> String {
    s.replace('\\', "\\134").replace(' ', "\\040").replace('\t', "\\011").replace('\n', "\\012")
}

struct Entry {
    src: String,
    name: String,
    fstype: String,
    opts: String,
    dump: String,
    passno: String,
}

impl Entry {
    fn line(&self) -> String {
        format!("{} {} {} {} {} {}\n", self.src, self.name, self.fstype, self.opts, self.dump, self.passno)
    }
}

/// fstab with the entry for `want.name` set (or removed when `want` has no src); whether it changed.
fn edit_fstab(text: &str, want: &Entry, remove: bool) -> (String, bool) {
    let mut out = String::new();
    let mut exists = false;
    let mut changed = false;
    for raw in text.split_inclusive('\n') {
        let line = if raw.ends_with('\n') { raw.to_string() } else { format!("{raw}\n") };
        let t = line.trim();
        let fields: Vec<&str> = line.split('#').next().unwrap_or("").split_whitespace().collect();
        if t.is_empty() || t.starts_with('#') || !(4..=6).contains(&fields.len()) || fields[1] != want.name {
            out += &line;
            continue;
        }
        exists = true;
        if remove {
            changed = true;
            continue;
        }
        let cur = [fields[0], fields[2], fields[3], fields.get(4).copied().unwrap_or("0"), fields.get(5).copied().unwrap_or("0")];
        let new = [want.src.as_str(), &want.fstype, &want.opts, &want.dump, &want.passno];
        if cur != new {
            changed = true;
            out += &want.line();
        } else {
            out += &line;
        }
    }
    if !exists && !remove {
        out += &want.line();
        changed = true;
    }
    (out, changed)
}

#[async_trait]
impl Module for Mount {
    fn name(&self) -> &'static str {
        "mount"
    }
    fn collection(&self) -> &'static str {
        "ansible.posix"
    }
    fn doc(&self) -> &'static str {
        include_str!("mount.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("path", "the mount point").aliases(&["name"]).required(),
            Arg::str("src", "the device, label (LABEL=...), UUID=... or remote share; needed for mounted, present and ephemeral"),
            Arg::str("fstype", "the file system type; needed for mounted, present and ephemeral"),
            Arg::str("opts", "mount options").default("defaults"),
            Arg::str("dump", "the fstab dump field").default("0"),
            Arg::str("passno", "the fstab pass field").default("0"),
            Arg::str("state", "mounted, present, unmounted, absent, remounted or ephemeral")
                .choices(&["mounted", "present", "unmounted", "absent", "remounted", "ephemeral", "absent_from_fstab"])
                .required(),
            Arg::str("fstab", "the file").default("/etc/fstab"),
            Arg::bool("boot", "mount at boot; false adds noauto to the options").default("true"),
            args::BACKUP,
        ];
        A
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let path = args.req_str("path")?;
        let path = if path.len() > 1 { path.trim_end_matches('/').to_string() } else { path };
        let state = args.req_str("state")?;
        let fstab = args.str("fstab")?.unwrap_or_else(|| "/etc/fstab".into());
        let mut opts = args.str("opts")?.unwrap_or_else(|| "defaults".into());
        if !args.bool("boot", true)? && !opts.split(',').any(|o| o == "noauto") {
            opts = if opts == "defaults" { "noauto".into() } else { format!("{opts},noauto") };
        }
        let want = Entry {
            src: escape(&args.str("src")?.unwrap_or_default()),
            name: escape(&path),
            fstype: escape(&args.str("fstype")?.unwrap_or_default()),
            opts: escape(&opts),
            dump: args.str("dump")?.unwrap_or_else(|| "0".into()),
            passno: args.str("passno")?.unwrap_or_else(|| "0".into()),
        };
        if matches!(state.as_str(), "mounted" | "present" | "ephemeral") {
            for k in ["src", "fstype"] {
                if !args.has(k) {
                    return fail(format!("state is {state} but all of the following are missing: {k}"));
                }
            }
        }
        // Mounted now? /proc/self/mounts escapes fields as fstab does.
        let r = ctx
            .sh(format!(
                "awk -v p={} '$2 == p {{ f = 1 }} END {{ exit !f }}' /proc/self/mounts && echo MOUNTED; echo '#FSTAB'\n{}",
                q(&want.name),
                probe_script(&fstab, None, true)
            ))
            .await?;
        let text = r.stdout_str();
        let mounted = text.lines().next() == Some("MOUNTED");
        let p = parse_probe(text.split_once("#FSTAB\n").map(|x| x.1).unwrap_or("").as_bytes());
        let before = p.content.clone().unwrap_or_default();
        let before_text = String::from_utf8_lossy(&before).into_owned();
        let mut out = Outcome::ok()
            .with("name", path.clone())
            .with("fstab", fstab.clone())
            .with("opts", opts.clone())
            .with("dump", want.dump.clone())
            .with("passno", want.passno.clone());
        if let Some(s) = args.str("src")? {
            out = out.with("src", s);
        }
        if let Some(f) = args.str("fstype")? {
            out = out.with("fstype", f);
        }
        let (new_fstab, fstab_changed) = match state.as_str() {
            "mounted" | "present" => edit_fstab(&before_text, &want, false),
            "absent" | "absent_from_fstab" => edit_fstab(&before_text, &want, true),
            _ => (before_text.clone(), false),
        };
        let mut cmds: Vec<String> = Vec::new();
        let pq = q(&path);
        let fstab_opt = if fstab != "/etc/fstab" { format!("-T {} ", q(&fstab)) } else { String::new() };
        match state.as_str() {
            "mounted" if !mounted => cmds.push(format!("mkdir -p -- {pq} && mount {fstab_opt}{pq}")),
            "mounted" if fstab_changed => cmds.push(format!("mount {fstab_opt}-o remount {pq}")),
            "unmounted" | "absent" if mounted => cmds.push(format!("umount {pq}")),
            "remounted" => cmds.push(format!("mount {fstab_opt}-o remount {pq}")),
            "ephemeral" if !mounted => cmds.push(format!(
                "mkdir -p -- {pq} && mount -t {} -o {} {} {pq}",
                q(&args.str("fstype")?.unwrap_or_default()),
                q(&opts),
                q(&args.str("src")?.unwrap_or_default())
            )),
            _ => {}
        }
        if state == "absent" {
            // Ansible also removes the (now empty) mount point.
            cmds.push(format!("rmdir -- {pq} 2>/dev/null || true"));
        }
        out.changed = fstab_changed || cmds.iter().any(|c| !c.starts_with("rmdir"));
        let mut plan = Plan::done(out);
        if !plan.outcome.changed {
            return Ok(plan);
        }
        if fstab_changed {
            plan.outcome.diffs.push(content_diff(&fstab, Some(&before), new_fstab.as_bytes()));
            let attrs = if p.lstat.is_none() { Attrs { mode: Some("0644".into()), ..Default::default() } } else { Attrs::default() };
            plan.change(Change::Write(Box::new(Write {
                path: fstab.clone(),
                content: Content::Bytes(new_fstab.into_bytes()),
                attrs,
                existed: p.lstat.clone(),
                backup: (args.bool("backup", false)? && p.lstat.is_some()).then_some("backup_file"),
                validate: None,
                make_parents: false,
            })));
        }
        if !cmds.is_empty() {
            plan.change(Change::sh(format!("set -e\n{}\n", cmds.join("\n")), format!("Error mounting {path}")));
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{args, probe_reply, Scripted};
    use super::super::{Change, Module};
    use super::*;

    #[tokio::test]
    async fn mounted_writes_fstab_then_mounts() {
        let mut reply = b"#FSTAB\n".to_vec();
        reply.extend(probe_reply(Some((0o644, b"/dev/sda1 / ext4 defaults 0 1\n"))));
        let h = Scripted::new().on("/proc/self/mounts", 0, &reply);
        let a = args(&Mount, "{path: /mnt/x, src: tmpfs, fstype: tmpfs, opts: size=1m, state: mounted, backup: true}");
        let p = Mount.plan(&h.ctx(false, true), &a).await.unwrap();
        assert!(p.outcome.changed);
        let [Change::Write(w), Change::Sh { script, .. }] = p.changes.as_slice() else { panic!("write, then mount") };
        assert_eq!((w.path.as_str(), w.backup), ("/etc/fstab", Some("backup_file")));
        assert_eq!(script, "set -e\nmkdir -p -- /mnt/x && mount /mnt/x\n");
        assert_eq!(p.outcome.diffs[0].after, "/dev/sda1 / ext4 defaults 0 1\ntmpfs /mnt/x tmpfs size=1m 0 0\n");
        // Mounted and in fstab already: nothing to do.
        let mut reply = b"MOUNTED\n#FSTAB\n".to_vec();
        reply.extend(probe_reply(Some((0o644, b"tmpfs /mnt/x tmpfs size=1m 0 0\n"))));
        let h = Scripted::new().on("/proc/self/mounts", 0, &reply);
        let p = Mount.plan(&h.ctx(false, true), &a).await.unwrap();
        assert!(!p.outcome.changed && p.changes.is_empty());
    }

    #[test]
    fn edits_fstab_lines() {
        let e = Entry {
            src: "tmpfs".into(),
            name: "/mnt/x".into(),
            fstype: "tmpfs".into(),
            opts: "size=1m".into(),
            dump: "0".into(),
            passno: "0".into(),
        };
        let (t, c) = edit_fstab("# c\n/dev/sda1 / ext4 defaults 0 1\n", &e, false);
        assert!(c);
        assert_eq!(t, "# c\n/dev/sda1 / ext4 defaults 0 1\ntmpfs /mnt/x tmpfs size=1m 0 0\n");
        assert_eq!(edit_fstab(&t, &e, false), (t.clone(), false));
        assert_eq!(edit_fstab(&t, &e, true).0, "# c\n/dev/sda1 / ext4 defaults 0 1\n");
        assert_eq!(escape("/mnt/my disk"), "/mnt/my\\040disk");
    }
}
