//! ContainerStats and PodSandboxStats: CPU and memory from the container's cgroups
//! (through `rootless`), the writable layer's bytes and inodes from a walk of the
//! overlay's upper directory.

use std::path::Path;

use proto::cri;

use super::{ContainerRecord, Containers};
use crate::pod::PodRecord;

/// The most directory entries a writable-layer walk visits.
const MAX_WALK: u64 = 1_000_000;

impl Containers {
    /// The stats of one container.
    pub fn stats(&self, c: &ContainerRecord) -> cri::ContainerStats {
        let now = crate::state::now_nanos();
        let cg = rootless::Container::load(&self.runtime_root, &c.id)
            .ok()
            .filter(|_| c.exit().is_none())
            .map(|rc| rc.stats())
            .unwrap_or_default();
        let (bytes, inodes) = usage(&c.dir.join("upper"));
        cri::ContainerStats {
            attributes: Some(cri::ContainerAttributes {
                id: c.id.clone(),
                metadata: c.config.metadata.clone(),
                labels: c.config.labels.clone(),
                annotations: c.config.annotations.clone(),
            }),
            cpu: Some(cpu(now, cg.cpu_usage_ns)),
            memory: Some(memory(now, cg.memory_working_set)),
            writable_layer: Some(cri::FilesystemUsage {
                timestamp: now,
                fs_id: Some(cri::FilesystemIdentifier {
                    mountpoint: c.dir.display().to_string(),
                }),
                used_bytes: Some(cri::UInt64Value { value: bytes }),
                inodes_used: Some(cri::UInt64Value { value: inodes }),
            }),
            swap: None,
        }
    }

    /// The stats of a pod: the sums over its containers, and each container's.
    pub fn pod_stats(&self, pod: &PodRecord) -> cri::PodSandboxStats {
        let now = crate::state::now_nanos();
        let containers: Vec<cri::ContainerStats> = self
            .list(None)
            .iter()
            .filter(|c| c.pod_id == pod.id)
            .map(|c| self.stats(c))
            .collect();
        let sum = |f: fn(&cri::ContainerStats) -> Option<u64>| -> Option<u64> {
            containers
                .iter()
                .filter_map(f)
                .reduce(|a, b| a.saturating_add(b))
        };
        let cpu_ns = sum(|s| s.cpu.as_ref()?.usage_core_nano_seconds.map(|v| v.value));
        let mem = sum(|s| s.memory.as_ref()?.working_set_bytes.map(|v| v.value));
        cri::PodSandboxStats {
            attributes: Some(cri::PodSandboxAttributes {
                id: pod.id.clone(),
                metadata: pod.config.metadata.clone(),
                labels: pod.config.labels.clone(),
                annotations: pod.config.annotations.clone(),
            }),
            linux: Some(cri::LinuxPodSandboxStats {
                cpu: Some(cpu(now, cpu_ns)),
                memory: Some(memory(now, mem)),
                containers,
                ..Default::default()
            }),
            windows: None,
        }
    }
}

fn cpu(timestamp: i64, ns: Option<u64>) -> cri::CpuUsage {
    cri::CpuUsage {
        timestamp,
        usage_core_nano_seconds: Some(cri::UInt64Value {
            value: ns.unwrap_or(0),
        }),
        usage_nano_cores: None,
    }
}

fn memory(timestamp: i64, working_set: Option<u64>) -> cri::MemoryUsage {
    cri::MemoryUsage {
        timestamp,
        working_set_bytes: Some(cri::UInt64Value {
            value: working_set.unwrap_or(0),
        }),
        ..Default::default()
    }
}

/// Bytes and inodes under `dir` (not following symlinks, capped at [`MAX_WALK`]).
fn usage(dir: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let (mut bytes, mut inodes) = (0u64, 0u64);
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            inodes += 1;
            bytes = bytes.saturating_add(meta.blocks().saturating_mul(512));
            if meta.is_dir() {
                stack.push(e.path());
            }
            if inodes >= MAX_WALK {
                return (bytes, inodes);
            }
        }
    }
    (bytes, inodes)
}
