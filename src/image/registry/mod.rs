//! A registry client (OCI distribution API v2) on a small blocking HTTP client
//! (`ureq`, rustls): manifests and indexes, blobs (verified, resumed), pushes;
//! anonymous, basic and bearer-token auth; mirrors and plain-HTTP per host.
//!
//! Why not `oci-client`: it is async-only, brings reqwest, and has neither per-host
//! mirror lists nor resumable blob downloads; what we need is a few hundred lines.

mod auth;
mod blob;
mod config;
pub mod manifest;
mod push;

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

pub use config::{Auth, HostConfig, RegistryConfig};

use crate::image::{Digest, Error, Reference};
use auth::{basic_header, fetch_token, parse_challenge, Challenge};

/// A registry client; share one per process (it caches tokens).
pub struct Client {
    agent: ureq::Agent,
    config: RegistryConfig,
    tokens: Mutex<HashMap<String, String>>,
}

/// A request body.
#[derive(Clone, Copy)]
pub(crate) enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
    File(&'a Path),
}

/// One request: method, path below the endpoint (or an absolute URL), headers, body.
pub(crate) struct Request<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: String,
    pub(crate) headers: Vec<(&'a str, String)>,
    pub(crate) body: Body<'a>,
    pub(crate) push: bool,
}

impl Client {
    /// A client with the given registry settings.
    pub fn new(config: RegistryConfig) -> Client {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(15))
            .timeout_read(Duration::from_secs(60))
            .user_agent(concat!("sifcri/", env!("CARGO_PKG_VERSION")))
            .build();
        Client {
            agent,
            config,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// Base URLs to try for `registry`: its mirrors, then the origin when there are no
    /// mirrors or fallback is configured. Loopback hosts speak plain HTTP.
    pub fn endpoints(&self, registry: &str) -> Vec<String> {
        let host = self.config.host(registry);
        let mut out: Vec<String> = host
            .mirrors
            .iter()
            .map(|m| m.trim_end_matches('/').to_string())
            .collect();
        if out.is_empty() || host.fallback_to_origin {
            let origin = if registry == "docker.io" {
                "registry-1.docker.io"
            } else {
                registry
            };
            let scheme = if host.plain_http || is_loopback(registry) {
                "http"
            } else {
                "https"
            };
            out.push(format!("{scheme}://{origin}"));
        }
        out
    }

    /// Sends `req` for repository `r`, trying each endpoint in turn; returns the
    /// endpoint that answered and its response.
    pub(crate) fn send(
        &self,
        r: &Reference,
        auth: &Auth,
        req: &Request<'_>,
    ) -> Result<(String, ureq::Response), Error> {
        let auth = match auth {
            Auth::Anonymous => self.config.docker_auth(&r.registry).unwrap_or_default(),
            a => a.clone(),
        };
        let endpoints = self.endpoints(&r.registry);
        let mut last = None;
        for (i, base) in endpoints.iter().enumerate() {
            match self.attempt(base, r, &auth, req) {
                Ok(resp) => return Ok((base.clone(), resp)),
                Err(e) if i + 1 < endpoints.len() && retry_elsewhere(&e) => {
                    tracing::warn!(endpoint = %base, error = %e, "registry endpoint failed, trying the next");
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::Unreachable {
            url: r.registry.clone(),
            why: "no endpoint".into(),
        }))
    }

    /// One endpoint: the request, and once more after answering an auth challenge.
    fn attempt(
        &self,
        base: &str,
        r: &Reference,
        auth: &Auth,
        req: &Request<'_>,
    ) -> Result<ureq::Response, Error> {
        let url = if req.path.starts_with("http://") || req.path.starts_with("https://") {
            req.path.clone()
        } else {
            format!("{base}{}", req.path)
        };
        let key = format!("{base} {} {}", r.repository, req.push);
        for round in 0..2 {
            let mut q = self.agent.request(req.method, &url);
            for (k, v) in &req.headers {
                q = q.set(k, v);
            }
            let cached = self
                .tokens
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&key)
                .cloned();
            match (cached, auth) {
                (Some(h), _) => q = q.set("Authorization", &h),
                (None, Auth::Bearer(t)) => q = q.set("Authorization", &format!("Bearer {t}")),
                _ => {}
            }
            match call(q, req.body, &url) {
                Err(ureq::Error::Status(401, resp)) if round == 0 => {
                    let h = self.answer_challenge(&url, &resp, r, auth, req.push)?;
                    self.tokens
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(key.clone(), h);
                }
                res => return res.map_err(|e| to_error(e, &url)),
            }
        }
        Err(Error::Unauthorized {
            url,
            why: "credentials refused".into(),
        })
    }

    /// The Authorization header that answers a 401's challenge.
    fn answer_challenge(
        &self,
        url: &str,
        resp: &ureq::Response,
        r: &Reference,
        auth: &Auth,
        push: bool,
    ) -> Result<String, Error> {
        let unauthorized = |why: &str| Error::Unauthorized {
            url: url.to_string(),
            why: why.to_string(),
        };
        let header = resp.header("WWW-Authenticate").unwrap_or("");
        match parse_challenge(header) {
            Some(Challenge::Basic) => basic_header(auth)
                .ok_or_else(|| unauthorized("registry wants credentials and none were given")),
            Some(Challenge::Bearer(params)) => {
                let actions = if push { "pull,push" } else { "pull" };
                let scope = format!("repository:{}:{actions}", r.repository);
                fetch_token(&self.agent, &params, &scope, auth).map(|t| format!("Bearer {t}"))
            }
            None => Err(unauthorized(&format!("unsupported challenge {header:?}"))),
        }
    }
}

/// Sends one request with its body.
#[allow(clippy::result_large_err)] // ureq's own error type, matched right away
fn call(q: ureq::Request, body: Body<'_>, url: &str) -> Result<ureq::Response, ureq::Error> {
    match body {
        Body::Empty => q.call(),
        Body::Bytes(b) => q.send_bytes(b),
        Body::File(p) => {
            let f = std::fs::File::open(p).map_err(|e| {
                ureq::Error::from(std::io::Error::new(e.kind(), format!("{url}: {e}")))
            })?;
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            q.set("Content-Length", &len.to_string()).send(f)
        }
    }
}

/// Whether an error on one endpoint lets us try the next one.
fn retry_elsewhere(e: &Error) -> bool {
    matches!(e, Error::Unreachable { .. } | Error::NotFound(_))
        || matches!(e, Error::Registry { status, .. } if *status >= 500)
}

fn to_error(e: ureq::Error, url: &str) -> Error {
    match e {
        ureq::Error::Status(401 | 403, r) => Error::Unauthorized {
            url: url.into(),
            why: body_excerpt(r),
        },
        ureq::Error::Status(404, _) => Error::NotFound(url.to_string()),
        ureq::Error::Status(status, r) => Error::Registry {
            url: url.into(),
            status,
            why: body_excerpt(r),
        },
        ureq::Error::Transport(t) => Error::Unreachable {
            url: url.into(),
            why: t.to_string(),
        },
    }
}

/// The first bytes of an error body, for messages.
pub(crate) fn body_excerpt(r: ureq::Response) -> String {
    let mut buf = Vec::new();
    let _ = r.into_reader().take(512).read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).trim().to_string()
}

