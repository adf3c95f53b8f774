//! Starting a container's monitor (StartContainer): `sifcri shim --start` with a pipe as
//! stdout. The shim forks itself off at once (the process the daemon started exits and
//! is reaped here), mounts the root filesystem on the image's shared lower, creates and
//! starts the container and says `ready PID` or `error MESSAGE` on the pipe.

use std::io::BufRead;
use std::path::Path;

use super::Error;

/// What the shim is told on its command line.
#[derive(Debug)]
pub(super) struct ShimArgs<'a> {
    pub id: &'a str,
    pub dir: &'a Path,
    pub sif: &'a Path,
    pub log: Option<&'a Path>,
    pub runtime_root: &'a Path,
}

/// Starts the shim of a container on the shared lower `lower`; returns init's pid.
pub(super) fn spawn_shim(a: &ShimArgs<'_>, lower: &Path) -> Result<i32, Error> {
    let exe = std::env::current_exe().map_err(|e| Error::Internal(format!("own binary: {e}")))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("shim")
        .arg("--id")
        .arg(a.id)
        .arg("--dir")
        .arg(a.dir);
    cmd.arg("--image").arg(a.sif).arg("--lower").arg(lower);
    cmd.arg("--runtime-root").arg(a.runtime_root).arg("--start");
    if let Some(l) = a.log {
        cmd.arg("--log").arg(l);
    }
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .env_remove("NOTIFY_SOCKET");
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::Internal(format!("spawn shim: {e}")))?;
    let out = child.stdout.take();
    let _ = child.wait();
    let mut line = String::new();
    if let Some(out) = out {
        let _ = std::io::BufReader::new(out).read_line(&mut line);
    }
    match line.trim_end().split_once(' ') {
        Some(("ready", pid)) => pid
            .parse()
            .map_err(|_| Error::Internal(format!("shim said {line:?}"))),
        Some(("error", msg)) => Err(Error::FailedPrecondition(format!("start container: {msg}"))),
        _ => Err(Error::Internal(format!(
            "the shim exited without a word (see {}/shim.log)",
            a.dir.display()
        ))),
    }
}
