//! Port forwarding (`portforward.k8s.io`), what SPDY (`portforward_spdy`)
//! and WebSocket (`ws::portforward`) share: the request a URL stands for and
//! the forward itself — the runtime connects to the port inside the pod
//! ([`StreamRuntime::port_forward`]), bytes are copied both ways, and a
//! failure becomes the text for the error stream.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

use super::StreamRuntime;

/// The SPDY subprotocol of port forwarding.
pub const PORTFORWARD_PROTOCOL: &str = "portforward.k8s.io";

/// How long one direction of a forward may go on once the other has ended.
const LINGER: Duration = Duration::from_secs(1);

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
