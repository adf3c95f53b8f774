//! The last child of [`super::spawn`]: sets the process up from its prepared
//! [`ChildPlan`] with raw system calls only, in `process::finalize`'s order, and
//! executes it.

use std::ffi::c_char;
use std::os::fd::RawFd;

use nix::errno::Errno;

use super::spawn::{CapMasks, ChildPlan};

type Step = Result<(), (&'static [u8], Errno)>;

fn sys(what: &'static [u8], rc: libc::c_long) -> Step {
    if rc < 0 {
        Err((what, Errno::last()))
    } else {
        Ok(())
    }
}

/// Sets up and executes the process; never returns (exit 127 on failure).
pub(super) fn process(
    plan: &ChildPlan,
    stdio: [RawFd; 3],
    argv: &[*const c_char],
    envp: &[*const c_char],
) -> ! {
    if let Err((what, e)) = setup(plan, stdio) {
        super::spawn::report_to(stdio[2], what, Some(e));
        super::spawn::exit_now(127);
    }
    let mut last = Errno::ENOENT;
    for path in &plan.candidates {
        // SAFETY: `path`, `argv` and `envp` are NUL-terminated strings and
        // null-terminated pointer arrays made before the fork and still alive here.
        unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
        let e = Errno::last();
        if e != Errno::ENOENT && e != Errno::ENOTDIR {
            last = e;
        }
    }
    // stdio is already in place: fd 2 is the caller's stderr.
    if last == Errno::ENOENT {
        super::spawn::report_to(2, &plan.not_found, None);
    } else {
        super::spawn::report_to(2, b"execve", Some(last));
    }
    super::spawn::exit_now(127)
}

fn setup(plan: &ChildPlan, stdio: [RawFd; 3]) -> Step {
    nix::unistd::setsid().map_err(|e| (&b"setsid"[..], e))?;
    for (target, fd) in (0..).zip(stdio) {
        let rc = if fd == target {
            // SAFETY: fcntl with integer arguments clears FD_CLOEXEC on a live fd.
            unsafe { libc::fcntl(target, libc::F_SETFD, 0) }
        } else {
            // SAFETY: dup2 with two integers; `target` (0, 1 or 2) is replaced.
            unsafe { libc::dup2(fd, target) }
        };
        sys(b"dup2", rc.into())?;
    }
    if plan.ctty {
        // SAFETY: TIOCSCTTY with an integer argument on fd 0, which is live (just set).
        let rc = unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) };
        sys(b"TIOCSCTTY", rc.into())?;
    }
    for (res, soft, hard) in &plan.rlimits {
        set_rlimit(*res, *soft, *hard);
    }
    if let (false, Some(f)) = (plan.no_new_privs, &plan.seccomp) {
        load_seccomp(f)?;
    }
    if let Some(keep) = plan.bounding {
        drop_bounding(keep, plan.last_cap)?;
    }
    set_user(plan)?;
    if let Some(c) = &plan.caps {
        apply_caps(c, plan.last_cap)?;
    }
    if plan.no_new_privs {
        nix::sys::prctl::set_no_new_privs().map_err(|e| (&b"set no_new_privs"[..], e))?;
        if let Some(f) = &plan.seccomp {
            load_seccomp(f)?;
        }
    }
    if let Some(mask) = plan.umask {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    nix::unistd::chdir(plan.cwd.as_c_str()).map_err(|e| (&b"chdir"[..], e))?;
    super::cloexec_from(3).map_err(|e| (&b"close_range"[..], e))
}

/// Drops every capability of the bounding set that is not in `keep`.
fn drop_bounding(keep: u64, last_cap: u8) -> Step {
    for cap in 0..=last_cap {
        let cap_arg = libc::c_ulong::from(cap);
        // SAFETY: prctl with integer arguments only.
        let held = unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap_arg) } == 1;
        if keep & (1u64 << cap) == 0 && held {
            // SAFETY: prctl with integer arguments only.
            let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap_arg) };
            sys(b"drop bounding capability", rc.into())?;
        }
    }
    Ok(())
}

