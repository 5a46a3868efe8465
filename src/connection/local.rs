//! The local connection: commands run on the controller itself (`connection: local`, and the
//! default for `localhost`).

use std::path::Path;
use std::process::Stdio;

use async_trait::async_trait;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::{ConnError, Connection, ExecOutput, ExecRequest, Handshake, Step};

#[derive(Default)]
pub struct Local;

/// Where a command runs when it is started on the controller: the controller itself, a
/// container (`docker exec`), or a root file system (`chroot`).
#[derive(Clone, Debug)]
pub enum Place {
    Here,
    Docker { container: String, user: Option<String>, exe: String },
    Chroot { root: String, exe: String },
}

impl Place {
    /// The program and arguments that run `/bin/sh -c LINE` in this place.
    fn argv(&self, line: &str) -> Vec<String> {
        let sh = ["/bin/sh".to_string(), "-c".to_string(), line.to_string()];
        match self {
            Place::Here => sh.to_vec(),
            Place::Docker { container, user, exe } => {
                let mut v = vec![exe.clone(), "exec".into(), "-i".into()];
                if let Some(u) = user {
                    v.push("-u".into());
                    v.push(u.clone());
                }
                v.push(container.clone());
                v.extend(sh);
                v
            }
            Place::Chroot { root, exe } => {
                let mut v = vec![exe.clone(), root.clone()];
                v.extend(sh);
                v
            }
        }
    }
}

enum Chunk {
    Out(Vec<u8>),
    Err(Vec<u8>),
}

async fn pump(mut r: impl tokio::io::AsyncRead + Unpin, tx: mpsc::Sender<Chunk>, err: bool) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let c = buf[..n].to_vec();
                if tx.send(if err { Chunk::Err(c) } else { Chunk::Out(c) }).await.is_err() {
                    break;
                }
            }
        }
    }
}

/// Feed stdin: the password when asked, then the request's data or file.
async fn feed(mut w: tokio::process::ChildStdin, mut rx: mpsc::Receiver<Option<Vec<u8>>>, req: ExecRequest) {
    while let Some(msg) = rx.recv().await {
        match msg {
            Some(bytes) => {
                if w.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            None => break,
        }
    }
    if let Some(data) = &req.stdin {
        let _ = w.write_all(data).await;
    }
    if let Some(f) = &req.stdin_file {
        if let Ok(mut file) = tokio::fs::File::open(f).await {
            let _ = tokio::io::copy(&mut file, &mut w).await;
        }
    }
    let _ = w.shutdown().await;
}

#[async_trait]
impl Connection for Local {
    async fn exec(&self, req: ExecRequest) -> Result<ExecOutput, ConnError> {
        run_in(&Place::Here, req).await
    }

    async fn put_file(&self, local: &Path, dest: &str) -> Result<(), ConnError> {
        let _changing = super::probes::changing_everywhere();
        tokio::fs::copy(local, dest).await.map(|_| ()).map_err(|e| ConnError::Io(format!("cannot copy {} to {dest}: {e}", local.display())))
    }

    async fn get_file(&self, path: &str) -> Result<Vec<u8>, ConnError> {
        tokio::fs::read(path).await.map_err(|e| ConnError::Io(format!("cannot read {path}: {e}")))
    }

    fn transport(&self) -> &'static str {
        "local"
    }
}

/// Run a request's command line in a place, answering a become prompt on the way.
pub async fn run_in(place: &Place, req: ExecRequest) -> Result<ExecOutput, ConnError> {
    let _changing = (!req.read_only).then(super::probes::changing_everywhere);
    {
        if req.become_.as_ref().is_some_and(|b| b.needs_tty()) {
            return Err(ConnError::Become(format!(
                "become method `{}` with a password needs a terminal, which the local connection does not provide; use sudo",
                req.become_.as_ref().map(|b| b.method.as_str()).unwrap_or("")
            )));
        }
        let line = req.command_line();
        let argv = place.argv(&line);
        let mut c = tokio::process::Command::new(&argv[0]);
        c.args(&argv[1..]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        let mut child = c.spawn().map_err(|e| ConnError::Io(format!("cannot start {}: {e}", argv[0])))?;
        let (tx, mut rx) = mpsc::channel(64);
        if let Some(o) = child.stdout.take() {
            tokio::spawn(pump(o, tx.clone(), false));
        }
        if let Some(e) = child.stderr.take() {
            tokio::spawn(pump(e, tx.clone(), true));
        }
        drop(tx);
        let (wtx, wrx) = mpsc::channel::<Option<Vec<u8>>>(4);
        if let Some(stdin) = child.stdin.take() {
            tokio::spawn(feed(stdin, wrx, req.clone()));
        }
        let mut hs = Handshake::new(req.become_.as_ref());
        if hs.started() {
            let _ = wtx.send(None).await;
        }
        // Ansible's local connection gives become this long from the start, in all.
        let deadline = hs.timeout().map(|t| tokio::time::Instant::now() + t);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut exited = None;
        loop {
            // Once the command has exited, what it started in the background may keep the
            // pipes open: as Ansible's run_command, stop reading when they go quiet.
            let chunk = match exited {
                None => tokio::select! {
                    c = rx.recv() => c,
                    st = child.wait() => {
                        exited = Some(st.map_err(|e| ConnError::Io(format!("command failed to run: {e}")))?);
                        continue;
                    }
                    _ = sleep_until(deadline.filter(|_| !hs.started())) => {
                        let _ = child.kill().await;
                        return Err(ConnError::Unreachable("Timed out waiting for become success or become password prompt".into()));
                    }
                },
                Some(_) => tokio::time::timeout(std::time::Duration::from_millis(250), rx.recv()).await.ok().flatten(),
            };
            let Some(chunk) = chunk else { break };
            let step = match chunk {
                Chunk::Out(d) => hs.on_stdout(&d, &mut out),
                Chunk::Err(d) => hs.on_stderr(&d, &mut err),
            };
            match step {
                Step::Nothing => {}
                Step::SendPassword(p) => {
                    let _ = wtx.send(Some(p.into_bytes())).await;
                }
                Step::Start => {
                    let _ = wtx.send(None).await;
                }
                Step::Fail(e) => {
                    let _ = child.kill().await;
                    return Err(e);
                }
            }
        }
        drop(wtx);
        let status = match exited {
            Some(st) => st,
            None => child.wait().await.map_err(|e| ConnError::Io(format!("command failed to run: {e}")))?,
        };
        hs.finish(&mut out, &mut err)?;
        Ok(ExecOutput { rc: status.code().unwrap_or(-1), stdout: out, stderr: err })
    }
}

/// Sleep until the deadline; with none, forever.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
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
        let out = c.exec(ExecRequest { cmd: "cat".into(), stdin_file: Some(src), ..Default::default() }).await.unwrap();
        assert_eq!(out.stdout, b"data");
    }
}
