//! `sifcri mount` and `sifcri umount`: arguments.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Args;

/// Arguments of `sifcri mount`.
///
/// Serves IMAGE (a SIF file's squashfs partition, or a plain squashfs file) read-only
/// at DIR through FUSE, without loop devices. By default the command returns once the
/// mount is ready and leaves its server in the background; `sifcri umount DIR` ends it.
#[derive(Debug, Args)]
#[command(after_help = "\
With `-- COMMAND`, the mount is made in a private mount namespace (a user namespace \
too for an ordinary user), COMMAND runs there and everything is unmounted when it \
exits; sifcri exits with COMMAND's status. An ordinary user needs this form for \
--overlay: the kernel lets an ordinary user mount overlayfs only inside a user \
namespace of their own. See docs/fusefs.md.")]
pub struct MountArgs {
    /// The SIF descriptor id of the partition to serve (default: the primary system
    /// partition); it must hold squashfs.
    #[arg(long, value_name = "ID")]
    pub partition: Option<u32>,

    /// Stack a kernel overlayfs with this writable upper directory on the image;
    /// its work directory is `.<name>.work` next to it (created when missing).
    #[arg(long, value_name = "UPPERDIR")]
    pub overlay: Option<PathBuf>,

    /// Stay attached and serve until unmounted (SIGINT/SIGTERM unmount cleanly).
    #[arg(long)]
    pub foreground: bool,

    /// FUSE worker threads (default: the number of CPUs, 2 to 8).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Memory for decompressed image blocks: MiB, or bytes with a `B` suffix (default:
    /// 6 MiB; the kernel's page cache holds file data anyway).
    #[arg(long, value_name = "MIB", value_parser = parse_cache_size)]
    pub cache_size: Option<u64>,

    /// Internal: report readiness on stdout (used by the background parent).
    #[arg(long, hide = true)]
    pub notify_stdout: bool,

    /// The SIF or squashfs image.
    pub image: PathBuf,

    /// The directory to mount it at.
    pub dir: PathBuf,

    /// A command to run with the mount, in a private mount namespace.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// Parses `--cache-size`: `N` MiB or `NB` bytes.
pub(crate) fn parse_cache_size(s: &str) -> Result<u64, String> {
    let (digits, shift) = match s.strip_suffix('B') {
        Some(bytes) => (bytes, 0),
        None => (s, 20),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a size in MiB (or bytes with a B suffix)"))?;
    n.checked_shl(shift)
        .filter(|v| v >> shift == n)
        .ok_or_else(|| format!("{s} MiB is too large"))
}

/// Arguments of `sifcri umount`.
#[derive(Debug, Args)]
pub struct UmountArgs {
    /// Detach a busy mount now and finish when it is no longer used.
    #[arg(long, short = 'z')]
    pub lazy: bool,

    /// The directory `sifcri mount` mounted.
    pub dir: PathBuf,
}
