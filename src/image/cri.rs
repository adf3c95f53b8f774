//! The CRI v1 ImageService over the [`Store`] and the registry [`Client`]: kubelet's
//! ListImages, ImageStatus, PullImage, RemoveImage and ImageFsInfo. Store and
//! registry work is blocking and runs on tokio's blocking pool; errors map to gRPC
//! codes once, in [`status`].

use std::sync::Arc;

use proto::cri::{self, image_service_server::ImageService};
use tonic::{Request, Response, Status};

use super::registry::{Auth, Client};
use super::{pull, Error, ErrorKind, ImageRecord, PullOptions, Store};

/// The ImageService; hand it to `ImageServiceServer::new`.
pub struct ImageServer {
    store: Arc<Store>,
    client: Arc<Client>,
}

impl ImageServer {
    /// A service over `store`, pulling with `client`.
    pub fn new(store: Arc<Store>, client: Arc<Client>) -> ImageServer {
        ImageServer { store, client }
    }
}

/// The gRPC status for an image error.
pub fn status(e: Error) -> Status {
    let code = match e.kind() {
        ErrorKind::InvalidArgument => tonic::Code::InvalidArgument,
        ErrorKind::NotFound => tonic::Code::NotFound,
        ErrorKind::Unauthenticated => tonic::Code::Unauthenticated,
        ErrorKind::Unavailable => tonic::Code::Unavailable,
        ErrorKind::BadContent => tonic::Code::FailedPrecondition,
        ErrorKind::Internal => tonic::Code::Internal,
    };
    if code == tonic::Code::Internal {
        tracing::error!(error = %e, "image call failed");
    }
    Status::new(code, e.to_string())
}

/// Runs blocking store/registry work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Status::internal(format!("image task failed: {e}")))?
        .map_err(status)
}

/// The image named by a CRI spec; an empty name is an invalid argument.
fn name_of(spec: Option<&cri::ImageSpec>) -> Result<String, Status> {
    match spec.map(|s| s.image.trim()) {
        Some(n) if !n.is_empty() => Ok(n.to_string()),
        _ => Err(Status::invalid_argument("no image given")),
    }
}

/// A store record as CRI reports it; the user comes from the config's `User`.
pub fn to_cri(rec: &ImageRecord) -> cri::Image {
    let user = rec
        .config
        .as_ref()
        .and_then(|c| c.pointer("/config/User"))
        .and_then(|u| u.as_str())
        .unwrap_or("");
    let user = user.split(':').next().unwrap_or("");
    let (uid, username) = match user.parse::<i64>() {
        Ok(n) => (Some(cri::Int64Value { value: n }), String::new()),
        Err(_) if user.is_empty() => (Some(cri::Int64Value { value: 0 }), String::new()),
        Err(_) => (None, user.to_string()),
    };
    cri::Image {
        id: rec.id.clone(),
        repo_tags: rec.repo_tags.clone(),
        repo_digests: rec.repo_digests.clone(),
        size: rec.size,
        uid,
        username,
        spec: Some(cri::ImageSpec {
            image: rec.id.clone(),
            ..Default::default()
        }),
        pinned: false,
    }
}

#[tonic::async_trait]
impl ImageService for ImageServer {
    async fn list_images(
        &self,
        req: Request<cri::ListImagesRequest>,
    ) -> Result<Response<cri::ListImagesResponse>, Status> {
        let filter = req
            .into_inner()
            .filter
            .and_then(|f| f.image)
            .map(|s| s.image)
            .filter(|s| !s.is_empty());
        let store = self.store.clone();
        let images = blocking(move || match filter {
            Some(name) => match store.lookup(&name) {
                Ok(rec) => Ok(vec![rec]),
                Err(Error::NotFound(_)) => Ok(Vec::new()),
                Err(e) => Err(e),
            },
            None => store.list(),
        })
        .await?;
        Ok(Response::new(cri::ListImagesResponse {
            images: images.iter().map(to_cri).collect(),
        }))
    }

    async fn image_status(
        &self,
        req: Request<cri::ImageStatusRequest>,
    ) -> Result<Response<cri::ImageStatusResponse>, Status> {
        let req = req.into_inner();
        let name = name_of(req.image.as_ref())?;
        let store = self.store.clone();
        let rec = blocking(move || match store.lookup(&name) {
            Ok(rec) => Ok(Some(rec)),
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        })
        .await?;
        let mut info = std::collections::HashMap::new();
        if let (true, Some(r)) = (req.verbose, &rec) {
            info.insert(
                "info".to_string(),
                serde_json::to_string(r).unwrap_or_default(),
            );
        }
        Ok(Response::new(cri::ImageStatusResponse {
            image: rec.as_ref().map(to_cri),
            info,
        }))
    }

    async fn pull_image(
        &self,
        req: Request<cri::PullImageRequest>,
    ) -> Result<Response<cri::PullImageResponse>, Status> {
        let req = req.into_inner();
        let name = name_of(req.image.as_ref())?;
        let auth = req.auth.map_or(Auth::Anonymous, |a| {
            let (user, pass, token) = (&a.username, &a.password, &a.registry_token);
            Auth::from_cri(user, pass, &a.auth, token, &a.identity_token)
        });
        let (store, client) = (self.store.clone(), self.client.clone());
        let rec = blocking(move || {
            pull(
                &store,
                &client,
                &name,
                &PullOptions {
                    auth,
                    ..Default::default()
                },
            )
        })
        .await?;
        Ok(Response::new(cri::PullImageResponse { image_ref: rec.id }))
    }

    async fn remove_image(
        &self,
        req: Request<cri::RemoveImageRequest>,
    ) -> Result<Response<cri::RemoveImageResponse>, Status> {
        let name = name_of(req.into_inner().image.as_ref())?;
        let store = self.store.clone();
        blocking(move || match store.remove(&name) {
            Ok(_) | Err(Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        })
        .await?;
        Ok(Response::new(cri::RemoveImageResponse {}))
    }

    async fn image_fs_info(
        &self,
        _: Request<cri::ImageFsInfoRequest>,
    ) -> Result<Response<cri::ImageFsInfoResponse>, Status> {
        let store = self.store.clone();
        let (bytes, inodes) = blocking(move || store.usage()).await?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let usage = cri::FilesystemUsage {
            timestamp: i64::try_from(now).unwrap_or(i64::MAX),
            fs_id: Some(cri::FilesystemIdentifier {
                mountpoint: self.store.root().join("sifs").display().to_string(),
            }),
            used_bytes: Some(cri::UInt64Value { value: bytes }),
            inodes_used: Some(cri::UInt64Value { value: inodes }),
        };
        Ok(Response::new(cri::ImageFsInfoResponse {
            image_filesystems: vec![usage],
            container_filesystems: Vec::new(),
        }))
    }
}
