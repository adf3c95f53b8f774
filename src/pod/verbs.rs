//! The pod verbs on [`Pods`]: open (reload records), run, stop, remove, get, list.

use std::path::Path;

use proto::cri;

use super::{files, namespaces, pidns, record, Error, Inner, PodRecord, PodState, Pods};

impl Pods {
    /// Loads the records under `root/pods`; pods whose namespaces are gone (a reboot
    /// emptied the runtime directory) are reported NotReady.
    pub fn open(root: &Path, runtime: &Path, cni: crate::network::Cni) -> Result<Pods, Error> {
        let records = root.join("pods");
        let runtime = runtime.join("pods");
        let mut inner = Inner::default();
        for mut pod in crate::state::load_dir::<PodRecord>(&records)? {
            let lost = pod.namespaces.iter().any(|(_, p)| !p.exists());
            if pod.state == PodState::Ready && lost {
                pod.state = PodState::NotReady;
                pod.namespaces.clear();
            }
            inner.pods.insert(pod.id.clone(), pod);
        }
        Ok(Pods {
            cni,
            cgroup_driver: crate::config::CgroupDriver::Cgroupfs,
            records,
            runtime,
            inner: std::sync::Mutex::new(inner),
        })
    }

    /// Names pod cgroups for `driver` (cgroupfs unless told).
    pub fn with_cgroup_driver(mut self, driver: crate::config::CgroupDriver) -> Pods {
        self.cgroup_driver = driver;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record_path(&self, id: &str) -> std::path::PathBuf {
        self.records.join(format!("{id}.json"))
    }

    /// RunPodSandbox: namespaces, files, sysctls, record.
    pub fn run(&self, config: cri::PodSandboxConfig, handler: String) -> Result<PodRecord, Error> {
        let key = reservation(&config)?;
        {
            let mut inner = self.lock();
            let taken = inner
                .pods
                .values()
                .any(|p| reservation(&p.config).ok() == Some(key.clone()));
            if taken || !inner.reserved.insert(key.clone()) {
                return Err(Error::AlreadyExists(key));
            }
        }
        let result = self.create(config, handler);
        let mut inner = self.lock();
        inner.reserved.remove(&key);
        let pod = result?;
        inner.pods.insert(pod.id.clone(), pod.clone());
        Ok(pod)
    }

    fn create(&self, config: cri::PodSandboxConfig, handler: String) -> Result<PodRecord, Error> {
        let id = crate::state::new_id();
        let dir = self.runtime.join(&id);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create pod directory", &dir, e))?;
        let options = record::namespace_options(&config);
        let mut holder = None;
        let made = namespaces::create(&dir, &config, &options).and_then(|mut pinned| {
            if options.pid == cri::NamespaceMode::Pod as i32 {
                let userns = pinned
                    .iter()
                    .find(|(k, _)| k == "user")
                    .map(|(_, f)| f.clone());
                match pidns::create(&dir, userns.as_deref()) {
                    Ok((pid, file)) => {
                        holder = Some(pid);
                        pinned.push(("pid".to_owned(), file));
                    }
                    Err(e) => {
                        namespaces::release(&pinned);
                        return Err(e);
                    }
                }
            }
            let sysctls = config
                .linux
                .as_ref()
                .map(|l| l.sysctls.clone())
                .unwrap_or_default();
            let host = host_name(&config);
            let rest = namespaces::sysctls(&pinned, &sysctls)
                .and_then(|()| files::write(&dir, &config, &host));
            match rest {
                Ok(()) => Ok(pinned),
                Err(e) => {
                    pidns::release_all(&pinned, holder);
                    Err(e)
                }
            }
        });
        let made =
            made.and_then(
                |pinned| match super::cgroup::create(&config, self.cgroup_driver, &id) {
                    Ok(cg) => Ok((pinned, cg)),
                    Err(e) => {
                        pidns::release_all(&pinned, holder);
                        Err(e)
                    }
                },
            );
        let (pinned, cgroup) = match made {
            Ok(p) => p,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        let mut pod = PodRecord {
            id: id.clone(),
            config,
            runtime_handler: handler,
            created_at: crate::state::now_nanos(),
            state: PodState::Ready,
            dir,
            namespaces: pinned,
            ip: None,
            network: None,
            cgroup: Some(cgroup),
            pid_holder: holder,
        };
        let attached = self.attach(&mut pod);
        let saved = attached.and_then(|()| Ok(crate::state::save(&self.record_path(&id), &pod)?));
        if let Err(e) = saved {
            let _ = self.detach(&mut pod);
            pidns::release_all(&pod.namespaces, pod.pid_holder);
            if let Some(cg) = &pod.cgroup {
                super::cgroup::remove(cg);
            }
            let _ = std::fs::remove_dir_all(&pod.dir);
            return Err(e);
        }
        Ok(pod)
    }

    /// The pod `id`.
    pub fn get(&self, id: &str) -> Result<PodRecord, Error> {
        self.lock()
            .pods
            .get(id)
            .cloned()
            .ok_or_else(|| Error::NotFound(id.to_owned()))
    }

    /// Pods passing `filter`.
    pub fn list(&self, filter: Option<&cri::PodSandboxFilter>) -> Vec<PodRecord> {
        self.lock()
            .pods
            .values()
            .filter(|p| filter.is_none_or(|f| p.matches(f)))
            .cloned()
            .collect()
    }

    /// StopPodSandbox's pod part: releases the namespaces and marks the pod NotReady.
    /// Idempotent; an unknown id is fine (kubelet retries stops).
    pub fn stop(&self, id: &str) -> Result<(), Error> {
        let Ok(mut pod) = self.get(id) else {
            return Ok(());
        };
        let mut errors: Vec<String> = self.detach(&mut pod);
        errors.extend(
            pidns::release_all(&pod.namespaces, pod.pid_holder)
                .into_iter()
                .map(|e| e.to_string()),
        );
        if !errors.is_empty() {
            return Err(Error::Teardown {
                id: id.to_owned(),
                errors,
            });
        }
        pod.namespaces.clear();
        pod.pid_holder = None;
        pod.state = PodState::NotReady;
        // Not fsynced: should a power failure lose this, the pod comes back Ready with
        // namespaces that a reboot removed, which `open` turns into NotReady, and a
        // second CNI DEL at removal finds nothing to undo.
        crate::state::save_volatile(&self.record_path(id), &pod)?;
        self.lock().pods.insert(id.to_owned(), pod);
        Ok(())
    }

    /// RemovePodSandbox's pod part: stops, then forgets the pod. Unknown id: fine.
    pub fn remove(&self, id: &str) -> Result<(), Error> {
        let Ok(pod) = self.get(id) else {
            return Ok(());
        };
        self.stop(id)?;
        let errors = pod.cgroup.as_ref().map(super::cgroup::remove);
        if let Some(e) = errors.and_then(|e| e.into_iter().next()) {
            return Err(e);
        }
        match std::fs::remove_dir_all(&pod.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io("remove pod directory", &pod.dir, e))
            }
            _ => {}
        }
        crate::state::remove(&self.record_path(id))?;
        self.lock().pods.remove(id);
        Ok(())
    }

