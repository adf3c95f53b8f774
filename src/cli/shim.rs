//! `sifcri shim`: the per-container monitor's arguments (started by the daemon, not by
//! people).

use std::path::PathBuf;

use clap::Args;

/// The per-container monitor (internal: started by `sifcri serve`).
#[derive(Debug, Args)]
pub struct ShimArgs {
    /// The container id.
    #[arg(long)]
    pub id: String,
    /// The container's runtime directory (bundle/, upper, exit.json).
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// The image (SIF) whose squashfs becomes the read-only lower layer.
    #[arg(long, value_name = "FILE")]
    pub image: PathBuf,
    /// The image's shared lower (`STATE/lowers/HEX`, see `sifcri serve`): the image is
    /// mounted at `DIR/mnt` once for all its containers. Without it the container gets
    /// a FUSE mount of its own.
    #[arg(long, value_name = "DIR")]
    pub lower: Option<PathBuf>,
    /// The OCI runtime's state root.
    #[arg(long, value_name = "DIR")]
    pub runtime_root: PathBuf,
    /// The CRI log file.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Start the container once created (what StartContainer asks for); without it the
    /// container is left created, its init waiting for `sifcri oci start`.
    #[arg(long)]
    pub start: bool,
    /// Already detached from the daemon (the shim forks instead now; kept for callers
    /// that pass it).
    #[arg(long, hide = true)]
    pub detached: bool,
}
