//! A read of part of a block puts the whole block in the kernel's page cache
//! (`FUSE_NOTIFY_STORE`), as the kernel's squashfs driver does: after one 4 KiB read,
//! the block's other pages are resident (util-linux `fincore`) and read back right;
//! a read spanning two blocks pushes the rest of both.

mod common;

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use common::serve::{gzip_image, serve_with, Mounted};
use fusefs::CacheConfig;

const BLOCK: u64 = 128 * 1024;

fn serve(img: &Path, mnt: &Path) -> Mounted {
    serve_with(img, mnt, "fusefs-push-test", CacheConfig::default(), 2)
}

/// Bytes of `path` in the page cache, as `fincore` (mincore(2) on a mapping) sees them.
fn resident(path: &Path) -> u64 {
    let out = std::process::Command::new("fincore")
        .args(["--bytes", "--noheadings", "--output", "RES"])
        .arg(path)
        .output()
        .expect("run fincore (util-linux)");
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("fincore said {text:?}"))
}

/// Waits (the store thread runs after the reply) until `path` has `want` bytes resident.
fn wait_resident(path: &Path, want: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = resident(path);
        if got >= want || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn partial_reads_push_whole_blocks() {
    if !common::require_root("partial_reads_push_whole_blocks") {
        return;
    }
    let dir = common::tempdir();
    let mut rng = fastrand::Rng::with_seed(5);
    let data: Vec<u8> = (0..8 * BLOCK)
        .map(|i| (i / 7) as u8 ^ rng.u8(..4))
        .collect();
    let img = gzip_image(dir.path(), &[("file", &data)]);
    let mounted = serve(&img, &dir.path().join("mnt"));
    let path = mounted.mnt.join("file");
    let f = fs::File::open(&path).expect("open");
    assert_eq!(resident(&path), 0, "nothing cached before the first read");

    let mut page = vec![0u8; 4096];
    f.read_exact_at(&mut page, 3 * BLOCK + 8192).expect("pread");
    assert_eq!(
        wait_resident(&path, BLOCK),
        BLOCK,
        "block 3 after one page of it"
    );

    let mut span = vec![0u8; 60 * 1024];
    f.read_exact_at(&mut span, 5 * BLOCK + 100 * 1024)
        .expect("pread");
    assert_eq!(
        wait_resident(&path, 3 * BLOCK),
        3 * BLOCK,
        "blocks 5 and 6 too"
    );

    // What the kernel now serves from its cache is the file's content.
    let mut back = vec![0u8; BLOCK as usize];
    for b in [3, 5, 6] {
        f.read_exact_at(&mut back, b * BLOCK).expect("pread cached");
        let start = (b * BLOCK) as usize;
        assert!(back == data[start..start + BLOCK as usize], "block {b}");
    }
    assert_eq!(
        resident(&path),
        3 * BLOCK,
        "no more requests, no other blocks"
    );
}
