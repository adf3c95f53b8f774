//! `sifcri mount` / `sifcri umount`: glue to [`crate::mount`].

use std::process::ExitCode;

use crate::cli::mount::{MountArgs, UmountArgs};
use crate::mount::{Mode, MountRequest};

/// Runs `sifcri mount`.
pub fn mount(args: MountArgs) -> anyhow::Result<ExitCode> {
    let mode = match (args.notify_stdout, args.foreground) {
        (true, _) => Mode::NotifyStdout,
        (false, true) => Mode::Foreground,
        (false, false) => Mode::Background,
    };
    if let Some(bytes) = args.cache_size {
        crate::mount::set_cache_bytes(bytes);
    }
    let req = MountRequest {
        image: args.image,
        partition: args.partition,
        overlay: args.overlay,
        dir: args.dir,
        threads: args.threads.unwrap_or_else(fusefs::mount::default_threads),
        command: args.command,
    };
    Ok(ExitCode::from(crate::mount::mount(&req, mode)?))
}

/// Runs `sifcri umount`.
pub fn umount(args: UmountArgs) -> anyhow::Result<ExitCode> {
    crate::mount::umount(&args.dir, args.lazy)?;
    Ok(ExitCode::SUCCESS)
}
