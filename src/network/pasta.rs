//! `pasta` (package `passt`) for the keeper's network namespace: a tap interface
//! configured like the host's (`--config-net`), the default gateway mapped to the
//! host's loopback, no port forwarding of its own. pasta runs in the background
//! as the user, writes its pid to `STATE/usernet.pid` and stays until killed.

use std::path::Path;
use std::process::{Command, Stdio};

use super::UserNetError;

/// Starts pasta for the network namespace of `pid` and waits until it is set up.
pub fn start(pid: i32, pidfile: &Path) -> Result<(), UserNetError> {
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
    tracing::info!("pasta: egress for the pods, the gateway address maps to the host's loopback");
    Ok(())
}
