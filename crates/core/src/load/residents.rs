//! The residents file: parsed in parallel pieces straight into the final
//! columns when it is a quote-free CSV, in one piece otherwise.

use super::*;

// ----------------------------------------------------------------- residents

#[derive(Debug, Clone)]
pub(super) struct ResidentCols {
    pub(super) id: usize,
    pub(super) coords: CoordCols,
    pub(super) weight: Option<usize>,
    pub(super) municipality: Option<usize>,
    pub(super) gp_id: Option<usize>,
    pub(super) group: Option<usize>,
    pub(super) extra: Vec<(String, usize)>,
}

pub(super) const RESERVED: [&str; 9] = [
    "id",
    "lon",
    "lat",
    "x",
    "y",
    "weight",
    "municipality",
    "gp_id",
    "group",
];

impl ResidentCols {
    /// Whether each categorical column (the municipality, the group, then
    /// the extra columns) is `kept`.
    pub(super) fn kept_categoricals(&self, kept: &ResidentColumns) -> Vec<bool> {
        let names: Vec<&str> = self.extra.iter().map(|(name, _)| name.as_str()).collect();
        (0..2 + names.len())
            .map(|k| kept.keeps_categorical(k, &names))
            .collect()
    }

    pub(super) fn new(t: &Table) -> Result<Self> {
        let coords = t.coord_cols()?;
        let extra = t
            .header
            .iter()
            .enumerate()
            .filter(|(i, h)| {
                !(RESERVED.iter().any(|r| r.eq_ignore_ascii_case(h)) || t.geometry_xy && *i < 2)
            })
            .map(|(i, h)| (h.clone(), i))
            .collect();
        Ok(ResidentCols {
            id: t.require("id")?,
            coords,
            weight: t.find("weight"),
            municipality: t.find("municipality"),
            gp_id: t.find("gp_id"),
            group: t.find("group"),
            extra,
        })
    }
}

/// One validated resident row, on its way into storage.
pub(super) struct Row<'a> {
    pub(super) id: &'a str,
    pub(super) location: LonLat,
    pub(super) weight: f64,
    pub(super) gp: u32,
    pub(super) municipality: Option<&'a str>,
    pub(super) group: Option<&'a str>,
    /// Values of the extra columns.
    pub(super) extra: &'a [&'a str],
    /// The municipality, group and extra values as [`ShortKey`]s, when
    /// the one-pass parser read them (it has their bytes in a word).
    pub(super) keys: Option<&'a [ShortKey]>,
}

/// A categorical value of at most 8 bytes as one word (its bytes, the
/// first in the low byte, zeros after) and its length: two values are
/// equal when their keys are. Longer values have no key
/// ([`ShortKey::NONE`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct ShortKey {
    pub(super) word: u64,
    pub(super) len: u8,
}

impl ShortKey {
    pub(super) const NONE: ShortKey = ShortKey {
        word: 0,
        len: u8::MAX,
    };
}

/// Where parsed rows are stored: growing columns (one-piece loads) or the
/// final columns' slices for one piece of a file parsed in parallel.
pub(super) trait RowSink {
    fn push_row(&mut self, row: Row<'_>);
}

/// Residents of a whole file parsed in one piece (GeoJSON, quoted CSV).
pub(super) struct ResidentsPart {
    pub(super) residents: Residents,
    /// Where the rows came from, to locate a row in error messages.
    pub(super) source: PartSource,
}

impl RowSink for ResidentsPart {
    fn push_row(&mut self, row: Row<'_>) {
        let r = &mut self.residents;
        r.ids.push(row.id.as_bytes());
        r.location.push(row.location);
        r.unit_weights &= row.weight == 1.0;
        r.weight.push(row.weight);
        r.gp.push(row.gp);
        r.municipality.push(row.municipality);
        r.group.push(row.group);
        for (k, &v) in row.extra.iter().enumerate() {
            r.extra[k].1.push(Some(v));
        }
    }
}

/// The final columns' slices for the rows of one piece.
pub(super) struct PieceSink<'a> {
    pub(super) rows: usize,
    pub(super) location: &'a mut [LonLat],
    pub(super) weight: &'a mut [f64],
    /// Empty when the column is not kept.
    pub(super) gp: &'a mut [u32],
    /// The piece's ids: a block of the final id column.
    pub(super) ids: IdBlock,
    /// An id did not fit in the block (over 4 GiB of ids in one piece).
    pub(super) ids_overflow: bool,
    /// Municipality, group, then the extra columns.
    pub(super) categorical: Vec<PieceCodes<'a>>,
    pub(super) unit_weights: bool,
}