    /// Records the pod's IP (from CNI).
    pub fn set_ip(&self, id: &str, ip: Option<String>) -> Result<(), Error> {
        let mut pod = self.get(id)?;
        pod.ip = ip;
        crate::state::save(&self.record_path(id), &pod)?;
        self.lock().pods.insert(id.to_owned(), pod);
        Ok(())
    }
}

/// The unique key of a pod: namespace, name, uid and attempt; all but the attempt
/// required.
fn reservation(config: &cri::PodSandboxConfig) -> Result<String, Error> {
    let m = config
        .metadata
        .as_ref()
        .ok_or_else(|| Error::InvalidArgument("pod sandbox config has no metadata".into()))?;
    for (field, v) in [
        ("name", &m.name),
        ("namespace", &m.namespace),
        ("uid", &m.uid),
    ] {
        if v.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "pod sandbox metadata has no {field}"
            )));
        }
    }
    Ok(format!(
        "{}_{}_{}_{}",
        m.name, m.namespace, m.uid, m.attempt
    ))
}

fn host_name(config: &cri::PodSandboxConfig) -> String {
    match config.hostname.as_str() {
        "" => config
            .metadata
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default(),
        h => h.to_owned(),
    }
}

impl Pods {
    /// CNI ADD for a pod with its own network namespace; records IP and attachment.
    fn attach(&self, pod: &mut PodRecord) -> Result<(), Error> {
        let Some(netns) = pod.namespace("net").cloned() else {
            return Ok(());
        };
        let meta = pod.metadata();
        let r = crate::network::PodRef {
            id: &pod.id,
            netns: &netns,
            namespace: &meta.namespace,
            name: &meta.name,
            uid: &meta.uid,
        };
        let att = self.cni.add(&r, port_mappings(&pod.config))?;
        pod.ip = att
            .as_ref()
            .and_then(|a| crate::network::result_ip(&a.result));
        pod.network = att;
        Ok(())
    }

    /// CNI DEL of the pod's attachment, if any; returns the failures.
    fn detach(&self, pod: &mut PodRecord) -> Vec<String> {
        let (Some(att), Some(netns)) = (pod.network.clone(), pod.namespace("net").cloned()) else {
            return Vec::new();
        };
        let meta = pod.metadata();
        let r = crate::network::PodRef {
            id: &pod.id,
            netns: &netns,
            namespace: &meta.namespace,
            name: &meta.name,
            uid: &meta.uid,
        };
        match self.cni.del(&r, &att) {
            Ok(()) => {
                pod.network = None;
                Vec::new()
            }
            Err(errors) => errors.into_iter().map(|e| e.to_string()).collect(),
        }
    }
}

/// The pod's hostPort mappings in the portmap plugin's runtime-config form.
fn port_mappings(config: &cri::PodSandboxConfig) -> serde_json::Value {
    let ports: Vec<serde_json::Value> = config
        .port_mappings
        .iter()
        .filter(|p| p.host_port > 0)
        .map(|p| {
            let protocol = match p.protocol {
                1 => "udp",
                2 => "sctp",
                _ => "tcp",
            };
            serde_json::json!({"hostPort": p.host_port, "containerPort": p.container_port,
                "protocol": protocol, "hostIP": p.host_ip})
        })
        .collect();
    serde_json::Value::Array(ports)
}
