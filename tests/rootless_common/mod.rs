//! Shared helpers of the unprivileged-daemon tests: `sifcri serve` started as the test
//! user `sifcri-test` from a copy of the binary in a world-readable temp dir, a CRI
//! client on its socket (the test itself runs as root), a busybox image imported as
//! that user, and a Drop guard / leak check that ends every process of the daemon —
//! the daemon, its keeper (and with it the user, mount and network namespaces), the
//! user-mode network helper, shims, mount servers and containers.

#![allow(dead_code)]

// A test that also includes cri_common compiles this file twice: harmless.
#[allow(clippy::duplicate_mod)]
#[path = "../cri_common/calls.rs"]
pub mod calls;
#[allow(clippy::duplicate_mod)]
#[path = "../cri_common/flow.rs"]
pub mod flow;
#[allow(unused_imports)]
pub use calls::*;
pub use flow::*;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use proto::cri;
use proto::cri::runtime_service_client::RuntimeServiceClient;
use tonic::transport::Channel;

/// The unprivileged user made by scripts/setup.sh.
pub const TEST_USER: &str = "sifcri-test";

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// True when this machine can run the daemon as the test user; skips loudly (fails
/// under CI=true) otherwise.
pub fn require_user() -> bool {
    let root = nix::unistd::geteuid().is_root();
    let user = Command::new("id")
        .arg(TEST_USER)
        .output()
        .is_ok_and(|o| o.status.success());
    let fuse =
        std::fs::metadata("/dev/fuse").is_ok_and(|m| m.permissions().mode() & 0o006 == 0o006);
    if root && user && fuse {
        return true;
    }
    let why =
        format!("root={root} user {TEST_USER}={user} /dev/fuse 0666={fuse} (scripts/setup.sh)");
    assert!(
        !ci(),
        "CI=true: the unprivileged daemon tests cannot run: {why}"
    );
    eprintln!("SKIP: unprivileged daemon tests: {why}");
    false
}

