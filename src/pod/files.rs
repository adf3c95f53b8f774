//! Files a pod's containers bind-mount: `resolv.conf` from the pod's DNSConfig (the
//! host's when none is given), `hostname` and `hosts`.

use std::path::Path;

use proto::cri;

use super::Error;

/// Writes `resolv.conf`, `hostname` and `hosts` into the pod directory.
pub fn write(dir: &Path, config: &cri::PodSandboxConfig, hostname: &str) -> Result<(), Error> {
    let resolv = match &config.dns_config {
        Some(dns) => resolv_conf(dns),
        None => std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default(),
    };
    put(&dir.join("resolv.conf"), &resolv)?;
    put(&dir.join("hostname"), &format!("{hostname}\n"))?;
    let hosts = format!(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{hostname}\n"
    );
    put(&dir.join("hosts"), &hosts)
}

/// resolv.conf text for a DNSConfig.
pub fn resolv_conf(dns: &cri::DnsConfig) -> String {
    let mut out = String::new();
    if !dns.searches.is_empty() {
        out.push_str(&format!("search {}\n", dns.searches.join(" ")));
    }
    for s in &dns.servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    if !dns.options.is_empty() {
        out.push_str(&format!("options {}\n", dns.options.join(" ")));
    }
    out
}

fn put(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|e| Error::io("write", path, e))
}

#[cfg(test)]
mod tests {
    #[test]
    fn resolv_conf_lists_everything() {
        let dns = proto::cri::DnsConfig {
            servers: vec!["10.0.0.10".into()],
            searches: vec!["svc.local".into(), "local".into()],
            options: vec!["ndots:5".into()],
        };
        assert_eq!(
            super::resolv_conf(&dns),
            "search svc.local local\nnameserver 10.0.0.10\noptions ndots:5\n"
        );
    }
}
