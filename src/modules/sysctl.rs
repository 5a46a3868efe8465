//! `sysctl` (ansible.posix): a kernel parameter in a sysctl file (/etc/sysctl.conf by
//! default), reloaded with `sysctl -p FILE`, and optionally set in the running kernel.

use async_trait::async_trait;

use super::common::{content_diff, parse_probe, probe_script, Attrs, Write};
use super::{fail, Arg, Args, Change, ExecCheck, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Sysctl;

fn parse_value(v: &str) -> String {
    match super::args::parse_bool(&v.to_lowercase()) {
        Some(true) if v.to_lowercase() != "1" => "1".into(),
        Some(false) if !v.is_empty() && v != "0" => "0".into(),
        _ => v.trim().to_string(),
    }
}

fn same_words(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

fn is_setting(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with(['#', ';']) && t.contains('=')
}

/// The file's lines rewritten as Ansible writes them: settings as `key=value`, each key once,
/// the task's key set or dropped.
fn fix_lines(text: &str, name: &str, value: Option<&str>) -> (Option<String>, Vec<String>) {
    let mut current = None;
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if !is_setting(t) {
            out.push(t.to_string());
            continue;
        }
        let (k, v) = t.split_once('=').unwrap_or((t, ""));
        let (k, v) = (k.trim(), v.trim());
        if k == name {
            current = Some(v.to_string());
        }
        if seen.iter().any(|s| s == k) {
            continue;
        }
        seen.push(k.to_string());
        if k == name {
            if let Some(val) = value {
                out.push(format!("{k}={val}"));
            }
        } else {
            out.push(format!("{k}={v}"));
        }
    }
    if let (false, Some(val)) = (seen.iter().any(|s| s == name), value) {
        out.push(format!("{name}={val}"));
    }
    (current, out)
}

/// The steps with sysctl's own checks of their output.
enum Step {
    /// `sysctl -w`: the running kernel's value.
    Set { name: String, script: String },
    /// `sysctl -p FILE` after the file changed.
    Reload(String),
}

#[async_trait]
impl Module for Sysctl {
    fn name(&self) -> &'static str {
        "sysctl"
    }
    fn collection(&self) -> &'static str {
        "ansible.posix"
    }
    fn doc(&self) -> &'static str {
        include_str!("sysctl.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("name", "the parameter (net.ipv4.ip_forward)").aliases(&["key"]).required(),
            Arg::str("value", "its value").aliases(&["val"]),
            Arg::str("state", "present or absent").choices(&["present", "absent"]).default("present"),
            Arg::bool("reload", "run `sysctl -p FILE` after a change").default("true"),
            Arg::bool("sysctl_set", "also check the running kernel's value and set it with `sysctl -w`").default("false"),
            Arg::bool("ignoreerrors", "ignore unknown keys").default("false"),
            Arg::str("sysctl_file", "the file").default("/etc/sysctl.conf"),
        ];
        A
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let name = args.req_str("name")?.trim().to_string();
        let present = args.str("state")?.as_deref() != Some("absent");
        let value = args.str("value")?.map(|v| parse_value(&v));
        if name.is_empty() {
            return fail("name cannot be blank");
        }
        if present && value.as_deref().is_none_or(str::is_empty) {
            return fail(if value.is_none() { "value cannot be None" } else { "value cannot be blank" });
        }
        let file = args.str("sysctl_file")?.unwrap_or_else(|| "/etc/sysctl.conf".into());
        let reload = args.bool("reload", true)?;
        let set = args.bool("sysctl_set", false)?;
        let ignore = if args.bool("ignoreerrors", false)? { "-e " } else { "" };
        let r = ctx
            .sh(format!("LC_ALL=C sysctl -e -n {} 2>/dev/null && echo '#OK'; echo '#END'\n{}", q(&name), probe_script(&file, None, true)))
            .await?;
        let text = r.stdout_str();
        let (proc_part, rest) = text.split_once("#END\n").unwrap_or((&text, ""));
        let proc_value = proc_part.strip_suffix("#OK\n").map(|v| v.trim_end_matches('\n').to_string());
        let p = parse_probe(rest.as_bytes());
        let before = p.content.clone().unwrap_or_default();
        let (file_value, lines) = fix_lines(&String::from_utf8_lossy(&before), &name, if present { value.as_deref() } else { None });
        let value = value.unwrap_or_default();
        let mut changed = false;
        let mut write = false;
        match (&file_value, present) {
            (None, true) => (changed, write) = (true, true),
            (None, false) => {}
            (Some(v), false) => (changed, write) = (!v.is_empty(), !v.is_empty()),
            (Some(v), true) if *v != value => (changed, write) = (true, true),
            _ if reload && !proc_value.as_deref().is_some_and(|p| same_words(p, &value)) => changed = true,
            _ => {}
        }
        let mut set_proc = false;
        if set && present && !proc_value.as_deref().is_some_and(|p| same_words(p, &value)) {
            changed = true;
            set_proc = proc_value.is_some();
        }
        let mut plan = Plan::done(Outcome::changed(changed));
        if !changed {
            return Ok(plan);
        }
        if set_proc {
            // As Ansible: a value of several words goes in quotes.
            let v = if value.split_whitespace().nth(1).is_some() { format!("\"{value}\"") } else { value.clone() };
            let script = format!("LC_ALL=C sysctl {ignore}-w {}", q(&format!("{name}={v}")));
            plan.change(Change::own(Step::Set { name: name.clone(), script }));
        }
        if write {
            let after: String = lines.iter().map(|l| format!("{l}\n")).collect();
            plan.outcome.diffs.push(content_diff(&file, Some(&before), after.as_bytes()));
            let attrs = if p.lstat.is_none() { Attrs { mode: Some("0644".into()), ..Default::default() } } else { Attrs::default() };
            plan.change(Change::Write(Box::new(Write::new(file.clone(), after.into_bytes(), attrs, p.lstat.clone()))));
        }
        if reload {
            plan.change(Change::own(Step::Reload(format!("LC_ALL=C sysctl {ignore}-p {}", q(&file)))));
        }
        Ok(plan)
    }
    async fn apply(&self, ctx: &TaskCtx, _args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        let mut out = plan.outcome;
        for c in plan.changes {
            match c {
                Change::Write(w) => {
                    w.apply(ctx, &mut out).await?;
                }
                Change::Sh { script, failure } => {
                    ctx.sh(script).await?.ok_or_fail(&failure)?;
                }
                Change::Own(step) => match step.downcast::<Step>().map(|b| *b) {
                    Ok(Step::Set { name, script }) => {
                        let r = ctx.sh(script).await?;
                        if r.rc != 0 || r.stderr_str().contains("setting key") {
                            return fail(format!("setting {name} failed: {}{}", r.stdout_str(), r.stderr_str()));
                        }
                    }
                    Ok(Step::Reload(script)) => {
                        let r = ctx.sh(script).await?;
                        let err = r.stderr_str();
                        if r.rc != 0
                            || err.lines().any(|l| {
                                l.starts_with("sysctl: setting key")
                                    && (l.ends_with("Invalid argument") || l.ends_with("Read-only file system"))
                            })
                        {
                            return fail(format!("Failed to reload sysctl: {}{}", r.stdout_str(), err));
                        }
                    }
                    Err(_) => return fail("internal error: a step sysctl did not plan"),
                },
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::execute;
    use super::super::testing::{args, probe_reply, Scripted, WRITE};
    use super::*;
    use std::sync::Arc;

    fn host(kernel: &str, file: &[u8]) -> Arc<Scripted> {
        let mut reply = format!("{kernel}\n#OK\n#END\n").into_bytes();
        reply.extend(probe_reply(Some((0o644, file))));
        Scripted::new().on("sysctl -e -n", 0, &reply)
    }

    #[tokio::test]
    async fn a_new_value_is_written_set_and_reloaded() {
        let h = host("0", b"vm.swappiness = 60\n");
        let a = args(&Sysctl, "{name: vm.swappiness, value: '10', sysctl_set: true}");
        let p = Sysctl.plan(&h.ctx(false, true), &a).await.unwrap();
        assert!(p.outcome.changed);
        assert_eq!(p.outcome.diffs[0].after, "vm.swappiness=10\n");
        let steps: Vec<&str> = p
            .own::<Step>()
            .map(|s| match s {
                Step::Set { script, .. } | Step::Reload(script) => script.as_str(),
            })
            .collect();
        assert_eq!(steps, vec!["LC_ALL=C sysctl -w vm.swappiness=10", "LC_ALL=C sysctl -p /etc/sysctl.conf"]);
        // A reload that trips over a read-only key fails the task.
        let h = h.on("sysctl -w", 0, b"").on(WRITE, 0, b"").fails(
            "sysctl -p",
            0,
            b"sysctl: setting key \"vm.swappiness\": Read-only file system\n",
        );
        let err = execute(&Sysctl, &h.ctx(false, false), &a).await.unwrap_err();
        assert!(err.to_string().starts_with("Failed to reload sysctl: "), "{err}");
    }

    #[tokio::test]
    async fn the_same_value_changes_nothing() {
        let h = host("10", b"vm.swappiness=10\n");
        let p = Sysctl.plan(&h.ctx(false, true), &args(&Sysctl, "{name: vm.swappiness, value: '10'}")).await.unwrap();
        assert!(!p.outcome.changed && p.changes.is_empty());
    }

    #[test]
    fn rewrites_lines_as_ansible() {
        let (cur, lines) = fix_lines("# c\nvm.a = 1\nvm.b=2\nvm.a=3\n", "vm.a", Some("5"));
        assert_eq!(cur.as_deref(), Some("3"));
        assert_eq!(lines, vec!["# c", "vm.a=5", "vm.b=2"]);
        let (_, lines) = fix_lines("vm.a=1\n", "vm.c", None);
        assert_eq!(lines, vec!["vm.a=1"]);
        assert_eq!(parse_value("yes"), "1");
        assert_eq!(parse_value("32768 60999"), "32768 60999");
        assert!(same_words("32768\t60999", "32768 60999"));
    }
}
