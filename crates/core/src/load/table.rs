//! Point files as tables: header, records whose fields are bytes, where
//! each record came from; CSV, GeoJSON and the GIS table formats.

use super::*;

/// Where a record came from: a CSV line or a GeoJSON feature.
#[derive(Debug, Clone, Copy)]
pub(super) struct RowPos {
    pub(super) line: Option<u64>,
    pub(super) feature: Option<usize>,
}

/// A tabular view of a point file: column names, then records whose fields
/// are bytes. GeoJSON point files are turned into the same shape, with the
/// geometry's coordinates in the first two columns.
pub(super) struct Table<'a> {
    pub(super) path: &'a Path,
    pub(super) header: Vec<String>,
    /// True when coordinates come from GeoJSON geometry (columns 0 and 1).
    pub(super) geometry_xy: bool,
    /// For a table format (GeoPackage, GeoParquet): what a record's number
    /// counts, e.g. ``layer `residents`, fid`` (carried in `RowPos::feature`).
    pub(super) records: Option<String>,
}

/// The fields of one record, from the csv crate or from the fast splitter.
pub(super) trait Fields {
    fn count(&self) -> usize;
    fn field(&self, i: usize) -> &[u8];
    /// The field as text when the record is known to be UTF-8 already.
    fn text(&self, _i: usize) -> Option<&str> {
        None
    }
    /// The field as a number when the record holds numbers (GeoParquet,
    /// GeoPackage), so that it need not be printed and parsed.
    fn number(&self, _i: usize) -> Option<f64> {
        None
    }
}

impl Fields for ByteRecord {
    fn count(&self) -> usize {
        self.len()
    }
    fn field(&self, i: usize) -> &[u8] {
        &self[i]
    }
}

/// A line of a quote-free CSV body split at commas.
pub(super) struct SplitLine<'a> {
    pub(super) line: &'a [u8],
    /// The same line as text, when the whole body is valid UTF-8.
    pub(super) text: Option<&'a str>,
    pub(super) bounds: &'a [(usize, usize)],
}

impl Fields for SplitLine<'_> {
    fn count(&self) -> usize {
        self.bounds.len()
    }
    fn field(&self, i: usize) -> &[u8] {
        let (a, b) = self.bounds[i];
        &self.line[a..b]
    }
    fn text(&self, i: usize) -> Option<&str> {
        // Commas and line ends are ASCII, so always character boundaries.
        let (a, b) = self.bounds[i];
        self.text.map(|t| &t[a..b])
    }
}

/// The bytes of `word` (8 bytes of a CSV body, little-endian) that end a
/// field, a comma or a line feed, as the high bit of each such byte.
///
/// SWAR: for a byte `y`, `((y & 0x7f) + 0x7f) | y` has its high bit set
/// exactly when `y ≠ 0` (no carry leaves a byte, as 0x7f + 0x7f < 0x100);
/// `y` is the byte xor the delimiter, zero exactly on a match.
#[inline]
pub(super) fn delimiters(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let nonzero = |y: u64| ((y & LOW7) + LOW7) | y;
    let comma = word ^ (ONES * u64::from(b','));
    let newline = word ^ (ONES * u64::from(b'\n'));
    !(nonzero(comma) & nonzero(newline)) & !LOW7
}

