//! Times and UUIDs as the reference implementation stores and prints them: Go's zero
//! time (`-62135596800`) means "unset", times print like Go's `time.Time.String()` in
//! UTC, UUIDs print in the 8-4-4-4-12 form.

use std::io::Read;

use super::Error;

/// Seconds since the Unix epoch of Go's zero `time.Time` (0001-01-01 00:00:00 UTC): the
/// reference implementation's value for an unset time, used by deterministic images.
pub const GO_ZERO_TIME: i64 = -62_135_596_800;

/// The current time in seconds since the epoch.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Whether Go's `time.Unix(secs, 0).IsZero()` holds (Go adds with wrap-around).
pub(crate) fn is_go_zero(secs: i64) -> bool {
    secs.wrapping_sub(GO_ZERO_TIME) == 0
}

/// Formats like Go's `time.Unix(secs, 0).UTC().String()`: `2020-06-30 00:01:56 +0000 UTC`.
pub(crate) fn format_go_time(secs: i64) -> String {
    // Go keeps seconds since 0001-01-01 in an i64, wrapping on overflow.
    let internal = i128::from(secs.wrapping_sub(GO_ZERO_TIME));
    let days_since_epoch = internal.div_euclid(86_400) - 719_162;
    let sod = internal.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days_since_epoch);
    let year = if y < 0 {
        format!("-{:04}", -y)
    } else {
        format!("{y:04}")
    };
    format!(
        "{year}-{m:02}-{d:02} {:02}:{:02}:{:02} +0000 UTC",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(z: i128) -> (i128, i128, i128) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i128::from(m <= 2);
    (y, m, d)
}

/// Formats a UUID as `3fa802cc-358b-45e3-bcc0-69dc7a45f9f8`.
pub fn format_uuid(id: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in id.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Parses a UUID in the 8-4-4-4-12 form (or 32 bare hex digits).
pub fn parse_uuid(s: &str) -> Result<[u8; 16], Error> {
    let hex: Vec<u8> = s.bytes().filter(|&b| b != b'-').collect();
    let dashes_ok = s.len() == 32
        || (s.len() == 36 && [8, 13, 18, 23].iter().all(|&i| s.as_bytes()[i] == b'-'));
    if hex.len() != 32 || !dashes_ok || !hex.iter().all(u8::is_ascii_hexdigit) {
        return Err(Error::InvalidInput(format!("invalid UUID {s:?}")));
    }
    let mut out = [0u8; 16];
    for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let text = std::str::from_utf8(pair).unwrap_or("00");
        *o = u8::from_str_radix(text, 16).unwrap_or(0);
    }
    Ok(out)
}

/// A random (version 4) UUID from the kernel's random source.
pub(crate) fn random_uuid() -> Result<[u8; 16], Error> {
    let mut id = [0u8; 16];
    let path = std::path::Path::new("/dev/urandom");
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut id))
        .map_err(|e| Error::io("reading", path, e))?;
    id[6] = (id[6] & 0x0f) | 0x40;
    id[8] = (id[8] & 0x3f) | 0x80;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_time_strings() {
        assert_eq!(
            format_go_time(1_593_475_316),
            "2020-06-30 00:01:56 +0000 UTC"
        );
        assert_eq!(format_go_time(0), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(
            format_go_time(GO_ZERO_TIME),
            "0001-01-01 00:00:00 +0000 UTC"
        );
        assert_eq!(
            format_go_time(GO_ZERO_TIME - 86_400),
            "0000-12-31 00:00:00 +0000 UTC"
        );
        assert!(is_go_zero(GO_ZERO_TIME) && !is_go_zero(0));
        for s in [i64::MIN, i64::MAX, -1, GO_ZERO_TIME - 1_000_000_000_000] {
            let _ = format_go_time(s);
        }
    }

    #[test]
    fn uuids() {
        let text = "3fa802cc-358b-45e3-bcc0-69dc7a45f9f8";
        let id = parse_uuid(text).unwrap();
        assert_eq!(format_uuid(&id), text);
        assert!(parse_uuid("3fa802cc-358b-45e3-bcc0-69dc7a45f9f").is_err());
        assert!(parse_uuid("3fa802cc0358b-45e3-bcc0-69dc7a45f9f8").is_err());
        let r = random_uuid().unwrap();
        assert_eq!(r[6] >> 4, 4);
    }
}
