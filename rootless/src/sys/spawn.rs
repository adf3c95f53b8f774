//! A process started in a running container by a caller that may be multi-threaded
//! (the CRI daemon): everything is prepared before `fork` ([`ChildPlan`]), and the
//! children only make raw system calls on that prepared data — no allocation, no lock,
//! nothing that another thread of the parent could have held at the fork — until
//! `execve`.
//!
//! The chain is `fork` (the intermediate: joins the cgroups and namespaces, forks once
//! more so that the pid namespace applies, waits and mirrors the exit status) and a
//! raw `clone` (the process: session, stdio, rlimits, seccomp, capabilities, user, cwd,
//! `execve` over the candidate paths, in the order `process::finalize` uses).

use std::ffi::{c_char, CString};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::unistd::Pid;

/// The capability sets to apply, as bit masks.
#[derive(Debug, Clone, Copy, Default)]
pub struct CapMasks {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

/// Everything the children need, made before the fork.
#[derive(Debug)]
pub struct ChildPlan {
    /// `cgroup.procs` of each of the container's cgroups, open for writing.
    pub cgroup_procs: Vec<OwnedFd>,
    /// Namespaces other than the user namespace, with their `CLONE_NEW*` type.
    pub namespaces: Vec<(OwnedFd, libc::c_int)>,
    /// The container's user namespace, when it differs from ours.
    pub user_ns: Option<OwnedFd>,
    /// `(resource, soft, hard)`.
    pub rlimits: Vec<(libc::c_int, u64, u64)>,
    /// The compiled seccomp program.
    pub seccomp: Option<Vec<libc::sock_filter>>,
    pub no_new_privs: bool,
    /// Capabilities kept in the bounding set; `None`: leave it.
    pub bounding: Option<u64>,
    /// The highest capability number this kernel knows.
    pub last_cap: u8,
    /// `None` when the spec has no capabilities object.
    pub caps: Option<CapMasks>,
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<libc::gid_t>,
    /// A refused setgroups is not an error (no groups, or `setgroups` denied).
    pub groups_optional: bool,
    pub umask: Option<u32>,
    pub cwd: CString,
    /// Paths tried in turn with `execve` (`PATH` search without allocation).
    pub candidates: Vec<CString>,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
    /// Written to stderr when no candidate could be executed.
    pub not_found: Vec<u8>,
    /// stdin is a terminal's slave: make it the process's controlling terminal.
    pub ctty: bool,
}

/// Starts the intermediate child; its pid (the caller reaps it). Its exit status is
/// the process's: exit code, or 128 + signal; 126 when joining failed, 127 when the
/// process could not be set up or executed (a message on `stdio[2]`).
pub fn spawn(plan: &ChildPlan, stdio: [RawFd; 3]) -> nix::Result<Pid> {
    let argv = pointers(&plan.argv);
    let envp = pointers(&plan.envp);
    let mut keep: Vec<RawFd> = stdio.to_vec();
    keep.extend(plan.cgroup_procs.iter().map(AsRawFd::as_raw_fd));
    keep.extend(plan.namespaces.iter().map(|(fd, _)| fd.as_raw_fd()));
    keep.extend(plan.user_ns.iter().map(AsRawFd::as_raw_fd));
    keep.sort_unstable();
    keep.dedup();
    // SAFETY: the child runs only `intermediate`, which makes raw system calls on
    // memory prepared here (the plan, the pointer arrays, the stack) and ends in
    // `_exit`: it allocates nothing and takes no lock, so locks held by the caller's
    // other threads at the fork do not matter.
    match unsafe { libc::fork() } {
        -1 => Err(Errno::last()),
        0 => {
            close_others(&keep);
            intermediate(plan, stdio, &argv, &envp)
        }
        pid => Ok(Pid::from_raw(pid)),
    }
}

fn pointers(items: &[CString]) -> Vec<*const c_char> {
    let mut v: Vec<*const c_char> = items.iter().map(|s| s.as_ptr()).collect();
    v.push(std::ptr::null());
    v
}

/// Closes every descriptor from 3 up but `keep` (sorted): the caller's other
/// descriptors (sockets, other execs' pipes) must not stay open for as long as this
/// exec runs, or their peers would wait for an end of file.
fn close_others(keep: &[RawFd]) {
    let mut first: u32 = 3;
    for fd in keep.iter().filter_map(|fd| u32::try_from(*fd).ok()) {
        if fd > first {
            close_range(first, fd - 1);
        }
        first = first.max(fd.saturating_add(1));
    }
    close_range(first, u32::MAX);
}

fn close_range(first: u32, last: u32) {
    // SAFETY: close_range takes integers; the descriptors closed belong to this child's
    // copy of the table, and nothing in the child uses them.
    let _ = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) };
}

