//! A prepared exec: everything [`Container::exec_spawn`] works out in its children —
//! the process settings with the caller's overrides, the namespaces and cgroups to
//! join, the compiled seccomp program, the capability masks, the candidate paths of
//! the program — made in the caller, so that [`PreparedExec::spawn`] may be called
//! from a multi-threaded process (the CRI daemon) and needs no new runtime process.
//! With `tty` the caller opens the terminal (a pty of the container's own devpts) and
//! passes its slave as stdio; it becomes the process's controlling terminal.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::unistd::Pid;
use oci_spec::runtime::{LinuxCapabilities, Process};

use super::exec::{exec_process, open_namespaces};
use super::{Container, ExecOptions, Status};
use crate::sys::spawn::{CapMasks, ChildPlan};
use crate::Error;

/// A process ready to be started in a running container.
#[derive(Debug)]
pub struct PreparedExec {
    plan: ChildPlan,
}

impl Container {
    /// Prepares `opts` for [`PreparedExec::spawn`] (with `opts.tty`, the stdio given to
    /// it must be a terminal's slave; `opts.console_socket` is not used).
    pub fn prepare_exec(&self, opts: &ExecOptions) -> Result<PreparedExec, Error> {
        if self.status() != Status::Running {
            return Err(self.wrong("exec"));
        }
        let spec = crate::spec::parse(&self.dir.join("config.json"))?;
        let process = exec_process(&spec, opts)?;
        let pid = self.state.pid.unwrap_or(0);
        let mut namespaces = Vec::new();
        let mut user_ns = None;
        for (file, flag) in open_namespaces(pid)? {
            if flag == nix::sched::CloneFlags::CLONE_NEWUSER {
                user_ns = Some(OwnedFd::from(file));
            } else {
                namespaces.push((OwnedFd::from(file), flag.bits()));
            }
        }
        let seccomp = spec.linux().as_ref().and_then(|l| l.seccomp().clone());
        let seccomp = seccomp
            .map(|s| crate::seccomp::compile(&s).and_then(|f| f.program()))
            .transpose()?;
        let caps = process.capabilities().as_ref();
        let user = process.user();
        let groups: Vec<libc::gid_t> = user.additional_gids().clone().unwrap_or_default();
        let denied = std::fs::read_to_string(format!("/proc/{pid}/setgroups"))
            .is_ok_and(|s| s.trim() == "deny");
        let plan = ChildPlan {
            cgroup_procs: cgroup_procs(self),
            namespaces,
            user_ns,
            rlimits: rlimits(&process),
            seccomp,
            no_new_privs: process.no_new_privileges().unwrap_or(false),
            bounding: caps.map(|c| mask(c.bounding().as_ref())),
            last_cap: crate::capabilities::last_cap(),
            caps: caps.map(cap_masks),
            uid: user.uid(),
            gid: user.gid(),
            groups_optional: groups.is_empty() || denied,
            groups,
            umask: user.umask(),
            cwd: cstring(process.cwd().as_os_str().as_encoded_bytes())?,
            candidates: candidates(&process)?,
            argv: cstrings(process.args().as_deref().unwrap_or_default())?,
            envp: cstrings(process.env().as_deref().unwrap_or_default())?,
            not_found: not_found(&process),
            ctty: opts.tty,
        };
        Ok(PreparedExec { plan })
    }
}

impl PreparedExec {
    /// Starts the process with `stdio` as its stdin, stdout and stderr; returns the
    /// pid of our child that mirrors its exit status (exit code, or 128 + signal; 126
    /// when the container could not be joined, 127 when the program could not be set
    /// up or run, with a message on its stderr). The caller reaps it ([`super::wait_code`]).
    pub fn spawn(&self, stdio: [BorrowedFd<'_>; 3]) -> Result<Pid, Error> {
        // Descriptors 0-2 are replaced in the child: move ours out of the way first.
        let high: Vec<OwnedFd> = stdio
            .iter()
            .map(|fd| fd.try_clone_to_owned())
            .collect::<Result<_, _>>()
            .map_err(|e| Error::InvalidArgument(format!("dup stdio: {e}")))?;
        let raw = [0, 1, 2].map(|i| high.get(i).map_or(-1, AsRawFd::as_raw_fd));
        crate::sys::spawn::spawn(&self.plan, raw).map_err(Error::sys("fork"))
    }
}

/// The container's `cgroup.procs` files, open for writing (those that open).
fn cgroup_procs(c: &Container) -> Vec<OwnedFd> {
    let m = c.cgroup();
    let dirs = m.v1.iter().map(|(_, d)| d).chain(m.v2.iter());
    dirs.filter_map(|d| {
        let f: std::io::Result<File> = OpenOptions::new().write(true).open(d.join("cgroup.procs"));
        f.ok().map(OwnedFd::from)
    })
    .collect()
}

fn rlimits(process: &Process) -> Vec<(libc::c_int, u64, u64)> {
    let limits = process.rlimits().as_deref().unwrap_or_default();
    limits
        .iter()
        .map(|l| {
            (
                crate::rlimits::resource(l.typ()) as libc::c_int,
                l.soft(),
                l.hard(),
            )
        })
        .collect()
}

fn mask(set: Option<&oci_spec::runtime::Capabilities>) -> u64 {
    crate::capabilities::convert(set)
        .iter()
        .fold(0, |m, c| m | c.bitmask())
}

fn cap_masks(c: &LinuxCapabilities) -> CapMasks {
    let supported = crate::capabilities::last_cap();
    let only = |m: u64| match 1u64.checked_shl(u32::from(supported) + 1) {
        Some(limit) => m & (limit - 1),
        None => m,
    };
    let (permitted, inheritable) = (
        only(mask(c.permitted().as_ref())),
        only(mask(c.inheritable().as_ref())),
    );
    CapMasks {
        effective: only(mask(c.effective().as_ref())),
        permitted,
        inheritable,
        // Only what is both permitted and inheritable may be ambient (as runc).
        ambient: only(mask(c.ambient().as_ref())) & permitted & inheritable,
    }
}

/// The paths to try: a program with a slash as is (relative to the cwd), else each
/// directory of the process's `PATH`.
fn candidates(process: &Process) -> Result<Vec<CString>, Error> {
    let arg0 = process
        .args()
        .as_ref()
        .and_then(|a| a.first())
        .map_or("", String::as_str);
    if arg0.contains('/') {
        return Ok(vec![cstring(
            process.cwd().join(arg0).as_os_str().as_encoded_bytes(),
        )?]);
    }
    let env = process.env().as_deref().unwrap_or_default();
    let path_var = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    path_var
        .split(':')
        .map(|dir| cstring(Path::new(dir).join(arg0).as_os_str().as_encoded_bytes()))
        .collect()
}

fn not_found(process: &Process) -> Vec<u8> {
    let arg0 = process
        .args()
        .as_ref()
        .and_then(|a| a.first())
        .map_or("", String::as_str);
    format!("process.args[0]: executable {arg0:?} not found in the container (checked PATH)")
        .into_bytes()
}

fn cstrings(items: &[String]) -> Result<Vec<CString>, Error> {
    items.iter().map(|s| cstring(s.as_bytes())).collect()
}

fn cstring(bytes: &[u8]) -> Result<CString, Error> {
    CString::new(bytes)
        .map_err(|_| Error::InvalidArgument("argument or environment contains a NUL byte".into()))
}
