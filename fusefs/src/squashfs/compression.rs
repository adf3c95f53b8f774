//! Block decompression for every squashfs compressor.
//!
//! Input is one on-disk block (metadata or data); output is at most `max` bytes, the
//! limit the caller knows (8 KiB for metadata, the block size for data). Compressor
//! options stored after the superblock only tune compression; decoding needs none.

use std::cell::RefCell;
use std::io;

use super::error::{Error, Result};
use super::lzo;

/// The compressor named by the superblock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compressor {
    /// zlib streams (id 1).
    Gzip,
    /// Legacy lzma-alone streams (id 2).
    Lzma,
    /// LZO1X (id 3).
    Lzo,
    /// xz streams, with any filter chain (id 4).
    Xz,
    /// LZ4 blocks, normal or HC (id 5).
    Lz4,
    /// zstd frames (id 6).
    Zstd,
}

thread_local! {
    static ZLIB: RefCell<flate2::Decompress> = RefCell::new(flate2::Decompress::new(true));
    static ZSTD: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

impl Compressor {
    /// The compressor of superblock id `id`.
    pub fn from_id(id: u16) -> Result<Self> {
        Ok(match id {
            1 => Self::Gzip,
            2 => Self::Lzma,
            3 => Self::Lzo,
            4 => Self::Xz,
            5 => Self::Lz4,
            6 => Self::Zstd,
            other => return Err(Error::Compressor(other)),
        })
    }

    /// Short lowercase name, as mksquashfs spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Lzma => "lzma",
            Self::Lzo => "lzo",
            Self::Xz => "xz",
            Self::Lz4 => "lz4",
            Self::Zstd => "zstd",
        }
    }

    /// Decompresses `input` (read at image offset `at`) into at most `max` bytes.
    pub(crate) fn decompress(self, input: &[u8], max: usize, at: u64) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(max);
        let res = match self {
            Self::Gzip => zlib(input, &mut out),
            Self::Lzma | Self::Xz => xz(self, input, &mut out),
            Self::Lzo => lzo::decompress(input, &mut out).map_err(io::Error::other),
            Self::Lz4 => lz4(input, &mut out, max),
            Self::Zstd => zstd_frame(input, &mut out),
        };
        match res {
            Ok(()) if out.len() <= max => Ok(out),
            Ok(()) => Err(self.error(at, "output larger than the block".into())),
            Err(e) => Err(self.error(at, e.to_string())),
        }
    }

    fn error(self, at: u64, detail: String) -> Error {
        Error::Decompress {
            compressor: self.name(),
            at,
            detail,
        }
    }
}

fn zlib(input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    ZLIB.with(|z| {
        let mut z = z.borrow_mut();
        z.reset(true);
        let status = z
            .decompress_vec(input, out, flate2::FlushDecompress::Finish)
            .map_err(io::Error::other)?;
        match status {
            flate2::Status::StreamEnd => Ok(()),
            _ => Err(io::Error::other(
                "zlib stream does not end within the block",
            )),
        }
    })
}

fn xz(which: Compressor, input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    use liblzma::stream::{Action, Status, Stream};
    let mut stream = match which {
        Compressor::Lzma => Stream::new_lzma_decoder(256 << 20),
        _ => Stream::new_stream_decoder(256 << 20, 0),
    }
    .map_err(io::Error::other)?;
    match stream
        .process_vec(input, out, Action::Finish)
        .map_err(io::Error::other)?
    {
        Status::StreamEnd => Ok(()),
        _ => Err(io::Error::other("xz stream does not end within the block")),
    }
}

fn lz4(input: &[u8], out: &mut Vec<u8>, max: usize) -> io::Result<()> {
    out.resize(max, 0);
    let n = lz4_flex::block::decompress_into(input, out).map_err(io::Error::other)?;
    out.truncate(n);
    Ok(())
}

fn zstd_frame(input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    ZSTD.with(|z| {
        let mut z = z.borrow_mut();
        if z.is_none() {
            *z = Some(zstd::bulk::Decompressor::new()?);
        }
        let Some(dec) = z.as_mut() else {
            return Err(io::Error::other("zstd decoder unavailable"));
        };
        dec.decompress_to_buffer(input, out).map(|_| ())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn sample() -> Vec<u8> {
        (0..20_000u32)
            .map(|i| (i % 97) as u8 ^ (i / 1000) as u8)
            .collect()
    }

    fn xz_encode(data: &[u8], lzma_alone: bool) -> Vec<u8> {
        use liblzma::stream::{Action, Check, LzmaOptions, Stream};
        let mut s = if lzma_alone {
            Stream::new_lzma_encoder(&LzmaOptions::new_preset(6).expect("preset"))
        } else {
            Stream::new_easy_encoder(6, Check::Crc32)
        }
        .expect("encoder");
        let mut out = Vec::with_capacity(data.len() + 1024);
        s.process_vec(data, &mut out, Action::Finish)
            .expect("encode");
        out
    }

    fn encoded(c: Compressor, data: &[u8]) -> Vec<u8> {
        match c {
            Compressor::Gzip => {
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
                e.write_all(data).expect("zlib");
                e.finish().expect("zlib")
            }
            Compressor::Lzma => xz_encode(data, true),
            Compressor::Xz => xz_encode(data, false),
            Compressor::Lzo => lzokay_native::compress(data).expect("lzo"),
            Compressor::Lz4 => lz4_flex::block::compress(data),
            Compressor::Zstd => zstd::bulk::compress(data, 3).expect("zstd"),
        }
    }

    const ALL: [Compressor; 6] = [
        Compressor::Gzip,
        Compressor::Lzma,
        Compressor::Lzo,
        Compressor::Xz,
        Compressor::Lz4,
        Compressor::Zstd,
    ];

    #[test]
    fn every_compressor_round_trips() {
        let data = sample();
        for c in ALL {
            let packed = encoded(c, &data);
            assert_eq!(
                c.decompress(&packed, data.len(), 0)
                    .unwrap_or_else(|e| panic!("{}: {e}", c.name())),
                data,
                "{}",
                c.name()
            );
        }
    }

    #[test]
    fn output_over_the_limit_is_an_error() {
        let data = sample();
        for c in ALL {
            let packed = encoded(c, &data);
            assert!(
                c.decompress(&packed, data.len() - 1, 0).is_err(),
                "{}",
                c.name()
            );
        }
    }

    #[test]
    fn garbage_and_truncation_are_errors() {
        let data = sample();
        for c in ALL {
            let packed = encoded(c, &data);
            assert!(
                c.decompress(&packed[..packed.len() / 2], data.len(), 0)
                    .is_err(),
                "{}",
                c.name()
            );
            let mut rng = 0x9e37_79b9u32;
            for _ in 0..50 {
                let mut bad = packed.clone();
                for _ in 0..4 {
                    rng = rng.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    let at = rng as usize % bad.len();
                    bad[at] ^= (rng >> 24) as u8 | 1;
                }
                let _ = c.decompress(&bad, data.len(), 0);
            }
        }
        assert!(Compressor::from_id(7).is_err() && Compressor::from_id(0).is_err());
    }
}
