//! Waiting for a container to end: its monitor writes `DIR/exit.json` and exits right
//! after, so StopContainer and RemoveContainer wait on a pidfd of the monitor
//! (pidfd_open(2), readable once the process has exited, also for a process that is not
//! our child) and read the record then. Where the kernel has no pidfd (before 5.3) or
//! the monitor's pid is unknown, they look at the record every 20 ms instead.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::ContainerRecord;

/// The pause between two looks at the exit record without a pidfd.
const FALLBACK_POLL: Duration = Duration::from_millis(20);

/// The longest wait on the pidfd before the record is looked at again (a pid file
/// naming a reused pid must not hold a stop up).
const MAX_PAUSE: Duration = Duration::from_millis(200);

/// A wait on one container's monitor.
#[derive(Debug)]
pub(super) struct ExitWait {
    pidfd: Option<OwnedFd>,
}

impl ExitWait {
    /// Opens a pidfd of the monitor of the container directory `dir`, if it can.
    pub(super) fn new(dir: &Path) -> ExitWait {
        let pidfd = super::shim_pid(dir).and_then(|p| crate::sys::pidfd_open(p.as_raw()).ok());
        ExitWait { pidfd }
    }

    /// Sleeps up to `max`; returns early when the monitor exits.
    pub(super) fn pause(&self, max: Duration) {
        let Some(fd) = &self.pidfd else {
            std::thread::sleep(max.min(FALLBACK_POLL));
            return;
        };
        let ms = max.min(MAX_PAUSE).as_micros().div_ceil(1000);
        let timeout = PollTimeout::from(u16::try_from(ms).unwrap_or(u16::MAX));
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, timeout).is_err() {
            std::thread::sleep(max.min(FALLBACK_POLL));
        }
    }
}

/// Waits up to `timeout` for the container's exit record; true once there is one.
pub(super) fn wait_exit(c: &ContainerRecord, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let wait = ExitWait::new(&c.dir);
    loop {
        if c.exit().is_some() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        wait.pause(deadline - now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pidfd_is_readable_once_the_monitor_has_exited() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        std::fs::write(dir.path().join("shim.pid"), child.id().to_string()).unwrap();
        let wait = ExitWait::new(dir.path());
        assert!(wait.pidfd.is_some(), "no pidfd_open on this kernel");
        let start = Instant::now();
        wait.pause(Duration::from_millis(50));
        assert!(start.elapsed() >= Duration::from_millis(50));
        child.kill().unwrap();
        child.wait().unwrap();
        // Exited (and reaped): each pause returns at once, not after 20 or 200 ms.
        let start = Instant::now();
        for _ in 0..10 {
            wait.pause(Duration::from_secs(1));
        }
        assert!(
            start.elapsed() < Duration::from_millis(150),
            "{:?}",
            start.elapsed()
        );
    }
}
