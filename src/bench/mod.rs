//! `sifcri bench cri`: a CRI client that times a pod + container lifecycle against any
//! CRI endpoint (sifcri or containerd) and reports latencies and memory.
//!
//! Input: a socket path and [`Options`]; the runtime must be able to pull (or already
//! hold) the image. Output: a [`Report`], printed as a table or as JSON by the CLI glue.
//! `client` holds the connection and image pull, `calls` and `teardown` the timed CRI
//! calls, `lifecycle` the sequential rounds, `concurrent` the start of many pods at
//! once, `procs` the daemon and monitor memory, `stats` the percentiles and `report`
//! the result and its rendering.

use std::path::PathBuf;

mod calls;
mod client;
mod concurrent;
mod lifecycle;
mod procs;
mod report;
mod stats;
mod teardown;

pub use report::{Concurrent, Daemon, Memory, Procs, Report, Rss, StepSummary};
pub use stats::Summary;

use client::Client;

/// What the benchmark can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The socket cannot be reached.
    #[error("cannot connect to {path}: {source}")]
    Connect {
        /// The socket.
        path: PathBuf,
        /// Why.
        source: tonic::transport::Error,
    },
    /// The runtime refused a call.
    #[error("{call}: {status}")]
    Call {
        /// The CRI call.
        call: &'static str,
        /// The runtime's answer.
        status: tonic::Status,
    },
    /// The runtime answered, but not as the lifecycle needs.
    #[error("{0}")]
    Unexpected(String),
    /// A local file or /proc read failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The socket's peer credentials could not be read.
    #[error("peer credentials of {path}: {source}")]
    PeerCred {
        /// The socket.
        path: PathBuf,
        /// Why.
        source: nix::Error,
    },
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The CRI socket.
    pub endpoint: PathBuf,
    /// The image every container runs (pulled through the ImageService when missing).
    pub image: String,
    /// Sequential lifecycle rounds (a warm-up round is run first and not counted).
    pub rounds: usize,
    /// Pods started at once.
    pub pods: usize,
    /// The daemon's pid (default: the socket's peer, from SO_PEERCRED).
    pub daemon_pid: Option<i32>,
}

/// Runs the whole benchmark: warm-up, `rounds` lifecycles, `pods` concurrent starts.
/// Whatever it created is stopped and removed, also when a step fails.
pub async fn run(opts: &Options) -> Result<Report, Error> {
    let daemon = match opts.daemon_pid {
        Some(pid) => pid,
        None => procs::peer_pid(&opts.endpoint)?,
    };
    let mut c = Client::connect(&opts.endpoint, daemon).await?;
    let result = measure(&mut c, opts, daemon).await;
    let cleanup = c.cleanup().await;
    let report = result?;
    cleanup?;
    Ok(report)
}

async fn measure(c: &mut Client, opts: &Options, daemon: i32) -> Result<Report, Error> {
    let pulled = c.ensure_image(&opts.image).await?;
    let before = procs::Snapshot::take();
    lifecycle::round(c, &opts.image, "warmup").await?;
    let idle = procs::rss(daemon)?;
    let steps = lifecycle::rounds(c, &opts.image, opts.rounds).await?;
    let concurrent = concurrent::run(c, &opts.image, opts.pods, daemon, &before).await?;
    Ok(Report {
        endpoint: opts.endpoint.display().to_string(),
        image: opts.image.clone(),
        image_pulled: pulled,
        daemon: procs::describe(daemon),
        rounds: opts.rounds,
        steps,
        concurrent: concurrent.timing,
        memory: Memory {
            daemon_idle: idle,
            daemon_loaded: concurrent.daemon,
            monitors: concurrent.monitors,
            helpers: concurrent.helpers,
        },
        load_average: procs::load_average(),
    })
}
