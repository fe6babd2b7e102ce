//! Line numbers of CSV records, counted from their byte offsets.

/// Line numbers of records from their byte offsets, counted from the line
/// feeds. The csv reader's own line count falls short after blank lines
/// (and its byte position after blank lines ending in `\r\n` is that of
/// the blank line's `\r`, which is skipped here).
pub struct LineCounter<'a> {
    body: &'a [u8],
    /// Line feeds before `counted`, plus the number of the body's first line.
    line: u64,
    counted: usize,
}

impl<'a> LineCounter<'a> {
    /// Lines of `body`, whose first line is number `first`.
    pub fn new(body: &'a [u8], first: u64) -> Self {
        LineCounter {
            body,
            line: first,
            counted: 0,
        }
    }

    /// The number of the line holding byte `at` (offsets only increase).
    pub fn line_at(&mut self, at: usize) -> u64 {
        let mut at = at.min(self.body.len()).max(self.counted);
        while matches!(self.body.get(at), Some(b'\r' | b'\n')) {
            at += 1;
        }
        self.line += memchr::memchr_iter(b'\n', &self.body[self.counted..at]).count() as u64;
        self.counted = at;
        self.line
    }
}