impl RowSink for PieceSink<'_> {
    // Inlined into the line parsers: the row's fields stay in registers.
    #[inline(always)]
    fn push_row(&mut self, row: Row<'_>) {
        let i = self.rows;
        if i >= self.location.len() {
            // More rows than the first pass counted: the file changed,
            // which `parse_pieces` reports from the count.
            self.rows += 1;
            return;
        }
        self.ids_overflow |= !self.ids.push(row.id.as_bytes());
        self.location[i] = row.location;
        // Weights of 1 are not written (their pages never touched) until
        // the piece holds another: then the rows before it get their 1.
        if self.unit_weights && row.weight != 1.0 {
            self.weight[..i].fill(1.0);
            self.unit_weights = false;
        }
        if !self.unit_weights {
            self.weight[i] = row.weight;
        }
        if let Some(gp) = self.gp.get_mut(i) {
            *gp = row.gp;
        }
        let (m, rest) = self.categorical.split_at_mut(1);
        let key = |k: usize| row.keys.map_or(ShortKey::NONE, |keys| keys[k]);
        m[0].set(i, row.municipality, key(0));
        rest[0].set(i, row.group, key(1));
        for (k, &v) in row.extra.iter().enumerate() {
            rest[1 + k].set(i, Some(v), key(2 + k));
        }
        self.rows += 1;
    }
}

pub(super) struct ResidentParser<'a> {
    pub(super) t: &'a Table<'a>,
    pub(super) cols: &'a ResidentCols,
    pub(super) transform: &'a ToWgs84,
    pub(super) facilities: &'a Facilities,
}

