//! Line numbers as a text editor counts them: `\n`, `\r\n` and a lone `\r` each end one
//! line, wherever they are (inside a quoted CSV field too). CSV rows get their line from a
//! [`LineTracker`] the CSV parser reads through; JSON Lines are split by [`read_line`].
use std::collections::VecDeque;
use std::io::{self, BufRead, Read};

/// The one rule for line breaks, fed one byte at a time.
#[derive(Debug, Default, Clone)]
pub struct LineBreaks {
    after_cr: bool,
}

impl LineBreaks {
    /// Whether byte `b` ends a line: `\r` does, and `\n` does unless it completes `\r\n`.
    pub fn ends_line(&mut self, b: u8) -> bool {
        let ends = b == b'\r' || (b == b'\n' && !self.after_cr);
        self.after_cr = b == b'\r';
        ends
    }
}

fn is_break(b: u8) -> bool {
    b == b'\r' || b == b'\n'
}

/// A reader that notes on which line each non-empty line of its input starts, so that a
/// parser reading through it can ask for the line of a byte offset it reached. Only the
/// lines not yet asked about are kept: memory is bounded by the parser's read-ahead.
pub struct LineTracker<R> {
    inner: R,
    breaks: LineBreaks,
    /// Offset of the next byte read.
    offset: u64,
    /// The line that byte is on.
    line: u64,
    at_line_start: bool,
    /// (offset of the first byte, line) of each non-empty line read and not yet passed.
    starts: VecDeque<(u64, u64)>,
}

impl<R> LineTracker<R> {
    /// Track the lines of `inner`.
    pub fn new(inner: R) -> LineTracker<R> {
        LineTracker {
            inner,
            breaks: LineBreaks::default(),
            offset: 0,
            line: 1,
            at_line_start: true,
            starts: VecDeque::new(),
        }
    }

    /// The line of the first content byte at or after `offset`: where a row that a parser
    /// says starts at `offset` (just after the previous row's line break, before any blank
    /// lines it skips) is seen in an editor. Offsets must be asked in increasing order.
    pub fn line_at(&mut self, offset: u64) -> u64 {
        while self.starts.front().is_some_and(|(o, _)| *o < offset) {
            self.starts.pop_front();
        }
        self.starts.front().map_or(self.line, |(_, line)| *line)
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            if self.breaks.ends_line(b) {
                self.line += 1;
                self.at_line_start = true;
            } else if !is_break(b) && self.at_line_start {
                self.starts.push_back((self.offset, self.line));
                self.at_line_start = false;
            }
            self.offset += 1;
        }
        Ok(n)
    }
}

/// Read one line into `buf`, without its line break; false at the end of the input.
/// `breaks` carries a `\r` at the end of one line over to the next call, so that the `\n`
/// of a `\r\n` split across reads is not taken for a line of its own.
pub fn read_line<R: BufRead>(
    reader: &mut R,
    breaks: &mut LineBreaks,
    buf: &mut Vec<u8>,
) -> io::Result<bool> {
    buf.clear();
    let mut read_any = false;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(read_any);
        }
        let mut used = 0;
        let mut ended = false;
        for &b in chunk {
            used += 1;
            if breaks.ends_line(b) {
                ended = true;
                break;
            }
            if !is_break(b) {
                buf.push(b);
                read_any = true;
            }
        }
        reader.consume(used);
        if ended {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of `input` as `read_line` splits it.
    fn lines(input: &[u8], capacity: usize) -> Vec<String> {
        let mut r = io::BufReader::with_capacity(capacity, input);
        let (mut breaks, mut buf, mut out) = (LineBreaks::default(), Vec::new(), Vec::new());
        while read_line(&mut r, &mut breaks, &mut buf).unwrap() {
            out.push(String::from_utf8(buf.clone()).unwrap());
        }
        out
    }

    #[test]
    fn lf_crlf_and_lone_cr_each_end_one_line() {
        let mut b = LineBreaks::default();
        let ends: Vec<bool> = b"a\nb\r\nc\rd\r\re\n\n"
            .iter()
            .map(|&c| b.ends_line(c))
            .collect();
        assert_eq!(
            ends,
            [
                false, true, false, true, false, false, true, false, true, true, false, true, true
            ]
        );
        for capacity in [1, 2, 3, 64] {
            assert_eq!(
                lines(b"a\nb\r\nc\rd\r\r\ne\n\nf", capacity),
                ["a", "b", "c", "d", "", "e", "", "f"],
                "read {capacity} bytes at a time"
            );
        }
        assert_eq!(
            lines(b"a\r\n", 1),
            ["a"],
            "no empty line after a final CRLF"
        );
        assert!(lines(b"", 8).is_empty());
    }

    #[test]
    fn tracked_offsets_give_the_line_of_the_next_content() {
        let input = b"h\r\nrow2\r\n\r\n\"a\r\nb\"\rlast\n";
        let mut t = LineTracker::new(&input[..]);
        let mut sink = Vec::new();
        let mut one = [0u8; 3];
        loop {
            let n = t.read(&mut one).unwrap();
            if n == 0 {
                break;
            }
            sink.extend_from_slice(&one[..n]);
        }
        assert_eq!(sink, input);
        assert_eq!(t.line_at(0), 1);
        // a CSV parser ends a row at its `\r`: the row after starts at the `\n`
        assert_eq!(t.line_at(2), 2);
        // after row 2, a blank line, then a row with a quoted line break in it
        assert_eq!(t.line_at(8), 4);
        assert_eq!(t.line_at(18), 6);
        assert_eq!(
            t.line_at(input.len() as u64),
            7,
            "past the end: the line after"
        );
    }
}
