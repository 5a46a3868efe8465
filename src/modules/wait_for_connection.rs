//! `wait_for_connection`: wait until the host answers through a fresh connection (after a
//! reboot, a network change, a new host). `reboot` waits the same way ([`until_up`]).

use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::wait_for::secs;
use super::{Arg, Args, Change, ModError, Module, Outcome, Plan, TaskCtx};
use crate::connection::{Connection, ExecRequest};

pub struct WaitForConnection;

/// The wait itself, which `apply` does (check mode skips it).
struct Wait;

/// Probe the host through a fresh connection until it answers `probe`, or time runs out;
/// returns the connection and the probe's output.
pub(super) async fn until_up(
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
            Arg::int("timeout", "give up after this many seconds").default("600"),
            Arg::int("delay", "seconds to wait first").default("0"),
            Arg::int("sleep", "seconds between attempts").default("1"),
            Arg::int("connect_timeout", "seconds for one attempt").default("5"),
        ];
        A
    }
    /// As Ansible: not run in check mode (not even the delay); the wait is left to `apply`.
    async fn plan(&self, _ctx: &TaskCtx, _args: &Args) -> Result<Plan, ModError> {
        let mut plan = Plan::done(Outcome { skipped: true, ..Outcome::ok() }.msg("skipped, running in check mode"));
        plan.changes.push(Change::own(Wait));
        Ok(plan)
    }
    async fn apply(&self, ctx: &TaskCtx, args: &Args, _plan: Plan) -> Result<Outcome, ModError> {
        let start = Instant::now();
        tokio::time::sleep(Duration::from_secs(secs(args, "delay", 0)?.max(0) as u64)).await;
        let timeout = Duration::from_secs(secs(args, "timeout", 600)?.max(0) as u64);
        let sleep = Duration::from_secs(secs(args, "sleep", 1)?.max(1) as u64);
        let ct = Duration::from_secs(secs(args, "connect_timeout", 5)?.max(1) as u64);
        match until_up(ctx, "echo pong", timeout, sleep, ct, &|s| s.trim() == "pong").await {
            Ok(_) => Ok(Outcome::ok().with("elapsed", start.elapsed().as_secs())),
            Err(e) => Ok(Outcome::failed(format!("timed out waiting for connection: {e}")).with("elapsed", start.elapsed().as_secs())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::execute;
    use super::super::testing::{args, Scripted};
    use super::WaitForConnection;

    #[tokio::test]
    async fn check_mode_skips_at_once() {
        let host = Scripted::new();
        let a = args(&WaitForConnection, "{delay: 30}");
        let t0 = std::time::Instant::now();
        let out = execute(&WaitForConnection, &host.ctx(true, false), &a).await.unwrap();
        assert!(out.skipped && host.commands().is_empty());
        // Not even the delay, as Ansible.
        assert!(t0.elapsed() < std::time::Duration::from_secs(5));
    }
}