impl ResidentParser<'_> {
    pub(super) fn new_part(&self, rows: usize) -> ResidentsPart {
        let mut residents = Residents {
            unit_weights: true,
            ..Residents::default()
        };
        residents.location.reserve(rows);
        residents.weight.reserve(rows);
        residents.gp.reserve(rows);
        residents.municipality.reserve(rows);
        residents.group.reserve(rows);
        residents.extra = self
            .cols
            .extra
            .iter()
            .map(|(n, _)| (n.clone(), Categorical::new()))
            .collect();
        ResidentsPart {
            residents,
            source: PartSource::GeoJson,
        }
    }

    /// Stores one line of a quote-free CSV body when every field is in its
    /// most common form, exactly as [`ResidentParser::push`] would, and
    /// returns false, storing nothing, otherwise: then `push` takes the
    /// line and says what is wrong with it, if anything. This path builds
    /// no error values, which makes it several times cheaper per row.
    #[inline]
    pub(super) fn push_plain(&self, sink: &mut impl RowSink, rec: &SplitLine) -> bool {
        let c = self.cols;
        let (Some(text), true) = (rec.text, rec.count() == self.t.header.len()) else {
            return false;
        };
        let mut extra = [""; MAX_PLAIN_EXTRA];
        if c.extra.len() > MAX_PLAIN_EXTRA || !(c.coords.lonlat || self.transform.crs().is_wgs84())
        {
            return false;
        }
        let field = |col: usize| {
            let (a, b) = rec.bounds[col];
            text[a..b].trim_ascii()
        };
        let id = field(c.id);
        let coord = |col: usize| parse_plain_decimal(field(col).as_bytes());
        let (Some(lon), Some(lat)) = (coord(c.coords.x), coord(c.coords.y)) else {
            return false;
        };
        let weight = match c.weight.map(coord) {
            None => 1.0,
            Some(Some(w)) if w >= 0.0 => w,
            Some(_) => return false,
        };
        let gp = match c.gp_id.map(field) {
            None | Some("") => NONE,
            Some(s) => match self.facilities.index_of(s) {
                Some(gp) => gp,
                None => return false,
            },
        };
        if id.is_empty() || !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
            return false;
        }
        for (e, &(_, col)) in extra.iter_mut().zip(&c.extra) {
            *e = field(col);
        }
        sink.push_row(Row {
            id,
            location: LonLat::new(lon, lat),
            weight,
            gp,
            municipality: c.municipality.map(field),
            group: c.group.map(field),
            extra: &extra[..c.extra.len()],
            keys: None,
        });
        true
    }

    /// Stores the lines of a quote-free CSV body, numbered from `line0`,
    /// each by [`ResidentParser::push_plain`] or, failing it, by
    /// [`ResidentParser::push`].
    pub(super) fn push_lines(
        &self,
        body: &[u8],
        line0: u64,
        sink: &mut impl RowSink,
    ) -> Result<()> {
        for_each_plain_line(body, line0, |line, rec| {
            if self.push_plain(sink, rec) {
                return Ok(());
            }
            self.push(
                sink,
                rec,
                RowPos {
                    line: Some(line),
                    feature: None,
                },
            )
        })
    }

    /// Validates one record and stores it in `sink`; nothing is stored when
    /// it is invalid.
    pub(super) fn push(
        &self,
        sink: &mut impl RowSink,
        rec: &impl Fields,
        pos: RowPos,
    ) -> Result<()> {
        let t = self.t;
        let c = self.cols;
        t.check_len(rec, pos)?;
        let id = t.str(rec, c.id, pos)?;
        if id.is_empty() {
            return Err(t.err(pos, Some(c.id), "expected a non-empty id"));
        }
        let location = t.point(rec, c.coords, self.transform, pos)?;
        let weight = match c.weight {
            None => 1.0,
            Some(col) => match rec
                .number(col)
                .or_else(|| parse_plain_decimal(rec.field(col).trim_ascii()))
            {
                Some(w) if w >= 0.0 && w.is_finite() => w,
                _ => {
                    let s = t.str(rec, col, pos)?;
                    if s.is_empty() {
                        1.0
                    } else {
                        s.parse::<f64>()
                            .ok()
                            .filter(|w| w.is_finite() && *w >= 0.0)
                            .ok_or_else(|| {
                                t.err(
                                    pos,
                                    Some(col),
                                    format!("expected a number ≥ 0, found `{s}`"),
                                )
                            })?
                    }
                }
            },
        };
        let gp = match c.gp_id {
            None => NONE,
            Some(col) => {
                let s = t.str(rec, col, pos)?;
                if s.is_empty() {
                    NONE
                } else {
                    self.facilities.index_of(s).ok_or_else(|| {
                        t.err(
                            pos,
                            Some(col),
                            format!("expected the id of a facility, found `{s}` which names none"),
                        )
                    })?
                }
            }
        };
        let opt = |col: Option<usize>| -> Result<Option<&str>> {
            col.map(|col| t.str(rec, col, pos)).transpose()
        };
        let municipality = opt(c.municipality)?;
        let group = opt(c.group)?;
        let extra = c
            .extra
            .iter()
            .map(|(_, col)| t.str(rec, *col, pos))
            .collect::<Result<Vec<&str>>>()?;
        sink.push_row(Row {
            id,
            location,
            weight,
            gp,
            municipality,
            group,
            extra: &extra,
            keys: None,
        });
        Ok(())
    }
}

/// Extra columns the fast path of plain CSV lines takes (more go through
/// the general row parser).
pub(super) const MAX_PLAIN_EXTRA: usize = 8;

/// Bytes per piece when a CSV file is parsed in parallel.
pub(super) const CSV_PIECE_BYTES: u64 = crate::version::BLOCK;
/// Bytes read for the header line (more if it is longer).
pub(super) const HEADER_PROBE_BYTES: u64 = 64 << 10;
/// Id hashes are grouped in this many buckets (by their top bits) so that
/// duplicate ids are searched for bucket by bucket, in parallel.
pub(super) const ID_BUCKET_BITS: u32 = 6;
pub(super) const ID_BUCKETS: usize = 1 << ID_BUCKET_BITS;

