//! A test client for the kubelet streaming protocols, written from the
//! protocol documents (SPDY/3 draft, k8s remotecommand): blocking std I/O,
//! its own frame encoding and header compression.

#![allow(dead_code)]

pub mod harness;
pub mod netns;
pub mod runtime;
pub mod ws;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

/// The SPDY/3 header dictionary (draft section 2.6.10.1): 65 length-prefixed
/// words, then a raw tail.
pub fn spdy3_dictionary() -> Vec<u8> {
    let words = "options head post put delete trace accept accept-charset accept-encoding \
        accept-language accept-ranges age allow authorization cache-control connection content-base \
        content-encoding content-language content-length content-location content-md5 content-range \
        content-type date etag expect expires from host if-match if-modified-since if-none-match \
        if-range if-unmodified-since last-modified location max-forwards pragma proxy-authenticate \
        proxy-authorization range referer retry-after server te trailer transfer-encoding upgrade \
        user-agent vary via warning www-authenticate method get status";
    let mut list: Vec<&str> = words.split_whitespace().collect();
    list.extend([
        "200 OK",
        "version",
        "HTTP/1.1",
        "url",
        "public",
        "set-cookie",
        "keep-alive",
        "origin",
    ]);
    let mut d = Vec::new();
    for w in list {
        d.extend_from_slice(&(w.len() as u32).to_be_bytes());
        d.extend_from_slice(w.as_bytes());
    }
    d.extend_from_slice(
        b"100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505\
203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized\
403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable\
Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT\
chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,\
text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.",
    );
    assert_eq!(d.len(), 1423);
    d
}

/// The HTTP answer to the upgrade request.
pub struct Handshake {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body_start: Vec<u8>,
}

impl Handshake {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends the upgrade request for `url` offering `protocols`.
pub fn upgrade(url: &str, protocols: &[&str]) -> (TcpStream, Handshake) {
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_at(rest.find('/').expect("path"));
    let mut tcp = TcpStream::connect(host).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
    );
    for p in protocols {
        req.push_str(&format!("X-Stream-Protocol-Version: {p}\r\n"));
    }
    req.push_str("Content-Length: 0\r\n\r\n");
    tcp.write_all(req.as_bytes()).unwrap();
    let hs = read_handshake(&mut tcp);
    (tcp, hs)
}

/// Reads the HTTP response head, byte by byte (nothing after it is consumed).
pub fn read_handshake(tcp: &mut TcpStream) -> Handshake {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        match tcp.read(&mut byte) {
            Ok(1) => raw.push(byte[0]),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&raw).to_string();
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .unwrap_or("")
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Handshake {
        status,
        headers,
        body_start: Vec::new(),
    }
}

/// A frame as the client sees it.
#[derive(Debug)]
pub enum In {
    Reply(u32),
    Data { id: u32, fin: bool, data: Vec<u8> },
    Rst { id: u32, status: u32 },
    GoAway { status: u32 },
    Other(u16),
}

/// The client end of a SPDY session.
pub struct Client {
    pub tcp: TcpStream,
    deflate: Compress,
    inflate: Decompress,
    next_id: u32,
}

impl Client {
    pub fn new(tcp: TcpStream) -> Self {
        let mut deflate = Compress::new(Compression::new(6), true);
        deflate.set_dictionary(&spdy3_dictionary()).unwrap();
        Self {
            tcp,
            deflate,
            inflate: Decompress::new(true),
            next_id: 1,
        }
    }

    fn control(&mut self, kind: u16, flags: u8, body: &[u8]) {
        let mut f = vec![0x80, 3];
        f.extend_from_slice(&kind.to_be_bytes());
        f.push(flags);
        f.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        f.extend_from_slice(body);
        self.tcp.write_all(&f).unwrap();
    }

    /// Opens a stream with the given headers; returns its id.
    pub fn open(&mut self, headers: &[(&str, &str)]) -> u32 {
        let mut block = (headers.len() as u32).to_be_bytes().to_vec();
        for (n, v) in headers {
            for s in [n.as_bytes(), v.as_bytes()] {
                block.extend_from_slice(&(s.len() as u32).to_be_bytes());
                block.extend_from_slice(s);
            }
        }
        let mut z = Vec::with_capacity(block.len() + 1500);
        self.deflate
            .compress_vec(&block, &mut z, FlushCompress::Sync)
            .unwrap();
        let id = self.next_id;
        self.next_id += 2;
        let mut body = id.to_be_bytes().to_vec();
        body.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        body.extend_from_slice(&z);
        self.control(1, 0, &body);
        id
    }

