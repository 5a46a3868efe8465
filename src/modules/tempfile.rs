//! `tempfile`: make a new temporary file or folder on the host and return its path.

use async_trait::async_trait;

use super::{fail, Arg, Args, Change, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Tempfile;

/// The planned step: the script that makes the file and reports it, and the name's parts
/// (for the error a missing folder gives).
struct Make {
    script: String,
    prefix: String,
    suffix: String,
}

#[async_trait]
impl Module for Tempfile {
    fn name(&self) -> &'static str {
        "tempfile"
    }
    fn doc(&self) -> &'static str {
        include_str!("tempfile.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("state", "file or directory").choices(&["file", "directory"]).default("file"),
            Arg::str("path", "the folder to create it in (default: the host's $TMPDIR, else /tmp)"),
            Arg::str("prefix", "start of the name").default("ansible."),
            Arg::str("suffix", "end of the name").default(""),
        ];
        A
    }
    fn supports_check_mode(&self) -> bool {
        false
    }
    /// Nothing to ask: the name is only known once the file is made, which is the whole work
    /// (check mode skips the module). The plan checks the arguments and holds the script.
    async fn plan(&self, _ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let dir = args.str("state")?.as_deref() == Some("directory");
        let prefix = args.str("prefix")?.unwrap_or_else(|| "ansible.".into());
        let suffix = args.str("suffix")?.unwrap_or_default();
        for (what, v) in [("prefix", &prefix), ("suffix", &suffix)] {
            if v.contains('/') {
                return fail(format!("{what} must be a valid file name component, got {}", crate::pytext::py_repr(&serde_json::json!(v))));
            }
        }
        let parent = match args.str("path")? {
            Some(p) => q(&p),
            None => "\"${TMPDIR:-/tmp}\"".into(),
        };
        let template = format!("{prefix}XXXXXXXX");
        let script = format!(
            "d={parent}\nif [ ! -d \"$d\" ]; then printf 'NODIR %s\\n' \"$d\"; exit 1; fi\nt=$(mktemp {}-p \"$d\" --suffix={} {}) || exit 1\nprintf 'PATH %s\\n' \"$t\"\nprintf 'STAT '; stat -c '{}' -- \"$t\"\n",
            if dir { "-d " } else { "" },
            q(&suffix),
            q(&template),
            crate::connection::stat::STAT_FMT
        );
        let mut plan = Plan::done(Outcome::ok());
        plan.change(Change::own(Make { script, prefix, suffix }));
        Ok(plan)
    }
    async fn apply(&self, ctx: &TaskCtx, _args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        let Some(Make { script, prefix, suffix }) = plan.own::<Make>().next() else {
            return fail("internal error: tempfile without its step");
        };
        let out = ctx.sh(script.as_str()).await?;
        let text = out.stdout_str();
        if let Some(d) = text.lines().find_map(|l| l.strip_prefix("NODIR ")) {
            // Python's error for a missing folder.
            return fail(format!("[Errno 2] No such file or directory: '{d}/{prefix}XXXXXXXX{suffix}'"));
        }
        if out.rc != 0 {
            return fail(out.stderr_str().trim().to_string());
        }
        let path = text.lines().find_map(|l| l.strip_prefix("PATH ")).unwrap_or_default().to_string();
        let st = super::common::parse_probe(&out.stdout).lstat;
        let mut o = Outcome::changed(true);
        o.data = super::common::path_result(&path, st.as_ref(), "path");
        Ok(o)
    }
}
