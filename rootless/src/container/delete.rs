//! `delete`: removes a stopped (or, with `force`, any) container: kills what is left,
//! removes its cgroups, runs poststop hooks and removes its state directory.

use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::{Container, Status};
use crate::Error;

impl Container {
    /// Deletes the container. A running one needs `force` (it is killed first).
    pub fn delete(self, force: bool) -> Result<(), Error> {
        match self.status() {
            Status::Running if !force => return Err(self.wrong("delete (use --force)")),
            Status::Created | Status::Running => self.kill_and_wait()?,
            Status::Creating | Status::Stopped => {}
        }
        let errors = self.state.cgroup.remove();
        self.run_hooks("poststop", |h| h.poststop().clone());
        std::fs::remove_dir_all(&self.dir).map_err(Error::io("remove state", &self.dir))?;
        match errors.into_iter().next() {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    /// SIGKILLs init and the cgroup's processes, and waits until init is gone.
    fn kill_and_wait(&self) -> Result<(), Error> {
        let pid = Pid::from_raw(self.state.pid.unwrap_or(0));
        let _ = kill(pid, Signal::SIGKILL);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            for p in self.state.cgroup.pids() {
                let _ = kill(p, Signal::SIGKILL);
            }
            // Reap it if it is our child (run, or a monitor that created it).
            let _ = nix::sys::wait::waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG));
            if !self.init_alive() && self.state.cgroup.pids().is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::InvalidArgument(format!(
                    "container {} did not die after SIGKILL",
                    self.id()
                )));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
