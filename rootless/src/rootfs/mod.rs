//! The container's root filesystem, built inside its mount namespace by init:
//! propagation, the rootfs (bound, or under a user's overlay), the spec's mounts,
//! device nodes, `pivot_root`, masked and read-only paths, the read-only root,
//! sysctls, hostname and domain name.

mod devices;
mod mounts;
mod options;
mod overlay;
mod paths;
mod pivot;
mod propagation;
mod targets;

use std::path::Path;

use nix::mount::{mount, MsFlags};

pub(crate) use overlay::Overlay;
pub use overlay::{OVERLAY_LOWER, OVERLAY_UPPER, OVERLAY_WORK};
pub(crate) use targets::precreate;

use crate::process::SetupError;
use crate::spec::Plan;

/// Where init reports things that degraded.
pub(crate) type Warn<'a> = &'a dyn Fn(String);

/// Before `pivot_root`: propagation, the rootfs bind, the spec's mounts and devices.
pub(crate) fn prepare(plan: &Plan, warn: Warn<'_>) -> Result<(), SetupError> {
    let linux = plan.spec.linux().as_ref();
    let prop = linux
        .and_then(|l| l.rootfs_propagation().as_deref())
        .unwrap_or("rslave");
    let prop_flags = options::propagation(prop).ok_or_else(|| {
        SetupError::Other(format!("linux.rootfsPropagation: unknown value {prop:?}"))
    })?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        prop_flags | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(SetupError::sys("set propagation of /"))?;
    let root = &plan.rootfs;
    if prop_flags.contains(MsFlags::MS_SHARED) {
        propagation::parent_private(root)?;
    }
    match &plan.overlay {
        Some(overlay) => overlay.mount(root)?,
        None => mount(
            Some(root),
            root,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(SetupError::path("bind rootfs", root))?,
    }
    for m in plan.spec.mounts().as_deref().unwrap_or_default() {
        mounts::mount_one(plan, m, warn)?;
    }
    if plan
        .spec
        .mounts()
        .iter()
        .flatten()
        .any(|m| m.destination() == Path::new("/dev"))
    {
        devices::default_devices(plan)?;
    }
    devices::spec_devices(plan)
}

/// Makes the rootfs the process's root: `pivot_root` with a mount namespace, else chroot.
pub(crate) fn enter(plan: &Plan, own_mount_ns: bool, warn: Warn<'_>) -> Result<(), SetupError> {
    if own_mount_ns {
        pivot::pivot_root(&plan.rootfs, warn)
    } else {
        warn("no mount namespace: using chroot, the host's mounts stay visible".into());
        pivot::chroot(&plan.rootfs)
    }
}

/// After `pivot_root`: masked paths, read-only paths, read-only root.
pub(crate) fn finish(plan: &Plan, warn: Warn<'_>) -> Result<(), SetupError> {
    let linux = plan.spec.linux().as_ref();
    for p in linux
        .and_then(|l| l.masked_paths().as_ref())
        .into_iter()
        .flatten()
    {
        paths::mask(Path::new(p), warn)?;
    }
    for p in linux
        .and_then(|l| l.readonly_paths().as_ref())
        .into_iter()
        .flatten()
    {
        paths::make_readonly(Path::new(p))?;
    }
    if plan
        .spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        paths::remount_readonly(Path::new("/"), MsFlags::empty())?;
    }
    Ok(())
}

/// sysctls (`linux.sysctl`), hostname and domain name.
pub(crate) fn sysctl_and_names(plan: &Plan) -> Result<(), SetupError> {
    let linux = plan.spec.linux().as_ref();
    for (key, value) in linux
        .and_then(|l| l.sysctl().as_ref())
        .into_iter()
        .flatten()
    {
        let path = Path::new("/proc/sys").join(key.replace('.', "/"));
        std::fs::write(&path, value)
            .map_err(|e| SetupError::Other(format!("linux.sysctl {key}: {e}")))?;
    }
    if let Some(h) = plan.spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).map_err(SetupError::sys("sethostname"))?;
    }
    if let Some(d) = plan.spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        crate::sys::set_domainname(d).map_err(SetupError::sys("setdomainname"))?;
    }
    Ok(())
}
