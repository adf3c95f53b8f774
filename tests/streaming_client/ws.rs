//! A WebSocket client for the kubelet channel protocols, written from
//! RFC 6455 and the k8s channel protocol documents: blocking std I/O, masked
//! frames, one channel byte (or ASCII digit, base64 variants) per message.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use base64::Engine;
use sha1::Digest;

use super::Handshake;

/// What the client reads.
#[derive(Debug, PartialEq, Eq)]
pub enum WsIn {
    /// A channel message (base64 already decoded).
    Data(u8, Vec<u8>),
    /// A CLOSE with its code.
    Close(u16),
    /// A PONG with its body.
    Pong(Vec<u8>),
}

pub struct WsClient {
    pub tcp: TcpStream,
    pub base64: bool,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// Opens a WebSocket to `url` offering `protocols`; the handshake's answer
/// comes back even when it is not 101. The accept key is checked on a 101.
pub fn ws_connect(url: &str, protocols: &[&str]) -> (WsClient, Handshake) {
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_at(rest.find('/').expect("path"));
    let mut tcp = TcpStream::connect(host).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut nonce = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut nonce)
        .unwrap();
    let key = b64().encode(nonce);
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n"
    );
    if !protocols.is_empty() {
        req.push_str(&format!(
            "Sec-WebSocket-Protocol: {}\r\n",
            protocols.join(", ")
        ));
    }
    req.push_str("\r\n");
    tcp.write_all(req.as_bytes()).unwrap();
    let hs = super::read_handshake(&mut tcp);
    if hs.status == 101 {
        let mut h = sha1::Sha1::new();
        h.update(format!("{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11").as_bytes());
        assert_eq!(
            hs.header("Sec-WebSocket-Accept"),
            Some(b64().encode(h.finalize()).as_str())
        );
    }
    let base64 = hs
        .header("Sec-WebSocket-Protocol")
        .is_some_and(|p| p.contains("base64"));
    (WsClient { tcp, base64 }, hs)
}

impl WsClient {
    /// Sends one masked frame.
    pub fn frame(&mut self, first: u8, payload: &[u8]) {
        self.try_frame(first, payload).unwrap();
    }

    /// Sends one masked frame; the write's error, if any.
    pub fn try_frame(&mut self, first: u8, payload: &[u8]) -> std::io::Result<()> {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let mut f = vec![first];
        match payload.len() {
            n @ 0..=125 => f.push(0x80 | n as u8),
            n @ 126..=0xffff => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(0x80 | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        self.tcp.write_all(&f)
    }

    /// Sends `data` on channel `ch`.
    pub fn send(&mut self, ch: u8, data: &[u8]) {
        if self.base64 {
            let mut p = vec![b'0' + ch];
            p.extend(b64().encode(data).bytes());
            self.frame(0x81, &p);
        } else {
            let mut p = vec![ch];
            p.extend_from_slice(data);
            self.frame(0x82, &p);
        }
    }

    /// The v5 close signal for channel `ch`.
    pub fn close_channel(&mut self, ch: u8) {
        self.frame(0x82, &[255, ch]);
    }

    pub fn ping(&mut self, body: &[u8]) {
        self.frame(0x89, body);
    }

    /// Sends CLOSE; the server may already be gone (after its own CLOSE).
    pub fn close(&mut self, code: u16) {
        let _ = self.try_frame(0x88, &code.to_be_bytes());
    }

    /// Reads one message; `None` at end of connection.
    pub fn read(&mut self) -> Option<WsIn> {
        let mut h = [0u8; 2];
        self.tcp.read_exact(&mut h).ok()?;
        assert_eq!(h[1] & 0x80, 0, "server frames are not masked");
        assert_ne!(h[0] & 0x80, 0, "the server does not fragment");
        let len = match h[1] & 0x7f {
            126 => {
                let mut b = [0u8; 2];
                self.tcp.read_exact(&mut b).ok()?;
                u64::from(u16::from_be_bytes(b))
            }
            127 => {
                let mut b = [0u8; 8];
                self.tcp.read_exact(&mut b).ok()?;
                u64::from_be_bytes(b)
            }
            n => u64::from(n),
        };
        let mut body = vec![0u8; len as usize];
        self.tcp.read_exact(&mut body).ok()?;
        Some(match h[0] & 0x0f {
            0x8 => WsIn::Close(u16::from_be_bytes([body[0], body[1]])),
            0xa => WsIn::Pong(body),
            0x1 => {
                let data = b64().decode(&body[1..]).expect("base64 message");
                WsIn::Data(body[0] - b'0', data)
            }
            0x2 => WsIn::Data(body[0], body[1..].to_vec()),
            op => panic!("unexpected opcode {op}"),
        })
    }
}

/// What a remote command produced over WebSocket, by channel.
#[derive(Debug, Default)]
pub struct WsOutcome {
    pub channels: [Vec<u8>; 5],
    /// The first message seen: (channel, length).
    pub first: Option<(u8, usize)>,
    pub close: Option<u16>,
}

impl WsOutcome {
    pub fn text(&self, ch: usize) -> String {
        String::from_utf8_lossy(&self.channels[ch]).to_string()
    }
    pub fn status(&self) -> serde_json::Value {
        serde_json::from_slice(&self.channels[3]).unwrap_or(serde_json::Value::Null)
    }
}

/// Reads messages until CLOSE (answered) or the end of the connection.
pub fn ws_collect(c: &mut WsClient) -> WsOutcome {
    let mut out = WsOutcome::default();
    while let Some(m) = c.read() {
        match m {
            WsIn::Data(ch, data) => {
                out.first.get_or_insert((ch, data.len()));
                out.channels[usize::from(ch)].extend(data);
            }
            WsIn::Close(code) => {
                out.close = Some(code);
                c.close(1000);
                break;
            }
            WsIn::Pong(_) => {}
        }
    }
    out
}
