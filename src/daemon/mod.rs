//! `sifcri serve`: the CRI daemon's process — directories, the unix socket, the gRPC
//! server with the CRI services, readiness and graceful shutdown.
//!
//! Input: a validated [`Config`]. Output: CRI v1 served on `config.socket` until
//! SIGTERM or SIGINT; then the calls in flight finish (at most [`SHUTDOWN_GRACE`];
//! connections without a call are not waited for: `inflight`), the socket is removed
//! and the function returns. Containers are not touched by a shutdown: they belong to their
//! shims (see DESIGN.md).

mod authority;
mod inflight;
mod listener;
mod notify;
pub mod userns;

use std::path::PathBuf;

use proto::cri::image_service_server::ImageServiceServer;
use proto::cri::runtime_service_server::RuntimeServiceServer;
use tokio::signal::unix::{signal, SignalKind};

use crate::config::Config;

/// How long a shutdown waits for the calls in flight.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// What can stop the daemon from serving.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file operation failed.
    #[error("cannot {what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// On what.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Another daemon answers on the socket.
    #[error("another daemon is serving {0}; stop it first")]
    InUse(PathBuf),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// The gRPC server failed.
    #[error("grpc server: {0}")]
    Serve(#[from] tonic::transport::Error),
    /// The image store could not be opened.
    #[error("image store: {0}")]
    Image(String),
    /// The CRI services could not be set up.
    #[error(transparent)]
    Cri(#[from] crate::cri::Error),
    /// The streaming server's address is not `HOST:PORT`.
    #[error("streaming address {0:?} is not HOST:PORT")]
    StreamingAddress(String),
    /// The streaming server could not start.
    #[error("streaming server: {0}")]
    Streaming(#[from] crate::streaming::StreamingError),
}

/// Serves CRI as `config` says until asked to stop.
pub fn serve(config: Config) -> Result<(), Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(4)
        .build()
        .map_err(Error::Runtime)?
        .block_on(run(config))
}

async fn run(config: Config) -> Result<(), Error> {
    for (dir, mode) in [(&config.root, 0o711), (&config.state, 0o711)] {
        make_dir(dir, mode)?;
    }
    let runtime = crate::cri::Runtime::new(&config)?;
    let lowers = runtime.lowers();
    let runtime = start_streaming(&config, runtime).await?;
    crate::network::hostport::restore(&config.root);
    let images = image_service(&config)?;
    let listener = listener::bind(&config.socket, config.socket_mode)?;
    tracing::info!(socket = %config.socket.display(), "serving CRI");
    notify::notify("READY=1");
    let inflight = inflight::InFlight::default();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serve = tonic::transport::Server::builder()
        .layer(inflight.clone())
        .add_service(RuntimeServiceServer::new(runtime))
        .add_service(ImageServiceServer::new(images))
        .serve_with_incoming_shutdown(listener::incoming(listener), async {
            let _ = stopped.await;
        });
    tokio::pin!(serve);
    let result = tokio::select! {
        r = &mut serve => r,
        () = shutdown() => {
            let _ = stop.send(());
            // The calls being answered finish; idle connections are not waited for.
            tokio::select! {
                r = &mut serve => r,
                done = inflight.drained(SHUTDOWN_GRACE) => {
                    if !done {
                        tracing::warn!(calls = inflight.count(), "calls still in flight after {SHUTDOWN_GRACE:?}: stopping");
                    }
                    Ok(())
                }
            }
        }
    };
    notify::notify("STOPPING=1");
    // Lingering image mounts are a cache: none outlives the daemon unused.
    match lowers.sweep(std::time::Duration::ZERO) {
        Ok(done) => done
            .iter()
            .for_each(|d| tracing::info!("shared lowers: {d}")),
        Err(e) => tracing::warn!(error = %e, "cannot unmount the unused shared lowers"),
    }
    let _ = std::fs::remove_file(&config.socket);
    tracing::info!("stopped");
    Ok(result?)
}

/// Starts the exec/attach streaming server on the configured address.
async fn start_streaming(
    config: &Config,
    runtime: crate::cri::Runtime,
) -> Result<crate::cri::Runtime, Error> {
    let address = &config.streaming.address;
    let addr = address
        .parse()
        .map_err(|_| Error::StreamingAddress(address.clone()))?;
    let server_config = crate::streaming::ServerConfig {
        addr,
        idle_timeout: config.streaming.idle_timeout.0,
        ..Default::default()
    };
    let server = crate::streaming::Server::start(server_config, runtime.stream_runtime()).await?;
    tracing::info!(address = %server.local_addr(), "serving exec, attach and port-forward streams");
    Ok(runtime.with_streaming(server))
}

/// The ImageService over the store at the root directory.
fn image_service(config: &Config) -> Result<crate::image::ImageServer, Error> {
    let store = crate::image::Store::open(&config.root).map_err(|e| Error::Image(e.to_string()))?;
    let client = crate::image::registry::Client::new(config.registry.to_image());
    Ok(crate::image::ImageServer::new(
        std::sync::Arc::new(store),
        std::sync::Arc::new(client),
    ))
}

/// Resolves on the first SIGTERM or SIGINT.
async fn shutdown() {
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
    }
}

fn make_dir(dir: &std::path::Path, mode: u32) -> Result<(), Error> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
        .map_err(|source| Error::Io {
            what: "create directory",
            path: dir.to_owned(),
            source,
        })
}
