//! Command-line argument structs (clap). Behaviour lives elsewhere: see `commands`.

use clap::{Parser, Subcommand};

pub mod bench;
pub mod ctl;
pub mod fast;
pub mod image;
pub mod mount;
pub mod oci;
pub mod serve;
pub mod shim;
pub mod sif;

/// A Kubernetes CRI runtime for Singularity/Apptainer SIF images, with or without root.
#[derive(Debug, Parser)]
#[command(name = "sifcri", bin_name = "sifcri", version, about)]
pub struct Cli {
    /// Log filter (error, warn, info, debug, trace, or a tracing directive); default from SIFCRI_LOG, else warn.
    #[arg(long, global = true)]
    pub log_level: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

/// The top-level verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read and write SIF files (like the reference siftool).
    Sif(sif::SifArgs),
    /// Serve a SIF (or plain squashfs) image read-only through FUSE at DIR.
    Mount(mount::MountArgs),
    /// Unmount a directory mounted by `sifcri mount`.
    Umount(mount::UmountArgs),
    /// The OCI runtime command group (runtime-spec verbs, like `singularity oci`).
    Oci(oci::OciArgs),
    /// Serve the Kubernetes CRI on a unix socket (the daemon).
    Serve(serve::ServeArgs),
    /// A small CRI client: run a pod, list, logs, exec, remove (like crictl).
    Ctl(ctl::CtlArgs),
    /// Benchmarks: `sifcri bench cri` times a CRI endpoint's pod lifecycle.
    Bench(bench::BenchArgs),
    /// The per-container monitor (internal: started by `sifcri serve`).
    #[command(hide = true)]
    Shim(shim::ShimArgs),
    /// The first process of a pod's pid namespace (internal: started by `sifcri serve`).
    #[command(hide = true)]
    PodInit,
    /// Pull an image (docker reference or ORAS SIF artifact) into the image store as a SIF.
    Pull(image::PullArgs),
    /// Push a SIF file to a registry as an ORAS artifact.
    Push(image::PushArgs),
    /// List the images in the store.
    Images(image::ImagesArgs),
    /// Remove images from the store.
    Rmi(image::RmiArgs),
    /// Image store commands: import, export, inspect.
    Image(image::ImageArgs),
}
