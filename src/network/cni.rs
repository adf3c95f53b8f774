//! CNI ADD/DEL of a network configuration list: each plugin run with the CNI
//! environment, its config (name, cniVersion, prevResult, runtimeConfig) on stdin
//! and its result on stdout.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// What a CNI operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration cannot be read or is malformed.
    #[error("cni config {path}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// No plugin binary of that type in the plugin directories.
    #[error("cni plugin {0:?} not found in the plugin directories")]
    NoPlugin(String),
    /// A plugin failed.
    #[error("cni plugin {plugin} {command} failed: {message}")]
    Plugin {
        /// Its type.
        plugin: String,
        /// ADD or DEL.
        command: &'static str,
        /// Its error output or result.
        message: String,
    },
}

/// The CNI setup of the daemon.
#[derive(Debug, Clone)]
pub struct Cni {
    /// Plugin directories.
    pub bin_dirs: Vec<PathBuf>,
    /// Configuration directory.
    pub conf_dir: PathBuf,
}

/// A pod's attachment: what DEL needs later.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Attachment {
    /// The network list used.
    pub config: Value,
    /// The final result of ADD.
    pub result: Value,
    /// The runtime config sent (port mappings).
    pub runtime_config: Value,
}

/// Identifies a pod to the plugins.
#[derive(Debug, Clone)]
pub struct PodRef<'a> {
    /// Sandbox id.
    pub id: &'a str,
    /// Pinned network namespace.
    pub netns: &'a Path,
    /// Kubernetes namespace, name and uid.
    pub namespace: &'a str,
    /// Pod name.
    pub name: &'a str,
    /// Pod uid.
    pub uid: &'a str,
}

impl Cni {
    /// The first network list in the config directory, if any.
    pub fn config(&self) -> Result<Option<Value>, Error> {
        let Ok(entries) = std::fs::read_dir(&self.conf_dir) else {
            return Ok(None);
        };
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension()
                    .is_some_and(|e| e == "conflist" || e == "conf")
            })
            .collect();
        files.sort();
        let Some(path) = files.into_iter().next() else {
            return Ok(None);
        };
        let bad = |message: String| Error::Config {
            path: path.clone(),
            message,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
        let mut v: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if v.get("plugins").is_none() {
            // A single-plugin .conf: make it a list of one.
            v = json!({"cniVersion": v["cniVersion"], "name": v["name"], "plugins": [v]});
        }
        if !v["plugins"].is_array() || !v["name"].is_string() {
            return Err(bad("needs a name and a plugins list".into()));
        }
        Ok(Some(v))
    }

    /// ADD: loopback up, then the network list; returns the attachment (None without
    /// a network configuration).
    pub fn add(&self, pod: &PodRef<'_>, ports: Value) -> Result<Option<Attachment>, Error> {
        super::open_low_ports(pod.netns);
        let lo = json!({"cniVersion": "0.3.1", "name": "cni-loopback", "type": "loopback"});
        match self.run("ADD", &lo, pod, "lo") {
            Err(Error::NoPlugin(_)) => {
                tracing::warn!("no CNI loopback plugin: the pod's lo stays down");
            }
            other => {
                other?;
            }
        }
        let Some(config) = self.config()? else {
            return Ok(None);
        };
        let runtime_config = json!({"portMappings": ports});
        let mut prev = Value::Null;
        for plugin in config["plugins"].as_array().into_iter().flatten() {
            let conf = plugin_conf(&config, plugin, &prev, &runtime_config);
            match self.run("ADD", &conf, pod, "eth0") {
                Ok(result) => prev = result,
                Err(e) => {
                    let partial = Attachment {
                        config: config.clone(),
                        result: prev,
                        runtime_config: runtime_config.clone(),
                    };
                    let _ = self.del(pod, &partial);
                    return Err(e);
                }
            }
        }
        let att = Attachment {
            config,
            result: prev,
            runtime_config,
        };
        // Unprivileged: hostPorts are relayed by the daemon itself (see hostport).
        if let Err(message) = super::hostport::open(
            pod.id,
            result_ip(&att.result).as_deref(),
            &att.runtime_config,
        ) {
            let _ = self.del(pod, &att);
            return Err(Error::Plugin {
                plugin: "hostport".into(),
                command: "ADD",
                message,
            });
        }
        Ok(Some(att))
    }

    /// DEL of every plugin, in reverse; keeps going and reports the errors.
    pub fn del(&self, pod: &PodRef<'_>, att: &Attachment) -> Result<(), Vec<Error>> {
        super::hostport::close(pod.id);
        let mut errors = Vec::new();
        let plugins: Vec<&Value> = att.config["plugins"]
            .as_array()
            .into_iter()
            .flatten()
            .collect();
        for plugin in plugins.into_iter().rev() {
            let conf = plugin_conf(&att.config, plugin, &att.result, &att.runtime_config);
            if let Err(e) = self.run("DEL", &conf, pod, "eth0") {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn find(&self, kind: &str) -> Result<PathBuf, Error> {
        if kind.is_empty() || kind.contains('/') {
            return Err(Error::NoPlugin(kind.to_owned()));
        }
        self.bin_dirs
            .iter()
            .map(|d| d.join(kind))
            .find(|p| p.is_file())
            .ok_or_else(|| Error::NoPlugin(kind.to_owned()))
    }

    fn run(
        &self,
        command: &'static str,
        conf: &Value,
        pod: &PodRef<'_>,
        ifname: &str,
    ) -> Result<Value, Error> {
        let kind = conf["type"].as_str().unwrap_or_default().to_owned();
        let bin = self.find(&kind)?;
        let fail = |message: String| Error::Plugin {
            plugin: kind.clone(),
            command,
            message,
        };
        let path = std::env::join_paths(&self.bin_dirs).unwrap_or_default();
        let args = format!(
            "IgnoreUnknown=1;K8S_POD_NAMESPACE={};K8S_POD_NAME={};K8S_POD_INFRA_CONTAINER_ID={};K8S_POD_UID={}",
            pod.namespace, pod.name, pod.id, pod.uid
        );
        let mut child = super::plugin_command(&bin)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", pod.id)
            .env("CNI_NETNS", pod.netns)
            .env("CNI_IFNAME", ifname)
            .env("CNI_PATH", path)
            .env("CNI_ARGS", args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(e.to_string()))?;
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(conf.to_string().as_bytes());
        }
        let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
        if !out.status.success() {
            let msg = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            return Err(fail(format!("{msg} {err}").trim().to_owned()));
        }
        if out.stdout.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&out.stdout).map_err(|e| fail(format!("bad result: {e}")))
    }
}

/// One plugin's stdin: its config plus the list's name and version, the previous
/// result, and the runtime config for the capabilities it declares.
fn plugin_conf(list: &Value, plugin: &Value, prev: &Value, runtime: &Value) -> Value {
    let mut conf = plugin.clone();
    conf["name"] = list["name"].clone();
    conf["cniVersion"] = list["cniVersion"].clone();
    if !prev.is_null() {
        conf["prevResult"] = prev.clone();
    }
    if conf["capabilities"]["portMappings"].as_bool() == Some(true) {
        conf["runtimeConfig"] = json!({"portMappings": runtime["portMappings"]});
    }
    conf
}

/// The first IP address (without prefix length) of a CNI result.
pub fn result_ip(result: &Value) -> Option<String> {
    let addr = result["ips"].as_array()?.first()?["address"].as_str()?;
    Some(addr.split('/').next().unwrap_or(addr).to_owned())
}
