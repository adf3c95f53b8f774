//! Shared root propagation (`linux.rootfsPropagation: rshared`, which bidirectional
//! mounts need): `pivot_root` refuses a new root whose parent mount is shared, so the
//! mount holding the rootfs is made private first — only that one mount, so the
//! spec's shared bind mounts keep their peers on the host.

use std::path::{Path, PathBuf};

use nix::mount::{mount, MsFlags};

use crate::process::SetupError;

/// Makes the mount that holds `rootfs` (the rootfs itself when it is a mount point)
/// private, not recursively.
pub(super) fn parent_private(rootfs: &Path) -> Result<(), SetupError> {
    let real = std::fs::canonicalize(rootfs).map_err(|e| SetupError::Path {
        op: "resolve",
        path: rootfs.into(),
        source: nix::Error::from_raw(e.raw_os_error().unwrap_or(libc::EINVAL)),
    })?;
    let info = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| SetupError::Other(format!("read /proc/self/mountinfo: {e}")))?;
    let holder = holding_mount(&info, &real).unwrap_or_else(|| PathBuf::from("/"));
    mount(
        None::<&str>,
        &holder,
        None::<&str>,
        MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(SetupError::path("make the rootfs' mount private", &holder))
}

/// The mount point of `mountinfo` that holds `path`: the longest one that is `path`
/// or one of its ancestors.
fn holding_mount(mountinfo: &str, path: &Path) -> Option<PathBuf> {
    mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4).map(unescape))
        .filter(|mp| path.starts_with(mp))
        .max_by_key(|mp| mp.components().count())
}

/// Decodes mountinfo's octal escapes (`\040` for a space, ...).
fn unescape(field: &str) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                let v = d.iter().fold(0u32, |a, c| a * 8 + u32::from(c - b'0'));
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "\
22 1 0:21 / / rw - ext4 /dev/vda rw
30 22 0:30 / /run rw shared:5 - tmpfs tmpfs rw
41 30 0:40 / /run/c\\040d/rootfs rw - overlay overlay rw
";

    #[test]
    fn the_longest_ancestor_mount_holds_a_path() {
        let held = |p: &str| holding_mount(INFO, Path::new(p)).unwrap();
        assert_eq!(held("/run/c d/rootfs"), Path::new("/run/c d/rootfs"));
        assert_eq!(held("/run/c d/other"), Path::new("/run"));
        assert_eq!(held("/running"), Path::new("/"));
        assert_eq!(unescape("a\\134b\\0"), Path::new("a\\b\\0"));
    }
}
