//! `sifcri oci …`: arguments of the OCI runtime verbs.

use clap::Args;

/// Arguments of `sifcri oci`.
#[derive(Debug, Args)]
pub struct OciArgs {}
