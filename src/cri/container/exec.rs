//! ExecSync: runs a command in a running container through `sifcri oci exec` (which
//! joins the container's namespaces and takes the container's environment from its
//! spec, never the daemon's), collects stdout and stderr apart, and on timeout kills
//! the whole process group it started.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;

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
    let exe = std::env::current_exe().map_err(|e| Error::Internal(e.to_string()))?;
    let mut child = tokio::process::Command::new(exe)
        .arg("oci")
        .arg("--root")
        .arg(&containers.runtime_root)
        .args(["exec", &c.id, "--"])
        .args(cmd)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Error::Internal(format!("spawn exec: {e}")))?;
    let pgid = child.id().unwrap_or(0) as i32;
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
        Ok((stdout, stderr, status)) => {
            use std::os::unix::process::ExitStatusExt;
            let status = status.map_err(|e| Error::Internal(e.to_string()))?;
            let exit_code = status
                .code()
                .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
            Ok(proto::cri::ExecSyncResponse {
                stdout,
                stderr,
                exit_code,
            })
        }
        Err(_) => {
            // The exec'd process is in a session of its own (rootless calls setsid):
            // kill the whole tree under the runtime process, not just its group.
            let killed = kill_tree(pgid);
            // Gone before the answer: a client looking right after the timeout (critest
            // runs `pgrep`) must not still see the command, even as a zombie.
            let _ = child.kill().await;
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

/// SIGKILLs `root` and every descendant, found through /proc (children first is not
/// needed: each is killed before anything can be reparented away from the tree);
/// returns the pids it killed.
pub fn kill_tree(root: i32) -> Vec<i32> {
    let mut parents: Vec<(i32, i32)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if let Some(ppid) = parent_of(pid) {
                parents.push((pid, ppid));
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while let Some(&p) = tree.get(i) {
        tree.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    for pid in &tree {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    tree
}

/// The parent pid of `pid`, from /proc/PID/stat (the field after the `)`).
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}
