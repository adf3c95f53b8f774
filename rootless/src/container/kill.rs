//! `kill`: sends a signal to the container's init (or, with `all`, to every process in
//! its cgroup).

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::{Container, Status};
use crate::Error;

impl Container {
    /// Sends `signal` to init; `all` also signals every process of the container's cgroup.
    pub fn kill(&self, signal: Signal, all: bool) -> Result<(), Error> {
        if !matches!(self.status(), Status::Created | Status::Running) {
            return Err(self.wrong("kill"));
        }
        let pid = Pid::from_raw(self.state.pid.unwrap_or(0));
        kill(pid, signal).map_err(Error::sys("kill"))?;
        if all {
            for p in self.state.cgroup.pids() {
                let _ = kill(p, signal);
            }
        }
        Ok(())
    }
}
