//! A typed, message-framed channel over a `SOCK_SEQPACKET` socketpair: one
//! [`Message`] per packet, JSON-encoded.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};

use super::message::Message;
use super::ProcessError;

/// The largest message we accept (warnings and errors are short).
const MAX_MESSAGE: usize = 64 * 1024;

/// One end of the setup channel.
#[derive(Debug)]
pub(crate) struct Channel {
    fd: OwnedFd,
}

impl Channel {
    /// A connected pair of channel ends.
    pub fn pair() -> Result<(Self, Self), ProcessError> {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(ProcessError::sys("socketpair"))?;
        Ok((Self { fd: a }, Self { fd: b }))
    }

    /// Sends one message.
    pub fn send(&self, msg: &Message) -> Result<(), ProcessError> {
        let bytes = serde_json::to_vec(msg).map_err(|e| ProcessError::Protocol(e.to_string()))?;
        send(self.fd.as_raw_fd(), &bytes, MsgFlags::MSG_NOSIGNAL)
            .map_err(ProcessError::sys("send setup message"))?;
        Ok(())
    }

    /// Receives one message; the peer closing the channel is [`ProcessError::Eof`].
    pub fn recv(&self) -> Result<Message, ProcessError> {
        let mut buf = vec![0u8; MAX_MESSAGE];
        let n = loop {
            match recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Err(nix::Error::EINTR) => continue,
                other => break other.map_err(ProcessError::sys("receive setup message"))?,
            }
        };
        if n == 0 {
            return Err(ProcessError::Eof);
        }
        let bytes = buf.get(..n).unwrap_or_default();
        serde_json::from_slice(bytes).map_err(|e| ProcessError::Protocol(e.to_string()))
    }

    /// Receives one message and checks it is the expected one, passing errors through.
    pub fn expect(&self, want: &Message) -> Result<(), ProcessError> {
        match self.recv()? {
            m if &m == want => Ok(()),
            Message::Error(e) => Err(ProcessError::Setup(e)),
            other => Err(ProcessError::Protocol(format!(
                "expected {want:?}, got {other:?}"
            ))),
        }
    }
}
