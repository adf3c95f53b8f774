//! The container's init: builds the root filesystem inside the new namespaces, reports
//! `Ready`, blocks until `start` writes to the exec fifo, then becomes the user process.

use std::convert::Infallible;
use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;

use oci_spec::runtime::LinuxNamespaceType;

use super::channel::Channel;
use super::message::Message;
use super::{ChildArgs, SetupError};
use crate::spec::Plan;

/// The task name init carries from its fork until it executes the user's program.
/// Signals sent to a pid namespace's init before that are dropped by the kernel (no
/// handler is installed yet), so `start` returns only once the name has changed.
pub(crate) const INIT_NAME: &std::ffi::CStr = c"sifcri-init";

/// Runs init's steps; only returns into the user's program, else exits.
pub(super) fn run(args: ChildArgs<'_>, chan: &Channel) -> ! {
    let ChildArgs {
        plan,
        id,
        fifo,
        console,
    } = args;
    // Until it executes the user's program, init is recognisable by name: `start`
    // waits for the name to change (see [`INIT_NAME`]).
    let _ = nix::sys::prctl::set_name(INIT_NAME);
    let err = match setup(plan, chan, console) {
        Ok(()) => {
            // Setup is reported; from here on errors can only go to the process's stderr.
            let Err(e) = wait_and_exec(plan, id, fifo);
            eprintln!("sifcri: container init: {e}");
            std::process::exit(127)
        }
        Err(e) => e,
    };
    let _ = chan.send(&Message::Error(err.to_string()));
    std::process::exit(1)
}

fn setup(plan: &Plan, chan: &Channel, console: Option<OwnedFd>) -> Result<(), SetupError> {
    nix::unistd::setsid().map_err(SetupError::sys("setsid"))?;
    let warn = |w: String| {
        let _ = chan.send(&Message::Warning(w));
    };
    let own_mount_ns = plan.namespaces.has(LinuxNamespaceType::Mount);
    if own_mount_ns {
        crate::rootfs::prepare(plan, &warn)?;
    }
    run_create_hooks(plan, chan)?;
    crate::rootfs::enter(plan, own_mount_ns, &warn)?;
    // sysctls go through /proc/sys before readonlyPaths makes it read-only.
    crate::rootfs::sysctl_and_names(plan)?;
    if own_mount_ns {
        crate::rootfs::finish(plan, &warn)?;
    }
    let process = plan.process();
    super::resolve_executable(process)?;
    if let Some(console) = console {
        crate::tty::setup_console(console, process.console_size().as_ref())?;
    } else if process.terminal().unwrap_or(false) {
        return Err(SetupError::Other(
            "process.terminal needs a --console-socket".into(),
        ));
    }
    for w in crate::rlimits::apply(process.rlimits().as_deref().unwrap_or_default()) {
        warn(w);
    }
    if let Some(w) = crate::rlimits::set_oom_score_adj(process.oom_score_adj()) {
        warn(w);
    }
    Ok(chan.send(&Message::Ready)?)
}

/// Runs createRuntime (in main) and createContainer (here) hooks, if the spec has any.
fn run_create_hooks(plan: &Plan, chan: &Channel) -> Result<(), SetupError> {
    let Some(hooks) = plan.spec.hooks().as_ref() else {
        return Ok(());
    };
    let runtime = hooks.create_runtime().as_deref().unwrap_or_default();
    let container = hooks.create_container().as_deref().unwrap_or_default();
    if runtime.is_empty() && container.is_empty() {
        return Ok(());
    }
    chan.send(&Message::CreateRuntimeHooks)?;
    let state = match chan.recv()? {
        Message::Continue { state } => state,
        other => return Err(SetupError::Other(format!("unexpected message {other:?}"))),
    };
    Ok(crate::hooks::run_all("createContainer", container, &state)?)
}

/// Blocks until `start`, runs startContainer hooks, then executes the user's program.
fn wait_and_exec(plan: &Plan, id: &str, fifo: OwnedFd) -> Result<Infallible, SetupError> {
    let mut fifo = File::from(fifo);
    let mut byte = [0u8; 1];
    loop {
        match fifo.read(&mut byte) {
            Ok(1) => break,
            Ok(_) => return Err(SetupError::Other("exec fifo closed before start".into())),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(SetupError::Other(format!("read exec fifo: {e}"))),
        }
    }
    drop(fifo);
    if let Some(hooks) = plan.spec.hooks().as_ref() {
        let start = hooks.start_container().as_deref().unwrap_or_default();
        if !start.is_empty() {
            let state =
                crate::hooks::state_json(plan, id, nix::unistd::getpid().as_raw(), "running");
            crate::hooks::run_all("startContainer", start, &state)?;
        }
    }
    let seccomp = plan
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref());
    super::exec_user(plan.process(), seccomp)
}
