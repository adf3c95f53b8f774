//! Entering the root filesystem: `pivot_root` (the old root detached), or `chroot` where
//! `pivot_root` cannot work (a rootfs on the initramfs, or no mount namespace).

use std::path::Path;

use nix::fcntl::OFlag;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;

use super::Warn;
use crate::process::SetupError;

/// `pivot_root(rootfs)`, old root unmounted; falls back to move-mount plus chroot.
pub(crate) fn pivot_root(rootfs: &Path, warn: Warn<'_>) -> Result<(), SetupError> {
    // The old root, to detach after the pivot: "." is not reliably it.
    let old_root = nix::fcntl::open(
        "/",
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(SetupError::sys("open /"))?;
    nix::unistd::chdir(rootfs).map_err(SetupError::path("chdir", rootfs))?;
    match nix::unistd::pivot_root(".", ".") {
        Ok(()) => {
            // The old root now sits on top of the new one: detach it without
            // propagating the unmount to the host, and without touching the
            // propagation of the new root's mounts (a bidirectional bind stays shared).
            nix::unistd::fchdir(&old_root).map_err(SetupError::sys("fchdir old root"))?;
            mount(
                None::<&str>,
                ".",
                None::<&str>,
                MsFlags::MS_SLAVE | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(SetupError::sys("make old root a slave"))?;
            umount2(".", MntFlags::MNT_DETACH).map_err(SetupError::sys("detach old root"))?;
            nix::unistd::chdir("/").map_err(SetupError::sys("chdir /"))
        }
        Err(nix::Error::EINVAL) => {
            warn(format!(
                "pivot_root {} not possible (initramfs?): falling back to chroot",
                rootfs.display()
            ));
            mount(
                Some(rootfs),
                "/",
                None::<&str>,
                MsFlags::MS_MOVE,
                None::<&str>,
            )
            .map_err(SetupError::path("move rootfs to /", rootfs))?;
            chroot(Path::new("."))
        }
        Err(e) => Err(SetupError::Path {
            op: "pivot_root",
            path: rootfs.into(),
            source: e,
        }),
    }
}

/// `chroot(rootfs)` and `chdir("/")`.
pub(crate) fn chroot(rootfs: &Path) -> Result<(), SetupError> {
    nix::unistd::chroot(rootfs).map_err(SetupError::path("chroot", rootfs))?;
    nix::unistd::chdir("/").map_err(SetupError::sys("chdir /"))
}
