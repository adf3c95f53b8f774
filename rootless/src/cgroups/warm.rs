//! Making the next move of a process between cgroups cheap.
//!
//! Every move (a write to `cgroup.procs`) takes the kernel's cgroup threadgroup lock
//! for writing. That lock is a per-CPU semaphore: its first writer after an idle spell
//! waits a whole RCU grace period (8-16 ms on our 2-CPU machines) for the fast path of
//! every reader to close, and writers that follow within about another grace period
//! find it closed already and pass in microseconds. Moving a container's first
//! process into its cgroups is such a first writer, on the path of every container
//! start (cgroup v2 could create the process in its cgroup with `CLONE_INTO_CGROUP`; the
//! v1 controllers cannot). [`WarmUp`] moves the calling process into the cgroup it is
//! in already — nothing changes — from a thread of its own, again every few ms while it
//! lives, so that the grace period runs while the caller does other work (starting the
//! monitor, mounting the overlay) and the container's move finds the lock ready
//! whenever it comes. Hosts that mount their hierarchies with `favordynmods` have no
//! such wait, and this costs nothing there.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long after the last warming move the lock is surely still ready (a grace
/// period is 8-16 ms here; half of the shortest).
const PERIOD: Duration = Duration::from_millis(4);

/// The longest a [`WarmUp`] goes on, whatever its owner does.
const MAX: Duration = Duration::from_secs(2);

/// Keeps the cgroup lock ready for a move while it lives (at most 2 s).
#[derive(Debug)]
pub struct WarmUp {
    done: Arc<AtomicBool>,
}

impl WarmUp {
    /// Starts warming; a no-op where the own cgroup is not found or not writable.
    pub fn start() -> WarmUp {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let spawned = std::thread::Builder::new()
            .name("cgroup-warm-up".into())
            .spawn(move || {
                let Some(procs) = own_procs_file() else {
                    return;
                };
                let end = Instant::now() + MAX;
                while !flag.load(Ordering::Relaxed) && Instant::now() < end {
                    if std::fs::write(&procs, "0").is_err() {
                        return;
                    }
                    std::thread::sleep(PERIOD);
                }
            });
        if spawned.is_err() {
            done.store(true, Ordering::Relaxed);
        }
        WarmUp { done }
    }
}

impl Drop for WarmUp {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
    }
}

/// `cgroup.procs` of the calling process's cgroup in the first hierarchy found: a v1
/// controller hierarchy, else the unified one.
fn own_procs_file() -> Option<PathBuf> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let mounts = super::mounts();
    own.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let path = path.strip_prefix('/')?;
        let (_, at, _) = mounts.iter().find(|(fs, _, opts)| {
            if controllers.is_empty() {
                fs == "cgroup2"
            } else {
                fs == "cgroup"
                    && controllers
                        .split(',')
                        .all(|c| opts.split(',').any(|o| o == c))
            }
        })?;
        let file = at.join(path).join("cgroup.procs");
        file.exists().then_some(file)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_own_cgroup_is_found_and_warming_up_keeps_the_process_there() {
        let before = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        if let Some(file) = own_procs_file() {
            assert!(file.ends_with("cgroup.procs"), "{}", file.display());
        }
        drop(WarmUp::start());
        let warm = WarmUp::start();
        std::thread::sleep(Duration::from_millis(20));
        drop(warm);
        assert_eq!(
            std::fs::read_to_string("/proc/self/cgroup").unwrap(),
            before
        );
    }
}
