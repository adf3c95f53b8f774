//! The state directory: one folder per container under a state root, holding
//! `state.json` (written atomically: temp file, rename; no fsync: the state describes
//! processes that a reboot ends anyway, and an fsync costs tens of ms on a busy disk),
//! a copy of the bundle's `config.json` (for exec and hooks) and the `exec.fifo` that
//! `start` writes to.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cgroups::Manager;

/// The state directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A file could not be read or written.
    #[error("state {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `state.json` is not ours or is damaged.
    #[error("state {path}: {message}")]
    Corrupt {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The id cannot name a container.
    #[error("invalid container id {0:?}: use letters, digits, '_', '-' and '.'")]
    InvalidId(String),
}

/// The state root used when none is given: /run/sifcri-oci for root,
/// `$XDG_RUNTIME_DIR/sifcri-oci` (else /tmp/sifcri-oci-UID) for other users.
pub fn default_state_root() -> PathBuf {
    let uid = nix::unistd::geteuid();
    if uid.is_root() {
        return PathBuf::from("/run/sifcri-oci");
    }
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("sifcri-oci"),
        None => PathBuf::from(format!("/tmp/sifcri-oci-{uid}")),
    }
}

/// What `state.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StateFile {
    /// The spec version of the bundle.
    pub oci_version: String,
    /// The container id.
    pub id: String,
    /// The bundle, absolute.
    pub bundle: PathBuf,
    /// init's pid, once known.
    pub pid: Option<i32>,
    /// init's start time (clock ticks since boot) against pid reuse.
    pub pid_start: Option<u64>,
    /// Creation time, seconds since the epoch.
    pub created: u64,
    /// The spec's annotations.
    pub annotations: HashMap<String, String>,
    /// The container's cgroups.
    pub cgroup: Manager,
}

/// Checks that an id is safe as a directory name.
pub(crate) fn validate_id(id: &str) -> Result<(), StateError> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    ok.then_some(())
        .ok_or_else(|| StateError::InvalidId(id.into()))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.into(),
        source,
    }
}

/// Writes `contents` to `path` atomically.
pub(crate) fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), StateError> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(contents).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

impl StateFile {
    /// Saves to `DIR/state.json`.
    pub fn save(&self, dir: &Path) -> Result<(), StateError> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| StateError::Corrupt {
            path: dir.join("state.json"),
            message: e.to_string(),
        })?;
        write_atomic(&dir.join("state.json"), &json)
    }

    /// Loads `DIR/state.json`.
    pub fn load(dir: &Path) -> Result<Self, StateError> {
        let path = dir.join("state.json");
        let text = std::fs::read(&path).map_err(io(&path))?;
        serde_json::from_slice(&text).map_err(|e| StateError::Corrupt {
            path,
            message: e.to_string(),
        })
    }
}

/// `(state char, start time)` of a process from /proc/PID/stat.
pub(crate) fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = text.get(text.rfind(')')? + 1..)?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Field 3 (state) is fields[0]; field 22 (starttime) is fields[19].
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

/// Seconds since the epoch.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_safe_directory_names() {
        assert!(validate_id("abc-1.2_3").is_ok());
        for bad in ["", ".", "..", "a/b", "../x", "a b"] {
            assert!(validate_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reads_own_process_stat() {
        let (state, start) = proc_stat(std::process::id() as i32).unwrap();
        assert!("RS".contains(state), "{state}");
        assert!(start > 0);
        assert!(proc_stat(i32::MAX).is_none());
    }

    #[test]
    fn atomic_write_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