/// Sets a limit; one whose hard limit cannot be raised degrades to the current hard
/// limit (as `rlimits::apply` does).
fn set_rlimit(res: libc::c_int, soft: u64, hard: u64) {
    let new = libc::rlimit64 {
        rlim_cur: soft,
        rlim_max: hard,
    };
    let mut old = libc::rlimit64 {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: prlimit64 on ourselves (pid 0) reads `new` and writes `old`, both live locals.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_prlimit64,
            0,
            res,
            &new,
            std::ptr::null_mut::<libc::rlimit64>(),
        )
    };
    if rc < 0 && Errno::last() == Errno::EPERM {
        // SAFETY: as above; reads the current limits into `old`.
        unsafe {
            libc::syscall(
                libc::SYS_prlimit64,
                0,
                res,
                std::ptr::null::<libc::rlimit64>(),
                &mut old,
            )
        };
        let fallback = libc::rlimit64 {
            rlim_cur: soft.min(old.rlim_max),
            rlim_max: old.rlim_max,
        };
        // SAFETY: as above.
        unsafe {
            libc::syscall(
                libc::SYS_prlimit64,
                0,
                res,
                &fallback,
                std::ptr::null_mut::<libc::rlimit64>(),
            )
        };
    }
}

fn load_seccomp(filter: &[libc::sock_filter]) -> Step {
    let prog = libc::sock_fprog {
        len: filter.len() as libc::c_ushort,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: the kernel copies the program from `prog`, which points to the plan's
    // live instruction array of `len` entries.
    let rc = unsafe { libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &prog) };
    sys(b"load seccomp filter", rc.into())
}

/// Groups, gid and uid, keeping capabilities across the uid change.
fn set_user(plan: &ChildPlan) -> Step {
    nix::sys::prctl::set_keepcaps(true).map_err(|e| (&b"prctl keepcaps"[..], e))?;
    let groups = plan.groups.as_ptr();
    // SAFETY: setgroups reads `len` gids from the plan's live array.
    let rc = unsafe { libc::syscall(libc::SYS_setgroups, plan.groups.len(), groups) };
    if rc < 0 && !(Errno::last() == Errno::EPERM && plan.groups_optional) {
        return Err((&b"setgroups"[..], Errno::last()));
    }
    let (g, u) = (plan.gid, plan.uid);
    // SAFETY: raw setresgid with integers: only this thread exists in the child.
    let rc = unsafe { libc::syscall(libc::SYS_setresgid, g, g, g) };
    sys(b"setresgid (is the gid mapped?)", rc)?;
    // SAFETY: raw setresuid with integers, as above.
    let rc = unsafe { libc::syscall(libc::SYS_setresuid, u, u, u) };
    sys(b"setresuid (is the uid mapped?)", rc)?;
    nix::sys::prctl::set_keepcaps(false).map_err(|e| (&b"prctl keepcaps"[..], e))
}

/// Effective, permitted and inheritable in one capset, then the ambient set.
fn apply_caps(c: &CapMasks, last_cap: u8) -> Step {
    const VERSION_3: u32 = 0x2008_0522;
    let header = [VERSION_3, 0u32];
    let lo = |m: u64| (m & 0xffff_ffff) as u32;
    let hi = |m: u64| (m >> 32) as u32;
    let data = [
        [lo(c.effective), lo(c.permitted), lo(c.inheritable)],
        [hi(c.effective), hi(c.permitted), hi(c.inheritable)],
    ];
    // SAFETY: capset reads a v3 header and two data structs (three u32 each), all live
    // locals laid out as the kernel expects.
    let rc = unsafe { libc::syscall(libc::SYS_capset, header.as_ptr(), data.as_ptr()) };
    sys(b"capset", rc)?;
    let clear = libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong;
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_CAP_AMBIENT, clear, 0, 0, 0) };
    sys(b"clear ambient capabilities", rc.into())?;
    for cap in 0..=last_cap {
        if c.ambient & (1u64 << cap) != 0 {
            let raise = libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong;
            // SAFETY: prctl with integer arguments only.
            let rc =
                unsafe { libc::prctl(libc::PR_CAP_AMBIENT, raise, libc::c_ulong::from(cap), 0, 0) };
            sys(b"raise ambient capability", rc.into())?;
        }
    }
    Ok(())
}
