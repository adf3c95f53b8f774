//! A pod's own user namespace: CRI `NamespaceOption.userns_options` in mode POD (what
//! kubelet asks for with `hostUsers: false`), with the uid and gid mappings it gives.
//!
//! The pod's network, UTS and IPC namespaces are made inside the new user namespace,
//! in one `unshare(2)` by util-linux `unshare --user --net …`, so that they belong to
//! it: processes that join the user namespace first are privileged over them (sysfs,
//! sysctls, routes). `unshare` can neither write arbitrary maps as root (its
//! `--map-users` goes through `newuidmap`, which wants `/etc/subuid` ranges for root)
//! nor pin a user namespace on a file here (its helper's bind mount is refused), so
//! while its program waits on stdin the daemon writes `/proc/PID/uid_map` and
//! `gid_map` and bind-mounts `/proc/PID/ns/*` on files in the pod's directory itself,
//! then lets the program set the hostname (with the capabilities `--keep-caps` keeps)
//! and exit. Input: the pod's options; output: the pinned files, released like the
//! others.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use proto::cri;

use super::Error;

/// The kernel's limit on the lines of a uid_map or gid_map.
const MAX_RANGES: usize = 340;

/// The validated mappings of a pod user namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mappings {
    /// `container host length` ranges for uid_map.
    pub uids: Vec<(u32, u32, u32)>,
    /// The same for gid_map.
    pub gids: Vec<(u32, u32, u32)>,
}

/// Checks the pod's user namespace options: `None` for the host's user namespace
/// (mode NODE, the default), the mappings for mode POD, an error for anything else.
pub fn requested(options: &cri::NamespaceOption) -> Result<Option<Mappings>, Error> {
    let Some(u) = options.userns_options.as_ref() else {
        return Ok(None);
    };
    match cri::NamespaceMode::try_from(u.mode) {
        Ok(cri::NamespaceMode::Node) => return Ok(None),
        Ok(cri::NamespaceMode::Pod) => {}
        _ => {
            return Err(Error::InvalidArgument(format!(
                "user namespace mode {} is not supported: only POD and NODE are",
                u.mode
            )))
        }
    }
    let node = cri::NamespaceMode::Node as i32;
    if options.network == node || options.pid == node || options.ipc == node {
        return Err(Error::InvalidArgument(
            "a pod with its own user namespace cannot share the host's network, pid or ipc \
             namespace"
                .into(),
        ));
    }
    Ok(Some(Mappings {
        uids: ranges("uid", &u.uids)?,
        gids: ranges("gid", &u.gids)?,
    }))
}

/// Validates one kind of mapping: at most [`MAX_RANGES`] non-empty ranges, overlapping
/// neither on the container side nor on the host side, within 32 bits, mapping id 0.
fn ranges(kind: &str, maps: &[cri::IdMapping]) -> Result<Vec<(u32, u32, u32)>, Error> {
    let bad =
        |why: String| Error::InvalidArgument(format!("user namespace {kind} mappings: {why}"));
    if maps.is_empty() || maps.len() > MAX_RANGES {
        return Err(bad(format!("{} ranges (1 to {MAX_RANGES})", maps.len())));
    }
    let mut out = Vec::with_capacity(maps.len());
    for m in maps {
        let fits = |start: u32| start.checked_add(m.length).is_some();
        if m.length == 0 || !fits(m.container_id) || !fits(m.host_id) {
            return Err(bad(format!("bad range {m:?}")));
        }
        out.push((m.container_id, m.host_id, m.length));
    }
    let overlaps = |side: fn(&(u32, u32, u32)) -> u32| {
        let mut spans: Vec<(u32, u32)> = out.iter().map(|r| (side(r), r.2)).collect();
        spans.sort_unstable();
        spans.windows(2).any(|w| w[0].0 + w[0].1 > w[1].0)
    };
    if overlaps(|r| r.0) || overlaps(|r| r.1) {
        return Err(bad("ranges overlap".into()));
    }
    if !out.iter().any(|r| r.0 == 0) {
        return Err(bad("container id 0 is not mapped".into()));
    }
    Ok(out)
}

/// Creates the user namespace with `maps` and, inside it, the namespaces of `kinds`
/// (`net`, `uts`, `ipc`), all pinned in `dir`; sets `hostname` in the UTS namespace.
pub fn create(
    dir: &Path,
    maps: &Mappings,
    kinds: &[&str],
    hostname: Option<&str>,
) -> Result<Vec<(String, PathBuf)>, Error> {
    let mut pinned = vec![("user".to_owned(), dir.join("ns-user"))];
    pinned.extend(
        kinds
            .iter()
            .map(|k| (k.to_string(), dir.join(format!("ns-{k}")))),
    );
    let mut cmd = Command::new("unshare");
    for (kind, file) in &pinned {
        std::fs::File::create(file).map_err(|e| Error::io("create namespace file", file, e))?;
        cmd.arg(format!("--{kind}"));
    }
    let script = match hostname {
        Some(_) => "read -r _ && exec hostname \"$0\"",
        None => "read -r _",
    };
    cmd.args([
        "--keep-caps",
        "--",
        "sh",
        "-c",
        script,
        hostname.unwrap_or("sh"),
    ]);
    let result = run(cmd, &pinned, maps);
    if result.is_err() {
        super::namespaces::release(&pinned);
    }
    result.map(|()| pinned)
}

