//! CPU architecture codes: three bytes ("02\0" for amd64) in the global header and in
//! partition descriptors, named as the Go runtime names them.

/// The table of known architectures: on-disk code and Go name, `siftool` number = index + 1.
const ARCHES: [([u8; 3], &str); 13] = [
    (*b"01\0", "386"),
    (*b"02\0", "amd64"),
    (*b"03\0", "arm"),
    (*b"04\0", "arm64"),
    (*b"05\0", "ppc64"),
    (*b"06\0", "ppc64le"),
    (*b"07\0", "mips"),
    (*b"08\0", "mipsle"),
    (*b"09\0", "mips64"),
    (*b"10\0", "mips64le"),
    (*b"11\0", "s390x"),
    (*b"12\0", "riscv64"),
    (*b"13\0", "loong64"),
];

/// A CPU architecture as stored in a SIF (the raw three bytes, so that any value
/// read from a file is written back unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Arch(pub [u8; 3]);

impl Arch {
    /// "No architecture": the header's value when there is no primary partition.
    pub const UNKNOWN: Arch = Arch(*b"00\0");
    /// x86-64.
    pub const AMD64: Arch = Arch(*b"02\0");
    /// 64-bit ARM.
    pub const ARM64: Arch = Arch(*b"04\0");

    /// The architecture with a Go name (`amd64`, `arm64`, `386`, ...), if known.
    pub fn from_go_name(name: &str) -> Option<Arch> {
        ARCHES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(c, _)| Arch(*c))
    }

    /// The architecture for a Go name, or a `siftool add --partarch` number
    /// (1 = 386 ... 13 = loong64).
    pub fn from_name(s: &str) -> Option<Arch> {
        if let Some(arch) = Self::from_go_name(&s.to_ascii_lowercase()) {
            return Some(arch);
        }
        let n = s.parse::<usize>().ok()?;
        ARCHES.get(n.checked_sub(1)?).map(|(c, _)| Arch(*c))
    }

    /// The architecture this program was built for, or [`Arch::UNKNOWN`].
    pub fn host() -> Arch {
        let go = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "x86" => "386",
            "aarch64" => "arm64",
            "arm" => "arm",
            "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
            "powerpc64" => "ppc64",
            "s390x" => "s390x",
            "riscv64" => "riscv64",
            "loongarch64" => "loong64",
            other => other,
        };
        Self::from_go_name(go).unwrap_or(Self::UNKNOWN)
    }

    /// The Go name (`amd64`), or `unknown` for any code not in the table.
    pub fn go_name(self) -> &'static str {
        ARCHES
            .iter()
            .find(|(c, _)| *c == self.0)
            .map_or("unknown", |(_, n)| n)
    }

    /// Whether this is a known architecture (not [`Arch::UNKNOWN`] nor garbage).
    pub fn is_known(self) -> bool {
        self.go_name() != "unknown"
    }
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.go_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_codes() {
        assert_eq!(Arch::from_name("2"), Some(Arch::AMD64));
        assert_eq!(Arch::from_name("amd64"), Some(Arch::AMD64));
        assert_eq!(Arch::from_name("13").map(Arch::go_name), Some("loong64"));
        assert_eq!(Arch::from_name("0"), None);
        assert_eq!(Arch::from_name("386").map(Arch::go_name), Some("386"));
        assert_eq!(Arch::from_name("14"), None);
        assert_eq!(Arch::UNKNOWN.go_name(), "unknown");
        assert_eq!(Arch(*b"zz\0").to_string(), "unknown");
        assert!(Arch::host().is_known() || cfg!(not(target_arch = "x86_64")));
    }
}
