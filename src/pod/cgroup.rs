//! Pod and container cgroup paths and CRI resources in OCI form.
//!
//! A pod's cgroup is the CRI `cgroup_parent` (kubelet's pod cgroup, which kubelet
//! owns), or `/sifcri/ID` when the parent is empty (ours, removed with the pod). With
//! the systemd driver the slice names are expanded into the paths systemd would use
//! (`a-b.slice` → `/a.slice/a-b.slice`); sifcri writes those directories itself and does
//! not talk to systemd. A container's cgroup is a child of its pod's. Input: the pod
//! config and the configured driver; output: a [`PodCgroup`] kept in the pod record.

use oci_spec::runtime::LinuxResources;
use proto::cri;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::Error;
use crate::config::CgroupDriver;

/// The cgroup of one pod.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PodCgroup {
    /// The path from the hierarchy roots (`/kubepods/burstable/podUID`).
    pub path: String,
    /// Whether the path names systemd units (containers get `sifcri-ID.scope`).
    pub systemd: bool,
    /// Whether sifcri made the path (no parent asked for) and removes it.
    pub owned: bool,
    /// The directories made.
    pub manager: rootless::cgroups::Manager,
}

impl PodCgroup {
    /// The cgroup path of container `id` of this pod.
    pub fn container_path(&self, id: &str) -> String {
        if self.systemd {
            format!("{}/sifcri-{id}.scope", self.path)
        } else {
            format!("{}/{id}", self.path)
        }
    }
}

/// Makes the pod's cgroup with the pod-level resources, if any.
pub fn create(
    config: &cri::PodSandboxConfig,
    driver: CgroupDriver,
    id: &str,
) -> Result<PodCgroup, Error> {
    let linux = config.linux.clone().unwrap_or_default();
    let systemd = driver == CgroupDriver::Systemd;
    let (path, owned) = match (linux.cgroup_parent.as_str(), systemd) {
        ("", false) => (format!("/sifcri/{id}"), true),
        ("", true) => (expand_slice(&format!("sifcri-{id}.slice"))?, true),
        (p, false) => (cgroupfs_path(p)?, false),
        (p, true) => (expand_slice(p)?, false),
    };
    let res = linux.resources.as_ref().map(oci_resources).transpose()?;
    let (manager, warnings) = rootless::cgroups::Manager::create(
        Some(std::path::Path::new(&path)),
        id,
        res.as_ref(),
        privileged(),
    )?;
    for w in warnings {
        tracing::warn!(pod = id, "{w}");
    }
    Ok(PodCgroup {
        path,
        systemd,
        owned,
        manager,
    })
}

/// Removes the pod's cgroup if sifcri made it; returns the failures.
pub fn remove(cg: &PodCgroup) -> Vec<Error> {
    if !cg.owned {
        return Vec::new();
    }
    // Only the pod's own directories: `/sifcri` itself is shared by every pod.
    cg.manager.remove().into_iter().map(Error::from).collect()
}

/// Root of the host (not of a user namespace): a cgroup tree that cannot be written
/// is an error then, a warning otherwise.
fn privileged() -> bool {
    nix::unistd::geteuid().is_root()
        && std::fs::read_to_string("/proc/self/uid_map")
            .is_ok_and(|m| m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"])
}

fn cgroupfs_path(parent: &str) -> Result<String, Error> {
    let bad = parent.split('/').any(|c| c == "..") || parent.contains('\0');
    if bad {
        return Err(Error::InvalidArgument(format!(
            "bad cgroup parent {parent:?}"
        )));
    }
    Ok(format!("/{}", parent.trim_matches('/')))
}

/// `kubepods-burstable-podX.slice` → `/kubepods.slice/kubepods-burstable.slice/...`.
fn expand_slice(slice: &str) -> Result<String, Error> {
    let bad = || Error::InvalidArgument(format!("bad systemd slice {slice:?}"));
    let name = slice.strip_suffix(".slice").ok_or_else(bad)?;
    if name == "-" {
        return Ok("/".into());
    }
    if name.is_empty() || name.contains('/') || name.starts_with('-') || name.contains("--") {
        return Err(bad());
    }
    let mut path = String::new();
    let mut prefix = String::new();
    for part in name.split('-') {
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        path.push_str(&format!("/{prefix}.slice"));
    }
    Ok(path)
}

/// CRI resources as OCI `linux.resources` JSON (zero fields left out).
pub fn resources_json(r: &cri::LinuxContainerResources) -> Value {
    let mut cpu = serde_json::Map::new();
    let pos = |v: i64| (v > 0).then_some(v);
    if let Some(v) = pos(r.cpu_shares) {
        cpu.insert("shares".into(), json!(v));
    }
    if let Some(v) = pos(r.cpu_quota) {
        cpu.insert("quota".into(), json!(v));
    }
    if let Some(v) = pos(r.cpu_period) {
        cpu.insert("period".into(), json!(v));
    }
    for (key, v) in [("cpus", &r.cpuset_cpus), ("mems", &r.cpuset_mems)] {
        if !v.is_empty() {
            cpu.insert(key.into(), json!(v));
        }
    }
    let mut memory = serde_json::Map::new();
    if let Some(v) = pos(r.memory_limit_in_bytes) {
        memory.insert("limit".into(), json!(v));
    }
    if let Some(v) = pos(r.memory_swap_limit_in_bytes) {
        memory.insert("swap".into(), json!(v));
    }
    let mut out = json!({"cpu": cpu, "memory": memory});
    if !r.hugepage_limits.is_empty() {
        let h: Vec<Value> = r
            .hugepage_limits
            .iter()
            .map(|h| json!({"pageSize": h.page_size, "limit": h.limit}))
            .collect();
        out["hugepageLimits"] = json!(h);
    }
    if !r.unified.is_empty() {
        out["unified"] = json!(r.unified);
    }
    out
}

/// CRI resources as the OCI type `rootless` takes.
pub fn oci_resources(r: &cri::LinuxContainerResources) -> Result<LinuxResources, Error> {
    serde_json::from_value(resources_json(r))
        .map_err(|e| Error::InvalidArgument(format!("resources: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_expand_like_systemd() {
        assert_eq!(
            expand_slice("kubepods-burstable-pod12.slice").unwrap(),
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12.slice"
        );
        assert_eq!(expand_slice("-.slice").unwrap(), "/");
        assert!(expand_slice("a/b.slice").is_err());
        assert!(expand_slice("kubepods").is_err());
        assert!(cgroupfs_path("/a/../b").is_err());
        assert_eq!(cgroupfs_path("kubepods/pod1/").unwrap(), "/kubepods/pod1");
    }

    #[test]
    fn zero_fields_are_left_out() {
        let r = cri::LinuxContainerResources {
            cpu_shares: 512,
            memory_limit_in_bytes: 1 << 20,
            cpuset_cpus: "0".into(),
            ..Default::default()
        };
        let oci = oci_resources(&r).unwrap();
        let cpu = oci.cpu().clone().unwrap();
        assert_eq!(cpu.shares(), Some(512));
        assert_eq!(cpu.quota(), None);
        assert_eq!(cpu.cpus().as_deref(), Some("0"));
        assert_eq!(oci.memory().unwrap().limit(), Some(1 << 20));
    }
}