/// Calls `f(line_number, fields)` for every non-empty line of a CSV body
/// that contains no quote character (so commas and newlines only delimit).
/// The delimiters are found eight bytes at a time ([`delimiters`]), for
/// every line at once: several times faster than the general csv reader,
/// and than a search per line and per field.
pub(super) fn for_each_plain_line(
    body: &[u8],
    first_line: u64,
    mut f: impl FnMut(u64, &SplitLine) -> Result<()>,
) -> Result<()> {
    // One validation of the whole body instead of one per field; on
    // failure fields are checked one by one, to locate the bad one.
    let text = std::str::from_utf8(body).ok();
    let mut bounds: Vec<(usize, usize)> = Vec::with_capacity(16);
    // Where the current line and field start, and the line's number.
    let (mut line_start, mut field_start, mut line_no) = (0, 0, first_line);
    let mut line_ends = |end: usize, line_start: usize, field_start: usize, bounds: &mut Vec<_>| {
        let mut line = &body[line_start..end];
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        let done = if line.is_empty() {
            Ok(())
        } else {
            bounds.push((field_start - line_start, line.len()));
            f(
                line_no,
                &SplitLine {
                    line,
                    text: text.map(|t| &t[line_start..line_start + line.len()]),
                    bounds,
                },
            )
        };
        bounds.clear();
        line_no += 1;
        done
    };
    let words = body.chunks_exact(8);
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    let words = words
        .map(|w| u64::from_le_bytes(w.try_into().unwrap_or_default()))
        .chain(std::iter::once(u64::from_le_bytes(tail)));
    for (k, word) in words.enumerate() {
        let mut found = delimiters(word);
        while found != 0 {
            let at = 8 * k + (found.trailing_zeros() / 8) as usize;
            found &= found - 1;
            if body[at] == b',' {
                bounds.push((field_start - line_start, at - line_start));
            } else {
                line_ends(at, line_start, field_start, &mut bounds)?;
                line_start = at + 1;
            }
            field_start = at + 1;
        }
    }
    if line_start < body.len() {
        line_ends(body.len(), line_start, field_start, &mut bounds)?;
    }
    Ok(())
}

/// Parses `[-+]digits[.digits]` with at most 15 significant digits: the
/// digits as an integer, divided by a power of ten. Both are exact doubles,
/// so the one division rounds correctly and the result equals
/// `str::parse::<f64>` (Clinger's fast path); anything else is `None`, for
/// the general parser.
pub(super) fn parse_plain_decimal(b: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (neg, digits) = match b {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, b),
    };
    let (mut mantissa, mut count, mut frac, mut seen_dot) = (0u64, 0usize, 0usize, false);
    for &c in digits {
        match c {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(c - b'0');
                count += 1;
                frac += usize::from(seen_dot);
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => return None,
        }
    }
    // At least one digit, and at most 15 so the integer is exact.
    if count == 0 || count > 15 {
        return None;
    }
    let v = mantissa as f64 / POW10[frac];
    Some(if neg { -v } else { v })
}

/// Columns holding the coordinates.
#[derive(Debug, Clone, Copy)]
pub(super) struct CoordCols {
    pub(super) x: usize,
    pub(super) y: usize,
    /// `lon`/`lat` columns are always WGS84, whatever the file's CRS.
    pub(super) lonlat: bool,
}

