//! `dnf` (also `yum`): packages on Fedora, RHEL and their kin. Which of the task's packages are
//! installed (and, for `latest`, which have updates) is read in one round trip; the ones that
//! need work go to dnf in one call.

use async_trait::async_trait;

use super::package::{apply_with, plan_with, quoted, Manager, MANAGER_ARGS};
use super::{Arg, Args, ModError, Module, Outcome, Plan, TaskCtx};

pub struct Dnf;

impl Manager for Dnf {
    fn query(&self, names: &[String]) -> String {
        format!("rpm -q --qf '%{{NAME}}\\t%{{VERSION}}-%{{RELEASE}}\\n' {} 2>/dev/null | grep -v 'is not installed'; true", quoted(names))
    }
    fn outdated(&self, names: &[String]) -> String {
        format!("dnf -q check-update {} 2>/dev/null | awk 'NF == 3 {{ split($1, a, \".\"); print a[1] }}'; true", quoted(names))
    }
    fn install(&self, items: &[String], latest: bool) -> String {
        let n = quoted(items);
        if latest {
            format!("dnf -y install {n} && dnf -y upgrade {n}")
        } else {
            format!("dnf -y install {n}")
        }
    }
    fn remove(&self, items: &[String], autoremove: bool) -> String {
        let n = quoted(items);
        if autoremove {
            format!("dnf -y remove {n} && dnf -y autoremove")
        } else {
            format!("dnf -y remove {n}")
        }
    }
    fn update_cache(&self) -> &'static str {
        "dnf -y makecache"
    }
}

#[async_trait]
impl Module for Dnf {
    fn name(&self) -> &'static str {
        "dnf"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["yum"]
    }
    fn doc(&self) -> &'static str {
        include_str!("dnf.md")
    }
    fn args(&self) -> &'static [Arg] {
        MANAGER_ARGS
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        plan_with(self, ctx, args).await
    }
    async fn apply(&self, ctx: &TaskCtx, args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        apply_with(self, ctx, args, plan).await
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{args, Scripted};
    use super::super::{execute, Module};
    use super::*;

    #[test]
    fn command_lines() {
        let p = vec!["httpd".to_string(), "mod ssl".to_string()];
        assert_eq!(Dnf.install(&p, false), "dnf -y install httpd 'mod ssl'");
        assert_eq!(Dnf.install(&p[..1], true), "dnf -y install httpd && dnf -y upgrade httpd");
        assert_eq!(Dnf.remove(&p[..1], true), "dnf -y remove httpd && dnf -y autoremove");
        assert!(Dnf.query(&p[..1]).starts_with("rpm -q --qf '%{NAME}\\t%{VERSION}-%{RELEASE}\\n' httpd"));
    }

    #[tokio::test]
    async fn latest_upgrades_only_what_has_an_update() {
        let host = Scripted::new().on("rpm -q", 0, b"httpd\t2.4-1\ncurl\t8.0-1\n#OUTDATED\ncurl\n");
        let p = Dnf.plan(&host.ctx(false, false), &args(&Dnf, "{name: [httpd, curl], state: latest}")).await.unwrap();
        assert!(p.outcome.changed);
        assert_eq!(p.outcome.data["results"], serde_json::json!(["curl"]));
        let host = Scripted::new().on("rpm -q", 0, b"httpd\t2.4-1\n");
        let p = Dnf.plan(&host.ctx(false, false), &args(&Dnf, "{name: [httpd, curl], state: absent}")).await.unwrap();
        assert_eq!(p.outcome.data["results"], serde_json::json!(["httpd"]));
    }

    #[tokio::test]
    async fn update_cache_refreshes_then_looks_again() {
        let host = Scripted::new().on("makecache", 0, b"").on("rpm -q", 0, b"httpd\t2.4-1\n");
        let a = args(&Dnf, "{name: httpd, update_cache: true}");
        // Check mode refreshes nothing.
        let out = execute(&Dnf, &host.ctx(true, false), &a).await.unwrap();
        assert!(!out.changed && host.commands().len() == 1);
        let out = execute(&Dnf, &host.ctx(false, false), &a).await.unwrap();
        assert!(!out.changed);
        let cmds = host.commands();
        assert_eq!(cmds[2], "dnf -y makecache");
        assert!(cmds[3].starts_with("rpm -q") && cmds.len() == 4);
    }
}
