//! `slirp4netns` for the keeper's network namespace: `tap0` with 10.0.2.100/24,
//! the gateway 10.0.2.2 mapped to the host's loopback. It runs in a session of its
//! own and ends when the keeper does (its `--exit-fd` is a pipe only the keeper
//! holds open). Its pid is in `STATE/usernet.pid`.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Command, Stdio};

use super::UserNetError;

/// Starts slirp4netns for the network namespace of `pid` and waits for its ready
/// byte; `exit` becomes its exit fd.
pub fn start(pid: i32, exit: OwnedFd, pidfile: &Path) -> Result<(), UserNetError> {
    let fail = |message: String| UserNetError::Failed {
        tool: "slirp4netns",
        message,
    };
    let mut child = Command::new("setsid")
        .args(["slirp4netns", "--configure", "--mtu=65520"])
        .args(["--exit-fd=0", "--ready-fd=1"])
        .arg(format!("--userns-path=/proc/{pid}/ns/user"))
        .args([pid.to_string().as_str(), "tap0"])
        .stdin(Stdio::from(exit))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    let mut byte = [0u8; 1];
    let ready = child
        .stdout
        .take()
        .map(|mut out| out.read(&mut byte).unwrap_or(0))
        .unwrap_or(0);
    if ready == 0 {
        let _ = child.kill();
        let _ = child.wait();
        return Err(fail("exited before the network was ready".into()));
    }
    // Not waited for: it lives as long as the keeper (init reaps it).
    let _ = std::fs::write(pidfile, child.id().to_string());
    drop(child);
    tracing::info!("slirp4netns: egress for the pods, 10.0.2.2 maps to the host's loopback");
    Ok(())
}
