//! Glue for `sifcri serve`: loads the configuration and runs the daemon.

use std::process::ExitCode;

use crate::cli::serve::ServeArgs;
use crate::config::{Config, Overrides};

/// Runs the daemon until SIGTERM.
pub fn serve(args: ServeArgs, log_level_given: bool) -> anyhow::Result<ExitCode> {
    let overrides = Overrides {
        socket: args.socket,
        root: args.root,
        state: args.state,
    };
    let config = Config::load(args.config.as_deref(), &overrides)?;
    if !log_level_given {
        let level = std::env::var("SIFCRI_LOG").unwrap_or_else(|_| config.log_level.clone());
        crate::logging::init(Some(&level));
    }
    crate::daemon::serve(config)?;
    Ok(ExitCode::SUCCESS)
}
