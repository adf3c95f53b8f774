//! Containers: records under `ROOT/containers/`, runtime directories under
//! `STATE/containers/ID/` (bundle, overlay upper, exit.json), one [`crate::shim`] each.
//!
//! Input: CRI container configs plus the pod record and the image's SIF. Output:
//! [`ContainerRecord`]s; the container itself lives in its shim. Blocking: call from a
//! blocking thread.

mod exec;
mod record;
mod resources;
mod spec;
mod stats;
mod term;
mod user;

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use proto::cri;

pub use exec::{exec_sync, kill_tree};
pub use record::ContainerRecord;

use super::Error;
use crate::pod::PodRecord;

/// Every container of the daemon.
#[derive(Debug)]
pub struct Containers {
    records: PathBuf,
    runtime: PathBuf,
    /// The OCI runtime's state root.
    pub runtime_root: PathBuf,
    map: Mutex<BTreeMap<String, ContainerRecord>>,
}

/// What CreateContainer needs besides the CRI config.
#[derive(Debug)]
pub struct ImageInfo {
    /// The SIF file.
    pub sif: PathBuf,
    /// The image id.
    pub id: String,
    /// The image's OCI config, if any.
    pub config: Option<serde_json::Value>,
}

impl Containers {
    /// Loads the records under `root/containers`.
    pub fn open(root: &Path, state: &Path) -> Result<Containers, Error> {
        let records = root.join("containers");
        let map = crate::state::load_dir::<ContainerRecord>(&records)?
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect();
        Ok(Containers {
            records,
            runtime: state.join("containers"),
            runtime_root: state.join("runtime"),
            map: Mutex::new(map),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ContainerRecord>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn save(&self, c: &ContainerRecord) -> Result<(), Error> {
        crate::state::save(&self.records.join(format!("{}.json", c.id)), c)?;
        self.lock().insert(c.id.clone(), c.clone());
        Ok(())
    }

    /// The container `id`.
    pub fn get(&self, id: &str) -> Result<ContainerRecord, Error> {
        self.lock()
            .get(id)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("container {id}")))
    }

    /// Containers passing `filter`.
    pub fn list(&self, filter: Option<&cri::ContainerFilter>) -> Vec<ContainerRecord> {
        let map = self.lock();
        map.values()
            .filter(|c| filter.is_none_or(|f| c.matches(f)))
            .cloned()
            .collect()
    }

    /// CreateContainer: bundle, shim, record.
    pub fn create(
        &self,
        pod: &PodRecord,
        config: cri::ContainerConfig,
        image: ImageInfo,
    ) -> Result<ContainerRecord, Error> {
        let meta = config
            .metadata
            .clone()
            .filter(|m| !m.name.is_empty())
            .ok_or_else(|| Error::InvalidArgument("container metadata has no name".into()))?;
        let taken = self
            .lock()
            .values()
            .any(|c| c.pod_id == pod.id && c.config.metadata.as_ref() == Some(&meta));
        if taken {
            return Err(Error::AlreadyExists(format!(
                "container {} (attempt {}) in pod {}",
                meta.name, meta.attempt, pod.id
            )));
        }
        let mut config = config;
        user::resolve(&mut config, &image.sif, image.config.as_ref())?;
        let id = crate::state::new_id();
        let spec = spec::build(&config, pod, image.config.as_ref(), &id)
            .map_err(Error::InvalidArgument)?;
        let dir = self.runtime.join(&id);
        let log_path = (!config.log_path.is_empty() && !pod.config.log_directory.is_empty())
            .then(|| Path::new(&pod.config.log_directory).join(&config.log_path));
        let bundle = dir.join("bundle");
        std::fs::create_dir_all(&bundle)
            .map_err(|e| Error::Internal(format!("create {}: {e}", bundle.display())))?;
        crate::state::save(&bundle.join("config.json"), &spec)?;
        crate::shim::stdio::StdioPlan::from_config(&config).save(&dir)?;
        let pid = match self.spawn_shim(&id, &dir, &image.sif, log_path.as_deref()) {
            Ok(pid) => pid,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        let record = ContainerRecord {
            id,
            pod_id: pod.id.clone(),
            config,
            image_id: image.id,
            created_at: crate::state::now_nanos(),
            started_at: 0,
            dir,
            log_path,
            pid,
        };
        self.save(&record)?;
        Ok(record)
    }

    fn spawn_shim(
        &self,
        id: &str,
        dir: &Path,
        sif: &Path,
        log: Option<&Path>,
    ) -> Result<i32, Error> {
        let exe =
            std::env::current_exe().map_err(|e| Error::Internal(format!("own binary: {e}")))?;
        let mut cmd = std::process::Command::new(exe);
        cmd.arg("shim")
            .arg("--id")
            .arg(id)
            .arg("--dir")
            .arg(dir)
            .arg("--image")
            .arg(sif);
        cmd.arg("--runtime-root").arg(&self.runtime_root);
        if let Some(l) = log {
            cmd.arg("--log").arg(l);
        }
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| Error::Internal(format!("spawn shim: {e}")))?;
        let out = child.stdout.take();
        let _ = child.wait();
        let mut line = String::new();
        if let Some(out) = out {
            let _ = std::io::BufReader::new(out).read_line(&mut line);
        }
        match line.trim_end().split_once(' ') {
            Some(("ready", pid)) => pid
                .parse()
                .map_err(|_| Error::Internal(format!("shim said {line:?}"))),
            Some(("error", msg)) => Err(Error::FailedPrecondition(format!(
                "create container: {msg}"
            ))),
            _ => Err(Error::Internal(format!(
                "the shim exited without a word (see {}/shim.log)",
                dir.display()
            ))),
        }
    }

    /// StartContainer.
    pub fn start(&self, id: &str) -> Result<(), Error> {
        let mut c = self.get(id)?;
        if c.state() != cri::ContainerState::ContainerCreated {
            return Err(Error::FailedPrecondition(format!(
                "container {id} is not created"
            )));
        }
        let rc = rootless::Container::load(&self.runtime_root, id)
            .map_err(|e| Error::FailedPrecondition(format!("container {id}: {e}")))?;
        rc.start()
            .map_err(|e| Error::FailedPrecondition(format!("start {id}: {e}")))?;
        c.started_at = crate::state::now_nanos();
        self.save(&c)
    }

    /// StopContainer: SIGTERM, then SIGKILL after `timeout`. Stopped or unknown: OK.
    pub fn stop(&self, id: &str, timeout: Duration) -> Result<(), Error> {
        let Ok(c) = self.get(id) else {
            return Ok(());
        };
        if c.exit().is_some() {
            return Ok(());
        }
        if c.started_at == 0 {
            // Never started: init waits on the fifo; kill it outright.
            return self.kill_and_wait(&c, Duration::from_secs(10));
        }
        if term::terminate(&c, timeout) {
            return Ok(());
        }
        self.kill_and_wait(&c, Duration::from_secs(10))
    }

    fn kill_and_wait(&self, c: &ContainerRecord, wait: Duration) -> Result<(), Error> {
        let pid = nix::unistd::Pid::from_raw(c.pid);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        if wait_exit(c, wait) {
            return Ok(());
        }
        Err(Error::Internal(format!(
            "container {} did not exit after SIGKILL",
            c.id
        )))
    }

    /// RemoveContainer: stops it if needed, removes its directory and record.
    pub fn remove(&self, id: &str) -> Result<(), Error> {
        let Ok(c) = self.get(id) else {
            return Ok(());
        };
        self.stop(id, Duration::ZERO)?;
        // What a monitor that died before its cleanup left behind.
        if let Ok(rc) = rootless::Container::load(&self.runtime_root, id) {
            let _ = rc.delete(true);
        }
        let _ = fusefs::mount::unmount(&c.dir.join("bundle/rootfs"), true);
        if let Err(e) = std::fs::remove_dir_all(&c.dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(Error::Internal(format!("remove {}: {e}", c.dir.display())));
            }
        }
        crate::state::remove(&self.records.join(format!("{id}.json")))?;
        self.lock().remove(id);
        Ok(())
    }
}

