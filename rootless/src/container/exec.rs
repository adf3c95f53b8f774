//! `exec`: runs another process in a running container — its namespaces joined through
//! /proc/PID/ns, its cgroups, and the container's process settings (env, user, caps,
//! seccomp) with the caller's overrides.

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use nix::sched::CloneFlags;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{ForkResult, Pid};
use oci_spec::runtime::{Process, Spec};

use super::{Container, Status};
use crate::Error;

/// What `exec` runs.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// The program and its arguments.
    pub args: Vec<String>,
    /// `KEY=VALUE` pairs added to (or replacing in) the container's environment.
    pub env: Vec<String>,
    /// The working directory (default: the container's).
    pub cwd: Option<PathBuf>,
    /// `uid` and optional `gid` (default: the container's user).
    pub user: Option<(u32, Option<u32>)>,
    /// Give the process a terminal, sent to `console_socket`.
    pub tty: bool,
    /// Receives the terminal's master fd.
    pub console_socket: Option<PathBuf>,
}

/// Namespaces joined by exec, in order: user first (for the rights), mount last.
const NAMESPACES: [(&str, CloneFlags); 7] = [
    ("user", CloneFlags::CLONE_NEWUSER),
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("net", CloneFlags::CLONE_NEWNET),
    ("pid", CloneFlags::CLONE_NEWPID),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
    ("mnt", CloneFlags::CLONE_NEWNS),
];

impl Container {
    /// Runs a process in the container and returns its exit code.
    pub fn exec(&self, opts: &ExecOptions) -> Result<i32, Error> {
        wait_code(self.exec_spawn(opts)?)
    }

    /// Starts a process in the container and returns the pid of our child that
    /// mirrors its exit status (exit code, or 128 + signal); the caller waits for it.
    /// The child inherits the caller's stdin, stdout and stderr.
    pub fn exec_spawn(&self, opts: &ExecOptions) -> Result<Pid, Error> {
        if self.status() != Status::Running {
            return Err(self.wrong("exec"));
        }
        let spec = crate::spec::parse(&self.dir.join("config.json"))?;
        let process = exec_process(&spec, opts)?;
        let pid = self.state.pid.unwrap_or(0);
        let namespaces = open_namespaces(pid)?;
        let console = match &opts.console_socket {
            Some(p) => Some(
                crate::tty::connect_console(p).map_err(Error::io("connect console socket", p))?,
            ),
            None if opts.tty => {
                return Err(Error::InvalidArgument(
                    "--tty needs --console-socket".into(),
                ))
            }
            None => None,
        };
        let seccomp = spec.linux().as_ref().and_then(|l| l.seccomp().clone());
        match crate::sys::fork().map_err(Error::sys("fork"))? {
            ForkResult::Child => {
                let _ = self.state.cgroup.add(nix::unistd::getpid());
                let code = match join_and_run(&namespaces, &process, seccomp.as_ref(), console) {
                    Ok(code) => code,
                    Err(e) => {
                        eprintln!("sifcri: exec: {e}");
                        126
                    }
                };
                std::process::exit(code)
            }
            ForkResult::Parent { child } => Ok(child),
        }
    }
}

/// The container's process with the caller's overrides.
pub(super) fn exec_process(spec: &Spec, opts: &ExecOptions) -> Result<Process, Error> {
    let mut process = spec.process().clone().unwrap_or_default();
    process.set_args(Some(opts.args.clone()));
    let mut env = process.env().clone().unwrap_or_default();
    for kv in &opts.env {
        let key = kv.split_once('=').map_or(kv.as_str(), |(k, _)| k);
        env.retain(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) != key);
        env.push(kv.clone());
    }
    process.set_env(Some(env));
    if let Some(cwd) = &opts.cwd {
        process.set_cwd(cwd.clone());
    }
    if let Some((uid, gid)) = opts.user {
        let mut user = process.user().clone();
        user.set_uid(uid);
        user.set_gid(gid.unwrap_or(uid));
        user.set_additional_gids(None);
        process.set_user(user);
    }
    process.set_terminal(Some(opts.tty));
    crate::spec::validate_process(&process)?;
    Ok(process)
}

/// Opens the namespaces of `pid` that differ from ours.
pub(super) fn open_namespaces(pid: i32) -> Result<Vec<(File, CloneFlags)>, Error> {
    let mut out = Vec::new();
    for (name, flag) in NAMESPACES {
        let theirs = PathBuf::from(format!("/proc/{pid}/ns/{name}"));
        let ours = PathBuf::from(format!("/proc/self/ns/{name}"));
        let (Ok(t), Ok(o)) = (std::fs::metadata(&theirs), std::fs::metadata(&ours)) else {
            continue;
        };
        if t.ino() != o.ino() || t.dev() != o.dev() {
            out.push((
                File::open(&theirs).map_err(Error::io("open namespace", &theirs))?,
                flag,
            ));
        }
    }
    Ok(out)
}

/// Joins every namespace. Those we may join from here come first: a daemon that is
/// root in a user namespace of its own has a pod's network namespace owned by that
/// user namespace, which it could no longer join from inside the container's child
/// user namespace. The rest (the only way for an ordinary user in the initial user
/// namespace, who lacks CAP_SYS_ADMIN there) are joined after the user namespace.
fn join_all(namespaces: &[(File, CloneFlags)]) -> Result<(), Error> {
    let mut later = Vec::new();
    let user = namespaces
        .iter()
        .find(|(_, f)| *f == CloneFlags::CLONE_NEWUSER);
    for (file, flag) in namespaces
        .iter()
        .filter(|(_, f)| *f != CloneFlags::CLONE_NEWUSER)
    {
        match nix::sched::setns(file.as_fd(), *flag) {
            Ok(()) => {}
            Err(nix::Error::EPERM) if user.is_some() => later.push((file, *flag)),
            Err(e) => return Err(Error::sys("setns")(e)),
        }
    }
    if let Some((file, flag)) = user {
        nix::sched::setns(file.as_fd(), *flag).map_err(Error::sys("setns user"))?;
    }
    for (file, flag) in later {
        nix::sched::setns(file.as_fd(), flag).map_err(Error::sys("setns"))?;
    }
    Ok(())
}

/// In the forked child: join, fork once more (a pid namespace applies to children), run.
fn join_and_run(
    namespaces: &[(File, CloneFlags)],
    process: &Process,
    seccomp: Option<&oci_spec::runtime::LinuxSeccomp>,
    console: Option<std::os::fd::OwnedFd>,
) -> Result<i32, Error> {
    join_all(namespaces)?;
    match crate::sys::fork().map_err(Error::sys("fork"))? {
        ForkResult::Child => {
            let result = (|| {
                nix::unistd::setsid().map_err(crate::process::SetupError::sys("setsid"))?;
                if let Some(console) = console {
                    crate::tty::setup_console(console, process.console_size().as_ref())?;
                }
                crate::rlimits::apply(process.rlimits().as_deref().unwrap_or_default());
                crate::process::exec_user(process, seccomp)
            })();
            let Err(e) = result;
            eprintln!("sifcri: exec: {e}");
            std::process::exit(127)
        }
        ForkResult::Parent { child } => wait_code(child),
    }
}

/// Waits for a child; its exit code, or 128 + signal.
pub fn wait_code(child: Pid) -> Result<i32, Error> {
    loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(code),
            Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(128 + sig as i32),
            Ok(_) | Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(Error::sys("wait")(e)),
        }
    }
}
