//! Shared helpers of the `sifcri oci` end-to-end tests: a world-readable scratch
//! directory with a copy of the binary, a busybox bundle and a state root; commands run
//! as root or as the unprivileged test user; a Drop guard that force-deletes every
//! container and removes the directory.

#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

/// The unprivileged user made by scripts/setup.sh.
pub const TEST_USER: &str = "sifcri-test";

/// Who runs the runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// root.
    Root,
    /// The unprivileged test user.
    User,
}

/// The modes this machine can test; skips loudly (fails under CI=true) what it cannot.
pub fn modes() -> Vec<Mode> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if !nix::unistd::geteuid().is_root() {
        assert!(!ci, "CI=true: the oci tests must run as root");
        eprintln!("SKIP: oci tests need root (to run as both root and {TEST_USER})");
        return Vec::new();
    }
    let user_ok = Command::new("id")
        .arg(TEST_USER)
        .output()
        .is_ok_and(|o| o.status.success());
    if !user_ok {
        assert!(
            !ci,
            "CI=true: user {TEST_USER} missing (run scripts/setup.sh)"
        );
        eprintln!(
            "SKIP: user {TEST_USER} missing: unprivileged half skipped (run scripts/setup.sh)"
        );
        return vec![Mode::Root];
    }
    vec![Mode::Root, Mode::User]
}

/// One test's scratch directory and containers.
pub struct Env {
    pub mode: Mode,
    pub dir: tempfile::TempDir,
    ids: std::cell::RefCell<Vec<String>>,
}

impl Env {
    /// A scratch dir with the binary, a busybox rootfs at `bundle/rootfs`, a state root.
    pub fn new(mode: Mode) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("sifcri-oci-test")
            .tempdir()
            .unwrap();
        let root = dir.path();
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::copy(env!("CARGO_BIN_EXE_sifcri"), root.join("sifcri")).unwrap();
        make_rootfs(&root.join("bundle/rootfs"));
        std::fs::create_dir(root.join("state")).unwrap();
        std::fs::create_dir(root.join("out")).unwrap();
        if mode == Mode::User {
            chown_to_user(&root.join("state"));
            chown_to_user(&root.join("out"));
        }
        Self {
            mode,
            dir,
            ids: Default::default(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn bundle(&self) -> PathBuf {
        self.path().join("bundle")
    }

    /// Writes the bundle's config.json.
    pub fn write_config(&self, config: &Value) {
        std::fs::write(
            self.bundle().join("config.json"),
            serde_json::to_vec_pretty(config).unwrap(),
        )
        .unwrap();
    }

    /// A `sifcri oci --root STATE ARGS…` command as this mode's user.
    pub fn command(&self, args: &[&str]) -> Command {
        let bin = self.path().join("sifcri");
        let state = self.path().join("state");
        let mut cmd = match self.mode {
            Mode::Root => Command::new(&bin),
            Mode::User => {
                let mut c = Command::new("setpriv");
                c.args([
                    "--reuid",
                    TEST_USER,
                    "--regid",
                    TEST_USER,
                    "--init-groups",
                    "--reset-env",
                ])
                .arg(&bin);
                c
            }
        };
        cmd.arg("oci")
            .arg("--root")
            .arg(&state)
            .args(args)
            .current_dir(self.path());
        cmd
    }

    /// Runs a verb and returns its output (not for create/run of long-lived containers).
    pub fn oci(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).output().unwrap()
    }

    /// Runs a verb that must succeed; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.oci(args);
        assert!(
            out.status.success(),
            "sifcri oci {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `create` with the container's stdout/stderr going to out/ID.out and out/ID.err.
    pub fn create(&self, id: &str) -> Output {
        self.ids.borrow_mut().push(id.to_string());
        let out = self.path().join("out");
        let stdout = std::fs::File::create(out.join(format!("{id}.out"))).unwrap();
        let stderr = std::fs::File::create(out.join(format!("{id}.err"))).unwrap();
        let bundle = self.bundle();
        let status = self
            .command(&["create", "--bundle", bundle.to_str().unwrap(), id])
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .status()
            .unwrap();
        Output {
            status,
            stdout: Vec::new(),
            stderr: std::fs::read(out.join(format!("{id}.err"))).unwrap_or_default(),
        }
    }

    /// `create` that must succeed.
    pub fn create_ok(&self, id: &str) {
        let out = self.create(id);
        assert!(
            out.status.success(),
            "create {id} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `run` with captured output.
    pub fn run(&self, id: &str) -> Output {
        self.run_in(&self.bundle(), id)
    }

    /// `run` of another bundle, with captured output.
    pub fn run_in(&self, bundle: &Path, id: &str) -> Output {
        self.ids.borrow_mut().push(id.to_string());
        self.oci(&["run", "--bundle", bundle.to_str().unwrap(), id])
    }

    /// What the container wrote to stdout (create/start containers).
    pub fn container_stdout(&self, id: &str) -> String {
        std::fs::read_to_string(self.path().join("out").join(format!("{id}.out")))
            .unwrap_or_default()
    }

    /// The `status` field of `state ID`.
    pub fn status(&self, id: &str) -> String {
        let state: Value = serde_json::from_str(&self.ok(&["state", id])).unwrap();
        state["status"].as_str().unwrap().to_string()
    }

    /// Polls until the container's status is `want` (5 s at most).
    pub fn wait_status(&self, id: &str, want: &str) {
        for _ in 0..500 {
            if self.status(id) == want {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!(
            "container {id} never became {want} (is {})",
            self.status(id)
        );
    }

    /// The ids left in the state root.
    pub fn state_entries(&self) -> Vec<String> {
        std::fs::read_dir(self.path().join("state"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for id in self.ids.borrow().iter() {
            let _ = self.oci(&["delete", "--force", id]);
        }
    }
}

pub fn chown_to_user(path: &Path) {
    let st = Command::new("chown")
        .args([TEST_USER, path.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(st.success());
}

/// A busybox-static tree: /bin/busybox plus applet symlinks and the usual dirs.
pub fn make_rootfs(rootfs: &Path) {
    let busybox = Path::new("/bin/busybox");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(
        busybox.exists() || !ci,
        "/bin/busybox missing: install busybox-static (scripts/setup.sh)"
    );
    for d in ["bin", "proc", "sys", "dev", "tmp", "etc", "root"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy(busybox, rootfs.join("bin/busybox")).unwrap();
    for applet in [
        "sh", "cat", "ls", "echo", "sleep", "id", "hostname", "grep", "touch", "mkdir", "test",
        "stat", "tty", "true", "false", "ps", "kill", "pwd",
    ] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
    }
    std::fs::write(rootfs.join("etc/secret"), "top secret\n").unwrap();
    std::fs::set_permissions(rootfs.join("tmp"), std::fs::Permissions::from_mode(0o1777)).unwrap();
}

/// A runc-like config running `sh -c SCRIPT`, with the usual mounts and namespaces.
pub fn config(script: &str) -> Value {
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh", "-c", script],
            "env": ["PATH=/bin", "HOME=/root"],
            "cwd": "/",
            "capabilities": {
                "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": false},
        "hostname": "sifcri-box",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}
        ],
        "linux": {
            "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "network"}, {"type": "cgroup"}],
            "maskedPaths": ["/proc/acpi", "/proc/kcore", "/etc/secret", "/sys/firmware"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}
