//! `run`: create, start, wait for the container's process, delete; the exit code of
//! the container's process becomes ours (128 + signal when killed). Signals sent to
//! the runtime meanwhile (INT, TERM, HUP, QUIT, USR1, USR2) are forwarded to init.

use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::{Container, CreateOptions};
use crate::Error;

const FORWARDED: [Signal; 6] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

impl Container {
    /// Runs a container to completion and returns its exit code.
    pub fn run(opts: &CreateOptions) -> Result<i32, Error> {
        // init is forked by the intermediate process; as a subreaper we inherit it.
        nix::sys::prctl::set_child_subreaper(true).map_err(Error::sys("set child subreaper"))?;
        let container = Self::create(opts)?;
        let mut set = SigSet::empty();
        FORWARDED
            .iter()
            .chain(&[Signal::SIGCHLD])
            .for_each(|s| set.add(*s));
        // Blocked after create: the container's processes were forked with the old mask.
        set.thread_block().map_err(Error::sys("block signals"))?;
        let result = container
            .start()
            .and_then(|()| wait_forwarding(&container, &set));
        let _ = set.thread_unblock();
        let deleted = container.delete(true);
        let code = result?;
        deleted.map(|()| code)
    }
}

/// Waits for init, forwarding signals; reaps any other orphan handed to us.
fn wait_forwarding(container: &Container, set: &SigSet) -> Result<i32, Error> {
    let init = Pid::from_raw(container.pid().unwrap_or(0));
    loop {
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == init => return Ok(code),
                Ok(WaitStatus::Signaled(pid, sig, _)) if pid == init => return Ok(128 + sig as i32),
                Ok(WaitStatus::StillAlive) => break,
                Ok(_) => continue,
                Err(nix::Error::EINTR) => continue,
                Err(e) => return Err(Error::sys("wait for the container")(e)),
            }
        }
        let sig = set.wait().map_err(Error::sys("wait for signals"))?;
        if sig != Signal::SIGCHLD {
            let _ = kill(init, sig);
        }
    }
}
