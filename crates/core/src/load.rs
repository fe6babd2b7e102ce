//! Loading a dataset directory: manifest, facilities, residents, areas.
//!
//! Every problem is reported with file, line (or GeoJSON feature), column and
//! what was expected. Nothing is kept from a load that fails.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use csv::ByteRecord;
use geo::{Coord, LineString, MultiPolygon, Polygon};
use std::hash::{Hash, Hasher};

use crate::areas::Areas;
use crate::crs::{Crs, ToWgs84};
use crate::dataset::Dataset;
use crate::error::{Error, Location, Result};
use crate::exec::Executor;
use crate::manifest::ResolvedManifest;
use crate::model::{
    Categorical, Facilities, Facility, FacilityId, FacilityStatus, LonLat, Residents, NONE,
};

/// Where a record came from: a CSV line or a GeoJSON feature.
#[derive(Debug, Clone, Copy)]
struct RowPos {
    line: Option<u64>,
    feature: Option<usize>,
}

/// A tabular view of a point file: column names, then records whose fields
/// are bytes. GeoJSON point files are turned into the same shape, with the
/// geometry's coordinates in the first two columns.
struct Table<'a> {
    path: &'a Path,
    header: Vec<String>,
    /// True when coordinates come from GeoJSON geometry (columns 0 and 1).
    geometry_xy: bool,
    /// For a table format (GeoPackage, GeoParquet): what a record's number
    /// counts, e.g. ``layer `residents`, fid`` (carried in `RowPos::feature`).
    records: Option<String>,
}

/// The fields of one record, from the csv crate or from the fast splitter.
trait Fields {
    fn count(&self) -> usize;
    fn field(&self, i: usize) -> &[u8];
    /// The field as text when the record is known to be UTF-8 already.
    fn text(&self, _i: usize) -> Option<&str> {
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
struct SplitLine<'a> {
    line: &'a [u8],
    /// The same line as text, when the whole body is valid UTF-8.
    text: Option<&'a str>,
    bounds: &'a [(usize, usize)],
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

/// Calls `f(line_number, fields)` for every non-empty line of a CSV body
/// that contains no quote character (so commas and newlines only delimit).
/// This is about twice as fast as the general csv reader on large files.
fn for_each_plain_line(
    body: &[u8],
    first_line: u64,
    mut f: impl FnMut(u64, &SplitLine) -> Result<()>,
) -> Result<()> {
    let mut bounds: Vec<(usize, usize)> = Vec::with_capacity(16);
    // One validation of the whole body instead of one per field; on
    // failure fields are checked one by one, to locate the bad one.
    let text = std::str::from_utf8(body).ok();
    let mut start = 0;
    let mut line_no = first_line;
    while start < body.len() {
        let end = memchr::memchr(b'\n', &body[start..]).map_or(body.len(), |i| start + i);
        let mut line = &body[start..end];
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        if !line.is_empty() {
            bounds.clear();
            let mut a = 0;
            for c in memchr::memchr_iter(b',', line) {
                bounds.push((a, c));
                a = c + 1;
            }
            bounds.push((a, line.len()));
            f(
                line_no,
                &SplitLine {
                    line,
                    text: text.map(|t| &t[start..start + line.len()]),
                    bounds: &bounds,
                },
            )?;
        }
        line_no += 1;
        start = end + 1;
    }
    Ok(())
}

/// Parses `[-+]digits[.digits]` with at most 15 significant digits: the
/// digits as an integer, divided by a power of ten. Both are exact doubles,
/// so the one division rounds correctly and the result equals
/// `str::parse::<f64>` (Clinger's fast path); anything else is `None`, for
/// the general parser.
fn parse_plain_decimal(b: &[u8]) -> Option<f64> {
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
struct CoordCols {
    x: usize,
    y: usize,
    /// `lon`/`lat` columns are always WGS84, whatever the file's CRS.
    lonlat: bool,
}

impl Table<'_> {
    fn find(&self, name: &str) -> Option<usize> {
        self.header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
    }

    fn location(&self, pos: RowPos, col: Option<usize>) -> Location {
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
                .map(|(r, n)| format!("{r} {n}")),
        }
    }

    fn err(&self, pos: RowPos, col: Option<usize>, message: impl Into<String>) -> Error {
        Error::input(self.location(pos, col), message)
    }

    fn header_err(&self, message: impl Into<String>) -> Error {
        let mut loc = Location::file(self.path);
        if !self.geometry_xy {
            loc.line = Some(1);
        }
        Error::input(loc, message)
    }

    fn require(&self, name: &str) -> Result<usize> {
        self.find(name).ok_or_else(|| {
            self.header_err(format!(
                "missing required column `{name}` (columns found: {})",
                self.header.join(", ")
            ))
        })
    }

    fn coord_cols(&self) -> Result<CoordCols> {
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

    fn check_len(&self, rec: &impl Fields, pos: RowPos) -> Result<()> {
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

    fn str<'r>(&self, rec: &'r impl Fields, col: usize, pos: RowPos) -> Result<&'r str> {
        if let Some(t) = rec.text(col) {
            return Ok(t.trim_ascii());
        }
        std::str::from_utf8(rec.field(col).trim_ascii())
            .map_err(|_| self.err(pos, Some(col), "expected UTF-8 text"))
    }

    fn point(
        &self,
        rec: &impl Fields,
        cols: CoordCols,
        t: &ToWgs84,
        pos: RowPos,
    ) -> Result<LonLat> {
        let num = |col: usize, what: &str| -> Result<f64> {
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

fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn is_geojson(path: &Path) -> bool {
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
fn is_table_format(path: &Path) -> bool {
    matches!(
        bacino_formats::Format::of(path),
        Ok(bacino_formats::Format::GeoPackage | bacino_formats::Format::GeoParquet)
    )
}

/// A GeoPackage or GeoParquet point file as a table whose first two
/// columns are the point's coordinates, in the CRS the file declares
/// (which wins over the manifest's `crs`), and what its records' numbers
/// count; `None` for other formats.
#[allow(clippy::type_complexity)]
fn table_points(
    path: &Path,
) -> Result<Option<(Vec<String>, Vec<(ByteRecord, RowPos)>, Crs, String)>> {
    if !is_table_format(path) {
        return Ok(None);
    }
    let table = bacino_formats::read_points(path, None).map_err(|e| match e {
        bacino_formats::Error::Input { message, .. } => Error::input(Location::file(path), message),
        other => Error::input(Location::file(path), other.to_string()),
    })?;
    let epsg = table.epsg.unwrap_or(4326);
    let crs = Crs {
        epsg: u16::try_from(epsg)
            .ok()
            .filter(|&c| crs_definitions::from_code(c).is_some())
            .ok_or_else(|| Error::Crs {
                crs: format!("EPSG:{epsg}"),
                message: format!("{}: the CRS the file declares is unknown", path.display()),
            })?,
    };
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
                    feature: Some(r.locator as usize),
                },
            )
        })
        .collect();
    Ok(Some((header, rows, crs, table.locator)))
}

fn csv_reader(bytes: &[u8], headers: bool) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(headers)
        .flexible(true)
        .from_reader(bytes)
}

