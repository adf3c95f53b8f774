//! Sequential rounds of one pod + container lifecycle, each step timed on its own:
//! RunPodSandbox, CreateContainer, StartContainer, ExecSync (`true`), StopContainer,
//! RemoveContainer, StopPodSandbox, RemovePodSandbox. Before StopContainer, an untimed
//! wait until the container logged that it handles SIGTERM.

use std::time::Duration;

use super::client::Client;
use super::report::StepSummary;
use super::stats::Summary;
use super::Error;

/// The steps, in the order they run (the CRI call names).
pub const STEPS: [&str; 8] = [
    "RunPodSandbox",
    "CreateContainer",
    "StartContainer",
    "ExecSync",
    "StopContainer",
    "RemoveContainer",
    "StopPodSandbox",
    "RemovePodSandbox",
];

/// One lifecycle of pod `name`; the time of each step, in [`STEPS`] order.
pub async fn round(c: &mut Client, image: &str, name: &str) -> Result<[Duration; 8], Error> {
    let mut t = [Duration::ZERO; 8];
    let config = c.calls.pod_config(name)?;
    let (pod, d) = c.calls.run_pod(&config).await?;
    c.made(&pod, name);
    t[0] = d;
    let (ctr, d) = c.calls.create(&pod, &config, image).await?;
    t[1] = d;
    t[2] = c.calls.start(&ctr).await?.1;
    t[3] = c.calls.exec_true(&ctr).await?.1;
    c.calls.wait_ready(name).await?;
    t[4] = c.calls.stop_container(&ctr).await?.1;
    t[5] = c.calls.remove_container(&ctr).await?.1;
    t[6] = c.calls.stop_pod(&pod).await?.1;
    t[7] = c.calls.remove_pod(&pod, name).await?.1;
    c.removed(&pod);
    Ok(t)
}

/// `n` rounds; each step's spread, then the whole lifecycle's as `Total`.
pub async fn rounds(c: &mut Client, image: &str, n: usize) -> Result<Vec<StepSummary>, Error> {
    let mut all = Vec::with_capacity(n);
    for i in 0..n {
        all.push(round(c, image, &format!("bench-{i}")).await?);
    }
    let mut out: Vec<StepSummary> = STEPS
        .iter()
        .enumerate()
        .map(|(k, step)| {
            let samples: Vec<Duration> = all.iter().map(|r| r[k]).collect();
            StepSummary::new(step, Summary::of(&samples))
        })
        .collect();
    let totals: Vec<Duration> = all.iter().map(|r| r.iter().sum()).collect();
    out.push(StepSummary::new("Total", Summary::of(&totals)));
    Ok(out)
}
