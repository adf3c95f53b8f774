//! Every `unsafe` call of the crate, each behind a safe function.
//!
//! Input comes from the kernel (file descriptors received over a unix socket) or the
//! caller (allocator settings); output is owned Rust handles the rest of the crate uses
//! safely.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

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