fn csv_error(path: &Path, e: &csv::Error) -> Error {
    let mut loc = Location::file(path);
    if let Some(p) = e.position() {
        loc.line = Some(p.line());
    }
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
fn csv_header(path: &Path, bytes: &[u8]) -> Result<(Vec<String>, usize)> {
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
fn geojson_points(path: &Path, bytes: &[u8]) -> Result<(Vec<String>, Vec<ByteRecord>)> {
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

fn json_scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn parse_feature_collection(path: &Path, bytes: &[u8]) -> Result<geojson::FeatureCollection> {
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

// ---------------------------------------------------------------- facilities

fn parse_opt_u32(
    t: &Table,
    rec: &ByteRecord,
    col: Option<usize>,
    pos: RowPos,
) -> Result<Option<u32>> {
    let Some(col) = col else { return Ok(None) };
    let s = t.str(rec, col, pos)?;
    if s.is_empty() {
        return Ok(None);
    }
    // Accept "1500" and "1500.0" (spreadsheets and GeoJSON numbers).
    s.parse::<u32>()
        .ok()
        .or_else(|| {
            s.parse::<f64>()
                .ok()
                .filter(|v| v.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(v))
                .map(|v| v as u32)
        })
        .map(Some)
        .ok_or_else(|| {
            t.err(
                pos,
                Some(col),
                format!("expected a whole number ≥ 0, found `{s}`"),
            )
        })
}

fn load_facilities(path: &Path, crs: Crs) -> Result<Facilities> {
    let bytes = if is_table_format(path) {
        Vec::new()
    } else {
        read_bytes(path)?
    };
    let mut table_crs = None;
    let (header, records, offset_line, geometry_xy): (
        Vec<String>,
        Vec<(ByteRecord, RowPos)>,
        _,
        _,
    ) = if let Some((h, rows, c, r)) = table_points(path)? {
        table_crs = Some((c, r));
        (h, rows, 0, true)
    } else if is_geojson(path) {
        let (h, rows) = geojson_points(path, &bytes)?;
        let rows = rows
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                (
                    r,
                    RowPos {
                        line: None,
                        feature: Some(i),
                    },
                )
            })
            .collect();
        (h, rows, 0, true)
    } else {
        let (h, start) = csv_header(path, &bytes)?;
        let mut rdr = csv_reader(&bytes[start..], false);
        let header_lines = bytes[..start].iter().filter(|&&b| b == b'\n').count() as u64;
        let mut rows = Vec::new();
        let mut rec = ByteRecord::new();
        loop {
            match rdr.read_byte_record(&mut rec) {
                Ok(true) => {
                    let line = header_lines + rec.position().map_or(1, |p| p.line());
                    rows.push((
                        rec.clone(),
                        RowPos {
                            line: Some(line),
                            feature: None,
                        },
                    ));
                }
                Ok(false) => break,
                Err(e) => {
                    let mut err = csv_error(path, &e);
                    if let Error::Input { location, .. } = &mut err {
                        location.line = location.line.map(|l| l + header_lines);
                    }
                    return Err(err);
                }
            }
        }
        (h, rows, 1, false)
    };
    let _ = offset_line;
    let (crs, record_label) = match table_crs {
        Some((c, r)) => (c, Some(r)),
        None => (crs, None),
    };
    let t = Table {
        path,
        header,
        geometry_xy,
        records: record_label,
    };
    let transform = ToWgs84::new(crs)?;
    let id_c = t.require("id")?;
    let kind_c = t.require("kind")?;
    let coords = t.coord_cols()?;
    let name_c = t.find("name");
    let cap_c = t.find("capacity");
    let list_c = t.find("list_size");
    let status_c = t.find("status");
    let muni_c = t.find("municipality");
    let ad_c = t.find("ad");
    let aft_c = t.find("aft");
    let retire_c = t.find("retire_p");

    let mut items = Vec::with_capacity(records.len());
    let mut positions = Vec::with_capacity(records.len());
    for (rec, pos) in &records {
        let pos = *pos;
        t.check_len(rec, pos)?;
        let id = t.str(rec, id_c, pos)?;
        if id.is_empty() {
            return Err(t.err(pos, Some(id_c), "expected a non-empty id"));
        }
        let kind_s = t.str(rec, kind_c, pos)?;
        let kind = kind_s
            .parse()
            .map_err(|m: String| t.err(pos, Some(kind_c), m))?;
        let location = t.point(rec, coords, &transform, pos)?;
        let status = match status_c.map(|c| t.str(rec, c, pos)).transpose()? {
            None | Some("") => FacilityStatus::Active,
            Some(s) if s.eq_ignore_ascii_case("active") => FacilityStatus::Active,
            Some(s) if s.eq_ignore_ascii_case("ceased") => FacilityStatus::Ceased,
            Some(s) => {
                return Err(t.err(
                    pos,
                    status_c,
                    format!("expected `active` or `ceased`, found `{s}`"),
                ))
            }
        };
        let ad = match ad_c.map(|c| t.str(rec, c, pos)).transpose()? {
            None | Some("") => false,
            Some(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "y" | "t" => true,
                "false" | "0" | "no" | "n" | "f" => false,
                _ => {
                    return Err(t.err(
                        pos,
                        ad_c,
                        format!("expected `true` or `false`, found `{s}`"),
                    ))
                }
            },
        };
        let text = |c: Option<usize>| -> Result<Option<String>> {
            Ok(c.map(|c| t.str(rec, c, pos))
                .transpose()?
                .filter(|s| !s.is_empty())
                .map(str::to_owned))
        };
        items.push(Facility {
            id: FacilityId(id.to_owned()),
            kind,
            name: text(name_c)?,
            location,
            capacity: parse_opt_u32(&t, rec, cap_c, pos)?,
            list_size: parse_opt_u32(&t, rec, list_c, pos)?,
            status,
            municipality: text(muni_c)?,
            ad,
            aft: text(aft_c)?,
            retire_p: match retire_c.map(|c| t.str(rec, c, pos)).transpose()? {
                None | Some("") => None,
                Some(s) => Some(
                    s.parse::<f64>()
                        .ok()
                        .filter(|p| (0.0..=1.0).contains(p))
                        .ok_or_else(|| {
                            t.err(
                                pos,
                                retire_c,
                                format!("expected a probability from 0 to 1, found `{s}`"),
                            )
                        })?,
                ),
            },
        });
        positions.push(pos);
    }
    Facilities::new(items).map_err(|(i, id)| {
        t.err(
            positions[i],
            Some(id_c),
            format!("duplicate facility id `{id}`"),
        )
    })
}

// ----------------------------------------------------------------- residents

#[derive(Debug, Clone)]
struct ResidentCols {
    id: usize,
    coords: CoordCols,
    weight: Option<usize>,
    municipality: Option<usize>,
    gp_id: Option<usize>,
    group: Option<usize>,
    extra: Vec<(String, usize)>,
}

const RESERVED: [&str; 9] = [
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
    fn new(t: &Table) -> Result<Self> {
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
struct Row<'a> {
    id: &'a str,
    location: LonLat,
    weight: f64,
    gp: u32,
    municipality: Option<&'a str>,
    group: Option<&'a str>,
    /// Values of the extra columns (no allocation when there are none).
    extra: Vec<&'a str>,
}

/// Where parsed rows are stored: growing columns (one-piece loads) or the
/// final columns' slices for one piece of a file parsed in parallel.
trait RowSink {
    fn push_row(&mut self, row: Row<'_>);
}

/// (hash of id, global row) in [`ID_BUCKETS`] buckets by the hash's top
/// bits, so that duplicate ids are looked for bucket by bucket.
struct IdHashes(Vec<Vec<(u64, u32)>>);

impl IdHashes {
    fn with_capacity(rows: usize) -> Self {
        IdHashes(
            (0..ID_BUCKETS)
                .map(|_| Vec::with_capacity(rows / ID_BUCKETS + 8))
                .collect(),
        )
    }

    fn push(&mut self, id: &str, row: u32) {
        let h = hash_id(id);
        self.0[(h >> (64 - ID_BUCKET_BITS)) as usize].push((h, row));
    }
}

/// Residents of a whole file parsed in one piece (GeoJSON, quoted CSV).
struct ResidentsPart {
    residents: Residents,
    /// Where the rows came from, to locate a row in error messages.
    source: PartSource,
    id_hashes: IdHashes,
}

impl RowSink for ResidentsPart {
    fn push_row(&mut self, row: Row<'_>) {
        let r = &mut self.residents;
        self.id_hashes.push(row.id, r.location.len() as u32);
        r.id_bytes.extend_from_slice(row.id.as_bytes());
        r.id_ends.push(r.id_bytes.len() as u64);
        r.location.push(row.location);
        r.unit_weights &= row.weight == 1.0;
        r.weight.push(row.weight);
        r.gp.push(row.gp);
        r.municipality.push(row.municipality);
        r.group.push(row.group);
        for (k, v) in row.extra.into_iter().enumerate() {
            r.extra[k].1.push(Some(v));
        }
    }
}

/// A categorical column of one piece: codes into a dictionary local to
/// the piece (remapped to the file's dictionary afterwards).
struct PieceCodes<'a> {
    codes: &'a mut [u32],
    dict: Categorical,
    /// The last value and its code: input is often sorted by it.
    last: Option<(String, u32)>,
}

impl PieceCodes<'_> {
    fn set(&mut self, row: usize, value: Option<&str>) {
        self.codes[row] = match value {
            None | Some("") => NONE,
            Some(v) => match &self.last {
                Some((last, c)) if last == v => *c,
                _ => {
                    let c = self.dict.code_for(v);
                    self.last = Some((v.to_owned(), c));
                    c
                }
            },
        };
    }
}

/// The final columns' slices for the rows of one piece.
struct PieceSink<'a> {
    /// Global index of the piece's first row.
    row0: u32,
    rows: usize,
    location: &'a mut [LonLat],
    weight: &'a mut [f64],
    gp: &'a mut [u32],
    id_ends: &'a mut [u64],
    id_bytes: &'a mut [u8],
    /// Global offset of `id_bytes[0]`, and bytes written.
    id_base: u64,
    id_len: usize,
    /// Municipality, group, then the extra columns.
    categorical: Vec<PieceCodes<'a>>,
    unit_weights: bool,
    id_hashes: IdHashes,
}

impl RowSink for PieceSink<'_> {
    fn push_row(&mut self, row: Row<'_>) {
        let i = self.rows;
        self.id_hashes.push(row.id, self.row0 + i as u32);
        let id = row.id.as_bytes();
        self.id_bytes[self.id_len..self.id_len + id.len()].copy_from_slice(id);
        self.id_len += id.len();
        self.id_ends[i] = self.id_base + self.id_len as u64;
        self.location[i] = row.location;
        self.unit_weights &= row.weight == 1.0;
        self.weight[i] = row.weight;
        self.gp[i] = row.gp;
        let (m, rest) = self.categorical.split_at_mut(1);
        m[0].set(i, row.municipality);
        rest[0].set(i, row.group);
        for (k, v) in row.extra.into_iter().enumerate() {
            rest[1 + k].set(i, Some(v));
        }
        self.rows += 1;
    }
}

