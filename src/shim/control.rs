//! The shim's control socket: attach clients join the container's stdio here.
//!
//! Input: connections on `DIR/control.sock` ([`super::wire`] frames) and the
//! container's output, tapped by [`Tee`] on its way to the log. Output: the output
//! fanned out to every attached client (a queue each; a client that falls
//! [`QUEUE`] chunks behind is dropped rather than stalling the container), client
//! stdin written to the container's stdin (pipe or pty master), resizes applied to the
//! pty. One thread per client plus one writer each; they end with the container.
//! A connection that starts with an exec request is served by [`exec`] instead.

mod children;
pub mod exec;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::wire::{self, Hello, Kind, HEADER_LEN};

/// Chunks queued per client before it is dropped.
const QUEUE: usize = 1024;

/// The attached clients and the container's input.
#[derive(Debug)]
pub struct Hub {
    subs: Mutex<Vec<Sub>>,
    input: Mutex<Option<File>>,
    stdin_once: bool,
    terminal: Option<File>,
    next: AtomicU64,
    writers: Arc<AtomicUsize>,
    exec: Option<exec::Context>,
}

#[derive(Debug)]
struct Sub {
    id: u64,
    tx: SyncSender<Vec<u8>>,
    hello: Hello,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Hub {
    /// A hub writing client stdin to `input`, resizing `terminal` (a pty master),
    /// running exec requests in `exec`'s container.
    pub fn new(
        input: Option<File>,
        stdin_once: bool,
        terminal: Option<File>,
        exec: Option<exec::Context>,
    ) -> Arc<Hub> {
        Arc::new(Hub {
            subs: Mutex::new(Vec::new()),
            input: Mutex::new(input),
            stdin_once,
            terminal,
            next: AtomicU64::new(0),
            writers: Arc::new(AtomicUsize::new(0)),
            exec,
        })
    }

    /// Hands `data` from the container's `kind` stream to every client asking for it.
    pub fn publish(&self, kind: Kind, data: &[u8]) {
        let mut subs = lock(&self.subs);
        let wanted =
            |h: &Hello| (kind == Kind::Stdout && h.stdout) || (kind == Kind::Stderr && h.stderr);
        if !subs.iter().any(|s| wanted(&s.hello)) {
            return;
        }
        let frame = wire::encode(kind, data);
        subs.retain(|s| !wanted(&s.hello) || s.tx.try_send(frame.clone()).is_ok());
    }

    /// Ends every client's connection once its queue is written (the container
    /// ended); waits up to two seconds for the queues to drain.
    pub fn close(&self) {
        lock(&self.subs).clear();
        lock(&self.input).take();
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while self.writers.load(Ordering::Acquire) > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Accepts clients on `listener` until the process ends.
    pub fn serve(self: &Arc<Self>, listener: UnixListener) {
        let hub = self.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let hub = hub.clone();
                std::thread::spawn(move || hub.client(conn));
            }
        });
    }

    /// Serves one client: its hello, a writer thread for its queue, its input (or
    /// an exec request).
    fn client(&self, conn: UnixStream) {
        let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
        let Ok((kind, payload, fds)) = wire::exec::read_frame_fds(&conn) else {
            return;
        };
        let _ = conn.set_read_timeout(None);
        if let (Kind::Exec, Some(exec)) = (kind, &self.exec) {
            return exec.serve(conn, &payload, fds);
        }
        let Some(hello) = Some(payload)
            .filter(|_| kind == Kind::Hello)
            .and_then(|p| Hello::decode(&p))
        else {
            return;
        };
        let Ok(mut out) = conn.try_clone() else {
            return;
        };
        let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE);
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        lock(&self.subs).push(Sub { id, tx, hello });
        let writers = self.writers.clone();
        writers.fetch_add(1, Ordering::AcqRel);
        std::thread::spawn(move || {
            for frame in rx {
                if out.write_all(&frame).is_err() {
                    break;
                }
            }
            let _ = out.shutdown(std::net::Shutdown::Both);
            writers.fetch_sub(1, Ordering::AcqRel);
        });
        while let Ok((kind, payload)) = read_frame(&conn) {
            match kind {
                Kind::Stdin if hello.stdin => self.write_input(&payload),
                Kind::CloseStdin if hello.stdin && self.stdin_once => {
                    lock(&self.input).take();
                }
                Kind::Resize => self.resize(&payload),
                _ => {}
            }
        }
        lock(&self.subs).retain(|s| s.id != id);
        if hello.stdin && self.stdin_once {
            lock(&self.input).take();
        }
    }

    fn write_input(&self, data: &[u8]) {
        if let Some(f) = lock(&self.input).as_mut() {
            let _ = f.write_all(data);
        }
    }

    fn resize(&self, payload: &[u8]) {
        if let (Some(t), Some((w, h))) = (&self.terminal, wire::parse_resize(payload)) {
            let _ = crate::sys::set_window_size(t.as_fd(), h, w);
        }
    }
}

/// Reads one frame.
fn read_frame(mut conn: &UnixStream) -> std::io::Result<(Kind, Vec<u8>)> {
    let mut h = [0u8; HEADER_LEN];
    conn.read_exact(&mut h)?;
    let (kind, len) = wire::parse_header(&h)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let mut payload = vec![0u8; len];
    conn.read_exact(&mut payload)?;
    Ok((kind, payload))
}

/// A reader that hands everything it reads to the hub as `kind` too.
#[derive(Debug)]
pub struct Tee<R> {
    /// The container's output.
    pub inner: R,
    /// Where attached clients are.
    pub hub: Arc<Hub>,
    /// Which stream this is.
    pub kind: Kind,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(data) = buf.get(..n).filter(|d| !d.is_empty()) {
            self.hub.publish(self.kind, data);
        }
        Ok(n)
    }
}
