//! Every `unsafe` call of the root crate: the few ioctls and system calls that neither
//! `nix` nor `rootless` expose safely (a window size, a fork, a pidfd, a pty, received
//! descriptors). Input: live descriptors and pids from the caller; output: errno.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

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

/// Forks this process, which must have exactly one thread (checked through
/// `/proc/self/task`; refused with `EBUSY` otherwise): the per-container monitor
/// detaches from the daemon this way instead of re-executing the binary.
pub fn fork_single_threaded() -> nix::Result<nix::unistd::ForkResult> {
    let threads = std::fs::read_dir("/proc/self/task").map_err(|_| Errno::ENOSYS)?;
    if threads.count() != 1 {
        return Err(Errno::EBUSY);
    }
    // SAFETY: the process has a single thread (counted just above, and only this
    // thread could start another in between), so the child is a complete copy: no lock
    // is held by a thread that does not exist there, and it may run arbitrary code.
    unsafe { nix::unistd::fork() }
}

/// A pidfd of process `pid` (pidfd_open(2), Linux 5.3): readable once it has exited,
/// also when it is not our child.
pub fn pidfd_open(pid: i32) -> nix::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes a pid and flags by value and touches no memory of ours.
    let rc = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = Errno::result(rc)?;
    let fd = i32::try_from(fd).map_err(|_| Errno::EBADF)?;
    // SAFETY: the kernel just returned this new descriptor; nothing else owns it.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// Opens a new pty through the `ptmx` node at `ptmx` (a container's own devpts,
/// reached through `/proc/PID/root`), unlocks it and opens its slave through the
/// master (TIOCGPTPEER, Linux 4.13); `(master, slave)`, both close-on-exec, neither
/// our controlling terminal.
pub fn open_pty(ptmx: &std::path::Path) -> std::io::Result<(OwnedFd, OwnedFd)> {
    use std::os::fd::FromRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let master: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(ptmx)?
        .into();
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int through the pointer, a live local for the whole
    // call; `master` is open.
    let rc = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) };
    Errno::result(rc)?;
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: TIOCGPTPEER takes open flags by value and returns a new descriptor.
    let rc = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER, flags) };
    let slave = Errno::result(rc)?;
    // SAFETY: the kernel just returned this new descriptor; nothing else owns it.
    Ok((master, unsafe { OwnedFd::from_raw_fd(slave) }))
}

/// Receives bytes into `buf` from the unix stream socket `sock` with the descriptors
/// passed along them (SCM_RIGHTS, at most 4, made close-on-exec); the byte count and
/// the descriptors.
pub fn recv_with_fds(sock: BorrowedFd<'_>, buf: &mut [u8]) -> nix::Result<(usize, Vec<OwnedFd>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    use std::os::fd::FromRawFd;
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 4]);
    let mut iov = [std::io::IoSliceMut::new(buf)];
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    let mut fds = Vec::new();
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(raw) = c {
            for fd in raw {
                // SAFETY: the kernel installed this descriptor in our table for this
                // message; nothing else owns it.
                fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    Ok((msg.bytes, fds))
}
