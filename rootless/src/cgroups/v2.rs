//! cgroup v2: one directory in the unified hierarchy; controllers enabled from the
//! root down where we may; limits in cpu.weight/cpu.max/memory.max/pids.max.

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use super::{own_cgroup, read, resolve, write, CgroupError, Stats};

const ROOT: &str = "/sys/fs/cgroup";

/// Makes the directory, enables controllers above it, writes the limits.
pub(super) fn create(rel: &Path, res: Option<&LinuxResources>) -> Result<PathBuf, CgroupError> {
    let dir = resolve(Path::new(ROOT), &own_cgroup(""), rel);
    std::fs::create_dir_all(&dir).map_err(|source| CgroupError::Io {
        path: dir.clone(),
        source,
    })?;
    let mut chain: Vec<&Path> = dir
        .ancestors()
        .skip(1)
        .take_while(|p| p.starts_with(ROOT))
        .collect();
    chain.reverse();
    for d in chain {
        let available = read(&d.join("cgroup.controllers")).unwrap_or_default();
        let wanted: Vec<String> = available
            .split_whitespace()
            .filter(|c| ["cpu", "cpuset", "memory", "pids"].contains(c))
            .map(|c| format!("+{c}"))
            .collect();
        if !wanted.is_empty() {
            let _ = write(&d.join("cgroup.subtree_control"), &wanted.join(" "));
        }
    }
    if let Some(res) = res {
        limits(&dir, res)?;
    }
    Ok(dir)
}

fn limits(d: &Path, res: &LinuxResources) -> Result<(), CgroupError> {
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
            write(
                &d.join("memory.max"),
                &if l > 0 { l.to_string() } else { "max".into() },
            )?;
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
        let limit = pids.limit();
        write(
            &d.join("pids.max"),
            &if limit > 0 {
                limit.to_string()
            } else {
                "max".into()
            },
        )?;
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
