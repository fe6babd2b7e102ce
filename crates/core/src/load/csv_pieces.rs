//! Splitting a large CSV file into pieces at line ends, and a first pass
//! over each piece.

use super::*;

pub(super) fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads on from where `file` is, into all of `buf` (less at the end of
/// the file): the bytes read.
fn read_on<'a>(file: &mut std::fs::File, buf: &'a mut [u8]) -> std::io::Result<&'a [u8]> {
    use std::io::Read;
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(&buf[..got])
}

/// Reads `len` bytes at `offset` (fewer at the end of the file).
pub(super) fn read_range(
    file: &mut std::fs::File,
    offset: u64,
    len: u64,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.take(len).read_to_end(out)?;
    Ok(())
}

thread_local! {
    /// A buffer of this thread's for the pieces it reads.
    static BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Runs `f` with an empty buffer of this thread's, reused from piece to
/// piece: its pages are faulted in once, not once per piece. A buffer grown
/// past a few pieces' size (a very long line) is not kept.
pub(super) fn with_buffer<T>(f: impl FnOnce(&mut Vec<u8>) -> T) -> T {
    let mut buf = BUFFER.take();
    buf.clear();
    let out = f(&mut buf);
    if buf.capacity() <= 4 * CSV_PIECE_BYTES as usize {
        BUFFER.set(buf);
    }
    out
}

/// Bytes the first pass reads at a time: few enough that they are hashed
/// and scanned while still in the core's cache, just after the kernel
/// copied them there (a whole piece's 2 MB would not fit).
const SCAN_READ: usize = 128 << 10;

/// Bytes the parse reads at a time: as for [`SCAN_READ`], few enough that
/// they are parsed while in the core's cache.
const PARSE_READ: usize = 256 << 10;

/// Reads the lines of bytes `[from, to)` of `path` (whole lines, the last
/// perhaps without its line feed, which is then added) in parts of whole
/// lines. Each part is given to `parse` as `(padded, len, line)`: its lines
/// are `padded[..len]`, followed by at least [`PADDING`] bytes that are not
/// part of them, and `line` is the number of the first; `parse` returns
/// the number of the line after them.
pub(super) fn parse_in_parts(
    path: &Path,
    (from, to): (u64, u64),
    line0: u64,
    mut parse: impl FnMut(&[u8], usize, u64) -> Result<u64>,
) -> Result<()> {
    with_buffer(|buf| {
        use std::io::{Seek, SeekFrom};
        let io = |e| io_error(path, e);
        let mut file = std::fs::File::open(path).map_err(io)?;
        file.seek(SeekFrom::Start(from)).map_err(io)?;
        // `kept`: bytes at the buffer's start that begin a line not read
        // whole yet.
        let (mut left, mut kept, mut line) = (to - from, 0, line0);
        loop {
            let want = left.min(PARSE_READ as u64) as usize;
            // One more byte for a last line feed.
            buf.resize(kept + want + 1 + PADDING, 0);
            let got = read_on(&mut file, &mut buf[kept..kept + want])
                .map_err(io)?
                .len();
            // A short read: the file is shorter than it was, which the
            // rows counted will show.
            left = if got < want { 0 } else { left - got as u64 };
            let mut filled = kept + got;
            let cut = if left == 0 {
                if filled > 0 && buf[filled - 1] != b'\n' {
                    buf[filled] = b'\n';
                    filled += 1;
                }
                filled
            } else {
                memchr::memrchr(b'\n', &buf[kept..filled]).map_or(0, |i| kept + i + 1)
            };
            if cut > 0 {
                line = parse(buf, cut, line)?;
            }
            if left == 0 {
                return Ok(());
            }
            buf.copy_within(cut..filled, 0);
            kept = filled - cut;
        }
    })
}

/// What a first pass learns about a piece, to size and place its rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct PieceScan {
    /// Bytes of the file holding the piece's lines.
    pub(super) from: u64,
    pub(super) to: u64,
    /// Number of the piece's first line (set once all pieces are scanned).
    pub(super) line0: u64,
    pub(super) newlines: u64,
    /// Non-empty lines (records).
    pub(super) rows: usize,
    /// The digest of the piece's block of the file (the header's bytes
    /// and the piece's range), for the dataset's version.
    pub(super) digest: u128,
}

/// Why a piece was not scanned.
pub(super) enum ScanError {
    /// A quote character: the file needs the general CSV reader.
    Quoted,
    Io(std::io::Error),
}

