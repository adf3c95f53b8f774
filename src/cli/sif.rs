//! `sifcri sif …`: arguments of the SIF verbs.

use clap::Args;

/// Arguments of `sifcri sif`.
#[derive(Debug, Args)]
pub struct SifArgs {}
