//! `reboot`: reboot the host and wait until it is back (its boot id changed) and runs a
//! command.

use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::wait_for::secs;
use super::wait_for_connection::until_up;
use super::{fail, Arg, Args, Change, ExecCheck, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Reboot;

/// The reboot, which `apply` does.
struct Restart;

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
            Arg::str("msg", "the message shown to logged-in users").default("Reboot initiated by steward"),
            Arg::int("pre_reboot_delay", "seconds before rebooting (shutdown counts whole minutes)").default("0"),
            Arg::int("post_reboot_delay", "seconds to wait after the host is back").default("0"),
            Arg::int("reboot_timeout", "seconds to wait for it to come back").default("600"),
            Arg::int("connect_timeout", "seconds for one connection attempt").default("10"),
            Arg::str("test_command", "run after the reboot to check the host").default("whoami"),
            Arg::str("reboot_command", "the command that reboots (default: `shutdown -r +MINUTES MSG`, from pre_reboot_delay and msg)"),
            Arg::str("boot_time_command", "prints something that changes with each boot").default("cat /proc/sys/kernel/random/boot_id"),
            Arg::list("search_paths", "accepted for compatibility"),
        ];
        A
    }
    /// A reboot always changes the host: check mode reports it as Ansible does, and `apply`
    /// reboots.
    async fn plan(&self, _ctx: &TaskCtx, _args: &Args) -> Result<Plan, ModError> {
        let mut plan = Plan::done(Outcome::ok().with("rebooted", true));
        plan.change(Change::own(Restart));
        Ok(plan)
    }
    async fn apply(&self, ctx: &TaskCtx, args: &Args, _plan: Plan) -> Result<Outcome, ModError> {
        let boot_cmd = args.str("boot_time_command")?.unwrap_or_else(|| "cat /proc/sys/kernel/random/boot_id".into());
        let before = ctx.sh(boot_cmd.clone()).await?.ok_or_fail("cannot read the boot id")?;
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

#[cfg(test)]
mod tests {
    use super::super::execute;
    use super::super::testing::{args, Scripted};
    use super::Reboot;

    #[tokio::test]
    async fn check_mode_reports_a_reboot_and_sends_nothing() {
        let host = Scripted::new();
        let out = execute(&Reboot, &host.ctx(true, false), &args(&Reboot, "{}")).await.unwrap();
        assert!(out.changed && out.data["rebooted"] == true);
        assert!(host.commands().is_empty());
    }

    #[tokio::test]
    async fn a_boot_id_that_cannot_be_read_fails_before_rebooting() {
        let host = Scripted::new().fails("boot_id", 1, b"permission denied");
        let e = execute(&Reboot, &host.ctx(false, false), &args(&Reboot, "{}")).await.err().unwrap();
        assert_eq!(e.to_string(), "cannot read the boot id: permission denied");
        assert_eq!(host.commands().len(), 1);
    }
}
