//! The intermediate process: enters the user namespace (asking main to write its id
//! maps), creates or joins the other namespaces, forks init and reports its pid.

use std::io::{Read, Write};

use nix::sched::{unshare, CloneFlags};
use nix::unistd::{setresgid, setresuid, ForkResult, Gid, Uid};
use oci_spec::runtime::LinuxNamespaceType;

use super::channel::Channel;
use super::message::Message;
use super::{init, ChildArgs, SetupError};

/// Runs the intermediate step and exits the process.
pub(super) fn run(args: ChildArgs<'_>, chan: Channel) -> ! {
    match steps(args, &chan) {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            let _ = chan.send(&Message::Error(e.to_string()));
            std::process::exit(1)
        }
    }
}

fn steps(args: ChildArgs<'_>, chan: &Channel) -> Result<(), SetupError> {
    // Wait until main has put us in the container's cgroups, so init inherits them.
    chan.expect(&Message::InCgroup)?;
    let ns = &args.plan.namespaces;
    if let Some(path) = ns.user_path() {
        crate::namespaces::join(path, CloneFlags::CLONE_NEWUSER)?;
        become_root()?;
        ns.join_others()?;
    } else if ns.creates(LinuxNamespaceType::User) {
        // Join first (as runc does): a namespace owned by our current user namespace
        // (a pod's network namespace of a daemon that runs in a user namespace of its
        // own) can no longer be joined from inside a child user namespace.
        ns.join_others()?;
        unshare(CloneFlags::CLONE_NEWUSER).map_err(SetupError::sys("unshare user namespace"))?;
        chan.send(&Message::MapRequest)?;
        chan.expect(&Message::Mapped)?;
        become_root()?;
    } else {
        ns.join_others()?;
    }
    ns.unshare_others()?;
    // init waits on this pipe until main has its pid, so `Ready` never overtakes `InitPid`.
    let (gate_r, gate_w) = nix::unistd::pipe().map_err(SetupError::sys("pipe"))?;
    match crate::sys::fork().map_err(SetupError::sys("fork init"))? {
        ForkResult::Child => {
            drop(gate_w);
            let mut byte = [0u8; 1];
            let _ = std::fs::File::from(gate_r).read(&mut byte);
            init::run(args, chan)
        }
        ForkResult::Parent { child } => {
            drop(gate_r);
            chan.send(&Message::InitPid(child.as_raw()))?;
            std::fs::File::from(gate_w)
                .write_all(b"1")
                .map_err(|e| SetupError::Other(format!("release init: {e}")))
        }
    }
}

/// Becomes root of the (new or joined) user namespace.
fn become_root() -> Result<(), SetupError> {
    let root = Gid::from_raw(0);
    setresgid(root, root, root).map_err(SetupError::sys("setresgid 0 (is gid 0 mapped?)"))?;
    let root = Uid::from_raw(0);
    setresuid(root, root, root).map_err(SetupError::sys("setresuid 0 (is uid 0 mapped?)"))
}
