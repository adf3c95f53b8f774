//! The daemon's configuration: a TOML file (`sifcri serve --config FILE`) read into
//! [`Config`], with command-line overrides applied on top.
//!
//! Input: the file's text and the `--socket/--root/--state` flags. Output: a validated
//! [`Config`] the daemon uses as is. Every key, with its default, is documented in
//! docs/configuration.md; unknown keys are an error, so a typo never goes unnoticed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// What can go wrong reading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for [`Config`].
    #[error("invalid config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: Box<toml::de::Error>,
    },
    /// A value is out of range.
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// The whole daemon configuration. See docs/configuration.md.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The CRI socket.
    pub socket: PathBuf,
    /// The socket's permission bits (`0o660`).
    pub socket_mode: u32,
    /// Persistent data: images and pod/container records.
    pub root: PathBuf,
    /// Runtime data: pinned namespaces, shim sockets, mounts (a tmpfs such as /run).
    pub state: PathBuf,
    /// Log filter, as `--log-level` takes it.
    pub log_level: String,
    /// How cgroups are named: `cgroupfs` or `systemd`.
    pub cgroup_driver: CgroupDriver,
    /// CNI plugin and configuration directories.
    pub cni: CniConfig,
    /// The streaming (exec/attach/port-forward) server.
    pub streaming: StreamingConfig,
    /// Registry mirrors, plain-HTTP hosts and credentials.
    pub registry: RegistryConfig,
    /// Settings of a daemon started by an ordinary user.
    pub rootless: RootlessConfig,
    /// The shared FUSE mounts of images.
    pub image_mounts: ImageMountsConfig,
}

impl Default for Config {
    fn default() -> Self {
        // An ordinary user's daemon keeps everything under the user's own directories.
        let (socket, root, state) = crate::daemon::userns::user_paths().unwrap_or_else(|| {
            (
                PathBuf::from("/run/sifcri/sifcri.sock"),
                PathBuf::from("/var/lib/sifcri"),
                PathBuf::from("/run/sifcri"),
            )
        });
        Config {
            socket,
            socket_mode: 0o660,
            root,
            state,
            log_level: "info".into(),
            cgroup_driver: CgroupDriver::Cgroupfs,
            cni: CniConfig::default(),
            streaming: StreamingConfig::default(),
            registry: RegistryConfig::default(),
            rootless: RootlessConfig::default(),
            image_mounts: ImageMountsConfig::default(),
        }
    }
}

/// The shared FUSE mount of each image (one per image, for all its containers).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImageMountsConfig {
    /// How long an image's mount stays after its last container is removed, ready for
    /// the next one (`"5m"`; `"0"`: unmounted at once).
    pub linger: crate::streaming::IdleTimeout,
}

/// The default [`ImageMountsConfig::linger`].
pub const DEFAULT_IMAGE_MOUNT_LINGER: std::time::Duration = std::time::Duration::from_secs(300);

impl Default for ImageMountsConfig {
    fn default() -> Self {
        ImageMountsConfig {
            linger: crate::streaming::IdleTimeout(Some(DEFAULT_IMAGE_MOUNT_LINGER)),
        }
    }
}

/// The cgroup driver kubelet must be configured with too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupDriver {
    /// Plain cgroupfs paths (`/kubepods/...`).
    Cgroupfs,
    /// systemd slices (`kubepods-besteffort.slice:cri-sifcri:ID`).
    Systemd,
}

/// Settings of a daemon started by an ordinary user (docs/rootless.md).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RootlessConfig {
    /// How the pods' network namespace reaches out.
    pub network: UserNetwork,
}

/// The user-mode network helper of an unprivileged daemon.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserNetwork {
    /// pasta if installed, else slirp4netns, else none.
    #[default]
    Auto,
    /// `pasta` (package passt).
    Pasta,
    /// `slirp4netns`.
    Slirp4netns,
    /// No way out: pods reach each other only.
    None,
}

/// CNI directories.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CniConfig {
    /// Where plugin binaries are searched, in order.
    pub bin_dirs: Vec<PathBuf>,
    /// Where `*.conflist` / `*.conf` files are read; the first by name is used.
    pub conf_dir: PathBuf,
}

impl Default for CniConfig {
    fn default() -> Self {
        CniConfig {
            bin_dirs: vec!["/usr/lib/cni".into(), "/opt/cni/bin".into()],
            conf_dir: "/etc/cni/net.d".into(),
        }
    }
}

/// The streaming server's address and connection limits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamingConfig {
    /// `HOST:PORT`; port 0 picks a free port.
    pub address: String,
    /// A streaming connection that carries nothing for this long is closed
    /// (`"4h"`, as the kubelet's default; `"0"`: never).
    pub idle_timeout: crate::streaming::IdleTimeout,
}

impl Default for StreamingConfig {
    fn default() -> Self {
        StreamingConfig {
            address: "127.0.0.1:0".into(),
            idle_timeout: crate::streaming::IdleTimeout::default(),
        }
    }
}

