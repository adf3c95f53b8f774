//! One mount of the spec's `mounts` list, made inside the rootfs: bind mounts with
//! their flags and propagation, and filesystem mounts (proc, sysfs, tmpfs, devpts,
//! mqueue, cgroup) with the unprivileged fallbacks the kernel forces on us.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use nix::mount::{mount, MsFlags};
use oci_spec::runtime::{LinuxNamespaceType, Mount};

use super::options::MountOptions;
use super::paths::{create_target, locked_flags, secure_join};
use super::Warn;
use crate::process::SetupError;
use crate::spec::Plan;

/// Makes one spec mount under the rootfs.
pub(crate) fn mount_one(plan: &Plan, m: &Mount, warn: Warn<'_>) -> Result<(), SetupError> {
    let opts = MountOptions::parse(m.options().as_deref().unwrap_or_default());
    let dest = secure_join(&plan.rootfs, m.destination())?;
    let typ = m
        .typ()
        .as_deref()
        .unwrap_or(if opts.bind { "bind" } else { "" });
    if opts.bind || typ == "bind" {
        let source = m.source().clone().unwrap_or_default();
        return bind(&source, &dest, &opts).and_then(|()| propagate(&dest, &opts));
    }
    create_target(&dest, false)?;
    let source = m.source().clone().unwrap_or_else(|| PathBuf::from(typ));
    match typ {
        "sysfs" if !plan.privileged && !plan.namespaces.creates(LinuxNamespaceType::Network) => {
            bind_host("/sys", &dest, &opts)
        }
        "cgroup" | "cgroup2" => cgroup(&dest, &opts, plan, warn),
        _ => match fs_mount(&source, &dest, typ, &opts) {
            Ok(()) => Ok(()),
            Err(e) => fallback(typ, &dest, &opts, e, warn),
        },
    }
    .and_then(|()| propagate(&dest, &opts))
}

/// Mounts a filesystem of type `typ` with the option's flags and data.
fn fs_mount(source: &Path, dest: &Path, typ: &str, opts: &MountOptions) -> nix::Result<()> {
    mount(
        Some(source),
        dest,
        Some(typ),
        opts.flags,
        opts.data().as_deref(),
    )
}

/// What to do when a filesystem mount fails (mostly: unprivileged limits).
fn fallback(
    typ: &str,
    dest: &Path,
    opts: &MountOptions,
    err: nix::Error,
    warn: Warn<'_>,
) -> Result<(), SetupError> {
    match (typ, err) {
        ("devpts", nix::Error::EINVAL | nix::Error::EPERM)
            if opts.data.iter().any(|d| d.starts_with("gid=")) =>
        {
            let mut opts = opts.clone();
            opts.data.retain(|d| !d.starts_with("gid="));
            fs_mount(Path::new("devpts"), dest, "devpts", &opts)
                .map_err(SetupError::path("mount devpts", dest))
        }
        ("mqueue", nix::Error::EPERM) if Path::new("/dev/mqueue").is_dir() => {
            warn(
                "cannot mount a new mqueue (no own ipc namespace?): binding the host's /dev/mqueue"
                    .into(),
            );
            bind_host("/dev/mqueue", dest, opts)
        }
        ("mqueue", nix::Error::EPERM) => {
            warn(
                "cannot mount a new mqueue (no own ipc namespace?) and the host has none: skipped"
                    .into(),
            );
            Ok(())
        }
        ("sysfs", nix::Error::EPERM) => {
            warn("cannot mount a new sysfs: binding the host's /sys".into());
            bind_host("/sys", dest, opts)
        }
        _ => Err(SetupError::Path {
            op: "mount",
            path: dest.into(),
            source: err,
        }),
    }
}

/// cgroup mounts: a fresh cgroup2 where the host is pure v2, else the host's tree bound.
fn cgroup(dest: &Path, opts: &MountOptions, plan: &Plan, warn: Warn<'_>) -> Result<(), SetupError> {
    if crate::cgroups::Layout::detect() == crate::cgroups::Layout::Unified
        && fs_mount(Path::new("cgroup2"), dest, "cgroup2", opts).is_ok()
    {
        return Ok(());
    }
    if !plan.namespaces.creates(LinuxNamespaceType::Cgroup) {
        tracing::debug!("cgroup mount without a cgroup namespace");
    }
    let _ = warn;
    bind_host(
        "/sys/fs/cgroup",
        dest,
        &MountOptions {
            recursive: true,
            ..opts.clone()
        },
    )
}

/// Binds a host path with the mount's flags.
fn bind_host(source: &str, dest: &Path, opts: &MountOptions) -> Result<(), SetupError> {
    bind(
        Path::new(source),
        dest,
        &MountOptions {
            bind: true,
            recursive: true,
            ..opts.clone()
        },
    )
}

/// A bind mount, then a remount for its flags (keeping the source's locked flags).
fn bind(source: &Path, dest: &Path, opts: &MountOptions) -> Result<(), SetupError> {
    let meta = std::fs::metadata(source)
        .map_err(|e| SetupError::Other(format!("bind mount source {}: {e}", source.display())))?;
    create_target(dest, !meta.is_dir())?;
    let rec = if opts.recursive {
        MsFlags::MS_REC
    } else {
        MsFlags::empty()
    };
    mount(
        Some(source),
        dest,
        None::<&str>,
        MsFlags::MS_BIND | rec,
        None::<&str>,
    )
    .map_err(SetupError::path("bind mount", dest))?;
    let wanted = opts.flags & !MsFlags::MS_REMOUNT;
    if !wanted.is_empty() {
        let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | rec | wanted | locked_flags(dest);
        mount(None::<&str>, dest, None::<&str>, flags, None::<&str>)
            .map_err(SetupError::path("remount bind", dest))?;
    }
    if opts.recursive_readonly {
        let fd = nix::fcntl::open(
            dest,
            nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(SetupError::path("open", dest))?;
        crate::sys::make_tree_readonly(fd.as_fd())
            .map_err(SetupError::path("make recursively read-only (rro)", dest))?;
    }
    Ok(())
}

fn propagate(dest: &Path, opts: &MountOptions) -> Result<(), SetupError> {
    if opts.propagation.is_empty() {
        return Ok(());
    }
    mount(
        None::<&str>,
        dest,
        None::<&str>,
        opts.propagation,
        None::<&str>,
    )
    .map_err(SetupError::path("set propagation", dest))
}
