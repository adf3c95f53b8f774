//! Transfers a stock registry cannot be made to misbehave for: bearer-token auth via
//! a token service (with basic credentials, or an OAuth2 identity token through the
//! CRI ImageService), and a blob transfer broken half way that is resumed with
//! `Range` rather than restarted.

mod image_common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use image_common::fake::{Answer, Fake, Req};
use image_common::layers::{Layer, TAR};
use image_common::registry::{client, config};
use proto::cri::{self, image_service_server::ImageService};
use sifcri::image::registry::manifest::{Descriptor, Manifest, OCI_CONFIG, OCI_MANIFEST};
use sifcri::image::registry::Auth;
use sifcri::image::{pull, Digest, ImageServer, PullOptions, Store};

/// A fake registry serving one image `x/y:v1`; `gate` may answer instead.
fn image_server(
    gate: impl Fn(&Req, &str, &[u8]) -> Option<Answer> + Send + Sync + 'static,
) -> (Fake, Arc<Mutex<String>>, Vec<u8>) {
    let (_, layer) = Layer::default()
        .file("big", &vec![7u8; 300_000], 0o644, (0, 0))
        .plain();
    let cfg = serde_json::to_vec(&config("amd64", 1)).unwrap();
    let d = |mt: &str, b: &[u8]| Descriptor {
        media_type: mt.into(),
        digest: Digest::of(b).to_string(),
        size: b.len() as u64,
        platform: None,
        annotations: None,
    };
    let m = Manifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.into()),
        config: d(OCI_CONFIG, &cfg),
        layers: vec![d(TAR, &layer)],
    };
    let m = serde_json::to_vec(&m).unwrap();
    let host = Arc::new(Mutex::new(String::new()));
    let h = host.clone();
    let l2 = layer.clone();
    let fake = Fake::start_full(move |req| {
        if let Some(a) = gate(req, &h.lock().unwrap(), &l2) {
            return a;
        }
        if req.path.ends_with("/manifests/v1") {
            Answer::ok(OCI_MANIFEST, m.clone())
        } else if req.path.ends_with(&Digest::of(&cfg).to_string()) {
            Answer::ok("application/octet-stream", cfg.clone())
        } else if req.path.ends_with(&Digest::of(&l2).to_string()) {
            Answer::ok("application/octet-stream", l2.clone())
        } else {
            Answer::not_found()
        }
    });
    *host.lock().unwrap() = fake.host.clone();
    (fake, host, layer)
}