/// Registry settings, containerd-style.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistryConfig {
    /// Mirror base URLs by registry host, tried in order.
    pub mirrors: BTreeMap<String, Vec<String>>,
    /// Settings by registry host.
    pub hosts: BTreeMap<String, RegistryHost>,
    /// A docker `config.json` with credentials.
    pub docker_config: Option<PathBuf>,
}

/// Settings of one registry host.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistryHost {
    /// Speak plain HTTP to this host.
    pub plain_http: bool,
    /// Try the origin after every mirror failed (default: no).
    pub fallback_to_origin: bool,
}

impl RegistryConfig {
    /// The image puller's view: every host of `mirrors` or `hosts`, with its mirrors.
    pub fn to_image(&self) -> crate::image::registry::RegistryConfig {
        let mut out = crate::image::registry::RegistryConfig {
            docker_config: self.docker_config.clone(),
            ..Default::default()
        };
        let hosts = self.mirrors.keys().chain(self.hosts.keys());
        for host in hosts {
            let settings = self.hosts.get(host).cloned().unwrap_or_default();
            out.hosts.insert(
                host.clone(),
                crate::image::registry::HostConfig {
                    mirrors: self.mirrors.get(host).cloned().unwrap_or_default(),
                    fallback_to_origin: settings.fallback_to_origin,
                    plain_http: settings.plain_http,
                },
            );
        }
        out
    }
}

/// Command-line values that win over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--socket`.
    pub socket: Option<PathBuf>,
    /// `--root`.
    pub root: Option<PathBuf>,
    /// `--state`.
    pub state: Option<PathBuf>,
}

impl Config {
    /// Reads `path` (or takes the defaults without one) and applies `overrides`.
    pub fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Config, Error> {
        let mut config = match path {
            Some(p) => Self::parse(p)?,
            None => Config::default(),
        };
        let pick = |o: &Option<PathBuf>, v: &mut PathBuf| {
            if let Some(o) = o {
                *v = o.clone();
            }
        };
        pick(&overrides.socket, &mut config.socket);
        pick(&overrides.root, &mut config.root);
        pick(&overrides.state, &mut config.state);
        config.validate()?;
        Ok(config)
    }

    fn parse(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| Error::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }

    fn validate(&self) -> Result<(), Error> {
        if self.socket_mode > 0o777 {
            return Err(Error::Invalid(format!(
                "socket_mode {:#o} has bits beyond 0o777",
                self.socket_mode
            )));
        }
        for (name, p) in [
            ("socket", &self.socket),
            ("root", &self.root),
            ("state", &self.state),
        ] {
            if !p.is_absolute() {
                return Err(Error::Invalid(format!(
                    "{name} must be an absolute path, not {}",
                    p.display()
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_issue_example() {
        let text = r#"
            socket = "/run/x.sock"
            socket_mode = 0o600
            cgroup_driver = "systemd"
            [registry.mirrors]
            "docker.io" = ["http://127.0.0.1:5000"]
            [registry.hosts."myregistry:5000"]
            plain_http = true
        "#;
        let c: Config = toml::from_str(text).unwrap();
        assert_eq!(c.socket_mode, 0o600);
        assert_eq!(c.cgroup_driver, CgroupDriver::Systemd);
        assert_eq!(c.registry.mirrors["docker.io"], ["http://127.0.0.1:5000"]);
        assert!(c.registry.hosts["myregistry:5000"].plain_http);
        assert_eq!(c.root, Config::default().root);
    }

    #[test]
    fn parses_the_rootless_table() {
        let c: Config = toml::from_str("[rootless]\nnetwork = \"slirp4netns\"").unwrap();
        assert_eq!(c.rootless.network, UserNetwork::Slirp4netns);
        assert_eq!(Config::default().rootless.network, UserNetwork::Auto);
        assert!(toml::from_str::<Config>("[rootless]\nnetwork = \"tap\"").is_err());
    }

    #[test]
    fn parses_the_streaming_idle_timeout() {
        let c: Config = toml::from_str("[streaming]\nidle_timeout = \"90s\"").unwrap();
        let idle = c.streaming.idle_timeout.0;
        assert_eq!(idle, Some(std::time::Duration::from_secs(90)));
        let default = Config::default().streaming.idle_timeout.0;
        assert_eq!(default, Some(std::time::Duration::from_secs(4 * 3600)));
        assert!(toml::from_str::<Config>("[streaming]\nidle_timeout = \"4 days\"").is_err());
    }

    #[test]
    fn rejects_unknown_keys() {
        assert!(toml::from_str::<Config>("sockett = \"/x\"").is_err());
        assert!(toml::from_str::<Config>("[cni]\nbin_dir = \"/x\"").is_err());
    }

    #[test]
    fn overrides_win_and_paths_are_checked() {
        let o = Overrides {
            socket: Some("/tmp/s.sock".into()),
            ..Overrides::default()
        };
        let c = Config::load(None, &o).unwrap();
        assert_eq!(c.socket, Path::new("/tmp/s.sock"));
        let bad = Overrides {
            root: Some("relative".into()),
            ..Overrides::default()
        };
        assert!(Config::load(None, &bad).is_err());
    }
}
