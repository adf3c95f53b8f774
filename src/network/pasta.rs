//! `pasta` (package `passt`) for the keeper's network namespace: a tap interface
//! configured like the host's (`--config-net`), the default gateway mapped to the
//! host's loopback, no port forwarding of its own. pasta runs in the background
//! as the user and writes its pid to `STATE/usernet.pid`. It holds the namespace open
//! itself, so it would never notice the keeper's end: a small watcher (`sh`, in a
//! session of its own) waits for EOF on the keeper's exit pipe and then kills it.

use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Command, Stdio};

use super::UserNetError;

/// Starts pasta for the network namespace of `pid` and waits until it is set up;
/// `exit` is the read end of the keeper's exit pipe.
pub fn start(pid: i32, pidfile: &Path, exit: OwnedFd) -> Result<(), UserNetError> {
    let out = Command::new("pasta")
        .args(["--config-net", "--quiet"])
        .arg("--pid")
        .arg(pidfile)
        .args(["-t", "none", "-u", "none", "-T", "none", "-U", "none"])
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| UserNetError::Failed {
            tool: "pasta",
            message: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(UserNetError::Failed {
            tool: "pasta",
            message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    let watcher = Command::new("setsid")
        .args(["sh", "-c", "cat >/dev/null; kill \"$(cat \"$1\")\"", "sh"])
        .arg(pidfile)
        .stdin(Stdio::from(exit))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    // Not waited for: it ends with the keeper (init reaps it).
    if let Err(e) = watcher {
        tracing::warn!("pasta will outlive the keeper: cannot start its watcher: {e}");
    }
    tracing::info!("pasta: egress for the pods, the gateway address maps to the host's loopback");
    Ok(())
}
