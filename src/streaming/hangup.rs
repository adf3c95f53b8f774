//! A client's hang-up seen on its TCP socket even while nobody reads the socket: a
//! session's reader stalls when a command does not read its stdin (the reader waits to
//! hand over the client's next stdin frame), and would miss the client's end of file
//! until the command reads again or the idle timeout fires.
//!
//! Input: the accepted connection's socket (a duplicate of its descriptor, held while
//! the connection lives) and the connection's [`Activity`] (is the reader stalled?).
//! Output: [`HangUp::wait`] resolves once the peer has closed or reset the connection
//! (`poll` with `POLLRDHUP`, checked every [`PROBE`]), which ends the session as the
//! reader's end of file would. A client that vanished with stdin still queued towards
//! us cannot deliver its FIN (it waits behind bytes we do not read), so while the
//! reader is stalled the connection is probed every [`POKE_EVERY`] with a PING: a
//! vanished client's kernel answers it with a reset, a live client with a PONG.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::idle::Activity;

/// How often a connection is checked for a hang-up.
pub const PROBE: Duration = Duration::from_millis(250);

/// How often a connection whose reader is stalled is poked (in [`PROBE`]s).
pub const POKE_EVERY: u32 = 4;

/// A connection's socket, checked for the peer's hang-up; none for connections that
/// are not sockets (the in-memory replays).
#[derive(Debug, Clone, Default)]
pub struct HangUp(Option<Arc<OwnedFd>>);

impl HangUp {
    /// Watches `socket` (through a duplicate of its descriptor: drop every clone of
    /// this once the connection is done, or the socket stays open).
    pub fn of(socket: impl AsFd) -> Self {
        Self(socket.as_fd().try_clone_to_owned().ok().map(Arc::new))
    }

    /// Resolves once the peer has hung up; never without a socket. `poke` queues a
    /// PING; it is called while `activity` says the reader is stalled.
    pub(crate) async fn wait(&self, activity: &Activity, poke: impl Fn()) {
        let Some(fd) = &self.0 else {
            return std::future::pending().await;
        };
        let mut tick = tokio::time::interval(PROBE);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stalled = 0u32;
        loop {
            tick.tick().await;
            if hung_up(fd) {
                return;
            }
            stalled = if activity.stalled() { stalled + 1 } else { 0 };
            if stalled > 0 && stalled % POKE_EVERY == 0 {
                poke();
            }
        }
    }
}

/// True when the peer closed its side (end of file pending, read or not) or the
/// connection failed.
fn hung_up(fd: &OwnedFd) -> bool {
    // nix names no POLLRDHUP: the peer's FIN, whether or not data is still unread.
    let rdhup = PollFlags::from_bits_retain(libc::POLLRDHUP);
    let mut fds = [PollFd::new(fd.as_fd(), rdhup)];
    match poll(&mut fds, PollTimeout::ZERO) {
        Ok(0) => false,
        // nix reads back no flags it does not know: `None` is POLLRDHUP (the only
        // unknown flag asked for) set.
        Ok(_) => fds[0]
            .revents()
            .is_none_or(|r| r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR)),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_closed_peer_is_seen_with_data_unread() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (server, _) = l.accept().unwrap();
        let h = HangUp::of(&server);
        let a = Activity::new();
        std::io::Write::write_all(&mut client, b"unread").unwrap();
        let early = tokio::time::timeout(PROBE * 3, h.wait(&a, || {})).await;
        assert!(early.is_err(), "a live peer is not a hang-up");
        drop(client);
        tokio::time::timeout(Duration::from_secs(5), h.wait(&a, || {}))
            .await
            .expect("the hang-up is seen");
        tokio::time::timeout(PROBE * 2, HangUp::default().wait(&a, || {}))
            .await
            .expect_err("no socket, no hang-up");
    }
}
