//! `tempfile`: make a new temporary file or folder on the host and return its path.

use async_trait::async_trait;

use super::{fail, Arg, Args, ModError, Module, Outcome, TaskCtx};
use crate::template::shell_quote as q;

pub struct Tempfile;

#[async_trait]
impl Module for Tempfile {
    fn name(&self) -> &'static str {
        "tempfile"
    }
    fn doc(&self) -> &'static str {
        "Create a temporary file or folder (mode 0600 or 0700) with a random name and return its\npath. Always changed; skipped in check mode, as Ansible's is.\n\nexample:\n  - tempfile:\n      state: directory\n      suffix: .build\n    register: workdir\n"
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("state", "file (default) or directory").choices(&["file", "directory"]),
            Arg::str("path", "the folder to create it in (default: $TMPDIR or /tmp)"),
            Arg::str("prefix", "start of the name (default ansible.)"),
            Arg::str("suffix", "end of the name"),
        ];
        A
    }
    fn supports_check_mode(&self) -> bool {
        false
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let dir = args.str("state")?.as_deref() == Some("directory");
        let prefix = args.str("prefix")?.unwrap_or_else(|| "ansible.".into());
        let suffix = args.str("suffix")?.unwrap_or_default();
        for (what, v) in [("prefix", &prefix), ("suffix", &suffix)] {
            if v.contains('/') {
                return fail(format!("{what} must be a valid file name component, got '{v}'"));
            }
        }
        let parent = match args.str("path")? {
            Some(p) => q(&p),
            None => "\"${TMPDIR:-/tmp}\"".into(),
        };
        let out = ctx
            .sh(format!("mktemp {}-p {parent} --suffix={} {}", if dir { "-d " } else { "" }, q(&suffix), q(&format!("{prefix}XXXXXXXX"))))
            .await?;
        if out.rc != 0 {
            return fail(out.stderr_str().trim().to_string());
        }
        Ok(Outcome::changed(true).with("path", out.stdout_str().trim().to_string()))
    }
}