/// What the first pass learned of a residents file: all that is read of
/// it before the facilities are needed (so that it can run while they
/// load).
pub(super) enum ResidentsScan {
    /// A CSV file without quotes, scanned in pieces.
    Pieces(PiecesScan),
    /// Any other file (GeoJSON, a table format, a CSV file with quotes or
    /// an unfinished header line): read whole by [`parse_residents`].
    Whole,
}

/// A CSV file's header and its pieces, scanned.
pub(super) struct PiecesScan {
    header: Vec<String>,
    scans: Vec<PieceScan>,
    /// True when the pieces are the file's version blocks, all of them.
    whole: bool,
    file_len: u64,
}

/// The first pass over the residents file `path`: its header checked and,
/// for a plain CSV file, where each piece's lines are, how many rows they
/// hold and the digest of its block of the file (pieces are the version's
/// blocks, the first with the header). In parallel; the whole file is never
/// held in memory.
pub(super) fn scan_residents<E: Executor>(
    path: &Path,
    crs: Crs,
    exec: &E,
) -> Result<ResidentsScan> {
    if is_table_format(path) || is_geojson(path) {
        return Ok(ResidentsScan::Whole);
    }
    let _span = tracing::debug_span!("residents_first_pass").entered();
    ToWgs84::new(crs)?;
    // The header, from the start of the file.
    let mut file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let file_len = file.metadata().map_err(|e| io_error(path, e))?.len();
    let mut probe = Vec::new();
    read_range(&mut file, 0, HEADER_PROBE_BYTES.min(file_len), &mut probe)
        .map_err(|e| io_error(path, e))?;
    drop(file);
    let header_complete = probe.len() as u64 == file_len || memchr::memchr(b'\n', &probe).is_some();
    if !header_complete || memchr::memchr(b'"', &probe).is_some() {
        return Ok(ResidentsScan::Whole);
    }
    let (header, start) = csv_header(path, &probe)?;
    let header_lines = probe[..start].iter().filter(|&&b| b == b'\n').count() as u64;
    let t = Table {
        path,
        header,
        geometry_xy: false,
        records: None,
    };
    ResidentCols::new(&t)?;

    let start = start as u64;
    let header_bytes = &probe[..start as usize];
    let ranges: Vec<(u64, u64)> = (0..file_len.div_ceil(CSV_PIECE_BYTES))
        .map(|k| {
            let from = (k * CSV_PIECE_BYTES).max(start);
            (from, ((k + 1) * CSV_PIECE_BYTES).min(file_len))
        })
        .filter(|(from, to)| from < to)
        .collect();
    let whole = ranges.len() as u64 == file_len.div_ceil(CSV_PIECE_BYTES);
    let mut scans = Vec::with_capacity(ranges.len());
    let mut line = header_lines + 1;
    let scanned = exec.map(ranges, |r| {
        let header = if r.0 == start { header_bytes } else { &[] };
        scan_csv_piece(path, start, r, header)
    });
    for scan in scanned {
        match scan {
            Ok(mut s) => {
                s.line0 = line;
                line += s.newlines;
                scans.push(s);
            }
            Err(ScanError::Quoted) => return Ok(ResidentsScan::Whole),
            Err(ScanError::Io(e)) => return Err(io_error(path, e)),
        }
    }
    Ok(ResidentsScan::Pieces(PiecesScan {
        header: t.header,
        scans,
        whole,
        file_len,
    }))
}

