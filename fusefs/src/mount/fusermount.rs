//! Mounting and unmounting through the setuid helper `fusermount3`, for ordinary users.
//!
//! Protocol (libfuse's): we pass one end of a unix socket pair as `_FUSE_COMMFD`;
//! fusermount3 opens `/dev/fuse`, mounts it and sends the descriptor back with
//! `SCM_RIGHTS`. Output: the connection's descriptor.

use std::io::{IoSliceMut, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sys::socket::{
    recvmsg, socketpair, AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType,
};

use super::{MountError, MountOptions};

const FUSERMOUNT: &str = "fusermount3";

/// Mounts a FUSE connection at `mountpoint` through `fusermount3`.
pub fn mount_fusermount(mountpoint: &Path, options: &MountOptions) -> Result<OwnedFd, MountError> {
    let fail = |message: String| MountError::Fusermount {
        path: mountpoint.to_owned(),
        message,
    };
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| fail(format!("socketpair: {e}")))?;
    // The helper's end must survive exec; ours must not.
    fcntl(&theirs, FcntlArg::F_SETFD(FdFlag::empty())).map_err(|e| fail(format!("fcntl: {e}")))?;
    let mut child = Command::new(FUSERMOUNT)
        .arg("-o")
        .arg(options.fusermount_arg())
        .arg("--")
        .arg(mountpoint)
        .env("_FUSE_COMMFD", theirs.as_raw_fd().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| MountError::Spawn {
            program: FUSERMOUNT,
            source,
        })?;
    drop(theirs);
    let received = receive_fd(&ours);
    drop(ours);
    let stderr = finish(&mut child);
    match received {
        Some(fd) => {
            fcntl(&fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))
                .map_err(|e| fail(format!("fcntl: {e}")))?;
            Ok(fd)
        }
        None => Err(fail(stderr)),
    }
}

/// Waits for the helper and returns what it said on stderr (or how it ended).
fn finish(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut text);
    }
    match child.wait() {
        Ok(status) if text.trim().is_empty() => format!("fusermount3 exited with {status}"),
        Ok(_) => text.trim().to_owned(),
        Err(e) => format!("waiting for fusermount3: {e}"),
    }
}

/// Receives the one descriptor fusermount3 sends, if it sends one.
fn receive_fd(socket: &OwnedFd) -> Option<OwnedFd> {
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = loop {
        match recvmsg::<()>(
            socket.as_fd().as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(nix::Error::EINTR) => continue,
            other => break other.ok()?,
        }
    };
    let mut found = None;
    for cmsg in msg.cmsgs().ok()? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            for fd in fds {
                let owned = crate::sys::own_received_fd(fd);
                if found.is_none() {
                    found = owned;
                }
            }
        }
    }
    found
}

/// Unmounts an ordinary user's FUSE mount with `fusermount3 -u` (`-z`: lazily).
pub fn unmount_fusermount(mountpoint: &Path, lazy: bool) -> Result<(), MountError> {
    let mut cmd = Command::new(FUSERMOUNT);
    cmd.arg("-u");
    if lazy {
        cmd.arg("-z");
    }
    let out = cmd
        .arg("--")
        .arg(mountpoint)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| MountError::Spawn {
            program: FUSERMOUNT,
            source,
        })?;
    if out.status.success() {
        return Ok(());
    }
    Err(MountError::Fusermount {
        path: mountpoint.to_owned(),
        message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    })
}
