//! Port forwarding (`portforward.k8s.io`), over SPDY here and over WebSocket
//! in [`super::ws`]: for each forwarded connection the client opens a data
//! stream and an error stream, paired by their `requestID` header, the data
//! stream carrying the `port` header. The runtime connects to the port inside
//! the pod ([`StreamRuntime::port_forward`]); bytes are copied both ways; a
//! failure is written as text on the error stream; both streams are closed
//! when the pod's side and the client's side are done.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

use super::remotecommand::output;
use super::spdy::{headers, Session, SpdyStream};
use super::StreamRuntime;

/// The SPDY subprotocol of port forwarding.
pub const PORTFORWARD_PROTOCOL: &str = "portforward.k8s.io";

/// How long half of a stream pair waits for the other half.
const PAIR_WAIT: Duration = Duration::from_secs(30);

/// How long one direction of a forward may go on once the other has ended.
const LINGER: Duration = Duration::from_secs(1);

/// The most stream halves waiting for their pair at once.
const MAX_PENDING: usize = 128;

/// A port-forward request, as the PortForward RPC carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortForwardRequest {
    /// The pod whose network namespace to forward into.
    pub pod_id: String,
}

/// Connects to `port` in the pod and copies bytes both ways: `from_client` to
/// the pod (its end shuts down the pod socket's write side), the pod's bytes
/// to `to_client` (dropped at the pod's EOF). Once one direction has ended
/// the other gets [`LINGER`] to end too; everything stops when the client's
/// connection goes. The `Err` is the text for the error stream.
pub(crate) async fn forward(
    rt: &dyn StreamRuntime,
    pod_id: &str,
    port: u16,
    mut from_client: mpsc::Receiver<Vec<u8>>,
    to_client: mpsc::Sender<Vec<u8>>,
    mut gone: watch::Receiver<bool>,
) -> Result<(), String> {
    let fail =
        |e: &dyn std::fmt::Display| format!("error forwarding port {port} to pod {pod_id}: {e}");
    let tcp = rt
        .port_forward(pod_id.to_string(), port)
        .await
        .map_err(|e| fail(&e))?;
    let (mut rd, mut wr) = tcp.into_split();
    let up = async move {
        while let Some(data) = from_client.recv().await {
            wr.write_all(&data).await?;
        }
        wr.shutdown().await
    };
    let down = async move {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = rd.read(&mut buf).await?;
            if n == 0 || to_client.send(buf[..n].to_vec()).await.is_err() {
                return Ok::<(), std::io::Error>(());
            }
        }
    };
    let both = async {
        let (mut up, mut down) = (std::pin::pin!(up), std::pin::pin!(down));
        let (first, up_first) = tokio::select! {
            u = &mut up => (u, true),
            d = &mut down => (d, false),
        };
        // The other direction gets a moment to finish, as containerd gives it: a
        // client that waits for the pod's EOF before it half-closes would wait forever.
        let rest = async {
            if up_first {
                down.await
            } else {
                up.await
            }
        };
        let second = tokio::time::timeout(LINGER, rest).await.unwrap_or(Ok(()));
        first.and(second)
    };
    tokio::select! {
        r = both => r.map_err(|e| fail(&e)),
        _ = gone.wait_for(|g| *g) => Ok(()),
    }
}

/// One half of a pair, waiting for the other.
struct Half {
    since: Instant,
    stream: SpdyStream,
}

/// Serves port forwarding on a SPDY session until the client goes.
pub(crate) async fn serve_spdy(
    mut session: Session,
    req: PortForwardRequest,
    rt: Arc<dyn StreamRuntime>,
) {
    let mut pending: HashMap<String, Half> = HashMap::new();
    while let Some(stream) = session.accept().await {
        let Some(id) = request_id(&stream) else {
            tracing::debug!(stream = stream.id, "port-forward stream of unknown type");
            continue;
        };
        pending.retain(|_, h| h.since.elapsed() < PAIR_WAIT);
        let Some(other) = pending.remove(&id) else {
            if pending.len() < MAX_PENDING {
                let since = Instant::now();
                pending.insert(id, Half { since, stream });
            }
            continue;
        };
        let (data, error) = if is_type(&stream, "data") {
            (stream, other.stream)
        } else {
            (other.stream, stream)
        };
        tokio::spawn(pair(
            data,
            error,
            req.pod_id.clone(),
            rt.clone(),
            session.gone(),
        ));
    }
}

/// Forwards one connection: a data stream and its error stream.
async fn pair(
    data: SpdyStream,
    error: SpdyStream,
    pod_id: String,
    rt: Arc<dyn StreamRuntime>,
    gone: watch::Receiver<bool>,
) {
    let port = headers::get(&data.headers, "port").and_then(|p| p.parse::<u16>().ok());
    let result = match port {
        Some(port @ 1..) => {
            let mut pumps = Vec::new();
            let to_client = output(data.tx.clone(), &mut pumps);
            let r = forward(&*rt, &pod_id, port, data.rx, to_client, gone).await;
            for p in pumps {
                let _ = p.await;
            }
            r
        }
        _ => {
            let _ = data.tx.close().await;
            let port = headers::get(&data.headers, "port").unwrap_or("");
            Err(format!("invalid port {port:?}"))
        }
    };
    if let Err(text) = result {
        tracing::debug!(%pod_id, error = %text, "port forward failed");
        let _ = error.tx.write(text.as_bytes()).await;
    }
    let _ = error.tx.close().await;
}

fn is_type(s: &SpdyStream, t: &str) -> bool {
    headers::get(&s.headers, "streamtype") == Some(t)
}

/// The pair key: the `requestID` header, or for clients too old to send one
/// the stream id (error) or the id minus 2 (data), as the kubelet guesses.
fn request_id(s: &SpdyStream) -> Option<String> {
    let fallback = if is_type(s, "error") {
        s.id
    } else if is_type(s, "data") {
        s.id.checked_sub(2)?
    } else {
        return None;
    };
    Some(match headers::get(&s.headers, "requestid") {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => fallback.to_string(),
    })
}
