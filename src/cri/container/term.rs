//! StopContainer's polite phase: SIGTERM, then wait for the exit record (on the
//! monitor's pidfd, `super::wait`).
//!
//! A container's init is pid 1 of its pid namespace, and the kernel discards a signal
//! sent to such a process while it has no handler for it. A stop that lands right
//! after a start (kubelet, critest) can reach the program before it has installed its
//! SIGTERM handler, and would then wait out the whole grace period. So when the
//! process did not catch SIGTERM when it was sent and catches it later, SIGTERM is
//! sent once more.

use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::ContainerRecord;

/// The longest pause between two looks at the exit record.
const MAX_POLL: Duration = Duration::from_millis(20);

/// Sends SIGTERM to `c`'s init and waits up to `timeout` for it to end; true if it did.
pub(super) fn terminate(c: &ContainerRecord, timeout: Duration) -> bool {
    if c.pid <= 0 {
        // No process of ours to signal (0 or -1 would reach whole groups).
        return c.exit().is_some();
    }
    let pid = Pid::from_raw(c.pid);
    let mut resend = catches_term(c.pid) == Some(false);
    let wait = super::wait::ExitWait::new(&c.dir);
    let _ = kill(pid, Signal::SIGTERM);
    let deadline = Instant::now() + timeout;
    let mut poll = Duration::from_millis(1);
    loop {
        if c.exit().is_some() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        if resend && catches_term(c.pid) == Some(true) {
            let _ = kill(pid, Signal::SIGTERM);
            resend = false;
        }
        // Woken at once when the monitor exits (after writing the record).
        wait.pause(poll);
        poll = (poll * 2).min(MAX_POLL);
    }
}

/// Whether process `pid` has a handler for SIGTERM (`SigCgt` of /proc/PID/status);
/// `None` when it cannot be told.
fn catches_term(pid: i32) -> Option<bool> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    caught_in(&status, Signal::SIGTERM as i32)
}

/// Whether the `SigCgt` mask of a /proc status text has signal `signo`.
fn caught_in(status: &str, signo: i32) -> Option<bool> {
    let line = status.lines().find(|l| l.starts_with("SigCgt:"))?;
    let mask = u64::from_str_radix(line.trim_start_matches("SigCgt:").trim(), 16).ok()?;
    let bit = u32::try_from(signo.checked_sub(1)?).ok()?;
    Some(mask.checked_shr(bit)? & 1 == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigcgt_is_read_bit_by_signal() {
        let s = "Name:\ttop\nSigCgt:\t0000000003807a27\n";
        assert_eq!(caught_in(s, 15), Some(true));
        assert_eq!(caught_in(s, 9), Some(false));
        assert_eq!(caught_in("SigCgt:\tzz\n", 15), None);
        assert_eq!(caught_in("", 15), None);
        assert!(catches_term(std::process::id() as i32).is_some());
    }
}
