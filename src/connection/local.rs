//! The local connection: commands run on the controller itself (`connection: local`, and the
//! default for `localhost`).

use std::path::Path;
use std::process::Stdio;

use async_trait::async_trait;
use tokio::io::AsyncWriteExt;

use super::{strip_become_marker, ConnError, Connection, ExecOutput, ExecRequest};

#[derive(Default)]
pub struct Local;

#[async_trait]
impl Connection for Local {
    async fn exec(&self, req: ExecRequest) -> Result<ExecOutput, ConnError> {
        let (cmd, feed_password) = match &req.become_ {
            Some(b) => b.wrap(&req.cmd),
            None => (req.cmd.clone(), false),
        };
        let mut c = tokio::process::Command::new("/bin/sh");
        c.arg("-c").arg(&cmd).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        for (k, v) in &req.env {
            c.env(k, v);
        }
        if let Some(cwd) = &req.cwd {
            c.current_dir(cwd);
        }
        let mut child = c.spawn().map_err(|e| ConnError::Io(format!("cannot start /bin/sh: {e}")))?;
        let mut stdin = child.stdin.take();
        let mut input = Vec::new();
        if feed_password {
            if let Some(pw) = req.become_.as_ref().and_then(|b| b.password.as_ref()) {
                input.extend_from_slice(pw.as_bytes());
                input.push(b'\n');
            }
        }
        if let Some(data) = &req.stdin {
            input.extend_from_slice(data);
        }
        let writer = async move {
            if let Some(mut s) = stdin.take() {
                let _ = s.write_all(&input).await;
                let _ = s.shutdown().await;
            }
        };
        let (_, out) = tokio::join!(writer, child.wait_with_output());
        let out = out.map_err(|e| ConnError::Io(format!("command failed to run: {e}")))?;
        let mut res = ExecOutput { rc: out.status.code().unwrap_or(-1), stdout: out.stdout, stderr: out.stderr };
        if req.become_.is_some() && !strip_become_marker(&mut res) {
            let err = res.stderr_str();
            let msg = if err.contains("incorrect password") || err.contains("Sorry, try again") || err.contains("Authentication failure") {
                "Incorrect become password".to_string()
            } else if err.contains("a password is required") || err.contains("password is required") {
                "Missing become password: sudo asks for one (use -K or ansible_become_password)".to_string()
            } else {
                format!("privilege escalation failed: {}", err.trim())
            };
            return Err(ConnError::Become(msg));
        }
        Ok(res)
    }

    async fn put_file(&self, local: &Path, dest: &str) -> Result<(), ConnError> {
        tokio::fs::copy(local, dest).await.map(|_| ()).map_err(|e| ConnError::Io(format!("cannot copy {} to {dest}: {e}", local.display())))
    }

    async fn get_file(&self, path: &str) -> Result<Vec<u8>, ConnError> {
        tokio::fs::read(path).await.map_err(|e| ConnError::Io(format!("cannot read {path}: {e}")))
    }

    fn transport(&self) -> &'static str {
        "local"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn exec_stdin_env_stat_put_get() {
        let c = Local;
        let out = c
            .exec(ExecRequest {
                cmd: "cat; echo \" $GREETING\"; exit 3".into(),
                stdin: Some(b"hi".to_vec()),
                env: vec![("GREETING".into(), "there".into())],
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(out.rc, 3);
        assert_eq!(out.stdout_str(), "hi there\n");
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("a");
        std::fs::write(&src, b"data").unwrap();
        let dest = dir.path().join("b").display().to_string();
        c.put_file(&src, &dest).await.unwrap();
        assert_eq!(c.get_file(&dest).await.unwrap(), b"data");
        let st = c.stat(&dest).await.unwrap().unwrap();
        assert!(st.is_file());
        assert_eq!(st.size, 4);
        assert!(c.stat(&format!("{dest}.missing")).await.unwrap().is_none());
    }
}
