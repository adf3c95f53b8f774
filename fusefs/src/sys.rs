//! Every `unsafe` call of the crate, each behind a safe function.
//!
//! Input comes from the kernel (file descriptors received over a unix socket);
//! output is owned Rust handles the rest of the crate uses safely.

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
