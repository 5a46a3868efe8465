//! `hostname`: the host's name. Under systemd it goes through hostnamectl; elsewhere (as on
//! Debian without systemd, where Ansible uses its file strategy) it is the content of
//! /etc/hostname, which takes effect at the next boot.

use async_trait::async_trait;
use serde_json::{json, Map};

use super::{Arg, Args, Change, FileDiff, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Hostname;

#[async_trait]
impl Module for Hostname {
    fn name(&self) -> &'static str {
        "hostname"
    }
    fn doc(&self) -> &'static str {
        include_str!("hostname.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("name", "the new name").required(),
            Arg::str("use", "systemd or debian (a file) (default: systemd when it runs, else /etc/hostname)")
                .choices(&["systemd", "debian", "generic", "alpine"]),
        ];
        A
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let name = args.req_str("name")?;
        // One round trip: which strategy (unless `use` says), then the names it holds.
        let detect = match args.str("use")?.as_deref() {
            Some("systemd") => "true",
            Some(_) => "false",
            None => "[ -d /run/systemd/system ] && command -v hostnamectl >/dev/null",
        };
        let r = ctx
            .sh(format!(
                "if {detect}; then echo M:systemd; hostnamectl --transient status; hostnamectl --static status\n\
                 else echo M:file; cat /etc/hostname 2>/dev/null || true; fi\n"
            ))
            .await?;
        let text = r.stdout_str();
        let mut l = text.lines();
        let systemd = l.next() == Some("M:systemd");
        let (current, permanent) = if systemd {
            (l.next().unwrap_or("").trim().to_string(), l.next().unwrap_or("").trim().to_string())
        } else {
            let v = l.collect::<Vec<_>>().join("\n").trim().to_string();
            (v.clone(), v)
        };
        let changed = current != name || permanent != name;
        let before = if name != current { current.clone() } else { permanent.clone() };
        let short = name.split('.').next().unwrap_or(&name).to_string();
        let mut facts = Map::new();
        facts.insert("ansible_hostname".into(), json!(short));
        facts.insert("ansible_nodename".into(), json!(name));
        let mut out = Outcome::ok().with("name", name.clone());
        out.facts = Some(facts);
        let mut plan = Plan::done(out);
        if !changed {
            return Ok(plan);
        }
        plan.outcome.diffs.push(FileDiff {
            before: format!("hostname = {before}\n"),
            after: format!("hostname = {name}\n"),
            ..Default::default()
        });
        let n = q(&name);
        let script = if systemd {
            format!("hostnamectl --pretty --static set-hostname {n} && hostnamectl --transient set-hostname {n}")
        } else {
            // Written to a temporary name and renamed; a bind-mounted /etc/hostname (containers)
            // cannot be renamed over and is rewritten in place instead.
            format!(
                "set -e\nt=$(mktemp /etc/.steward.XXXXXXXX)\ntrap 'rm -f \"$t\"' EXIT\nprintf '%s\\n' {n} > \"$t\"\nchmod 0644 \"$t\"\n\
                 mv -f \"$t\" /etc/hostname 2>/dev/null || cat \"$t\" > /etc/hostname\n"
            )
        };
        plan.change(Change::sh(script, "failed to update hostname"));
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{args, Scripted};
    use super::super::{execute, Change, Module};
    use super::Hostname;

    #[tokio::test]
    async fn a_new_name_under_systemd_goes_through_hostnamectl() {
        let host = Scripted::new().on("echo M:systemd", 0, b"M:systemd\nold\nold\n");
        let p = Hostname.plan(&host.ctx(false, true), &args(&Hostname, "{name: new.example.com}")).await.unwrap();
        assert!(p.outcome.changed);
        assert_eq!(p.outcome.diffs[0].before, "hostname = old\n");
        assert_eq!(p.outcome.facts.as_ref().unwrap()["ansible_hostname"], "new");
        let [Change::Sh { script, .. }] = p.changes.as_slice() else { panic!("one command expected") };
        assert!(script.starts_with("hostnamectl --pretty --static set-hostname new.example.com"), "{script}");
    }

    #[tokio::test]
    async fn the_same_name_in_the_file_changes_nothing() {
        let host = Scripted::new().on("echo M:systemd", 0, b"M:file\nbox\n");
        let a = args(&Hostname, "{name: box, use: debian}");
        let out = execute(&Hostname, &host.ctx(false, false), &a).await.unwrap();
        assert!(!out.changed);
        assert_eq!(host.commands().len(), 1);
        assert!(host.commands()[0].starts_with("if false;"));
    }
}
