//! Shared helpers of the `sifcri oci` end-to-end tests: a world-readable scratch
//! directory with a copy of the binary, a busybox bundle and a state root; commands run
//! as root or as the unprivileged test user; a Drop guard that force-deletes every
//! container and removes the directory.

#![allow(dead_code)]

pub mod sif;

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
        std::fs::copy(
            env!("CARGO_BIN_EXE_sifcri-runtime"),
            root.join("sifcri-runtime"),
        )
        .unwrap();
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

/// The test user's uid.
pub fn user_uid() -> u32 {
    let out = Command::new("id").args(["-u", TEST_USER]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The test user's primary gid.
pub fn user_gid() -> u32 {
    let out = Command::new("id").args(["-g", TEST_USER]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The first subordinate uid of the test user (useradd or setup.sh assigns the range).
pub fn subordinate_start() -> u32 {
    subordinate_in("/etc/subuid")
}

/// The first subordinate gid of the test user.
pub fn subordinate_gid_start() -> u32 {
    subordinate_in("/etc/subgid")
}

fn subordinate_in(file: &str) -> u32 {
    let text = std::fs::read_to_string(file).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{TEST_USER}:")))
        .unwrap_or_else(|| panic!("test user has no {file} range"));
    let fields: Vec<&str> = line.split(':').collect();
    assert!(
        fields[2].parse::<u32>().unwrap() >= 65536,
        "the test user's subordinate range is too small"
    );
    fields[1].parse().unwrap()
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

/// A runc-like config running `sh -c SCRIPT`: `rootless::default_spec` (its mounts but
/// /tmp, its namespaces) with a small capability set, an rlimit, a test hostname and
/// masked paths the busybox tree has.
pub fn config(script: &str) -> Value {
    let args = vec!["sh".into(), "-c".into(), script.into()];
    let mut cfg = serde_json::to_value(rootless::default_spec(args, false)).unwrap();
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    let process = &mut cfg["process"];
    process["env"] = json!(["PATH=/bin", "HOME=/root"]);
    process["capabilities"] = json!({"bounding": caps, "effective": caps, "permitted": caps});
    process["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}]);
    cfg["hostname"] = json!("sifcri-box");
    cfg["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["destination"] != "/tmp");
    cfg["linux"]["maskedPaths"] =
        json!(["/proc/acpi", "/proc/kcore", "/etc/secret", "/sys/firmware"]);
    cfg["linux"]["readonlyPaths"] = json!(["/proc/sys", "/proc/sysrq-trigger"]);
    cfg
}
