//! The reference `siftool`'s reports, byte for byte: `header` (the global header),
//! `list` (one line per object) and `info` (one object's descriptor). Input: an opened
//! [`Sif`]; output: the bytes `siftool` prints on stdout.

mod tabwriter;

use std::io::Write;

use super::time::{format_go_time, is_go_zero};
use super::{format_uuid, DataType, Descriptor, Error, HashType, Link, Sif};

/// `siftool header`: the global header.
pub fn header(sif: &Sif) -> Vec<u8> {
    let h = sif.header();
    let mut t = Vec::new();
    let script = h.launch_script();
    if !script.is_empty() {
        let script = script.strip_suffix(b"\n").unwrap_or(script);
        t.extend_from_slice(b"Launch Script:\t");
        t.extend_from_slice(script);
        t.push(b'\n');
    }
    line(&mut t, "Version", &h.version());
    if h.arch.is_known() {
        line(&mut t, "Primary Architecture", h.arch.go_name());
    }
    if h.id != [0; 16] {
        line(&mut t, "ID", &format_uuid(&h.id));
    }
    for (label, secs) in [("Created At", h.created_at), ("Modified At", h.modified_at)] {
        if !is_go_zero(secs) {
            line(&mut t, label, &format_go_time(secs));
        }
    }
    line(&mut t, "Descriptors Free", &h.descriptors_free.to_string());
    line(
        &mut t,
        "Descriptors Total",
        &h.descriptors_total.to_string(),
    );
    line(
        &mut t,
        "Descriptors Offset",
        &h.descriptors_offset.to_string(),
    );
    line(
        &mut t,
        "Descriptors Size",
        &readable_size(h.descriptors_size),
    );
    line(&mut t, "Data Offset", &h.data_offset.to_string());
    line(&mut t, "Data Size", &readable_size(h.data_size));
    tabwriter::align(&t, 1)
}

fn line(t: &mut Vec<u8>, label: &str, value: &str) {
    let _ = writeln!(t, "{label}:\t{value}");
}

const RULE: &str = "------------------------------------------------------------------------------";

/// `siftool list`: one line per object in use.
pub fn list(sif: &Sif) -> Vec<u8> {
    let mut w = Vec::new();
    let _ = writeln!(w, "{RULE}");
    let _ = writeln!(
        w,
        "{:<4} {:<8} {:<8} {:<26} |TYPE",
        "ID", "|GROUP", "|LINK", "|SIF POSITION (start-end)"
    );
    let _ = writeln!(w, "{RULE}");
    for d in sif.descriptors() {
        list_line(&mut w, d);
    }
    w
}

fn list_line(w: &mut Vec<u8>, d: &Descriptor) {
    let _ = write!(w, "{:<4} ", d.id().0);
    let _ = match d.group_id() {
        None => write!(w, "|{:<7} ", "NONE"),
        Some(g) => write!(w, "|{g:<7} "),
    };
    let _ = match d.link() {
        Link::None => write!(w, "|{:<7} ", "NONE"),
        Link::Group(g) => write!(w, "|{g:<3} (G) "),
        Link::Object(id) => write!(w, "|{:<7} ", id.0),
    };
    let end = d.offset().saturating_add(d.size());
    let _ = write!(w, "{:<26} ", format!("|{}-{} ", d.offset(), end));
    let dt = d.datatype();
    // Like siftool, a line whose metadata does not decode stops here, newline and all.
    let _ = match dt {
        DataType::Partition => d
            .partition()
            .map(|p| writeln!(w, "|{dt} ({}/{}/{})", p.fs, p.part, p.arch)),
        DataType::Signature => d
            .signature()
            .filter(|s| !matches!(s.hash, HashType::Unknown(_)))
            .map(|s| writeln!(w, "|{dt} ({})", s.hash)),
        DataType::CryptoMessage => d
            .crypto_message()
            .map(|m| writeln!(w, "|{dt} ({}/{})", m.format, m.message)),
        DataType::Sbom => d.sbom_format().map(|f| writeln!(w, "|{dt} ({f})")),
        _ => Some(writeln!(w, "|{dt}")),
    };
}

