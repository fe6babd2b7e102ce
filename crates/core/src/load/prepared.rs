//! Prepared residents: a dataset's resident columns as a load leaves them,
//! kept in a file of the cache directory and read back in place of the
//! sources while the dataset's version is the one they were made from.
//!
//! Parsing a residents CSV costs about 1.4 s per GB on two cores; reading
//! the same columns back is a copy. The file is keyed by the dataset's
//! manifest path (one file per dataset, so a stale one is replaced, not
//! kept beside the new one) and holds the version (the hash of every
//! source file, [`crate::version`]) it was made from: a load hashes the
//! sources, and reads the columns only when the versions are equal.
//! Otherwise it reads the sources and writes the file again.
//!
//! Layout (integers little-endian):
//!
//! ```text
//! MAGIC (8 bytes) · header length H (u64) · header (H bytes of JSON)
//! the columns, in the order of `columns`, each cut into chunks of
//!   CHUNK bytes (its last chunk shorter)
//! the XXH3-64 of every chunk (u64 each), in order
//! the XXH3-64 of the header's bytes followed by the chunks' digests
//! ```
//!
//! Every chunk is checked against its digest as it is read, and every
//! value against what a load could have stored (coordinates in range,
//! weights finite and non-negative, codes into their dictionaries, id
//! ends in order), so a damaged or truncated file is refused whole: the
//! load then reads the sources, as if there were no file.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use super::*;

/// Bumped whenever the columns or the layout change meaning.
pub const PREPARED_FORMAT: u32 = 1;

const MAGIC: &[u8; 8] = b"BACINOR\x01";

/// Bytes per checked chunk: a multiple of every value's size.
const CHUNK: usize = 1 << 20;

/// What a load does with a dataset's prepared residents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreparedMode {
    /// Read them when the file exists and is current; when it exists but
    /// is stale or unusable, read the sources and write it again. Without
    /// a file, read the sources and write none.
    Use,
    /// Read the sources, and write the file (`bacino prepare`).
    Write,
}

/// What became of a dataset's prepared residents in a load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreparedOutcome {
    /// There is no prepared file for the dataset (or no cache): the
    /// sources were read.
    Absent,
    /// The residents were read from this file.
    Read(PathBuf),
    /// The sources were read and the file written.
    Written(PathBuf),
    /// The file was stale or unusable (why): the sources were read and
    /// the file written again.
    Refreshed {
        /// The file.
        path: PathBuf,
        /// Why it was not used.
        why: String,
    },
    /// The sources were read but the file could not be written (why).
    NotWritten {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
}

/// The prepared file of the dataset whose manifest is `manifest`, in
/// `cache_dir`: named after the dataset and a hash of the manifest's
/// absolute path.
pub(crate) fn prepared_path(cache_dir: &Path, manifest: &Path, name: &str) -> PathBuf {
    let abs = std::fs::canonicalize(manifest).unwrap_or_else(|_| manifest.to_path_buf());
    let key = xxh3_64(abs.as_os_str().as_encoded_bytes());
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(48)
        .collect();
    cache_dir.join(format!("{name}-{key:016x}-v{PREPARED_FORMAT}.residents"))
}

/// The header: what the columns are, and the version they were made from.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: u32,
    /// The dataset version (see [`crate::Dataset::version`]).
    version: String,
    rows: u64,
    unit_weights: bool,
    /// How many facilities the GP indexes refer to.
    facilities: u64,
    /// The municipality, the group, then the extra columns.
    categoricals: Vec<CategoricalHeader>,
    /// Rows and bytes of each block of ids.
    id_blocks: Vec<(u64, u64)>,
}

#[derive(Debug, Serialize, Deserialize)]
struct CategoricalHeader {
    name: String,
    values: Vec<String>,
}

