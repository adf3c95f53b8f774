//! `sifcri shim`: the monitor of one container, detached from the daemon so that the
//! daemon can die and restart without touching the container.
//!
//! The daemon starts `sifcri shim ...` with a pipe as stdout; the shim forks (no
//! re-exec: it has one thread then) and the parent exits at once, so the daemon reaps
//! it and no zombie is left. The child, in a new session:
//! 1. mounts the root filesystem: a kernel overlay at `DIR/bundle/rootfs` whose lower
//!    is the image's FUSE mount shared by all its containers (`--lower`, mounted here
//!    when no container of the image runs yet, see `crate::mount::Lowers`), or, without
//!    `--lower`, a FUSE mount of its own;
//! 2. creates the container with `rootless`, its stdout and stderr on pipes, and with
//!    `--start` (StartContainer) starts it;
//! 3. writes `ready PID` (or `error MESSAGE`) on the daemon's pipe and closes it;
//! 4. copies the pipes (or the pty master, for a `tty` container) to the CRI log file
//!    ([`log`]), reopening it on SIGUSR1, and serves attach clients on
//!    `DIR/control.sock` (`control`, [`wire`]): the output fanned out to them, their
//!    input to the container's stdin (a pipe or the pty, as [`stdio`] planned), resizes;
//! 5. reaps every child (it is a subreaper), and when init exits deletes the
//!    container, unmounts the overlay, writes `DIR/exit.json` atomically and exits
//!    (the daemon waits for that exit on a pidfd).
//!
//! Signalling the container is done by the daemon through `rootless` directly (and
//! starting it too, for a monitor started without `--start`); the daemon drops the container's reference on the
//! shared lower when it removes the container.

mod control;
pub mod log;
pub mod stdio;
pub mod wire;

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

/// What the shim needs.
#[derive(Debug, Clone)]
pub struct ShimOptions {
    /// The container id.
    pub id: String,
    /// The container's runtime directory.
    pub dir: PathBuf,
    /// The SIF image.
    pub image: PathBuf,
    /// The image's shared lower directory (`STATE/lowers/HEX`), if any.
    pub lower: Option<PathBuf>,
    /// The OCI runtime state root.
    pub runtime_root: PathBuf,
    /// The CRI log file.
    pub log: Option<PathBuf>,
    /// Start the container once created (StartContainer), not just create it.
    pub start: bool,
}

/// How the container ended, as written to `DIR/exit.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExitRecord {
    /// Exit code (128 + signal when killed).
    pub exit_code: i32,
    /// When, ns since the epoch.
    pub finished_at: i64,
    /// Killed by this signal, if so.
    pub signal: Option<i32>,
    /// The kernel's OOM killer killed a process of the container.
    #[serde(default)]
    pub oom_killed: bool,
}

/// The monitor's entry points.
#[derive(Debug)]
pub struct Shim;

impl Shim {
    /// Forks the monitor off: true in the child, which goes on to [`Shim::run`] with
    /// stdin on /dev/null and stderr on `DIR/shim.log`; false in the parent, which
    /// returns at once. The process must have one thread.
    pub fn detach(opts: &ShimOptions) -> std::io::Result<bool> {
        let shim_log = File::create(opts.dir.join("shim.log"))?;
        let null = File::open("/dev/null")?;
        match crate::sys::fork_single_threaded()? {
            nix::unistd::ForkResult::Parent { .. } => Ok(false),
            nix::unistd::ForkResult::Child => {
                nix::unistd::dup2_stdin(&null)?;
                nix::unistd::dup2_stderr(&shim_log)?;
                Ok(true)
            }
        }
    }

    /// The detached monitor; returns its exit status.
    pub fn run(opts: &ShimOptions) -> u8 {
        let _ = nix::unistd::setsid();
        let _ = std::env::set_current_dir("/");
        let pid = std::process::id().to_string();
        let _ = crate::state::write_volatile(&opts.dir.join("shim.pid"), pid.as_bytes());
        // Close-on-exec, so that nothing the shim forks or runs holds the pipe open.
        let ready = match nix::unistd::dup(std::io::stdout().as_fd()) {
            Ok(fd) => File::from(fd),
            Err(_) => return 1,
        };
        let cloexec = nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC);
        let _ = nix::fcntl::fcntl(&ready, cloexec);
        match prepare(opts) {
            Ok(prepared) => {
                let _ = writeln!(&ready, "ready {}", prepared.pid);
                drop(ready);
                monitor(opts, prepared)
            }
            Err(e) => {
                let _ = writeln!(&ready, "error {e}");
                cleanup_rootfs(opts);
                1
            }
        }
    }
}

