//! Glue for `sifcri shim`.

use std::process::ExitCode;

use crate::cli::shim::ShimArgs;
use crate::shim::{Shim, ShimOptions};

/// Detaches the monitor (a forked child) and runs it there; the parent returns.
pub fn shim(args: ShimArgs) -> anyhow::Result<ExitCode> {
    let opts = ShimOptions {
        id: args.id,
        dir: args.dir,
        image: args.image,
        lower: args.lower,
        runtime_root: args.runtime_root,
        log: args.log,
        start: args.start,
    };
    if !args.detached && !Shim::detach(&opts)? {
        return Ok(ExitCode::SUCCESS);
    }
    let code = Shim::run(&opts);
    Ok(ExitCode::from(code))
}
