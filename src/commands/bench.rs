//! Glue for `sifcri bench`: one async runtime, one benchmark, its report on stdout.

use std::process::ExitCode;

use crate::bench::{self, Options};
use crate::cli::bench::{BenchArgs, BenchCommand};

/// Runs a `bench` verb.
pub fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let BenchCommand::Cri(a) = args.command;
    let opts = Options {
        endpoint: a.endpoint,
        image: a.image,
        rounds: a.rounds,
        pods: a.pods,
        daemon_pid: a.daemon_pid,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(bench::run(&opts))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}
