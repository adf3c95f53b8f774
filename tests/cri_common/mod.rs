//! Shared helpers of the CRI end-to-end tests: a real `sifcri serve` on a temp socket,
//! root and state directory; a CRI client over the unix socket; a Drop guard that
//! stops the daemon, unmounts whatever is left under the temp directory and removes it.

#![allow(dead_code)]

pub mod calls;
pub mod flow;
#[allow(unused_imports)]
pub use calls::*;
pub use flow::*;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use hyper_util::rt::TokioIo;
use proto::cri;
use proto::cri::runtime_service_client::RuntimeServiceClient;
use tonic::transport::{Channel, Endpoint};

/// Whether the tests run under CI (where a skip is a failure).
pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// True when the daemon tests can run here (root); skips loudly otherwise.
pub fn require_root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    assert!(!ci(), "CI=true: the CRI tests must run as root");
    eprintln!("SKIP: the CRI daemon tests need root");
    false
}

/// One running daemon and its directories.
pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub child: Option<Child>,
    pub extra_args: Vec<String>,
    pub extra_env: Vec<(String, String)>,
}

impl Daemon {
    /// Starts a daemon with an empty CNI config dir and waits for its socket.
    pub fn start() -> Daemon {
        Self::start_with(&[], "")
    }

    /// As [`Daemon::start`], with extra arguments and extra config file text.
    pub fn start_with(args: &[&str], config: &str) -> Daemon {
        Self::start_full(args, config, &[])
    }

    /// As [`Daemon::start_with`], with extra environment variables for the daemon.
    pub fn start_full(args: &[&str], config: &str, env: &[(&str, &str)]) -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix("sifcri-cri-")
            .tempdir()
            .unwrap();
        std::fs::create_dir(dir.path().join("cni")).unwrap();
        let text = format!(
            "[cni]\nconf_dir = \"{}\"\n{config}{}",
            dir.path().join("cni").display(),
            // Image mounts go with their last container unless a test asks otherwise.
            if config.contains("[image_mounts]") {
                ""
            } else {
                "[image_mounts]\nlinger = \"0\"\n"
            }
        );
        std::fs::write(dir.path().join("config.toml"), text).unwrap();
        let mut d = Daemon {
            dir,
            child: None,
            extra_args: args.iter().map(|s| s.to_string()).collect(),
            extra_env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        d.spawn();
        d
    }

    /// The socket path.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("cri.sock")
    }

    /// The runtime state directory.
    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// The persistent root directory.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// Starts (again) the daemon process on this directory.
    pub fn spawn(&mut self) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sifcri"));
        cmd.arg("serve")
            .arg("--config")
            .arg(self.dir.path().join("config.toml"))
            .arg("--socket")
            .arg(self.socket())
            .arg("--root")
            .arg(self.root())
            .arg("--state")
            .arg(self.state())
            .args(&self.extra_args)
            .env("SIFCRI_LOG", "debug")
            .envs(self.extra_env.iter().map(|(k, v)| (k, v)));
        self.child = Some(spawn_logged(&mut cmd, self.dir.path()));
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let (socket, dir) = (self.socket(), self.dir.path().to_owned());
        wait_socket(&socket, &mut self.child, Duration::from_secs(20), || {
            read_log(&dir)
        });
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        read_log(self.dir.path())
    }

    /// SIGKILLs the daemon (as a crash would) and reaps it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERMs the daemon and waits for it; returns its exit status.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let mut c = self.child.take()?;
        let pid = nix::unistd::Pid::from_raw(c.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(s) = c.try_wait().unwrap() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        c.wait().ok()
    }

    /// A RuntimeService client on the daemon's socket.
    pub async fn client(&self) -> RuntimeServiceClient<Channel> {
        RuntimeServiceClient::new(channel(&self.socket()).await)
    }
}

/// A gRPC channel over the unix socket at `path`.
pub async fn channel(path: &Path) -> Channel {
    let path = path.to_owned();
    Endpoint::try_from("http://localhost")
        .unwrap()
        .connect_with_connector(tower::service_fn(move |_| {
            let path = path.clone();
            async move {
                Ok::<_, std::io::Error>(TokioIo::new(tokio::net::UnixStream::connect(path).await?))
            }
        }))
        .await
        .unwrap()
}

/// Mount points under `dir`, deepest first.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut out: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(PathBuf::from)
        .filter(|p| p.starts_with(dir))
        .collect();
    out.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    out
}

/// Pids recorded under the daemon's directories: container inits (from the records)
/// and shims (from their pid files).
fn recorded_pids(d: &Daemon) -> (Vec<i32>, Vec<i32>) {
    let read_dir = |p: PathBuf| -> Vec<PathBuf> {
        std::fs::read_dir(p)
            .map(|r| r.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    };
    let inits = read_dir(d.root().join("containers"))
        .into_iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter_map(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .filter_map(|v| v["pid"].as_i64())
        .map(|p| p as i32)
        .collect();
    let shims = read_dir(d.state().join("containers"))
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(p.join("shim.pid")).ok())
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    (inits, shims)
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.terminate();
        let (inits, shims) = recorded_pids(self);
        for pid in inits.into_iter().chain(shims).filter(|p| *p > 1) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        for m in mounts_under(self.dir.path()) {
            let _ = nix::mount::umount2(&m, nix::mount::MntFlags::MNT_DETACH);
        }
        pod_leftovers(self);
    }
}

