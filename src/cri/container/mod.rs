//! Containers: records under `ROOT/containers/`, runtime directories under
//! `STATE/containers/ID/` (bundle, overlay upper, exit.json), one [`crate::shim`] each,
//! and a reference each on their image's shared FUSE lower under `STATE/lowers/`
//! ([`crate::mount::Lowers`]: taken before the shim starts, dropped when the container
//! is removed or its creation fails, reconciled with the records at start).
//!
//! Input: CRI container configs plus the pod record and the image's SIF. Output:
//! [`ContainerRecord`]s; the container itself lives in its shim. Blocking: call from a
//! blocking thread.

mod busy;
mod exec;
mod record;
mod resources;
mod spawn;
mod spec;
mod stats;
mod term;
mod trash;
mod user;
mod wait;

use std::collections::BTreeMap;
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
    lowers: crate::mount::Lowers,
    map: Mutex<BTreeMap<String, ContainerRecord>>,
    busy: busy::Busy,
    trash: trash::Trash,
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
    /// Loads the records under `root/containers` and reconciles the shared lowers
    /// with them.
    pub fn open(root: &Path, state: &Path, linger: Duration) -> Result<Containers, Error> {
        let records = root.join("containers");
        let mut map: BTreeMap<_, _> = crate::state::load_dir::<ContainerRecord>(&records)?
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect();
        let runtime_root = state.join("runtime");
        for c in map.values_mut() {
            if c.never_started() && c.dir.join("shim.pid").exists() {
                finish_interrupted_start(c, &runtime_root);
                let path = records.join(format!("{}.json", c.id));
                if let Err(e) = crate::state::save(&path, c) {
                    tracing::warn!(error = %e, "cannot save container {}", c.id);
                }
            }
        }
        let runtime = state.join("containers");
        let lowers = crate::mount::Lowers::new(state.join("lowers")).with_linger(linger);
        // A container without a record still counts while its monitor runs (a create
        // the daemon died in the middle of).
        let alive = |id: &str| {
            map.contains_key(id)
                || shim_pid(&runtime.join(id))
                    .is_some_and(|p| nix::sys::signal::kill(p, None).is_ok())
        };
        match lowers.reconcile(alive) {
            Ok(done) => done
                .iter()
                .for_each(|d| tracing::info!("shared lowers: {d}")),
            Err(e) => tracing::warn!(error = %e, "cannot reconcile the shared lowers"),
        }
        Ok(Containers {
            records,
            runtime,
            runtime_root,
            lowers,
            map: Mutex::new(map),
            busy: busy::Busy::default(),
            trash: trash::Trash::open(state.join("trash")),
        })
    }

    /// The shared image lowers (for the daemon's sweeper and its shutdown).
    pub fn lowers(&self) -> &crate::mount::Lowers {
        &self.lowers
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
        check_mount_sources(&config)?;
        let dir = self.runtime.join(&id);
        let log_path = (!config.log_path.is_empty() && !pod.config.log_directory.is_empty())
            .then(|| Path::new(&pod.config.log_directory).join(&config.log_path));
        let bundle = dir.join("bundle");
        std::fs::create_dir_all(&bundle)
            .map_err(|e| Error::Internal(format!("create {}: {e}", bundle.display())))?;
        crate::state::save_volatile(&bundle.join("config.json"), &spec)?;
        crate::shim::stdio::StdioPlan::from_config(&config).save(&dir)?;
        // The reference keeps the image's lower for this container from now on; the
        // monitor that mounts the overlay on it starts with the container.
        if let Err(e) = self.lowers.acquire(&image.id, &id) {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(Error::Internal(format!("shared lower: {e}")));
        }
        let record = ContainerRecord {
            id,
            pod_id: pod.id.clone(),
            config,
            image_id: image.id,
            created_at: crate::state::now_nanos(),
            started_at: 0,
            dir,
            log_path,
            pid: 0,
            start_error: None,
            sif: Some(image.sif),
        };
        if let Err(e) = self.save(&record) {
            let _ = self.lowers.release(&record.image_id, &record.id);
            let _ = std::fs::remove_dir_all(&record.dir);
            return Err(e);
        }
        Ok(record)
    }

    /// StartContainer: starts the container's monitor, which mounts the overlay,
    /// creates the container and starts it (see [`crate::shim`]). A failure leaves the
    /// container exited with reason `StartError`.
    pub fn start(&self, id: &str) -> Result<(), Error> {
        let mut c = self.get(id)?;
        if c.state() != cri::ContainerState::ContainerCreated {
            return Err(Error::FailedPrecondition(format!(
                "container {id} is not created"
            )));
        }
        let _busy = self.busy.claim(id)?;
        if c.pid != 0 {
            // Created by an earlier daemon, whose monitor made the container at create.
            let rc = rootless::Container::load(&self.runtime_root, id)
                .map_err(|e| Error::FailedPrecondition(format!("container {id}: {e}")))?;
            rc.start()
                .map_err(|e| Error::FailedPrecondition(format!("start {id}: {e}")))?;
        } else {
            // The monitor moves the container into its cgroups: see `WarmUp`.
            let warm = rootless::cgroups::WarmUp::start();
            let spawned = self.spawn_monitor(&c);
            drop(warm);
            match spawned {
                Ok(pid) => c.pid = pid,
                Err(e) => {
                    c.start_error = Some(e.to_string());
                    self.save(&c)?;
                    return Err(e);
                }
            }
        }
        c.started_at = crate::state::now_nanos();
        self.save(&c)
    }

    /// Starts the monitor of created container `c` on its image's lower; init's pid.
    fn spawn_monitor(&self, c: &ContainerRecord) -> Result<i32, Error> {
        let sif = c
            .sif
            .as_deref()
            .ok_or_else(|| Error::Internal(format!("container {}: no image file", c.id)))?;
        let lower = self
            .lowers
            .dir_of(&c.image_id)
            .map_err(|e| Error::Internal(format!("shared lower: {e}")))?;
        let shim = spawn::ShimArgs {
            id: &c.id,
            dir: &c.dir,
            sif,
            log: c.log_path.as_deref(),
            runtime_root: &self.runtime_root,
        };
        spawn::spawn_shim(&shim, &lower)
    }

    /// StopContainer: SIGTERM, then SIGKILL after `timeout`. Stopped or unknown: OK.
    pub fn stop(&self, id: &str, timeout: Duration) -> Result<(), Error> {
        let Ok(c) = self.get(id) else {
            return Ok(());
        };
        if c.exit().is_some() {
            return Ok(());
        }
        if c.never_started() {
            // Nothing runs yet: like containerd, leave it created.
            return Ok(());
        }
        if c.started_at == 0 {
            // Created by an earlier daemon: init waits on the fifo; kill it outright.
            return self.kill_and_wait(&c, Duration::from_secs(10));
        }
        if term::terminate(&c, timeout) {
            return Ok(());
        }
        self.kill_and_wait(&c, Duration::from_secs(10))
    }

    fn kill_and_wait(&self, c: &ContainerRecord, wait: Duration) -> Result<(), Error> {
        if c.pid > 0 {
            let pid = nix::unistd::Pid::from_raw(c.pid);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
        if wait::wait_exit(c, wait) {
            return Ok(());
        }
        Err(Error::Internal(format!(
            "container {} did not exit after SIGKILL",
            c.id
        )))
    }

    /// RemoveContainer: stops it if needed, removes its directory (in the background,
    /// once out of the way: [`trash`]) and its record.
    pub fn remove(&self, id: &str) -> Result<(), Error> {
        let Ok(c) = self.get(id) else {
            return Ok(());
        };
        self.busy.check(id)?;
        self.stop(id, Duration::ZERO)?;
        // What a monitor that died before its cleanup left behind: one that wrote its
        // exit record had deleted the container and unmounted the rootfs before.
        if !c.never_started() && crate::shim::exit_record(&c.dir).is_none() {
            if let Ok(rc) = rootless::Container::load(&self.runtime_root, id) {
                let _ = rc.delete(true);
            }
            let _ = fusefs::mount::unmount(&c.dir.join("bundle/rootfs"), true);
        }
        self.trash
            .discard(&c.dir, id)
            .map_err(|e| Error::Internal(format!("remove {}: {e}", c.dir.display())))?;
        self.lowers
            .release(&c.image_id, id)
            .map_err(|e| Error::Internal(format!("shared lower of {id}: {e}")))?;
        crate::state::remove(&self.records.join(format!("{id}.json")))?;
        self.lock().remove(id);
        Ok(())
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

/// A container whose StartContainer the daemon died in: its monitor was started. If
/// that monitor runs or has ended, the container was started (its pid from the
/// runtime's state, waited for while the monitor is still creating it); otherwise the
/// start failed.
fn finish_interrupted_start(c: &mut ContainerRecord, runtime_root: &Path) {
    let pid = || rootless::Container::load(runtime_root, &c.id).ok()?.pid();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut found = pid();
    while found.is_none() && c.monitor_alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        found = pid();
    }
    if crate::shim::exit_record(&c.dir).is_some() || (found.is_some() && c.monitor_alive()) {
        c.pid = found.unwrap_or(0);
        c.started_at = crate::state::now_nanos();
        tracing::info!(id = c.id, "container started while the daemon was down");
    } else {
        c.start_error = Some("the daemon stopped while starting the container".into());
    }
}

/// Refuses a bind mount whose host path is missing, at create: the monitor, which
/// makes the mounts, only runs at start.
fn check_mount_sources(config: &cri::ContainerConfig) -> Result<(), Error> {
    for m in &config.mounts {
        if let Err(e) = std::fs::symlink_metadata(&m.host_path) {
            return Err(Error::FailedPrecondition(format!(
                "create container: mount source {}: {e}",
                m.host_path
            )));
        }
    }
    Ok(())
}

/// The shim's pid, from `DIR/shim.pid`.
fn shim_pid(dir: &Path) -> Option<nix::unistd::Pid> {
    let text = std::fs::read_to_string(dir.join("shim.pid")).ok()?;
    text.trim().parse().ok().map(nix::unistd::Pid::from_raw)
}
