//! The container's stdio as the CRI config asks for it: stdout and stderr on pipes
//! (always), stdin on a pipe held by the shim (`stdin: true`), or a terminal whose
//! master the shim holds (`tty: true`, received over a console socket from init).
//!
//! Input: `DIR/stdio.json`, written by the daemon at CreateContainer. Output: the
//! shim's ends of those descriptors, handed to the log copiers and the control hub.

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::fcntl::OFlag;
use serde::{Deserialize, Serialize};

use super::wire;

/// The file in the container directory holding the plan.
pub const STDIO_FILE: &str = "stdio.json";

/// How the container's stdio is wired (from the CRI container config).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StdioPlan {
    /// The container's stdin is a pipe the shim writes attach clients' input to.
    pub stdin: bool,
    /// Close that stdin when the first attach client that sent stdin leaves.
    pub stdin_once: bool,
    /// The container gets a terminal; its output is logged as stdout.
    pub tty: bool,
}

impl StdioPlan {
    /// The plan for a CRI container config.
    pub fn from_config(c: &proto::cri::ContainerConfig) -> StdioPlan {
        StdioPlan {
            stdin: c.stdin,
            stdin_once: c.stdin && c.stdin_once,
            tty: c.tty,
        }
    }

    /// Writes the plan into the container directory `dir`.
    pub fn save(&self, dir: &Path) -> Result<(), crate::state::Error> {
        crate::state::save_volatile(&dir.join(STDIO_FILE), self)
    }

    /// The plan saved in `dir`; none saved means plain pipes.
    pub fn load(dir: &Path) -> StdioPlan {
        std::fs::read(dir.join(STDIO_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }
}

/// The shim's ends, while the container is being created.
#[derive(Debug)]
pub struct Wiring {
    /// The container's stdin pipe, read end (made fd 0 during create).
    pub stdin_read: Option<OwnedFd>,
    /// Its write end, kept by the shim.
    pub stdin_write: Option<File>,
    /// The console socket init sends the pty master to, and its path.
    pub console: Option<(UnixListener, PathBuf)>,
    /// The container directory, open (the console path goes through it).
    _dir: File,
}

impl Wiring {
    /// Makes the pipe and the console socket the plan needs.
    pub fn new(plan: StdioPlan, dir: &Path) -> Result<Wiring, String> {
        let dir_file = File::open(dir).map_err(|e| format!("open {}: {e}", dir.display()))?;
        let (stdin_read, stdin_write) = if plan.stdin && !plan.tty {
            let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| format!("pipe: {e}"))?;
            (Some(r), Some(File::from(w)))
        } else {
            (None, None)
        };
        let console = if plan.tty {
            let path = wire::short_path(&dir_file, "console.sock");
            let _ = std::fs::remove_file(&path);
            let l = UnixListener::bind(&path).map_err(|e| format!("console socket: {e}"))?;
            Some((l, path))
        } else {
            None
        };
        Ok(Wiring {
            stdin_read,
            stdin_write,
            console,
            _dir: dir_file,
        })
    }

    /// The console socket path for `rootless::CreateOptions`.
    pub fn console_path(&self) -> Option<PathBuf> {
        self.console.as_ref().map(|(_, p)| p.clone())
    }

    /// Makes the stdin pipe our fd 0 (inherited by the container's init).
    pub fn install_stdin(&self) -> Result<(), String> {
        if let Some(r) = &self.stdin_read {
            nix::unistd::dup2_stdin(r).map_err(|e| format!("dup2 stdin: {e}"))?;
        }
        Ok(())
    }

    /// After create: takes the pty master init sent, and drops the console socket.
    pub fn take_master(&mut self) -> Result<Option<File>, String> {
        let Some((listener, path)) = self.console.take() else {
            return Ok(None);
        };
        let _ = std::fs::remove_file(&path);
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("console socket: {e}"))?;
        let (conn, _) = listener
            .accept()
            .map_err(|e| format!("init did not connect to the console socket: {e}"))?;
        let _ = conn.set_nonblocking(false);
        let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
        let master =
            rootless::receive_pty_master(&conn).map_err(|e| format!("receive the pty: {e}"))?;
        Ok(Some(File::from(master)))
    }
}

/// Points our fd 0 back at /dev/null (the container has its stdin now).
pub fn restore_stdin() {
    if let Ok(null) = File::open("/dev/null") {
        let _ = nix::unistd::dup2_stdin(null.as_fd());
    }
}
