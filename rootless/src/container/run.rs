//! `run`: create, start, wait for the container's process, delete; the exit code of
//! the container's process becomes ours (128 + signal when killed).

use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;

use super::{Container, CreateOptions};
use crate::Error;

impl Container {
    /// Runs a container to completion and returns its exit code.
    pub fn run(opts: &CreateOptions) -> Result<i32, Error> {
        // init is forked by the intermediate process; as a subreaper we inherit it.
        nix::sys::prctl::set_child_subreaper(true).map_err(Error::sys("set child subreaper"))?;
        let container = Self::create(opts)?;
        if let Err(e) = container.start() {
            let _ = container.delete(true);
            return Err(e);
        }
        let pid = Pid::from_raw(container.pid().unwrap_or(0));
        let code = loop {
            match waitpid(pid, None) {
                Ok(WaitStatus::Exited(_, code)) => break code,
                Ok(WaitStatus::Signaled(_, sig, _)) => break 128 + sig as i32,
                Ok(_) | Err(nix::Error::EINTR) => continue,
                Err(e) => {
                    let _ = container.clone().delete(true);
                    return Err(Error::sys("wait for the container")(e));
                }
            }
        };
        container.delete(true)?;
        Ok(code)
    }
}