/// The residents of `path` after its first pass, `scan`, and the digests
/// of its blocks when that pass took them (for the dataset's version).
pub(super) fn parse_residents<E: Executor>(
    path: &Path,
    crs: Crs,
    scan: ResidentsScan,
    facilities: &Facilities,
    columns: &ResidentColumns,
    exec: &E,
) -> Result<(Residents, Option<FileDigests>)> {
    let untaken = |r: Result<Residents>| r.map(|r| (r, None));
    if is_table_format(path) {
        // The CRS is the one the file declares.
        return untaken(load_residents_chunked(path, facilities, exec));
    }
    let transform = ToWgs84::new(crs)?;
    let scan = match scan {
        ResidentsScan::Pieces(scan) => scan,
        ResidentsScan::Whole if is_geojson(path) => {
            return untaken(load_residents_geojson(path, &transform, facilities, exec))
        }
        ResidentsScan::Whole => {
            return untaken(load_residents_csv_serial(
                path, &transform, facilities, exec,
            ))
        }
    };
    let PiecesScan {
        header,
        scans,
        whole,
        file_len,
    } = scan;
    let t = Table {
        path,
        header,
        geometry_xy: false,
        records: None,
    };
    let cols = ResidentCols::new(&t)?;
    let p = ResidentParser {
        t: &t,
        cols: &cols,
        transform: &transform,
        facilities,
    };

    // Pass 2, in parallel: every piece parses straight into its slice of
    // the final columns (no per-piece columns to concatenate afterwards).
    let pieces = scans.iter().map(|s| (*s, s.rows)).collect();
    let plain = PlainRows::new(&p, columns);
    let residents = parse_pieces(path, &cols, columns, pieces, exec, |s, sink| {
        parse_in_parts(path, (s.from, s.to), s.line0, |body, len, line| {
            if let Some(rows) = &plain {
                return rows.parse(body, len, line, sink);
            }
            p.push_lines(&body[..len], line, sink)?;
            Ok(line + memchr::memchr_iter(b'\n', &body[..len]).count() as u64)
        })
    })?;
    let _span = tracing::debug_span!("residents_unique_ids").entered();
    check_unique_ids(path, &residents, exec, None, |row| {
        // The piece holding global row `row`, then the row within it.
        let mut first = 0;
        for s in &scans {
            if (row as usize) < first + s.rows {
                let src = PartSource::Csv {
                    from: s.from,
                    to: s.to,
                    line0: s.line0,
                };
                return src.locate(path, row - first as u32);
            }
            first += s.rows;
        }
        RowPos {
            line: None,
            feature: None,
        }
    })?;
    let digests = whole.then(|| FileDigests {
        path: path.to_path_buf(),
        len: file_len,
        blocks: scans.iter().map(|s| s.digest).collect(),
    });
    Ok((residents, digests))
}

/// The residents of a GeoJSON file of points.
fn load_residents_geojson<E: Executor>(
    path: &Path,
    transform: &ToWgs84,
    facilities: &Facilities,
    exec: &E,
) -> Result<Residents> {
    let bytes = read_bytes(path)?;
    let (header, rows) = geojson_points(path, &bytes)?;
    drop(bytes);
    let t = Table {
        path,
        header,
        geometry_xy: true,
        records: None,
    };
    let cols = ResidentCols::new(&t)?;
    let p = ResidentParser {
        t: &t,
        cols: &cols,
        transform,
        facilities,
    };
    let mut part = p.new_part(rows.len());
    for (i, rec) in rows.iter().enumerate() {
        p.push(
            &mut part,
            rec,
            RowPos {
                line: None,
                feature: Some(i),
            },
        )?;
    }
    finish_part(path, part, exec)
}

/// What a piece leaves besides the rows written into the final columns.
pub(super) struct PieceOut {
    pub(super) unit_weights: bool,
    /// Local dictionaries of the categorical columns.
    pub(super) dicts: Vec<Categorical>,
    /// The piece's ids.
    pub(super) ids: IdBlock,
}

/// The general path for CSV files with quotes (a quoted field may hold a
/// newline, so the file cannot be split at line ends): one csv reader.
pub(super) fn load_residents_csv_serial<E: Executor>(
    path: &Path,
    transform: &ToWgs84,
    facilities: &Facilities,
    exec: &E,
) -> Result<Residents> {
    let bytes = read_bytes(path)?;
    let (header, start) = csv_header(path, &bytes)?;
    let t = Table {
        path,
        header,
        geometry_xy: false,
        records: None,
    };
    let cols = ResidentCols::new(&t)?;
    let p = ResidentParser {
        t: &t,
        cols: &cols,
        transform,
        facilities,
    };
    let body = &bytes[start..];
    let line0 = 1 + bytes[..start].iter().filter(|&&b| b == b'\n').count() as u64;
    let mut part = p.new_part(body.len() / 48 + 16);
    part.source = PartSource::Csv {
        from: start as u64,
        to: bytes.len() as u64,
        line0,
    };
    let mut rdr = csv_reader(body, false);
    let mut rec = ByteRecord::new();
    let mut lines = LineCounter::new(body, line0);
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {
                let line = lines.line_at(rec.position().map_or(0, |p| p.byte() as usize));
                p.push(
                    &mut part,
                    &rec,
                    RowPos {
                        line: Some(line),
                        feature: None,
                    },
                )?;
            }
            Ok(false) => break,
            Err(e) => return Err(csv_error_at(path, &e, &mut lines)),
        }
    }
    drop(bytes);
    finish_part(path, part, exec)
}