/// The first pass over the piece `[from, to)` of a CSV file whose body
/// (the lines after the header) starts at `body_start`. The piece owns the
/// lines that *start* in it: from the first line start at or after `from`
/// through the line holding byte `to - 1`, which may run past `to`. Its
/// digest is that of `header` followed by bytes `[from, to)`.
///
/// The range is read [`SCAN_READ`] bytes at a time, each part hashed and
/// its owned bytes scanned for line feeds, quotes and blank lines at once
/// ([`LineScan`]), so that the piece is never held whole.
pub(super) fn scan_csv_piece(
    path: &Path,
    body_start: u64,
    (from, to): (u64, u64),
    header: &[u8],
) -> std::result::Result<PieceScan, ScanError> {
    with_buffer(|buf| {
        use std::io::{Seek, SeekFrom};
        let mut file = std::fs::File::open(path).map_err(ScanError::Io)?;
        let mut digest = crate::version::BlockDigest::new();
        digest.update(header);
        let mut lines = LineScan::new();
        // Where the first owned line starts, once known: at `from` for the
        // first piece, else just after the first line feed from `from - 1`
        // on (one byte before `from` tells whether a line starts there).
        let mut owned = (from <= body_start).then_some(from);
        let mut at = if from > body_start { from - 1 } else { from };
        file.seek(SeekFrom::Start(at)).map_err(ScanError::Io)?;
        buf.resize(SCAN_READ, 0);
        let mut last = None;
        while at < to {
            let want = (to - at).min(SCAN_READ as u64) as usize;
            let part = read_on(&mut file, &mut buf[..want]).map_err(ScanError::Io)?;
            if part.is_empty() {
                break; // the file is shorter than it was
            }
            digest.update(&part[(from.saturating_sub(at) as usize).min(part.len())..]);
            let start = match owned {
                Some(o) => (o.saturating_sub(at) as usize).min(part.len()),
                None => match memchr::memchr(b'\n', part) {
                    Some(i) => {
                        owned = Some(at + i as u64 + 1);
                        i + 1
                    }
                    None => part.len(),
                },
            };
            lines.feed(&part[start..]);
            last = part.last().copied();
            at += part.len() as u64;
        }
        let owned = owned.unwrap_or(at).min(at);
        // The last owned line may run past `to`: read on to its end.
        let mut end = at;
        if owned < at && last != Some(b'\n') {
            loop {
                let part = read_on(&mut file, &mut buf[..64 << 10]).map_err(ScanError::Io)?;
                if part.is_empty() {
                    break; // the end of the file
                }
                let line_end = memchr::memchr(b'\n', part).map(|i| i + 1);
                let part = &part[..line_end.unwrap_or(part.len())];
                lines.feed(part);
                end += part.len() as u64;
                if line_end.is_some() {
                    break;
                }
            }
        }
        if lines.quote {
            return Err(ScanError::Quoted);
        }
        let (newlines, rows) = lines.finish();
        Ok(PieceScan {
            from: owned,
            to: end,
            line0: 0,
            newlines,
            rows,
            digest: digest.finish(),
        })
    })
}

/// The line feeds, records and quotes of a CSV body fed in parts. Records
/// are the lines as `for_each_plain_line` sees them (the segments between
/// line feeds) less the blank ones (empty, or a lone `\r`).
///
/// Each 64 bytes are compared at once with a line feed, a carriage return
/// and a quote (`vpcmpeqb` and `vpmovmskb` on two 32-byte vectors). The
/// segment ending at a line feed `i` is blank when byte `i - 1` is a line
/// feed, or when it is a carriage return and byte `i - 2` a line feed; a
/// line feed is taken to precede the body. The last segment (after the
/// last line feed) is blank when it is empty or a lone `\r`.
#[derive(Debug, Clone, Copy)]
pub(super) struct LineScan {
    newlines: u64,
    blanks: u64,
    quote: bool,
    /// Whether the last byte fed is a line feed (at first: the one taken
    /// to precede the body), the byte before it one, and the last byte a
    /// carriage return.
    nl: bool,
    nl2: bool,
    cr: bool,
}

impl LineScan {
    pub(super) fn new() -> Self {
        LineScan {
            newlines: 0,
            blanks: 0,
            quote: false,
            nl: true,
            nl2: false,
            cr: false,
        }
    }

    /// The body's next bytes. Most files hold no carriage return: their
    /// line feeds alone tell the blank lines, and a part is first fed so,
    /// its carriage returns and quotes only looked for; a part holding a
    /// carriage return (or after one) is fed again, every class compared.
    pub(super) fn feed(&mut self, bytes: &[u8]) {
        let before = *self;
        if self.cr || self.blocks::<false>(bytes) {
            *self = before;
            self.blocks::<true>(bytes);
        }
    }

