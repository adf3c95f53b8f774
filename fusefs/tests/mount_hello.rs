//! The mount plumbing end to end with a one-file filesystem: direct `mount(2)` and
//! `fusermount3`, several workers, options visible in mountinfo, clean unmount.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, UNIX_EPOCH};

use fusefs::mount::{self, Method, MountError, MountOptions, Server};
use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, INodeNo, LockOwner, OpenFlags, ReplyAttr,
    ReplyData, ReplyDirectory, ReplyEntry, Request,
};

const TEXT: &[u8] = b"hello from fusefs\n";
const TTL: Duration = Duration::from_secs(1);

struct Hello;

fn attr(ino: u64) -> FileAttr {
    let dir = ino == 1;
    FileAttr {
        ino: INodeNo(ino),
        size: if dir { 0 } else { TEXT.len() as u64 },
        blocks: 1,
        atime: UNIX_EPOCH,
        mtime: UNIX_EPOCH,
        ctime: UNIX_EPOCH,
        crtime: UNIX_EPOCH,
        kind: if dir {
            FileType::Directory
        } else {
            FileType::RegularFile
        },
        perm: if dir { 0o755 } else { 0o644 },
        nlink: if dir { 2 } else { 1 },
        uid: 0,
        gid: 0,
        rdev: 0,
        flags: 0,
        blksize: 4096,
    }
}

/// Sends the kernel no notifications of its own.
impl mount::Notifying for Hello {}

impl Filesystem for Hello {
    fn init(&mut self, _: &Request, config: &mut fuser::KernelConfig) -> std::io::Result<()> {
        // Without it the kernel serializes lookups and readdirs in one directory.
        let _ = config.add_capabilities(fuser::InitFlags::FUSE_PARALLEL_DIROPS);
        Ok(())
    }

    fn lookup(&self, _: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        if parent == INodeNo::ROOT && name == "hello.txt" {
            reply.entry(&TTL, &attr(2), fuser::Generation(0));
        } else if name.to_string_lossy().starts_with("slow-") {
            std::thread::sleep(Duration::from_millis(300));
            reply.error(Errno::ENOENT);
        } else {
            reply.error(Errno::ENOENT);
        }
    }

    fn getattr(&self, _: &Request, ino: INodeNo, _: Option<FileHandle>, reply: ReplyAttr) {
        match u64::from(ino) {
            1 | 2 => reply.attr(&TTL, &attr(ino.into())),
            _ => reply.error(Errno::ENOENT),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn read(
        &self,
        _: &Request,
        _: INodeNo,
        _: FileHandle,
        offset: u64,
        _: u32,
        _: OpenFlags,
        _: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(TEXT.len());
        reply.data(&TEXT[start..]);
    }

    fn readdir(
        &self,
        _: &Request,
        _: INodeNo,
        _: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let entries = [
            (1, FileType::Directory, "."),
            (1, FileType::Directory, ".."),
            (2, FileType::RegularFile, "hello.txt"),
        ];
        for (i, (ino, kind, name)) in entries.into_iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(ino), (i + 1) as u64, kind, name) {
                break;
            }
        }
        reply.ok();
    }
}

/// Unmounts (lazily) and joins the server when the test ends, whatever happened.
struct Served {
    dir: tempfile::TempDir,
    thread: Option<JoinHandle<Result<(), MountError>>>,
}

impl Served {
    fn path(&self) -> PathBuf {
        self.dir.path().join("mnt")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = mount::unmount(&self.path(), true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn require_root() -> bool {
    if nix::unistd::geteuid().is_root() && Path::new("/dev/fuse").exists() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run these tests as root with /dev/fuse"
    );
    eprintln!("SKIPPED: needs root and /dev/fuse");
    false
}

fn serve(method: Method) -> Served {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("mnt")).unwrap();
    let mut served = Served { dir, thread: None };
    let options = MountOptions::new("hello-image");
    let fd = match method {
        Method::Direct => mount::mount_direct(&served.path(), &options).unwrap(),
        Method::Fusermount => mount::mount_fusermount(&served.path(), &options).unwrap(),
    };
    let server = Server::start(Hello, fd, 3).unwrap();
    served.thread = Some(std::thread::spawn(move || server.run()));
    served
}

fn mountinfo_line(path: &Path) -> Option<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let needle = format!(" {} ", path.display());
    info.lines()
        .find(|l| l.contains(&needle))
        .map(str::to_owned)
}

fn check_mount(method: Method) {
    let mut served = serve(method);
    let mnt = served.path();
    assert_eq!(std::fs::read(mnt.join("hello.txt")).unwrap(), TEXT);
    let names: Vec<_> = std::fs::read_dir(&mnt)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["hello.txt"]);
    let line = mountinfo_line(&mnt).expect("mount listed in mountinfo");
    assert!(line.contains(" - fuse.sifcri hello-image "), "{line}");
    assert!(line.contains(" ro,nosuid,nodev"), "{line}");
    mount::unmount(&mnt, false).unwrap();
    let result = served.thread.take().unwrap().join().unwrap();
    assert!(result.is_ok(), "{result:?}");
    assert!(mountinfo_line(&mnt).is_none());
}

#[test]
fn mount_direct_serves_and_unmounts() {
    if require_root() {
        check_mount(Method::Direct);
    }
}

#[test]
fn mount_through_fusermount3_serves_and_unmounts() {
    if require_root() {
        check_mount(Method::Fusermount);
    }
}

#[test]
fn mount_on_missing_directory_is_a_clear_error() {
    if !require_root() {
        return;
    }
    let err = mount::mount_direct(
        Path::new("/nonexistent/sifcri-mnt"),
        &MountOptions::new("x"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/sifcri-mnt"), "{err}");
}

/// Several workers answer at once: four slow lookups take about one lookup's time.
#[test]
fn several_workers_serve_in_parallel() {
    if !require_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("mnt")).unwrap();
    let mut served = Served { dir, thread: None };
    let fd = mount::open_device().unwrap();
    use std::os::fd::AsFd;
    mount::mount_fd(fd.as_fd(), &served.path(), &MountOptions::new("parallel")).unwrap();
    let server = Server::start(Hello, fd, 4).unwrap();
    served.thread = Some(std::thread::spawn(move || server.run()));
    let start = std::time::Instant::now();
    let lookups: Vec<_> = (0..4)
        .map(|i| {
            let p = served.path().join(format!("slow-{i}"));
            std::thread::spawn(move || std::fs::metadata(p).is_err())
        })
        .collect();
    for l in lookups {
        assert!(l.join().unwrap());
    }
    let took = start.elapsed();
    assert!(
        took < Duration::from_millis(900),
        "lookups were serialized: {took:?}"
    );
}
