//! `sifcri mount` and `sifcri umount`: arguments.

use clap::Args;

/// Arguments of `sifcri mount`.
#[derive(Debug, Args)]
pub struct MountArgs {}

/// Arguments of `sifcri umount`.
#[derive(Debug, Args)]
pub struct UmountArgs {}
