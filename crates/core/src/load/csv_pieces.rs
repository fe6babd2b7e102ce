//! Splitting a large CSV file into pieces at line ends, and a first pass
//! over each piece.

use super::*;

pub(super) fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
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

/// The lines of a CSV body owned by the piece `[from, to)`: those that
/// *start* in it (the first line start at or after `from`, through the line
/// holding byte `to - 1`). Reads them into `buf` and returns where they are
/// in it and their offset in the file.
pub(super) fn read_owned_lines(
    path: &Path,
    body_start: u64,
    from: u64,
    to: u64,
    file_len: u64,
    buf: &mut Vec<u8>,
) -> std::io::Result<(std::ops::Range<usize>, u64)> {
    let mut file = std::fs::File::open(path)?;
    // One byte before `from` tells whether a line starts at `from`.
    let read_from = if from > body_start { from - 1 } else { from };
    buf.reserve((to - read_from) as usize + (64 << 10));
    read_range(&mut file, read_from, to - read_from, buf)?;
    let first = if from > body_start {
        memchr::memchr(b'\n', buf).map_or(buf.len(), |i| i + 1)
    } else {
        0
    };
    // The last owned line may run past `to`: read on to its end.
    let end = if read_from + first as u64 >= to {
        first // no line starts in [from, to)
    } else if buf.last() == Some(&b'\n') {
        buf.len()
    } else {
        let mut next = read_from + buf.len() as u64;
        loop {
            let before = buf.len();
            if next < file_len {
                read_range(&mut file, next, 64 << 10, buf)?;
            }
            if buf.len() == before {
                break before; // end of file
            }
            next += (buf.len() - before) as u64;
            if let Some(i) = memchr::memchr(b'\n', &buf[before..]) {
                break before + i + 1;
            }
        }
    };
    Ok((first..end, read_from + first as u64))
}

/// What a first pass learns about a piece, to size and place its rows.
#[derive(Debug, Clone, Copy)]
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

/// The first pass over the piece `[from, to)` of a CSV body starting at
/// `body_start`; `header` is the bytes before `from` of the piece's block
/// of the file (the header line, for the first piece).
pub(super) fn scan_csv_piece(
    path: &Path,
    body_start: u64,
    (from, to): (u64, u64),
    file_len: u64,
    header: &[u8],
) -> std::result::Result<PieceScan, ScanError> {
    with_buffer(|buf| {
        let (owned, at) =
            read_owned_lines(path, body_start, from, to, file_len, buf).map_err(ScanError::Io)?;
        // The buffer starts one byte before `from` but for the first piece.
        let skip = usize::from(from > body_start);
        let block = &buf[skip.min(buf.len())..(skip + (to - from) as usize).min(buf.len())];
        let digest = crate::version::block_digest(&[header, block]);
        let body = &buf[owned];
        if memchr::memchr(b'"', body).is_some() {
            return Err(ScanError::Quoted);
        }
        let (newlines, rows) = count_lines(body);
        Ok(PieceScan {
            from: at,
            to: at + body.len() as u64,
            line0: 0,
            newlines,
            rows,
            digest,
        })
    })
}

/// The line feeds of a CSV body, and its records: the lines as
/// `for_each_plain_line` sees them (the segments between line feeds), less
/// the blank ones (empty, or a lone `\r`).
pub(super) fn count_lines(body: &[u8]) -> (u64, usize) {
    let newlines = memchr::memchr_iter(b'\n', body).count();
    // A blank line before the last starts the body or follows a line feed,
    // and starts with `\n` or `\r`: when no such pair is found, every
    // segment but the last holds a record. The pairs are rare; then each
    // segment is looked at.
    let pairs = blank_line_inside(body);
    if !(matches!(body.first(), Some(b'\n' | b'\r')) || pairs) {
        let tail = &body[memchr::memrchr(b'\n', body).map_or(0, |i| i + 1)..];
        return (
            newlines as u64,
            newlines + usize::from(!(tail.is_empty() || tail == b"\r")),
        );
    }
    let (mut rows, mut start) = (0usize, 0usize);
    for end in memchr::memchr_iter(b'\n', body).chain(std::iter::once(body.len())) {
        let line = &body[start..end];
        rows += usize::from(!(line.is_empty() || line == b"\r"));
        start = end + 1;
    }
    (newlines as u64, rows)
}

/// Whether a line feed is followed by `\n` or `\r` anywhere in `body`.
///
/// Byte comparisons without branches over blocks of 4 KiB, which the
/// compiler turns into vector instructions: over ten times faster than
/// two substring searches, whose first byte (a line feed) is on every
/// line.
fn blank_line_inside(body: &[u8]) -> bool {
    let Some(last) = body.len().checked_sub(1) else {
        return false;
    };
    body[..last]
        .chunks(1 << 12)
        .zip(body[1..].chunks(1 << 12))
        .any(|(a, b)| {
            let mut found = 0u8;
            for (&x, &y) in a.iter().zip(b) {
                found |= u8::from(x == b'\n') & (u8::from(y == b'\n') | u8::from(y == b'\r'));
            }
            found != 0
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines and records counted one segment at a time.
    fn by_segments(body: &[u8]) -> (u64, usize) {
        let segments: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
        let rows = segments
            .iter()
            .filter(|s| !(s.is_empty() || **s == b"\r"))
            .count();
        (segments.len() as u64 - 1, rows)
    }

    #[test]
    fn lines_are_counted_as_segment_by_segment() {
        // Every body of up to 7 bytes over the bytes that matter.
        let alphabet = [b'a', b',', b'\n', b'\r'];
        for len in 0..=7u32 {
            for mut code in 0..4usize.pow(len) {
                let body: Vec<u8> = (0..len)
                    .map(|_| {
                        let b = alphabet[code % 4];
                        code /= 4;
                        b
                    })
                    .collect();
                assert_eq!(count_lines(&body), by_segments(&body), "{body:?}");
            }
        }
        let long = b"R1,9.1,45.2\nR2,9.2,45.3\r\nR3,9.3,45.4".repeat(1000);
        assert_eq!(count_lines(&long), by_segments(&long));
        // A blank line on either side of the 4 KiB blocks searched.
        for at in [4094, 4095, 4096, 4097, 8190, 8191, 8192, 29_990] {
            for pair in [b"\n\n", b"\n\r"] {
                let mut body = long.clone();
                body[at..at + 2].copy_from_slice(pair);
                assert_eq!(count_lines(&body), by_segments(&body), "{at}");
                assert!(blank_line_inside(&body));
            }
        }
        assert!(!blank_line_inside(&long));
    }
}
