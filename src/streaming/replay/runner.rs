//! What a replay runs on: a fresh single-threaded tokio runtime per replay, an
//! in-memory pipe with the client's bytes on one end, and [`Echo`], the
//! runtime behind the served URL.

use std::future::Future;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::{mpsc, watch};

use super::{DEADLINE, MAX_KEPT};
use crate::streaming::{
    AttachRequest, BoxFuture, ExecRequest, RuntimeError, StreamRuntime, Streams,
};

/// Runs `serve` on one end of an in-memory pipe while `data` is written to
/// the other, then half-closed; collects the answer until the server ends it.
pub(super) fn drive<S, F>(data: &[u8], serve: S) -> Option<Vec<u8>>
where
    S: FnOnce(DuplexStream) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let data = data.to_vec();
    block_on(async move {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let served = tokio::spawn(serve(server));
        let (mut rd, mut wr) = tokio::io::split(client);
        tokio::spawn(async move {
            let _ = wr.write_all(&data).await;
            let _ = wr.shutdown().await;
        });
        let answer = async {
            let (mut out, mut buf) = (Vec::new(), vec![0u8; 16 * 1024]);
            while let Ok(n @ 1..) = rd.read(&mut buf).await {
                if out.len() < MAX_KEPT {
                    out.extend_from_slice(&buf[..n]);
                }
            }
            let _ = served.await;
            out
        };
        tokio::time::timeout(DEADLINE, answer).await.ok()
    })
}

/// Runs `f` on a fresh single-threaded runtime, dropped (with every task
/// left) when `f` is done.
pub(super) fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map(|rt| rt.block_on(f))
        .unwrap_or_else(|e| panic!("cannot build a tokio runtime: {e}"))
}

/// A runtime whose commands echo stdin to stdout until stdin ends or the
/// client goes.
pub(super) struct Echo;

impl Echo {
    async fn run(mut s: Streams) -> usize {
        let (mut stdin, mut resize, mut n) = (s.stdin.take(), s.resize.take(), 0);
        loop {
            tokio::select! {
                d = recv(&mut stdin) => match d {
                    Some(d) => {
                        n += d.len();
                        if let Some(out) = &s.stdout {
                            let _ = out.send(d).await;
                        }
                    }
                    None => return n,
                },
                r = recv(&mut resize) => match r {
                    Some(_) => n += 1,
                    None => resize = None,
                },
                () = gone(&mut s.gone) => return n,
            }
        }
    }
}

/// Resolves once the client is gone.
async fn gone(g: &mut watch::Receiver<bool>) {
    let _ = g.wait_for(|g| *g).await;
}

/// The next message of `rx`; pending forever once there is no channel.
async fn recv<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

impl StreamRuntime for Echo {
    fn exec(&self, _: ExecRequest, s: Streams) -> BoxFuture<'_, Result<i32, RuntimeError>> {
        Box::pin(async move { Ok(i32::from(Echo::run(s).await % 7 != 0)) })
    }

    fn attach(&self, _: AttachRequest, s: Streams) -> BoxFuture<'_, Result<(), RuntimeError>> {
        Box::pin(async move {
            Echo::run(s).await;
            Ok(())
        })
    }
}
