//! Every raw system call of the crate that `nix` does not cover safely.
//!
//! The rest of the crate calls these thin wrappers; each `unsafe` block states the
//! invariants it relies on. Nothing here keeps state.

use std::os::fd::{AsRawFd, BorrowedFd};

use nix::errno::Errno;
use nix::unistd::ForkResult;

/// Forks the calling process.
///
/// The crate starts no threads, so the child is a faithful copy that may run any code.
pub fn fork() -> nix::Result<ForkResult> {
    // SAFETY: rootless never starts threads and its callers (a CLI process or a
    // per-container monitor before it starts threads) are single-threaded at this point,
    // so the child may allocate and run arbitrary code after fork.
    unsafe { nix::unistd::fork() }
}

/// Gives every signal its default disposition and unblocks all of them, so a container
/// process does not inherit what the runtime (or its caller) ignored or blocked: a
/// SIGHUP or SIGPIPE ignored by a monitor must not be ignored in the container.
pub fn reset_signals() -> nix::Result<()> {
    // The kernel's struct sigaction: handler, flags, restorer, mask. All zero is SIG_DFL
    // with no flags and an empty mask.
    let default = [0u64; 4];
    for signo in 1..=libc::SIGRTMAX() {
        if signo == libc::SIGKILL || signo == libc::SIGSTOP {
            continue;
        }
        // SAFETY: rt_sigaction reads a kernel sigaction from a live, correctly sized
        // buffer and writes nothing (old action pointer is null); SIG_DFL installs no
        // handler code. The raw call also reaches the signals glibc reserves (32, 33),
        // which libc's signal() refuses.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                signo,
                default.as_ptr(),
                std::ptr::null_mut::<u64>(),
                8usize,
            )
        };
        Errno::result(rc)?;
    }
    nix::sys::signal::SigSet::empty().thread_set_mask()
}

/// `struct mount_attr` of mount_setattr(2).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Makes the mount at `fd` and every mount below it read-only (mount_setattr(2) with
/// `AT_RECURSIVE` and `MOUNT_ATTR_RDONLY`; Linux 5.12 and later).
pub fn make_tree_readonly(fd: BorrowedFd<'_>) -> nix::Result<()> {
    const MOUNT_ATTR_RDONLY: u64 = 0x1;
    const AT_RECURSIVE: libc::c_int = 0x8000;
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: `fd` is a live descriptor borrowed for the call, the path is a valid
    // NUL-terminated empty string (AT_EMPTY_PATH), and `attr` is a live, correctly laid
    // out struct whose size is passed; the kernel only reads from it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | AT_RECURSIVE,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    Errno::result(rc).map(drop)
}

/// Sets the NIS domain name of the current UTS namespace.
pub fn set_domainname(name: &str) -> nix::Result<()> {
    let bytes = name.as_bytes();
    // SAFETY: the pointer and length describe a live byte slice that outlives the call;
    // the kernel copies at most `len` bytes from it.
    let rc = unsafe { libc::setdomainname(bytes.as_ptr().cast(), bytes.len()) };
    Errno::result(rc).map(drop)
}

/// Makes the terminal `fd` the controlling terminal of the calling session leader.
pub fn set_controlling_terminal(fd: BorrowedFd<'_>) -> nix::Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument (0: do not steal); `fd` is a live
    // descriptor borrowed for the duration of the call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) };
    Errno::result(rc).map(drop)
}

/// Marks every descriptor from `first` upwards close-on-exec.
pub fn cloexec_from(first: u32) -> nix::Result<()> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets a flag on descriptors; it
    // takes plain integers and touches no memory of ours.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    Errno::result(rc).map(drop)
}

/// Resizes the terminal behind `fd`.
pub fn set_window_size(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> nix::Result<()> {
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one `winsize` from the pointer, which points to a live
    // local value; `fd` is a live descriptor.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &size) };
    Errno::result(rc).map(drop)
}

/// Takes ownership of a descriptor that arrived in an SCM_RIGHTS message.
pub fn own_received_fd(fd: std::os::fd::RawFd) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: the kernel installed `fd` in our table when it delivered the SCM_RIGHTS
    // message; nothing else refers to it, so this OwnedFd is its only owner.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }
}

pub mod spawn;
mod spawn_child;
