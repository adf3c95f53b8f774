//! `siftool info ID`: one object's descriptor as a tab-aligned table, with the
//! type-specific metadata lines.

use std::io::Write;

use super::tabwriter;
use crate::sif::time::{format_go_time, is_go_zero};
use crate::sif::{DataType, Descriptor, Error, HashType, Link};

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
