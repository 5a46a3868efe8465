//! The `docker` and `chroot` connections: commands start on the controller and run inside a
//! container (`docker exec -i`) or a root file system (`chroot`), for configuring containers
//! and for imaging a machine before its first boot. Files travel through the command's stdin
//! and stdout, so a link inside the root file system is resolved inside it, never on the
//! controller.

use std::path::Path;

use async_trait::async_trait;

use super::local::{run_in, Place};
use super::{ConnError, Connection, ExecOutput, ExecRequest};
use crate::pytext::shell_quote as q;

pub struct Wrapped {
    place: Place,
    transport: &'static str,
}

impl Wrapped {
    /// A running container, by name or id; `user` as `docker exec -u`.
    pub async fn docker(container: &str, user: Option<String>, exe: Option<String>) -> Result<Wrapped, ConnError> {
        let exe = exe.unwrap_or_else(|| "docker".into());
        let w = Wrapped { place: Place::Docker { container: container.to_string(), user, exe: exe.clone() }, transport: "docker" };
        // Fail as unreachable up front when the container is not running.
        let out = tokio::process::Command::new(&exe)
            .args(["inspect", "-f", "{{.State.Running}}", container])
            .output()
            .await
            .map_err(|e| ConnError::Unreachable(format!("cannot run {exe}: {e}")))?;
        if String::from_utf8_lossy(&out.stdout).trim() != "true" {
            return Err(ConnError::Unreachable(format!(
                "container {container} is not running: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(w)
    }

    /// A root file system on the controller (run as root).
    pub fn chroot(root: &str, exe: Option<String>) -> Result<Wrapped, ConnError> {
        if !Path::new(root).join("bin/sh").exists() {
            return Err(ConnError::Unreachable(format!("{root} is not a root file system (no bin/sh in it)")));
        }
        Ok(Wrapped { place: Place::Chroot { root: root.to_string(), exe: exe.unwrap_or_else(|| "chroot".into()) }, transport: "chroot" })
    }
}

#[async_trait]
impl Connection for Wrapped {
    async fn exec(&self, req: ExecRequest) -> Result<ExecOutput, ConnError> {
        run_in(&self.place, req).await
    }

    async fn put_file(&self, local: &Path, dest: &str) -> Result<(), ConnError> {
        let req = ExecRequest { cmd: format!("cat > {}", q(dest)), stdin_file: Some(local.to_path_buf()), ..Default::default() };
        let out = run_in(&self.place, req).await?;
        if out.rc != 0 {
            return Err(ConnError::Io(format!("cannot write {dest}: {}", out.stderr_str().trim())));
        }
        Ok(())
    }

    async fn get_file(&self, path: &str) -> Result<Vec<u8>, ConnError> {
        let out = run_in(&self.place, ExecRequest { cmd: format!("cat -- {}", q(path)), ..Default::default() }).await?;
        if out.rc != 0 {
            return Err(ConnError::Io(format!("cannot read {path}: {}", out.stderr_str().trim())));
        }
        Ok(out.stdout)
    }

    fn transport(&self) -> &'static str {
        self.transport
    }
}
