//! `pipe` (a command's output, trailing whitespace removed) and `lines` (its lines), run by
//! `/bin/sh` on the controller in the playbook's folder, as Ansible runs them.

use minijinja::Error;
use serde_json::{Map, Value};

use super::{err, Ctx};
use crate::template::to_text;

fn sh(ctx: &Ctx, plugin: &str, cmd: &str) -> Result<String, Error> {
    let mut c = std::process::Command::new("/bin/sh");
    c.arg("-c").arg(cmd).stdin(std::process::Stdio::null()).stderr(std::process::Stdio::inherit());
    if let Some(dir) = ctx.playbook_dir().filter(|d| std::path::Path::new(d).is_dir()) {
        c.current_dir(dir);
    }
    let o = c.output().map_err(|e| err(format!("lookup_plugin.{plugin}({cmd}) could not run: {e}")))?;
    if !o.status.success() {
        return Err(err(format!("lookup_plugin.{plugin}({cmd}) returned {}", o.status.code().unwrap_or(-1))));
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

pub fn pipe(ctx: &Ctx, terms: Vec<Value>, _: &Map<String, Value>) -> Result<Vec<Value>, Error> {
    terms.iter().map(|t| sh(ctx, "pipe", &to_text(t)).map(|o| Value::from(o.trim_end()))).collect()
}

pub fn lines(ctx: &Ctx, terms: Vec<Value>, _: &Map<String, Value>) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        out.extend(sh(ctx, "lines", &to_text(&t))?.lines().map(Value::from));
    }
    Ok(out)
}
