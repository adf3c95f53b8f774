//! Registry configuration (containerd-style: mirrors and plain-HTTP per registry
//! host) and credentials (CRI `AuthConfig`, docker `config.json`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::Engine as _;
use serde::Deserialize;

/// Per-host registry settings, e.g. from the daemon's config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// Settings by registry host (`docker.io`, `registry.example:5000`).
    #[serde(default)]
    pub hosts: BTreeMap<String, HostConfig>,
    /// A docker `config.json` to read credentials from when a pull brings none
    /// (default: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`).
    #[serde(default)]
    pub docker_config: Option<PathBuf>,
}

/// Settings of one registry host.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Mirror base URLs tried in order (`https://mirror.example`, `http://127.0.0.1:5001`).
    #[serde(default)]
    pub mirrors: Vec<String>,
    /// Whether to try the origin after every mirror failed (default: no, so a mirror
    /// list never leaks traffic to the origin unasked).
    #[serde(default)]
    pub fallback_to_origin: bool,
    /// Speak plain HTTP to the origin (loopback hosts always do).
    #[serde(default)]
    pub plain_http: bool,
}

/// Credentials for one pull or push.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Auth {
    /// None given: use the docker config's entry for the host, if any.
    #[default]
    Anonymous,
    /// Username and password (HTTP Basic, or exchanged for a bearer token).
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// A bearer token sent as is (CRI `registry_token`).
    Bearer(String),
    /// An OAuth2 refresh token (CRI `identity_token`, docker `identitytoken`),
    /// exchanged at the token service for an access token.
    IdentityToken(String),
}

impl Auth {
    /// From the fields of a CRI `AuthConfig` (`auth` is base64 `user:password`);
    /// a registry token wins over an identity token, which wins over a password.
    pub fn from_cri(
        username: &str,
        password: &str,
        auth: &str,
        registry_token: &str,
        identity_token: &str,
    ) -> Auth {
        if !registry_token.is_empty() {
            return Auth::Bearer(registry_token.to_string());
        }
        if !identity_token.is_empty() {
            return Auth::IdentityToken(identity_token.to_string());
        }
        if !username.is_empty() {
            return Auth::Basic {
                username: username.into(),
                password: password.into(),
            };
        }
        decode_basic(auth).unwrap_or_default()
    }
}

/// Decodes base64 `user:password`.
fn decode_basic(auth: &str) -> Option<Auth> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some(Auth::Basic {
        username: u.to_string(),
        password: p.to_string(),
    })
}

#[derive(Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, DockerAuth>,
}

#[derive(Deserialize)]
struct DockerAuth {
    #[serde(default)]
    auth: String,
    #[serde(default)]
    identitytoken: String,
}

impl DockerAuth {
    /// The identity token if there is one, else the decoded `auth`.
    fn credentials(&self) -> Option<Auth> {
        if self.identitytoken.is_empty() {
            decode_basic(&self.auth)
        } else {
            Some(Auth::IdentityToken(self.identitytoken.clone()))
        }
    }
}

impl RegistryConfig {
    /// The settings of `host` (defaults when not configured).
    pub fn host(&self, host: &str) -> HostConfig {
        self.hosts.get(host).cloned().unwrap_or_default()
    }

    /// Credentials for `host` from the docker config file, if it has some.
    pub fn docker_auth(&self, host: &str) -> Option<Auth> {
        let path = self.docker_config.clone().or_else(default_docker_config)?;
        let data = std::fs::read(path).ok()?;
        let cfg: DockerConfig = serde_json::from_slice(&data).ok()?;
        let keys = [
            host.to_string(),
            format!("https://{host}"),
            format!("http://{host}"),
            if host == "docker.io" {
                "https://index.docker.io/v1/".into()
            } else {
                String::new()
            },
        ];
        keys.iter()
            .find_map(|k| cfg.auths.get(k))
            .and_then(DockerAuth::credentials)
    }
}

fn default_docker_config() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(d).join("config.json"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cri_auth_forms() {
        let b64 = base64::engine::general_purpose::STANDARD.encode("u:p:w");
        let want = Auth::Basic {
            username: "u".into(),
            password: "p:w".into(),
        };
        assert_eq!(Auth::from_cri("", "", &b64, "", ""), want);
        assert_eq!(
            Auth::from_cri("", "", "", "tok", "id"),
            Auth::Bearer("tok".into())
        );
        assert_eq!(
            Auth::from_cri("u", "p", &b64, "", "id"),
            Auth::IdentityToken("id".into())
        );
        assert_eq!(Auth::from_cri("", "", "", "", ""), Auth::Anonymous);
    }

    #[test]
    fn docker_config_json_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.json");
        let b64 = base64::engine::general_purpose::STANDARD.encode("al:pw");
        let json = format!(
            r#"{{"auths": {{"https://reg.example:5000": {{"auth": "{b64}"}}, "https://index.docker.io/v1/": {{"auth": "{b64}"}},
                "oauth.example": {{"auth": "{b64}", "identitytoken": "refresh1"}}}}}}"#
        );
        std::fs::write(&file, json).unwrap();
        let cfg = RegistryConfig {
            docker_config: Some(file),
            ..Default::default()
        };
        let want = Some(Auth::Basic {
            username: "al".into(),
            password: "pw".into(),
        });
        assert_eq!(cfg.docker_auth("reg.example:5000"), want);
        assert_eq!(cfg.docker_auth("docker.io"), want);
        assert_eq!(cfg.docker_auth("other.example"), None);
        assert_eq!(
            cfg.docker_auth("oauth.example"),
            Some(Auth::IdentityToken("refresh1".into()))
        );
    }
}
