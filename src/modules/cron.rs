//! `cron`: named entries in a user's crontab or in a file under /etc/cron.d. An entry is the
//! line after its `#Ansible: NAME` marker, as Ansible writes them, so both tools manage the same
//! entries. `env: true` manages a `NAME="value"` line instead.

use async_trait::async_trait;

use super::common::{content_diff, probe, Attrs, Write};
use super::FileDiff;
use super::{fail, Arg, Args, Change, ExecCheck, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Cron;

const MARK: &str = "#Ansible: ";

/// The index of the job line under the marker for `name`.
fn find_job(lines: &[String], name: &str) -> Option<usize> {
    let mark = format!("{MARK}{name}");
    lines.iter().position(|l| *l == mark).filter(|i| i + 1 < lines.len()).map(|i| i + 1)
}

fn find_env(lines: &[String], name: &str) -> Option<usize> {
    let p = format!("{name}=");
    lines.iter().position(|l| l.starts_with(&p))
}

/// Remove the entry for `name` (its marker and job line).
fn remove_job(lines: &mut Vec<String>, name: &str) {
    let mark = format!("{MARK}{name}");
    let mut out = Vec::new();
    let mut skip = false;
    for l in lines.drain(..) {
        if skip {
            skip = false;
        } else if l == mark {
            skip = true;
        } else {
            out.push(l);
        }
    }
    *lines = out;
}

fn render(lines: &[String]) -> String {
    let s = lines.join("\n");
    if s.is_empty() {
        s
    } else {
        s.trim_end_matches(['\r', '\n']).to_string() + "\n"
    }
}

fn job_line(args: &Args, user: Option<&str>, cron_file: bool) -> Result<String, ModError> {
    let job = args.req_str("job")?;
    let job = job.trim_matches(['\r', '\n']);
    let prefix = if args.bool("disabled", false)? { "#" } else { "" };
    let user = if cron_file { format!("{} ", user.unwrap_or("root")) } else { String::new() };
    if let Some(special) = args.str("special_time")? {
        return Ok(format!("{prefix}@{special} {user}{job}"));
    }
    let f = |k: &str| -> Result<String, ModError> { Ok(args.str(k)?.unwrap_or_else(|| "*".into())) };
    Ok(format!("{prefix}{} {} {} {} {} {user}{job}", f("minute")?, f("hour")?, f("day")?, f("month")?, f("weekday")?))
}

/// The steps only cron knows: they send content on stdin, or report what they did.
enum Step {
    /// Keep the old crontab in a temporary file, named in the result as `backup_file`.
    Backup(Vec<u8>),
    /// `crontab [-u USER] -` with the new table.
    Install { cmd: String, table: Vec<u8> },
}

#[async_trait]
impl Module for Cron {
    fn name(&self) -> &'static str {
        "cron"
    }
    fn doc(&self) -> &'static str {
        include_str!("cron.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("name", "the entry's name (its `#Ansible:` marker), or the variable's with env").required(),
            Arg::str("job", "the command to run, or the variable's value with env").aliases(&["value"]),
            Arg::str("user", "whose crontab (default: the connecting or become user)"),
            Arg::str("state", "present or absent").choices(&["present", "absent"]).default("present"),
            Arg::str("minute", "the minute (0-59, */5, ...)").default("*"),
            Arg::str("hour", "the hour (0-23, ...)").default("*"),
            Arg::str("day", "day of the month").aliases(&["dom"]).default("*"),
            Arg::str("month", "the month (1-12, ...)").default("*"),
            Arg::str("weekday", "day of the week (0-6 for Sunday-Saturday, ...)").aliases(&["dow"]).default("*"),
            Arg::str("special_time", "reboot, yearly, annually, monthly, weekly, daily or hourly")
                .choices(&["annually", "daily", "hourly", "monthly", "reboot", "weekly", "yearly"]),
            Arg::bool("disabled", "keep the entry, commented out").default("false"),
            Arg::bool("env", "manage an environment variable line instead of a job").default("false"),
            Arg::str("insertafter", "with env: put a new variable after this one"),
            Arg::str("insertbefore", "with env: put a new variable before this one"),
            Arg::str("cron_file", "a file under /etc/cron.d (or an absolute path) instead of the user's crontab"),
            Arg::bool("backup", "keep a copy of the crontab before changing it").default("false"),
        ];
        A
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let name = args.req_str("name")?;
        let present = args.str("state")?.as_deref() != Some("absent");
        let user = args.str("user")?;
        let env = args.bool("env", false)?;
        let cron_file = args.str("cron_file")?.map(|f| if f.starts_with('/') { f } else { format!("/etc/cron.d/{f}") });
        if args.has("special_time")
            && ["minute", "hour", "day", "month", "weekday"].iter().any(|k| args.str(k).ok().flatten().is_some_and(|v| v != "*"))
        {
            return fail("You cannot combine special_time with any of the time or day/date parameters.");
        }
        if present {
            if cron_file.is_some() && user.is_none() {
                return fail("To use cron_file=... parameter you must specify user=... as well");
            }
            if !args.has("job") {
                return fail("You must specify 'job' to install a new cron job or variable");
            }
            if (args.has("insertafter") || args.has("insertbefore")) && !env {
                return fail("Insertafter and insertbefore parameters are valid only with env=yes");
            }
        }
        if cron_file.as_deref() == Some("/etc/crontab") {
            return fail("Will not manage /etc/crontab via cron_file, see documentation.");
        }
        let u = user.as_deref().map(|u| format!("-u {} ", q(u))).unwrap_or_default();
        let (existing, st) = match &cron_file {
            Some(f) => {
                let p = probe(ctx, f, None, true).await?;
                (String::from_utf8_lossy(&p.content.unwrap_or_default()).into_owned(), p.lstat)
            }
            None => {
                let r = ctx.sh(format!("crontab {u}-l")).await?;
                if r.rc > 1 {
                    return fail(format!("Unable to read crontab: {}", r.stderr_str().trim()));
                }
                (if r.rc == 0 { r.stdout_str() } else { String::new() }, None)
            }
        };
        // crontab -l on some systems prints a three-line header first; it is not part of the table.
        let mut lines: Vec<String> = Vec::new();
        for (i, l) in existing.lines().enumerate() {
            let header = i < 3
                && (l.starts_with("# DO NOT EDIT THIS FILE - edit the master and reinstall.")
                    || (l.starts_with("# (/tmp/") && l.contains("installed on"))
                    || (l.starts_with("# (") && l.contains("version")));
            if !header {
                lines.push(l.to_string());
            }
        }
        let mut changed = false;
        if env {
            if name.contains(' ') {
                return fail("Invalid name for environment variable");
            }
            let decl = format!("{name}=\"{}\"", args.str("job")?.unwrap_or_default());
            match (find_env(&lines, &name), present) {
                (None, true) => {
                    let at = match (args.str("insertafter")?, args.str("insertbefore")?) {
                        (Some(a), _) => {
                            find_env(&lines, &a).map(|i| i + 1).ok_or_else(|| ModError::Fail(format!("Variable named '{a}' not found.")))?
                        }
                        (None, Some(b)) => {
                            find_env(&lines, &b).ok_or_else(|| ModError::Fail(format!("Variable named '{b}' not found.")))?
                        }
                        _ => 0,
                    };
                    lines.insert(at, decl);
                    changed = true;
                }
                (Some(i), true) if lines[i] != decl => {
                    lines[i] = decl;
                    changed = true;
                }
                (Some(i), false) => {
                    lines.remove(i);
                    changed = true;
                }
                _ => {}
            }
        } else if present {
            let job = job_line(args, user.as_deref(), cron_file.is_some())?;
            match find_job(&lines, &name) {
                Some(i) if lines[i] == job => {}
                Some(i) => {
                    lines[i] = job;
                    changed = true;
                }
                None => match lines.iter().position(|l| *l == job) {
                    // The same job line without a marker: adopt it.
                    Some(i) => {
                        lines.insert(i, format!("{MARK}{name}"));
                        changed = true;
                    }
                    None => {
                        lines.push(format!("{MARK}{name}"));
                        lines.push(job);
                        changed = true;
                    }
                },
            }
        } else if find_job(&lines, &name).is_some() {
            remove_job(&mut lines, &name);
            changed = true;
        }
        if !changed && !existing.is_empty() && !existing.ends_with('\n') {
            changed = true;
        }
        let header = match (&cron_file, &user) {
            (Some(f), _) => f.clone(),
            (None, Some(u)) => format!("crontab for user \"{u}\""),
            (None, None) => "crontab".into(),
        };
        let mut out = Outcome::ok();
        let names = |lines: &[String]| lines.iter().filter_map(|l| l.strip_prefix(MARK).map(str::to_string)).collect::<Vec<_>>();
        let envs: Vec<String> = lines
            .iter()
            .filter_map(|l| l.split_once('=').map(|(k, _)| k))
            .filter(|k| !k.is_empty() && !k.contains([' ', '#']))
            .map(str::to_string)
            .collect();
        out = out.with("jobs", names(&lines)).with("envs", envs);
        if let Some(f) = &cron_file {
            out = out.with("cron_file", f.clone());
        }
        let mut plan = Plan::done(out);
        if !changed {
            return Ok(plan);
        }
        plan.outcome.changed = true;
        let after = render(&lines);
        // An emptied cron.d file goes away.
        let remove_file = cron_file.is_some() && !present && lines.iter().all(|l| l.trim().is_empty());
        let mut d: FileDiff = content_diff(&header, Some(existing.as_bytes()), if remove_file { b"" } else { after.as_bytes() });
        if remove_file {
            d.after_header = "/dev/null".into();
        }
        plan.outcome.diffs.push(d);
        if args.bool("backup", false)? {
            plan.change(Change::own(Step::Backup(existing.into_bytes())));
        }
        match &cron_file {
            Some(f) if remove_file => plan.change(Change::sh(format!("rm -f -- {}", q(f)), format!("cannot remove {f}"))),
            Some(f) => {
                let attrs = if st.is_none() { Attrs { mode: Some("0644".into()), ..Default::default() } } else { Attrs::default() };
                plan.change(Change::Write(Box::new(Write::new(f.clone(), after.into_bytes(), attrs, st))));
            }
            None => plan.change(Change::own(Step::Install { cmd: format!("crontab {u}-"), table: after.into_bytes() })),
        }
        Ok(plan)
    }
    async fn apply(&self, ctx: &TaskCtx, _args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        let mut out = plan.outcome;
        for c in plan.changes {
            match c {
                Change::Sh { script, failure } => {
                    ctx.sh(script).await?.ok_or_fail(&failure)?;
                }
                Change::Write(w) => {
                    w.apply(ctx, &mut out).await?;
                }
                Change::Own(step) => match step.downcast::<Step>().map(|b| *b) {
                    Ok(Step::Backup(old)) => {
                        let r = ctx.sh_in("f=$(mktemp /tmp/crontabXXXXXXXX) && cat > \"$f\" && echo \"$f\"", Some(old)).await?;
                        out.data.insert("backup_file".into(), r.stdout_str().trim().into());
                    }
                    Ok(Step::Install { cmd, table }) => {
                        ctx.sh_in(cmd, Some(table)).await?.ok_or_fail("Failed to install new cronfile")?;
                    }
                    Err(_) => return fail("internal error: a step cron did not plan"),
                },
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::execute;
    use super::super::testing::{args, probe_reply, Scripted, PROBE};
    use super::*;
    use std::sync::Arc;

    async fn plan(host: &Arc<Scripted>, yaml: &str) -> Plan {
        Cron.plan(&host.ctx(false, true), &args(&Cron, yaml)).await.unwrap()
    }

    fn installed(p: &Plan) -> String {
        match p.own::<Step>().find(|s| matches!(s, Step::Install { .. })) {
            Some(Step::Install { cmd, table }) => format!("{cmd}\n{}", String::from_utf8_lossy(table)),
            _ => panic!("an install expected"),
        }
    }

    #[tokio::test]
    async fn a_new_job_goes_under_its_marker() {
        let h = Scripted::new().on("crontab -u bob -l", 0, b"PATH=/bin\n");
        let p = plan(&h, "{name: backup, user: bob, minute: '5', hour: '2', job: /usr/local/bin/backup}").await;
        assert!(p.outcome.changed);
        assert_eq!(installed(&p), "crontab -u bob -\nPATH=/bin\n#Ansible: backup\n5 2 * * * /usr/local/bin/backup\n");
        assert_eq!(p.outcome.diffs[0].before_header, "crontab for user \"bob\"");
        assert_eq!(p.outcome.data["jobs"], serde_json::json!(["backup"]));
    }

    #[tokio::test]
    async fn the_same_job_changes_nothing_and_check_mode_only_reads() {
        let table = b"#Ansible: backup\n5 2 * * * /usr/local/bin/backup\n";
        let h = Scripted::new().on("crontab -l", 0, table);
        let p = plan(&h, "{name: backup, minute: '5', hour: '2', job: /usr/local/bin/backup}").await;
        assert!(!p.outcome.changed && p.changes.is_empty());
        let a = args(&Cron, "{name: backup, minute: '6', hour: '2', job: /usr/local/bin/backup, backup: true}");
        let h = Scripted::new().on("crontab -l", 0, table);
        let out = execute(&Cron, &h.ctx(true, true), &a).await.unwrap();
        assert!(out.changed && out.diffs[0].after.starts_with("#Ansible: backup\n6 2 "));
        assert_eq!(h.commands(), vec!["crontab -l"]);
        // The real run keeps the old table, then installs the new one on stdin.
        let h = h.on("mktemp /tmp/crontab", 0, b"/tmp/crontabXYZ\n").on("crontab -", 0, b"");
        let out = execute(&Cron, &h.ctx(false, false), &a).await.unwrap();
        assert_eq!(out.data["backup_file"], "/tmp/crontabXYZ");
        assert_eq!(h.stdin_of("mktemp /tmp/crontab").as_deref(), Some(&table[..]));
        let seen = h.seen.lock().unwrap();
        let (cmd, stdin) = seen.last().unwrap();
        assert_eq!(cmd, "crontab -");
        assert_eq!(stdin.as_deref(), Some(&b"#Ansible: backup\n6 2 * * * /usr/local/bin/backup\n"[..]));
    }

    #[tokio::test]
    async fn a_cron_file_is_written_and_removed_when_emptied() {
        let h = Scripted::new().on(PROBE, 0, &probe_reply(None));
        let p = plan(&h, "{name: job, user: root, cron_file: nightly, special_time: daily, job: 'true'}").await;
        let [Change::Write(w)] = p.changes.as_slice() else { panic!("one write expected") };
        assert_eq!(w.path, "/etc/cron.d/nightly");
        assert_eq!(w.attrs.mode.as_deref(), Some("0644"));
        let super::super::common::Content::Bytes(b) = &w.content else { panic!() };
        assert_eq!(b, b"#Ansible: job\n@daily root true\n");
        let h = Scripted::new().on(PROBE, 0, &probe_reply(Some((0o644, b"#Ansible: job\n@daily root true\n"))));
        let p = plan(&h, "{name: job, cron_file: nightly, state: absent}").await;
        let [Change::Sh { script, .. }] = p.changes.as_slice() else { panic!("one command expected") };
        assert_eq!(script, "rm -f -- /etc/cron.d/nightly");
        assert_eq!(p.outcome.diffs[0].after_header, "/dev/null");
    }

    #[test]
    fn finds_and_removes_marked_jobs() {
        let mut lines: Vec<String> =
            ["PATH=/bin", "#Ansible: a", "* * * * * true", "#Ansible: b", "@daily false"].iter().map(|s| s.to_string()).collect();
        assert_eq!(find_job(&lines, "b"), Some(4));
        assert_eq!(find_env(&lines, "PATH"), Some(0));
        remove_job(&mut lines, "a");
        assert_eq!(render(&lines), "PATH=/bin\n#Ansible: b\n@daily false\n");
    }
}
