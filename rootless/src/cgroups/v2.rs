//! cgroup v2: one directory in the unified hierarchy; controllers enabled from the
//! root down where we may; limits in cpu.weight/cpu.max/memory.max/pids.max and
//! `hugetlb.<size>.max`.

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use super::{
    enable_controllers, hugetlb, make_dir, max_or, own_cgroup, read, resolve, write, CgroupError,
    Stats,
};

const ROOT: &str = "/sys/fs/cgroup";
const CONTROLLERS: [&str; 5] = ["cpu", "cpuset", "memory", "pids", "hugetlb"];

/// Makes the directory, enables controllers above it, writes the limits.
pub(super) fn create(rel: &Path, res: Option<&LinuxResources>) -> Result<PathBuf, CgroupError> {
    let own = own_cgroup("");
    let dir = resolve(Path::new(ROOT), &own, rel);
    make_dir(&dir)?;
    enable_controllers(Path::new(ROOT), &dir, &CONTROLLERS);
    let dir = match (res, rel.is_relative()) {
        (Some(_), true) => beside_own(&own, rel, dir),
        _ => dir,
    };
    if let Some(res) = res {
        if let Err(e) = limits(&dir, res) {
            // Nothing left behind when the caller goes on without limits.
            let _ = std::fs::remove_dir(&dir);
            return Err(e);
        }
    }
    Ok(dir)
}

/// A relative path lands under our own cgroup, which holds a process (us): the kernel
/// enables no controller in a cgroup with processes ("no internal processes"), so the
/// new one under it gets none. In a delegated tree (a systemd user service, a subtree
/// an admin gave the user) the parent of our cgroup is writable too: the container's
/// cgroup goes there, beside ours, and the empty one is removed. Elsewhere, `dir`.
fn beside_own(own: &str, rel: &Path, dir: PathBuf) -> PathBuf {
    let has_controllers =
        read(&dir.join("cgroup.controllers")).is_some_and(|c| !c.trim().is_empty());
    let Some(parent) = Path::new(own).parent() else {
        return dir;
    };
    if has_controllers {
        return dir;
    }
    let beside = resolve(Path::new(ROOT), &parent.to_string_lossy(), rel);
    if make_dir(&beside).is_err() {
        return dir;
    }
    enable_controllers(Path::new(ROOT), &beside, &CONTROLLERS);
    let _ = std::fs::remove_dir(&dir);
    beside
}

/// Writes the limits of `res` to the container's directory `d`.
pub(super) fn limits(d: &Path, res: &LinuxResources) -> Result<(), CgroupError> {
    if let Some(cpu) = res.cpu() {
        if let Some(s) = cpu.shares() {
            let weight = 1 + (s.saturating_sub(2) * 9999) / 262_142;
            write(&d.join("cpu.weight"), &weight.to_string())?;
        }
        if cpu.quota().is_some() || cpu.period().is_some() {
            let period = cpu.period().unwrap_or(100_000);
            let quota = cpu
                .quota()
                .filter(|q| *q > 0)
                .map_or("max".to_string(), |q| q.to_string());
            write(&d.join("cpu.max"), &format!("{quota} {period}"))?;
        }
        if let Some(c) = cpu.cpus() {
            write(&d.join("cpuset.cpus"), c)?;
        }
        if let Some(m) = cpu.mems() {
            write(&d.join("cpuset.mems"), m)?;
        }
    }
    if let Some(mem) = res.memory() {
        if let Some(l) = mem.limit() {
            write(&d.join("memory.max"), &max_or(l))?;
            if let Some(s) = mem.swap() {
                let swap = if s > 0 {
                    s.saturating_sub(l).to_string()
                } else {
                    "max".into()
                };
                write(&d.join("memory.swap.max"), &swap)?;
            }
        }
        if let Some(r) = mem.reservation() {
            write(&d.join("memory.low"), &r.to_string())?;
        }
    }
    if let Some(pids) = res.pids() {
        write(&d.join("pids.max"), &max_or(pids.limit()))?;
    }
    if let Some(h) = res.hugepage_limits().as_deref().filter(|h| !h.is_empty()) {
        if read(&d.join("cgroup.controllers")).is_some_and(|c| c.contains("hugetlb")) {
            hugetlb::limits(d, true, h)?;
        } else {
            tracing::warn!("{}", hugetlb::absent());
        }
    }
    Ok(())
}

/// Reads cpu.stat, memory.current minus inactive file, pids.current.
pub(super) fn stats(d: &Path) -> Stats {
    let field = |file: &str, key: &str| {
        read(&d.join(file)).and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix(key)
                    .and_then(|v| v.trim().parse::<u64>().ok())
            })
        })
    };
    let num = |file: &str| read(&d.join(file)).and_then(|s| s.parse::<u64>().ok());
    Stats {
        cpu_usage_ns: field("cpu.stat", "usage_usec ").map(|u| u.saturating_mul(1000)),
        memory_working_set: num("memory.current")
            .map(|c| c.saturating_sub(field("memory.stat", "inactive_file ").unwrap_or(0))),
        pids: num("pids.current"),
    }
}