impl Table<'_> {
    pub(super) fn find(&self, name: &str) -> Option<usize> {
        self.header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
    }

    pub(super) fn location(&self, pos: RowPos, col: Option<usize>) -> Location {
        Location {
            path: self.path.to_path_buf(),
            line: pos.line,
            column: col.filter(|_| !self.geometry_xy).map(|c| c + 1),
            field: col.map(|c| self.header[c].clone()),
            feature: pos.feature.filter(|_| self.records.is_none()),
            record: self
                .records
                .as_ref()
                .zip(pos.feature)
                .map(|(r, n)| record_name(r, n)),
        }
    }

    pub(super) fn err(&self, pos: RowPos, col: Option<usize>, message: impl Into<String>) -> Error {
        Error::input(self.location(pos, col), message)
    }

    pub(super) fn header_err(&self, message: impl Into<String>) -> Error {
        let mut loc = Location::file(self.path);
        if !self.geometry_xy {
            loc.line = Some(1);
        }
        Error::input(loc, message)
    }

    pub(super) fn require(&self, name: &str) -> Result<usize> {
        self.find(name).ok_or_else(|| {
            self.header_err(format!(
                "missing required column `{name}` (columns found: {})",
                self.header.join(", ")
            ))
        })
    }

    pub(super) fn coord_cols(&self) -> Result<CoordCols> {
        if self.geometry_xy {
            return Ok(CoordCols {
                x: 0,
                y: 1,
                lonlat: false,
            });
        }
        match (
            self.find("lon"),
            self.find("lat"),
            self.find("x"),
            self.find("y"),
        ) {
            (Some(x), Some(y), _, _) => Ok(CoordCols { x, y, lonlat: true }),
            (_, _, Some(x), Some(y)) => Ok(CoordCols {
                x,
                y,
                lonlat: false,
            }),
            _ => Err(self.header_err(format!(
                "expected coordinate columns `lon`,`lat` or `x`,`y` (columns found: {})",
                self.header.join(", ")
            ))),
        }
    }

    pub(super) fn check_len(&self, rec: &impl Fields, pos: RowPos) -> Result<()> {
        if rec.count() != self.header.len() {
            return Err(self.err(
                pos,
                None,
                format!(
                    "expected {} fields as in the header, found {}",
                    self.header.len(),
                    rec.count()
                ),
            ));
        }
        Ok(())
    }

    pub(super) fn str<'r>(&self, rec: &'r impl Fields, col: usize, pos: RowPos) -> Result<&'r str> {
        if let Some(t) = rec.text(col) {
            return Ok(t.trim_ascii());
        }
        std::str::from_utf8(rec.field(col).trim_ascii())
            .map_err(|_| self.err(pos, Some(col), "expected UTF-8 text"))
    }

    pub(super) fn point(
        &self,
        rec: &impl Fields,
        cols: CoordCols,
        t: &ToWgs84,
        pos: RowPos,
    ) -> Result<LonLat> {
        let num = |col: usize, what: &str| -> Result<f64> {
            if let Some(v) = rec.number(col) {
                return if v.is_finite() {
                    Ok(v)
                } else {
                    Err(self.err(pos, Some(col), format!("expected {what}, found {v}")))
                };
            }
            if let Some(v) = parse_plain_decimal(rec.field(col).trim_ascii()) {
                return Ok(v);
            }
            let s = self.str(rec, col, pos)?;
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| self.err(pos, Some(col), format!("expected {what}, found `{s}`")))
        };
        if cols.lonlat || t.crs().is_wgs84() {
            let lon = num(cols.x, "a longitude in degrees")?;
            let lat = num(cols.y, "a latitude in degrees")?;
            if !(-180.0..=180.0).contains(&lon) {
                return Err(self.err(
                    pos,
                    Some(cols.x),
                    format!("expected a longitude in [-180, 180], found {lon}"),
                ));
            }
            if !(-90.0..=90.0).contains(&lat) {
                return Err(self.err(
                    pos,
                    Some(cols.y),
                    format!("expected a latitude in [-90, 90], found {lat}"),
                ));
            }
            Ok(LonLat::new(lon, lat))
        } else {
            let x = num(cols.x, "a number (easting)")?;
            let y = num(cols.y, "a number (northing)")?;
            t.transform(x, y)
                .map_err(|e| self.err(pos, Some(cols.x), e.to_string()))
        }
    }
}

pub(super) fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

pub(super) fn is_geojson(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("geojson" | "json")
    )
}

/// A GeoPackage or GeoParquet file (self-describing: the CRS is the one
/// the file declares).
pub(super) fn is_table_format(path: &Path) -> bool {
    matches!(
        bacino_formats::Format::of(path),
        Ok(bacino_formats::Format::GeoPackage | bacino_formats::Format::GeoParquet)
    )
}

/// A record's name for messages: `label` with its number in place of
/// `{}` (a PostGIS key, in backticks), or after it (`row 5`).
pub(super) fn record_name(label: &str, n: impl std::fmt::Display) -> String {
    if label.contains("{}") {
        label.replace("{}", &n.to_string())
    } else {
        format!("{label} {n}")
    }
}

/// An error of the formats crate as an input error on `path`.
pub(super) fn format_error(path: &Path, e: bacino_formats::Error) -> Error {
    match e {
        bacino_formats::Error::Input { message, .. } => Error::input(Location::file(path), message),
        other => Error::input(Location::file(path), other.to_string()),
    }
}

