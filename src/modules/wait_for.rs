//! `wait_for`: waiting for a port or a file (or some time). It runs its whole loop on the host
//! in one command (ports through bash's /dev/tcp, so no extra tool is needed).
//! `wait_for_connection` and `reboot`, which wait for the host itself, are beside it.

use async_trait::async_trait;

use super::{Arg, Args, Change, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct WaitFor;

/// The wait itself, which `apply` does (check mode skips it).
struct Wait;

/// An integer argument, or its default.
pub(super) fn secs(args: &Args, k: &str, default: i64) -> Result<i64, ModError> {
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
            Arg::str("host", "the address to test a port on, seen from the host").default("127.0.0.1"),
            Arg::int("port", "the port"),
            Arg::str("path", "a file to wait for"),
            Arg::str("state", "started/present, stopped/absent, or drained (no connections left)")
                .choices(&["started", "stopped", "present", "absent", "drained"])
                .default("started"),
            Arg::str("search_regex", "a pattern the file, or the port's first output, must hold"),
            Arg::int("timeout", "give up after this many seconds").default("300"),
            Arg::int("delay", "seconds to wait before the first test").default("0"),
            Arg::int("sleep", "seconds between tests").default("1"),
            Arg::int("connect_timeout", "seconds for one connection attempt").default("5"),
            Arg::str("msg", "the failure message on timeout"),
            Arg::list("exclude_hosts", "with drained: connections from these hosts do not count"),
            Arg::list("active_connection_states", "accepted for compatibility"),
        ];
        A
    }
    /// As Ansible: wait_for does not run in check mode; the plan is that skip, and the wait
    /// is left to `apply`.
    async fn plan(&self, _ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let mut out = base(args)?;
        out.skipped = true;
        let mut plan = Plan::done(out.msg("skipped, running in check mode"));
        plan.changes.push(Change::own(Wait));
        Ok(plan)
    }
    async fn apply(&self, ctx: &TaskCtx, args: &Args, _plan: Plan) -> Result<Outcome, ModError> {
        let state = args.str("state")?.unwrap_or_else(|| "started".into());
        let timeout = secs(args, "timeout", 300)?;
        let delay = secs(args, "delay", 0)?;
        let sleep = secs(args, "sleep", 1)?.max(1);
        let only_time = !args.has("port") && !args.has("path");
        let mut out = base(args)?;
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

/// What every result of wait_for holds: the state and the arguments that say what it waits for.
fn base(args: &Args) -> Result<Outcome, ModError> {
    let state = args.str("state")?.unwrap_or_else(|| "started".into());
    let mut out = Outcome::ok().with("state", state);
    for k in ["port", "path", "search_regex"] {
        if let Some(v) = args.raw(k) {
            out.data.insert(k.into(), v.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{args, Scripted};
    use super::super::{execute, Module};
    use super::WaitFor;

    #[tokio::test]
    async fn check_mode_skips_without_running_anything() {
        let host = Scripted::new();
        let a = args(&WaitFor, "{port: 8080, timeout: 2}");
        let out = execute(&WaitFor, &host.ctx(true, false), &a).await.unwrap();
        assert!(out.skipped && !out.changed && !out.failed);
        assert_eq!(out.msg.as_deref(), Some("skipped, running in check mode"));
        assert_eq!(out.data["port"], 8080);
        assert_eq!(out.data["state"], "started");
        assert!(host.commands().is_empty());
    }

    #[tokio::test]
    async fn a_run_waits_on_the_host_and_times_out_in_ansibles_words() {
        let host = Scripted::new().on("[ -e /tmp/ready ]", 3, b"TIMEOUT 2\n");
        let a = args(&WaitFor, "{path: /tmp/ready, timeout: 2}");
        let p = WaitFor.plan(&host.ctx(false, false), &a).await.unwrap();
        assert!(host.commands().is_empty(), "the plan asks nothing");
        let out = WaitFor.apply(&host.ctx(false, false), &a, p).await.unwrap();
        assert!(out.failed && !out.skipped);
        assert_eq!(out.msg.as_deref(), Some("Timeout when waiting for file /tmp/ready"));
        assert_eq!(out.data["elapsed"], 2);
        let script = &host.commands()[0];
        assert!(script.contains("-ge 2000 ]"), "{script}");
    }
}
