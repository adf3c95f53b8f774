//! Glue for `sifcri serve`: loads the configuration and runs the daemon.

use std::process::ExitCode;

use crate::cli::serve::ServeArgs;
use crate::config::{Config, Overrides};

/// Runs the daemon until SIGTERM.
pub fn serve(args: ServeArgs, log_level_given: bool) -> anyhow::Result<ExitCode> {
    if args.userns_keeper {
        crate::daemon::userns::keeper()?;
    }
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
    if !nix::unistd::geteuid().is_root() {
        // Before any thread exists: joining a user namespace needs a single thread.
        crate::daemon::userns::enter(&config)?;
    }
    crate::daemon::serve(config)?;
    Ok(ExitCode::SUCCESS)
}