/// Reads a whole response body of at most `cap` bytes, refusing larger ones by their
/// Content-Length before reading and by count while reading.
pub(crate) fn read_capped(r: ureq::Response, cap: u64, what: &str) -> Result<Vec<u8>, Error> {
    let too_large = || Error::TooLarge {
        what: what.to_string(),
        limit: cap,
    };
    if r.header("Content-Length")
        .and_then(|l| l.parse::<u64>().ok())
        .is_some_and(|l| l > cap)
    {
        return Err(too_large());
    }
    let url = r.get_url().to_string();
    let mut buf = Vec::new();
    r.into_reader()
        .take(cap.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| Error::Unreachable {
            url,
            why: format!("reading {what}: {e}"),
        })?;
    if buf.len() as u64 > cap {
        return Err(too_large());
    }
    Ok(buf)
}

/// localhost, 127.0.0.0/8 and ::1, with or without a port.
pub fn is_loopback(host: &str) -> bool {
    if host
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
    {
        return true;
    }
    let h = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, p)| {
            if p.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        })
    };
    h == "localhost"
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Checks that `data` has digest `want`.
pub(crate) fn verify(data: &[u8], want: &Digest, what: &str) -> Result<(), Error> {
    let got = Digest::of(data);
    if &got != want {
        return Err(Error::DigestMismatch {
            what: what.into(),
            expected: want.to_string(),
            got: got.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
            "::1",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["example.com", "10.0.0.1:5000", "[::2]:1"] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn mirrors_without_fallback_skip_origin() {
        let mut cfg = RegistryConfig::default();
        cfg.hosts.insert(
            "docker.io".into(),
            HostConfig {
                mirrors: vec!["http://m:1/".into()],
                ..Default::default()
            },
        );
        let c = Client::new(cfg.clone());
        assert_eq!(c.endpoints("docker.io"), vec!["http://m:1"]);
        cfg.hosts.get_mut("docker.io").unwrap().fallback_to_origin = true;
        let c = Client::new(cfg);
        assert_eq!(
            c.endpoints("docker.io"),
            vec!["http://m:1", "https://registry-1.docker.io"]
        );
        assert_eq!(c.endpoints("127.0.0.1:5000"), vec!["http://127.0.0.1:5000"]);
    }
}