/// The CRS a table format declares, when bacino knows it.
pub(super) fn declared_crs(path: &Path, epsg: u32) -> Result<Crs> {
    Crs::from_epsg(epsg).ok_or_else(|| Error::Crs {
        crs: format!("EPSG:{epsg}"),
        message: format!("{}: the CRS the file declares is unknown", path.display()),
    })
}

/// A GeoPackage or GeoParquet point file as a table whose first two
/// columns are the point's coordinates, in the CRS the file declares
/// (which wins over the manifest's `crs`), and what its records' numbers
/// count; `None` for other formats.
#[allow(clippy::type_complexity)]
pub(super) fn table_points(
    path: &Path,
) -> Result<Option<(Vec<String>, Vec<(ByteRecord, RowPos)>, Crs, String)>> {
    if !is_table_format(path) {
        return Ok(None);
    }
    let table = bacino_formats::read_points(path, None).map_err(|e| format_error(path, e))?;
    let crs = declared_crs(path, table.epsg.unwrap_or(4326))?;
    let locator = table.locator.clone();
    let (header, rows) = point_records(table);
    Ok(Some((header, rows, crs, locator)))
}

/// A point table as records whose first two fields are the coordinates.
#[allow(clippy::type_complexity)]
pub(super) fn point_records(
    table: bacino_formats::PointTable,
) -> (Vec<String>, Vec<(ByteRecord, RowPos)>) {
    let mut header = vec!["(geometry x)".to_owned(), "(geometry y)".to_owned()];
    header.extend(table.columns.iter().cloned());
    let rows = table
        .rows
        .into_iter()
        .map(|r| {
            let mut fields = Vec::with_capacity(header.len());
            fields.push(r.x.to_string());
            fields.push(r.y.to_string());
            fields.extend(r.values.into_iter().map(Option::unwrap_or_default));
            (
                ByteRecord::from(fields),
                RowPos {
                    line: None,
                    feature: usize::try_from(r.locator).ok(),
                },
            )
        })
        .collect();
    (header, rows)
}

pub(super) fn csv_reader(bytes: &[u8], headers: bool) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(headers)
        .flexible(true)
        .from_reader(bytes)
}

pub(super) fn csv_error(path: &Path, e: &csv::Error) -> Error {
    csv_error_with(path, e, e.position().map(csv::Position::line))
}

/// [`csv_error`] for a reader over `lines`' body, the line numbered from
/// the error's byte offset.
pub(crate) fn csv_error_at(path: &Path, e: &csv::Error, lines: &mut LineCounter<'_>) -> Error {
    let line = e.position().map(|p| lines.line_at(p.byte() as usize));
    csv_error_with(path, e, line)
}

fn csv_error_with(path: &Path, e: &csv::Error, line: Option<u64>) -> Error {
    let mut loc = Location::file(path);
    loc.line = line;
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => {
            loc.column = Some(err.field() + 1);
            "expected UTF-8 text".to_owned()
        }
        _ => format!("malformed CSV: {e}"),
    };
    Error::input(loc, message)
}

/// Reads the header line of a CSV file; returns the names and the byte
/// offset where records start.
pub(super) fn csv_header(path: &Path, bytes: &[u8]) -> Result<(Vec<String>, usize)> {
    let mut rdr = csv_reader(bytes, false);
    let mut rec = ByteRecord::new();
    let ok = rdr
        .read_byte_record(&mut rec)
        .map_err(|e| csv_error(path, &e))?;
    if !ok {
        let mut loc = Location::file(path);
        loc.line = Some(1);
        return Err(Error::input(
            loc,
            "expected a header line, found an empty file",
        ));
    }
    let mut names = Vec::with_capacity(rec.len());
    for (i, f) in rec.iter().enumerate() {
        let s = std::str::from_utf8(f).map_err(|_| {
            let mut loc = Location::file(path);
            loc.line = Some(1);
            loc.column = Some(i + 1);
            Error::input(loc, "expected UTF-8 text in the header")
        })?;
        names.push(s.trim_start_matches('\u{feff}').trim().to_owned());
    }
    let offset = rdr.position().byte() as usize;
    Ok((names, offset))
}

