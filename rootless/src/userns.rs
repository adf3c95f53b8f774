//! User namespaces: whether we are privileged, and writing a new namespace's id maps —
//! directly where the kernel lets us, through `newuidmap`/`newgidmap` (subordinate ids
//! from /etc/subuid and /etc/subgid) where it does not.

use std::path::PathBuf;
use std::process::Command;

use nix::unistd::Pid;
use oci_spec::runtime::LinuxIdMapping;

/// One line of an id map: `size` ids from `container` map to ids from `host`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdMap {
    /// First id inside the namespace.
    pub container: u32,
    /// First id outside.
    pub host: u32,
    /// How many.
    pub size: u32,
}

impl IdMap {
    /// The spec's mappings, or `default` when it has none.
    pub fn from_spec(
        maps: Option<&Vec<LinuxIdMapping>>,
        default: impl FnOnce() -> Vec<Self>,
    ) -> Vec<Self> {
        match maps {
            Some(maps) if !maps.is_empty() => maps
                .iter()
                .map(|m| Self {
                    container: m.container_id(),
                    host: m.host_id(),
                    size: m.size(),
                })
                .collect(),
            _ => default(),
        }
    }
}

/// Whether this process is root in the initial user namespace (may mknod, map any id).
pub fn privileged() -> bool {
    nix::unistd::geteuid().is_root()
        && std::fs::read_to_string("/proc/self/uid_map")
            .is_ok_and(|m| m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"])
}

/// An id map could not be written.
#[derive(Debug, thiserror::Error)]
pub enum UsernsError {
    /// Writing /proc/PID/{uid,gid}_map or setgroups failed.
    #[error("write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// newuidmap/newgidmap failed or is missing.
    #[error("{tool} failed: {message} (are the ranges in /etc/subuid and /etc/subgid, and is the uidmap package installed?)")]
    Helper {
        /// newuidmap or newgidmap.
        tool: &'static str,
        /// Its stderr or the spawn error.
        message: String,
    },
}

/// Writes the uid and gid maps of the user namespace of `pid`: directly where we may
/// (root of the initial namespace; root of our own user namespace, which holds
/// `CAP_SETUID` and `CAP_SETGID` over its ids; a single mapping of our own id), else
/// through `newuidmap`/`newgidmap`.
pub(crate) fn write_maps(
    pid: Pid,
    uids: &[IdMap],
    gids: &[IdMap],
    privileged: bool,
) -> Result<(), UsernsError> {
    let own_uid = nix::unistd::geteuid().as_raw();
    let own_gid = nix::unistd::getegid().as_raw();
    let single = |m: &[IdMap], own: u32| m.len() == 1 && m[0].host == own && m[0].size == 1;
    let privileged = privileged || own_uid == 0;
    if privileged || single(uids, own_uid) {
        write_file(pid, "uid_map", &format_map(uids))?;
    } else {
        helper("newuidmap", pid, uids)?;
    }
    if privileged {
        write_file(pid, "gid_map", &format_map(gids))
    } else if single(gids, own_gid) {
        write_file(pid, "setgroups", "deny")?;
        write_file(pid, "gid_map", &format_map(gids))
    } else {
        helper("newgidmap", pid, gids)
    }
}

fn format_map(maps: &[IdMap]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container, m.host, m.size))
        .collect()
}

fn write_file(pid: Pid, name: &str, text: &str) -> Result<(), UsernsError> {
    let path = PathBuf::from(format!("/proc/{pid}/{name}"));
    std::fs::write(&path, text).map_err(|source| UsernsError::Write { path, source })
}

fn helper(tool: &'static str, pid: Pid, maps: &[IdMap]) -> Result<(), UsernsError> {
    let mut cmd = Command::new(tool);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([
            m.container.to_string(),
            m.host.to_string(),
            m.size.to_string(),
        ]);
    }
    let out = cmd.output().map_err(|e| UsernsError::Helper {
        tool,
        message: e.to_string(),
    })?;
    if out.status.success() {
        return Ok(());
    }
    let message = String::from_utf8_lossy(&out.stderr).trim().to_string();
    Err(UsernsError::Helper { tool, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_mappings_else_the_default() {
        let own = || {
            vec![IdMap {
                container: 0,
                host: 1001,
                size: 1,
            }]
        };
        assert_eq!(IdMap::from_spec(None, own), own());
        assert_eq!(IdMap::from_spec(Some(&Vec::new()), own), own());
        let maps = vec![
            IdMap {
                container: 0,
                host: 5,
                size: 1,
            },
            IdMap {
                container: 1,
                host: 100,
                size: 10,
            },
        ];
        assert_eq!(format_map(&maps), "0 5 1\n1 100 10\n");
    }
}
