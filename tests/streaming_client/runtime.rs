//! A real [`StreamRuntime`] for the tests: exec runs the command as a child
//! process on the host (pipes, or a pty with `setsid -c` for a tty, resized
//! with `stty`); attach joins a long-running `sh` "container" started by the
//! test. It records the pids it started so tests can check none is left.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use sifcri::streaming::{
    AttachRequest, BoxFuture, ExecRequest, RuntimeError, StreamRuntime, Streams,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{broadcast, mpsc};

/// A running "container": its stdin and a feed of its stdout.
pub struct Container {
    pub stdin: mpsc::Sender<Vec<u8>>,
    pub stdout: broadcast::Sender<Vec<u8>>,
}

#[derive(Default)]
pub struct TestRuntime {
    pub pids: Mutex<Vec<u32>>,
    pub containers: Mutex<HashMap<String, Arc<Container>>>,
    /// Pod id to the path of its network namespace.
    pub pods: Mutex<HashMap<String, std::path::PathBuf>>,
}

async fn pump_in<W: AsyncWrite + Unpin>(mut rx: mpsc::Receiver<Vec<u8>>, mut w: W) {
    while let Some(d) = rx.recv().await {
        if w.write_all(&d).await.is_err() || w.flush().await.is_err() {
            return;
        }
    }
}

async fn pump_out<R: AsyncRead + Unpin>(mut r: R, tx: mpsc::Sender<Vec<u8>>) {
    let mut buf = vec![0u8; 8192];
    // A pty master reads EIO once the child side is gone: that is the end.
    while let Ok(n @ 1..) = r.read(&mut buf).await {
        if tx.send(buf[..n].to_vec()).await.is_err() {
            return;
        }
    }
}

/// Kills the child's whole process group (it leads one) and reaps the child.
async fn kill_group(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = child.kill().await;
}

