//! `siftool list`: a fixed-width table, one line per object in use.

use std::io::Write;

use crate::sif::{DataType, Descriptor, HashType, Link, Sif};

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
