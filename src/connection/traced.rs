//! A connection that reports what goes through it (`-vv`: commands and their output, file
//! transfers), for a person following a run. Tasks with `no_log` are never traced.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use super::{ConnError, Connection, ExecOutput, ExecRequest};
use crate::report::Reporter;

pub struct Traced {
    pub inner: Arc<dyn Connection>,
    pub host: String,
    pub reporter: Arc<Reporter>,
}

fn short(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    let s = s.trim_end();
    if s.is_empty() {
        "(none)".into()
    } else {
        s.to_string()
    }
}

#[async_trait]
impl Connection for Traced {
    async fn exec(&self, req: ExecRequest) -> Result<ExecOutput, ConnError> {
        let who = req.become_.as_ref().map(|b| format!(" (become {} via {})", b.user, b.method)).unwrap_or_default();
        let input = match (&req.stdin, &req.stdin_file) {
            (Some(d), _) => format!(" <<{} bytes on stdin>>", d.len()),
            (None, Some(f)) => format!(" <<{} on stdin>>", f.display()),
            _ => String::new(),
        };
        self.reporter.trace(&self.host, &format!("EXEC{who}{input}: {}", req.cmd.trim_end()));
        let start = std::time::Instant::now();
        let r = self.inner.exec(req).await;
        match &r {
            Ok(o) => self.reporter.trace(
                &self.host,
                &format!(
                    "rc={} in {:.3}s\n  stdout: {}\n  stderr: {}",
                    o.rc,
                    start.elapsed().as_secs_f64(),
                    short(&o.stdout),
                    short(&o.stderr)
                ),
            ),
            Err(e) => self.reporter.trace(&self.host, &format!("failed: {e}")),
        }
        r
    }

    async fn put_file(&self, local: &Path, dest: &str) -> Result<(), ConnError> {
        self.reporter.trace(&self.host, &format!("PUT {} TO {dest}", local.display()));
        self.inner.put_file(local, dest).await
    }

    async fn get_file(&self, path: &str) -> Result<Vec<u8>, ConnError> {
        self.reporter.trace(&self.host, &format!("FETCH {path}"));
        self.inner.get_file(path).await
    }

    async fn close(&self) {
        self.inner.close().await
    }

    fn transport(&self) -> &'static str {
        self.inner.transport()
    }

    fn probes(&self) -> Option<&super::probes::ProbeCache> {
        self.inner.probes()
    }
}
