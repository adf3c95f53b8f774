//! Port forwarding over SPDY: for each forwarded connection the client opens
//! a data stream and an error stream, paired by their `requestID` header, the
//! data stream carrying the `port` header. Once both are open the pair is
//! forwarded ([`super::portforward`]); a failure is written as text on the
//! error stream, which is closed last. The session lives until the client goes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::portforward::{forward, PortForwardRequest};
use super::remotecommand::output;
use super::spdy::{headers, Session, SpdyStream};
use super::StreamRuntime;

/// How long half of a stream pair waits for the other half.
const PAIR_WAIT: Duration = Duration::from_secs(30);

/// The most stream halves waiting for their pair at once.
const MAX_PENDING: usize = 128;

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
        let expired: Vec<String> = pending
            .iter()
            .filter(|(_, h)| h.since.elapsed() >= PAIR_WAIT)
            .map(|(k, _)| k.clone())
            .collect();
        for k in expired {
            if let Some(h) = pending.remove(&k) {
                tokio::spawn(refuse(
                    h.stream,
                    "timed out waiting for the other stream of the pair",
                ));
            }
        }
        let Some(other) = pending.remove(&id) else {
            if pending.len() < MAX_PENDING {
                let since = Instant::now();
                pending.insert(id, Half { since, stream });
            } else {
                tokio::spawn(refuse(stream, "too many unpaired streams"));
            }
            continue;
        };
        if is_type(&stream, "data") == is_type(&other.stream, "data") {
            pending.insert(id, other);
            tokio::spawn(refuse(
                stream,
                "a stream of that type and requestID is already open",
            ));
            continue;
        }
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

/// Ends a stream that will not be forwarded: an error stream gets `why`.
async fn refuse(stream: SpdyStream, why: &str) {
    tracing::debug!(stream = stream.id, why, "port-forward stream refused");
    if is_type(&stream, "error") {
        let _ = stream.tx.write(why.as_bytes()).await;
    }
    let _ = stream.tx.close().await;
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
