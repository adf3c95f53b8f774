//! Container resources: the spec's cgroup path (a child of the pod's cgroup) and
//! `linux.resources`, the clamped `oomScoreAdj`, and UpdateContainerResources, which
//! rewrites the limits of a live container's cgroups through `rootless`.
//!
//! Input: the CRI `LinuxContainerResources` and the pod record. Output: spec fields,
//! cgroup files, and the container record's config (reported by ContainerStatus).

use proto::cri;
use serde_json::{json, Value};

use super::{Containers, Error};
use crate::pod::{cgroup, PodRecord};

/// Sets `linux.cgroupsPath`, `linux.resources` and `process.oomScoreAdj` of `spec`.
pub fn apply(spec: &mut Value, config: &cri::ContainerConfig, pod: &PodRecord, id: &str) {
    if let Some(cg) = &pod.cgroup {
        spec["linux"]["cgroupsPath"] = json!(cg.container_path(id));
    }
    let Some(r) = config.linux.as_ref().and_then(|l| l.resources.as_ref()) else {
        return;
    };
    spec["linux"]["resources"] = cgroup::resources_json(r);
    spec["process"]["oomScoreAdj"] = json!(clamp_oom_score_adj(r.oom_score_adj));
}

/// Limits `v` to what this process may set: -1000..=1000, and not below our own
/// value without CAP_SYS_RESOURCE (the kernel would refuse it).
fn clamp_oom_score_adj(v: i64) -> i64 {
    let v = v.clamp(-1000, 1000);
    if has_sys_resource() {
        return v;
    }
    let own = std::fs::read_to_string("/proc/self/oom_score_adj")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or(0);
    v.max(own)
}

fn has_sys_resource() -> bool {
    const CAP_SYS_RESOURCE: u32 = 24;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_SYS_RESOURCE) != 0)
}

impl Containers {
    /// UpdateContainerResources: writes the new limits to a created or running
    /// container's cgroups and records them.
    pub fn update_resources(
        &self,
        id: &str,
        resources: cri::LinuxContainerResources,
    ) -> Result<(), Error> {
        let mut c = self.get(id)?;
        if c.exit().is_some() {
            return Err(Error::FailedPrecondition(format!(
                "container {id} has exited"
            )));
        }
        let oci = cgroup::oci_resources(&resources)?;
        if c.never_started() {
            // No cgroup yet: the bundle's spec carries the limits to the start.
            update_bundle(&c.dir.join("bundle/config.json"), &resources)?;
        } else {
            let rc = rootless::Container::load(&self.runtime_root, id)
                .map_err(|e| Error::FailedPrecondition(format!("container {id}: {e}")))?;
            rc.update(&oci)
                .map_err(|e| Error::FailedPrecondition(format!("update container {id}: {e}")))?;
        }
        c.config
            .linux
            .get_or_insert_with(Default::default)
            .resources = Some(resources);
        self.save(&c)
    }
}

/// Writes `resources` into the spec of a container not started yet.
fn update_bundle(
    spec_path: &std::path::Path,
    r: &cri::LinuxContainerResources,
) -> Result<(), Error> {
    let text = std::fs::read(spec_path)
        .map_err(|e| Error::Internal(format!("read {}: {e}", spec_path.display())))?;
    let mut spec: Value = serde_json::from_slice(&text)
        .map_err(|e| Error::Internal(format!("parse {}: {e}", spec_path.display())))?;
    spec["linux"]["resources"] = cgroup::resources_json(r);
    spec["process"]["oomScoreAdj"] = json!(clamp_oom_score_adj(r.oom_score_adj));
    crate::state::save_volatile(spec_path, &spec)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oom_score_adj_is_clamped_never_refused() {
        assert!(clamp_oom_score_adj(5000) <= 1000);
        assert!(clamp_oom_score_adj(-5000) >= -1000);
        if !has_sys_resource() {
            let own: i64 = std::fs::read_to_string("/proc/self/oom_score_adj")
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            assert!(clamp_oom_score_adj(-999) >= own);
        }
    }
}
