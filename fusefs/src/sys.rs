//! Every `unsafe` call of the crate, each behind a safe function.
//!
//! Input comes from the kernel (file descriptors received over a unix socket) or the
//! caller (allocator settings); output is owned Rust handles the rest of the crate uses
//! safely.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

/// Takes ownership of a file descriptor the kernel just installed in this process
/// through an `SCM_RIGHTS` control message.
///
/// The caller passes each received descriptor exactly once and never uses the raw
/// number again.
pub(crate) fn own_received_fd(fd: RawFd) -> Option<OwnedFd> {
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` was installed in our table by recvmsg(2) for this message only, so it
    // is open and nothing else owns it; the caller hands each received number over once.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Caps the number of glibc malloc arenas of this process at `n` (`M_ARENA_MAX`);
/// false where the C library refused or is not glibc.
///
/// glibc gives each thread that allocates concurrently an arena of its own, each
/// keeping freed memory around: with one per FUSE worker a server's peak RSS grows by
/// megabytes per thread without making it faster (the workers hold no lock while they
/// allocate, and the allocations are few and short-lived).
pub(crate) fn limit_malloc_arenas(n: i32) -> bool {
    #[cfg(target_env = "gnu")]
    {
        // SAFETY: mallopt only changes a tunable of the allocator; M_ARENA_MAX takes
        // any positive int, and it is safe to call at any time from any thread.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, n) == 1 }
    }
    #[cfg(not(target_env = "gnu"))]
    {
        let _ = n;
        false
    }
}

/// Forks this process, which must have exactly one thread (checked through
/// `/proc/self/task`; refused with `EBUSY` otherwise).
///
/// A mount server forks after its mount is ready, so that the command returns at once
/// while the child serves (as libfuse's `fuse_daemonize` does, without a re-exec).
pub(crate) fn fork_single_threaded() -> nix::Result<nix::unistd::ForkResult> {
    let threads = std::fs::read_dir("/proc/self/task").map_err(|_| nix::Error::ENOSYS)?;
    if threads.count() != 1 {
        return Err(nix::Error::EBUSY);
    }
    // SAFETY: the process has a single thread (counted just above, and only this
    // thread could start another in between), so the child is a complete copy: no lock
    // is held by a thread that does not exist there, and it may allocate and run
    // arbitrary code.
    unsafe { nix::unistd::fork() }
}

/// In a child just forked by [`fork_single_threaded`] that will never return to the
/// code that owns them: closes the descriptors above 2 that are marked close-on-exec,
/// except `keep`, i.e. what a re-exec would have closed (the parent's sockets, pipes
/// and files, which a long-lived server must not hold open).
pub(crate) fn close_cloexec_except(keep: &[RawFd]) {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<RawFd> = dir
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            std::str::from_utf8(e.file_name().as_bytes())
                .ok()?
                .parse()
                .ok()
        })
        .collect();
    for fd in fds.into_iter().filter(|fd| *fd > 2 && !keep.contains(fd)) {
        // SAFETY: F_GETFD only reads the descriptor's flags; on a number that is not
        // open (the directory listing's own descriptor, closed by now) it fails (EBADF).
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags >= 0 && flags & libc::FD_CLOEXEC != 0 {
            // SAFETY: the caller is a forked child that never returns into the code
            // owning this descriptor (it serves and exits), so no handle to it is used
            // again; the descriptors it needs are in `keep`.
            unsafe { libc::close(fd) };
        }
    }
}
