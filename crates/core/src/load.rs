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
}

/// The fields of one record, from the csv crate or from the fast splitter.
trait Fields {
    fn count(&self) -> usize;
    fn field(&self, i: usize) -> &[u8];
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
                    bounds: &bounds,
                },
            )?;
        }
        line_no += 1;
        start = end + 1;
    }
    Ok(())
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
            feature: pos.feature,
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
    let bytes = read_bytes(path)?;
    let (header, records, offset_line, geometry_xy): (
        Vec<String>,
        Vec<(ByteRecord, RowPos)>,
        _,
        _,
    ) = if is_geojson(path) {
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
    let t = Table {
        path,
        header,
        geometry_xy,
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

/// Residents parsed from one piece of a file.
struct ResidentsPart {
    residents: Residents,
    /// Where the part's rows came from, to locate a row in error messages.
    source: PartSource,
    /// (hash of id, row within the part), sorted once the part is complete.
    id_hashes: Vec<(u64, u32)>,
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
            id_hashes: Vec::with_capacity(rows),
        }
    }

    fn push(&self, part: &mut ResidentsPart, rec: &impl Fields, pos: RowPos) -> Result<()> {
        let t = self.t;
        let c = self.cols;
        t.check_len(rec, pos)?;
        let r = &mut part.residents;
        let id = t.str(rec, c.id, pos)?;
        if id.is_empty() {
            return Err(t.err(pos, Some(c.id), "expected a non-empty id"));
        }
        let location = t.point(rec, c.coords, self.transform, pos)?;
        let weight = match c.weight {
            None => 1.0,
            Some(col) => {
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
        r.municipality.push(opt(c.municipality)?);
        r.group.push(opt(c.group)?);
        for (k, (_, col)) in c.extra.iter().enumerate() {
            let v = t.str(rec, *col, pos)?;
            r.extra[k].1.push(Some(v));
        }
        part.id_hashes.push((hash_id(id), r.location.len() as u32));
        r.id_bytes.extend_from_slice(id.as_bytes());
        r.id_ends.push(r.id_bytes.len() as u64);
        r.location.push(location);
        r.unit_weights &= weight == 1.0;
        r.weight.push(weight);
        r.gp.push(gp);
        Ok(())
    }
}

/// Bytes per piece when a CSV file is parsed in parallel.
const CSV_PIECE_BYTES: usize = 4 << 20;

fn load_residents<E: Executor>(
    path: &Path,
    crs: Crs,
    facilities: &Facilities,
    exec: &E,
) -> Result<Residents> {
    let bytes = read_bytes(path)?;
    let transform = ToWgs84::new(crs)?;
    let (parts, body_start): (Vec<ResidentsPart>, usize) = if is_geojson(path) {
        let (header, rows) = geojson_points(path, &bytes)?;
        let t = Table {
            path,
            header,
            geometry_xy: true,
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
        (vec![part], 0)
    } else {
        let (header, start) = csv_header(path, &bytes)?;
        let t = Table {
            path,
            header,
            geometry_xy: false,
        };
        let cols = ResidentCols::new(&t)?;
        let p = ResidentParser {
            t: &t,
            cols: &cols,
            transform: &transform,
            facilities,
        };
        let body = &bytes[start..];
        let first_line = 1 + bytes[..start].iter().filter(|&&b| b == b'\n').count() as u64;
        // A quoted field may hold a newline, so only quote-free files are
        // split at line ends; others are parsed in one piece.
        let quoted = memchr::memchr(b'"', body).is_some();
        let pieces = if quoted {
            vec![(0, body.len(), first_line)]
        } else {
            split_lines(body, CSV_PIECE_BYTES, first_line)
        };
        let results = exec.map(pieces, |(from, to, line0)| -> Result<ResidentsPart> {
            let mut part = p.new_part((to - from) / 48 + 16);
            part.source = PartSource::Csv { from, to, line0 };
            if !quoted {
                for_each_plain_line(&body[from..to], line0, |line, rec| {
                    p.push(
                        &mut part,
                        rec,
                        RowPos {
                            line: Some(line),
                            feature: None,
                        },
                    )
                })?;
                return Ok(part);
            }
            let mut rdr = csv_reader(&body[from..to], false);
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
                    Ok(false) => return Ok(part),
                    Err(e) => {
                        let mut err = csv_error(path, &e);
                        if let Error::Input { location, .. } = &mut err {
                            location.line = location.line.map(|l| l + line0 - 1);
                        }
                        return Err(err);
                    }
                }
            }
        });
        (results.into_iter().collect::<Result<Vec<_>>>()?, start)
    };
    merge_parts(path, parts, &bytes[body_start..])
}

/// Splits `body` into `(from, to, first_line)` pieces of about `size` bytes,
/// each ending after a newline.
fn split_lines(body: &[u8], size: usize, first_line: u64) -> Vec<(usize, usize, u64)> {
    let mut pieces = Vec::new();
    let (mut from, mut line) = (0usize, first_line);
    while from < body.len() {
        let mut to = (from + size).min(body.len());
        if to < body.len() {
            to = memchr::memchr(b'\n', &body[to..]).map_or(body.len(), |i| to + i + 1);
        }
        pieces.push((from, to, line));
        line += memchr::memchr_iter(b'\n', &body[from..to]).count() as u64;
        from = to;
    }
    pieces
}

/// The rows of a part: a GeoJSON file (row = feature), or a byte range of a
/// CSV body whose first record starts on line `line0`.
#[derive(Debug, Clone, Copy)]
enum PartSource {
    GeoJson,
    Csv { from: usize, to: usize, line0: u64 },
}

impl PartSource {
    /// Position of row `row` of the part; CSV pieces are re-read, which is
    /// fine on this error-only path.
    fn locate(self, body: &[u8], row: u32) -> RowPos {
        match self {
            PartSource::GeoJson => RowPos {
                line: None,
                feature: Some(row as usize),
            },
            PartSource::Csv { from, to, line0 } => {
                let mut rdr = csv_reader(&body[from..to], false);
                let mut rec = ByteRecord::new();
                let mut line = None;
                for _ in 0..=row {
                    if !matches!(rdr.read_byte_record(&mut rec), Ok(true)) {
                        break;
                    }
                    line = rec.position().map(|p| line0 + p.line() - 1);
                }
                RowPos {
                    line,
                    feature: None,
                }
            }
        }
    }
}

fn merge_parts(path: &Path, parts: Vec<ResidentsPart>, body: &[u8]) -> Result<Residents> {
    if let Some(((pa, ra), (pb, rb))) = first_duplicate(&parts) {
        let pos = parts[pb].source.locate(body, rb);
        let mut loc = Location::file(path);
        loc.line = pos.line;
        loc.feature = pos.feature;
        loc.field = Some("id".into());
        let first_at = match parts[pa].source.locate(body, ra) {
            RowPos { line: Some(l), .. } => format!("line {l}"),
            RowPos {
                feature: Some(f), ..
            } => format!("feature #{f}"),
            _ => "before".into(),
        };
        return Err(Error::input(
            loc,
            format!(
                "duplicate resident id `{}` (first seen at {first_at})",
                parts[pb].residents.id(rb as usize)
            ),
        ));
    }
    if parts.len() == 1 {
        return Ok(parts
            .into_iter()
            .next()
            .map(|p| p.residents)
            .unwrap_or_default());
    }
    // Allocate once: growing by doubling would copy and fault pages repeatedly.
    let n: usize = parts.iter().map(|p| p.residents.len()).sum();
    let id_len: usize = parts.iter().map(|p| p.residents.id_bytes.len()).sum();
    let mut all = Residents {
        location: Vec::with_capacity(n),
        weight: Vec::with_capacity(n),
        id_bytes: Vec::with_capacity(id_len),
        id_ends: Vec::with_capacity(n),
        gp: Vec::with_capacity(n),
        unit_weights: true,
        ..Residents::default()
    };
    all.municipality.reserve(n);
    all.group.reserve(n);
    all.extra = parts
        .first()
        .map(|p| {
            p.residents
                .extra
                .iter()
                .map(|(name, _)| {
                    let mut c = Categorical::new();
                    c.reserve(n);
                    (name.clone(), c)
                })
                .collect()
        })
        .unwrap_or_default();
    for part in parts {
        let r = part.residents;
        let base = all.id_bytes.len() as u64;
        all.id_bytes.extend_from_slice(&r.id_bytes);
        all.id_ends.extend(r.id_ends.iter().map(|e| e + base));
        all.location.extend_from_slice(&r.location);
        all.weight.extend_from_slice(&r.weight);
        all.gp.extend_from_slice(&r.gp);
        all.unit_weights &= r.unit_weights;
        all.municipality.extend_from(&r.municipality);
        all.group.extend_from(&r.group);
        for (k, (_, c)) in r.extra.iter().enumerate() {
            all.extra[k].1.extend_from(c);
        }
    }
    Ok(all)
}

fn hash_id(id: &str) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    id.hash(&mut h);
    h.finish()
}

