//! `sifcri ctl`: a small CRI client's arguments.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// A small CRI client: run a pod, list, read logs, exec, remove (like crictl).
#[derive(Debug, Args)]
pub struct CtlArgs {
    /// The CRI socket.
    #[arg(
        long,
        global = true,
        default_value = "/run/sifcri/sifcri.sock",
        value_name = "PATH"
    )]
    pub endpoint: PathBuf,
    /// The verb.
    #[command(subcommand)]
    pub command: CtlCommand,
}

/// `sifcri ctl` verbs.
#[derive(Debug, Subcommand)]
pub enum CtlCommand {
    /// Run IMAGE in a new pod, print its output and exit with its exit code.
    Run {
        /// Remove the pod (and container) once it exited.
        #[arg(long)]
        rm: bool,
        /// The image (as pulled or imported into the daemon's store).
        image: String,
        /// The command (default: the image's).
        #[arg(last = true)]
        command: Vec<String>,
    },
    /// List pods and containers.
    Ps,
    /// Print a container's log.
    Logs {
        /// Container id (or a unique prefix).
        id: String,
    },
    /// Run a command in a running container.
    Exec {
        /// Container id (or a unique prefix).
        id: String,
        /// Seconds before the command is killed (0: none).
        #[arg(long, default_value_t = 0)]
        timeout: i64,
        /// The command.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Stop and remove containers or pods.
    Rm {
        /// Container or pod ids (or unique prefixes).
        #[arg(required = true)]
        ids: Vec<String>,
    },
}