/// Turns a GeoJSON FeatureCollection of points into a table whose first two
/// columns are the point coordinates and the rest the union of properties.
pub(super) fn geojson_points(path: &Path, bytes: &[u8]) -> Result<(Vec<String>, Vec<ByteRecord>)> {
    let fc = parse_feature_collection(path, bytes)?;
    let mut header: Vec<String> = vec!["(geometry x)".into(), "(geometry y)".into()];
    let mut col_of: HashMap<String, usize> = HashMap::new();
    for f in &fc.features {
        for k in f.properties.iter().flat_map(|p| p.keys()) {
            if !col_of.contains_key(k) {
                col_of.insert(k.clone(), header.len());
                header.push(k.clone());
            }
        }
    }
    let mut rows = Vec::with_capacity(fc.features.len());
    for (i, f) in fc.features.iter().enumerate() {
        let bad = |m: String| {
            let mut loc = Location::file(path);
            loc.feature = Some(i);
            loc.field = Some("geometry".into());
            Error::input(loc, m)
        };
        let (x, y) = match f.geometry.as_ref().map(|g| &g.value) {
            Some(geojson::Value::Point(c)) if c.len() >= 2 => (c[0], c[1]),
            Some(other) => {
                return Err(bad(format!(
                    "expected a Point geometry, found {}",
                    other.type_name()
                )))
            }
            None => return Err(bad("expected a Point geometry, found none".into())),
        };
        let mut fields = vec![String::new(); header.len()];
        fields[0] = x.to_string();
        fields[1] = y.to_string();
        for (k, v) in f.properties.iter().flatten() {
            fields[col_of[k]] = json_scalar(v);
        }
        rows.push(ByteRecord::from(fields));
    }
    Ok((header, rows))
}

pub(super) fn json_scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(super) fn parse_feature_collection(
    path: &Path,
    bytes: &[u8],
) -> Result<geojson::FeatureCollection> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        let mut loc = Location::file(path);
        loc.line = Some(e.line() as u64);
        loc.column = Some(e.column());
        Error::input(loc, format!("malformed JSON: {e}"))
    })?;
    geojson::FeatureCollection::try_from(value).map_err(|e| {
        Error::input(
            Location::file(path),
            format!("expected a GeoJSON FeatureCollection: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_decimals_parse_exactly_as_the_standard_parser() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        for _ in 0..200_000 {
            let digits = rng.random_range(0..9);
            let x: f64 = rng.random_range(-200.0..200.0);
            let s = format!("{x:.digits$}");
            let want: f64 = s.parse().unwrap();
            assert_eq!(parse_plain_decimal(s.as_bytes()), Some(want), "{s}");
        }
        for s in [
            "1",
            "+2.5",
            "-0",
            "0.",
            ".5",
            "007.250",
            "123456789012345",
            "1234567.12345678",
            "12345678.1234567",
            "123456789.123456",
            "1.23456789012345",
            "99999999.9999999",
            "45.70648400",
            "9.953097",
        ] {
            let want: f64 = s.parse().unwrap();
            assert_eq!(parse_plain_decimal(s.as_bytes()), Some(want), "{s}");
        }
        for s in [
            "",
            "-",
            ".",
            "1e5",
            "1.2.3",
            "nan",
            "inf",
            " 1",
            "1234567890123456",
            "12345678.12345678",
            "1234567.123456789",
            "1/5",
            "1:5",
            "4 5",
            "4-5",
            "..",
            "+-1",
            "--1",
        ] {
            assert_eq!(parse_plain_decimal(s.as_bytes()), None, "{s}");
        }
        // Bytes whose SWAR add carries into the next byte.
        for b in [&b"1\xfa"[..], b"\xff9", b"9.\xfa1", b"\xfa"] {
            assert_eq!(parse_plain_decimal(b), None, "{b:?}");
        }
    }
}