/// The residents of a one-piece load, once their ids are checked.
pub(super) fn finish_part<E: Executor>(
    path: &Path,
    part: ResidentsPart,
    exec: &E,
) -> Result<Residents> {
    let source = part.source;
    check_unique_ids(path, &part.residents, exec, None, |row| {
        source.locate(path, row)
    })?;
    Ok(part.residents)
}

/// The rows of a part: a GeoJSON file (row = feature), or the bytes
/// `[from, to)` of a CSV file whose first record starts on line `line0`.
#[derive(Debug, Clone, Copy)]
pub(super) enum PartSource {
    GeoJson,
    Csv { from: u64, to: u64, line0: u64 },
}

impl PartSource {
    /// Position of row `row` of the part; CSV pieces are read again, which
    /// is fine on this error-only path.
    pub(super) fn locate(self, path: &Path, row: u32) -> RowPos {
        match self {
            PartSource::GeoJson => RowPos {
                line: None,
                feature: Some(row as usize),
            },
            PartSource::Csv { from, to, line0 } => {
                let mut bytes = Vec::new();
                let read = std::fs::File::open(path)
                    .and_then(|mut f| read_range(&mut f, from, to - from, &mut bytes));
                let mut line = None;
                if read.is_ok() {
                    let mut rdr = csv_reader(&bytes, false);
                    let mut rec = ByteRecord::new();
                    let mut lines = LineCounter::new(&bytes, line0);
                    for _ in 0..=row {
                        if !matches!(rdr.read_byte_record(&mut rec), Ok(true)) {
                            break;
                        }
                        line = rec.position().map(|p| lines.line_at(p.byte() as usize));
                    }
                }
                RowPos {
                    line,
                    feature: None,
                }
            }
        }
    }
}

