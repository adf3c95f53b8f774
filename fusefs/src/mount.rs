//! Mount plumbing: puts a FUSE connection at a directory and serves it.
//!
//! Input: a mountpoint and [`MountOptions`]; output: the `/dev/fuse` descriptor of the
//! new connection, which [`Server`] then serves with any `fuser::Filesystem`.
//! Two ways to mount, as squashfuse and libfuse do:
//! - [`mount_direct`]: `mount(2)` of a `/dev/fuse` descriptor we open ourselves; needs
//!   `CAP_SYS_ADMIN` in the user namespace that owns the mount namespace (root, or the
//!   root of a user namespace a container or `sifcri mount --overlay` made);
//! - [`mount_fusermount`]: the setuid helper `fusermount3` mounts for an ordinary user
//!   and hands the descriptor back over a unix socket.
//!
//! [`mount`] tries the first and falls back to the second on `EPERM`; [`unmount`] does
//! the same with `umount2(2)` and `fusermount3 -u`.

mod direct;
mod fusermount;
mod options;
mod server;

use std::io;
use std::path::PathBuf;

pub use direct::{mount_direct, mount_fd, open_device};
pub use fusermount::{mount_fusermount, unmount_fusermount};
pub use options::MountOptions;
pub use server::{default_threads, limit_malloc_arenas, Forked, NotifierSlot, Notifying, Server};

use std::os::fd::OwnedFd;
use std::path::Path;

/// Everything that can go wrong while mounting, serving or unmounting.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    /// `/dev/fuse` could not be opened.
    #[error("cannot open /dev/fuse")]
    OpenDevice(#[source] io::Error),
    /// The mountpoint could not be inspected.
    #[error("cannot use {} as a mountpoint", path.display())]
    Mountpoint {
        /// The mountpoint.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// `mount(2)` refused.
    #[error("mount(2) of fuse at {} failed", path.display())]
    Mount {
        /// The mountpoint.
        path: PathBuf,
        /// The errno.
        #[source]
        source: nix::Error,
    },
    /// A helper program could not be started.
    #[error("cannot run {program}")]
    Spawn {
        /// The program.
        program: &'static str,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// `fusermount3` ran but did not do what was asked.
    #[error("fusermount3 failed at {}: {message}", path.display())]
    Fusermount {
        /// The mountpoint.
        path: PathBuf,
        /// What fusermount3 said (its stderr), or what went wrong talking to it.
        message: String,
    },
    /// `umount2(2)` refused.
    #[error("unmount of {} failed", path.display())]
    Unmount {
        /// The mountpoint.
        path: PathBuf,
        /// The errno.
        #[source]
        source: nix::Error,
    },
    /// The FUSE session failed (handshake or request loop).
    #[error("fuse session failed")]
    Session(#[source] io::Error),
    /// The server process could not be forked (or had more than one thread).
    #[error("cannot fork the mount server")]
    Fork(#[source] nix::Error),
}

/// How a mount was made, so that it is undone the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `mount(2)` in our own mount namespace.
    Direct,
    /// Through the setuid helper `fusermount3`.
    Fusermount,
}

/// Mounts FUSE at `mountpoint`: directly where we may, else through `fusermount3`.
pub fn mount(mountpoint: &Path, options: &MountOptions) -> Result<(OwnedFd, Method), MountError> {
    match mount_direct(mountpoint, options) {
        Ok(fd) => Ok((fd, Method::Direct)),
        Err(MountError::Mount {
            source: nix::Error::EPERM,
            ..
        }) => {
            let user = options.clone().for_user();
            Ok((mount_fusermount(mountpoint, &user)?, Method::Fusermount))
        }
        Err(err) => Err(err),
    }
}

/// Unmounts `mountpoint`: `umount2(2)`, or `fusermount3 -u` where the kernel says
/// `EPERM` (an ordinary user's mount). `lazy` detaches a busy mount.
pub fn unmount(mountpoint: &Path, lazy: bool) -> Result<(), MountError> {
    let flags = if lazy {
        nix::mount::MntFlags::MNT_DETACH
    } else {
        nix::mount::MntFlags::empty()
    };
    match nix::mount::umount2(mountpoint, flags) {
        Ok(()) => Ok(()),
        Err(nix::Error::EPERM) => unmount_fusermount(mountpoint, lazy),
        Err(source) => Err(MountError::Unmount {
            path: mountpoint.to_owned(),
            source,
        }),
    }
}
