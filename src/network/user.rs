//! User-mode networking for an unprivileged daemon: the keeper's network namespace
//! (where the pods' bridge is) gets its way out through `pasta` (Debian's `passt`)
//! or `slirp4netns`, whichever `[rootless] network` names or, with `auto`, is found
//! first (pasta, then slirp4netns). Both map an address of the namespace to the
//! host's loopback: pasta the default gateway (its `--map-gw`, on by default),
//! slirp4netns `10.0.2.2`. Ports from the host reach pods through
//! [`super::hostport`], not through these helpers.

use std::os::fd::OwnedFd;
use std::path::Path;

use crate::config::UserNetwork;

/// A user-mode network helper could not start.
#[derive(Debug, thiserror::Error)]
pub enum UserNetError {
    /// The helper asked for is not installed.
    #[error("{0} is not installed (package {1})")]
    Missing(&'static str, &'static str),
    /// The helper failed.
    #[error("{tool} failed: {message}")]
    Failed {
        /// pasta or slirp4netns.
        tool: &'static str,
        /// Its output or the spawn error.
        message: String,
    },
}

/// Gives the network namespace of `pid` a way out, as `mode` says. `exit` is the read
/// end of a pipe whose write end lives as long as `pid` does; the helper's pid goes to
/// `pidfile`.
pub fn start_user_network(
    mode: UserNetwork,
    pid: i32,
    exit: OwnedFd,
    pidfile: &Path,
) -> Result<(), UserNetError> {
    let chosen = match mode {
        UserNetwork::None => {
            tracing::warn!("[rootless] network = \"none\": pods have no way out");
            return Ok(());
        }
        UserNetwork::Auto if found("pasta") => UserNetwork::Pasta,
        UserNetwork::Auto if found("slirp4netns") => UserNetwork::Slirp4netns,
        UserNetwork::Auto => {
            tracing::warn!(
                "neither pasta (passt) nor slirp4netns is installed: pods have no way out"
            );
            return Ok(());
        }
        m => m,
    };
    match chosen {
        UserNetwork::Pasta if !found("pasta") => Err(UserNetError::Missing("pasta", "passt")),
        UserNetwork::Pasta => super::pasta::start(pid, pidfile, exit),
        _ if !found("slirp4netns") => Err(UserNetError::Missing("slirp4netns", "slirp4netns")),
        _ => super::slirp::start(pid, exit, pidfile),
    }
}

/// Whether `tool` is on PATH.
fn found(tool: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path).any(|d| d.join(tool).is_file())
}
