//! Paths inside the rootfs: resolving a destination without leaving the root through
//! symlinks or `..`, masking, and read-only remounts that keep the locked flags.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use nix::mount::{mount, MsFlags};
use nix::sys::statvfs::{statvfs, FsFlags};

use super::Warn;
use crate::process::SetupError;

/// How many symlinks one path may pass through.
const MAX_LINKS: usize = 40;

/// Joins `path` to `root`, resolving symlinks as if `root` were `/`.
pub(crate) fn secure_join(root: &Path, path: &Path) -> Result<PathBuf, SetupError> {
    let mut todo: VecDeque<OsString> = components(path);
    let mut done: Vec<OsString> = Vec::new();
    let mut links = 0;
    while let Some(part) = todo.pop_front() {
        if part == ".." {
            done.pop();
            continue;
        }
        let candidate = root.join(done.iter().collect::<PathBuf>()).join(&part);
        match std::fs::read_link(&candidate) {
            Ok(target) => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(SetupError::Other(format!(
                        "{}: too many symlinks",
                        path.display()
                    )));
                }
                if target.is_absolute() {
                    done.clear();
                }
                for (i, c) in components(&target).into_iter().enumerate() {
                    todo.insert(i, c);
                }
            }
            Err(_) => done.push(part),
        }
    }
    Ok(root.join(done.iter().collect::<PathBuf>()))
}

fn components(path: &Path) -> VecDeque<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

/// Hides `path`: `/dev/null` over a file, an empty read-only tmpfs over a directory.
pub(crate) fn mask(path: &Path, warn: Warn<'_>) -> Result<(), SetupError> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    let result = if meta.is_dir() {
        let flags =
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
        mount(Some("tmpfs"), path, Some("tmpfs"), flags, Some("size=0"))
    } else {
        mount(
            Some("/dev/null"),
            path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
    };
    match result {
        Ok(()) => Ok(()),
        Err(e @ (nix::Error::EPERM | nix::Error::EACCES)) => {
            warn(format!("cannot mask {}: {e}", path.display()));
            Ok(())
        }
        Err(e) => Err(SetupError::Path {
            op: "mask",
            path: path.into(),
            source: e,
        }),
    }
}

/// Binds `path` onto itself and remounts it read-only.
pub(crate) fn make_readonly(path: &Path) -> Result<(), SetupError> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    let flags = MsFlags::MS_BIND | MsFlags::MS_REC;
    mount(Some(path), path, None::<&str>, flags, None::<&str>)
        .map_err(SetupError::path("bind", path))?;
    remount_readonly(path, MsFlags::MS_REC)
}

/// Remounts the mount at `path` read-only, keeping the flags a user namespace may not drop.
pub(crate) fn remount_readonly(path: &Path, extra: MsFlags) -> Result<(), SetupError> {
    let flags =
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | extra | locked_flags(path);
    mount(None::<&str>, path, None::<&str>, flags, None::<&str>)
        .map_err(SetupError::path("remount read-only", path))
}

/// The flags of the mount at `path` that an unprivileged remount must repeat.
pub(crate) fn locked_flags(path: &Path) -> MsFlags {
    let Ok(st) = statvfs(path) else {
        return MsFlags::empty();
    };
    let f = st.flags();
    let pairs = [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
    ];
    pairs
        .iter()
        .filter(|(s, _)| f.contains(*s))
        .fold(MsFlags::empty(), |acc, (_, m)| acc | *m)
}

/// Creates `path` as a directory, or as an empty file when `file` is set.
pub(crate) fn create_target(path: &Path, file: bool) -> Result<(), SetupError> {
    let io = |e: std::io::Error| SetupError::Other(format!("create {}: {e}", path.display()));
    if !file {
        return std::fs::create_dir_all(path).map_err(io);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    if std::fs::symlink_metadata(path).is_err() {
        std::fs::File::create(path).map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_join_stays_inside_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("etc")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../..", root.join("etc/up")).unwrap();
        assert_eq!(
            secure_join(root, Path::new("/abs/x")).unwrap(),
            root.join("etc/x")
        );
        assert_eq!(
            secure_join(root, Path::new("/etc/up/tmp")).unwrap(),
            root.join("tmp")
        );
        assert_eq!(
            secure_join(root, Path::new("/../../a")).unwrap(),
            root.join("a")
        );
    }
}
