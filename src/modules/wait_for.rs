//! `wait_for`, `wait_for_connection` and `reboot`: waiting for a port, a file or the host itself.
//! `wait_for` runs its whole loop on the host in one command (ports through bash's /dev/tcp, so
//! no extra tool is needed); the other two open the connection again until the host answers.

use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{fail, Arg, Args, ModError, Module, Outcome, TaskCtx};
use crate::connection::{Connection, ExecRequest};
use crate::pytext::shell_quote as q;

pub struct WaitFor;
pub struct WaitForConnection;
pub struct Reboot;

fn secs(args: &Args, k: &str, default: i64) -> Result<i64, ModError> {
    Ok(args.int(k)?.unwrap_or(default))
}

/// The shell test for one probe of the condition; true (rc 0) when it holds.
fn condition(args: &Args, state: &str) -> Result<String, ModError> {
    let host = args.str("host")?.unwrap_or_else(|| "127.0.0.1".into());
    let ct = secs(args, "connect_timeout", 5)?;
    if let Some(port) = args.int("port")? {
        let open = format!("timeout {ct} bash -c {} 2>/dev/null", q(&format!("exec 3<>/dev/tcp/{host}/{port}")));
        let regex = args.str("search_regex")?;
        return Ok(match (state, regex) {
            ("stopped" | "absent", _) => format!("! {open}"),
            ("drained", _) => format!("! ss -Htn state established '( sport = :{port} )' 2>/dev/null | grep -q ."),
            (_, Some(r)) => format!(
                "timeout {ct} bash -c {} 2>/dev/null | grep -Eq {}",
                q(&format!("exec 3<>/dev/tcp/{host}/{port}; head -c 65536 <&3")),
                q(&r)
            ),
            _ => open,
        });
    }
    if let Some(path) = args.str("path")? {
        let p = q(&path);
        return Ok(match (state, args.str("search_regex")?) {
            ("absent", _) => format!("[ ! -e {p} ]"),
            // grep -P reads Python's dialect closely enough to poll; the groups are taken
            // from the content afterwards, with Python's rules.
            (_, Some(r)) => format!("[ -e {p} ] && {{ grep -Paq -- {0} {p} 2>/dev/null || grep -Eaq -- {0} {p}; }}", q(&r)),
            _ => format!("[ -e {p} ]"),
        });
    }
    Ok("true".into())
}

/// The groups of the first match of `re` in the file, as Python's `search` gives them.
async fn match_groups(ctx: &TaskCtx, path: &str, re: &str) -> Result<(serde_json::Value, serde_json::Value), ModError> {
    let r = ctx.sh(format!("head -c 1048576 -- {}", q(path))).await?;
    let text = String::from_utf8_lossy(&r.stdout).into_owned();
    let re = crate::template::PyRegex::new(re, false, true).map_err(|e| ModError::Fail(format!("Invalid regular expression: {e}")))?;
    let Some(spans) = re.first(&text).map_err(|e| ModError::Fail(e.to_string()))? else {
        return Ok((serde_json::json!([]), serde_json::json!({})));
    };
    let group = |i: usize| spans.get(i).copied().flatten().map(|(a, b)| serde_json::json!(&text[a..b])).unwrap_or(serde_json::Value::Null);
    let groups: Vec<serde_json::Value> = (1..spans.len()).map(group).collect();
    let mut named = serde_json::Map::new();
    for i in 1..spans.len() {
        if let Some(name) = re.group_name(i) {
            named.insert(name, group(i));
        }
    }
    Ok((serde_json::Value::Array(groups), serde_json::Value::Object(named)))
}