/// The earliest repeated id across parts, as ((part, row) of the first
/// occurrence, (part, row) of the repeat). Sorting 64-bit hashes (computed
/// in parallel while parsing) is several times faster than a hash set of
/// strings; equal hashes are confirmed on the strings.
fn first_duplicate(parts: &[ResidentsPart]) -> Option<((usize, u32), (usize, u32))> {
    let mut all: Vec<(u64, u32, u32)> =
        Vec::with_capacity(parts.iter().map(|p| p.id_hashes.len()).sum());
    for (k, p) in parts.iter().enumerate() {
        all.extend(p.id_hashes.iter().map(|&(h, row)| (h, k as u32, row)));
    }
    radsort::sort_by_key(&mut all, |e| e.0);
    let id = |(k, row): (usize, u32)| parts[k].residents.id(row as usize);
    let mut found: Option<((usize, u32), (usize, u32))> = None;
    for run in all.chunk_by(|a, b| a.0 == b.0).filter(|r| r.len() > 1) {
        let mut rows: Vec<(usize, u32)> = run.iter().map(|e| (e.1 as usize, e.2)).collect();
        rows.sort_unstable();
        for (i, &b) in rows.iter().enumerate() {
            if let Some(&a) = rows[..i].iter().find(|&&a| id(a) == id(b)) {
                if found.is_none_or(|(_, f)| b < f) {
                    found = Some((a, b));
                }
                break;
            }
        }
    }
    found
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
    let mut residents = load_residents(&m.residents_path, m.residents_crs, &facilities, exec)?;
    if let Some(areas) = &areas {
        fill_municipalities(&mut residents, areas, exec);
    }
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
    ))
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
