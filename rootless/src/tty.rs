//! The container's terminal: init opens a pty inside the container, sends the master to
//! the caller's console socket (SCM_RIGHTS) and makes the slave its stdio and
//! controlling terminal.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::fcntl::{open, OFlag};
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
use nix::sys::stat::Mode;

use crate::process::SetupError;

/// Sets up the pty; `console` is a unix socket connected to the console receiver.
pub(crate) fn setup_console(
    console: OwnedFd,
    size: Option<&oci_spec::runtime::Box>,
) -> Result<(), SetupError> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(SetupError::sys("open /dev/ptmx"))?;
    grantpt(&master).map_err(SetupError::sys("grantpt"))?;
    unlockpt(&master).map_err(SetupError::sys("unlockpt"))?;
    let name = ptsname_r(&master).map_err(SetupError::sys("ptsname"))?;
    let slave = open(
        name.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY,
        Mode::empty(),
    )
    .map_err(SetupError::sys("open pty slave"))?;
    if let Some(size) = size {
        let rows = u16::try_from(size.height()).unwrap_or(u16::MAX);
        let cols = u16::try_from(size.width()).unwrap_or(u16::MAX);
        crate::sys::set_window_size(slave.as_fd(), rows, cols)
            .map_err(SetupError::sys("set window size"))?;
    }
    send_fd(&console, master.as_fd(), &name)?;
    drop(master);
    drop(console);
    nix::unistd::dup2_stdin(&slave).map_err(SetupError::sys("dup2 stdin"))?;
    nix::unistd::dup2_stdout(&slave).map_err(SetupError::sys("dup2 stdout"))?;
    nix::unistd::dup2_stderr(&slave).map_err(SetupError::sys("dup2 stderr"))?;
    crate::sys::set_controlling_terminal(slave.as_fd()).map_err(SetupError::sys("TIOCSCTTY"))
}

/// Sends `fd` over the unix socket `sock`, with `name` as the payload.
pub(crate) fn send_fd(
    sock: &OwnedFd,
    fd: std::os::fd::BorrowedFd<'_>,
    name: &str,
) -> Result<(), SetupError> {
    let fds = [fd.as_raw_fd()];
    let iov = [IoSlice::new(name.as_bytes())];
    sendmsg::<UnixAddr>(
        sock.as_raw_fd(),
        &iov,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(SetupError::sys("send pty master to the console socket"))?;
    Ok(())
}

/// Connects to the console socket at `path`.
pub fn connect_console(path: &std::path::Path) -> std::io::Result<OwnedFd> {
    Ok(std::os::unix::net::UnixStream::connect(path)?.into())
}

/// Receives a pty master sent by a container's init over a console socket connection
/// (the receiving side of `--console-socket`, for monitors and tests).
pub fn receive_pty_master(conn: &std::os::unix::net::UnixStream) -> std::io::Result<OwnedFd> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned};
    let mut buf = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    let mut received = None;
    for cmsg in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            for fd in fds {
                let owned = crate::sys::own_received_fd(fd);
                received.get_or_insert(owned);
            }
        }
    }
    received.ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "no descriptor in the console message",
        )
    })
}
