//! A bounds-checked LZO1X decompressor (the format squashfs's `-comp lzo` writes).
//!
//! Written from the instruction encoding of LZO1X; every read of the input and every
//! back-reference is checked, and the output never grows past its preallocated capacity.

/// Why a stream did not decode.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LzoError {
    #[error("input overrun")]
    InputOverrun,
    #[error("output overrun")]
    OutputOverrun,
    #[error("back-reference before the start of the output")]
    LookBehind,
    #[error("stream ends without an end marker or with trailing bytes")]
    BadEnd,
}

struct In<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl In<'_> {
    fn byte(&mut self) -> Result<usize, LzoError> {
        let b = *self.buf.get(self.pos).ok_or(LzoError::InputOverrun)?;
        self.pos += 1;
        Ok(usize::from(b))
    }

    fn le16(&mut self) -> Result<usize, LzoError> {
        Ok(self.byte()? | (self.byte()? << 8))
    }

    /// Extends a run length encoded as zero bytes (255 each) then a final byte.
    fn long_len(&mut self, base: usize) -> Result<usize, LzoError> {
        let mut t = 0usize;
        loop {
            let b = self.byte()?;
            if b != 0 {
                return Ok(t + base + b);
            }
            t = t.checked_add(255).ok_or(LzoError::InputOverrun)?;
        }
    }

    fn literals(&mut self, n: usize, out: &mut Vec<u8>) -> Result<(), LzoError> {
        let end = self.pos.checked_add(n).ok_or(LzoError::InputOverrun)?;
        let src = self.buf.get(self.pos..end).ok_or(LzoError::InputOverrun)?;
        room(out, n)?;
        out.extend_from_slice(src);
        self.pos = end;
        Ok(())
    }
}

fn room(out: &Vec<u8>, n: usize) -> Result<(), LzoError> {
    match out.len().checked_add(n) {
        Some(end) if end <= out.capacity() => Ok(()),
        _ => Err(LzoError::OutputOverrun),
    }
}

fn copy_match(out: &mut Vec<u8>, dist: usize, len: usize) -> Result<(), LzoError> {
    if dist == 0 || dist > out.len() {
        return Err(LzoError::LookBehind);
    }
    room(out, len)?;
    let start = out.len() - dist;
    for i in 0..len {
        let b = out[start + i];
        out.push(b);
    }
    Ok(())
}

/// Decodes `input` into `out`, whose capacity bounds the output size.
pub(crate) fn decompress(input: &[u8], out: &mut Vec<u8>) -> Result<(), LzoError> {
    let mut ip = In { buf: input, pos: 0 };
    let mut state = 0usize;
    if input.first().is_some_and(|b| *b > 17) {
        let t = ip.byte()? - 17;
        ip.literals(t, out)?;
        state = if t < 4 { t } else { 4 };
    }
    loop {
        let t = ip.byte()?;
        let (dist, len, next) = if t < 16 {
            if state == 0 {
                let n = if t == 0 { ip.long_len(15)? } else { t };
                ip.literals(n + 3, out)?;
                state = 4;
                continue;
            }
            let b = ip.byte()?;
            if state == 4 {
                (1 + 0x800 + (t >> 2) + (b << 2), 3, t & 3)
            } else {
                (1 + (t >> 2) + (b << 2), 2, t & 3)
            }
        } else if t >= 64 {
            let b = ip.byte()?;
            (1 + ((t >> 2) & 7) + (b << 3), (t >> 5) + 1, t & 3)
        } else if t >= 32 {
            let len = if t & 31 == 0 {
                ip.long_len(31)? + 2
            } else {
                (t & 31) + 2
            };
            let d = ip.le16()?;
            (1 + (d >> 2), len, d & 3)
        } else {
            let len = if t & 7 == 0 {
                ip.long_len(7)? + 2
            } else {
                (t & 7) + 2
            };
            let d = ip.le16()?;
            let dist = ((t & 8) << 11) + (d >> 2);
            if dist == 0 {
                return if len == 3 && ip.pos == input.len() {
                    Ok(())
                } else {
                    Err(LzoError::BadEnd)
                };
            }
            (dist + 0x4000, len, d & 3)
        };
        copy_match(out, dist, len)?;
        ip.literals(next, out)?;
        state = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x1234_5678u32;
        for n in 0..2000 {
            let input: Vec<u8> = (0..(n % 64))
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (seed >> 16) as u8
                })
                .collect();
            let mut out = Vec::with_capacity(256);
            let _ = decompress(&input, &mut out);
            assert!(out.len() <= 256);
        }
    }

    #[test]
    fn decodes_lzokay_output() {
        let data: Vec<u8> = (0..20000u32)
            .map(|i| (i % 251) as u8 ^ (i / 97) as u8)
            .collect();
        let packed = lzokay_native::compress(&data).expect("compress");
        let mut out = Vec::with_capacity(data.len());
        decompress(&packed, &mut out).expect("decompress");
        assert_eq!(out, data);
    }
}
