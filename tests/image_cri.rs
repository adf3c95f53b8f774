//! The CRI ImageService called directly (no gRPC transport): list, status (found and
//! not found), pull (bad argument, unreachable, real registry), idempotent remove,
//! filesystem usage, and the gRPC codes errors map to.

mod image_common;

use std::sync::Arc;

use image_common::layers::Layer;
use image_common::registry::{client, config, push_image, Registry};
use proto::cri::{self, image_service_server::ImageService};
use sifcri::image::registry::Auth;
use sifcri::image::{ImageServer, Store};
use tonic::{Code, Request};

fn spec(name: &str) -> Option<cri::ImageSpec> {
    Some(cri::ImageSpec {
        image: name.into(),
        ..Default::default()
    })
}

fn server(root: &std::path::Path) -> (ImageServer, Arc<Store>) {
    let store = Arc::new(Store::open(root).unwrap());
    (ImageServer::new(store.clone(), Arc::new(client())), store)
}

#[tokio::test]
async fn list_status_remove_fsinfo() {
    let root = tempfile::tempdir().unwrap();
    let (svc, store) = server(root.path());
    let listed = svc
        .list_images(Request::new(cri::ListImagesRequest::default()))
        .await
        .unwrap();
    assert!(listed.into_inner().images.is_empty());
    let work = tempfile::tempdir().unwrap();
    let sif = work.path().join("x.sif");
    let input = sifcri::sif::ObjectInput::new(sifcri::sif::DataType::Generic, &b"x"[..]);
    sifcri::sif::create(
        &sif,
        &sifcri::sif::CreateOptions::deterministic(),
        vec![input],
    )
    .unwrap();
    let rec = store.import(&sif, Some("localhost/x:1")).unwrap();
    let filter = Some(cri::ImageFilter {
        image: spec("localhost/x:1"),
    });
    let listed = svc
        .list_images(Request::new(cri::ListImagesRequest { filter }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.images.len(), 1);
    assert_eq!(listed.images[0].id, rec.id);
    assert_eq!(
        listed.images[0].repo_tags,
        vec!["localhost/x:1".to_string()]
    );
    assert_eq!(listed.images[0].uid, Some(cri::Int64Value { value: 0 }));
    let st = svc
        .image_status(Request::new(cri::ImageStatusRequest {
            image: spec(&rec.id),
            verbose: true,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(st.image.unwrap().size, rec.size);
    assert!(st.info["info"].contains(&rec.id));
    let st = svc
        .image_status(Request::new(cri::ImageStatusRequest {
            image: spec("nope:1"),
            verbose: false,
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(st.image.is_none(), "absent image: no error, no image");
    let fs = svc
        .image_fs_info(Request::new(cri::ImageFsInfoRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        fs.image_filesystems[0].used_bytes,
        Some(cri::UInt64Value { value: rec.size })
    );
    for _ in 0..2 {
        svc.remove_image(Request::new(cri::RemoveImageRequest {
            image: spec("localhost/x:1"),
        }))
        .await
        .unwrap();
    }
    assert!(store.list().unwrap().is_empty());
    let err = svc
        .remove_image(Request::new(cri::RemoveImageRequest { image: None }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn pull_maps_errors_to_grpc_codes() {
    let root = tempfile::tempdir().unwrap();
    let (svc, store) = server(root.path());
    let pull = |name: &str| cri::PullImageRequest {
        image: spec(name),
        ..Default::default()
    };
    let err = svc.pull_image(Request::new(pull(""))).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = svc
        .pull_image(Request::new(pull("UPPER/case")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = svc
        .pull_image(Request::new(pull(&format!("127.0.0.1:{port}/a:b"))))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    let Some(reg) = Registry::start(Some(("u", "p"))) else {
        return;
    };
    let good = Auth::Basic {
        username: "u".into(),
        password: "p".into(),
    };
    let reference = reg.reference("cri/pull:v1");
    let layer = Layer::default().file("f", b"f", 0o644, (0, 0)).gzip();
    let (_, cfg) = push_image(&client(), &reference, &[layer], &config("amd64", 1), &good);
    let err = svc
        .pull_image(Request::new(pull(&reference)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    let auth = Some(cri::AuthConfig {
        username: "u".into(),
        password: "p".into(),
        ..Default::default()
    });
    let resp = svc
        .pull_image(Request::new(cri::PullImageRequest {
            auth,
            ..pull(&reference)
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.image_ref, cfg.to_string());
    assert_eq!(store.lookup(&reference).unwrap().id, resp.image_ref);
}
