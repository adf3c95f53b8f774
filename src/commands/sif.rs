//! `sifcri sif`: glue to the library.

use std::process::ExitCode;

use crate::cli::sif::SifArgs;

/// Runs `sifcri sif`.
pub fn run(_args: SifArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("sifcri sif is not implemented yet")
}
