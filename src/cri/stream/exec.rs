//! A streamed exec, started by the container's monitor (`ContainerRecord::launch_exec`,
//! `launch_exec_tty`: joins the container's namespaces and cgroup, env, user,
//! capabilities and seccomp from its spec) with the client's streams on pipes, or on a
//! terminal opened in the container whose master the daemon holds: resizes are applied
//! to the master here. A monitor that takes no exec requests (started by an older
//! daemon) gets the fallbacks: without a terminal a fork from the daemon itself, with
//! one `sifcri oci exec --tty`, whose master comes back over a console socket. When the
//! client goes, the whole process tree started is killed.

use std::os::fd::AsFd;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use super::super::container::{kill_tree, ContainerRecord};
use crate::streaming::{ExecRequest, RuntimeError, Streams, TermSize};

/// How long the exec'd process has to send its terminal.
const CONSOLE_WAIT: Duration = Duration::from_secs(10);

fn other(what: &str) -> impl FnOnce(std::io::Error) -> RuntimeError + '_ {
    move |e| RuntimeError::Other(format!("{what}: {e}"))
}

/// Runs `req` in `c`; its exit code.
pub async fn run(
    runtime_root: &Path,
    c: &ContainerRecord,
    req: ExecRequest,
    mut streams: Streams,
) -> Result<i32, RuntimeError> {
    if !req.tty {
        return run_pipes(runtime_root, c, req, streams).await;
    }
    if let Some(mut child) = c.launch_exec_tty(req.cmd.clone(), (0, 0)).await? {
        let Some(master) = child.master.take() else {
            return Err(RuntimeError::Other("exec: no terminal came back".into()));
        };
        let mut pumps = Vec::new();
        wire_master(master, &mut streams, &mut pumps)?;
        let code = child.wait_or_kill(gone(&mut streams)).await;
        return settle(code, pumps, &mut streams).await;
    }
    let exe = std::env::current_exe().map_err(other("own binary"))?;
    let mut cmd = Command::new(exe);
    cmd.arg("oci").arg("--root").arg(runtime_root).arg("exec");
    cmd.env_clear().kill_on_drop(true).process_group(0);
    run_tty(cmd, c, req, streams).await
}

async fn run_pipes(
    runtime_root: &Path,
    c: &ContainerRecord,
    req: ExecRequest,
    mut s: Streams,
) -> Result<i32, RuntimeError> {
    let pipes = [s.stdin.is_some(), s.stdout.is_some(), s.stderr.is_some()];
    let mut child = c.launch_exec(runtime_root, req.cmd, pipes).await?;
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
    let code = child.wait_or_kill(gone(&mut s)).await;
    settle(code, pumps, &mut s).await
}

/// Fires when the client has gone.
async fn gone(s: &mut Streams) {
    let _ = s.gone.wait_for(|g| *g).await;
}

/// The exit code once the output is handed over; an error when the client went (the
/// exec was killed) or the status was lost.
async fn settle(
    code: Option<Result<i32, String>>,
    pumps: Vec<tokio::task::JoinHandle<()>>,
    s: &mut Streams,
) -> Result<i32, RuntimeError> {
    let Some(code) = code else {
        return Err(RuntimeError::Other("client went away".into()));
    };
    let code = code.map_err(RuntimeError::Other)?;
    drain(pumps, s).await;
    Ok(code)
}

