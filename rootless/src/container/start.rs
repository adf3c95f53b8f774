//! `start`: releases the init that `create` left blocked on the exec fifo, then runs
//! the poststart hooks.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use super::{Container, Status};
use crate::Error;

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
        self.run_hooks("poststart", |h| h.poststart().clone());
        Ok(())
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
