//! The benchmark's result and its two renderings: JSON (serde) for scripts such as
//! bench/cri.sh, and a plain-text table for people.

use std::fmt;

use serde::Serialize;

use super::stats::Summary;

/// The whole result of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The CRI socket measured.
    pub endpoint: String,
    /// The image the containers ran.
    pub image: String,
    /// Whether the run had to pull it first (not timed).
    pub image_pulled: bool,
    /// The daemon.
    pub daemon: Daemon,
    /// Lifecycle rounds counted.
    pub rounds: usize,
    /// Each lifecycle step's spread, then `Total`.
    pub steps: Vec<StepSummary>,
    /// The concurrent start.
    pub concurrent: Concurrent,
    /// Memory of the daemon and the monitors.
    pub memory: Memory,
    /// The machine's load averages (1, 5, 15 min) at the end of the run.
    pub load_average: String,
}

/// The daemon behind the socket.
#[derive(Debug, Clone, Serialize)]
pub struct Daemon {
    /// Its pid.
    pub pid: i32,
    /// Its command name.
    pub comm: String,
    /// Its user id.
    pub uid: u32,
}

/// One step's spread over the rounds.
#[derive(Debug, Clone, Serialize)]
pub struct StepSummary {
    /// The CRI call (or `Total`).
    pub step: String,
    /// The spread.
    #[serde(flatten)]
    pub summary: Summary,
}

impl StepSummary {
    /// `step`'s spread.
    pub fn new(step: &str, summary: Summary) -> StepSummary {
        StepSummary {
            step: step.into(),
            summary,
        }
    }
}

/// The start of many pods at once.
#[derive(Debug, Clone, Serialize)]
pub struct Concurrent {
    /// How many pods (one container each).
    pub pods: usize,
    /// Wall time until every pod's container was started, ms.
    pub start_wall_ms: f64,
    /// Each pod's own RunPodSandbox + CreateContainer + StartContainer time.
    pub start_per_pod: Summary,
    /// Wall time of StopPodSandbox + RemovePodSandbox of all of them at once, ms.
    pub teardown_wall_ms: f64,
}

/// Resident memory of one process.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Rss {
    /// Resident set size, KiB.
    pub rss_kib: u64,
    /// Proportional set size (shared pages divided among their users), KiB.
    pub pss_kib: u64,
}

/// Processes of one kind running while the concurrent pods ran.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Procs {
    /// How many processes.
    pub count: usize,
    /// Their RSS summed, KiB.
    pub rss_kib: u64,
    /// Their PSS summed, KiB.
    pub pss_kib: u64,
    /// RSS per container, KiB.
    pub per_container_rss_kib: f64,
    /// PSS per container, KiB.
    pub per_container_pss_kib: f64,
}

impl Procs {
    /// Counts one more process of memory `r`.
    pub fn add(&mut self, r: Rss) {
        self.count += 1;
        self.rss_kib += r.rss_kib;
        self.pss_kib += r.pss_kib;
    }

    /// Sets the per-container values for `containers` containers.
    pub fn per(&mut self, containers: usize) {
        let n = containers.max(1) as f64;
        self.per_container_rss_kib = self.rss_kib as f64 / n;
        self.per_container_pss_kib = self.pss_kib as f64 / n;
    }
}

/// Memory of the daemon and the monitors.
#[derive(Debug, Clone, Serialize)]
pub struct Memory {
    /// The daemon after the warm-up round, no pod running.
    pub daemon_idle: Rss,
    /// The daemon with the concurrent pods running.
    pub daemon_loaded: Rss,
    /// The monitors of the concurrent pods (sifcri shim, containerd-shim).
    pub monitors: Procs,
    /// The other per-pod or per-container processes (sifcri mount, pause).
    pub helpers: Procs,
}

fn mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.daemon;
        writeln!(
            f,
            "endpoint {} (pid {} {}, uid {})",
            self.endpoint, d.pid, d.comm, d.uid
        )?;
        writeln!(
            f,
            "image {}, {} rounds, load average {}",
            self.image, self.rounds, self.load_average
        )?;
        writeln!(
            f,
            "{:<18}{:>10}{:>10}{:>10}",
            "step", "p50 ms", "p90 ms", "max ms"
        )?;
        for s in &self.steps {
            let m = &s.summary;
            writeln!(
                f,
                "{:<18}{:>10.1}{:>10.1}{:>10.1}",
                s.step, m.p50_ms, m.p90_ms, m.max_ms
            )?;
        }
        let c = &self.concurrent;
        let p = &c.start_per_pod;
        writeln!(f, "{} pods at once: start {:.0} ms (per pod p50 {:.0}, p90 {:.0}, max {:.0}), teardown {:.0} ms",
            c.pods, c.start_wall_ms, p.p50_ms, p.p90_ms, p.max_ms, c.teardown_wall_ms)?;
        let m = &self.memory;
        let (i, l) = (&m.daemon_idle, &m.daemon_loaded);
        writeln!(
            f,
            "daemon RSS idle {} (PSS {}), with {} containers {} (PSS {})",
            mib(i.rss_kib as f64),
            mib(i.pss_kib as f64),
            c.pods,
            mib(l.rss_kib as f64),
            mib(l.pss_kib as f64)
        )?;
        for (what, n) in [("monitors", &m.monitors), ("helpers", &m.helpers)] {
            writeln!(
                f,
                "{what}: {} processes, per container RSS {} PSS {}",
                n.count,
                mib(n.per_container_rss_kib),
                mib(n.per_container_pss_kib)
            )?;
        }
        Ok(())
    }
}