/// What [`prepare`] made: init's pid and the shim's ends of the container's stdio.
struct Prepared {
    pid: i32,
    /// Read ends of stdout and stderr.
    pipes: [OwnedFd; 2],
    /// Write end of stdin (a pipe, or the pty master).
    stdin: Option<File>,
    /// The pty master of a `tty` container.
    master: Option<File>,
    plan: stdio::StdioPlan,
}

/// Mounts the root filesystem and creates the container with its stdio wired.
fn prepare(opts: &ShimOptions) -> Result<Prepared, String> {
    nix::sys::prctl::set_child_subreaper(true).map_err(|e| format!("subreaper: {e}"))?;
    let rootfs = opts.dir.join("bundle/rootfs");
    std::fs::create_dir_all(&rootfs).map_err(|e| format!("create {}: {e}", rootfs.display()))?;
    mount_rootfs(opts, &rootfs)?;
    let (out_r, out_w) = nix::unistd::pipe().map_err(|e| format!("pipe: {e}"))?;
    let (err_r, err_w) = nix::unistd::pipe().map_err(|e| format!("pipe: {e}"))?;
    let plan = stdio::StdioPlan::load(&opts.dir);
    let mut wiring = stdio::Wiring::new(plan, &opts.dir)?;
    let saved_err = nix::unistd::dup(std::io::stderr().as_fd()).map_err(|e| e.to_string())?;
    nix::unistd::dup2_stdout(&out_w).map_err(|e| format!("dup2: {e}"))?;
    nix::unistd::dup2_stderr(&err_w).map_err(|e| format!("dup2: {e}"))?;
    drop((out_w, err_w));
    let created = wiring.install_stdin().and_then(|()| {
        rootless::Container::create(&rootless::CreateOptions {
            root: opts.runtime_root.clone(),
            id: opts.id.clone(),
            bundle: opts.dir.join("bundle"),
            console_socket: wiring.console_path(),
            ..Default::default()
        })
        .map_err(|e| e.to_string())
    });
    stdio::restore_stdin();
    // Our own fds 1 and 2 must not keep the container's pipes open.
    let null = std::fs::OpenOptions::new().write(true).open("/dev/null");
    if let Ok(null) = &null {
        let _ = nix::unistd::dup2_stdout(null);
    }
    let _ = nix::unistd::dup2_stderr(&saved_err);
    let container = created?;
    if opts.start {
        if let Err(e) = container.start() {
            let _ = container.delete(true);
            return Err(format!("start: {e}"));
        }
    }
    let master = wiring.take_master()?;
    let stdin = match (&master, plan.stdin) {
        (Some(m), true) => Some(m.try_clone().map_err(|e| format!("dup the pty: {e}"))?),
        _ => wiring.stdin_write.take(),
    };
    Ok(Prepared {
        pid: container.pid().unwrap_or(0),
        pipes: [out_r, err_r],
        stdin,
        master,
        plan,
    })
}

