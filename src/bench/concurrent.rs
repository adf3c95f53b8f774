//! The start of many pods at once: M tasks each run RunPodSandbox + CreateContainer +
//! StartContainer on one shared connection; the wall time for all of them, each pod's
//! own time, the memory with M containers running, then a concurrent teardown.

use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::calls::Calls;
use super::client::Client;
use super::procs::{self, Snapshot};
use super::report::{Concurrent, Procs, Rss};
use super::stats::Summary;
use super::Error;

/// What the concurrent phase measured.
#[derive(Debug)]
pub struct Outcome {
    /// Timings.
    pub timing: Concurrent,
    /// The daemon's memory with every container running.
    pub daemon: Rss,
    /// The monitors started since `before`.
    pub monitors: Procs,
    /// The helpers started since `before`.
    pub helpers: Procs,
}

type Started = (String, Option<String>, Result<Duration, Error>);

/// Starts one pod and its container; returns (name, pod id once made, time taken).
async fn start_one(mut calls: Calls, name: String, image: String) -> Started {
    let config = match calls.pod_config(&name) {
        Ok(c) => c,
        Err(e) => return (name, None, Err(e)),
    };
    let t = Instant::now();
    let pod = match calls.run_pod(&config).await {
        Ok((p, _)) => p,
        Err(e) => return (name, None, Err(e)),
    };
    let res = async {
        let (ctr, _) = calls.create(&pod, &config, &image).await?;
        calls.start(&ctr).await?;
        Ok(t.elapsed())
    };
    let res = res.await;
    (name, Some(pod), res)
}

/// Starts `m` pods at once, measures, and removes them at once.
pub async fn run(
    c: &mut Client,
    image: &str,
    m: usize,
    daemon: i32,
    before: &Snapshot,
) -> Result<Outcome, Error> {
    let t0 = Instant::now();
    let mut set = JoinSet::new();
    for i in 0..m {
        set.spawn(start_one(
            c.calls.clone(),
            format!("bench-c{i}"),
            image.into(),
        ));
    }
    let mut per_pod = Vec::with_capacity(m);
    let mut first = None;
    let mut pods = Vec::with_capacity(m);
    while let Some(joined) = set.join_next().await {
        let (name, pod, res) = joined.map_err(|e| Error::Unexpected(format!("task: {e}")))?;
        if let Some(pod) = pod {
            c.made(&pod, &name);
            pods.push((pod, name));
        }
        match res {
            Ok(d) => per_pod.push(d),
            Err(e) => drop(first.get_or_insert(e)),
        }
    }
    let start_wall = t0.elapsed();
    if let Some(e) = first {
        return Err(e);
    }
    let daemon_rss = procs::rss(daemon)?;
    let (monitors, helpers) = before.new_procs(daemon, m);
    let teardown = teardown(c, pods).await?;
    Ok(Outcome {
        timing: Concurrent {
            pods: m,
            start_wall_ms: ms(start_wall),
            start_per_pod: Summary::of(&per_pod),
            teardown_wall_ms: ms(teardown),
        },
        daemon: daemon_rss,
        monitors,
        helpers,
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// StopPodSandbox + RemovePodSandbox of every pod at once; the wall time.
async fn teardown(c: &mut Client, pods: Vec<(String, String)>) -> Result<Duration, Error> {
    let t0 = Instant::now();
    let mut set = JoinSet::new();
    for (pod, name) in pods {
        let mut calls = c.calls.clone();
        set.spawn(async move {
            calls.stop_pod(&pod).await?;
            calls.remove_pod(&pod, &name).await?;
            Ok::<_, Error>(pod)
        });
    }
    let mut first = None;
    while let Some(joined) = set.join_next().await {
        match joined.map_err(|e| Error::Unexpected(format!("task: {e}")))? {
            Ok(pod) => c.removed(&pod),
            Err(e) => drop(first.get_or_insert(e)),
        }
    }
    first.map_or(Ok(t0.elapsed()), Err)
}
