//! `hostname`: the host's name. Under systemd it goes through hostnamectl; elsewhere (as on
//! Debian without systemd, where Ansible uses its file strategy) it is the content of
//! /etc/hostname, which takes effect at the next boot.

use async_trait::async_trait;
use serde_json::{json, Map};

use super::{fail, Arg, Args, FileDiff, ModError, Module, Outcome, TaskCtx};
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
            Arg::str("use", "systemd or debian (a file); default: systemd when it runs")
                .choices(&["systemd", "debian", "generic", "alpine"]),
        ];
        A
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let name = args.req_str("name")?;
        let systemd = match args.str("use")?.as_deref() {
            Some("systemd") => true,
            Some(_) => false,
            None => ctx.sh("[ -d /run/systemd/system ] && command -v hostnamectl >/dev/null").await?.rc == 0,
        };
        let (current, permanent) = if systemd {
            let r = ctx.sh("hostnamectl --transient status; hostnamectl --static status").await?;
            let t = r.stdout_str();
            let mut l = t.lines();
            (l.next().unwrap_or("").trim().to_string(), l.next().unwrap_or("").trim().to_string())
        } else {
            let r = ctx.sh("cat /etc/hostname 2>/dev/null || true").await?;
            let v = r.stdout_str().trim().to_string();
            (v.clone(), v)
        };
        let changed = current != name || permanent != name;
        let before = if name != current { current.clone() } else { permanent.clone() };
        let short = name.split('.').next().unwrap_or(&name).to_string();
        let mut facts = Map::new();
        facts.insert("ansible_hostname".into(), json!(short));
        facts.insert("ansible_nodename".into(), json!(name));
        let mut out = Outcome::changed(changed).with("name", name.clone());
        out.facts = Some(facts);
        if !changed {
            return Ok(out);
        }
        if ctx.diff {
            out.diffs.push(FileDiff {
                before: format!("hostname = {before}\n"),
                after: format!("hostname = {name}\n"),
                ..Default::default()
            });
        }
        if ctx.check {
            return Ok(out);
        }
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
        let r = ctx.sh(script).await?;
        if r.rc != 0 {
            return fail(format!("failed to update hostname: {}", r.stderr_str().trim()));
        }
        Ok(out)
    }
}