struct ResidentParser<'a> {
    t: &'a Table<'a>,
    cols: &'a ResidentCols,
    transform: &'a ToWgs84,
    facilities: &'a Facilities,
}

impl ResidentParser<'_> {
    fn new_part(&self, rows: usize) -> ResidentsPart {
        let mut residents = Residents {
            unit_weights: true,
            ..Residents::default()
        };
        residents.location.reserve(rows);
        residents.weight.reserve(rows);
        residents.gp.reserve(rows);
        residents.id_ends.reserve(rows);
        residents.id_bytes.reserve(rows * 10);
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
            id_hashes: IdHashes::with_capacity(rows),
        }
    }

    /// Validates one record and stores it in `sink`; nothing is stored when
    /// it is invalid.
    fn push(&self, sink: &mut impl RowSink, rec: &impl Fields, pos: RowPos) -> Result<()> {
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
            Some(col) => match parse_plain_decimal(rec.field(col).trim_ascii()) {
                Some(w) if w >= 0.0 => w,
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
            extra,
        });
        Ok(())
    }
}

/// Bytes per piece when a CSV file is parsed in parallel.
const CSV_PIECE_BYTES: u64 = 2 << 20;
/// Bytes read for the header line (more if it is longer).
const HEADER_PROBE_BYTES: u64 = 64 << 10;
/// Id hashes are grouped in this many buckets (by their top bits) so that
/// duplicate ids are searched for bucket by bucket, in parallel.
const ID_BUCKET_BITS: u32 = 6;
const ID_BUCKETS: usize = 1 << ID_BUCKET_BITS;

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads `len` bytes at `offset` (fewer at the end of the file).
fn read_range(
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
fn read_owned_lines(
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
struct PieceScan {
    /// Bytes of the file holding the piece's lines.
    from: u64,
    to: u64,
    /// Number of the piece's first line (set once all pieces are scanned).
    line0: u64,
    newlines: u64,
    /// Non-empty lines (records), and the bytes of their ids.
    rows: usize,
    id_bytes: usize,
}

/// Why a piece was not scanned.
enum ScanError {
    /// A quote character: the file needs the general CSV reader.
    Quoted,
    Io(std::io::Error),
}

fn scan_csv_piece(
    path: &Path,
    body_start: u64,
    (from, to): (u64, u64),
    file_len: u64,
    id_col: usize,
) -> std::result::Result<PieceScan, ScanError> {
    let (body, at) =
        read_owned_lines(path, body_start, from, to, file_len).map_err(ScanError::Io)?;
    if memchr::memchr(b'"', &body).is_some() {
        return Err(ScanError::Quoted);
    }
    let mut scan = PieceScan {
        from: at,
        to: at + body.len() as u64,
        line0: 0,
        newlines: 0,
        rows: 0,
        id_bytes: 0,
    };
    // The lines as `for_each_plain_line` sees them, without splitting
    // every field: only the id's.
    let mut start = 0;
    while start < body.len() {
        let end = memchr::memchr(b'\n', &body[start..]).map_or(body.len(), |i| start + i);
        scan.newlines += u64::from(end < body.len());
        let mut line = &body[start..end];
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        if !line.is_empty() {
            scan.rows += 1;
            let mut field = Some(line);
            for _ in 0..id_col {
                field = field.and_then(|f| memchr::memchr(b',', f).map(|i| &f[i + 1..]));
            }
            if let Some(f) = field {
                let end = memchr::memchr(b',', f).unwrap_or(f.len());
                scan.id_bytes += f[..end].trim_ascii().len();
            }
        }
        start = end + 1;
    }
    Ok(scan)
}

fn load_residents<E: Executor>(
    path: &Path,
    crs: Crs,
    facilities: &Facilities,
    exec: &E,
) -> Result<Residents> {
    if let Some((header, rows, crs, records)) = table_points(path)? {
        let transform = ToWgs84::new(crs)?;
        let t = Table {
            path,
            header,
            geometry_xy: true,
            records: Some(records),
        };
        let cols = ResidentCols::new(&t)?;
        let p = ResidentParser {
            t: &t,
            cols: &cols,
            transform: &transform,
            facilities,
        };
        let mut part = p.new_part(rows.len());
        for (rec, pos) in &rows {
            p.push(&mut part, rec, *pos)?;
        }
        return finish_part(path, part, exec);
    }
    let transform = ToWgs84::new(crs)?;
    if is_geojson(path) {
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
            transform: &transform,
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
        return finish_part(path, part, exec);
    }

    // The header, from the start of the file.
    let mut file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let file_len = file.metadata().map_err(|e| io_error(path, e))?.len();
    let mut probe = Vec::new();
    read_range(&mut file, 0, HEADER_PROBE_BYTES.min(file_len), &mut probe)
        .map_err(|e| io_error(path, e))?;
    drop(file);
    let header_complete = probe.len() as u64 == file_len || memchr::memchr(b'\n', &probe).is_some();
    if !header_complete || memchr::memchr(b'"', &probe).is_some() {
        return load_residents_csv_serial(path, &transform, facilities, exec);
    }
    let (header, start) = csv_header(path, &probe)?;
    let header_lines = probe[..start].iter().filter(|&&b| b == b'\n').count() as u64;
    drop(probe);
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

    // Pass 1, in parallel: where each piece's lines are, how many rows and
    // id bytes they hold. The whole file is never held in memory.
    let start = start as u64;
    let ranges: Vec<(u64, u64)> = (0..(file_len - start).div_ceil(CSV_PIECE_BYTES))
        .map(|k| {
            let from = start + k * CSV_PIECE_BYTES;
            (from, (from + CSV_PIECE_BYTES).min(file_len))
        })
        .collect();
    let mut scans = Vec::with_capacity(ranges.len());
    let mut line = header_lines + 1;
    for scan in exec.map(ranges, |r| {
        scan_csv_piece(path, start, r, file_len, cols.id)
    }) {
        match scan {
            Ok(mut s) => {
                s.line0 = line;
                line += s.newlines;
                scans.push(s);
            }
            Err(ScanError::Quoted) => {
                return load_residents_csv_serial(path, &transform, facilities, exec)
            }
            Err(ScanError::Io(e)) => return Err(io_error(path, e)),
        }
    }

    // Pass 2, in parallel: every piece parses straight into its slice of
    // the final columns (no per-piece columns to concatenate afterwards).
    let n: usize = scans.iter().map(|s| s.rows).sum();
    let mut location = vec![LonLat::new(0.0, 0.0); n];
    let mut weight = vec![0.0f64; n];
    let mut gp = vec![0u32; n];
    let mut id_ends = vec![0u64; n];
    let mut id_bytes = vec![0u8; scans.iter().map(|s| s.id_bytes).sum()];
    let mut codes: Vec<Vec<u32>> = (0..2 + cols.extra.len()).map(|_| vec![0u32; n]).collect();
    let mut jobs = Vec::with_capacity(scans.len());
    {
        let (mut loc, mut w, mut g) = (&mut location[..], &mut weight[..], &mut gp[..]);
        let (mut ends, mut bytes) = (&mut id_ends[..], &mut id_bytes[..]);
        let mut cats: Vec<&mut [u32]> = codes.iter_mut().map(|c| &mut c[..]).collect();
        let (mut row0, mut id_base) = (0usize, 0u64);
        for s in &scans {
            fn take<'a, T>(rest: &mut &'a mut [T], k: usize) -> &'a mut [T] {
                let (head, tail) = std::mem::take(rest).split_at_mut(k);
                *rest = tail;
                head
            }
            let sink = PieceSink {
                row0: row0 as u32,
                rows: 0,
                location: take(&mut loc, s.rows),
                weight: take(&mut w, s.rows),
                gp: take(&mut g, s.rows),
                id_ends: take(&mut ends, s.rows),
                id_bytes: take(&mut bytes, s.id_bytes),
                id_base,
                id_len: 0,
                categorical: cats
                    .iter_mut()
                    .map(|c| PieceCodes {
                        codes: take(c, s.rows),
                        dict: Categorical::new(),
                        last: None,
                    })
                    .collect(),
                unit_weights: true,
                id_hashes: IdHashes::with_capacity(s.rows),
            };
            jobs.push((*s, sink));
            row0 += s.rows;
            id_base += s.id_bytes as u64;
        }
    }
    let results = exec.map(jobs, |(s, mut sink)| -> Result<PieceOut> {
        let mut body = Vec::new();
        std::fs::File::open(path)
            .and_then(|mut f| read_range(&mut f, s.from, s.to - s.from, &mut body))
            .map_err(|e| io_error(path, e))?;
        for_each_plain_line(&body, s.line0, |line, rec| {
            p.push(
                &mut sink,
                rec,
                RowPos {
                    line: Some(line),
                    feature: None,
                },
            )
        })?;
        debug_assert!(sink.rows == s.rows && sink.id_len == s.id_bytes);
        Ok(PieceOut {
            unit_weights: sink.unit_weights,
            dicts: sink.categorical.into_iter().map(|c| c.dict).collect(),
            id_hashes: sink.id_hashes,
        })
    });
    let outs = results.into_iter().collect::<Result<Vec<_>>>()?;

    // One dictionary per categorical column; pieces' codes remapped to it.
    let mut categoricals: Vec<Categorical> = Vec::with_capacity(codes.len());
    for (k, mut column) in codes.into_iter().enumerate() {
        let mut all = Categorical::new();
        let mut row0 = 0;
        for (s, out) in scans.iter().zip(&outs) {
            let map: Vec<u32> = out.dicts[k]
                .values()
                .iter()
                .map(|v| all.code_for(v))
                .collect();
            for c in &mut column[row0..row0 + s.rows] {
                if *c != NONE {
                    *c = map[*c as usize];
                }
            }
            row0 += s.rows;
        }
        all.set_codes(column);
        categoricals.push(all);
    }
    let mut categoricals = categoricals.into_iter();
    let residents = Residents {
        location,
        weight,
        id_bytes,
        id_ends,
        municipality: categoricals.next().unwrap_or_default(),
        group: categoricals.next().unwrap_or_default(),
        gp,
        extra: cols
            .extra
            .iter()
            .map(|(name, _)| name.clone())
            .zip(categoricals)
            .collect(),
        unit_weights: outs.iter().all(|o| o.unit_weights),
    };
    let hashes: Vec<IdHashes> = outs.into_iter().map(|o| o.id_hashes).collect();
    check_unique_ids(path, &residents, &hashes, exec, |row| {
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
    Ok(residents)
}

/// What a piece leaves besides the rows written into the final columns.
struct PieceOut {
    unit_weights: bool,
    /// Local dictionaries of the categorical columns.
    dicts: Vec<Categorical>,
    id_hashes: IdHashes,
}

/// The general path for CSV files with quotes (a quoted field may hold a
/// newline, so the file cannot be split at line ends): one csv reader.
fn load_residents_csv_serial<E: Executor>(
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
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {
                let line = line0 + rec.position().map_or(1, |p| p.line()) - 1;
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
            Err(e) => {
                let mut err = csv_error(path, &e);
                if let Error::Input { location, .. } = &mut err {
                    location.line = location.line.map(|l| l + line0 - 1);
                }
                return Err(err);
            }
        }
    }
    drop(bytes);
    finish_part(path, part, exec)
}

/// The residents of a one-piece load, once their ids are checked.
fn finish_part<E: Executor>(path: &Path, part: ResidentsPart, exec: &E) -> Result<Residents> {
    let source = part.source;
    check_unique_ids(
        path,
        &part.residents,
        std::slice::from_ref(&part.id_hashes),
        exec,
        |row| source.locate(path, row),
    )?;
    Ok(part.residents)
}

/// The rows of a part: a GeoJSON file (row = feature), or the bytes
/// `[from, to)` of a CSV file whose first record starts on line `line0`.
#[derive(Debug, Clone, Copy)]
enum PartSource {
    GeoJson,
    Csv { from: u64, to: u64, line0: u64 },
}

impl PartSource {
    /// Position of row `row` of the part; CSV pieces are read again, which
    /// is fine on this error-only path.
    fn locate(self, path: &Path, row: u32) -> RowPos {
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
                    for _ in 0..=row {
                        if !matches!(rdr.read_byte_record(&mut rec), Ok(true)) {
                            break;
                        }
                        line = rec.position().map(|p| line0 + p.line() - 1);
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

/// Fails on the first repeated id (in row order), naming both rows.
fn check_unique_ids<E: Executor>(
    path: &Path,
    residents: &Residents,
    hashes: &[IdHashes],
    exec: &E,
    locate: impl Fn(u32) -> RowPos,
) -> Result<()> {
    let Some((first, repeat)) = first_duplicate(residents, hashes, exec) else {
        return Ok(());
    };
    let pos = locate(repeat);
    let mut loc = Location::file(path);
    loc.line = pos.line;
    loc.feature = pos.feature;
    loc.field = Some("id".into());
    let first_at = match locate(first) {
        RowPos { line: Some(l), .. } => format!("line {l}"),
        RowPos {
            feature: Some(f), ..
        } => format!("feature #{f}"),
        _ => "before".into(),
    };
    Err(Error::input(
        loc,
        format!(
            "duplicate resident id `{}` (first seen at {first_at})",
            residents.id(repeat as usize)
        ),
    ))
}

fn hash_id(id: &str) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    id.hash(&mut h);
    h.finish()
}

/// The earliest repeated id, as (row of its first occurrence, row of the
/// repeat). The 64-bit hashes computed while parsing are sorted bucket by
/// bucket (in parallel); equal hashes are confirmed on the strings.
fn first_duplicate<E: Executor>(
    residents: &Residents,
    hashes: &[IdHashes],
    exec: &E,
) -> Option<(u32, u32)> {
    let found = exec.map((0..ID_BUCKETS).collect(), |b| {
        let mut all: Vec<(u64, u32)> =
            Vec::with_capacity(hashes.iter().map(|h| h.0[b].len()).sum());
        for h in hashes {
            all.extend_from_slice(&h.0[b]);
        }
        all.sort_unstable();
        let mut found: Option<(u32, u32)> = None;
        for run in all.chunk_by(|a, b| a.0 == b.0).filter(|r| r.len() > 1) {
            // Sorted by row within the run.
            for (i, &(_, b)) in run.iter().enumerate() {
                let id_b = residents.id(b as usize);
                if let Some(&(_, a)) = run[..i]
                    .iter()
                    .find(|&&(_, a)| residents.id(a as usize) == id_b)
                {
                    if found.is_none_or(|(_, f)| b < f) {
                        found = Some((a, b));
                    }
                    break;
                }
            }
        }
        found
    });
    found.into_iter().flatten().min_by_key(|&(_, b)| b)
}

// --------------------------------------------------------------------- areas

fn load_areas(
    path: &Path,
    crs: Crs,
    id_property: &str,
    name_property: Option<&str>,
) -> Result<Areas> {
    let bytes = read_bytes(path)?;
    let fc = parse_feature_collection(path, &bytes)?;
    let transform = ToWgs84::new(crs)?;
    let mut ids = Vec::new();
    let mut names = Vec::new();
    let mut geometry = Vec::new();
    let mut seen = HashMap::new();
    for (i, f) in fc.features.iter().enumerate() {
        let bad = |field: &str, m: String| {
            let mut loc = Location::file(path);
            loc.feature = Some(i);
            loc.field = Some(field.to_owned());
            Error::input(loc, m)
        };
        let prop = |k: &str| {
            f.properties
                .as_ref()
                .and_then(|p| p.get(k))
                .map(json_scalar)
        };
        let id = prop(id_property).filter(|s| !s.is_empty()).ok_or_else(|| {
            bad(
                id_property,
                format!("expected property `{id_property}` (the area id)"),
            )
        })?;
        if let Some(prev) = seen.insert(id.clone(), i) {
            return Err(bad(
                id_property,
                format!("duplicate area id `{id}` (first in feature #{prev})"),
            ));
        }
        let to_ring = |ring: &Vec<Vec<f64>>| -> Result<LineString<f64>> {
            ring.iter()
                .map(|c| {
                    if c.len() < 2 {
                        return Err(bad("geometry", "expected [x, y] positions".into()));
                    }
                    let p = transform
                        .transform(c[0], c[1])
                        .map_err(|e| bad("geometry", e.to_string()))?;
                    Ok(Coord { x: p.lon, y: p.lat })
                })
                .collect()
        };
        let to_poly = |rings: &Vec<Vec<Vec<f64>>>| -> Result<Polygon<f64>> {
            let mut it = rings.iter();
            let ext = it.next().ok_or_else(|| {
                bad(
                    "geometry",
                    "expected a polygon with an exterior ring".into(),
                )
            })?;
            Ok(Polygon::new(
                to_ring(ext)?,
                it.map(to_ring).collect::<Result<_>>()?,
            ))
        };
        let mp = match f.geometry.as_ref().map(|g| &g.value) {
            Some(geojson::Value::Polygon(p)) => MultiPolygon(vec![to_poly(p)?]),
            Some(geojson::Value::MultiPolygon(ps)) => {
                MultiPolygon(ps.iter().map(to_poly).collect::<Result<_>>()?)
            }
            Some(other) => {
                return Err(bad(
                    "geometry",
                    format!(
                        "expected a Polygon or MultiPolygon, found {}",
                        other.type_name()
                    ),
                ))
            }
            None => {
                return Err(bad(
                    "geometry",
                    "expected a Polygon or MultiPolygon, found none".into(),
                ))
            }
        };
        ids.push(id);
        names.push(name_property.and_then(prop).filter(|s| !s.is_empty()));
        geometry.push(mp);
    }
    Ok(Areas::new(ids, names, geometry))
}

// ------------------------------------------------------------------- dataset

/// Loads a dataset directory (or a manifest file), running independent
/// parsing work through `exec`.
pub fn load_dataset<E: Executor>(dir: &Path, exec: &E) -> Result<Dataset> {
    let m = ResolvedManifest::read(dir)?;
    let stamps = crate::version::Stamps::of(&m);
    let facilities = load_facilities(&m.facilities_path, m.facilities_crs)?;
    let areas = match &m.areas {
        None => None,
        Some((path, crs, src)) => Some(load_areas(
            path,
            *crs,
            &src.id_property,
            src.name_property.as_deref(),
        )?),
    };
    if let Some(specs) = &m.network {
        let path = &specs[0].path;
        if !path.is_file() {
            let mut loc = crate::error::Location::file(&m.path);
            loc.field = Some("network.path".into());
            return Err(Error::input(
                loc,
                format!(
                    "expected an OpenStreetMap .osm.pbf extract, found no file at {}",
                    path.display()
                ),
            ));
        }
    }
    let mut residents = load_residents(&m.residents_path, m.residents_crs, &facilities, exec)?;
    if let Some(areas) = &areas {
        fill_municipalities(&mut residents, areas, exec);
    }
    let network = m.network.clone();
    let costs = match &m.costs {
        None => None,
        Some((path, unit)) => Some(crate::costs::CostTable::load(
            path,
            *unit,
            &residents,
            &facilities,
        )?),
    };
    let agendas = match &m.agendas {
        None => None,
        Some(path) => Some(crate::agendas::Agendas::load(path, &facilities)?),
    };
    // The version of exactly the bytes loaded: no file changed from before
    // the load to after the hash.
    let version = crate::version::version_of(&m)?;
    crate::version::Stamps::of(&m).unchanged_since(&stamps)?;
    Ok(Dataset::new(
        m.manifest.name.clone(),
        m.manifest
            .title
            .clone()
            .unwrap_or_else(|| m.manifest.name.clone()),
        PathBuf::from(&m.path),
        facilities,
        residents,
        areas,
    )
    .with_network(network)
    .with_costs(costs)
    .with_agendas(agendas)
    .with_version(version))
}

/// Residents without a municipality get the id of the area they lie in.
fn fill_municipalities<E: Executor>(residents: &mut Residents, areas: &Areas, exec: &E) {
    let missing: Vec<usize> = (0..residents.len())
        .filter(|&i| residents.municipality.codes()[i] == NONE)
        .collect();
    if missing.is_empty() {
        return;
    }
    let locs = &residents.location;
    let ranges = crate::exec::chunk_ranges(missing.len(), 65_536);
    let found: Vec<Vec<u32>> = exec.map(ranges, |r| {
        missing[r].iter().map(|&i| areas.locate(locs[i])).collect()
    });
    let codes: Vec<u32> = (0..areas.len())
        .map(|a| residents.municipality.code_for(areas.id(a)))
        .collect();
    for (&row, area) in missing.iter().zip(found.into_iter().flatten()) {
        if area != NONE {
            residents.municipality.set_code(row, codes[area as usize]);
        }
    }
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
        for s in ["1", "+2.5", "-0", "0.", ".5", "007.250", "123456789012345"] {
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
        ] {
            assert_eq!(parse_plain_decimal(s.as_bytes()), None, "{s}");
        }
    }
}
