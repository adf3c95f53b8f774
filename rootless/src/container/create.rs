//! `create`: validates the bundle, claims the id in the state root, makes the cgroups,
//! runs the setup processes and records init's pid; init then waits for `start`.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::Mode;

use super::Container;
use crate::cgroups::Manager;
use crate::process::{ChildArgs, Setup};
use crate::spec::Plan;
use crate::state::{validate_id, StateFile};
use crate::Error;

/// What `create` needs.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// The state root (see [`crate::default_state_root`]).
    pub root: PathBuf,
    /// The container id.
    pub id: String,
    /// The bundle directory.
    pub bundle: PathBuf,
    /// A unix socket to receive the terminal's master fd (process.terminal).
    pub console_socket: Option<PathBuf>,
    /// Where to write init's pid.
    pub pid_file: Option<PathBuf>,
}

/// Removes a half-made container unless disarmed.
struct Guard<'a> {
    dir: &'a Path,
    cgroup: Option<Manager>,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if let Some(c) = &self.cgroup {
            c.remove();
        }
        let _ = std::fs::remove_dir_all(self.dir);
    }
}

impl Container {
    /// Creates the container; returns once its init waits for `start`.
    pub fn create(opts: &CreateOptions) -> Result<Self, Error> {
        validate_id(&opts.id)?;
        let plan = Plan::load(&opts.bundle)?;
        let dir = claim(&opts.root, &opts.id)?;
        let mut guard = Guard {
            dir: &dir,
            cgroup: None,
        };
        crate::state::write_atomic(
            &dir.join("config.json"),
            &serde_json::to_vec(&plan.spec).unwrap_or_default(),
        )?;
        let linux = plan.spec.linux().as_ref();
        let (cgroup, warnings) = Manager::create(
            linux.and_then(|l| l.cgroups_path().as_deref()),
            &opts.id,
            linux.and_then(|l| l.resources().as_ref()),
            plan.privileged,
        )?;
        warnings
            .iter()
            .for_each(|w| tracing::warn!(id = opts.id, "{w}"));
        guard.cgroup = Some(cgroup.clone());
        let mut state = StateFile {
            oci_version: plan.spec.version().clone(),
            id: opts.id.clone(),
            bundle: plan.bundle.clone(),
            pid: None,
            pid_start: None,
            created: crate::state::now(),
            annotations: plan
                .spec
                .annotations()
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect::<HashMap<_, _>>(),
            cgroup,
        };
        state.save(&dir)?;
        crate::rootfs::precreate(&plan);
        let pid = spawn(&plan, opts, &dir, &state)?;
        state.pid = Some(pid);
        state.pid_start = crate::state::proc_stat(pid).map(|(_, s)| s);
        state.save(&dir)?;
        if let Some(pid_file) = &opts.pid_file {
            crate::state::write_atomic(pid_file, pid.to_string().as_bytes())?;
        }
        guard.cgroup = None;
        std::mem::forget(guard);
        Ok(Self { dir, state })
    }
}

/// Makes the container's state directory; an existing one means the id is taken.
fn claim(root: &Path, id: &str) -> Result<PathBuf, Error> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o711)
        .create(root)
        .map_err(Error::io("create state root", root))?;
    let dir = root.join(id);
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => Ok(dir),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(Error::AlreadyExists(id.into()))
        }
        Err(e) => Err(Error::io("create state directory", &dir)(e)),
    }
}

/// Makes the exec fifo, connects the console, and runs the setup processes.
fn spawn(plan: &Plan, opts: &CreateOptions, dir: &Path, state: &StateFile) -> Result<i32, Error> {
    let fifo_path = dir.join("exec.fifo");
    nix::unistd::mkfifo(&fifo_path, Mode::from_bits_truncate(0o600))
        .map_err(Error::sys("mkfifo exec.fifo"))?;
    let fifo: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(&fifo_path)
        .map_err(Error::io("open exec fifo", &fifo_path))?
        .into();
    let console = match &opts.console_socket {
        Some(p) => {
            Some(crate::tty::connect_console(p).map_err(Error::io("connect console socket", p))?)
        }
        None => None,
    };
    let state_json = |pid: i32| crate::hooks::state_json(plan, &opts.id, pid, "creating");
    let setup = Setup {
        child: ChildArgs {
            plan,
            id: &opts.id,
            fifo,
            console,
        },
        cgroup: &state.cgroup,
        state_json: &state_json,
    };
    Ok(crate::process::spawn(setup)?.as_raw())
}
