//! Opening an image for a mount reads from disk what the mount needs (SIF header and
//! descriptors, superblock, table indexes, root inode), not the readahead the kernel
//! would add around those scattered small reads; then `prefetch_tables` brings in the
//! metadata tables in the background. (With readahead on, the first reads of a SIF look
//! sequential and pulled ~750 KiB from disk into a cold mount: docs/fusefs.md.)

mod common;

use std::path::Path;

use common::{Scratch, Who};

/// Pages of `path` in the page cache (util-linux `fincore`).
fn resident_pages(path: &Path) -> u64 {
    let out = std::process::Command::new("fincore")
        .args(["--raw", "--noheadings", "--output", "PAGES"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Drops `path`'s pages from the page cache (clean pages of a file nobody maps).
fn evict(path: &Path) {
    let file = std::fs::File::open(path).unwrap();
    file.sync_all().unwrap();
    nix::fcntl::posix_fadvise(
        &file,
        0,
        0,
        nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
    )
    .unwrap();
    assert_eq!(resident_pages(path), 0, "{} stayed cached", path.display());
}

#[test]
fn opening_an_image_reads_only_what_the_mount_needs() {
    if !common::require_root() {
        return;
    }
    let s = Scratch::new();
    // 2 MiB of incompressible data, then metadata for 10,000 files (over 100 KiB of
    // tables) far behind the header.
    let tree = s.mkdir("tree", Who::Root);
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let noise: Vec<u8> = (0..2 << 20)
        .map(|_| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng as u8
        })
        .collect();
    std::fs::write(tree.join("noise"), noise).unwrap();
    for d in 0..20 {
        let dir = tree.join(format!("directory-{d}"));
        std::fs::create_dir(&dir).unwrap();
        for f in 0..500 {
            let name = format!("a-file-with-a-longer-name-{f}");
            std::fs::write(dir.join(name), format!("{d}/{f}")).unwrap();
        }
    }
    let sqfs = common::image::squashfs(&tree, &s.path().join("image.sqfs"), "gzip");
    let sif = common::image::sif(&s, &sqfs, &s.path().join("image.sif"));

    for image in [&sif, &sqfs] {
        evict(image);
        let src = sifcri::mount::ImageSource::open(image, None).unwrap();
        let source = fusefs::Source::new(src.file, src.offset, src.len);
        let fs = fusefs::Squashfs::open(source, fusefs::CacheConfig::default()).unwrap();
        fs.root().unwrap();
        let read = resident_pages(image);
        assert!(
            read <= 16,
            "{}: opening it read {read} pages",
            image.display()
        );

        let sb = fs.superblock();
        // The pages the tables span (whole ones between), and those of the header.
        let table_pages = (sb.bytes_used - sb.inode_table) / 4096;
        assert!(table_pages > 20, "{table_pages} pages of tables");
        fs.prefetch_tables();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while resident_pages(image) < table_pages + 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "{}: the tables ({table_pages} pages) were not prefetched",
                image.display()
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
