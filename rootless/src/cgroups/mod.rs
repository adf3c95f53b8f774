//! cgroups: detect the host's layout (v1, hybrid, pure v2), make the container's
//! cgroup(s), write `linux.resources` limits, add processes, read stats back, remove.
//!
//! Unprivileged without a writable (delegated) tree the container runs without limits
//! and [`Manager::create`] says so once as a warning.

mod v1;
mod v2;

use std::path::{Path, PathBuf};

use nix::unistd::Pid;
use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

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

/// `(fstype, mountpoint, super options)` of every cgroup mount.
pub(crate) fn mounts() -> Vec<(String, PathBuf, String)> {
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
}

pub(crate) fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    std::fs::write(path, value).map_err(|source| CgroupError::Io {
        path: path.into(),
        source,
    })
}

pub(crate) fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Usage read back from a container's cgroup.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// CPU time used, nanoseconds.
    pub cpu_usage_ns: Option<u64>,
    /// Memory in use minus inactive file pages, bytes.
    pub memory_working_set: Option<u64>,
    /// Number of tasks.
    pub pids: Option<u64>,
}

/// The cgroup directories of one container.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manager {
    /// v1: one directory per controller (`(controller, dir)`).
    pub v1: Vec<(String, PathBuf)>,
    /// v2: the container's directory.
    pub v2: Option<PathBuf>,
}

impl Manager {
    /// Makes the container's cgroups and writes its limits; returns warnings.
    pub fn create(
        path: Option<&Path>,
        id: &str,
        resources: Option<&LinuxResources>,
        privileged: bool,
    ) -> Result<(Self, Vec<String>), CgroupError> {
        let default = if privileged {
            format!("/sifcri-oci/{id}")
        } else {
            format!("sifcri-oci-{id}")
        };
        let rel = path.map_or_else(|| PathBuf::from(&default), Path::to_path_buf);
        let result = match Layout::detect() {
            Layout::Unified => v2::create(&rel, resources).map(|dir| Self {
                v2: Some(dir),
                ..Self::default()
            }),
            Layout::V1 | Layout::Hybrid => v1::create(&rel, resources).map(|v1| Self {
                v1,
                ..Self::default()
            }),
        };
        match result {
            Ok(m) => Ok((m, Vec::new())),
            Err(CgroupError::Io { source, .. }) if !privileged && source.kind() == std::io::ErrorKind::PermissionDenied => {
                Ok((Self::default(), vec!["no writable cgroup tree (delegated cgroup v2 needed): running without resource limits".into()]))
            }
            Err(e) => Err(e),
        }
    }

    /// Moves a process into every cgroup of the container.
    pub fn add(&self, pid: Pid) -> Result<(), CgroupError> {
        for dir in self.dirs() {
            write(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// The pids in the container's cgroup (the first hierarchy).
    pub fn pids(&self) -> Vec<Pid> {
        let Some(dir) = self.dirs().next() else {
            return Vec::new();
        };
        read(&dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok().map(Pid::from_raw))
            .collect()
    }

    /// Usage read back from the cgroup files.
    pub fn stats(&self) -> Stats {
        match &self.v2 {
            Some(dir) => v2::stats(dir),
            None => v1::stats(&self.v1),
        }
    }

    /// Removes the directories (they must be empty of processes); collects errors.
    pub fn remove(&self) -> Vec<CgroupError> {
        let mut errors = Vec::new();
        for dir in self.dirs() {
            let mut last = Ok(());
            for _ in 0..50 {
                last = std::fs::remove_dir(dir);
                match &last {
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                        std::thread::sleep(std::time::Duration::from_millis(10))
                    }
                    _ => break,
                }
            }
            if let Err(source) = last.or_else(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Ok(())
                } else {
                    Err(e)
                }
            }) {
                errors.push(CgroupError::Io {
                    path: dir.clone(),
                    source,
                });
            }
        }
        errors
    }

    fn dirs(&self) -> impl Iterator<Item = &PathBuf> {
        self.v1.iter().map(|(_, d)| d).chain(self.v2.iter())
    }
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
