//! A macro for the SIF's numeric code enums (data type, fs type, partition type, ...):
//! each known code gets a variant and the reference implementation's display name;
//! any other code read from a file is kept as `Unknown(code)` so it round-trips.

/// Defines `enum $name { Variants..., Unknown(i32) }` with `from_code`, `code`,
/// `known` and a `Display` that prints the reference implementation's name.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $name:ident, unknown = $unknown:expr,
        { $($(#[$vmeta:meta])* $var:ident = $code:expr => $text:expr,)+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $var,)+
            /// A code the reference implementation does not define.
            Unknown(i32),
        }

        impl $name {
            /// Every code the reference implementation defines, in code order.
            pub const KNOWN: &'static [$name] = &[$($name::$var,)+];

            /// The value for an on-disk code.
            pub fn from_code(code: i32) -> Self {
                match code {
                    $(c if c == $code => $name::$var,)+
                    other => $name::Unknown(other),
                }
            }

            /// The on-disk code.
            pub fn code(self) -> i32 {
                match self {
                    $($name::$var => $code,)+
                    $name::Unknown(c) => c,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(match self {
                    $($name::$var => $text,)+
                    $name::Unknown(_) => $unknown,
                })
            }
        }
    };
}

pub(crate) use code_enum;

/// Reads a little-endian `i32` at `at` in `b`; `None` past the end.
pub(crate) fn le_i32(b: &[u8], at: usize) -> Option<i32> {
    let end = at.checked_add(4)?;
    Some(i32::from_le_bytes(b.get(at..end)?.try_into().ok()?))
}

/// Reads a little-endian `u32` at `at` in `b`; `None` past the end.
pub(crate) fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    let end = at.checked_add(4)?;
    Some(u32::from_le_bytes(b.get(at..end)?.try_into().ok()?))
}

/// Reads a little-endian `i64` at `at` in `b`; `None` past the end.
pub(crate) fn le_i64(b: &[u8], at: usize) -> Option<i64> {
    let end = at.checked_add(8)?;
    Some(i64::from_le_bytes(b.get(at..end)?.try_into().ok()?))
}

/// Copies `N` bytes at `at` in `b`; `None` past the end.
pub(crate) fn array<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    let end = at.checked_add(N)?;
    b.get(at..end)?.try_into().ok()
}

/// The bytes of `b` before its trailing NULs.
pub(crate) fn trim_nul(b: &[u8]) -> &[u8] {
    let end = b.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
    &b[..end]
}
