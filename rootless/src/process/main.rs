//! The caller's side of container setup: fork the intermediate, put it in the
//! container's cgroup, answer its requests (id maps, hooks), and collect init's pid.

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid};

use super::channel::Channel;
use super::message::Message;
use super::{intermediate, ChildArgs, ProcessError};
use crate::Error;

/// What main needs besides the children's arguments.
pub(crate) struct Setup<'a> {
    /// The children's arguments.
    pub child: ChildArgs<'a>,
    /// The container's cgroups.
    pub cgroup: &'a crate::cgroups::Manager,
    /// Builds the state JSON handed to hooks, given init's pid.
    pub state_json: &'a dyn Fn(i32) -> String,
}

/// Runs the setup processes; returns init's pid once init waits for `start`.
pub(crate) fn spawn(setup: Setup<'_>) -> Result<Pid, Error> {
    let (ours, theirs) = Channel::pair()?;
    match crate::sys::fork().map_err(ProcessError::sys("fork intermediate"))? {
        ForkResult::Child => {
            drop(ours);
            intermediate::run(setup.child, theirs)
        }
        ForkResult::Parent { child } => {
            drop(theirs);
            let Setup {
                child: args,
                cgroup,
                state_json,
            } = setup;
            drop(args.fifo);
            drop(args.console);
            let mut init = None;
            let result = drive(&ours, child, &mut init, (args.plan, cgroup, state_json));
            if result.is_err() {
                let _ = kill(child, Signal::SIGKILL);
                if let Some(pid) = init {
                    let _ = kill(pid, Signal::SIGKILL);
                }
                let _ = waitpid(child, None);
            }
            result
        }
    }
}

type DriveArgs<'a> = (
    &'a crate::spec::Plan,
    &'a crate::cgroups::Manager,
    &'a dyn Fn(i32) -> String,
);

fn drive(
    chan: &Channel,
    child: Pid,
    init: &mut Option<Pid>,
    args: DriveArgs<'_>,
) -> Result<Pid, Error> {
    let (plan, cgroup, state_json) = args;
    cgroup.add(child)?;
    chan.send(&Message::InCgroup)?;
    loop {
        match chan.recv()? {
            Message::MapRequest => {
                let ns = &plan.namespaces;
                crate::userns::write_maps(child, &ns.uid_maps, &ns.gid_maps, plan.privileged)
                    .map_err(ProcessError::from)?;
                chan.send(&Message::Mapped)?;
            }
            Message::InitPid(pid) => {
                *init = Some(Pid::from_raw(pid));
                let _ = waitpid(child, None);
            }
            Message::CreateRuntimeHooks => {
                let pid = init.map_or(0, Pid::as_raw);
                let state = state_json(pid);
                let hooks = plan
                    .spec
                    .hooks()
                    .as_ref()
                    .and_then(|h| h.create_runtime().as_ref());
                crate::hooks::run_all("createRuntime", hooks.map_or(&[][..], |h| h), &state)?;
                chan.send(&Message::Continue { state })?;
            }
            Message::Warning(w) => tracing::warn!("{w}"),
            Message::Ready => {
                return init
                    .ok_or_else(|| ProcessError::Protocol("ready before init pid".into()).into())
            }
            Message::Error(e) => return Err(ProcessError::Setup(e).into()),
            other => return Err(ProcessError::Protocol(format!("unexpected {other:?}")).into()),
        }
    }
}
