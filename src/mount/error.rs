//! The errors of `sifcri mount` / `sifcri umount`, each naming what it was doing.

use std::io;
use std::path::PathBuf;

/// What can go wrong while mounting an image, serving it or unmounting it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The image file could not be opened or read.
    #[error("cannot read image {}", path.display())]
    ReadImage {
        /// The image.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The file is neither a SIF nor a squashfs image.
    #[error("{} is neither a SIF image nor a squashfs file", path.display())]
    NotAnImage {
        /// The file.
        path: PathBuf,
    },
    /// The SIF file could not be parsed.
    #[error("invalid SIF image {}", path.display())]
    Sif {
        /// The image.
        path: PathBuf,
        /// Why.
        #[source]
        source: crate::sif::Error,
    },
    /// The SIF holds no partition to mount.
    #[error("{} has no {what}", path.display())]
    NoPartition {
        /// The image.
        path: PathBuf,
        /// What was looked for ("primary system partition", "descriptor 7").
        what: String,
    },
    /// The chosen SIF object is not a squashfs partition.
    #[error("descriptor {id} of {} is not a squashfs partition ({kind})", path.display())]
    NotSquashfs {
        /// The image.
        path: PathBuf,
        /// The descriptor id.
        id: u32,
        /// What it is instead.
        kind: String,
    },
    /// `--partition` was given for a plain squashfs file.
    #[error("--partition applies to SIF images only; {} is a plain squashfs file", path.display())]
    PartitionOfPlainSquashfs {
        /// The image.
        path: PathBuf,
    },
    /// The squashfs partition could not be opened.
    #[error("cannot open the squashfs in {}", path.display())]
    Squashfs {
        /// The image.
        path: PathBuf,
        /// Why.
        #[source]
        source: fusefs::Error,
    },
    /// A directory given on the command line is unusable.
    #[error("{what} {}", path.display())]
    Path {
        /// What was being done ("cannot use mountpoint").
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Mounting, serving or unmounting FUSE failed.
    #[error(transparent)]
    Fuse(#[from] fusefs::mount::MountError),
    /// The kernel refused the overlay mount.
    #[error("the kernel refused to mount overlayfs at {} ({errno}): {hint}", target.display())]
    Overlay {
        /// Where.
        target: PathBuf,
        /// The errno of mount(2).
        errno: nix::Error,
        /// What that errno means here.
        hint: &'static str,
    },
    /// An ordinary user asked for an overlay without a command to run in it.
    #[error(
        "as an ordinary user, --overlay works only inside a user namespace of your own: \
         give a command to run there, e.g. `sifcri mount --overlay UPPER IMAGE DIR -- sh`"
    )]
    OverlayNeedsCommand,
    /// A path cannot be passed in overlayfs' option string.
    #[error("overlay directories must not contain ',', ':' or '\\': {}", path.display())]
    OverlayPath {
        /// The path.
        path: PathBuf,
    },
    /// Setting up the private (user and) mount namespace failed.
    #[error("cannot set up a private namespace: {what}")]
    Namespace {
        /// The step that failed.
        what: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The command to run with the mount could not be started.
    #[error("cannot run {command}")]
    Command {
        /// The command.
        command: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// `sifcri umount` of a directory that is no mountpoint.
    #[error("{} is not a mountpoint", path.display())]
    NotMounted {
        /// The directory.
        path: PathBuf,
    },
    /// An image or container id that cannot name a shared lower or its reference.
    #[error("{id:?} is not a valid image or container id")]
    BadId {
        /// The id.
        id: String,
    },
    /// The background server failed before the mount was ready.
    #[error("{message}")]
    Background {
        /// What the server said.
        message: String,
    },
}

impl Error {
    pub(super) fn path(what: &'static str, path: &std::path::Path, source: io::Error) -> Self {
        Error::Path {
            what,
            path: path.to_owned(),
            source,
        }
    }

    pub(super) fn namespace(what: impl Into<String>, source: impl Into<io::Error>) -> Self {
        Error::Namespace {
            what: what.into(),
            source: source.into(),
        }
    }
}