#[async_trait]
impl Module for WaitFor {
    fn name(&self) -> &'static str {
        "wait_for"
    }
    fn doc(&self) -> &'static str {
        include_str!("wait_for.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("host", "the address to test a port on (default 127.0.0.1, seen from the host)"),
            Arg::int("port", "the port"),
            Arg::str("path", "a file to wait for"),
            Arg::str("state", "started/present (default), stopped/absent, or drained (no connections left)")
                .choices(&["started", "stopped", "present", "absent", "drained"]),
            Arg::str("search_regex", "a pattern the file, or the port's first output, must hold"),
            Arg::int("timeout", "give up after this many seconds (default 300)"),
            Arg::int("delay", "seconds to wait before the first test"),
            Arg::int("sleep", "seconds between tests (default 1)"),
            Arg::int("connect_timeout", "seconds for one connection attempt (default 5)"),
            Arg::str("msg", "the failure message on timeout"),
            Arg::list("exclude_hosts", "with drained: connections from these hosts do not count"),
            Arg::list("active_connection_states", "accepted for compatibility"),
        ];
        A
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let state = args.str("state")?.unwrap_or_else(|| "started".into());
        let timeout = secs(args, "timeout", 300)?;
        let delay = secs(args, "delay", 0)?;
        let sleep = secs(args, "sleep", 1)?.max(1);
        let only_time = !args.has("port") && !args.has("path");
        let mut out = Outcome::ok().with("state", state.clone());
        for k in ["port", "path", "search_regex"] {
            if let Some(v) = args.raw(k) {
                out.data.insert(k.into(), v.clone());
            }
        }
        if ctx.check {
            // As Ansible: wait_for does not run in check mode.
            out.skipped = true;
            return Ok(out.msg("skipped, running in check mode"));
        }
        let script = if only_time {
            // As Ansible: the delay, then the whole timeout.
            format!("sleep {0}; echo {0}", timeout.max(0) + delay.max(0))
        } else {
            let cond = condition(args, &state)?;
            format!(
                // Milliseconds, so a probe that starts late in a second does not round the
                // elapsed time up (Ansible reports whole seconds of the real time taken).
                "ms() {{ echo $(( $(date +%s%N) / 1000000 )); }}\nstart=$(ms); sleep {delay}\nwhile :; do\n  \
                 if {cond}; then echo $(( ($(ms) - start) / 1000 )); exit 0; fi\n  \
                 [ $(( $(ms) - start )) -ge {timeout}000 ] && {{ echo TIMEOUT $(( ($(ms) - start) / 1000 )); exit 3; }}\n  sleep {sleep}\ndone\n"
            )
        };
        let r = ctx.sh(script).await?;
        let text = r.stdout_str();
        let elapsed: i64 = text.split_whitespace().last().and_then(|s| s.parse().ok()).unwrap_or(0);
        out = out.with("elapsed", elapsed);
        if let (0, Some(path), Some(re)) = (r.rc, args.str("path")?, args.str("search_regex")?) {
            if !matches!(state.as_str(), "absent" | "stopped") {
                let (groups, named) = match_groups(ctx, &path, &re).await?;
                out = out.with("match_groups", groups).with("match_groupdict", named);
            }
        }
        if r.rc != 0 {
            let host = args.str("host")?.unwrap_or_else(|| "127.0.0.1".into());
            let absent = matches!(state.as_str(), "absent" | "stopped");
            // Ansible's messages.
            let what = match (args.int("port")?, args.str("path")?) {
                (Some(p), _) if state == "drained" => format!("Timeout when waiting for {host}:{p} to drain"),
                (Some(p), _) if absent => format!("Timeout when waiting for {host}:{p} to stop."),
                (Some(p), _) => format!("Timeout when waiting for {host}:{p}"),
                (None, Some(p)) if absent => format!("Timeout when waiting for {p} to be absent."),
                (None, Some(p)) if args.has("search_regex") => {
                    format!("Timeout when waiting for search string {} in {p}", args.str("search_regex")?.unwrap_or_default())
                }
                (None, Some(p)) => format!("Timeout when waiting for file {p}"),
                _ => String::new(),
            };
            let msg = args.str("msg")?.unwrap_or(what);
            out.failed = true;
            out.msg = Some(msg);
        }
        Ok(out)
    }
}

/// Probe the host through a fresh connection until it answers `probe`, or time runs out;
/// returns the connection and the probe's output.
async fn until_up(
    ctx: &TaskCtx,
    probe: &str,
    timeout: Duration,
    sleep: Duration,
    connect_timeout: Duration,
    accept: &(dyn Fn(&str) -> bool + Sync),
) -> Result<String, String> {
    let Some(re) = &ctx.reconnect else {
        return Err("this task has no connection to wait for".into());
    };
    let start = Instant::now();
    let mut last: String;
    loop {
        let attempt = async {
            let conn: std::sync::Arc<dyn Connection> = re.open().await.map_err(|e| e.to_string())?;
            let req = ExecRequest { cmd: probe.to_string(), become_: ctx.become_.clone(), ..Default::default() };
            let o = conn.exec(req).await.map_err(|e| e.to_string())?;
            if o.rc != 0 {
                return Err(format!("rc {}: {}", o.rc, o.stderr_str().trim()));
            }
            Ok(o.stdout_str())
        };
        match tokio::time::timeout(connect_timeout + Duration::from_secs(5), attempt).await {
            Ok(Ok(s)) if accept(&s) => return Ok(s),
            Ok(Ok(s)) => last = format!("the host answered, but not as expected yet ({})", s.trim()),
            Ok(Err(e)) => last = e,
            Err(_) => last = "timed out connecting".into(),
        }
        if start.elapsed() >= timeout {
            return Err(last);
        }
        tokio::time::sleep(sleep).await;
    }
}

