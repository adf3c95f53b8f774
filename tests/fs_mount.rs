//! Differential tests of `sifcri mount`: a generated tree, squashed by Debian's
//! mksquashfs in every compressor and wrapped into SIF by our writer, mounted as root
//! and as an ordinary user; every path is compared with the source tree (and, where
//! the kernel's squashfs driver can loop-mount the image, with what it returns).

mod common;

use std::path::{Path, PathBuf};

use common::image::{self, COMPRESSORS};
use common::manifest::Manifest;
use common::tree::{self, Sparse};
use common::{mountinfo, require_root, require_user, Scratch, Who};

/// The xattrs an ordinary user can read (trusted.* needs CAP_SYS_ADMIN).
const USER_XATTRS: &str = "^(user|security)\\.";

fn differential(comp: &str, sparse: Sparse) {
    if !require_root() {
        return;
    }
    let s = Scratch::new();
    let tree = s.mkdir("tree", Who::Root);
    tree::generate(&tree, sparse);
    let sqfs = image::squashfs(&tree, &s.path().join("image.sqfs"), comp);
    let sif = image::sif(&s, &sqfs, &s.path().join("image.sif"));
    let root = s.runner(Who::Root);
    let reference = Manifest::of(&tree, &root, "-");
    assert!(
        reference.entries() > 350,
        "the tree is too small: {}",
        reference.entries()
    );

    let mnt = s.mkdir("mnt-root", Who::Root);
    image::mount(&s, &root, &sif, &mnt);
    let line = mountinfo(&mnt).expect("mounted");
    assert!(line.contains(" - fuse.sifcri "), "{line}");
    assert!(line.contains(" ro,"), "{line}");
    let ours = Manifest::of(&mnt, &root, "-");
    ours.assert_same(&reference, &format!("root, SIF, {comp}"));
    compare_with_kernel(&s, &sqfs, &ours, comp);
    image::umount(&s, &root, &mnt);

    if require_user() {
        let user = s.runner(Who::User);
        let reference = Manifest::of(&tree, &root, USER_XATTRS);
        let mnt = s.mkdir("mnt-user", Who::User);
        image::mount(&s, &user, &sif, &mnt);
        Manifest::of(&mnt, &user, USER_XATTRS)
            .assert_same(&reference, &format!("user, SIF, {comp}"));
        image::umount(&s, &user, &mnt);
        // The plain squashfs file, too.
        image::mount(&s, &user, &sqfs, &mnt);
        Manifest::of(&mnt, &user, USER_XATTRS)
            .assert_same(&reference, &format!("user, squashfs, {comp}"));
        image::umount(&s, &user, &mnt);
    }
    s.assert_clean();
}

/// The kernel's squashfs driver is the reference for what a squashfs holds (xattrs
/// included); loop devices are used here, in the test only.
fn compare_with_kernel(s: &Scratch, sqfs: &Path, ours: &Manifest, comp: &str) {
    let kmnt = s.mkdir("mnt-kernel", Who::Root);
    let st = std::process::Command::new("mount")
        .args(["-t", "squashfs", "-o", "loop,ro"])
        .arg(sqfs)
        .arg(&kmnt)
        .output()
        .unwrap();
    if !st.status.success() {
        eprintln!(
            "NOTE: the kernel cannot loop-mount the {comp} image ({}); compared with the source tree only",
            String::from_utf8_lossy(&st.stderr).trim()
        );
        return;
    }
    let kernel = Manifest::of(&kmnt, &s.runner(Who::Root), "-");
    let _ = std::process::Command::new("umount")
        .arg("-d")
        .arg(&kmnt)
        .status();
    ours.assert_same(&kernel, &format!("sifcri vs kernel squashfs, {comp}"));
}

/// One `differential` test per compressor: `test_name: compressor, sparse file;`.
macro_rules! differential_tests {
    ($($name:ident: $comp:literal, $sparse:expr;)*) => {
        $(
            #[test]
            fn $name() {
                differential($comp, $sparse);
            }
        )*
    };
}

differential_tests! {
    gzip_tree_with_4gib_sparse_file: "gzip", Sparse::Huge;
    xz_tree: "xz", Sparse::Small;
    lzo_tree: "lzo", Sparse::Small;
    lz4_tree: "lz4", Sparse::Small;
    zstd_tree: "zstd", Sparse::Small;
}

#[test]
fn every_debian_compressor_is_covered() {
    assert_eq!(COMPRESSORS, ["gzip", "xz", "lzo", "lz4", "zstd"]);
}

