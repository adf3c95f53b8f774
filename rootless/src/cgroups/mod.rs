//! cgroups: detect the host's layout (v1, hybrid, pure v2), make the container's
//! cgroup(s), write `linux.resources` limits, add processes, read stats back, remove.
//!
//! Unprivileged without a writable (delegated) tree the container runs without limits
//! and [`Manager::create`] says so once as a warning.

mod hugetlb;
mod manager;
mod oom;
mod v1;
mod v2;
mod warm;

use std::path::{Path, PathBuf};

pub use manager::{Manager, Stats};
pub use warm::WarmUp;

/// How the host mounts cgroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Only v1 controller hierarchies.
    V1,
    /// v1 controllers plus a cgroup2 mount (usually without controllers).
    Hybrid,
    /// A single cgroup2 hierarchy at /sys/fs/cgroup.
    Unified,
}

impl Layout {
    /// Reads /proc/self/mountinfo.
    pub fn detect() -> Self {
        let mounts = mounts();
        let v2_root = mounts
            .iter()
            .any(|(fs, at, _)| fs == "cgroup2" && at == Path::new("/sys/fs/cgroup"));
        let v1 = mounts.iter().any(|(fs, _, _)| fs == "cgroup");
        match (v2_root, v1) {
            (true, _) => Self::Unified,
            (false, true) if mounts.iter().any(|(fs, _, _)| fs == "cgroup2") => Self::Hybrid,
            _ => Self::V1,
        }
    }
}

/// `(fstype, mountpoint, super options)` of every cgroup mount (`cgroup` or `cgroup2`)
/// in /proc/self/mountinfo.
pub fn mounts() -> Vec<(String, PathBuf, String)> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let at = left.split(' ').nth(4)?;
            let mut r = right.split(' ');
            let fs = r.next()?;
            let opts = r.nth(1).unwrap_or("");
            fs.starts_with("cgroup")
                .then(|| (fs.to_string(), PathBuf::from(at), opts.to_string()))
        })
        .collect()
}

/// A cgroup step failed.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// A cgroup file or directory could not be written.
    #[error("cgroup {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A limit cannot be applied on this host or is malformed.
    #[error("{0}")]
    Invalid(String),
}

pub(crate) fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    std::fs::write(path, value).map_err(|source| CgroupError::Io {
        path: path.into(),
        source,
    })
}

/// Makes a cgroup directory and its parents.
pub(crate) fn make_dir(dir: &Path) -> Result<(), CgroupError> {
    std::fs::create_dir_all(dir).map_err(|source| CgroupError::Io {
        path: dir.into(),
        source,
    })
}

/// A limit for a `*.max` style file: `max` for zero or less (no limit).
pub(crate) fn max_or(limit: i64) -> String {
    if limit > 0 {
        limit.to_string()
    } else {
        "max".into()
    }
}

/// cgroup2: enables the `wanted` controllers that are available in every directory
/// from `root` down to `dir`'s parent, best effort (a foreign tree may refuse).
pub(crate) fn enable_controllers(root: &Path, dir: &Path, wanted: &[&str]) {
    let mut chain: Vec<&Path> = dir
        .ancestors()
        .skip(1)
        .take_while(|p| p.starts_with(root))
        .collect();
    chain.reverse();
    for d in chain {
        let available = read(&d.join("cgroup.controllers")).unwrap_or_default();
        let enable: Vec<String> = available
            .split_whitespace()
            .filter(|c| wanted.contains(c))
            .map(|c| format!("+{c}"))
            .collect();
        if !enable.is_empty() {
            let _ = write(&d.join("cgroup.subtree_control"), &enable.join(" "));
        }
    }
}

pub(crate) fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Joins a cgroup path to a hierarchy: absolute from its root, relative from our own cgroup.
pub(crate) fn resolve(mount: &Path, own: &str, path: &Path) -> PathBuf {
    let rel = path.strip_prefix("/").map_or_else(
        |_| Path::new(own.trim_start_matches('/')).join(path),
        Path::to_path_buf,
    );
    mount.join(rel)
}

/// Our own cgroup path in the hierarchy with this controller (`""` for v2).
pub(crate) fn own_cgroup(controller: &str) -> String {
    let text = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
            let hit = if controller.is_empty() {
                ctrls.is_empty()
            } else {
                ctrls.split(',').any(|c| c == controller)
            };
            hit.then(|| path.to_string())
        })
        .next()
        .unwrap_or_else(|| "/".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_from_root_relative_from_own() {
        let m = Path::new("/sys/fs/cgroup/memory");
        assert_eq!(resolve(m, "/a/b", Path::new("/x/y")), m.join("x/y"));
        assert_eq!(resolve(m, "/a/b", Path::new("x")), m.join("a/b/x"));
        assert_eq!(resolve(m, "/", Path::new("x")), m.join("x"));
    }

    #[test]
    fn layout_detection_sees_a_cgroup_mount() {
        // Whatever the host, detection must not panic, and mounts are cgroup ones.
        let _ = Layout::detect();
        assert!(mounts().iter().all(|(fs, _, _)| fs.starts_with("cgroup")));
    }
}