/// The 401 answer carrying the registry's bearer challenge.
fn challenge(host: &str) -> Answer {
    let challenge =
        format!(r#"Bearer realm="http://{host}/token",service="fake",scope="repository:x/y:pull""#);
    let headers = vec![("WWW-Authenticate".to_string(), challenge)];
    Answer {
        status: 401,
        headers,
        ..Answer::ok("application/json", b"{}".to_vec())
    }
}

fn unauthorized() -> Option<Answer> {
    Some(Answer {
        status: 401,
        ..Answer::ok("text/plain", b"bad".to_vec())
    })
}

/// The token service's GET flow: basic `bob:pw` gets `{"token": "tok123"}`.
fn get_token(req: &Req) -> Option<Answer> {
    assert!(
        req.path.contains("scope=repository%3Ax%2Fy%3Apull"),
        "{}",
        req.path
    );
    if req.header("authorization") != Some("Basic Ym9iOnB3") {
        return unauthorized();
    }
    Some(Answer::ok(
        "application/json",
        br#"{"token":"tok123"}"#.to_vec(),
    ))
}

/// The token service's OAuth2 flow: refresh token `refresh1` POSTed as a form gets
/// `{"access_token": "tok123"}`.
fn post_token(req: &Req) -> Option<Answer> {
    let body = String::from_utf8_lossy(&req.body).to_string();
    let mut fields: Vec<&str> = body.split('&').collect();
    fields.sort_unstable();
    let refresh = fields.iter().find_map(|f| f.strip_prefix("refresh_token="));
    assert_eq!(
        fields
            .iter()
            .filter(|f| !f.starts_with("refresh_token="))
            .collect::<Vec<_>>(),
        [
            &"client_id=sifcri",
            &"grant_type=refresh_token",
            &"scope=repository%3Ax%2Fy%3Apull",
            &"service=fake"
        ],
        "{body}"
    );
    if refresh != Some("refresh1") {
        return unauthorized();
    }
    Some(Answer::ok(
        "application/json",
        br#"{"access_token":"tok123","expires_in":300}"#.to_vec(),
    ))
}

/// A registry behind a token service; counts the tokens it handed out.
fn token_server() -> (Fake, Arc<AtomicUsize>) {
    let tokens = Arc::new(AtomicUsize::new(0));
    let t = tokens.clone();
    let (fake, _, _) = image_server(move |req, host, _| {
        if req.path.starts_with("/token") {
            let a = match req.method.as_str() {
                "POST" if req.path == "/token" => post_token(req),
                "GET" => get_token(req),
                m => panic!("token service got {m} {}", req.path),
            };
            if a.as_ref().is_some_and(|a| a.status == 200) {
                t.fetch_add(1, Ordering::SeqCst);
            }
            return a;
        }
        if req.header("authorization") != Some("Bearer tok123") {
            return Some(challenge(host));
        }
        None
    });
    (fake, tokens)
}

#[test]
fn bearer_token_from_the_token_service() {
    let (fake, tokens) = token_server();
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path()).unwrap();
    let reference = format!("{}/x/y:v1", fake.host);
    let err = pull(&store, &client(), &reference, &PullOptions::default()).unwrap_err();
    assert_eq!(
        err.kind(),
        sifcri::image::ErrorKind::Unauthenticated,
        "{err}"
    );
    let auth = Auth::Basic {
        username: "bob".into(),
        password: "pw".into(),
    };
    let rec = pull(
        &store,
        &client(),
        &reference,
        &PullOptions {
            auth,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        tokens.load(Ordering::SeqCst),
        1,
        "one token, reused for every request"
    );
    assert!(store.sif_path(&rec).exists());
}

fn pull_request(reference: &str, identity_token: &str) -> cri::PullImageRequest {
    cri::PullImageRequest {
        image: Some(cri::ImageSpec {
            image: reference.into(),
            ..Default::default()
        }),
        auth: Some(cri::AuthConfig {
            identity_token: identity_token.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn identity_token_through_the_cri_image_service() {
    let (fake, tokens) = token_server();
    let root = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(root.path()).unwrap());
    let svc = ImageServer::new(store.clone(), Arc::new(client()));
    let reference = format!("{}/x/y:v1", fake.host);
    let err = svc
        .pull_image(tonic::Request::new(pull_request(&reference, "wrong")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated, "{err:?}");
    assert!(store.lookup(&reference).is_err(), "nothing stored");
    assert_eq!(tokens.load(Ordering::SeqCst), 0);
    let resp = svc
        .pull_image(tonic::Request::new(pull_request(&reference, "refresh1")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(store.lookup(&reference).unwrap().id, resp.image_ref);
    assert_eq!(
        tokens.load(Ordering::SeqCst),
        1,
        "one access token, reused for every request"
    );
}

#[test]
fn broken_blob_transfer_is_resumed_with_range() {
    let ranges = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = ranges.clone();
    let (fake, _, _) = image_server(move |req, _, layer| {
        if !req.path.ends_with(&Digest::of(layer).to_string()) {
            return None;
        }
        let Some(range) = req.header("range") else {
            // Announce the whole blob, send a third of it, hang up.
            return Some(Answer {
                cut_after: Some(layer.len() / 3),
                ..Answer::ok("application/octet-stream", layer.to_vec())
            });
        };
        seen.lock().unwrap().push(range.to_string());
        let from: usize = range
            .trim_start_matches("bytes=")
            .trim_end_matches('-')
            .parse()
            .unwrap();
        let headers = vec![(
            "Content-Range".to_string(),
            format!("bytes {from}-{}/{}", layer.len() - 1, layer.len()),
        )];
        Some(Answer {
            status: 206,
            headers,
            ..Answer::ok("application/octet-stream", layer[from..].to_vec())
        })
    });
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path()).unwrap();
    let rec = pull(
        &store,
        &client(),
        &format!("{}/x/y:v1", fake.host),
        &PullOptions::default(),
    )
    .unwrap();
    assert_eq!(ranges.lock().unwrap().len(), 1, "one resumed request");
    let first = ranges.lock().unwrap()[0].clone();
    assert!(
        first.starts_with("bytes=") && first != "bytes=0-",
        "resumed where it broke: {first}"
    );
    let list = image_common::list_sif(&store.sif_path(&rec));
    assert_eq!(list, ["drwxr-xr-x 0/0 /", "-rw-r--r-- 0/0 /big"]);
}