/// Scratch space with a one-file lz4 image (`f` holding "x") and whom to mount it as:
/// root, then the test user where there is one; `None` (skipped) without root.
fn one_file_image() -> Option<(Scratch, PathBuf, Vec<Who>)> {
    if !require_root() {
        return None;
    }
    let s = Scratch::new();
    let tree = s.mkdir("tree", Who::Root);
    std::fs::write(tree.join("f"), "x").unwrap();
    let sqfs = image::squashfs(&tree, &s.path().join("image.sqfs"), "lz4");
    let mut who = vec![Who::Root];
    if require_user() {
        who.push(Who::User);
    }
    Some((s, sqfs, who))
}

/// `--foreground` serves in the process itself and unmounts cleanly on SIGTERM/SIGINT.
#[test]
fn foreground_unmounts_on_signals() {
    let Some((s, sqfs, who)) = one_file_image() else {
        return;
    };
    let signals = [
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGINT,
    ];
    for (who, signal) in who.into_iter().zip(signals) {
        let mnt = s.mkdir(&format!("fg-{who:?}"), who);
        let (img, dir) = (sqfs.to_string_lossy(), mnt.to_string_lossy());
        let mut child = s
            .runner(who)
            .command(&[&s.bin(), "mount", "--foreground", &img, &dir])
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while mountinfo(&mnt).is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "{who:?}: never mounted"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // setpriv execs sifcri, so the child's pid is the server's.
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, signal).unwrap();
        let status = child.wait().unwrap();
        assert!(status.success(), "{who:?}: {status}");
        assert!(mountinfo(&mnt).is_none(), "{who:?}: still mounted");
    }
    s.assert_clean();
}

/// The background server is forked once the mount is ready: the command returns (its
/// captured output ends), and the server keeps nothing of its caller: its own process
/// group, `/` as working directory, stdio on /dev/null, and no descriptors but the image's
/// and /dev/fuse's.
#[test]
fn background_server_holds_nothing_of_the_caller() {
    let Some((s, sqfs, who)) = one_file_image() else {
        return;
    };
    for who in who {
        let mnt = s.mkdir(&format!("bg-{who:?}"), who);
        image::mount(&s, &s.runner(who), &sqfs, &mnt);
        // A user's FUSE mount (no allow_other) answers nobody else, root included.
        let read = s.runner(who).ok(&["cat", &mnt.join("f").to_string_lossy()]);
        assert_eq!(read, "x", "{who:?}");
        let pids = common::pids_naming(&mnt);
        assert_eq!(pids.len(), 1, "{who:?}: servers {pids:?}");
        let pid = pids[0];
        let pgid = nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(pid))).unwrap();
        assert_eq!(
            pgid.as_raw(),
            pid,
            "{who:?}: not in a process group of its own"
        );
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap();
        assert_eq!(cwd, Path::new("/"), "{who:?}");
        let image = sqfs.canonicalize().unwrap();
        for fd in std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap() {
            let fd = fd.unwrap();
            let target = std::fs::read_link(fd.path()).unwrap();
            let allowed = [Path::new("/dev/null"), Path::new("/dev/fuse"), &image];
            // What the test itself holds without close-on-exec reaches every command.
            let ours = std::fs::read_link(Path::new("/proc/self/fd").join(fd.file_name()));
            assert!(
                allowed.contains(&target.as_path()) || ours.is_ok_and(|t| t == target),
                "{who:?}: fd {:?} -> {}",
                fd.file_name(),
                target.display()
            );
        }
        image::umount(&s, &s.runner(who), &mnt);
    }
    s.assert_clean();
}

/// `isatty()` on a served file (a `TCGETS` ioctl, which the kernel forwards to the server
/// every time) says "not a terminal" (ENOTTY) and leaves nothing in the server's log:
/// a python start-up asks 132 times.
#[test]
fn terminal_ioctls_are_answered_quietly() {
    let Some((s, sqfs, _)) = one_file_image() else {
        return;
    };
    let mnt = s.mkdir("tty", Who::Root);
    let child = std::process::Command::new(s.bin())
        .args(["mount", "--foreground"])
        .args([&sqfs, &mnt])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while mountinfo(&mnt).is_none() {
        assert!(std::time::Instant::now() < deadline, "never mounted");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let file = std::fs::File::open(mnt.join("f")).unwrap();
    for _ in 0..3 {
        let err = nix::sys::termios::tcgetattr(&file).unwrap_err();
        assert_eq!(err, nix::errno::Errno::ENOTTY);
    }
    drop(file);
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", out.status);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.trim().is_empty(), "the server logged: {log}");
    s.assert_clean();
}
