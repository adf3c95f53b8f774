//! Device nodes in the container's `/dev`: the default set (null, zero, full, random,
//! urandom, tty) and `linux.devices` — made with mknod when privileged, bind-mounted
//! from the host otherwise — plus the usual symlinks (fd, stdio, ptmx).

use std::path::Path;

use nix::mount::{mount, MsFlags};
use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use oci_spec::runtime::LinuxDeviceType;

use super::paths::{create_target, secure_join};
use crate::process::SetupError;
use crate::spec::Plan;

/// A device node to make: path, kind, major, minor, mode, owner.
struct Node<'a> {
    path: &'a Path,
    kind: SFlag,
    major: u64,
    minor: u64,
    mode: u32,
    uid: u32,
    gid: u32,
}

const DEFAULTS: [(&str, u64, u64); 6] = [
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

const LINKS: [(&str, &str); 5] = [
    ("/proc/self/fd", "/dev/fd"),
    ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"),
    ("/proc/self/fd/2", "/dev/stderr"),
    ("pts/ptmx", "/dev/ptmx"),
];

/// The default devices and symlinks, for a spec that mounts its own `/dev`.
pub(crate) fn default_devices(plan: &Plan) -> Result<(), SetupError> {
    for (path, major, minor) in DEFAULTS {
        let node = Node {
            path: Path::new(path),
            kind: SFlag::S_IFCHR,
            major,
            minor,
            mode: 0o666,
            uid: 0,
            gid: 0,
        };
        make(plan, &node)?;
    }
    for (target, link) in LINKS {
        let at = secure_join(&plan.rootfs, Path::new(link))?;
        if std::fs::symlink_metadata(&at).is_err() {
            std::os::unix::fs::symlink(target, &at)
                .map_err(|e| SetupError::Other(format!("symlink {}: {e}", at.display())))?;
        }
    }
    Ok(())
}

/// The devices of `linux.devices`.
pub(crate) fn spec_devices(plan: &Plan) -> Result<(), SetupError> {
    let devices = plan
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.devices().as_ref());
    for d in devices.into_iter().flatten() {
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            LinuxDeviceType::A => continue,
        };
        let node = Node {
            path: d.path(),
            kind,
            major: u64::try_from(d.major()).unwrap_or(0),
            minor: u64::try_from(d.minor()).unwrap_or(0),
            mode: d.file_mode().unwrap_or(0o666),
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        };
        make(plan, &node)?;
    }
    Ok(())
}

fn make(plan: &Plan, node: &Node<'_>) -> Result<(), SetupError> {
    let at = secure_join(&plan.rootfs, node.path)?;
    if let Ok(meta) = std::fs::symlink_metadata(&at) {
        if !meta.is_file() || meta.len() > 0 {
            let _ = std::fs::remove_file(&at);
        }
    }
    // mknod needs CAP_MKNOD in the initial user namespace.
    if plan.privileged
        && !plan
            .namespaces
            .has(oci_spec::runtime::LinuxNamespaceType::User)
    {
        create_target(at.parent().unwrap_or(&plan.rootfs), false)?;
        let mode = Mode::from_bits_truncate(node.mode & 0o7777);
        mknod(&at, node.kind, mode, makedev(node.major, node.minor))
            .map_err(SetupError::path("mknod", &at))?;
        // mknod applies the umask: set the spec's mode exactly.
        let perms = std::os::unix::fs::PermissionsExt::from_mode(node.mode & 0o7777);
        std::fs::set_permissions(&at, perms)
            .map_err(|e| SetupError::Other(format!("chmod {}: {e}", at.display())))?;
        let owner = (
            Some(nix::unistd::Uid::from_raw(node.uid)),
            Some(nix::unistd::Gid::from_raw(node.gid)),
        );
        nix::unistd::chown(&at, owner.0, owner.1).map_err(SetupError::path("chown", &at))
    } else {
        create_target(&at, true)?;
        mount(
            Some(node.path),
            &at,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(SetupError::path("bind device from the host", node.path))
    }
}
