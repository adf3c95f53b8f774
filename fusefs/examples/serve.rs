//! Serves a squashfs image on a mountpoint until it is unmounted (for benchmarks and
//! manual checks): `serve IMAGE MOUNTPOINT [THREADS]`.

use fusefs::mount::{self, MountOptions, Server};
use fusefs::{CacheConfig, Source, SquashFuse, Squashfs};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(image), Some(mnt)) = (args.get(1), args.get(2)) else {
        return Err("usage: serve IMAGE MOUNTPOINT [THREADS]".into());
    };
    let threads = match args.get(3) {
        Some(t) => t.parse()?,
        None => mount::default_threads(),
    };
    let fs = Squashfs::open(Source::open(image)?, CacheConfig::default())?;
    let fd = mount::mount_direct(mnt.as_ref(), &MountOptions::new(image))?;
    Server::start(SquashFuse::new(fs), fd, threads)?.run()?;
    Ok(())
}
