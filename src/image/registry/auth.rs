//! Registry authentication: parsing `WWW-Authenticate` challenges and fetching
//! bearer tokens from the token service (docker token auth), anonymously, with
//! basic credentials (GET), or with an OAuth2 refresh token (POST form).

use std::collections::BTreeMap;

use base64::Engine as _;

use super::config::Auth;
use crate::image::Error;

/// Largest token response we read.
const MAX_TOKEN: u64 = 1 << 20;

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// `Basic realm=…`.
    Basic,
    /// `Bearer realm=…,service=…,scope=…`.
    Bearer(BTreeMap<String, String>),
}

/// Parses a challenge header; `None` for schemes we do not speak.
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic),
        "bearer" => Some(Challenge::Bearer(parse_params(rest))),
        _ => None,
    }
}

/// `k="v", k2=v2` (values may contain commas inside quotes).
fn parse_params(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = s.trim();
    while let Some((k, after)) = rest.split_once('=') {
        let key = k.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (val, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            (&q[..end], q.get(end + 1..).unwrap_or(""))
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        out.insert(key, val.to_string());
        rest = next.trim_start_matches([',', ' ']);
    }
    out
}

/// The `Authorization` header value for basic credentials.
pub(crate) fn basic_header(auth: &Auth) -> Option<String> {
    match auth {
        Auth::Basic { username, password } => {
            let raw = format!("{username}:{password}");
            Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            ))
        }
        _ => None,
    }
}

/// Fetches a bearer token for `scope` from the challenge's realm.
pub(crate) fn fetch_token(
    agent: &ureq::Agent,
    params: &BTreeMap<String, String>,
    scope: &str,
    auth: &Auth,
) -> Result<String, Error> {
    let realm = params.get("realm").ok_or_else(|| Error::Unauthorized {
        url: String::new(),
        why: "bearer challenge without realm".into(),
    })?;
    let resp = match auth {
        Auth::IdentityToken(refresh) => post_refresh(agent, realm, params, scope, refresh),
        _ => get_token(agent, realm, params, scope, auth),
    }?;
    let body = super::read_capped(resp, MAX_TOKEN, "token response")?;
    let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| Error::Unauthorized {
        url: realm.clone(),
        why: format!("token response is not JSON: {e}"),
    })?;
    ["token", "access_token"]
        .iter()
        .find_map(|k| v.get(k).and_then(|t| t.as_str()))
        .map(str::to_string)
        .ok_or_else(|| Error::Unauthorized {
            url: realm.clone(),
            why: "token response without a token".into(),
        })
}

/// A failed token request as our error.
fn token_error(realm: &str, e: ureq::Error) -> Error {
    match e {
        ureq::Error::Status(code, r) => Error::Unauthorized {
            url: realm.to_string(),
            why: format!("token service answered {code}: {}", super::body_excerpt(r)),
        },
        ureq::Error::Transport(t) => Error::Unreachable {
            url: realm.to_string(),
            why: t.to_string(),
        },
    }
}

/// The token service's GET flow, with basic credentials if there are some.
fn get_token(
    agent: &ureq::Agent,
    realm: &str,
    params: &BTreeMap<String, String>,
    scope: &str,
    auth: &Auth,
) -> Result<ureq::Response, Error> {
    let mut req = agent.get(realm).query("scope", scope);
    if let Some(service) = params.get("service") {
        req = req.query("service", service);
    }
    if let Some(h) = basic_header(auth) {
        req = req.set("Authorization", &h);
    }
    req.call().map_err(|e| token_error(realm, e))
}

/// The token service's OAuth2 flow: a refresh token POSTed as a form.
fn post_refresh(
    agent: &ureq::Agent,
    realm: &str,
    params: &BTreeMap<String, String>,
    scope: &str,
    refresh: &str,
) -> Result<ureq::Response, Error> {
    let service = params.get("service").map_or("", String::as_str);
    agent
        .post(realm)
        .send_form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("service", service),
            ("scope", scope),
            ("client_id", "sifcri"),
        ])
        .map_err(|e| token_error(realm, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.io/token",service="reg",scope="repository:a/b:pull,push""#,
        );
        let Some(Challenge::Bearer(p)) = c else {
            panic!("{c:?}")
        };
        assert_eq!(p["realm"], "https://auth.io/token");
        assert_eq!(p["service"], "reg");
        assert_eq!(p["scope"], "repository:a/b:pull,push");
        assert_eq!(
            parse_challenge(r#"Basic realm="x""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate"), None);
    }
}