/// A column to write.
#[derive(Clone, Copy)]
enum Column<'a> {
    Points(&'a [LonLat]),
    Floats(&'a [f64]),
    Words(&'a [u32]),
    Bytes(&'a [u8]),
}

/// A column to read into, with what its values may be.
enum ColumnMut<'a> {
    /// Coordinates: longitude and latitude in range.
    Points(&'a mut [LonLat]),
    /// Weights: finite and non-negative.
    Floats(&'a mut [f64]),
    /// Codes below the limit, or [`NONE`] (GP indexes, categorical
    /// codes); any value when the limit is `u32::MAX` (id ends, checked
    /// by block).
    Words(&'a mut [u32], u32),
    Bytes(&'a mut [u8]),
}

impl Column<'_> {
    /// Bytes in the file.
    fn bytes(&self) -> usize {
        match self {
            Column::Points(v) => 16 * v.len(),
            Column::Floats(v) => 8 * v.len(),
            Column::Words(v) => 4 * v.len(),
            Column::Bytes(v) => v.len(),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.clear();
        match *self {
            Column::Points(v) => {
                for p in v {
                    out.extend_from_slice(&p.lon.to_le_bytes());
                    out.extend_from_slice(&p.lat.to_le_bytes());
                }
            }
            Column::Floats(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Column::Words(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Column::Bytes(v) => out.extend_from_slice(v),
        }
    }
}

/// `cols` cut into chunks of at most [`CHUNK`] bytes, in order.
fn chunks(cols: Vec<Column<'_>>) -> Vec<Column<'_>> {
    let mut out = Vec::new();
    for c in cols {
        match c {
            Column::Points(v) => out.extend(v.chunks(CHUNK / 16).map(Column::Points)),
            Column::Floats(v) => out.extend(v.chunks(CHUNK / 8).map(Column::Floats)),
            Column::Words(v) => out.extend(v.chunks(CHUNK / 4).map(Column::Words)),
            Column::Bytes(v) => out.extend(v.chunks(CHUNK).map(Column::Bytes)),
        }
    }
    out
}

impl ColumnMut<'_> {
    /// Bytes in the file.
    fn bytes(&self) -> usize {
        match self {
            ColumnMut::Points(v) => 16 * v.len(),
            ColumnMut::Floats(v) => 8 * v.len(),
            ColumnMut::Words(v, _) => 4 * v.len(),
            ColumnMut::Bytes(v) => v.len(),
        }
    }

    /// Fills the column from `src` (its bytes in the file); false when a
    /// value is not one a load could have stored.
    fn decode(self, src: &[u8]) -> bool {
        fn word<const N: usize>(b: &[u8]) -> [u8; N] {
            let mut w = [0; N];
            w.copy_from_slice(b);
            w
        }
        match self {
            ColumnMut::Points(d) => {
                let mut ok = true;
                for (p, b) in d.iter_mut().zip(src.chunks_exact(16)) {
                    let lon = f64::from_le_bytes(word(&b[..8]));
                    let lat = f64::from_le_bytes(word(&b[8..]));
                    ok &= (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat);
                    *p = LonLat::new(lon, lat);
                }
                ok
            }
            ColumnMut::Floats(d) => {
                let mut ok = true;
                for (x, b) in d.iter_mut().zip(src.chunks_exact(8)) {
                    *x = f64::from_le_bytes(word(b));
                    ok &= x.is_finite() && *x >= 0.0;
                }
                ok
            }
            ColumnMut::Words(d, limit) => {
                let mut ok = true;
                for (x, b) in d.iter_mut().zip(src.chunks_exact(4)) {
                    *x = u32::from_le_bytes(word(b));
                    ok &= *x < limit || *x == NONE;
                }
                ok
            }
            ColumnMut::Bytes(d) => {
                d.copy_from_slice(src);
                true
            }
        }
    }
}

/// `cols` cut into chunks of at most [`CHUNK`] bytes, in order.
fn chunks_mut(cols: Vec<ColumnMut<'_>>) -> Vec<ColumnMut<'_>> {
    let mut out = Vec::new();
    for c in cols {
        match c {
            ColumnMut::Points(v) => out.extend(v.chunks_mut(CHUNK / 16).map(ColumnMut::Points)),
            ColumnMut::Floats(v) => out.extend(v.chunks_mut(CHUNK / 8).map(ColumnMut::Floats)),
            ColumnMut::Words(v, limit) => out.extend(
                v.chunks_mut(CHUNK / 4)
                    .map(move |c| ColumnMut::Words(c, limit)),
            ),
            ColumnMut::Bytes(v) => out.extend(v.chunks_mut(CHUNK).map(ColumnMut::Bytes)),
        }
    }
    out
}

/// The categorical columns in the file's order, with their names.
fn categoricals(r: &Residents) -> Vec<(&str, &Categorical)> {
    let mut out = vec![("municipality", &r.municipality), ("group", &r.group)];
    out.extend(r.extra.iter().map(|(name, c)| (name.as_str(), c)));
    out
}

/// Every column of `r`, in the file's order; `ends` are its id blocks'
/// ends ([`IdBlock::ends`]), in order.
fn columns<'a>(r: &'a Residents, ends: &'a [std::borrow::Cow<'a, [u32]>]) -> Vec<Column<'a>> {
    let mut out = vec![
        Column::Points(&r.location),
        Column::Floats(r.weights()),
        Column::Words(&r.gp),
    ];
    out.extend(
        categoricals(r)
            .into_iter()
            .map(|(_, c)| Column::Words(c.codes())),
    );
    for ((_, block), ends) in r.ids.blocks().zip(ends) {
        out.push(Column::Bytes(block.bytes()));
        out.push(Column::Words(ends));
    }
    out
}

/// Where the columns start: after the magic, the header's length and
/// the header.
fn data_start(header_len: usize) -> u64 {
    (MAGIC.len() + 8 + header_len) as u64
}

/// Writes the prepared file of `residents`, loaded from sources of
/// version `version` against `facilities` facilities, to `path`: into a
/// file of its own first, then renamed over `path`, so that a reader
/// sees the old file or the new one whole. Returns its size in bytes.
pub(crate) fn write_prepared<E: Executor>(
    path: &Path,
    version: &str,
    residents: &Residents,
    facilities: usize,
    exec: &E,
) -> std::io::Result<u64> {
    let rows = residents.len();
    let cats = categoricals(residents);
    if residents.weights().len() != rows
        || residents.gp.len() != rows
        || residents.ids.len() != rows
        || cats.iter().any(|(_, c)| c.len() != rows)
    {
        return Err(std::io::Error::other(
            "the resident columns differ in length",
        ));
    }
    let header = Header {
        format: PREPARED_FORMAT,
        version: version.to_owned(),
        rows: rows as u64,
        unit_weights: residents.unit_weights,
        facilities: facilities as u64,
        categoricals: cats
            .iter()
            .map(|(name, c)| CategoricalHeader {
                name: (*name).to_owned(),
                values: c.values().to_vec(),
            })
            .collect(),
        id_blocks: residents
            .ids
            .blocks()
            .map(|(_, b)| (b.len() as u64, b.bytes().len() as u64))
            .collect(),
    };
    let header = serde_json::to_vec(&header).map_err(std::io::Error::other)?;
    let start = data_start(header.len());
    let ends: Vec<_> = residents.ids.blocks().map(|(_, b)| b.ends()).collect();
    let pieces = chunks(columns(residents, &ends));
    let mut jobs = Vec::with_capacity(pieces.len());
    let mut at = start;
    for c in pieces {
        jobs.push((at, c));
        at += c.bytes() as u64;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = path.with_extension(format!("tmp-{}-{nanos}", std::process::id()));
    let written = (|| {
        File::create(&tmp)?.set_len(at)?;
        let digests = exec.map(jobs, |(offset, c)| -> std::io::Result<u64> {
            with_buffer(|buf| {
                c.encode(buf);
                let mut f = std::fs::OpenOptions::new().write(true).open(&tmp)?;
                f.seek(SeekFrom::Start(offset))?;
                f.write_all(buf)?;
                Ok(xxh3_64(buf))
            })
        });
        let mut trailer = Vec::with_capacity(8 * digests.len() + 8);
        for d in digests {
            trailer.extend_from_slice(&d?.to_le_bytes());
        }
        let mut checked = header.clone();
        checked.extend_from_slice(&trailer);
        trailer.extend_from_slice(&xxh3_64(&checked).to_le_bytes());
        let mut f = std::fs::OpenOptions::new().write(true).open(&tmp)?;
        f.write_all(MAGIC)?;
        f.write_all(&(header.len() as u64).to_le_bytes())?;
        f.write_all(&header)?;
        f.seek(SeekFrom::Start(at))?;
        f.write_all(&trailer)?;
        f.flush()?;
        std::fs::rename(&tmp, path)?;
        Ok(at + trailer.len() as u64)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Reads the file's first `len` bytes from `offset`.
fn read_at(path: &Path, offset: u64, len: usize, buf: &mut Vec<u8>) -> std::io::Result<()> {
    let mut f = File::open(path)?;
    f.seek(SeekFrom::Start(offset))?;
    buf.clear();
    f.take(len as u64).read_to_end(buf)?;
    if buf.len() != len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the file ends early",
        ));
    }
    Ok(())
}

/// The residents of the prepared file `path` if it was made from sources
/// of version `version` against `facilities` facilities and is whole;
/// otherwise why it cannot be used.
pub(crate) fn read_prepared<E: Executor>(
    path: &Path,
    version: &str,
    facilities: usize,
    exec: &E,
) -> std::result::Result<Residents, String> {
    let io = |e: std::io::Error| format!("cannot read it: {e}");
    let len = std::fs::metadata(path).map_err(io)?.len();
    let mut head = Vec::new();
    read_at(path, 0, 16.min(len as usize), &mut head).map_err(io)?;
    if head.len() < 16 || &head[..8] != MAGIC {
        return Err("not a prepared residents file of this format".into());
    }
    let header_len = u64::from_le_bytes(head[8..16].try_into().unwrap_or_default());
    if header_len > len {
        return Err("its header runs past its end".into());
    }
    let mut header_bytes = Vec::new();
    read_at(path, 16, header_len as usize, &mut header_bytes).map_err(io)?;
    let header: Header = serde_json::from_slice(&header_bytes)
        .map_err(|e| format!("its header is not readable: {e}"))?;
    if header.format != PREPARED_FORMAT {
        return Err(format!(
            "it is of format {}, this build reads format {PREPARED_FORMAT}",
            header.format
        ));
    }
    if header.version != version {
        return Err(format!(
            "the sources changed (it was made from version {}, they are now {version})",
            header.version
        ));
    }
    if header.facilities != facilities as u64 {
        return Err("it refers to another number of facilities".into());
    }
    let names: Vec<&str> = header
        .categoricals
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    if names.get(..2) != Some(&["municipality", "group"][..]) {
        return Err("it has no municipality and group columns first".into());
    }
    if header
        .id_blocks
        .iter()
        .map(|b| u128::from(b.0))
        .sum::<u128>()
        != u128::from(header.rows)
    {
        return Err("its ids are not one per row".into());
    }
    // The size the header implies, before any column is allocated.
    let rows = header.rows;
    let mut expected = u128::from(rows) * (16 + 8 + 4 + 4 * header.categoricals.len() as u128);
    let mut chunk_count = 0u128;
    let chunks_of = |n: u64, size: u64| u128::from(n).div_ceil(u128::from(CHUNK as u64 / size));
    chunk_count += chunks_of(rows, 16) + chunks_of(rows, 8) + chunks_of(rows, 4);
    chunk_count += header.categoricals.len() as u128 * chunks_of(rows, 4);
    for &(n, bytes) in &header.id_blocks {
        expected += u128::from(bytes) + 4 * u128::from(n);
        chunk_count += chunks_of(bytes, 1) + chunks_of(n, 4);
    }
    let start = data_start(header_len as usize);
    if u128::from(start) + expected + 8 * chunk_count + 8 != u128::from(len) {
        return Err("its length is not the one its header gives (truncated?)".into());
    }
    let data_end = start + expected as u64;
    let mut trailer = Vec::new();
    read_at(path, data_end, 8 * chunk_count as usize + 8, &mut trailer).map_err(io)?;
    let (digests, check) = trailer.split_at(8 * chunk_count as usize);
    let mut checked = header_bytes;
    checked.extend_from_slice(digests);
    if xxh3_64(&checked).to_le_bytes() != check {
        return Err("its header or chunk digests are damaged".into());
    }

    // The columns, allocated as the header says and filled chunk by chunk.
    let rows = rows as usize;
    let mut location = exec.filled(rows, LonLat::new(0.0, 0.0));
    let mut weight = vec![0.0; rows];
    let mut gp = vec![0u32; rows];
    let mut codes: Vec<Vec<u32>> = header
        .categoricals
        .iter()
        .map(|_| vec![0u32; rows])
        .collect();
    let mut blocks: Vec<(Vec<u8>, Vec<u32>)> = header
        .id_blocks
        .iter()
        .map(|&(n, bytes)| (vec![0u8; bytes as usize], vec![0u32; n as usize]))
        .collect();
    let mut cols = vec![
        ColumnMut::Points(&mut location),
        ColumnMut::Floats(&mut weight),
        ColumnMut::Words(&mut gp, facilities as u32),
    ];
    for (c, h) in codes.iter_mut().zip(&header.categoricals) {
        cols.push(ColumnMut::Words(c, h.values.len() as u32));
    }
    for (bytes, ends) in &mut blocks {
        cols.push(ColumnMut::Bytes(bytes));
        cols.push(ColumnMut::Words(ends, u32::MAX));
    }
    let pieces = chunks_mut(cols);
    let mut jobs = Vec::with_capacity(pieces.len());
    let mut at = start;
    for (c, d) in pieces.into_iter().zip(digests.chunks_exact(8)) {
        let bytes = c.bytes();
        let digest = u64::from_le_bytes(d.try_into().unwrap_or_default());
        jobs.push((at, bytes, digest, c));
        at += bytes as u64;
    }
    let read = exec.map(jobs, |(offset, bytes, digest, c)| {
        with_buffer(|buf| -> std::result::Result<(), String> {
            read_at(path, offset, bytes, buf).map_err(io)?;
            if xxh3_64(buf) != digest {
                return Err(format!("the chunk at byte {offset} is damaged"));
            }
            if !c.decode(buf) {
                return Err(format!(
                    "the chunk at byte {offset} holds an impossible value"
                ));
            }
            Ok(())
        })
    });
    read.into_iter()
        .collect::<std::result::Result<Vec<()>, String>>()?;

    let mut cats = Vec::with_capacity(codes.len());
    for (c, h) in codes.into_iter().zip(header.categoricals) {
        let col = Categorical::from_parts(c, h.values)
            .ok_or_else(|| format!("the dictionary of {} repeats a value", h.name))?;
        cats.push((h.name, col));
    }
    let mut ids = Vec::with_capacity(blocks.len());
    for (k, (bytes, ends)) in blocks.into_iter().enumerate() {
        ids.push(
            IdBlock::from_parts(bytes, ends)
                .ok_or_else(|| format!("block {k} of the ids is out of order"))?,
        );
    }
    let mut cats = cats.into_iter();
    let (Some((_, municipality)), Some((_, group))) = (cats.next(), cats.next()) else {
        return Err("it has no municipality and group columns first".into());
    };
    if weight.iter().all(|&w| w == 1.0) != header.unit_weights {
        return Err("its weights do not agree with its header".into());
    }
    Ok(Residents {
        location,
        // Ones are not kept (see `Residents::weights`).
        weight: if header.unit_weights {
            Vec::new()
        } else {
            weight
        },
        ones: Default::default(),
        ids: Ids::from_blocks(ids),
        municipality,
        group,
        gp,
        extra: cats.collect(),
        unit_weights: header.unit_weights,
        kept: crate::ResidentColumns::all(),
    })
}

#[cfg(test)]
mod tests;