impl TestRuntime {
    async fn run_pipes(&self, req: ExecRequest, mut s: Streams) -> Result<i32, RuntimeError> {
        let mut cmd = tokio::process::Command::new(&req.cmd[0]);
        cmd.args(&req.cmd[1..]).kill_on_drop(true).process_group(0);
        cmd.stdin(if s.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        cmd.stdout(if s.stdout.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        cmd.stderr(if s.stderr.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = cmd
            .spawn()
            .map_err(|e| RuntimeError::Other(e.to_string()))?;
        self.pids.lock().unwrap().push(child.id().unwrap_or(0));
        if let (Some(rx), Some(w)) = (s.stdin.take(), child.stdin.take()) {
            tokio::spawn(pump_in(rx, w));
        }
        let mut pumps = Vec::new();
        if let (Some(tx), Some(r)) = (s.stdout.take(), child.stdout.take()) {
            pumps.push(tokio::spawn(pump_out(r, tx)));
        }
        if let (Some(tx), Some(r)) = (s.stderr.take(), child.stderr.take()) {
            pumps.push(tokio::spawn(pump_out(r, tx)));
        }
        let status = tokio::select! {
            st = child.wait() => st.map_err(|e| RuntimeError::Other(e.to_string()))?,
            _ = async { let _ = s.gone.wait_for(|g| *g).await; } => {
                kill_group(&mut child).await;
                return Err(RuntimeError::Other("client went away".into()));
            }
        };
        for p in pumps {
            let _ = p.await;
        }
        Ok(status.code().unwrap_or(128))
    }

    async fn run_tty(&self, req: ExecRequest, mut s: Streams) -> Result<i32, RuntimeError> {
        let pty = nix::pty::openpty(None, None).map_err(|e| RuntimeError::Other(e.to_string()))?;
        let slave_path = std::fs::read_link(format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&pty.slave)
        ))
        .map_err(|e| RuntimeError::Other(e.to_string()))?;
        let slave = std::fs::File::from(pty.slave);
        let mut cmd = tokio::process::Command::new("setsid");
        cmd.arg("-c").args(&req.cmd).kill_on_drop(true);
        cmd.stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave);
        let mut child = cmd
            .spawn()
            .map_err(|e| RuntimeError::Other(e.to_string()))?;
        self.pids.lock().unwrap().push(child.id().unwrap_or(0));
        drop(cmd);
        let master = std::fs::File::from(pty.master);
        let reader = tokio::fs::File::from_std(master.try_clone().unwrap());
        let writer = tokio::fs::File::from_std(master);
        if let Some(rx) = s.stdin.take() {
            tokio::spawn(pump_in(rx, writer));
        }
        if let Some(mut rx) = s.resize.take() {
            let path = slave_path.clone();
            tokio::spawn(async move {
                while let Some(sz) = rx.recv().await {
                    let _ = tokio::process::Command::new("stty")
                        .arg("-F")
                        .arg(&path)
                        .args([
                            "rows",
                            &sz.height.to_string(),
                            "cols",
                            &sz.width.to_string(),
                        ])
                        .status()
                        .await;
                }
            });
        }
        let out = s.stdout.take().map(|tx| tokio::spawn(pump_out(reader, tx)));
        let status = tokio::select! {
            st = child.wait() => st.map_err(|e| RuntimeError::Other(e.to_string()))?,
            _ = async { let _ = s.gone.wait_for(|g| *g).await; } => {
                kill_group(&mut child).await;
                return Err(RuntimeError::Other("client went away".into()));
            }
        };
        if let Some(p) = out {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), p).await;
        }
        Ok(status.code().unwrap_or(128))
    }

    /// Starts a "container": `sh` that echoes each stdin line back prefixed.
    pub async fn start_container(&self, id: &str) {
        let mut child = tokio::process::Command::new("sh")
            .args(["-c", "while read l; do echo \"attached:$l\"; done"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        self.pids.lock().unwrap().push(child.id().unwrap_or(0));
        let (in_tx, in_rx) = mpsc::channel(16);
        let (out_tx, _) = broadcast::channel(64);
        tokio::spawn(pump_in(in_rx, child.stdin.take().unwrap()));
        let (feed, mut stdout) = (out_tx.clone(), child.stdout.take().unwrap());
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok(n @ 1..) = stdout.read(&mut buf).await {
                let _ = feed.send(buf[..n].to_vec());
            }
            let _ = child.wait().await;
        });
        let c = Arc::new(Container {
            stdin: in_tx,
            stdout: out_tx,
        });
        self.containers.lock().unwrap().insert(id.to_string(), c);
    }

    async fn join(&self, req: AttachRequest, mut s: Streams) -> Result<(), RuntimeError> {
        let c = self
            .containers
            .lock()
            .unwrap()
            .get(&req.container_id)
            .cloned();
        let c = c.ok_or_else(|| RuntimeError::NotFound(req.container_id.clone()))?;
        let mut feed = c.stdout.subscribe();
        let out = s.stdout.take();
        let fwd = tokio::spawn(async move {
            while let Ok(d) = feed.recv().await {
                if let Some(tx) = &out {
                    if tx.send(d).await.is_err() {
                        return;
                    }
                }
            }
        });
        if let Some(mut rx) = s.stdin.take() {
            while let Some(d) = rx.recv().await {
                let _ = c.stdin.send(d).await;
            }
        } else {
            let _ = s.gone.wait_for(|g| *g).await;
        }
        // Client stdin ended: give the container a moment to answer, then detach.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        fwd.abort();
        Ok(())
    }
}

impl StreamRuntime for TestRuntime {
    fn exec(&self, req: ExecRequest, streams: Streams) -> BoxFuture<'_, Result<i32, RuntimeError>> {
        if req.container_id == "missing" {
            return Box::pin(async { Err(RuntimeError::NotFound("missing".into())) });
        }
        if req.tty {
            Box::pin(self.run_tty(req, streams))
        } else {
            Box::pin(self.run_pipes(req, streams))
        }
    }

    fn attach(
        &self,
        req: AttachRequest,
        streams: Streams,
    ) -> BoxFuture<'_, Result<(), RuntimeError>> {
        Box::pin(self.join(req, streams))
    }

    fn port_forward(
        &self,
        pod_id: String,
        port: u16,
    ) -> BoxFuture<'_, Result<tokio::net::TcpStream, RuntimeError>> {
        Box::pin(async move {
            let path = self.pods.lock().unwrap().get(&pod_id).cloned();
            let path = path.ok_or_else(|| RuntimeError::NotFound(pod_id.clone()))?;
            sifcri::streaming::connect_in_netns(&path, port)
                .await
                .map_err(|e| {
                    RuntimeError::Other(format!(
                        "{e}: {}",
                        std::error::Error::source(&e)
                            .map(|s| s.to_string())
                            .unwrap_or_default()
                    ))
                })
        })
    }
}
