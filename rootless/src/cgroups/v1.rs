//! cgroup v1: one directory per controller (cpu, cpuacct, cpuset, memory, pids,
//! hugetlb), limits written to each controller's own files; on a hybrid host whose
//! hugetlb controller is in the cgroup2 tree, a directory there too.

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use super::{
    hugetlb, make_dir, max_or, mounts, own_cgroup, read, resolve, write, CgroupError, Stats,
};

const CONTROLLERS: [&str; 6] = ["cpu", "cpuacct", "cpuset", "memory", "pids", "hugetlb"];

/// The entry of a hybrid host's cgroup2 directory (hugetlb there) in the v1 list.
const UNIFIED: &str = "unified";

/// Makes the directories and writes the limits.
pub(super) fn create(
    rel: &Path,
    res: Option<&LinuxResources>,
) -> Result<Vec<(String, PathBuf)>, CgroupError> {
    let mounts = mounts();
    let mut dirs = Vec::new();
    for ctrl in CONTROLLERS {
        let Some((_, at, _)) = mounts
            .iter()
            .find(|(fs, _, o)| fs == "cgroup" && o.split(',').any(|x| x == ctrl))
        else {
            continue;
        };
        if dirs
            .iter()
            .any(|(_, d): &(String, PathBuf)| d.starts_with(at))
        {
            continue; // co-mounted with a controller we have (cpu,cpuacct)
        }
        let dir = resolve(at, &own_cgroup(ctrl), rel);
        make_dir(&dir)?;
        if ctrl == "cpuset" {
            inherit_cpuset(at, &dir)?;
        }
        dirs.push((ctrl.to_string(), dir));
    }
    let wants_hugetlb =
        res.is_some_and(|r| r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()));
    if wants_hugetlb && dir(&dirs, "hugetlb").is_none() {
        if let Some(d) = hugetlb::hybrid_dir(rel)? {
            dirs.push((UNIFIED.to_string(), d));
        }
    }
    if let Some(res) = res {
        limits(&dirs, res)?;
    }
    Ok(dirs)
}

/// A new cpuset cgroup is unusable until cpus and mems are copied down from its parents.
fn inherit_cpuset(root: &Path, dir: &Path) -> Result<(), CgroupError> {
    let mut chain: Vec<&Path> = dir
        .ancestors()
        .take_while(|p| p.starts_with(root) && *p != root)
        .collect();
    chain.reverse();
    for d in chain {
        for file in ["cpuset.cpus", "cpuset.mems"] {
            if read(&d.join(file)).is_some_and(|v| v.is_empty()) {
                let parent = d
                    .parent()
                    .map(|p| p.join(file))
                    .and_then(|p| read(&p))
                    .unwrap_or_default();
                write(&d.join(file), &parent)?;
            }
        }
    }
    Ok(())
}

fn dir<'a>(dirs: &'a [(String, PathBuf)], ctrl: &str) -> Option<&'a PathBuf> {
    dirs.iter().find(|(c, _)| c == ctrl).map(|(_, d)| d)
}

/// Writes the limits of `res` to the controllers' directories.
pub(super) fn limits(dirs: &[(String, PathBuf)], res: &LinuxResources) -> Result<(), CgroupError> {
    if let (Some(cpu), Some(d)) = (res.cpu(), dir(dirs, "cpu")) {
        if let Some(s) = cpu.shares() {
            write(&d.join("cpu.shares"), &s.to_string())?;
        }
        if let Some(p) = cpu.period() {
            write(&d.join("cpu.cfs_period_us"), &p.to_string())?;
        }
        if let Some(q) = cpu.quota() {
            write(&d.join("cpu.cfs_quota_us"), &q.to_string())?;
        }
    }
    if let (Some(cpu), Some(d)) = (res.cpu(), dir(dirs, "cpuset")) {
        if let Some(c) = cpu.cpus() {
            write(&d.join("cpuset.cpus"), c)?;
        }
        if let Some(m) = cpu.mems() {
            write(&d.join("cpuset.mems"), m)?;
        }
    }
    if let (Some(mem), Some(d)) = (res.memory(), dir(dirs, "memory")) {
        if let Some(l) = mem.limit() {
            write(&d.join("memory.limit_in_bytes"), &l.to_string())?;
        }
        if let Some(r) = mem.reservation() {
            write(&d.join("memory.soft_limit_in_bytes"), &r.to_string())?;
        }
        if let Some(s) = mem.swap() {
            let file = d.join("memory.memsw.limit_in_bytes");
            if file.exists() {
                write(&file, &s.to_string())?;
            } else {
                tracing::warn!("memory.swap: this kernel has no swap accounting: not limited");
            }
        }
    }
    if let (Some(pids), Some(d)) = (res.pids(), dir(dirs, "pids")) {
        write(&d.join("pids.max"), &max_or(pids.limit()))?;
    }
    if let Some(h) = res.hugepage_limits().as_deref().filter(|h| !h.is_empty()) {
        match (dir(dirs, "hugetlb"), dir(dirs, UNIFIED)) {
            (Some(d), _) => hugetlb::limits(d, false, h)?,
            (None, Some(d)) => hugetlb::limits(d, true, h)?,
            (None, None) => tracing::warn!("{}", hugetlb::absent()),
        }
    }
    Ok(())
}

/// Reads cpuacct.usage, memory usage minus inactive file, pids.current.
pub(super) fn stats(dirs: &[(String, PathBuf)]) -> Stats {
    let num = |ctrl: &str, file: &str| {
        dir(dirs, ctrl)
            .and_then(|d| read(&d.join(file)))
            .and_then(|s| s.parse::<u64>().ok())
    };
    let inactive = dir(dirs, "memory")
        .and_then(|d| read(&d.join("memory.stat")))
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("total_inactive_file ")
                    .and_then(|v| v.parse::<u64>().ok())
            })
        })
        .unwrap_or(0);
    Stats {
        cpu_usage_ns: num("cpuacct", "cpuacct.usage").or_else(|| num("cpu", "cpuacct.usage")),
        memory_working_set: num("memory", "memory.usage_in_bytes")
            .map(|u| u.saturating_sub(inactive)),
        pids: num("pids", "pids.current"),
    }
}
