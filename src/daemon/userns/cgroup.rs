//! Whether an unprivileged daemon can set resource limits: only through a delegated
//! cgroup v2 subtree (a unified hierarchy whose `cgroup.subtree_control` under the
//! daemon's own cgroup the user may write, as a systemd user session or an admin
//! gives). Without one — e.g. on a cgroup v1 host — containers run without limits;
//! the daemon says so once in its log and in the Status call.

use std::path::PathBuf;

/// The delegated cgroup directory, or why there is none.
pub fn delegated() -> Result<PathBuf, String> {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let Some(path) = own.lines().find_map(|l| l.strip_prefix("0::")) else {
        return Err("no cgroup v2 hierarchy".into());
    };
    if rootless::cgroups::Layout::detect() != rootless::cgroups::Layout::Unified {
        return Err(
            "the cgroup controllers are on cgroup v1 (no delegated cgroup v2 subtree)".into(),
        );
    }
    let dir = PathBuf::from("/sys/fs/cgroup").join(path.trim_start_matches('/'));
    let control = dir.join("cgroup.subtree_control");
    match nix::unistd::access(&control, nix::unistd::AccessFlags::W_OK) {
        Ok(()) => Ok(dir),
        Err(e) => Err(format!(
            "{} is not writable ({e}): no delegated cgroup v2 subtree",
            control.display()
        )),
    }
}

/// The Status condition for an unprivileged daemon without limits, if any.
pub fn condition() -> Option<(String, String)> {
    super::current()?;
    static ONCE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let message = ONCE.get_or_init(|| delegated().err()).clone()?;
    Some((
        "NoCgroupDelegation".into(),
        format!("containers run without resource limits: {message}"),
    ))
}
