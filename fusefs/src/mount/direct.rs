//! `mount(2)` of a `/dev/fuse` descriptor we open ourselves.
//!
//! Works as root, and as the root of a user namespace that owns the current mount
//! namespace (FUSE is mountable in user namespaces). Output: the connection's
//! descriptor, ready for [`super::Server`].

use std::fs::OpenOptions;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::{MountError, MountOptions};

/// Opens a new FUSE connection (`/dev/fuse`), close-on-exec.
pub fn open_device() -> Result<OwnedFd, MountError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
        .map(OwnedFd::from)
        .map_err(MountError::OpenDevice)
}

/// Mounts the FUSE connection `fd` at `mountpoint` with `mount(2)`.
///
/// Nothing answers the kernel's INIT request until a [`super::Server`] starts on `fd`;
/// until then, accesses to the mountpoint wait.
pub fn mount_fd(
    fd: BorrowedFd<'_>,
    mountpoint: &Path,
    options: &MountOptions,
) -> Result<(), MountError> {
    let meta = std::fs::metadata(mountpoint).map_err(|source| MountError::Mountpoint {
        path: mountpoint.to_owned(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(MountError::Mountpoint {
            path: mountpoint.to_owned(),
            source: std::io::Error::from_raw_os_error(libc::ENOTDIR),
        });
    }
    let rootmode = meta.mode() & libc::S_IFMT;
    let uid = nix::unistd::geteuid().as_raw();
    let gid = nix::unistd::getegid().as_raw();
    let data = options.kernel_data(fd.as_raw_fd(), rootmode, uid, gid);
    nix::mount::mount(
        Some(options.fsname.as_str()),
        mountpoint,
        Some(options.fstype().as_str()),
        options.flags(),
        Some(data.as_str()),
    )
    .map_err(|source| MountError::Mount {
        path: mountpoint.to_owned(),
        source,
    })
}

/// Opens `/dev/fuse` and mounts it at `mountpoint`; returns the connection.
pub fn mount_direct(mountpoint: &Path, options: &MountOptions) -> Result<OwnedFd, MountError> {
    let fd = open_device()?;
    mount_fd(std::os::fd::AsFd::as_fd(&fd), mountpoint, options)?;
    Ok(fd)
}