/// The overlay on the image's shared lower at `rootfs`, or a FUSE mount of its own.
fn mount_rootfs(opts: &ShimOptions, rootfs: &Path) -> Result<(), String> {
    let upper = opts.dir.join("upper");
    if let Some(lower) = &opts.lower {
        return crate::mount::mount_container_rootfs(lower, &opts.image, &upper, rootfs)
            .map_err(|e| e.to_string());
    }
    let req = crate::mount::MountRequest {
        image: opts.image.clone(),
        partition: None,
        overlay: Some(upper),
        dir: rootfs.to_owned(),
        threads: 2,
        command: Vec::new(),
    };
    crate::mount::mount(&req, crate::mount::Mode::Background)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Copies the logs, serves attach clients and waits for init; returns the shim's
/// exit status.
fn monitor(opts: &ShimOptions, prepared: Prepared) -> u8 {
    let Prepared {
        pid: init,
        pipes,
        stdin,
        master,
        plan,
    } = prepared;
    let mut set = SigSet::empty();
    for s in [Signal::SIGCHLD, Signal::SIGUSR1, Signal::SIGTERM] {
        set.add(s);
    }
    let _ = set.thread_block();
    let logfile = match log::LogFile::open(opts.log.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("sifcri shim: cannot open the log: {e}");
            log::LogFile::discard()
        }
    };
    let terminal = master.as_ref().and_then(|m| m.try_clone().ok());
    let children = std::sync::Arc::new(control::exec::Children::new());
    let exec = control::exec::Context {
        runtime_root: opts.runtime_root.clone(),
        id: opts.id.clone(),
        children: children.clone(),
    };
    let hub = control::Hub::new(stdin, plan.stdin_once, terminal, Some(exec));
    let control = serve_control(opts, &hub);
    let [out, err] = pipes;
    let mut sources = vec![
        (File::from(out), wire::Kind::Stdout, "stdout"),
        (File::from(err), wire::Kind::Stderr, "stderr"),
    ];
    sources.extend(master.map(|m| (m, wire::Kind::Stdout, "stdout")));
    // Each copier says when it is done, so the wait below ends with the last one.
    let (done, finished) = std::sync::mpsc::channel();
    let copiers = sources.len();
    for (inner, kind, stream) in sources {
        let (l, hub, done) = (logfile.clone(), hub.clone(), done.clone());
        std::thread::spawn(move || {
            l.copy(control::Tee { inner, hub, kind }, stream);
            let _ = done.send(());
        });
    }
    let mut exit = wait_init(&set, init, &logfile, &children);
    // Execs still running are killed with the container below; their clients hear so.
    children.close();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    for _ in 0..copiers {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if finished.recv_timeout(left).is_err() {
            break;
        }
    }
    if let Some(path) = control {
        let _ = std::fs::remove_file(path);
    }
    hub.close();
    if let Ok(c) = rootless::Container::load(&opts.runtime_root, &opts.id) {
        // Read before delete: the cgroup goes with it.
        exit.oom_killed = c.cgroup().oom_kills() > 0;
        // In a pod-wide pid namespace init's death does not end its children.
        for p in c.cgroup().pids() {
            let _ = nix::sys::signal::kill(p, Signal::SIGKILL);
        }
        let _ = c.delete(true);
    }
    cleanup_rootfs(opts);
    reap_all();
    // Last: once the record exists, the daemon may remove the directory.
    if let Err(e) = crate::state::save_volatile(&opts.dir.join("exit.json"), &exit) {
        eprintln!("sifcri shim: {e}");
        return 1;
    }
    0
}

/// Waits for init's exit, reaping every other child (an exec's status goes to its
/// client through `children`) and reopening the log on SIGUSR1.
fn wait_init(
    set: &SigSet,
    init: i32,
    logfile: &log::LogFile,
    children: &control::exec::Children,
) -> ExitRecord {
    let init = Pid::from_raw(init);
    loop {
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == init => return record(code, None),
                Ok(WaitStatus::Signaled(pid, sig, _)) if pid == init => {
                    return record(128 + sig as i32, Some(sig as i32))
                }
                Ok(WaitStatus::Exited(pid, code)) => {
                    children.exited(pid.as_raw(), code);
                }
                Ok(WaitStatus::Signaled(pid, sig, _)) => {
                    children.exited(pid.as_raw(), 128 + sig as i32);
                }
                Ok(WaitStatus::StillAlive) | Err(nix::Error::ECHILD) => break,
                Ok(_) | Err(nix::Error::EINTR) => continue,
                Err(_) => break,
            }
        }
        match set.wait() {
            Ok(Signal::SIGUSR1) => {
                if let Err(e) = logfile.reopen() {
                    eprintln!("sifcri shim: cannot reopen the log: {e}");
                }
            }
            Ok(Signal::SIGTERM) => {
                let _ = nix::sys::signal::kill(init, Signal::SIGKILL);
            }
            _ => {}
        }
    }
}

/// Binds `DIR/control.sock` and serves attach clients on it; returns its path.
fn serve_control(opts: &ShimOptions, hub: &std::sync::Arc<control::Hub>) -> Option<PathBuf> {
    let path = opts.dir.join(wire::CONTROL_SOCKET);
    let dir = File::open(&opts.dir).ok()?;
    let short = wire::short_path(&dir, wire::CONTROL_SOCKET);
    let _ = std::fs::remove_file(&short);
    match std::os::unix::net::UnixListener::bind(&short) {
        Ok(l) => {
            hub.serve(l);
            Some(path)
        }
        Err(e) => {
            eprintln!("sifcri shim: cannot serve {}: {e}", path.display());
            None
        }
    }
}

fn record(exit_code: i32, signal: Option<i32>) -> ExitRecord {
    ExitRecord {
        exit_code,
        finished_at: crate::state::now_nanos(),
        signal,
        oom_killed: false,
    }
}

fn cleanup_rootfs(opts: &ShimOptions) {
    let rootfs = opts.dir.join("bundle/rootfs");
    let _ = fusefs::mount::unmount(&rootfs, true);
}

fn reap_all() {
    while let Ok(status) = waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
        if status == WaitStatus::StillAlive {
            break;
        }
    }
}

/// Reads the exit record of a container directory, if the container has ended.
pub fn exit_record(dir: &Path) -> Option<ExitRecord> {
    let bytes = std::fs::read(dir.join("exit.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}