/// Whether `tool` is installed (in /usr/bin or /usr/sbin).
pub fn have(tool: &str) -> bool {
    ["/usr/bin", "/usr/sbin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(tool).exists())
}

/// A command run as the test user with a clean environment.
pub fn as_user(program: &Path) -> Command {
    let mut c = Command::new("setpriv");
    c.args([
        "--reuid",
        TEST_USER,
        "--regid",
        TEST_USER,
        "--init-groups",
        "--reset-env",
    ])
    .arg(program);
    c
}

fn chown_to_user(path: &Path) {
    let st = Command::new("chown")
        .args(["-R", &format!("{TEST_USER}:{TEST_USER}")])
        .arg(path)
        .status()
        .unwrap();
    assert!(st.success());
}

/// One unprivileged daemon and its directory.
pub struct UserDaemon {
    pub dir: tempfile::TempDir,
    child: Option<Child>,
}

impl UserDaemon {
    /// Starts `sifcri serve` as the test user with `config` appended to a config file
    /// that points CNI at `DIR/cni`; waits for the socket.
    pub fn start(config: &str) -> UserDaemon {
        let dir = tempfile::Builder::new()
            .prefix("sifcri-user-")
            .tempdir()
            .unwrap();
        let p = dir.path();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir(p.join("bin")).unwrap();
        std::fs::copy(env!("CARGO_BIN_EXE_sifcri"), p.join("bin/sifcri")).unwrap();
        std::fs::copy(
            env!("CARGO_BIN_EXE_sifcri-runtime"),
            p.join("bin/sifcri-runtime"),
        )
        .unwrap();
        for sub in ["cni", "run", "data", "logs"] {
            std::fs::create_dir(p.join(sub)).unwrap();
        }
        let text = format!(
            "[cni]\nconf_dir = \"{}\"\n{config}{}",
            p.join("cni").display(),
            // Image mounts go with their last container unless a test asks otherwise.
            if config.contains("[image_mounts]") {
                ""
            } else {
                "[image_mounts]\nlinger = \"0\"\n"
            }
        );
        std::fs::write(p.join("config.toml"), text).unwrap();
        chown_to_user(&p.join("run"));
        chown_to_user(&p.join("data"));
        chown_to_user(&p.join("logs"));
        let mut d = UserDaemon { dir, child: None };
        d.spawn();
        d
    }

    pub fn bin(&self) -> PathBuf {
        self.dir.path().join("bin/sifcri")
    }

    pub fn socket(&self) -> PathBuf {
        self.state().join("sifcri.sock")
    }

    /// XDG_RUNTIME_DIR/sifcri: the default state dir of a user daemon.
    pub fn state(&self) -> PathBuf {
        self.dir.path().join("run/sifcri")
    }

    /// XDG_DATA_HOME/sifcri: the default root of a user daemon.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("data/sifcri")
    }

    /// A directory the user may write pod logs to.
    pub fn logs(&self) -> PathBuf {
        self.dir.path().join("logs")
    }

    /// Starts (again) the daemon, with only the XDG variables telling it where to live.
    pub fn spawn(&mut self) {
        let p = self.dir.path().to_owned();
        let mut cmd = self.user_command();
        cmd.arg("serve").arg("--config").arg(p.join("config.toml"));
        self.child = Some(spawn_logged(&mut cmd, &p));
        let socket = self.socket();
        wait_socket(&socket, &mut self.child, Duration::from_secs(30), || {
            read_log(&p)
        });
    }

    pub fn log(&self) -> String {
        read_log(self.dir.path())
    }

    /// The keeper's pid, from its pid file.
    pub fn keeper(&self) -> Option<i32> {
        read_pid(&self.state().join("userns.pid"))
    }

    /// SIGKILLs the daemon (as a crash would) and reaps it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERMs the daemon and waits for it.
    pub fn terminate(&mut self) {
        let Some(mut c) = self.child.take() else {
            return;
        };
        let pid = nix::unistd::Pid::from_raw(c.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if c.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
    }

    pub async fn client(&self) -> RuntimeServiceClient<Channel> {
        RuntimeServiceClient::new(channel(&self.socket()).await)
    }

    /// The copied binary as the test user, with only the XDG variables (and the log
    /// level) telling it where to live.
    pub fn user_command(&self) -> Command {
        let p = self.dir.path();
        let mut c = as_user(Path::new("env"));
        c.arg(format!("XDG_RUNTIME_DIR={}", p.join("run").display()))
            .arg(format!("XDG_DATA_HOME={}", p.join("data").display()))
            .args(["SIFCRI_LOG=info", "NO_COLOR=1"])
            .arg(self.bin());
        c
    }

    /// Runs the copied binary as the test user.
    pub fn run_as_user(&self, args: &[&str]) -> Output {
        self.user_command()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Stops everything the daemon started and returns what was still alive after.
    pub fn shutdown(&mut self) -> Vec<String> {
        self.terminate();
        let mut pids = self.own_pids();
        pids.extend(read_pid(&self.state().join("usernet.pid")));
        for pid in pids {
            kill(pid);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left: Vec<String> = self.own_pids().iter().map(|p| describe(*p)).collect();
            if left.is_empty() || Instant::now() > deadline {
                return left;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Live (non-zombie) processes that belong to this daemon: anything running our
    /// copy of the binary or started by it (containers descend from their shims).
    fn own_pids(&self) -> Vec<i32> {
        let bin = self.bin();
        let table = process_table();
        let ours = |pid: i32| {
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e.starts_with(&bin))
                || std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&*bin.to_string_lossy()))
        };
        table
            .iter()
            .filter(|(pid, _, state)| {
                if *state == 'Z' {
                    return false;
                }
                let mut p = *pid;
                for _ in 0..64 {
                    if p <= 1 {
                        return false;
                    }
                    if ours(p) {
                        return true;
                    }
                    p = table.iter().find(|(q, _, _)| *q == p).map_or(0, |t| t.1);
                }
                false
            })
            .map(|t| t.0)
            .collect()
    }
}

impl Drop for UserDaemon {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// `(pid, ppid, state)` of every process.
fn process_table() -> Vec<(i32, i32, char)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let rest = &stat[stat.rfind(')')? + 2..];
            let mut f = rest.split(' ');
            let state = f.next()?.chars().next()?;
            let ppid = f.next()?.parse().ok()?;
            Some((pid, ppid, state))
        })
        .collect()
}