    /// Feeds `bytes` 64 at a time: with every class if `EXACT`, else with
    /// line feeds only, returning whether a carriage return was among them
    /// (and then counting wrong).
    #[inline(always)]
    fn blocks<const EXACT: bool>(&mut self, bytes: &[u8]) -> bool {
        use wide::u8x32;
        let (mut crs, mut quotes) = (u8x32::ZERO, u8x32::ZERO);
        let mut blocks = bytes.chunks_exact(WINDOW);
        let mut block = |w: &[u8; WINDOW], len: usize| {
            let (lo, hi) = halves(w);
            let bits = |v: u8x32| u64::from(v.to_bitmask());
            let same = |b: u8| (lo.simd_eq(u8x32::splat(b)), hi.simd_eq(u8x32::splat(b)));
            let eq = |(l, h): (u8x32, u8x32)| bits(l) | bits(h) << 32;
            let (nl, (cr_lo, cr_hi), (quote_lo, quote_hi)) =
                (eq(same(b'\n')), same(b'\r'), same(b'"'));
            quotes |= quote_lo | quote_hi;
            // Bit i: byte i - 1 a line feed, byte i - 1 a carriage
            // return, byte i - 2 a line feed.
            let nl1 = nl << 1 | u64::from(self.nl);
            self.newlines += u64::from(nl.count_ones());
            self.blanks += u64::from((nl & nl1).count_ones());
            let bit = |m: u64, i: usize| m >> i & 1 == 1;
            if EXACT {
                let cr = eq((cr_lo, cr_hi));
                let cr1 = cr << 1 | u64::from(self.cr);
                let nl2 = nl << 2 | u64::from(self.nl) << 1 | u64::from(self.nl2);
                self.blanks += u64::from((nl & cr1 & nl2).count_ones());
                self.cr = bit(cr, len - 1);
            } else {
                crs |= cr_lo | cr_hi;
            }
            self.nl2 = if len >= 2 { bit(nl, len - 2) } else { self.nl };
            self.nl = bit(nl, len - 1);
        };
        for w in &mut blocks {
            let Some(w) = w.first_chunk::<WINDOW>() else {
                unreachable!("chunks of a window")
            };
            block(w, WINDOW);
        }
        let rest = blocks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; WINDOW];
            w[..rest.len()].copy_from_slice(rest);
            block(&w, rest.len());
        }
        self.quote |= quotes.to_bitmask() != 0;
        crs.to_bitmask() != 0
    }

    /// The line feeds and the records of the body fed.
    pub(super) fn finish(&self) -> (u64, usize) {
        let last_blank = self.nl || (self.cr && self.nl2);
        let blanks = self.blanks + u64::from(last_blank);
        (self.newlines, (self.newlines + 1 - blanks) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Lines and records counted one segment at a time.
    fn by_segments(body: &[u8]) -> (u64, usize) {
        let segments: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
        let rows = segments
            .iter()
            .filter(|s| !(s.is_empty() || **s == b"\r"))
            .count();
        (segments.len() as u64 - 1, rows)
    }

    /// The lines of `body` counted by [`LineScan`], fed in the parts
    /// `cuts` splits it into.
    fn scanned(body: &[u8], cuts: &[usize]) -> (u64, usize, bool) {
        let mut scan = LineScan::new();
        let mut at = 0;
        for &cut in cuts.iter().chain([&body.len()]) {
            scan.feed(&body[at..cut]);
            at = cut;
        }
        let (newlines, rows) = scan.finish();
        (newlines, rows, scan.quote)
    }

    fn expected(body: &[u8]) -> (u64, usize, bool) {
        let (newlines, rows) = by_segments(body);
        (newlines, rows, body.contains(&b'"'))
    }

    #[test]
    fn lines_are_counted_as_segment_by_segment() {
        // Every body of up to 7 bytes over the bytes that matter, whole and
        // cut in two anywhere.
        let alphabet = [b'a', b',', b'\n', b'\r', b'"'];
        for len in 0..=7u32 {
            for mut code in 0..5usize.pow(len) {
                let body: Vec<u8> = (0..len)
                    .map(|_| {
                        let b = alphabet[code % 5];
                        code /= 5;
                        b
                    })
                    .collect();
                for cut in 0..=body.len() {
                    assert_eq!(scanned(&body, &[cut]), expected(&body), "{body:?} {cut}");
                }
            }
        }
        // Longer bodies, mostly plain lines, fed in parts of any length.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..2000 {
            let len = rng.random_range(0..600);
            let body: Vec<u8> = (0..len)
                .map(|_| match rng.random_range(0..40) {
                    0..=2 => b'\n',
                    3 => b'\r',
                    4 if rng.random_range(0..20) == 0 => b'"',
                    _ => b'7',
                })
                .collect();
            let mut cuts: Vec<usize> = (0..rng.random_range(0..6))
                .map(|_| rng.random_range(0..=len))
                .collect();
            cuts.sort_unstable();
            assert_eq!(scanned(&body, &cuts), expected(&body), "{body:?} {cuts:?}");
        }
    }

    /// A piece scanned as its owned lines are defined: read whole, from
    /// the first line start at or after `from` through the line holding
    /// byte `to - 1`.
    fn scanned_whole(file: &[u8], body_start: u64, (from, to): (u64, u64)) -> PieceScan {
        let (from, to) = (from as usize, to as usize);
        let start = if from == body_start as usize {
            from
        } else {
            memchr::memchr(b'\n', &file[from - 1..to]).map_or(to, |i| from + i)
        };
        let end = if start >= to || file[to - 1] == b'\n' {
            start.max(to)
        } else {
            memchr::memchr(b'\n', &file[to..]).map_or(file.len(), |i| to + i + 1)
        };
        let body = &file[start..end];
        let (newlines, rows) = by_segments(body);
        let mut digest = crate::version::BlockDigest::new();
        digest.update(&file[..body_start as usize]);
        digest.update(&file[from..to]);
        PieceScan {
            from: start as u64,
            to: end as u64,
            line0: 0,
            newlines,
            rows,
            digest: digest.finish(),
        }
    }

    #[test]
    fn pieces_scan_as_read_whole() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let header = b"id,lon,lat\n";
        let mut file = header.to_vec();
        while file.len() < 900_000 {
            match rng.random_range(0..100) {
                0 => file.extend_from_slice(b"\n"),
                1 => file.extend_from_slice(b"\r\n"),
                // Lines longer than a read of the first pass.
                2 => file.extend(std::iter::repeat_n(b'x', rng.random_range(1..300_000))),
                _ => {
                    let n = rng.random_range(0..90);
                    file.extend(std::iter::repeat_n(b'4', n));
                    file.extend_from_slice(if n % 7 == 0 { b"\r\n" } else { b"\n" });
                }
            }
        }
        if rng.random_range(0..2) == 0 {
            file.pop();
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(&path, &file).unwrap();
        let body_start = header.len() as u64;
        let all_rows = by_segments(&file[header.len()..]).1;
        for _ in 0..40 {
            // The body cut into pieces anywhere: each line is owned by one.
            let mut cuts: Vec<u64> = (0..rng.random_range(0..12))
                .map(|_| rng.random_range(body_start..file.len() as u64))
                .chain([body_start, file.len() as u64])
                .collect();
            cuts.sort_unstable();
            cuts.dedup();
            let mut rows = 0;
            for range in cuts.windows(2).map(|w| (w[0], w[1])) {
                let Ok(scan) = scan_csv_piece(&path, body_start, range, header) else {
                    panic!("a piece without quotes failed")
                };
                assert_eq!(scan, scanned_whole(&file, body_start, range), "{range:?}");
                rows += scan.rows;
            }
            assert_eq!(rows, all_rows, "{cuts:?}");
        }
        // A piece starting inside a line that ends at the last byte of a
        // read, or about it.
        for len in SCAN_READ as u64 + 1..SCAN_READ as u64 + 6 {
            let mut file = header.to_vec();
            file.extend(std::iter::repeat_n(b'x', len as usize));
            file.extend_from_slice(&b"\n1,2,3\n".repeat(100));
            std::fs::write(&path, &file).unwrap();
            for range in [
                (body_start + 5, body_start + len + 40),
                (body_start + 5, body_start + len + 1),
            ] {
                let Ok(scan) = scan_csv_piece(&path, body_start, range, header) else {
                    panic!("a piece without quotes failed")
                };
                assert_eq!(
                    scan,
                    scanned_whole(&file, body_start, range),
                    "{len} {range:?}"
                );
            }
        }
        // A quote among the lines owned, and only there, is found.
        let mut quoted = file.clone();
        let at = quoted.len() - 3;
        quoted[at] = b'"';
        std::fs::write(&path, &quoted).unwrap();
        let len = quoted.len() as u64;
        assert!(matches!(
            scan_csv_piece(&path, body_start, (body_start, len), header),
            Err(ScanError::Quoted)
        ));
        let before = memchr::memrchr(b'\n', &quoted[..at]).unwrap() as u64;
        assert!(scan_csv_piece(
            &path,
            body_start,
            (body_start, before.max(body_start + 1)),
            header
        )
        .is_ok());
    }
}
