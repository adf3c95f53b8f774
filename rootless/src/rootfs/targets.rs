//! Mount destinations made before init enters a user namespace that it joins by path
//! (a CRI pod's own user namespace): inside it, the image's directories belong to ids
//! the namespace does not map, so its root could not create `/etc/resolv.conf` or
//! `/proc` where the image lacks them. The runtime, still root in the initial user
//! namespace, creates the missing ones first, each resolved inside the root filesystem
//! ([`secure_join`]: a symlink in the image cannot lead out of it), skipping those
//! that an earlier mount of the spec will cover (`/dev/pts` under `/dev`).
//! Best effort: what fails here fails again, with its error, inside.

use std::path::Path;

use oci_spec::runtime::LinuxNamespaceType;

use super::options::MountOptions;
use super::paths::{create_target, secure_join};
use crate::spec::Plan;

/// Creates the spec's missing mount destinations when init will join a user namespace
/// by path from the initial one and the root filesystem is already in place.
pub(crate) fn precreate(plan: &Plan) {
    let joins_user = plan.namespaces.has(LinuxNamespaceType::User)
        && !plan.namespaces.creates(LinuxNamespaceType::User);
    if !plan.privileged || !joins_user || plan.overlay.is_some() {
        return;
    }
    let mounts = plan.spec.mounts().as_deref().unwrap_or_default();
    let mut earlier: Vec<&Path> = Vec::new();
    for m in mounts {
        let dest = m.destination().as_path();
        if earlier.iter().any(|e| dest.starts_with(e) && dest != *e) {
            continue;
        }
        earlier.push(dest);
        let Ok(path) = secure_join(&plan.rootfs, dest) else {
            continue;
        };
        if std::fs::symlink_metadata(&path).is_ok() {
            continue;
        }
        let _ = create_target(&path, is_file_bind(m));
    }
}

/// Whether mount `m` binds a host file (not a directory) on its destination.
fn is_file_bind(m: &oci_spec::runtime::Mount) -> bool {
    let opts = MountOptions::parse(m.options().as_deref().unwrap_or_default());
    let bind = opts.bind || m.typ().as_deref() == Some("bind");
    let source = m.source().clone().unwrap_or_default();
    bind && std::fs::metadata(source).is_ok_and(|meta| !meta.is_dir())
}