fn describe(pid: i32) -> String {
    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    format!("{pid} {}", String::from_utf8_lossy(&cmd).replace('\0', " "))
}

fn kill(pid: i32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
}

fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path)
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|p| *p > 1)
}

/// A gRPC channel over the unix socket at `path`.
pub async fn channel(path: &Path) -> Channel {
    let path = path.to_owned();
    tonic::transport::Endpoint::try_from("http://localhost")
        .unwrap()
        .connect_with_connector(tower::service_fn(move |_| {
            let path = path.clone();
            async move {
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(
                    tokio::net::UnixStream::connect(path).await?,
                ))
            }
        }))
        .await
        .unwrap()
}

/// Builds a busybox-static SIF (as root, so every file is root's) and imports it as
/// the test user into the daemon's store under `name`; `extra` adds files to the tree.
pub fn busybox_image(d: &UserDaemon, name: &str, extra: impl FnOnce(&Path)) {
    let work = d.dir.path().join("image");
    let rootfs = work.join("rootfs");
    for sub in ["bin", "etc", "tmp", "proc", "sys", "dev", "root", "www"] {
        std::fs::create_dir_all(rootfs.join(sub)).unwrap();
    }
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    let applets = [
        "sh", "cat", "echo", "sleep", "id", "ls", "nc", "httpd", "timeout", "mknod", "printf",
        "ip", "touch", "mount", "head", "mkdir",
    ];
    for a in applets {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(a)).unwrap();
    }
    std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    std::fs::write(rootfs.join("etc/motd"), "hello-from-the-image\n").unwrap();
    std::fs::write(rootfs.join("www/index.html"), "hello-from-pod\n").unwrap();
    extra(&rootfs);
    let sqfs = work.join("rootfs.sqfs");
    let st = Command::new("mksquashfs")
        .arg(&rootfs)
        .arg(&sqfs)
        .args(["-noappend", "-no-progress", "-quiet", "-comp", "gzip"])
        .status()
        .unwrap();
    assert!(st.success());
    let sif = work.join("busybox.sif");
    let bin = d.bin();
    let run = |args: &[&std::ffi::OsStr]| {
        let out = Command::new(&bin).args(args).output().unwrap();
        assert!(out.status.success(), "sifcri {args:?}: {out:?}");
    };
    run(&["sif".as_ref(), "new".as_ref(), sif.as_os_str()]);
    run(&sif_add_args(&sif, &sqfs));
    std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&sif, std::fs::Permissions::from_mode(0o644)).unwrap();
    let sif = sif.to_string_lossy().into_owned();
    let root = d.root().to_string_lossy().into_owned();
    let out = d.run_as_user(&["image", "import", "--root", &root, &sif, name]);
    assert!(out.status.success(), "import as {TEST_USER}: {out:?}");
}

/// A pod config with the required metadata and a log directory the user may write.
pub fn pod_config(d: &UserDaemon, name: &str) -> cri::PodSandboxConfig {
    cri::PodSandboxConfig {
        metadata: Some(cri::PodSandboxMetadata {
            name: name.into(),
            uid: format!("uid-{name}"),
            namespace: "test".into(),
            attempt: 0,
        }),
        hostname: name.into(),
        log_directory: d.logs().to_string_lossy().into_owned(),
        ..Default::default()
    }
}
