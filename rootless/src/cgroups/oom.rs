//! The kernel's OOM-kill count of a container's cgroup: what a CRI daemon's
//! OOMKilled exit reason needs. Read before the cgroup is removed at delete.

use super::{read, Manager};

impl Manager {
    /// How many processes the OOM killer killed in the cgroup (`oom_kill` of
    /// `memory.events` on v2, of `memory.oom_control` on v1); 0 without a memory
    /// controller.
    pub fn oom_kills(&self) -> u64 {
        let (dir, file) = match &self.v2 {
            Some(d) => (Some(d), "memory.events"),
            None => (
                self.v1.iter().find(|(c, _)| c == "memory").map(|(_, d)| d),
                "memory.oom_control",
            ),
        };
        dir.and_then(|d| read(&d.join(file)))
            .and_then(|text| {
                text.lines().find_map(|l| {
                    l.strip_prefix("oom_kill ")
                        .and_then(|v| v.trim().parse().ok())
                })
            })
            .unwrap_or(0)
    }
}