/// Kills the pid namespace holders and removes the cgroups of pods a test left.
fn pod_leftovers(d: &Daemon) {
    let records = std::fs::read_dir(d.root().join("pods"))
        .map(|r| r.flatten().map(|e| e.path()).collect::<Vec<_>>())
        .unwrap_or_default();
    for rec in records {
        let Ok(bytes) = std::fs::read(&rec) else {
            continue;
        };
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            continue;
        };
        if let Some(h) = v["pid_holder"].as_i64().filter(|h| *h > 1) {
            let children = std::fs::read_to_string(format!("/proc/{h}/task/{h}/children"));
            let pids = children.unwrap_or_default();
            for p in pids
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .chain([h as i32])
            {
                let pid = nix::unistd::Pid::from_raw(p);
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            }
        }
        let cg = &v["cgroup"];
        if cg["owned"].as_bool() == Some(true) {
            let v1 = cg["manager"]["v1"].as_array().cloned().unwrap_or_default();
            let dirs = v1.iter().filter_map(|e| e[1].as_str().map(PathBuf::from));
            for dir in dirs.chain(cg["manager"]["v2"].as_str().map(PathBuf::from)) {
                // Containers whose monitor was killed left their own cgroups inside.
                let children = std::fs::read_dir(&dir).into_iter().flatten().flatten();
                for child in children.filter(|e| e.path().is_dir()) {
                    let _ = std::fs::remove_dir(child.path());
                }
                let _ = std::fs::remove_dir(dir);
            }
        }
    }
}

/// A daemon with the busybox image imported as `image`, and a client on it; `None`
/// (the test skips, loudly) without root.
pub async fn busybox_daemon(image: &str) -> Option<(Daemon, Client)> {
    if !require_root() {
        return None;
    }
    let d = Daemon::start();
    busybox_image(&d, image);
    let c = d.client().await;
    Some((d, c))
}

/// [`pod_config`] with its containers' logs under `d`'s directory, in `logs/NAME`.
pub fn logged_pod_config(d: &Daemon, name: &str) -> cri::PodSandboxConfig {
    let mut config = pod_config(name);
    config.log_directory = d.dir.path().join("logs").join(name).display().to_string();
    config
}

/// A pod config with the required metadata.
pub fn pod_config(name: &str) -> cri::PodSandboxConfig {
    cri::PodSandboxConfig {
        metadata: Some(cri::PodSandboxMetadata {
            name: name.into(),
            uid: format!("uid-{name}"),
            namespace: "test".into(),
            attempt: 0,
        }),
        hostname: name.into(),
        ..Default::default()
    }
}

/// Runs the sifcri binary with `args`, asserting success.
pub fn sifcri(args: &[&std::ffi::OsStr]) {
    let out = Command::new(env!("CARGO_BIN_EXE_sifcri"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "sifcri {args:?}: {out:?}");
}

/// Builds a busybox-static SIF and imports it into the daemon's store as `name`.
pub fn busybox_image(d: &Daemon, name: &str) {
    let busybox = Path::new("/bin/busybox");
    assert!(
        busybox.exists() || !ci(),
        "/bin/busybox missing: install busybox-static (scripts/setup.sh)"
    );
    let work = d.dir.path().join("image");
    let rootfs = work.join("rootfs");
    for sub in ["bin", "etc", "tmp", "proc", "sys", "dev", "root", "var"] {
        std::fs::create_dir_all(rootfs.join(sub)).unwrap();
    }
    std::fs::copy(busybox, rootfs.join("bin/busybox")).unwrap();
    let applets = [
        "sh", "cat", "echo", "sleep", "id", "hostname", "ls", "env", "true", "false", "touch",
        "printf", "grep", "kill", "ps", "mount", "wc", "stat", "dd",
    ];
    for a in applets {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(a)).unwrap();
    }
    let passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n";
    std::fs::write(rootfs.join("etc/passwd"), passwd).unwrap();
    let group = "root:x:0:\nwheel:x:10:nobody\nnogroup:x:65534:\n";
    std::fs::write(rootfs.join("etc/group"), group).unwrap();
    let sqfs = work.join("rootfs.sqfs");
    let st = Command::new("mksquashfs")
        .arg(&rootfs)
        .arg(&sqfs)
        .args(["-noappend", "-no-progress", "-quiet", "-comp", "gzip"])
        .status()
        .unwrap();
    assert!(st.success());
    let sif = work.join("busybox.sif");
    sifcri(&["sif".as_ref(), "new".as_ref(), sif.as_os_str()]);
    sifcri(&sif_add_args(&sif, &sqfs));
    let root = d.root();
    sifcri(&[
        "image".as_ref(),
        "import".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
        sif.as_os_str(),
        name.as_ref(),
    ]);
}
