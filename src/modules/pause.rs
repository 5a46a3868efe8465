//! `pause`: wait some seconds or minutes, or for Enter at a prompt (on a terminal).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{Arg, Args, ModError, Module, Outcome, Plan, TaskCtx};

pub struct Pause;

#[async_trait]
impl Module for Pause {
    fn name(&self) -> &'static str {
        "pause"
    }
    fn doc(&self) -> &'static str {
        include_str!("pause.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::int("seconds", "how long to wait"),
            Arg::int("minutes", "how long to wait"),
            Arg::str("prompt", "text to show; waits for Enter unless seconds or minutes are given"),
            Arg::bool("echo", "show what is typed at the prompt").default("true"),
        ];
        A
    }
    fn controller_only(&self) -> bool {
        true
    }
    /// Ansible's pause waits in check mode too, so the waiting is the plan; nothing is left
    /// to apply.
    async fn plan(&self, _ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let secs = args.int("seconds")?.unwrap_or(0) + args.int("minutes")?.unwrap_or(0) * 60;
        let started = Instant::now();
        let start_text = super::command::now_string(std::time::SystemTime::now());
        let mut input = String::new();
        let mut out = Outcome::ok();
        if secs > 0 || !args.has("prompt") {
            tokio::time::sleep(Duration::from_secs(secs.max(0) as u64)).await;
        } else if std::io::stdin().is_terminal() {
            input = tokio::task::spawn_blocking(|| {
                let mut s = String::new();
                let _ = std::io::stdin().read_line(&mut s);
                s.trim_end_matches(['\n', '\r']).to_string()
            })
            .await
            .unwrap_or_default();
        } else {
            out.warnings.push("Not waiting for response to prompt as stdin is not interactive".into());
        }
        let delta = started.elapsed().as_secs();
        Ok(Plan::done(
            out.with("start", start_text)
                .with("stop", super::command::now_string(std::time::SystemTime::now()))
                .with("delta", delta)
                .with("user_input", input)
                .with("echo", args.bool("echo", true)?)
                .with("stdout", format!("Paused for {delta} seconds")),
        ))
    }
}