/// `siftool info ID`: one object's descriptor.
pub fn info(d: &Descriptor) -> Result<Vec<u8>, Error> {
    let mut t = Vec::new();
    field(&mut t, "Data Type", &d.datatype().to_string());
    field(&mut t, "ID", &d.id().to_string());
    let group = d.group_id().map_or("NONE".to_string(), |g| g.to_string());
    field(&mut t, "Group ID", &group);
    let link = match d.link() {
        Link::None => "NONE".to_string(),
        Link::Group(g) => format!("{g} (G)"),
        Link::Object(id) => id.to_string(),
    };
    field(&mut t, "Linked ID", &link);
    field(&mut t, "Offset", &d.offset().to_string());
    field(&mut t, "Size", &d.size().to_string());
    for (label, secs) in [
        ("Created At", d.created_at()),
        ("Modified At", d.modified_at()),
    ] {
        if !is_go_zero(secs) {
            field(&mut t, label, &format_go_time(secs));
        }
    }
    if !d.name().is_empty() {
        t.extend_from_slice(b"\tName:\t");
        t.extend_from_slice(d.name());
        t.push(b'\n');
    }
    metadata(&mut t, d)?;
    Ok(tabwriter::align(&t, 2))
}

fn field(t: &mut Vec<u8>, label: &str, value: &str) {
    let _ = writeln!(t, "\t{label}:\t{value}");
}

/// The type-specific lines of `info`.
fn metadata(t: &mut Vec<u8>, d: &Descriptor) -> Result<(), Error> {
    if let Some(p) = d.partition() {
        field(t, "Filesystem Type", &p.fs.to_string());
        field(t, "Partition Type", &p.part.to_string());
        field(t, "Architecture", p.arch.go_name());
    } else if let Some(s) = d.signature() {
        if let HashType::Unknown(_) = s.hash {
            return Err(Error::Corrupt("hash algorithm unsupported".into()));
        }
        field(t, "Hash Type", &s.hash.to_string());
        if let Some(fp) = s.fingerprint() {
            let hex: String = fp.iter().map(|b| format!("{b:02X}")).collect();
            field(t, "Entity", &hex);
        }
    } else if let Some(m) = d.crypto_message() {
        field(t, "Format Type", &m.format.to_string());
        field(t, "Message Type", &m.message.to_string());
    } else if let Some(f) = d.sbom_format() {
        field(t, "Format", &f.to_string());
    } else if matches!(d.datatype(), DataType::OciRootIndex | DataType::OciBlob) {
        field(t, "Digest", &d.oci_digest()?.to_string());
    }
    Ok(())
}

/// Go siftool's `readableSize`: `27 KiB`, `0 B`.
pub fn readable_size(size: i64) -> String {
    if -1024 < size && size < 1024 {
        return format!("{size} B");
    }
    let (mut div, mut exp): (u64, usize) = (1024, 0);
    let mut n = size / 1024;
    while n <= -1024 || 1024 <= n {
        div = div.saturating_mul(1024);
        exp += 1;
        n /= 1024;
    }
    let unit = b"KMGTPE".get(exp).copied().unwrap_or(b'E') as char;
    format!("{:.0} {unit}iB", (size as f64 / div as f64).round())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_sizes_like_siftool() {
        let cases = [
            (1, "1 B"),
            (1024, "1 KiB"),
            (1 << 20, "1 MiB"),
            (1 << 30, "1 GiB"),
            (1 << 40, "1 TiB"),
            (1 << 50, "1 PiB"),
            (1 << 60, "1 EiB"),
            (2047, "2 KiB"),
            (28080, "27 KiB"),
            (-1, "-1 B"),
        ];
        for (size, want) in cases {
            assert_eq!(readable_size(size), want, "{size}");
        }
        let _ = readable_size(i64::MIN);
        let _ = readable_size(i64::MAX);
    }
}
