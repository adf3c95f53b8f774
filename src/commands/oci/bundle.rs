//! `oci mount SIF BUNDLE` / `oci umount BUNDLE`: a SIF served through FUSE as a
//! bundle's rootfs, made writable by an overlay, with a `config.json` from the SIF's
//! OCI image config when it has one (else a default one).
//!
//! As root the overlay is mounted here (`sifcri mount --overlay`). An ordinary user may
//! mount overlayfs only inside a user namespace of their own, so for a user the FUSE
//! mount stays at BUNDLE/rootfs and the overlay's layers are recorded as
//! `org.sifcri.overlay.*` annotations, which the container's init mounts (see
//! `rootless`). For a user, config.json also gets the user's id mappings (its own ids
//! as root, its subordinate range as 1..=N: `rootless::user_id_mappings`), and the FUSE
//! server reports the image's owners as the host ids those mappings give them, so
//! that container root owns the image's root-owned files and may write into them.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use rootless::oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Spec};

/// A user's uid and gid mappings.
type IdMaps = (Vec<LinuxIdMapping>, Vec<LinuxIdMapping>);

/// `oci mount`: the image at BUNDLE/rootfs through `crate::mount`, plus config.json.
pub fn mount(image: &Path, bundle: &Path) -> anyhow::Result<ExitCode> {
    let privileged = nix::unistd::geteuid().is_root();
    let maps = (!privileged).then(rootless::user_id_mappings);
    if let Some(maps) = &maps {
        crate::mount::set_owner_map(owner_map(maps));
    }
    let image_config = image_config(image)?;
    let rootfs = bundle.join("rootfs");
    std::fs::create_dir_all(&rootfs).with_context(|| format!("create {}", rootfs.display()))?;
    let req = crate::mount::MountRequest {
        image: image.to_path_buf(),
        partition: None,
        overlay: privileged.then(|| bundle.join("upper")),
        dir: rootfs.clone(),
        threads: fusefs::mount::default_threads(),
        command: Vec::new(),
    };
    crate::mount::mount(&req, crate::mount::Mode::Background)?;
    let written = spec(bundle, image_config.as_ref(), maps.as_ref()).and_then(|spec| {
        let json = serde_json::to_vec_pretty(&spec)?;
        std::fs::write(bundle.join("config.json"), json).context("write config.json")
    });
    if let Err(e) = written {
        // Undo: unmount, then remove what this call added (the bundle dir stays).
        let _ = crate::mount::umount(&rootfs, false).map(|()| remove_added(bundle));
        return Err(e);
    }
    Ok(ExitCode::SUCCESS)
}

/// The OCI image config stored in the SIF, if the image is a SIF that has one.
fn image_config(image: &Path) -> anyhow::Result<Option<serde_json::Value>> {
    let Ok(sif) = crate::sif::Sif::open(image) else {
        return Ok(None); // a bare squashfs image: `crate::mount` says what is wrong
    };
    crate::image::convert::read_config(&sif)
        .with_context(|| format!("{}: OCI image config", image.display()))
}

/// How the FUSE server reports owners for a container mapped by `maps`.
fn owner_map((uids, gids): &IdMaps) -> fusefs::OwnerMap {
    let ranges = |maps: &[LinuxIdMapping]| {
        maps.iter()
            .map(|m| fusefs::IdRange {
                image: m.container_id(),
                host: m.host_id(),
                count: m.size(),
            })
            .collect()
    };
    fusefs::OwnerMap {
        uids: ranges(uids),
        gids: ranges(gids),
    }
}

/// The bundle's spec: the image config applied to the default spec, plus for an
/// ordinary user (`maps`) the overlay annotations, a user namespace and its mappings.
fn spec(
    bundle: &Path,
    image_config: Option<&serde_json::Value>,
    maps: Option<&IdMaps>,
) -> anyhow::Result<Spec> {
    let rootfs = bundle.join("rootfs");
    let args = if rootfs.join(".singularity.d/runscript").exists() {
        "/.singularity.d/runscript"
    } else {
        "/bin/sh"
    };
    let mut spec = rootless::default_spec(vec![args.to_string()], false);
    if let Some(config) = image_config {
        let (applied, notes) = rootless::apply_image_config(&spec, config, &rootfs)?;
        notes.iter().for_each(|n| tracing::warn!("{n}"));
        spec = applied;
    }
    if let Some(maps) = maps {
        user_namespace(&mut spec, maps)?;
        let dirs = crate::mount::OverlayDirs::prepare(&bundle.join("upper"))?;
        let lower = rootfs
            .canonicalize()
            .with_context(|| format!("resolve {}", rootfs.display()))?;
        let mut annotations = spec.annotations().clone().unwrap_or_default();
        for (key, path) in [
            (rootless::OVERLAY_LOWER, &lower),
            (rootless::OVERLAY_UPPER, &dirs.upper),
            (rootless::OVERLAY_WORK, &dirs.work),
        ] {
            annotations.insert(key.into(), path.display().to_string());
        }
        spec.set_annotations(Some(annotations));
    }
    Ok(spec)
}

/// Adds a new user namespace with `maps` to the spec.
fn user_namespace(spec: &mut Spec, (uids, gids): &IdMaps) -> anyhow::Result<()> {
    let mut linux = spec.linux().clone().unwrap_or_default();
    let mut namespaces = linux.namespaces().clone().unwrap_or_default();
    if !namespaces
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::User)
    {
        let user = rootless::oci_spec::runtime::LinuxNamespaceBuilder::default()
            .typ(LinuxNamespaceType::User)
            .build()
            .context("user namespace entry")?;
        namespaces.insert(0, user);
    }
    linux.set_namespaces(Some(namespaces));
    linux.set_uid_mappings(Some(uids.clone()));
    linux.set_gid_mappings(Some(gids.clone()));
    spec.set_linux(Some(linux));
    Ok(())
}

/// `oci umount`: unmounts BUNDLE/rootfs and removes what `oci mount` added.
pub fn umount(bundle: &Path) -> anyhow::Result<ExitCode> {
    crate::mount::umount(&bundle.join("rootfs"), false)?;
    remove_added(bundle)?;
    let config = bundle.join("config.json");
    std::fs::remove_file(&config).with_context(|| format!("remove {}", config.display()))?;
    Ok(ExitCode::SUCCESS)
}

/// Removes the directories `oci mount` adds to a bundle (once unmounted).
/// A user's upper directory may hold files of its subordinate ids (copied up by its
/// containers), which the user cannot remove: then the rest is removed as root of a
/// user namespace that maps them (`crate::mount::enter_private`, entered once).
fn remove_added(bundle: &Path) -> anyhow::Result<()> {
    let mut in_userns = nix::unistd::geteuid().is_root();
    for dir in ["rootfs", "upper", ".upper.work"] {
        let path = bundle.join(dir);
        if !path.exists() || remove_tree(&path).is_ok() {
            continue;
        }
        if !in_userns {
            crate::mount::enter_private()
                .context("enter a user namespace to remove files of subordinate ids")?;
            in_userns = true;
        }
        remove_tree(&path)?;
    }
    Ok(())
}

/// `remove_dir_all`, after making directories writable and searchable where the first
/// try met one that was not (overlayfs leaves `work/work` with mode 000).
fn remove_tree(path: &Path) -> anyhow::Result<()> {
    if std::fs::remove_dir_all(path).is_ok() {
        return Ok(());
    }
    open_up(path);
    std::fs::remove_dir_all(path).with_context(|| format!("remove {}", path.display()))
}

fn open_up(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            open_up(&entry.path());
        }
    }
}
