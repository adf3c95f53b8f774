//! Shared harness of the `fs_*` end-to-end tests: capability probes, a world-readable
//! scratch directory that cleans up after itself (mounts, processes, files), running
//! commands as root or as the unprivileged test user, and building images.
#![allow(dead_code)]

pub mod image;
pub mod manifest;
pub mod tree;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The ordinary user scripts/setup.sh creates.
pub const TEST_USER: &str = "sifcri-test";

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| v == "true" || v == "1")
}

/// Skips loudly (false) or, under CI=true, fails when `ok` is false.
fn require(ok: bool, what: &str) -> bool {
    if !ok {
        assert!(!in_ci(), "CI=true: this test needs {what}");
        eprintln!("SKIPPED: this test needs {what}");
    }
    ok
}

/// Root, /dev/fuse, mksquashfs: what every test here needs.
pub fn require_root() -> bool {
    require(
        nix::unistd::geteuid().is_root()
            && Path::new("/dev/fuse").exists()
            && which("mksquashfs")
            && which("getfattr"),
        "root, /dev/fuse, mksquashfs and getfattr (run scripts/setup.sh)",
    )
}

/// The test user exists and may open /dev/fuse.
pub fn require_user() -> bool {
    let user = nix::unistd::User::from_name(TEST_USER)
        .ok()
        .flatten()
        .is_some();
    let fuse =
        std::fs::metadata("/dev/fuse").is_ok_and(|m| m.permissions().mode() & 0o006 == 0o006);
    require_root()
        && require(
            user && fuse && which("setpriv"),
            "the user sifcri-test and a 0666 /dev/fuse (scripts/setup.sh)",
        )
}

fn which(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Who runs a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// The test process itself.
    Root,
    /// The unprivileged test user, with a clean environment.
    User,
}

/// A world-readable temporary directory holding a copy of the binary under test.
/// Dropping it unmounts everything below it, ends the processes that name it in
/// their command line and removes it.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix("sifcri-fs-")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let s = Scratch { dir };
        let bin = s.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::copy(env!("CARGO_BIN_EXE_sifcri"), bin.join("sifcri")).unwrap();
        std::fs::copy(
            env!("CARGO_BIN_EXE_sifcri-runtime"),
            bin.join("sifcri-runtime"),
        )
        .unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        s
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The copy of `sifcri` every user can run.
    pub fn bin(&self) -> String {
        self.path()
            .join("bin/sifcri")
            .to_string_lossy()
            .into_owned()
    }

    /// A new directory, owned by whoever will use it.
    pub fn mkdir(&self, name: &str, who: Who) -> PathBuf {
        let p = self.path().join(name);
        std::fs::create_dir_all(&p).unwrap();
        if who == Who::User {
            let user = nix::unistd::User::from_name(TEST_USER).unwrap().unwrap();
            std::os::unix::fs::chown(&p, Some(user.uid.as_raw()), Some(user.gid.as_raw())).unwrap();
        }
        p
    }

    pub fn runner(&self, who: Who) -> Runner {
        Runner {
            who,
            scratch: self.path().to_owned(),
        }
    }

    /// Mounts left below the scratch directory.
    pub fn mounts(&self) -> Vec<String> {
        mounts_below(self.path())
    }

    /// Waits (up to 10 s) until no mount and no process refers to the scratch dir.
    pub fn assert_clean(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (m, p) = (self.mounts(), pids_naming(self.path()));
            if m.is_empty() && p.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "left behind: mounts {m:?}, processes {p:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let mut mounts = self.mounts();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = nix::mount::umount2(m.as_str(), nix::mount::MntFlags::MNT_DETACH);
        }
        for pid in pids_naming(self.path()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        // Let killed servers go before the files they hold are removed.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !pids_naming(self.path()).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Mountpoints at or below `dir`, from /proc/self/mountinfo.
pub fn mounts_below(dir: &Path) -> Vec<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let prefix = dir.to_string_lossy().into_owned();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(&prefix))
        .map(str::to_owned)
        .collect()
}

/// The mountinfo line of the mount at `dir`.
pub fn mountinfo(dir: &Path) -> Option<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let needle = dir.to_string_lossy().into_owned();
    info.lines()
        .find(|l| l.split(' ').nth(4) == Some(needle.as_str()))
        .map(str::to_owned)
}

/// Processes (other than this one) with an argument naming something below `dir`.
pub fn pids_naming(dir: &Path) -> Vec<i32> {
    let me = std::process::id() as i32;
    let needle = dir.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                c.split(|b| *b == 0)
                    .any(|a| String::from_utf8_lossy(a).starts_with(&needle))
            })
        })
        .collect()
}

/// Runs commands as root or as the test user.
pub struct Runner {
    pub who: Who,
    scratch: PathBuf,
}

impl Runner {
    pub fn command(&self, argv: &[&str]) -> Command {
        let mut cmd = match self.who {
            Who::Root => Command::new(argv[0]),
            Who::User => {
                let mut c = Command::new("setpriv");
                c.args([
                    &format!("--reuid={TEST_USER}"),
                    &format!("--regid={TEST_USER}"),
                    "--init-groups",
                    "--reset-env",
                    "--",
                    argv[0],
                ]);
                c
            }
        };
        cmd.args(&argv[1..]).current_dir("/");
        cmd
    }

    pub fn output(&self, argv: &[&str]) -> Output {
        self.command(argv).output().unwrap()
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, argv: &[&str]) -> String {
        let out = self.output(argv);
        assert!(
            out.status.success(),
            "{argv:?} as {:?} failed: {}",
            self.who,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Writes a world-readable file into the scratch directory; returns its path.
    pub fn scratch_file(&self, name: &str, content: &str) -> String {
        let p = self.scratch.join(name);
        std::fs::write(&p, content).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        p.to_string_lossy().into_owned()
    }
}
