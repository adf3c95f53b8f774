//! A writable root for an ordinary user: an overlayfs the container's init mounts
//! over `root.path` inside its own user and mount namespaces, where a user may mount
//! overlayfs (kernel 5.11 or later) but could not outside them.
//!
//! Input: three annotations (`org.sifcri.overlay.lower/upper/work`, absolute paths),
//! written by `sifcri oci mount` for users. Output: the overlay mount at the rootfs.
//! overlayfs reaches its lower and upper layers with the credentials of its mounter
//! (the container's root, that is the user), so the layers need only be the user's.

use std::path::{Path, PathBuf};

use nix::mount::{mount, MsFlags};
use oci_spec::runtime::Spec;

use crate::process::SetupError;
use crate::spec::SpecError;

/// The annotation naming the overlay's lower directory (the read-only image).
pub const OVERLAY_LOWER: &str = "org.sifcri.overlay.lower";
/// The annotation naming the overlay's upper directory (where writes land).
pub const OVERLAY_UPPER: &str = "org.sifcri.overlay.upper";
/// The annotation naming overlayfs' work directory (same filesystem as upper).
pub const OVERLAY_WORK: &str = "org.sifcri.overlay.work";

/// The layers of the root overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Overlay {
    lower: PathBuf,
    upper: PathBuf,
    work: PathBuf,
}

impl Overlay {
    /// The overlay the spec's annotations ask for: none, or all three paths, absolute
    /// and free of the characters that separate overlayfs options.
    pub(crate) fn from_spec(spec: &Spec) -> Result<Option<Self>, SpecError> {
        let Some(a) = spec.annotations().as_ref() else {
            return Ok(None);
        };
        let names = [OVERLAY_LOWER, OVERLAY_UPPER, OVERLAY_WORK];
        if names.iter().all(|n| !a.contains_key(*n)) {
            return Ok(None);
        }
        let mut paths = Vec::with_capacity(3);
        for name in names {
            let field = || format!("annotations.{name}");
            let value = a.get(name).ok_or_else(|| SpecError::Invalid {
                field: field(),
                message: "missing (the three overlay annotations go together)".into(),
            })?;
            let path = PathBuf::from(value);
            if !path.is_absolute() || value.contains([',', ':', '\\']) {
                return Err(SpecError::Invalid {
                    field: field(),
                    message: "must be an absolute path without ',', ':' or '\\'".into(),
                });
            }
            paths.push(path);
        }
        let [lower, upper, work]: [PathBuf; 3] = paths.try_into().unwrap_or_default();
        Ok(Some(Self { lower, upper, work }))
    }

    /// Mounts the overlay at `target` (in the container's mount namespace).
    pub(crate) fn mount(&self, target: &Path) -> Result<(), SetupError> {
        let mut data = format!(
            "lowerdir={},upperdir={},workdir={}",
            self.lower.display(),
            self.upper.display(),
            self.work.display()
        );
        // In a user namespace overlayfs may not write trusted.* xattrs.
        if !in_initial_userns() {
            data.push_str(",userxattr");
        }
        mount(
            Some("sifcri-overlay"),
            target,
            Some("overlay"),
            MsFlags::empty(),
            Some(data.as_str()),
        )
        .map_err(|source| {
            SetupError::Other(format!(
                "mount the root overlay ({data}) at {}: {source} (overlayfs in a user \
                 namespace needs kernel 5.11 or later and upper/work on one filesystem \
                 with user xattrs)",
                target.display()
            ))
        })
    }
}

/// True in the initial user namespace (uid_map the identity of every id).
fn in_initial_userns() -> bool {
    std::fs::read_to_string("/proc/self/uid_map")
        .map(|m| m.split_whitespace().eq(["0", "0", "4294967295"]))
        .unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(annotations: &[(&str, &str)]) -> Spec {
        let mut s = crate::default_spec(vec!["/bin/sh".into()], false);
        let map = annotations
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        s.set_annotations(Some(map));
        s
    }

    #[test]
    fn all_three_or_none() {
        assert_eq!(Overlay::from_spec(&spec(&[])).unwrap(), None);
        let full = [
            (OVERLAY_LOWER, "/b/rootfs"),
            (OVERLAY_UPPER, "/b/upper"),
            (OVERLAY_WORK, "/b/.upper.work"),
        ];
        let o = Overlay::from_spec(&spec(&full)).unwrap().unwrap();
        assert_eq!(o.upper, Path::new("/b/upper"));
        let err = Overlay::from_spec(&spec(&full[..2]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(OVERLAY_WORK), "{err}");
        let bad = [full[0], full[1], (OVERLAY_WORK, "/b/w,x")];
        let err = Overlay::from_spec(&spec(&bad)).unwrap_err().to_string();
        assert!(err.contains("absolute path"), "{err}");
    }
}
