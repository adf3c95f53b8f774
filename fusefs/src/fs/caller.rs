//! Who may see `trusted.*` names in `listxattr`.
//!
//! The kernel answers `getxattr("trusted.*")` with ENODATA for callers without
//! `CAP_SYS_ADMIN` in the initial user namespace before asking us, but passes
//! `listxattr` through. Listing names the caller then cannot read breaks copy-up in
//! overlayfs over this mount, so, as ext4 does, we list them only to such callers.

use std::sync::OnceLock;

const CAP_SYS_ADMIN: u32 = 21;

/// True when this process runs in the initial user namespace.
fn server_in_initial_userns() -> bool {
    static INITIAL: OnceLock<bool> = OnceLock::new();
    *INITIAL.get_or_init(|| {
        std::fs::read_to_string("/proc/self/uid_map")
            .map(|m| m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"])
            .unwrap_or(false)
    })
}

/// True when process `pid` holds `CAP_SYS_ADMIN` in the initial user namespace.
pub(super) fn may_list_trusted(pid: u32) -> bool {
    if pid == 0 || !server_in_initial_userns() {
        return false;
    }
    let same_ns = match (
        std::fs::read_link(format!("/proc/{pid}/ns/user")),
        std::fs::read_link("/proc/self/ns/user"),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    same_ns && has_sys_admin(pid)
}

fn has_sys_admin(pid: u32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_SYS_ADMIN) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_in_the_initial_namespace_sees_trusted() {
        let root = nix::unistd::geteuid().is_root() && server_in_initial_userns();
        assert_eq!(
            may_list_trusted(std::process::id()),
            root && has_sys_admin(std::process::id())
        );
        assert!(!may_list_trusted(0));
    }
}
