//! `sifcri pull|push|images|rmi|image …`: arguments.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Options every image verb shares.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The image store's root (default: /var/lib/sifcri for root,
    /// $XDG_DATA_HOME/sifcri for other users).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

/// Options of the verbs that talk to a registry.
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// Registry settings (JSON: `{"hosts": {"HOST": {"mirrors": [URL…],
    /// "fallback_to_origin": bool, "plain_http": bool}}, "docker_config": FILE}`).
    #[arg(long, value_name = "FILE")]
    pub registry_config: Option<PathBuf>,
    /// User name for the registry (password from --password or $SIFCRI_PASSWORD).
    #[arg(long)]
    pub username: Option<String>,
    /// Password for the registry (default: $SIFCRI_PASSWORD).
    #[arg(long)]
    pub password: Option<String>,
}

/// Arguments of `sifcri pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// Image reference (`[registry/]repo[:tag][@sha256:…]`).
    pub reference: String,
    /// Also write the image's SIF to FILE.
    #[arg(short, long, value_name = "FILE.sif")]
    pub output: Option<PathBuf>,
    /// Platform to pick from an image index, `os/arch[/variant]` (default: the host's).
    #[arg(long)]
    pub platform: Option<String>,
    /// No progress bars.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Arguments of `sifcri push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The SIF file to push.
    pub file: PathBuf,
    /// Where to push it (`registry/repo:tag`), as an ORAS SIF artifact.
    pub reference: String,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Arguments of `sifcri images`.
#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Print the records as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `sifcri rmi`.
#[derive(Debug, Args)]
pub struct RmiArgs {
    /// Image references or ids to remove.
    #[arg(required = true)]
    pub images: Vec<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `sifcri image`.
#[derive(Debug, Args)]
pub struct ImageArgs {
    #[command(subcommand)]
    pub command: ImageCommand,
}

/// `sifcri image` verbs.
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Copy a local SIF file into the store.
    Import {
        /// The SIF file.
        file: PathBuf,
        /// The name to give it (default: `localhost/<file stem>:latest`).
        name: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Copy an image's SIF out of the store.
    Export {
        /// Image reference or id.
        image: String,
        /// Destination file.
        file: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print an image's record (id, names, size, config) as JSON.
    Inspect {
        /// Image reference or id.
        image: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}
