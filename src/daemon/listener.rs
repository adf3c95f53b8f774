//! The CRI unix socket: binds it with the configured mode, refuses to steal the
//! socket of a daemon that still answers, and turns each accepted connection into a
//! [`Conn`] whose client→server bytes went through [`super::authority::filter`].

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio::net::UnixListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::Error;

/// Bytes buffered between the filter and the gRPC server, per connection.
const PIPE_BYTES: usize = 256 * 1024;

/// One accepted, filtered connection, as the gRPC server sees it.
#[derive(Debug)]
pub struct Conn(DuplexStream);

impl tonic::transport::server::Connected for Conn {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// Binds `path` with permission bits `mode`, removing a stale socket first.
pub fn bind(path: &Path, mode: u32) -> Result<UnixListener, Error> {
    let io = |what: &'static str| {
        move |source| Error::Io {
            what,
            path: path.to_owned(),
            source,
        }
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io("create socket directory"))?;
    }
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(Error::InUse(path.to_owned()));
        }
        std::fs::remove_file(path).map_err(io("remove stale socket"))?;
    }
    let listener = UnixListener::bind(path).map_err(io("bind socket"))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(io("set socket mode"))?;
    Ok(listener)
}

/// Accepts connections forever, yielding each one filtered.
pub fn incoming(listener: UnixListener) -> ReceiverStream<std::io::Result<Conn>> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let conn = match listener.accept().await {
                Ok((conn, _)) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            if tx.send(Ok(Conn(splice(conn)))).await.is_err() {
                return;
            }
        }
    });
    ReceiverStream::new(rx)
}

/// Joins a client socket to an in-memory pipe through the authority filter.
fn splice(conn: tokio::net::UnixStream) -> DuplexStream {
    let (ours, theirs) = tokio::io::duplex(PIPE_BYTES);
    let (client_read, mut client_write) = conn.into_split();
    let (mut server_read, server_write) = tokio::io::split(ours);
    tokio::spawn(async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    });
    tokio::spawn(async move {
        let mut server_write = server_write;
        if let Err(e) = super::authority::filter(client_read, &mut server_write).await {
            if e.kind() != std::io::ErrorKind::UnexpectedEof {
                tracing::debug!(error = %e, "connection ended");
            }
        }
        // The server must see end-of-file, or a graceful shutdown waits for it forever.
        let _ = tokio::io::AsyncWriteExt::shutdown(&mut server_write).await;
    });
    theirs
}
