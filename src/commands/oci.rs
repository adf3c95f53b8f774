//! `sifcri oci`: glue to the library.

use std::process::ExitCode;

use crate::cli::oci::OciArgs;

/// Runs `sifcri oci`.
pub fn run(_args: OciArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("sifcri oci is not implemented yet")
}
