//! `sifcri mount` / `sifcri umount`: serve a SIF or squashfs image read-only through
//! FUSE, optionally under a writable kernel overlayfs, with or without root.
//!
//! Input: the parsed command line as a [`MountRequest`]. The image is found in
//! `image`, the FUSE plumbing is `fusefs::mount`, the filesystem `fusefs::SquashFuse`.
//! Output: a mount at the requested directory, served by a process forked off once
//! the mount is ready (`background`) or by this one (`serve`), or a command run with
//! the mount in a private namespace (`namespace`). See docs/fusefs.md for the design.
//! For the daemon: one mount per image shared by its containers, reference counted
//! under the state directory (`shared`, [`Lowers`]), under a kernel overlay per
//! container ([`mount_container_rootfs`]).

mod background;
mod error;
mod image;
mod namespace;
mod overlay;
mod serve;
mod shared;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub use error::Error;
pub use image::ImageSource;
pub(crate) use namespace::enter_private;
pub use overlay::OverlayDirs;
pub use shared::{ensure_mounted, Lowers};

/// Default budget, in MiB, of a mount server's caches of decompressed image blocks
/// (`sifcri mount --cache-size`). The kernel's page cache keeps file data and the
/// kernel's dentry/inode caches keep attributes (`KEEP_CACHE`, long timeouts), so this
/// only has to spare re-decompressing blocks that requests read piecewise; see
/// docs/fusefs.md and docs/benchmarks.md for the measurements behind it (at 8 MiB a
/// server peaked at 17.9–18.7 MiB after reading 100,000 small files, at 6 MiB at
/// 14.7–15.0 MiB; squashfuse_ll at 2.1 MiB, and the target is that plus 16 MiB).
pub const DEFAULT_CACHE_MIB: u64 = 6;

static CACHE_BYTES: AtomicU64 = AtomicU64::new(DEFAULT_CACHE_MIB << 20);

/// Sets the cache budget of the mounts this process serves from now on (process-wide,
/// like the allocator settings of a server; `sifcri mount --cache-size`).
pub fn set_cache_bytes(bytes: u64) {
    CACHE_BYTES.store(bytes, Ordering::Relaxed);
}

/// The cache budget of the mounts this process serves.
pub fn cache_bytes() -> u64 {
    CACHE_BYTES.load(Ordering::Relaxed)
}

static OWNERS: std::sync::OnceLock<fusefs::OwnerMap> = std::sync::OnceLock::new();

/// Reports the image owners of the mounts this process serves from now on through
/// `owners` (process-wide, set once: `sifcri oci mount` as an ordinary user maps them
/// to the ids its containers' user namespace sees them as); false if already set.
pub fn set_owner_map(owners: fusefs::OwnerMap) -> bool {
    OWNERS.set(owners).is_ok()
}

/// The owner map of the mounts this process serves (identity unless set).
pub fn owner_map() -> fusefs::OwnerMap {
    OWNERS.get().cloned().unwrap_or_default()
}

/// One `sifcri mount`, validated.
#[derive(Debug, Clone)]
pub struct MountRequest {
    /// The SIF or squashfs file.
    pub image: PathBuf,
    /// The SIF descriptor to serve instead of the primary system partition.
    pub partition: Option<u32>,
    /// The overlay's upper directory, if any.
    pub overlay: Option<PathBuf>,
    /// The mountpoint.
    pub dir: PathBuf,
    /// FUSE worker threads.
    pub threads: usize,
    /// A command to run with the mount (in a private namespace), or nothing.
    pub command: Vec<OsString>,
}

/// How the mount is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Return once mounted, leaving a server process behind.
    Background,
    /// Serve in this process until unmounted (or until the command exits).
    Foreground,
    /// As `Foreground`, and write `ready` on stdout once mounted (for a caller that
    /// runs the server as a child of its own).
    NotifyStdout,
}

/// Mounts as requested; returns the exit status (the command's, with `-- COMMAND`).
pub fn mount(req: &MountRequest, mode: Mode) -> Result<u8, Error> {
    let launch = if mode == Mode::Background && req.command.is_empty() {
        serve::Launch::Fork
    } else {
        serve::Launch::Here
    };
    let notify = mode == Mode::NotifyStdout;
    serve::serve(req, launch, || {
        if notify {
            background::notify_ready();
        }
    })
}

/// A container's root filesystem on a shared lower: mounts `image` at `lower/mnt`
/// unless it is ([`ensure_mounted`]), then a kernel overlay of it with the writable
/// `upper` at `rootfs`. For a container's monitor, while it has one thread.
pub fn mount_container_rootfs(
    lower: &Path,
    image: &Path,
    upper: &Path,
    rootfs: &Path,
) -> Result<(), Error> {
    let mnt = ensure_mounted(lower, image)?;
    let dirs = OverlayDirs::prepare(upper)?;
    overlay::mount_overlay(&mnt, &dirs, rootfs, serve::in_userns())
}

/// Unmounts what `sifcri mount` mounted at `dir` (its server then exits).
pub fn umount(dir: &Path, lazy: bool) -> Result<(), Error> {
    // Not canonicalize: a mount whose server died answers ENOTCONN to any lookup.
    let dir = std::path::absolute(dir).map_err(|e| Error::path("cannot resolve", dir, e))?;
    match fusefs::mount::unmount(&dir, lazy) {
        Err(fusefs::mount::MountError::Unmount {
            source: nix::Error::EINVAL,
            ..
        }) => Err(Error::NotMounted { path: dir }),
        other => Ok(other?),
    }
}
