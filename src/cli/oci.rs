//! `sifcri oci …`: arguments of the OCI runtime verbs (runc-compatible where they
//! overlap). The behaviour lives in the `rootless` crate.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Arguments of `sifcri oci`.
#[derive(Debug, Args)]
#[command(after_help = "\
Works as root and as an ordinary user with the same commands: an ordinary user's \
container always gets a user namespace (its own uid as root, or the spec's ranges \
through newuidmap/newgidmap). See docs/oci.md.")]
pub struct OciArgs {
    /// The state directory (default: /run/sifcri-oci for root,
    /// $XDG_RUNTIME_DIR/sifcri-oci for other users).
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// The verb.
    #[command(subcommand)]
    pub command: OciCommand,
}

/// The runtime-spec verbs.
#[derive(Debug, Subcommand)]
pub enum OciCommand {
    /// Create a container; its process waits for `start`.
    Create(CreateArgs),
    /// Start a created container's process.
    Start(IdArg),
    /// Print the runtime-spec state JSON of a container.
    State(IdArg),
    /// Send a signal to a container's init (default SIGTERM).
    Kill(KillArgs),
    /// Delete a stopped container (a running one with --force).
    Delete(DeleteArgs),
    /// Create, start and wait for a container; exit with its exit code.
    Run(CreateArgs),
    /// List the containers of the state directory.
    List(ListArgs),
    /// Run another process in a running container; exit with its exit code.
    Exec(ExecArgs),
    /// Mount a SIF image as a bundle: its root filesystem at BUNDLE/rootfs (writable
    /// through an overlay with BUNDLE/upper) and a BUNDLE/config.json from the image's
    /// OCI config (or a default one).
    Mount(MountArgs),
    /// Unmount a bundle made by `oci mount` and remove what it added.
    Umount(UmountArgs),
    /// Change the cgroup limits of a created or running container.
    Update(UpdateArgs),
}

/// Arguments of `update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// A JSON file of `linux.resources` (runtime spec `LinuxResources`); `-` reads
    /// standard input.
    #[arg(long, short, value_name = "FILE")]
    pub resources: PathBuf,
    /// The container id.
    pub id: String,
}

/// Arguments of `mount`.
#[derive(Debug, Args)]
pub struct MountArgs {
    /// The SIF (or squashfs) image.
    pub image: PathBuf,
    /// The bundle directory (created when missing).
    pub bundle: PathBuf,
}

/// Arguments of `umount`.
#[derive(Debug, Args)]
pub struct UmountArgs {
    /// The bundle directory given to `oci mount`.
    pub bundle: PathBuf,
}

/// A container id.
#[derive(Debug, Args)]
pub struct IdArg {
    /// The container id.
    pub id: String,
}

/// Arguments of `create` and `run`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The bundle directory (holding config.json).
    #[arg(long, short, default_value = ".", value_name = "DIR")]
    pub bundle: PathBuf,
    /// A unix socket that receives the pty master (for process.terminal).
    #[arg(long, value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// Write the container's pid to this file.
    #[arg(long, value_name = "PATH")]
    pub pid_file: Option<PathBuf>,
    /// The container id.
    pub id: String,
}

/// Arguments of `kill`.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal every process of the container's cgroup, not only init.
    #[arg(long, short)]
    pub all: bool,
    /// The container id.
    pub id: String,
    /// The signal, by name (TERM, SIGTERM) or number.
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

/// Arguments of `delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Kill the container first if it still runs.
    #[arg(long, short)]
    pub force: bool,
    /// The container id.
    pub id: String,
}

/// Arguments of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format.
    #[arg(long, short, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// Print ids only.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Arguments of `exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Give the process a terminal (needs --console-socket).
    #[arg(long, short)]
    pub tty: bool,
    /// A unix socket that receives the pty master.
    #[arg(long, value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// Add or replace an environment variable (KEY=VALUE); repeatable.
    #[arg(long, short, value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// The working directory inside the container.
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Return at once instead of waiting for the process.
    #[arg(long, short)]
    pub detach: bool,
    /// Write the pid of the process's monitor (it exits with the process's code).
    #[arg(long, value_name = "PATH")]
    pub pid_file: Option<PathBuf>,
    /// The user, as `UID[:GID]`.
    #[arg(long, short, value_name = "UID[:GID]")]
    pub user: Option<String>,
    /// The container id.
    pub id: String,
    /// The program and its arguments.
    #[arg(trailing_var_arg = true, required = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}