/// Parses pieces of a residents file in parallel, each straight into its
/// slice of the final columns (and its ids into a block of its own, which
/// the id column keeps): `pieces` are (job, rows), and `parse` pushes a
/// job's rows, in order, into its sink. Returns the residents (ids not yet
/// checked for duplicates), with the optional columns `kept` says.
pub(super) fn parse_pieces<E: Executor, J: Send>(
    path: &Path,
    cols: &ResidentCols,
    kept: &ResidentColumns,
    pieces: Vec<(J, usize)>,
    exec: &E,
    parse: impl Fn(J, &mut PieceSink<'_>) -> Result<()> + Sync + Send,
) -> Result<Residents> {
    let rows: Vec<usize> = pieces.iter().map(|p| p.1).collect();
    let n: usize = rows.iter().sum();
    let span = tracing::debug_span!("residents_columns").entered();
    let mut location = exec.filled(n, LonLat::new(0.0, 0.0));
    let mut weight = vec![0.0f64; n];
    // Columns not kept are left empty (and their pieces' slices too).
    let keeps = cols.kept_categoricals(kept);
    let column = |keep: bool| if keep { vec![0u32; n] } else { Vec::new() };
    let mut gp = column(kept.keeps_gp());
    let mut codes: Vec<Vec<u32>> = keeps.iter().map(|&k| column(k)).collect();
    let mut jobs = Vec::with_capacity(pieces.len());
    /// The first `k` items of `rest`, which keeps the others.
    fn take<'a, T>(rest: &mut &'a mut [T], k: usize) -> &'a mut [T] {
        let (head, tail) = std::mem::take(rest).split_at_mut(k);
        *rest = tail;
        head
    }
    {
        let (mut loc, mut w, mut g) = (&mut location[..], &mut weight[..], &mut gp[..]);
        let mut cats: Vec<&mut [u32]> = codes.iter_mut().map(|c| &mut c[..]).collect();
        for (job, rows) in pieces {
            let sink = PieceSink {
                rows: 0,
                location: take(&mut loc, rows),
                weight: take(&mut w, rows),
                gp: if kept.keeps_gp() {
                    take(&mut g, rows)
                } else {
                    &mut []
                },
                ids: IdBlock::with_capacity(rows * 12),
                ids_overflow: false,
                categorical: cats
                    .iter_mut()
                    .zip(&keeps)
                    .map(|(c, &keep)| PieceCodes::new(if keep { take(c, rows) } else { &mut [] }))
                    .collect(),
                unit_weights: true,
            };
            jobs.push((job, rows, sink));
        }
    }
    drop(span);
    let span = tracing::debug_span!("residents_parse").entered();
    let results = exec.map(jobs, |(job, rows, mut sink)| -> Result<PieceOut> {
        parse(job, &mut sink)?;
        if sink.rows != rows {
            return Err(Error::input(
                Location::file(path),
                format!(
                    "the file changed while it was read (a piece expected to hold {rows} rows \
                     held {})",
                    sink.rows
                ),
            ));
        }
        if sink.ids_overflow {
            return Err(Error::input(
                Location::file(path),
                "more than 4 GiB of resident ids in one piece of the file".to_owned(),
            ));
        }
        sink.ids.shrink_to_fit();
        Ok(PieceOut {
            unit_weights: sink.unit_weights,
            dicts: sink.categorical.into_iter().map(|c| c.dict).collect(),
            ids: sink.ids,
        })
    });
    let mut outs = results.into_iter().collect::<Result<Vec<_>>>()?;
    drop(span);
    let _span = tracing::debug_span!("residents_dictionaries").entered();

    // One dictionary per categorical column; pieces' codes remapped to it.
    // The dictionaries first, then every piece's codes in parallel (but
    // where a piece's codes are the final ones already).
    let mut dicts: Vec<Categorical> = Vec::with_capacity(codes.len());
    let mut remaps = Vec::new();
    for (k, column) in codes.iter_mut().enumerate() {
        let mut all = Categorical::new();
        if !keeps[k] {
            dicts.push(all);
            continue;
        }
        let mut rest = &mut column[..];
        for (&rows, out) in rows.iter().zip(&outs) {
            let map: Vec<u32> = out.dicts[k]
                .values()
                .iter()
                .map(|v| all.code_for(v))
                .collect();
            let piece = take(&mut rest, rows);
            if map.iter().enumerate().any(|(i, &c)| c != i as u32) {
                remaps.push((piece, map));
            }
        }
        dicts.push(all);
    }
    exec.map(remaps, |(piece, map)| {
        for c in piece {
            if *c != NONE {
                *c = map[*c as usize];
            }
        }
    });
    // Every weight 1: no column (see `Residents::weights`); otherwise the
    // pieces of ones get theirs.
    let unit_weights = outs.iter().all(|o| o.unit_weights);
    if unit_weights {
        weight = Vec::new();
    } else {
        let mut rest = &mut weight[..];
        let mut ones = Vec::new();
        for (&rows, out) in rows.iter().zip(&outs) {
            let piece = take(&mut rest, rows);
            if out.unit_weights {
                ones.push(piece);
            }
        }
        exec.map(ones, |piece| piece.fill(1.0));
    }
    let mut categoricals: Vec<Categorical> = Vec::with_capacity(codes.len());
    for (mut all, column) in dicts.into_iter().zip(codes) {
        all.set_codes(column);
        categoricals.push(all);
    }
    let mut categoricals = categoricals.into_iter();
    let residents = Residents {
        location,
        weight,
        ids: Ids::from_blocks(outs.iter_mut().map(|o| std::mem::take(&mut o.ids))),
        municipality: categoricals.next().unwrap_or_default(),
        group: categoricals.next().unwrap_or_default(),
        gp,
        extra: cols
            .extra
            .iter()
            .map(|(name, _)| name.clone())
            .zip(categoricals)
            .collect(),
        ones: Default::default(),
        unit_weights,
        kept: kept.clone(),
    };
    debug_assert_eq!(residents.ids.len(), residents.len());
    Ok(residents)
}
