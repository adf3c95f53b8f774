//! A tiny HTTP/1.1 server for failures a real registry never produces on demand
//! (wrong bytes for a digest, a huge manifest); stopped on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// An answer: status, content type, body, and an optional Content-Length override.
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    /// Stream this many zero bytes instead of `body` (a huge response).
    pub stream_zeros: Option<u64>,
    /// Extra response headers.
    pub headers: Vec<(String, String)>,
    /// Close the connection after this many body bytes (a broken transfer).
    pub cut_after: Option<usize>,
}

/// What the server saw of a request.
pub struct Req {
    /// `GET`, `POST`, …
    pub method: String,
    pub path: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    /// The request body (read up to its `Content-Length`, at most 1 MiB).
    pub body: Vec<u8>,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Answer {
    pub fn ok(content_type: &str, body: Vec<u8>) -> Answer {
        Answer {
            status: 200,
            content_type: content_type.into(),
            body,
            stream_zeros: None,
            headers: Vec::new(),
            cut_after: None,
        }
    }
    pub fn not_found() -> Answer {
        Answer {
            status: 404,
            ..Answer::ok("text/plain", b"not found".to_vec())
        }
    }
}

/// The server.
pub struct Fake {
    pub host: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Fake {
    /// Serves `route(path)` for every request.
    pub fn start(route: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Fake {
        Self::start_full(move |r: &Req| route(&r.path))
    }

    /// Serves `route(request)` for every request, each connection on a thread of its
    /// own: a client may keep one connection alive while it opens another.
    pub fn start_full(route: impl Fn(&Req) -> Answer + Send + Sync + 'static) -> Fake {
        let route = Arc::new(route);
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let host = l.local_addr().expect("addr").to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            for conn in l.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(c) = conn {
                    let route = route.clone();
                    std::thread::spawn(move || serve(c, &*route));
                }
            }
        });
        Fake {
            host,
            stop,
            thread: Some(thread),
        }
    }
}

fn serve(c: TcpStream, route: &dyn Fn(&Req) -> Answer) -> std::io::Result<()> {
    let mut r = BufReader::new(c.try_clone()?);
    let mut w = c;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let method = line.split_whitespace().next().unwrap_or("").to_string();
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if r.read_line(&mut h)? == 0 || h == "\r\n" {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let mut req = Req {
            method,
            path,
            headers,
            body: Vec::new(),
        };
        let len: usize = req
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        req.body = vec![0; len.min(1 << 20)];
        r.read_exact(&mut req.body)?;
        let a = if req.path == "/v2/" {
            Answer::ok("application/json", b"{}".to_vec())
        } else {
            route(&req)
        };
        let len = a.stream_zeros.unwrap_or(a.body.len() as u64);
        write!(
            w,
            "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {len}\r\n",
            a.status, a.content_type
        )?;
        for (k, v) in &a.headers {
            write!(w, "{k}: {v}\r\n")?;
        }
        write!(w, "\r\n")?;
        if let Some(n) = a.cut_after {
            w.write_all(&a.body[..n.min(a.body.len())])?;
            return Ok(());
        }
        match a.stream_zeros {
            Some(n) => {
                let chunk = vec![0u8; 1 << 20];
                let mut left = n;
                while left > 0 {
                    let k = left.min(chunk.len() as u64) as usize;
                    w.write_all(&chunk[..k])?;
                    left -= k as u64;
                }
            }
            None => w.write_all(&a.body)?,
        }
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.host);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
