//! Port forwarding into a pod: a TCP connection to `localhost:PORT` inside the pod's
//! pinned network namespace (`crate::streaming::connect_in_netns`), or on the host for
//! a pod in the host's network. The streaming server copies the bytes.

use proto::cri;

use super::super::Error;
use crate::pod::{PodRecord, PodState, Pods};
use crate::streaming::RuntimeError;

/// The pod `id`, which must be ready (the PortForward RPC's check).
pub fn ready_pod(pods: &Pods, id: &str) -> Result<PodRecord, Error> {
    if id.is_empty() {
        return Err(Error::InvalidArgument("pod sandbox id is empty".into()));
    }
    let pod = pods.get(id)?;
    if pod.state != PodState::Ready {
        return Err(Error::FailedPrecondition(format!("pod {id} is not ready")));
    }
    Ok(pod)
}

/// The ports asked for must be valid TCP ports (the client names them again per stream).
pub fn check_ports(req: &cri::PortForwardRequest) -> Result<(), Error> {
    match req.port.iter().find(|p| !(1..=65535).contains(*p)) {
        Some(p) => Err(Error::InvalidArgument(format!("invalid port {p}"))),
        None => Ok(()),
    }
}

/// Connects to `port` inside `pod`'s network.
pub async fn connect(
    pods: &Pods,
    pod_id: &str,
    port: u16,
) -> Result<tokio::net::TcpStream, RuntimeError> {
    let pod = pods
        .get(pod_id)
        .map_err(|_| RuntimeError::NotFound(pod_id.to_owned()))?;
    if pod.state != PodState::Ready {
        return Err(RuntimeError::NotRunning(pod_id.to_owned()));
    }
    let connected = match pod.namespace("net") {
        Some(netns) => crate::streaming::connect_in_netns(netns, port)
            .await
            .map_err(|e| error_chain(&e)),
        None => tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("connect to localhost:{port}: {e}")),
    };
    connected.map_err(RuntimeError::Other)
}

/// An error and its causes, `: `-joined.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}
