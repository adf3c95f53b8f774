//! The reference `siftool`'s reports, byte for byte: `header` (the global header),
//! `list` (one line per object) and `info` (one object's descriptor). Input: an opened
//! [`Sif`]; output: the bytes `siftool` prints on stdout.

mod info;
mod list;
mod tabwriter;

use std::io::Write;

pub use info::info;
pub use list::list;

use super::time::{format_go_time, is_go_zero};
use super::{format_uuid, Sif};

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
