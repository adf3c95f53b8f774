//! `start`: releases the init that `create` left blocked on the exec fifo, then runs
//! the poststart hooks.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

use super::{Container, Status};
use crate::Error;

/// How long `start` waits for init to execute the user's program (startContainer
/// hooks run before that).
const EXEC_WAIT: Duration = Duration::from_secs(10);

impl Container {
    /// Starts the user's process of a created container.
    pub fn start(&self) -> Result<(), Error> {
        if self.status() != Status::Created {
            return Err(self.wrong("start"));
        }
        let fifo = self.fifo();
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&fifo)
            .map_err(Error::io("open exec fifo (is init gone?)", &fifo))?;
        f.write_all(b"0")
            .map_err(Error::io("write exec fifo", &fifo))?;
        drop(f);
        std::fs::remove_file(&fifo).map_err(Error::io("remove exec fifo", &fifo))?;
        self.wait_exec();
        self.run_hooks("poststart", |h| h.poststart().clone());
        Ok(())
    }

    /// Waits (at most [`EXEC_WAIT`]) until init has executed the user's program, so
    /// that a signal sent right after `start` reaches the program and is not dropped
    /// by the kernel as one sent to a pid namespace's init without a handler.
    fn wait_exec(&self) {
        let Some(pid) = self.pid() else { return };
        let stat = format!("/proc/{pid}/stat");
        let init = crate::process::INIT_NAME.to_bytes();
        let deadline = Instant::now() + EXEC_WAIT;
        while Instant::now() < deadline {
            let Ok(s) = std::fs::read(&stat) else { return };
            // "PID (COMM) STATE ...": COMM may itself contain parentheses.
            let name = match (
                s.iter().position(|&b| b == b'('),
                s.iter().rposition(|&b| b == b')'),
            ) {
                (Some(a), Some(b)) if a < b => &s[a + 1..b],
                _ => return,
            };
            if name != init {
                return;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    }

    /// Runs a hook list of the saved spec; failures are logged, not returned.
    pub(super) fn run_hooks(
        &self,
        kind: &'static str,
        pick: impl Fn(&oci_spec::runtime::Hooks) -> Option<Vec<oci_spec::runtime::Hook>>,
    ) {
        let Ok(spec) = crate::spec::parse(&self.dir.join("config.json")) else {
            return;
        };
        let Some(hooks) = spec.hooks().as_ref().and_then(pick) else {
            return;
        };
        let state = self.state().to_string();
        if let Err(e) = crate::hooks::run_all(kind, &hooks, &state) {
            tracing::warn!(id = self.id(), "{e}");
        }
    }
}
