//! A docker-registry process for one test, on a free 127.0.0.1 port with its own
//! storage and config (optionally htpasswd auth), killed and removed on drop.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sifcri::image::registry::manifest::{Descriptor, Manifest, DOCKER_CONFIG, OCI_MANIFEST};
use sifcri::image::registry::{Auth, Client, RegistryConfig};
use sifcri::image::{Digest, Reference};

/// A running registry.
pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`.
    pub host: String,
}

impl Registry {
    /// Starts one; `None` when docker-registry is missing outside CI.
    pub fn start(user: Option<(&str, &str)>) -> Option<Registry> {
        if !super::require_tool("docker-registry")
            || (user.is_some() && !super::require_tool("htpasswd"))
        {
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let host = format!("127.0.0.1:{port}");
        let mut auth = String::new();
        if let Some((u, p)) = user {
            let file = dir.path().join("htpasswd");
            let ok = Command::new("htpasswd")
                .args(["-Bbc"])
                .arg(&file)
                .args([u, p])
                .output()
                .expect("htpasswd")
                .status
                .success();
            assert!(ok, "htpasswd failed");
            auth = format!(
                "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
                file.display()
            );
        }
        let config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n{auth}",
            dir.path().join("data").display()
        );
        let cfg = dir.path().join("config.yml");
        fs::write(&cfg, config).expect("write config");
        let log = fs::File::create(dir.path().join("log")).expect("log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&cfg)
            .stdout(log.try_clone().expect("dup"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn docker-registry");
        let reg = Registry { child, dir, host };
        reg.wait_ready();
        Some(reg)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(&self.host).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("registry did not come up: {}", self.log());
    }

    /// The registry's log so far (access log included).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// How many GETs of blob `digest` the registry served so far.
    pub fn blob_gets(&self, digest: &str) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains("\"GET /v2/") && l.contains(&format!("/blobs/{digest}")))
            .count()
    }

    /// `HOST/name`.
    pub fn reference(&self, name: &str) -> String {
        format!("{}/{name}", self.host)
    }

    /// A scratch path inside the registry's temp dir.
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client with default settings.
pub fn client() -> Client {
    Client::new(RegistryConfig::default())
}

/// Pushes an image (layers as given, bottom first; config JSON) to `reference` with a
/// manifest of media type `manifest_type`; returns (manifest digest, config digest).
pub fn push_image(
    c: &Client,
    reference: &str,
    layers: &[(String, Vec<u8>)],
    config: &serde_json::Value,
    auth: &Auth,
) -> (Digest, Digest) {
    let r = Reference::parse(reference).expect("reference");
    let cfg = serde_json::to_vec(config).expect("config");
    let cfg_digest = c.push_bytes(&r, &cfg, auth).expect("push config");
    let mut descs = Vec::new();
    for (mt, data) in layers {
        let d = c.push_bytes(&r, data, auth).expect("push layer");
        descs.push(Descriptor {
            media_type: mt.clone(),
            digest: d.to_string(),
            size: data.len() as u64,
            platform: None,
            annotations: None,
        });
    }
    let m = Manifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.into()),
        config: Descriptor {
            media_type: sifcri::image::registry::manifest::OCI_CONFIG.into(),
            digest: cfg_digest.to_string(),
            size: cfg.len() as u64,
            platform: None,
            annotations: None,
        },
        layers: descs,
    };
    let _ = DOCKER_CONFIG;
    let bytes = serde_json::to_vec(&m).expect("manifest");
    let d = c
        .push_manifest(&r, &r.manifest_ref(), &bytes, OCI_MANIFEST, auth)
        .expect("push manifest");
    (d, cfg_digest)
}

/// A minimal OCI config for `arch`.
pub fn config(arch: &str, diff_ids: usize) -> serde_json::Value {
    serde_json::json!({
        "architecture": arch,
        "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"], "Labels": {"org.test": "yes"}},
        "rootfs": {"type": "layers", "diff_ids": vec!["sha256:0000000000000000000000000000000000000000000000000000000000000000"; diff_ids]},
    })
}
