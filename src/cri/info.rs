//! Version, Status and RuntimeConfig: what the runtime is and whether it is ready.
//!
//! NetworkReady follows the CNI configuration directory: ready once it holds a
//! `*.conflist` or `*.conf` file, as kubelet expects of a CNI runtime.

use std::path::Path;

use proto::cri;

use crate::config::{CgroupDriver, Config};

/// The CRI API version served.
pub const API_VERSION: &str = "v1";

/// The Version answer.
pub fn version() -> cri::VersionResponse {
    cri::VersionResponse {
        version: "0.1.0".into(),
        runtime_name: "sifcri".into(),
        runtime_version: env!("CARGO_PKG_VERSION").into(),
        runtime_api_version: API_VERSION.into(),
    }
}

/// The Status answer: RuntimeReady always (the daemon answers), NetworkReady per CNI.
pub fn status(config: &Config) -> cri::StatusResponse {
    let runtime = condition("RuntimeReady", Ok(()));
    let network = condition("NetworkReady", network_ready(&config.cni.conf_dir));
    let mut conditions = vec![runtime, network];
    // An unprivileged daemon without a delegated cgroup v2 subtree says so.
    if let Some(why) = crate::daemon::userns::cgroup::condition() {
        conditions.push(condition("ResourceLimits", Err(why)));
    }
    cri::StatusResponse {
        status: Some(cri::RuntimeStatus { conditions }),
        info: Default::default(),
        runtime_handlers: vec![cri::RuntimeHandler {
            name: String::new(),
            features: Some(cri::RuntimeHandlerFeatures {
                recursive_read_only_mounts: mount_setattr_available(),
                // Pods with their own user namespace (userns_options POD): the root
                // daemon writes any mapping; an unprivileged one could not.
                user_namespaces: crate::daemon::userns::current().is_none(),
            }),
        }],
        features: Some(cri::RuntimeFeatures {
            supplemental_groups_policy: true,
        }),
    }
}

/// Whether the kernel has mount_setattr(2) (Linux 5.12), which recursive read-only
/// mounts (`rro`) need.
fn mount_setattr_available() -> bool {
    let Ok(uts) = nix::sys::utsname::uname() else {
        return false;
    };
    let release = uts.release().to_string_lossy().into_owned();
    let mut parts = release
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (5, 12)
}

/// The RuntimeConfig answer.
pub fn runtime_config(config: &Config) -> cri::RuntimeConfigResponse {
    let driver = match config.cgroup_driver {
        CgroupDriver::Cgroupfs => cri::CgroupDriver::Cgroupfs,
        CgroupDriver::Systemd => cri::CgroupDriver::Systemd,
    };
    cri::RuntimeConfigResponse {
        linux: Some(cri::LinuxRuntimeConfiguration {
            cgroup_driver: driver as i32,
        }),
    }
}

fn condition(kind: &str, ready: Result<(), (String, String)>) -> cri::RuntimeCondition {
    let (status, reason, message) = match ready {
        Ok(()) => (true, String::new(), String::new()),
        Err((reason, message)) => (false, reason, message),
    };
    cri::RuntimeCondition {
        r#type: kind.into(),
        status,
        reason,
        message,
    }
}

fn network_ready(conf_dir: &Path) -> Result<(), (String, String)> {
    let has_conf = std::fs::read_dir(conf_dir).ok().is_some_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.ends_with(".conflist") || name.ends_with(".conf")
        })
    });
    if has_conf {
        return Ok(());
    }
    Err((
        "NetworkPluginNotReady".into(),
        format!(
            "no CNI network configuration (*.conflist or *.conf) in {}",
            conf_dir.display()
        ),
    ))
}
