//! `sifcri mount` / `sifcri umount`: glue to `fusefs`.

use std::process::ExitCode;

use crate::cli::mount::{MountArgs, UmountArgs};

/// Runs `sifcri mount`.
pub fn mount(_args: MountArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("sifcri mount is not implemented yet")
}

/// Runs `sifcri umount`.
pub fn umount(_args: UmountArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("sifcri umount is not implemented yet")
}