/// Runs the `unshare` command; once its namespaces exist, writes the maps and pins
/// them; then lets it finish.
fn run(mut cmd: Command, pinned: &[(String, PathBuf)], maps: &Mappings) -> Result<(), Error> {
    let failed = |message: String| Error::Command {
        command: "unshare --user".into(),
        message,
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(e.to_string()))?;
    let pid = child.id();
    let written = wait_unshared(pid, &mut child)
        .and_then(|()| write_map(pid, "uid_map", &maps.uids))
        .and_then(|()| write_map(pid, "gid_map", &maps.gids))
        .and_then(|()| pin(pid, pinned));
    if let Err(e) = written {
        let _ = child.kill();
        let said = child
            .wait_with_output()
            .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_owned())
            .unwrap_or_default();
        return Err(failed(format!("{e} {said}").trim().to_owned()));
    }
    // The newline lets the script go on to the hostname.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"\n");
    }
    let out = child
        .wait_with_output()
        .map_err(|e| failed(e.to_string()))?;
    if out.status.success() {
        return Ok(());
    }
    Err(failed(
        String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    ))
}

/// Waits until process `pid` (`unshare`) is in a user namespace of its own.
fn wait_unshared(pid: u32, child: &mut std::process::Child) -> Result<(), String> {
    let ours = std::fs::metadata("/proc/self/ns/user")
        .map_err(|e| e.to_string())?
        .ino();
    let theirs = format!("/proc/{pid}/ns/user");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if std::fs::metadata(&theirs).is_ok_and(|m| m.ino() != ours) {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited early ({status})"));
        }
        if Instant::now() > deadline {
            return Err("the user namespace did not appear within 10 s".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Bind-mounts the namespaces of process `pid` on the files of `pinned`.
fn pin(pid: u32, pinned: &[(String, PathBuf)]) -> Result<(), String> {
    for (kind, file) in pinned {
        let src = PathBuf::from(format!("/proc/{pid}/ns/{kind}"));
        nix::mount::mount(
            Some(&src),
            file,
            None::<&str>,
            nix::mount::MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| format!("pin {} on {}: {e}", src.display(), file.display()))?;
    }
    Ok(())
}

/// Writes `/proc/PID/FILE` (uid_map or gid_map) in one write, as the kernel requires.
fn write_map(pid: u32, file: &str, ranges: &[(u32, u32, u32)]) -> Result<(), String> {
    let text: String = ranges
        .iter()
        .map(|(c, h, n)| format!("{c} {h} {n}\n"))
        .collect();
    let path = format!("/proc/{pid}/{file}");
    std::fs::write(&path, text).map_err(|e| format!("write {path}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(c: u32, h: u32, n: u32) -> cri::IdMapping {
        cri::IdMapping {
            container_id: c,
            host_id: h,
            length: n,
        }
    }

    fn options(mode: cri::NamespaceMode, maps: Vec<cri::IdMapping>) -> cri::NamespaceOption {
        cri::NamespaceOption {
            userns_options: Some(cri::UserNamespace {
                mode: mode as i32,
                uids: maps.clone(),
                gids: maps,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn modes_and_ranges() {
        use cri::NamespaceMode::*;
        assert_eq!(requested(&Default::default()).unwrap(), None);
        assert_eq!(requested(&options(Node, vec![])).unwrap(), None);
        let ok = requested(&options(Pod, vec![map(0, 1000, 100000)])).unwrap();
        assert_eq!(ok.unwrap().uids, [(0, 1000, 100000)]);
        let two = vec![map(0, 100000, 1), map(1, 200000, 65535)];
        assert_eq!(
            requested(&options(Pod, two)).unwrap().unwrap().gids.len(),
            2
        );
        for bad in [
            options(Container, vec![map(0, 1000, 10)]),
            options(Target, vec![map(0, 1000, 10)]),
            options(Pod, vec![]),
            options(Pod, vec![map(1, 1000, 10)]),
            options(Pod, vec![map(0, 1000, 0)]),
            options(Pod, vec![map(0, u32::MAX, 2)]),
            options(Pod, vec![map(0, 1000, 100000), map(0, 2000, 100000)]),
            options(Pod, vec![map(0, 1000, 10), map(10, 1005, 10)]),
        ] {
            assert!(requested(&bad).is_err(), "{bad:?}");
        }
        let mut host_net = options(Pod, vec![map(0, 1000, 10)]);
        host_net.network = Node as i32;
        assert!(requested(&host_net).is_err());
    }
}
