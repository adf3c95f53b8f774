//! Every `unsafe` call of the root crate: the few ioctls that neither `nix` nor
//! `rootless` expose safely. Input: live descriptors from the caller; output: errno.

use std::os::fd::{AsRawFd, BorrowedFd};

use nix::errno::Errno;

/// Sets the window size of the terminal behind `fd` (a pty master or slave).
pub fn set_window_size(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> nix::Result<()> {
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one `winsize` through the pointer, which points to a
    // live local value for the whole call; `fd` is borrowed, so it is open.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &size) };
    Errno::result(rc).map(drop)
}
