//! `sifcri bench`: benchmark arguments.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Benchmarks.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The benchmark.
    #[command(subcommand)]
    pub command: BenchCommand,
}

/// `sifcri bench` verbs.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Time each step of a pod + container lifecycle and the start of many pods at once
    /// against a CRI endpoint (sifcri, containerd, ...), with daemon and monitor memory.
    Cri(BenchCriArgs),
}

/// `sifcri bench cri` arguments.
#[derive(Debug, Args)]
pub struct BenchCriArgs {
    /// The CRI socket.
    #[arg(long, default_value = "/run/sifcri/sifcri.sock", value_name = "PATH")]
    pub endpoint: PathBuf,
    /// The image the containers run (pulled through the ImageService when missing).
    #[arg(
        long,
        default_value = "docker.io/library/busybox:latest",
        value_name = "REF"
    )]
    pub image: String,
    /// Sequential lifecycle rounds (after one uncounted warm-up round).
    #[arg(long, default_value_t = 50)]
    pub rounds: usize,
    /// Pods started at once.
    #[arg(long, default_value_t = 50)]
    pub pods: usize,
    /// The daemon's pid, for its memory (default: the socket's peer).
    #[arg(long, value_name = "PID")]
    pub daemon_pid: Option<i32>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}
