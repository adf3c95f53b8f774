//! The writable layer: a kernel overlayfs with the image's FUSE mount as its lower.
//!
//! Layout, for `--overlay UPPER` and mountpoint DIR:
//! - `UPPER` (created when missing) receives every change;
//! - `.<name of UPPER>.work`, next to UPPER (same filesystem, as overlayfs requires),
//!   is overlayfs' work directory; it is kept, like UPPER, so the pair can be mounted
//!   again;
//! - the FUSE lower is mounted at a fresh hidden directory, the overlay is mounted at
//!   DIR, then the lower is detached and its directory removed: overlayfs holds a
//!   private clone of the lower mount, so the image is reachable only through DIR and
//!   unmounting DIR ends the FUSE connection (and the server).

use std::path::{Path, PathBuf};

use nix::mount::{mount, MsFlags};

use super::Error;

/// The upper and work directories of one overlay.
#[derive(Debug, Clone)]
pub struct OverlayDirs {
    /// Where changes go.
    pub upper: PathBuf,
    /// overlayfs' work directory.
    pub work: PathBuf,
}

impl OverlayDirs {
    /// Creates UPPER and its work directory where missing; returns absolute paths.
    pub fn prepare(upper: &Path) -> Result<Self, Error> {
        std::fs::create_dir_all(upper)
            .map_err(|e| Error::path("cannot create upper directory", upper, e))?;
        let upper = upper
            .canonicalize()
            .map_err(|e| Error::path("cannot resolve upper directory", upper, e))?;
        let name = upper.file_name().map(|n| n.to_string_lossy().into_owned());
        let parent = upper.parent().unwrap_or(Path::new("/"));
        let work = parent.join(format!(".{}.work", name.unwrap_or_default()));
        std::fs::create_dir_all(&work)
            .map_err(|e| Error::path("cannot create work directory", &work, e))?;
        for p in [&upper, &work] {
            check_option_safe(p)?;
        }
        Ok(OverlayDirs { upper, work })
    }
}

/// Makes an empty, private directory to mount the FUSE lower at, briefly.
pub fn hidden_lower() -> Result<PathBuf, Error> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::temp_dir();
    for n in 0u32..1000 {
        let dir = base.join(format!(".sifcri-lower-{}-{n}", std::process::id()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::path("cannot create a directory in", &base, e)),
        }
    }
    Err(Error::path(
        "no free hidden directory in",
        &base,
        std::io::ErrorKind::AlreadyExists.into(),
    ))
}

/// Mounts overlayfs at `target`. `userxattr`: keep overlayfs' own metadata in
/// `user.overlay.*` xattrs (required inside a user namespace, where `trusted.*`
/// cannot be written).
pub fn mount_overlay(
    lower: &Path,
    dirs: &OverlayDirs,
    target: &Path,
    userxattr: bool,
) -> Result<(), Error> {
    check_option_safe(lower)?;
    let mut data = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        dirs.upper.display(),
        dirs.work.display()
    );
    if userxattr {
        data.push_str(",userxattr");
    }
    mount(
        Some("sifcri-overlay"),
        target,
        Some("overlay"),
        MsFlags::empty(),
        Some(data.as_str()),
    )
    .map_err(|errno| Error::Overlay {
        target: target.to_owned(),
        errno,
        hint: hint(errno),
    })
}

/// What an errno of an overlay mount means on the kernels we run on.
fn hint(errno: nix::Error) -> &'static str {
    match errno {
        nix::Error::EPERM => {
            "only root, or the root of a user namespace (kernel 5.11 or later), may mount overlayfs"
        }
        nix::Error::EINVAL => {
            "overlayfs rejected the layers: the upper and work directories must be on one \
             filesystem that supports xattrs (user.* ones in a user namespace) and must not \
             overlap; the kernel log (dmesg) names the reason"
        }
        nix::Error::ENODEV => "the kernel has no overlay filesystem (modprobe overlay)",
        nix::Error::ENOENT | nix::Error::ENOTDIR => {
            "a layer directory or the mountpoint is missing"
        }
        nix::Error::EBUSY => "the upper or work directory is in use by another overlay",
        _ => "see the kernel log (dmesg)",
    }
}

fn check_option_safe(path: &Path) -> Result<(), Error> {
    let s = path.as_os_str().as_encoded_bytes();
    if s.iter().any(|b| matches!(b, b',' | b':' | b'\\')) {
        return Err(Error::OverlayPath {
            path: path.to_owned(),
        });
    }
    Ok(())
}
