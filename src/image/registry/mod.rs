//! A registry client (OCI distribution API v2) on a small blocking HTTP client
//! (`ureq`, rustls): manifests and indexes, blobs (verified, resumed), pushes;
//! anonymous, basic and bearer-token auth; mirrors and plain-HTTP per host.
//!
//! Why not `oci-client`: it is async-only, brings reqwest, and has neither per-host
//! mirror lists nor resumable blob downloads; what we need is a few hundred lines.

mod auth;
mod blob;
mod config;
mod http;
pub mod manifest;
mod push;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

pub use config::{Auth, HostConfig, RegistryConfig};

use crate::image::{Error, Reference};
use auth::{basic_header, fetch_token, parse_challenge, Challenge};
pub use http::is_loopback;
pub(crate) use http::{body_excerpt, read_capped, verify};
use http::{call, retry_elsewhere, to_error};

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

#[cfg(test)]
mod tests {
    use super::*;

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