/// Writes `msg`, `: errno N` and a newline to `fd`, without allocating.
pub(super) fn report_to(fd: RawFd, msg: &[u8], errno: Option<Errno>) {
    let mut buf = [0u8; 256];
    let mut n = 0;
    let mut put = |bytes: &[u8]| {
        for b in bytes {
            if let Some(slot) = buf.get_mut(n) {
                *slot = *b;
                n += 1;
            }
        }
    };
    put(b"sifcri: exec: ");
    put(msg);
    if let Some(e) = errno {
        put(b": errno ");
        let mut digits = [0u8; 12];
        let mut i = digits.len();
        let mut v = (e as i32).unsigned_abs();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 || i == 0 {
                break;
            }
        }
        put(&digits[i..]);
    }
    put(b"\n");
    // SAFETY: `buf[..n]` is initialised stack memory; a failed write is ignored.
    let _ = unsafe { libc::write(fd, buf.as_ptr().cast(), n) };
}

pub(super) fn exit_now(code: i32) -> ! {
    // SAFETY: _exit ends the process at once, without atexit handlers or stdio
    // flushing (which belong to the parent's copy of the process).
    unsafe { libc::_exit(code) }
}

fn check(rc: libc::c_long) -> Result<(), Errno> {
    if rc < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

fn setns(fd: &OwnedFd, nstype: libc::c_int) -> Result<(), Errno> {
    // SAFETY: setns takes a live descriptor and an integer; it touches no memory.
    check(unsafe { libc::setns(fd.as_raw_fd(), nstype) }.into())
}

/// Joins the namespaces: those we may join from here first, then the user namespace,
/// then those refused before it (as `container::exec::join_all` does).
fn join(plan: &ChildPlan) -> Result<(), (&'static [u8], Errno)> {
    let mut later = [false; 8];
    for (i, (fd, t)) in plan.namespaces.iter().enumerate() {
        match setns(fd, *t) {
            Ok(()) => {}
            Err(Errno::EPERM) if plan.user_ns.is_some() && i < later.len() => later[i] = true,
            Err(e) => return Err((b"setns", e)),
        }
    }
    if let Some(u) = &plan.user_ns {
        setns(u, libc::CLONE_NEWUSER).map_err(|e| (&b"setns user"[..], e))?;
    }
    for (i, (fd, t)) in plan.namespaces.iter().enumerate() {
        if later.get(i).copied().unwrap_or(false) {
            setns(fd, *t).map_err(|e| (&b"setns"[..], e))?;
        }
    }
    Ok(())
}

/// The intermediate child: cgroups, namespaces, the process, its exit status.
fn intermediate(
    plan: &ChildPlan,
    stdio: [RawFd; 3],
    argv: &[*const c_char],
    envp: &[*const c_char],
) -> ! {
    // The parent's signal handlers (a runtime's SIGCHLD handler) must not run here.
    if super::reset_signals().is_err() {
        exit_now(126);
    }
    for fd in &plan.cgroup_procs {
        // SAFETY: writes two bytes of a static string to a live descriptor; "0" moves
        // the writing process.
        let _ = unsafe { libc::write(fd.as_raw_fd(), b"0\n".as_ptr().cast(), 2) };
    }
    if let Err((what, e)) = join(plan) {
        report_to(stdio[2], what, Some(e));
        exit_now(126);
    }
    // SAFETY: a raw clone with only SIGCHLD is fork without glibc's handlers; the child
    // runs `process`, which only makes raw calls on prepared memory and never returns.
    let pid = unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD, 0, 0, 0, 0) };
    match pid {
        -1 => {
            report_to(stdio[2], b"fork", Some(Errno::last()));
            exit_now(126)
        }
        0 => super::spawn_child::process(plan, stdio, argv, envp),
        pid => exit_now(wait_status(pid as libc::pid_t)),
    }
}

/// Waits for `pid`; its exit code, or 128 + signal.
fn wait_status(pid: libc::pid_t) -> i32 {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes one int to a live local.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            if libc::WIFEXITED(status) {
                return libc::WEXITSTATUS(status);
            }
            if libc::WIFSIGNALED(status) {
                return 128 + libc::WTERMSIG(status);
            }
        } else if rc < 0 && Errno::last() != Errno::EINTR {
            return 126;
        }
    }
}
