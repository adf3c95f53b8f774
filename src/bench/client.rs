//! The benchmark's connection: a RuntimeService and ImageService client over the
//! endpoint's unix socket, the image check and pull, and the list of pods still alive
//! so that a failed run removes what it made.

use std::future::Future;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::Path;
use std::time::{Duration, Instant};

use proto::cri;
use proto::cri::image_service_client::ImageServiceClient;
use proto::cri::runtime_service_client::RuntimeServiceClient;
use tonic::transport::Channel;

use super::calls::Calls;
use super::Error;

/// One timed call's result.
pub type Timed<T> = Result<(T, Duration), Error>;

/// A connected benchmark client.
#[derive(Debug)]
pub struct Client {
    /// The runtime calls.
    pub calls: Calls,
    img: ImageServiceClient<Channel>,
    /// Pods created and not yet removed: (id, name).
    live: Vec<(String, String)>,
}

/// Awaits `fut`, timing it; a refusal becomes [`Error::Call`] naming `call`.
pub async fn timed<T, F>(call: &'static str, fut: F) -> Timed<T>
where
    F: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let t = Instant::now();
    let r = fut.await.map_err(|status| Error::Call { call, status })?;
    Ok((r.into_inner(), t.elapsed()))
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { what, source }
}

/// Creates `dir` (mode 0755) owned by `owner`, so that a daemon of another user can
/// write the container logs into it.
pub fn owned_dir(dir: &Path, owner: (u32, u32)) -> Result<(), Error> {
    let what = || format!("create {}", dir.display());
    std::fs::DirBuilder::new()
        .mode(0o755)
        .recursive(true)
        .create(dir)
        .map_err(io(what()))?;
    if owner
        != (
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        )
    {
        std::os::unix::fs::chown(dir, Some(owner.0), Some(owner.1)).map_err(io(what()))?;
    }
    Ok(())
}

impl Client {
    /// Connects to `path`; log files go to a fresh directory owned by `daemon`'s user.
    pub async fn connect(path: &Path, daemon: i32) -> Result<Client, Error> {
        let ch = crate::cri::ctl::channel(path)
            .await
            .map_err(|source| Error::Connect {
                path: path.to_owned(),
                source,
            })?;
        let proc_dir = format!("/proc/{daemon}");
        let m = std::fs::metadata(&proc_dir).map_err(io(format!("stat {proc_dir}")))?;
        let id = crate::state::new_id();
        let logs = std::env::temp_dir().join(format!("sifcri-bench-{}", &id[..12]));
        owned_dir(&logs, (m.uid(), m.gid()))?;
        let rt = RuntimeServiceClient::new(ch.clone());
        Ok(Client {
            calls: Calls::new(rt, logs, (m.uid(), m.gid())),
            img: ImageServiceClient::new(ch),
            live: Vec::new(),
        })
    }

    /// Pulls `image` unless the runtime has it; returns whether it pulled.
    pub async fn ensure_image(&mut self, image: &str) -> Result<bool, Error> {
        let spec = cri::ImageSpec {
            image: image.into(),
            ..Default::default()
        };
        let req = cri::ImageStatusRequest {
            image: Some(spec.clone()),
            verbose: false,
        };
        let (st, _) = timed("ImageStatus", self.img.image_status(req)).await?;
        if st.image.is_some() {
            return Ok(false);
        }
        let req = cri::PullImageRequest {
            image: Some(spec),
            auth: None,
            sandbox_config: None,
        };
        timed("PullImage", self.img.pull_image(req)).await?;
        Ok(true)
    }

    /// Records a pod made, for [`Client::cleanup`].
    pub fn made(&mut self, id: &str, name: &str) {
        self.live.push((id.into(), name.into()));
    }

    /// Forgets a removed pod.
    pub fn removed(&mut self, id: &str) {
        self.live.retain(|(p, _)| p != id);
    }

    /// Stops and removes every pod still alive, then the log directory; reports the
    /// first failure.
    pub async fn cleanup(&mut self) -> Result<(), Error> {
        let mut first = None;
        for (id, name) in std::mem::take(&mut self.live) {
            let stopped = self.calls.stop_pod(&id).await;
            let removed = self.calls.remove_pod(&id, &name).await;
            if let Err(e) = stopped.and(removed) {
                first.get_or_insert(e);
            }
        }
        let _ = std::fs::remove_dir_all(self.calls.logs());
        first.map_or(Ok(()), Err)
    }
}
