//! ExecSync: runs a command in a running container, started by the container's monitor
//! ([`launch`], [`shim`]: `rootless` joins the container's namespaces and cgroup and
//! takes the environment, user, capabilities and seccomp from its spec, never the
//! daemon's), collects stdout and stderr apart, and on timeout kills the whole process
//! tree.

mod launch;
mod running;
mod shim;

use std::time::Duration;

use tokio::io::AsyncReadExt;

pub use crate::shim::wire::exec::kill_tree;

use super::{ContainerRecord, Containers};
use crate::cri::Error;

/// The most output kept per stream.
const MAX_OUTPUT: u64 = 16 * 1024 * 1024;

/// Runs `cmd` in container `c`; `timeout` 0 means none.
pub async fn exec_sync(
    containers: &Containers,
    c: &ContainerRecord,
    cmd: &[String],
    timeout: Duration,
) -> Result<proto::cri::ExecSyncResponse, Error> {
    if cmd.is_empty() {
        return Err(Error::InvalidArgument("exec: empty command".into()));
    }
    if c.state() != proto::cri::ContainerState::ContainerRunning {
        return Err(Error::FailedPrecondition(format!(
            "container {} is not running",
            c.id
        )));
    }
    let mut child = c
        .launch_exec(&containers.runtime_root, cmd.to_vec(), [false, true, true])
        .await?;
    let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
    let work = async {
        let (mut o, mut e) = (Vec::new(), Vec::new());
        let read_o = async {
            if let Some(s) = out.as_mut() {
                let _ = s.take(MAX_OUTPUT).read_to_end(&mut o).await;
            }
        };
        let read_e = async {
            if let Some(s) = err.as_mut() {
                let _ = s.take(MAX_OUTPUT).read_to_end(&mut e).await;
            }
        };
        tokio::join!(read_o, read_e);
        let status = child.wait().await;
        (o, e, status)
    };
    let result = if timeout.is_zero() {
        Ok(work.await)
    } else {
        tokio::time::timeout(timeout, work).await
    };
    match result {
        Ok((stdout, stderr, status)) => Ok(proto::cri::ExecSyncResponse {
            stdout,
            stderr,
            exit_code: status.map_err(Error::Internal)?,
        }),
        Err(_) => {
            // The exec'd process is in a session of its own: kill the whole tree
            // under our child, not just its group.
            let killed = child.kill().await;
            // Gone before the answer: a client looking right after the timeout (critest
            // runs `pgrep`) must not still see the command, even as a zombie.
            wait_gone(&killed, Duration::from_secs(2)).await;
            Err(Error::DeadlineExceeded(format!(
                "command {cmd:?} timed out after {}s",
                timeout.as_secs()
            )))
        }
    }
}

/// Waits (at most `limit`) until none of `pids` exists any more, zombies included.
async fn wait_gone(pids: &[i32], limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while pids
        .iter()
        .any(|p| std::path::Path::new(&format!("/proc/{p}")).exists())
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