    pub fn send(&mut self, id: u32, data: &[u8], fin: bool) {
        let mut f = id.to_be_bytes().to_vec();
        f.push(u8::from(fin));
        f.extend_from_slice(&(data.len() as u32).to_be_bytes()[1..]);
        f.extend_from_slice(data);
        self.tcp.write_all(&f).unwrap();
    }

    fn inflate_block(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 * 1024);
        let before = self.inflate.total_in();
        if let Err(e) = self
            .inflate
            .decompress_vec(data, &mut out, FlushDecompress::Sync)
        {
            assert!(e.needs_dictionary().is_some(), "{e}");
            self.inflate.set_dictionary(&spdy3_dictionary()).unwrap();
            let used = (self.inflate.total_in() - before) as usize;
            self.inflate
                .decompress_vec(&data[used..], &mut out, FlushDecompress::Sync)
                .unwrap();
        }
        out
    }

    pub fn ping(&mut self, n: u32) {
        self.control(6, 0, &n.to_be_bytes());
    }

    /// Reads one frame; `None` at end of connection.
    pub fn read(&mut self) -> Option<In> {
        let mut h = [0u8; 8];
        self.tcp.read_exact(&mut h).ok()?;
        let len = (usize::from(h[5]) << 16) | (usize::from(h[6]) << 8) | usize::from(h[7]);
        let mut body = vec![0u8; len];
        self.tcp.read_exact(&mut body).ok()?;
        let word = |i: usize| u32::from_be_bytes(body[i..i + 4].try_into().unwrap()) & 0x7fff_ffff;
        if h[0] & 0x80 == 0 {
            let id = u32::from_be_bytes(h[..4].try_into().unwrap());
            return Some(In::Data {
                id,
                fin: h[4] & 1 == 1,
                data: body,
            });
        }
        Some(match u16::from_be_bytes([h[2], h[3]]) {
            2 => {
                self.inflate_block(&body[4..]);
                In::Reply(word(0))
            }
            3 => In::Rst {
                id: word(0),
                status: word(4),
            },
            7 => In::GoAway { status: word(4) },
            k => In::Other(k),
        })
    }
}

/// What a remote command produced.
#[derive(Debug, Default)]
pub struct Outcome {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub error: Vec<u8>,
    pub goaway: bool,
}

impl Outcome {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).to_string()
    }
    pub fn error_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.error).unwrap_or(serde_json::Value::Null)
    }
}

/// Opens the named streams (error first, as the kubelet's client does).
pub fn open_streams(c: &mut Client, types: &[&str]) -> Vec<(String, u32)> {
    types
        .iter()
        .map(|t| (t.to_string(), c.open(&[("streamType", t)])))
        .collect()
}

/// Reads until the error stream ends (or the connection does).
pub fn collect(c: &mut Client, ids: &[(String, u32)]) -> Outcome {
    let id_of = |n: &str| ids.iter().find(|(t, _)| t == n).map(|(_, i)| *i);
    let mut out = Outcome::default();
    while let Some(frame) = c.read() {
        match frame {
            In::Data { id, fin, data } => {
                if Some(id) == id_of("stdout") {
                    out.stdout.extend(data);
                } else if Some(id) == id_of("stderr") {
                    out.stderr.extend(data);
                } else if Some(id) == id_of("error") {
                    out.error.extend(data);
                    if fin {
                        break;
                    }
                }
            }
            In::GoAway { .. } => {
                out.goaway = true;
                break;
            }
            _ => {}
        }
    }
    out
}

/// Opens a port-forward pair for `port` (error stream first, half-closed by
/// us as kubectl does, then data); returns (error id, data id).
pub fn open_port_pair(c: &mut Client, port: u16, request_id: u32) -> (u32, u32) {
    let (port, rid) = (port.to_string(), request_id.to_string());
    let error = c.open(&[
        ("streamType", "error"),
        ("port", &port),
        ("requestID", &rid),
    ]);
    c.send(error, b"", true);
    let data = c.open(&[("streamType", "data"), ("port", &port), ("requestID", &rid)]);
    (error, data)
}
