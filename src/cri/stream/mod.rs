//! The daemon's side of streaming: the Exec, Attach and PortForward RPCs check their
//! request and hand out single-use URLs of the streaming server ([`Urls`]); the server
//! calls back into [`Backend`], which runs `sifcri oci exec` for an exec ([`exec`]),
//! joins the container's stdio through its shim's control socket for an attach
//! ([`attach`]) and connects inside the pod's network namespace for a port forward
//! ([`portforward`]).
//!
//! Input: CRI requests, then the client's streams (see `crate::streaming`). Output:
//! URLs, then the command's output and exit code.

mod attach;
mod exec;
mod portforward;

use std::sync::Arc;

use proto::cri;

use super::container::{ContainerRecord, Containers};
use super::Error;
use crate::pod::Pods;
use crate::streaming::{self, BoxFuture, RuntimeError, StreamRuntime, Streams};

/// The streaming server, once the daemon has started it.
#[derive(Clone, Default)]
pub struct Urls(Option<Arc<streaming::Server>>);

impl std::fmt::Debug for Urls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let addr = self.0.as_ref().map(|s| s.local_addr());
        f.debug_tuple("Urls").field(&addr).finish()
    }
}

impl Urls {
    /// URLs of `server`.
    pub fn new(server: streaming::Server) -> Urls {
        Urls(Some(Arc::new(server)))
    }

    fn server(&self) -> Result<&streaming::Server, Error> {
        self.0
            .as_deref()
            .ok_or(Error::Unimplemented("streaming (no streaming server)"))
    }

    /// Exec: the container must run and at least one stream be asked for.
    pub fn exec(&self, containers: &Containers, r: cri::ExecRequest) -> Result<String, Error> {
        if r.cmd.is_empty() {
            return Err(Error::InvalidArgument("exec: empty command".into()));
        }
        check_streams(r.stdin, r.stdout, r.stderr, r.tty)?;
        running(containers, &r.container_id)?;
        Ok(self.server()?.exec_url(streaming::ExecRequest {
            container_id: r.container_id,
            cmd: r.cmd,
            tty: r.tty,
            stdin: r.stdin,
            stdout: r.stdout,
            stderr: r.stderr,
        }))
    }

    /// Attach: as exec; `tty` follows the container's own config.
    pub fn attach(&self, containers: &Containers, r: cri::AttachRequest) -> Result<String, Error> {
        check_streams(r.stdin, r.stdout, r.stderr, r.tty)?;
        let c = running(containers, &r.container_id)?;
        if r.stdin && !c.config.stdin {
            return Err(Error::InvalidArgument(format!(
                "container {} was not created with stdin",
                c.id
            )));
        }
        Ok(self.server()?.attach_url(streaming::AttachRequest {
            container_id: r.container_id,
            tty: c.config.tty,
            stdin: r.stdin,
            stdout: r.stdout,
            stderr: r.stderr && !c.config.tty,
        }))
    }

    /// PortForward: the pod must be ready.
    pub fn port_forward(&self, pods: &Pods, r: cri::PortForwardRequest) -> Result<String, Error> {
        portforward::check_ports(&r)?;
        let pod = portforward::ready_pod(pods, &r.pod_sandbox_id)?;
        Ok(self.server()?.port_forward_url(pod.id))
    }
}

/// At least one stream, and no stderr beside a terminal.
fn check_streams(stdin: bool, stdout: bool, stderr: bool, tty: bool) -> Result<(), Error> {
    if !(stdin || stdout || stderr) {
        return Err(Error::InvalidArgument(
            "one of stdin, stdout or stderr must be requested".into(),
        ));
    }
    if tty && stderr {
        return Err(Error::InvalidArgument(
            "tty and stderr cannot both be requested (a terminal has one output)".into(),
        ));
    }
    Ok(())
}

/// The container `id`, which must be running.
fn running(containers: &Containers, id: &str) -> Result<ContainerRecord, Error> {
    if id.is_empty() {
        return Err(Error::InvalidArgument("container id is empty".into()));
    }
    let c = containers.get(id)?;
    if c.state() != cri::ContainerState::ContainerRunning {
        return Err(Error::FailedPrecondition(format!(
            "container {id} is not running"
        )));
    }
    Ok(c)
}

/// What the streaming server calls to run exec and attach.
#[derive(Debug)]
pub struct Backend {
    containers: Arc<Containers>,
    pods: Arc<Pods>,
}

impl Backend {
    /// A backend over the daemon's containers and pods.
    pub fn new(containers: Arc<Containers>, pods: Arc<Pods>) -> Backend {
        Backend { containers, pods }
    }

    /// The running container `id`, as the client is told.
    fn container(&self, id: &str) -> Result<ContainerRecord, RuntimeError> {
        let c = self
            .containers
            .get(id)
            .map_err(|_| RuntimeError::NotFound(id.to_owned()))?;
        if c.state() != cri::ContainerState::ContainerRunning {
            return Err(RuntimeError::NotRunning(id.to_owned()));
        }
        Ok(c)
    }
}

impl StreamRuntime for Backend {
    fn exec(
        &self,
        req: streaming::ExecRequest,
        streams: Streams,
    ) -> BoxFuture<'_, Result<i32, RuntimeError>> {
        Box::pin(async move {
            let c = self.container(&req.container_id)?;
            exec::run(&self.containers.runtime_root, &c, req, streams).await
        })
    }

    fn attach(
        &self,
        req: streaming::AttachRequest,
        streams: Streams,
    ) -> BoxFuture<'_, Result<(), RuntimeError>> {
        Box::pin(async move {
            let c = self.container(&req.container_id)?;
            attach::run(&c, req, streams).await
        })
    }

    fn port_forward(
        &self,
        pod_id: String,
        port: u16,
    ) -> BoxFuture<'_, Result<tokio::net::TcpStream, RuntimeError>> {
        Box::pin(async move { portforward::connect(&self.pods, &pod_id, port).await })
    }
}