async fn run_tty(
    mut cmd: Command,
    c: &ContainerRecord,
    req: ExecRequest,
    mut s: Streams,
) -> Result<i32, RuntimeError> {
    let dir = std::fs::File::open(&c.dir).map_err(other("open the container directory"))?;
    let name = format!("exec-{}.sock", &crate::state::new_id()[..16]);
    let path = crate::shim::wire::short_path(&dir, &name);
    let listener = tokio::net::UnixListener::bind(&path).map_err(other("console socket"))?;
    let _unlink = Unlink(c.dir.join(&name));
    cmd.arg("--tty").arg("--console-socket").arg(&path);
    cmd.args([&c.id, "--"]).args(&req.cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(other("spawn exec"))?;
    let master = tokio::select! {
        m = receive_master(&listener) => m,
        _ = child.wait() => Err(RuntimeError::Other(exec_failure(&mut child).await)),
    };
    let master = match master {
        Ok(m) => m,
        Err(e) => {
            stop(&mut child).await;
            return Err(e);
        }
    };
    drop(listener);
    let mut pumps = Vec::new();
    wire_master(master, &mut s, &mut pumps)?;
    finish(child, pumps, s).await
}

/// Starts the tasks that resize `master`, write the client's stdin to it and read
/// the terminal's output for the client.
fn wire_master(
    master: std::fs::File,
    s: &mut Streams,
    pumps: &mut Vec<tokio::task::JoinHandle<()>>,
) -> Result<(), RuntimeError> {
    if let Some(rx) = s.resize.take() {
        let m = master.try_clone().map_err(other("dup the pty"))?;
        tokio::spawn(resize(rx, m));
    }
    if let Some(rx) = s.stdin.take() {
        let w = master.try_clone().map_err(other("dup the pty"))?;
        tokio::spawn(pump_in(rx, tokio::fs::File::from_std(w)));
    }
    if let Some(tx) = s.stdout.take() {
        pumps.push(tokio::spawn(pump_out(
            tokio::fs::File::from_std(master),
            tx,
        )));
    }
    Ok(())
}

/// Removes a path when dropped.
struct Unlink(std::path::PathBuf);

impl Drop for Unlink {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Accepts the exec'd process's connection and takes the pty master from it.
async fn receive_master(
    listener: &tokio::net::UnixListener,
) -> Result<std::fs::File, RuntimeError> {
    let (conn, _) = tokio::time::timeout(CONSOLE_WAIT, listener.accept())
        .await
        .map_err(|_| RuntimeError::Other("the exec'd process sent no terminal".into()))?
        .map_err(other("console socket"))?;
    let conn = conn.into_std().map_err(other("console socket"))?;
    tokio::task::spawn_blocking(move || {
        let _ = conn.set_nonblocking(false);
        let _ = conn.set_read_timeout(Some(CONSOLE_WAIT));
        rootless::receive_pty_master(&conn).map(std::fs::File::from)
    })
    .await
    .map_err(|e| RuntimeError::Other(format!("receive the pty: {e}")))?
    .map_err(other("receive the pty"))
}

/// What a failed exec said on stderr.
async fn exec_failure(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut text).await;
    }
    format!("exec failed: {}", text.trim())
}

async fn resize(mut rx: mpsc::Receiver<TermSize>, master: std::fs::File) {
    while let Some(sz) = rx.recv().await {
        let _ = crate::sys::set_window_size(master.as_fd(), sz.height, sz.width);
    }
}

/// Waits for the exec to end (then for its output) or for the client to go (then
/// kills it); no process is left either way.
async fn finish(
    mut child: Child,
    pumps: Vec<tokio::task::JoinHandle<()>>,
    mut s: Streams,
) -> Result<i32, RuntimeError> {
    let gone = async {
        let _ = s.gone.wait_for(|g| *g).await;
    };
    let status = tokio::select! {
        st = child.wait() => st.map_err(other("wait for exec"))?,
        _ = gone => {
            stop(&mut child).await;
            return Err(RuntimeError::Other("client went away".into()));
        }
    };
    drain(pumps, &mut s).await;
    use std::os::unix::process::ExitStatusExt;
    Ok(status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
}

/// Waits for the output pumps to hand everything over, unless the client goes.
async fn drain(pumps: Vec<tokio::task::JoinHandle<()>>, s: &mut Streams) {
    for p in pumps {
        let drained = tokio::select! {
            r = p => r.is_ok(),
            _ = s.gone.wait_for(|g| *g) => false,
        };
        if !drained {
            break;
        }
    }
}

/// Kills everything under the exec and reaps it.
async fn stop(child: &mut Child) {
    if let Some(pid) = child.id() {
        kill_tree(pid as i32);
    }
    let _ = child.kill().await;
}

async fn pump_in<W: AsyncWrite + Unpin>(mut rx: mpsc::Receiver<Vec<u8>>, mut w: W) {
    while let Some(d) = rx.recv().await {
        if w.write_all(&d).await.is_err() || w.flush().await.is_err() {
            return;
        }
    }
}

async fn pump_out<R: AsyncRead + Unpin>(mut r: R, tx: mpsc::Sender<Vec<u8>>) {
    let mut buf = vec![0u8; 32 * 1024];
    // A pty master reads EIO once the terminal's last user is gone: that is the end.
    while let Ok(n @ 1..) = r.read(&mut buf).await {
        if tx.send(buf[..n].to_vec()).await.is_err() {
            return;
        }
    }
}