#[async_trait]
impl Module for WaitForConnection {
    fn supports_async(&self) -> bool {
        false
    }
    fn name(&self) -> &'static str {
        "wait_for_connection"
    }
    fn doc(&self) -> &'static str {
        include_str!("wait_for_connection.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::int("timeout", "give up after this many seconds (default 600)"),
            Arg::int("delay", "seconds to wait first"),
            Arg::int("sleep", "seconds between attempts (default 1)"),
            Arg::int("connect_timeout", "seconds for one attempt (default 5)"),
        ];
        A
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let start = Instant::now();
        tokio::time::sleep(Duration::from_secs(secs(args, "delay", 0)?.max(0) as u64)).await;
        if ctx.check {
            // As Ansible: not run in check mode.
            return Ok(Outcome { skipped: true, ..Outcome::ok() }.msg("skipped, running in check mode"));
        }
        let timeout = Duration::from_secs(secs(args, "timeout", 600)?.max(0) as u64);
        let sleep = Duration::from_secs(secs(args, "sleep", 1)?.max(1) as u64);
        let ct = Duration::from_secs(secs(args, "connect_timeout", 5)?.max(1) as u64);
        match until_up(ctx, "echo pong", timeout, sleep, ct, &|s| s.trim() == "pong").await {
            Ok(_) => Ok(Outcome::ok().with("elapsed", start.elapsed().as_secs())),
            Err(e) => Ok(Outcome::failed(format!("timed out waiting for connection: {e}")).with("elapsed", start.elapsed().as_secs())),
        }
    }
}

#[async_trait]
impl Module for Reboot {
    fn supports_async(&self) -> bool {
        false
    }
    fn name(&self) -> &'static str {
        "reboot"
    }
    fn doc(&self) -> &'static str {
        include_str!("reboot.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("msg", "the message shown to logged-in users"),
            Arg::int("pre_reboot_delay", "seconds before rebooting"),
            Arg::int("post_reboot_delay", "seconds to wait after the host is back"),
            Arg::int("reboot_timeout", "seconds to wait for it to come back (default 600)"),
            Arg::int("connect_timeout", "seconds for one connection attempt"),
            Arg::str("test_command", "run after the reboot to check the host (default `whoami`)"),
            Arg::str("reboot_command", "the command that reboots (default `shutdown -r now`)"),
            Arg::str("boot_time_command", "prints something that changes with each boot (default: the boot id)"),
            Arg::list("search_paths", "accepted for compatibility"),
        ];
        A
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        if ctx.check {
            return Ok(Outcome::changed(true).with("rebooted", true));
        }
        let boot_cmd = args.str("boot_time_command")?.unwrap_or_else(|| "cat /proc/sys/kernel/random/boot_id".into());
        let before = ctx.sh(boot_cmd.clone()).await?;
        if before.rc != 0 {
            return fail(format!("cannot read the boot id: {}", before.stderr_str().trim()));
        }
        let before = before.stdout_str().trim().to_string();
        let start = Instant::now();
        let msg = args.str("msg")?.unwrap_or_else(|| "Reboot initiated by steward".into());
        let delay_min = (secs(args, "pre_reboot_delay", 0)?.max(0) / 60).max(0);
        let cmd = args.str("reboot_command")?.unwrap_or_else(|| format!("shutdown -r +{delay_min} {}", q(&msg)));
        // Detached, so the command's end does not wait on the reboot.
        let r = ctx.sh(format!("( sleep 1; {cmd} ) >/dev/null 2>&1 </dev/null &\necho started")).await;
        if let Err(ModError::Fail(e)) = r {
            return fail(format!("Reboot command failed: {e}"));
        }
        let timeout = Duration::from_secs(secs(args, "reboot_timeout", 600)?.max(1) as u64);
        let ct = Duration::from_secs(secs(args, "connect_timeout", 10)?.max(1) as u64);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let changed = |s: &str| !s.trim().is_empty() && s.trim() != before;
        if let Err(e) = until_up(ctx, &boot_cmd, timeout, Duration::from_secs(1), ct, &changed).await {
            return Ok(Outcome::failed(format!("Timed out waiting for the host to come back after reboot: {e}")).with("rebooted", true));
        }
        let test = args.str("test_command")?.unwrap_or_else(|| "whoami".into());
        if let Err(e) =
            until_up(ctx, &test, timeout.saturating_sub(start.elapsed()).max(Duration::from_secs(5)), Duration::from_secs(1), ct, &|_| true)
                .await
        {
            return Ok(Outcome::failed(format!("The test command failed after reboot: {e}")).with("rebooted", true));
        }
        tokio::time::sleep(Duration::from_secs(secs(args, "post_reboot_delay", 0)?.max(0) as u64)).await;
        Ok(Outcome::changed(true).with("rebooted", true).with("elapsed", start.elapsed().as_secs()))
    }
}
