//! The WebSocket opening handshake (RFC 6455 section 4.2) and the kubelet's
//! channel subprotocols (`Sec-WebSocket-Protocol`): which ones exist for
//! remote commands and for port forwarding, and what each changes.

use base64::Engine;
use sha1::{Digest, Sha1};

/// The GUID every server appends to the client's key (section 1.3).
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// One channel subprotocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protocol {
    /// Its `Sec-WebSocket-Protocol` name; empty for a client that named none.
    pub name: &'static str,
    /// Text frames: an ASCII digit channel, then the data in base64.
    pub base64: bool,
    /// The error channel carries a metav1.Status (v4 on) rather than text.
    pub status: bool,
    /// The client may close a channel with `[255, channel]` (v5).
    pub close_signal: bool,
}

const fn p(name: &'static str, base64: bool, status: bool, close_signal: bool) -> Protocol {
    Protocol {
        name,
        base64,
        status,
        close_signal,
    }
}

/// Remote-command (exec, attach) subprotocols over WebSocket.
pub const EXEC_PROTOCOLS: &[Protocol] = &[
    p("v5.channel.k8s.io", false, true, true),
    p("v4.channel.k8s.io", false, true, false),
    p("v4.base64.channel.k8s.io", true, true, false),
    p("channel.k8s.io", false, false, false),
    p("base64.channel.k8s.io", true, false, false),
    p("", false, false, false),
];

/// Port-forward subprotocols over WebSocket.
pub const PORTFORWARD_PROTOCOLS: &[Protocol] = &[
    p("v4.channel.k8s.io", false, true, false),
    p("v4.base64.channel.k8s.io", true, true, false),
    p("", false, true, false),
];

/// The first of the client's subprotocols (its order of preference) that
/// `ours` has; no offer at all picks the unnamed one.
pub fn negotiate(offered: &[String], ours: &'static [Protocol]) -> Option<&'static Protocol> {
    if offered.is_empty() {
        return ours.iter().find(|p| p.name.is_empty());
    }
    offered
        .iter()
        .filter(|o| !o.is_empty())
        .find_map(|o| ours.iter().find(|p| p.name == o.as_str()))
}

/// `Sec-WebSocket-Accept` for the client's `Sec-WebSocket-Key`.
pub fn accept_key(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.trim().as_bytes());
    h.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_of_the_rfc_example() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn client_order_wins_and_no_offer_is_the_legacy_protocol() {
        let offer = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let got = negotiate(
            &offer(&["v9", "v4.channel.k8s.io", "v5.channel.k8s.io"]),
            EXEC_PROTOCOLS,
        );
        assert_eq!(got.unwrap().name, "v4.channel.k8s.io");
        assert_eq!(negotiate(&[], EXEC_PROTOCOLS).unwrap().name, "");
        assert!(negotiate(&offer(&["v9"]), EXEC_PROTOCOLS).is_none());
        assert!(negotiate(&offer(&["v5.channel.k8s.io"]), PORTFORWARD_PROTOCOLS).is_none());
    }
}
