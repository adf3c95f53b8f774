//! `sifcri serve`: the CRI daemon's arguments.

use std::path::PathBuf;

use clap::Args;

/// Serve the Kubernetes CRI (RuntimeService and ImageService) on a unix socket.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The TOML configuration file (see docs/configuration.md); defaults apply without one.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The CRI socket (overrides `socket` in the file).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// The persistent root directory: images and records (overrides `root`).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// The runtime state directory (overrides `state`).
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Internal: hold the user, mount and network namespaces of an unprivileged
    /// daemon (started by `sifcri serve` itself; see docs/rootless.md).
    #[arg(long, hide = true)]
    pub userns_keeper: bool,
}
