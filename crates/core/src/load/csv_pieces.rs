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

/// The lines of a CSV body owned by the piece `[from, to)`: those that
/// *start* in it (the first line start at or after `from`, through the line
/// holding byte `to - 1`). Returns the bytes and their offset in the file.
pub(super) fn read_owned_lines(
    path: &Path,
    body_start: u64,
    from: u64,
    to: u64,
    file_len: u64,
) -> std::io::Result<(Vec<u8>, u64)> {
    let mut file = std::fs::File::open(path)?;
    // One byte before `from` tells whether a line starts at `from`.
    let read_from = if from > body_start { from - 1 } else { from };
    let mut buf = Vec::with_capacity((to - read_from) as usize + (64 << 10));
    read_range(&mut file, read_from, to - read_from, &mut buf)?;
    let first = if from > body_start {
        memchr::memchr(b'\n', &buf).map_or(buf.len(), |i| i + 1)
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
                read_range(&mut file, next, 64 << 10, &mut buf)?;
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
    buf.truncate(end);
    buf.drain(..first);
    Ok((buf, read_from + first as u64))
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
}

/// Why a piece was not scanned.
pub(super) enum ScanError {
    /// A quote character: the file needs the general CSV reader.
    Quoted,
    Io(std::io::Error),
}

pub(super) fn scan_csv_piece(
    path: &Path,
    body_start: u64,
    (from, to): (u64, u64),
    file_len: u64,
) -> std::result::Result<PieceScan, ScanError> {
    let (body, at) =
        read_owned_lines(path, body_start, from, to, file_len).map_err(ScanError::Io)?;
    if memchr::memchr(b'"', &body).is_some() {
        return Err(ScanError::Quoted);
    }
    // The lines as `for_each_plain_line` sees them: the segments between
    // line feeds, of which the empty ones (or a lone `\r`) hold no record.
    let (mut newlines, mut rows, mut start) = (0u64, 0usize, 0usize);
    for end in memchr::memchr_iter(b'\n', &body).chain(std::iter::once(body.len())) {
        newlines += u64::from(end < body.len());
        let line = &body[start..end];
        rows += usize::from(!(line.is_empty() || line == b"\r"));
        start = end + 1;
    }
    Ok(PieceScan {
        from: at,
        to: at + body.len() as u64,
        line0: 0,
        newlines,
        rows,
    })
}
