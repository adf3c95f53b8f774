//! A byte-exact re-implementation of the subset of Go's `text/tabwriter` that
//! `siftool` uses (minwidth 0, tabwidth 0, space padding, no flags): cells end at a
//! tab, a column's width is the widest cell of a run of consecutive lines that have
//! that column, plus the padding.

/// Aligns tab-separated text the way Go's `tabwriter.NewWriter(w, 0, 0, padding, ' ', 0)` does.
pub(crate) fn align(text: &[u8], padding: usize) -> Vec<u8> {
    let lines: Vec<Vec<&[u8]>> = text
        .split(|&b| b == b'\n')
        .map(|l| l.split(|&b| b == b'\t').collect())
        .collect();
    let mut w = Aligner {
        lines: &lines,
        padding,
        widths: Vec::new(),
        out: Vec::with_capacity(text.len() + 64),
    };
    w.format(0, lines.len());
    w.out
}

/// The state of one alignment: the lines (cells), the widths of the enclosing
/// column blocks, the output.
struct Aligner<'a> {
    lines: &'a [Vec<&'a [u8]>],
    padding: usize,
    widths: Vec<usize>,
    out: Vec<u8>,
}

impl Aligner<'_> {
    /// Go's `format`: finds the column blocks of lines `start..end` recursively.
    fn format(&mut self, mut start: usize, end: usize) {
        let column = self.widths.len();
        let mut this = start;
        while this < end {
            if column + 1 >= self.lines[this].len() {
                this += 1;
                continue;
            }
            self.write_lines(start, this);
            start = this;
            let mut width = 0;
            while this < end && column + 1 < self.lines[this].len() {
                width = width.max(rune_count(self.lines[this][column]) + self.padding);
                this += 1;
            }
            self.widths.push(width);
            self.format(start, this);
            self.widths.pop();
            start = this;
        }
        self.write_lines(start, end);
    }

    /// Writes lines `start..end`, padding each tab-terminated cell to its column width;
    /// every line but the text's last ends with a newline.
    fn write_lines(&mut self, start: usize, end: usize) {
        for i in start..end {
            let line = &self.lines[i];
            for (j, cell) in line.iter().enumerate() {
                self.out.extend_from_slice(cell);
                if let Some(&w) = self.widths.get(j).filter(|_| j + 1 < line.len()) {
                    let pad = w.saturating_sub(rune_count(cell));
                    self.out.extend(std::iter::repeat_n(b' ', pad));
                }
            }
            if i + 1 < self.lines.len() {
                self.out.push(b'\n');
            }
        }
    }
}

/// Go's `utf8.RuneCount`: characters of valid UTF-8, one per byte of anything else.
fn rune_count(mut b: &[u8]) -> usize {
    let mut n = 0;
    while !b.is_empty() {
        match std::str::from_utf8(b) {
            Ok(s) => return n + s.chars().count(),
            Err(e) => {
                let (valid, rest) = b.split_at(e.valid_up_to());
                n += std::str::from_utf8(valid).map_or(0, |s| s.chars().count());
                let bad = e.error_len().unwrap_or(rest.len());
                n += bad;
                b = &rest[bad..];
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_like_go() {
        let got = align(b"a:\tx\nlonger:\ty\n", 1);
        assert_eq!(got, b"a:      x\nlonger: y\n");
        let got = align(b"\tA:\t1\n\tBee:\t2\n", 2);
        assert_eq!(got, b"  A:    1\n  Bee:  2\n");
        // A line without a cell ends the column block.
        let got = align(b"a:\t1\nplain\nbbbb:\t2\n", 1);
        assert_eq!(got, b"a: 1\nplain\nbbbb: 2\n");
        assert_eq!(align(b"x\ty", 1), b"x y");
    }

    #[test]
    fn counts_runes_like_go() {
        assert_eq!(rune_count("héllo".as_bytes()), 5);
        assert_eq!(rune_count(b"\xe2\x82A"), 3);
        assert_eq!(rune_count(b"\xff\xfe"), 2);
        assert_eq!(rune_count(b"ok\xe2\x82"), 4);
    }
}
