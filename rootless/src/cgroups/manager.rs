//! The cgroups of one container: made (with limits) at create, joined by the setup
//! and exec processes, read for stats, removed at delete.

use std::path::{Path, PathBuf};

use nix::unistd::Pid;
use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

use super::{read, v1, v2, write, CgroupError, Layout};

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
        // Without limits or a path asked for, a read-only or foreign cgroup tree (a
        // container host) only costs the stats: run anyway.
        let optional = path.is_none() && resources.is_none();
        match result {
            Ok(m) => Ok((m, Vec::new())),
            Err(CgroupError::Io { source, .. }) if !privileged && source.kind() == std::io::ErrorKind::PermissionDenied => {
                Ok((Self::default(), vec!["no writable cgroup tree (delegated cgroup v2 needed): running without resource limits".into()]))
            }
            Err(CgroupError::Io { path, source }) if optional => Ok((
                Self::default(),
                vec![format!("cannot make a cgroup at {}: {source}: running without one", path.display())],
            )),
            Err(e) => Err(e),
        }
    }

    /// Writes new limits to the container's cgroups (a live container's `update`).
    /// Limits the cgroups were made without a place for (hugetlb on a hybrid host, when
    /// the create asked for none) are not applied: a warning says so.
    pub fn update(&self, resources: &LinuxResources) -> Result<(), CgroupError> {
        match &self.v2 {
            Some(dir) => v2::limits(dir, resources),
            None if self.v1.is_empty() => Err(CgroupError::Invalid(
                "the container has no cgroup (made without limits, or no writable cgroup tree)"
                    .into(),
            )),
            None => v1::limits(&self.v1, resources),
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
