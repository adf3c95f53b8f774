//! A warm re-read is the kernel's page cache alone: after a file was read once, closing
//! and reopening it keeps its pages (zero-message open, `FOPEN_KEEP_CACHE`), and
//! reading it again sends the server no READ. Shown by taking the image away (the
//! server's reads then fail with EIO) with a data cache too small to hold the file:
//! the warm re-read still returns every byte, while a file never read fails.

mod common;

use std::fs;
use std::io::Read;
use std::path::Path;

use common::serve::{gzip_image, serve_with, Mounted};
use fusefs::CacheConfig;

const BLOCK: usize = 128 * 1024;

/// Serves `img` with a cache of 256 KiB (data blocks: 5/8 of it, one block).
fn serve(img: &Path, mnt: &Path) -> Mounted {
    let cache = CacheConfig {
        bytes: 256 * 1024,
        shards: 1,
    };
    serve_with(img, mnt, "fusefs-warm-test", cache, 2)
}

fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    fs::File::open(path)?.read_to_end(&mut out)?;
    Ok(out)
}

#[test]
fn warm_reread_needs_no_request() {
    if !common::require_root("warm_reread_needs_no_request") {
        return;
    }
    let dir = common::tempdir();
    let mut rng = fastrand::Rng::with_seed(9);
    let data: Vec<u8> = (0..16 * BLOCK + 1000).map(|_| rng.u8(..)).collect();
    let files: [(&str, &[u8]); 2] = [("read", &data), ("unread", &data[..2 * BLOCK])];
    let img = gzip_image(dir.path(), &files);
    let mounted = serve(&img, &dir.path().join("mnt"));
    let (warm, cold) = (mounted.mnt.join("read"), mounted.mnt.join("unread"));

    assert!(read(&warm).expect("cold read") == data, "first read");
    fs::metadata(&cold).expect("look the unread file up while the image is there");
    // The image goes away: every read the server still makes fails (EIO).
    fs::OpenOptions::new()
        .write(true)
        .open(&img)
        .and_then(|f| f.set_len(0))
        .expect("truncate the image");

    let again = read(&warm).expect("warm re-read after close and reopen: no request");
    assert!(again == data, "the page cache holds the file's bytes");
    let err = read(&cold).expect_err("a file never read needs the image");
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
}
