//! Port forwarding over WebSocket: the ports come from the URL's `port`
//! query parameters; port i gets channel 2i for data (both ways) and 2i+1 for
//! errors, and the server starts each with the port as 2 bytes little-endian.
//! The connection is closed once every port's forward has ended.

use std::sync::Arc;

use super::conn::Conn;
use super::exec::output;
use crate::streaming::portforward::{forward, PortForwardRequest};
use crate::streaming::StreamRuntime;

/// The most ports one connection forwards (two channels each, 255 at most).
pub(crate) const MAX_PORTS: usize = 127;

/// Which channels the client may write: the data channels.
pub(crate) fn readable(ports: usize) -> Vec<bool> {
    (0..ports * 2).map(|ch| ch % 2 == 0).collect()
}

/// Forwards `ports` (one connection each) on `conn`.
pub(crate) async fn serve_ports(
    mut conn: Conn,
    ports: Vec<u16>,
    req: PortForwardRequest,
    rt: Arc<dyn StreamRuntime>,
) {
    let mut tasks = Vec::new();
    for (i, port) in ports.into_iter().enumerate().take(MAX_PORTS) {
        // i < MAX_PORTS, so both channel numbers fit a byte.
        let (data_ch, error_ch) = ((i * 2) as u8, (i * 2 + 1) as u8);
        let (data, error) = (conn.writer(data_ch), conn.writer(error_ch));
        let _ = data.write(&port.to_le_bytes()).await;
        let _ = error.write(&port.to_le_bytes()).await;
        let Some(from_client) = conn.inputs[usize::from(data_ch)].take() else {
            continue;
        };
        let (rt, pod_id, gone) = (rt.clone(), req.pod_id.clone(), conn.gone());
        tasks.push(tokio::spawn(async move {
            let mut pumps = Vec::new();
            let to_client = output(data, &mut pumps);
            let result = forward(&*rt, &pod_id, port, from_client, to_client, gone).await;
            for p in pumps {
                let _ = p.await;
            }
            if let Err(text) = result {
                tracing::debug!(%pod_id, error = %text, "port forward failed");
                let _ = error.write(text.as_bytes()).await;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    conn.close().await;
}
