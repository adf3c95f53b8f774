//! Glue between the parsed command line and the library: one function per verb.

use std::process::ExitCode;

use crate::cli::{Cli, Command};

mod bench;
mod ctl;
mod image;
pub mod mount;
mod oci;
mod serve;
mod shim;
mod sif;

/// Runs the verb the user asked for.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Sif(args) => sif::run(args),
        Command::Mount(args) => mount::mount(args),
        Command::Umount(args) => mount::umount(args),
        Command::Oci(args) => oci::run(args),
        Command::Serve(args) => serve::serve(args, cli.log_level.is_some()),
        Command::Ctl(args) => ctl::ctl(args),
        Command::Bench(args) => bench::bench(args),
        Command::Shim(args) => shim::shim(args),
        Command::PodInit => Ok(crate::pod::pod_init()),
        Command::Pull(args) => image::pull(args),
        Command::Push(args) => image::push(args),
        Command::Images(args) => image::images(args),
        Command::Rmi(args) => image::rmi(args),
        Command::Image(args) => image::image(args),
    }
}
