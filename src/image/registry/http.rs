//! HTTP plumbing of the registry client: sending a body, mapping ureq errors to
//! ours, capped body reads, digest checks, and what counts as a loopback host.

use std::io::Read;

use super::Body;
use crate::image::{Digest, Error};

/// Sends one request with its body.
#[allow(clippy::result_large_err)] // ureq's own error type, matched right away
pub(super) fn call(
    q: ureq::Request,
    body: Body<'_>,
    url: &str,
) -> Result<ureq::Response, ureq::Error> {
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
pub(super) fn retry_elsewhere(e: &Error) -> bool {
    matches!(e, Error::Unreachable { .. } | Error::NotFound(_))
        || matches!(e, Error::Registry { status, .. } if *status >= 500)
}

pub(super) fn to_error(e: ureq::Error, url: &str) -> Error {
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
}
