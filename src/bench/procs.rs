//! Processes and their memory, from /proc: the daemon behind a socket (SO_PEERCRED),
//! RSS and PSS from /proc/PID/smaps_rollup, and the per-container processes started
//! during the run: monitors (sifcri: `sifcri shim` of the daemon's own binary;
//! containerd: `containerd-shim-*`) and helpers (sifcri: other verbs of its binary, such
//! as the `sifcri mount` FUSE server; containerd: `pause`).

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};

use super::report::{Daemon, Procs, Rss};
use super::Error;

/// The pid of the process that listens on the unix socket `path`.
pub fn peer_pid(path: &Path) -> Result<i32, Error> {
    let s = std::os::unix::net::UnixStream::connect(path).map_err(|source| Error::Io {
        what: format!("connect {}", path.display()),
        source,
    })?;
    let cred = getsockopt(&s, PeerCredentials).map_err(|source| Error::PeerCred {
        path: path.to_owned(),
        source,
    })?;
    Ok(cred.pid())
}

/// The value in kB of the `key:` line of a smaps_rollup text.
fn field_kib(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// The RSS and PSS of process `pid`.
pub fn rss(pid: i32) -> Result<Rss, Error> {
    let path = format!("/proc/{pid}/smaps_rollup");
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        what: format!("read {path}"),
        source,
    })?;
    match (field_kib(&text, "Rss:"), field_kib(&text, "Pss:")) {
        (Some(rss_kib), Some(pss_kib)) => Ok(Rss { rss_kib, pss_kib }),
        _ => Err(Error::Unexpected(format!("{path}: no Rss/Pss lines"))),
    }
}

/// The daemon's pid, command name and user.
pub fn describe(pid: i32) -> Daemon {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    let uid = std::fs::metadata(format!("/proc/{pid}")).map_or(u32::MAX, |m| m.uid());
    Daemon {
        pid,
        comm: comm.trim().to_owned(),
        uid,
    }
}

/// The 1, 5 and 15 minute load averages as /proc/loadavg writes them.
pub fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn pids() -> HashSet<i32> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// What a process started during the run is to the runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A per-container monitor: `sifcri shim`, `containerd-shim-*`.
    Monitor,
    /// Another per-pod or per-container process of the runtime: another verb of the
    /// daemon's binary (sifcri's shared image server `sifcri-lower`), or `pause`.
    Helper,
}

/// What `pid` is, given the daemon's binary `daemon_exe`; `None`: not the runtime's.
fn kind(pid: i32, daemon_exe: &Option<std::path::PathBuf>) -> Option<Kind> {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if comm.starts_with("containerd-shim") {
        return Some(Kind::Monitor);
    }
    // sifcri's shared image server is forked off a monitor: its command line is the
    // monitor's, its name is its own.
    if matches!(comm.trim_end(), "pause" | "sifcri-lower") {
        return Some(Kind::Helper);
    }
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
    if exe.is_none() || exe != *daemon_exe {
        return None;
    }
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    tracing::debug!(pid, cmdline, "a process of the daemon's binary");
    match cmdline.split(' ').nth(1) {
        Some("shim") => Some(Kind::Monitor),
        Some("bench") => None,
        _ => Some(Kind::Helper),
    }
}

/// The processes that existed at one moment.
#[derive(Debug)]
pub struct Snapshot(HashSet<i32>);

impl Snapshot {
    /// Takes the set of pids now.
    pub fn take() -> Snapshot {
        Snapshot(pids())
    }

    /// The monitors and helpers started since the snapshot, each summed, and per each
    /// of `containers`. A child of a monitor that still runs the monitor's binary is a
    /// container process between fork and exec, not a monitor: not counted.
    pub fn new_procs(&self, daemon: i32, containers: usize) -> (Procs, Procs) {
        let exe = std::fs::read_link(format!("/proc/{daemon}/exe")).ok();
        let found: Vec<(i32, Kind)> = pids()
            .difference(&self.0)
            .filter_map(|pid| Some((*pid, kind(*pid, &exe)?)))
            .collect();
        let monitors: HashSet<i32> = found
            .iter()
            .filter(|(_, k)| *k == Kind::Monitor)
            .map(|(p, _)| *p)
            .collect();
        let (mut mon, mut helpers) = (Procs::default(), Procs::default());
        for (pid, k) in found {
            let sum = match k {
                Kind::Monitor if parent(pid).is_some_and(|p| monitors.contains(&p)) => continue,
                Kind::Monitor => &mut mon,
                Kind::Helper => &mut helpers,
            };
            if let Ok(r) = rss(pid) {
                sum.add(r);
            }
        }
        mon.per(containers);
        helpers.per(containers);
        (mon, helpers)
    }
}

/// The parent of `pid`.
fn parent(pid: i32) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("PPid:"))?;
    line["PPid:".len()..].trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smaps_rollup_fields() {
        let t = "55d0-7ffd ---p 00000000 00:00 0 [rollup]\nRss:                5340 kB\nPss:                1234 kB\nPss_Anon:            900 kB\n";
        assert_eq!(field_kib(t, "Rss:"), Some(5340));
        assert_eq!(field_kib(t, "Pss:"), Some(1234));
        assert_eq!(field_kib(t, "Swap:"), None);
        assert_eq!(field_kib("Rss: lots kB", "Rss:"), None);
    }

    #[test]
    fn own_memory() {
        let r = rss(std::process::id() as i32).unwrap();
        assert!(r.rss_kib > 0 && r.pss_kib <= r.rss_kib, "{r:?}");
    }
}