/// Waits up to `timeout` for the shim to write the exit record.
fn wait_exit(c: &ContainerRecord, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if c.exit().is_some() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Containers {
    /// ReopenContainerLog: asks the shim to reopen the log file and waits until the
    /// file exists again.
    pub fn reopen_log(&self, id: &str) -> Result<(), Error> {
        let c = self.get(id)?;
        if c.state() != cri::ContainerState::ContainerRunning {
            return Err(Error::FailedPrecondition(format!(
                "container {id} is not running"
            )));
        }
        let Some(log) = &c.log_path else {
            return Ok(());
        };
        let shim = shim_pid(&c.dir)
            .ok_or_else(|| Error::FailedPrecondition(format!("container {id} has no monitor")))?;
        nix::sys::signal::kill(shim, nix::sys::signal::Signal::SIGUSR1)
            .map_err(|e| Error::Internal(format!("signal the monitor: {e}")))?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while !log.exists() {
            if Instant::now() >= deadline {
                return Err(Error::Internal(format!(
                    "{} was not reopened",
                    log.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }
}

/// The shim's pid, from `DIR/shim.pid`.
fn shim_pid(dir: &Path) -> Option<nix::unistd::Pid> {
    let text = std::fs::read_to_string(dir.join("shim.pid")).ok()?;
    text.trim().parse().ok().map(nix::unistd::Pid::from_raw)
}
