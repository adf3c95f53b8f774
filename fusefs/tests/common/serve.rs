//! A squashfs image served by `SquashFuse` on a real FUSE mount (`mount_direct`, as
//! root), with a Drop guard that unmounts it and joins the server's thread; and a gzip
//! image of a few given files to serve.

use std::fs;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use fusefs::mount::{self, MountError, MountOptions, Server};
use fusefs::{CacheConfig, Source, SquashFuse, Squashfs};

/// A served mount; dropping it unmounts (lazily) and waits for the server.
pub struct Mounted {
    pub mnt: PathBuf,
    thread: Option<JoinHandle<Result<(), MountError>>>,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = mount::unmount(&self.mnt, true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serves `img` at `mnt` (made if missing) with `cache`, FUSE source name `fsname`
/// and `threads` server threads.
pub fn serve_with(
    img: &Path,
    mnt: &Path,
    fsname: &str,
    cache: CacheConfig,
    threads: usize,
) -> Mounted {
    fs::create_dir_all(mnt).expect("mkdir mnt");
    let image = Squashfs::open(Source::open(img).expect("source"), cache).expect("open");
    let fd = mount::mount_direct(mnt, &MountOptions::new(fsname)).expect("mount");
    let server = Server::start(SquashFuse::new(image), fd, threads).expect("server");
    Mounted {
        mnt: mnt.to_path_buf(),
        thread: Some(std::thread::spawn(move || server.run())),
    }
}

/// A gzip image `dir/img.sqfs` of a tree `dir/src` holding `files` (name, content);
/// the image's path.
pub fn gzip_image(dir: &Path, files: &[(&str, &[u8])]) -> PathBuf {
    let src = dir.join("src");
    fs::create_dir_all(&src).expect("mkdir");
    for (name, content) in files {
        fs::write(src.join(name), content).expect("write");
    }
    let img = dir.join("img.sqfs");
    super::mksquashfs(&src, &img, &["-comp", "gzip"]);
    img
}
