//! `sifcri mount` / `sifcri umount`: serve a SIF or squashfs image read-only through
//! FUSE, optionally under a writable kernel overlayfs, with or without root.
//!
//! Input: the parsed command line as a [`MountRequest`]. The image is found in
//! `image`, the FUSE plumbing is `fusefs::mount`, the filesystem `fusefs::SquashFuse`.
//! Output: a mount at the requested directory, served by a background process
//! (`background`) or by this one (`serve`), or a command run with the mount in a
//! private namespace (`namespace`). See docs/fusefs.md for the design.

mod background;
mod error;
mod image;
mod namespace;
mod overlay;
mod serve;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub use error::Error;
pub use image::ImageSource;
pub use overlay::OverlayDirs;

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
    /// As `Foreground`, and write `ready` on stdout once mounted (the background
    /// server, talking to its parent).
    NotifyStdout,
}

/// Mounts as requested; returns the exit status (the command's, with `-- COMMAND`).
pub fn mount(req: &MountRequest, mode: Mode) -> Result<u8, Error> {
    let background = mode == Mode::Background && req.command.is_empty();
    if background {
        background::spawn_background(req)?;
        return Ok(0);
    }
    let notify = mode == Mode::NotifyStdout;
    serve::serve(req, || {
        if notify {
            background::notify_ready();
        }
    })
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
