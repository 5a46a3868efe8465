//! `apk`: packages on Alpine. Which of the task's packages are installed (and, for `latest`,
//! which have updates) is read in one round trip; the ones that need work go to apk in one call.

use async_trait::async_trait;

use super::package::{apply_with, plan_with, quoted, Manager, MANAGER_ARGS};
use super::{Arg, Args, ModError, Module, Outcome, Plan, TaskCtx};

pub struct Apk;

impl Manager for Apk {
    fn query(&self, names: &[String]) -> String {
        format!(
            "for p in {}; do v=$(apk info -e -v \"$p\" 2>/dev/null) && printf '%s\\t%s\\n' \"$p\" \"${{v#$p-}}\"; done; true",
            quoted(names)
        )
    }
    fn outdated(&self, names: &[String]) -> String {
        format!("apk version -l '<' {} 2>/dev/null | awk 'NR > 1 {{ sub(/-[0-9].*/, \"\", $1); print $1 }}'; true", quoted(names))
    }
    fn install(&self, items: &[String], latest: bool) -> String {
        if latest {
            format!("apk add --upgrade {}", quoted(items))
        } else {
            format!("apk add {}", quoted(items))
        }
    }
    fn remove(&self, items: &[String], _autoremove: bool) -> String {
        format!("apk del {}", quoted(items))
    }
    fn update_cache(&self) -> &'static str {
        "apk update"
    }
}

#[async_trait]
impl Module for Apk {
    fn name(&self) -> &'static str {
        "apk"
    }
    fn doc(&self) -> &'static str {
        include_str!("apk.md")
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
    use super::*;

    #[test]
    fn command_lines() {
        let p = vec!["curl".to_string()];
        assert_eq!(Apk.install(&p, false), "apk add curl");
        assert_eq!(Apk.install(&p, true), "apk add --upgrade curl");
        assert_eq!(Apk.remove(&p, false), "apk del curl");
        assert_eq!(Apk.update_cache(), "apk update");
        assert!(Apk.outdated(&p).starts_with("apk version -l '<' curl"));
    }
}
