//! Point tables (residents, facilities) read from any input format, with
//! each row's place in the file for error messages; and point layers
//! written as CSV.

use std::path::Path;

use geo_types::{Geometry, Point};

use crate::{Error, Format, Layer, Result, Values};

/// One point and its attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct PointRow {
    /// Where it is in the file: a line (CSV), a feature index (GeoJSON),
    /// a feature id (GeoPackage), a row (GeoParquet); see
    /// [`PointTable::locator`].
    pub locator: i64,
    /// x (longitude in EPSG:4326).
    pub x: f64,
    /// y (latitude in EPSG:4326).
    pub y: f64,
    /// One value per column; `None` is no value.
    pub values: Vec<Option<String>>,
}

/// A table of points as read, in the file's CRS.
#[derive(Debug, Clone, PartialEq)]
pub struct PointTable {
    /// The layer's name (the file stem for single-layer formats).
    pub layer: String,
    /// What [`PointRow::locator`] counts, for messages: `line`, `feature`,
    /// ``layer `x`, fid``, `row`.
    pub locator: String,
    /// The attribute columns (not the coordinates).
    pub columns: Vec<String>,
    /// The rows.
    pub rows: Vec<PointRow>,
    /// The CRS the file declares (EPSG code); `None` when it declares
    /// none (CSV `x`,`y`: the caller knows).
    pub epsg: Option<u32>,
}

/// Reads the points of `path` by its extension: GeoPackage (`layer`, or
/// its only feature layer), GeoParquet, GeoJSON, or CSV with `lon`,`lat`
/// (EPSG:4326) or `x`,`y` columns (CRS left to the caller).
pub fn read_points(path: &Path, layer: Option<&str>) -> Result<PointTable> {
    match Format::of(path)? {
        Format::GeoPackage | Format::GeoParquet => {
            crate::PointChunks::open(path, layer)?.read_all()
        }
        Format::GeoJson => read_geojson(path),
        Format::Csv => read_csv(path),
        Format::FlatGeobuf => Err(Error::Format {
            path: path.to_owned(),
            message: "FlatGeobuf is written, not read, by bacino: use .gpkg, .parquet, .geojson \
                      or .csv for points"
                .into(),
        }),
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn read_geojson(path: &Path) -> Result<PointTable> {
    let bad = |message: String| Error::Input {
        path: path.to_owned(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let fc: geojson::FeatureCollection = text
        .parse()
        .map_err(|e| bad(format!("not a GeoJSON FeatureCollection: {e}")))?;
    let mut columns: Vec<String> = Vec::new();
    for f in &fc.features {
        for k in f.properties.iter().flat_map(|p| p.keys()) {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
    }
    let mut rows = Vec::with_capacity(fc.features.len());
    for (i, f) in fc.features.iter().enumerate() {
        let (x, y) = match f.geometry.as_ref().map(|g| &g.value) {
            Some(geojson::Value::Point(c)) if c.len() >= 2 => (c[0], c[1]),
            Some(other) => {
                return Err(bad(format!(
                    "feature {i}: expected a Point geometry, found {}",
                    other.type_name()
                )))
            }
            None => {
                return Err(bad(format!(
                    "feature {i}: expected a Point geometry, found none"
                )))
            }
        };
        let props = f.properties.as_ref();
        let values = columns
            .iter()
            .map(|c| {
                props.and_then(|p| p.get(c)).and_then(|v| match v {
                    serde_json::Value::Null => None,
                    serde_json::Value::String(s) => Some(s.clone()),
                    other => Some(other.to_string()),
                })
            })
            .collect();
        rows.push(PointRow {
            locator: i as i64,
            x,
            y,
            values,
        });
    }
    Ok(PointTable {
        layer: stem(path),
        locator: "feature".into(),
        columns,
        rows,
        epsg: Some(4326),
    })
}

fn read_csv(path: &Path) -> Result<PointTable> {
    let bad = |message: String| Error::Input {
        path: path.to_owned(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let mut rdr = csv::ReaderBuilder::new().from_reader(bytes.as_slice());
    let mut lines = crate::LineCounter::new(&bytes, 1);
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| bad(e.to_string()))?
        .iter()
        .map(str::to_owned)
        .collect();
    let find = |n: &str| header.iter().position(|h| h == n);
    let (xi, yi, epsg) = match (find("lon"), find("lat"), find("x"), find("y")) {
        (Some(x), Some(y), _, _) => (x, y, Some(4326)),
        (_, _, Some(x), Some(y)) => (x, y, None),
        _ => return Err(bad("line 1: expected columns `lon`,`lat` or `x`,`y`".into())),
    };
    let columns: Vec<String> = header
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != xi && *i != yi)
        .map(|(_, h)| h.clone())
        .collect();
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| bad(e.to_string()))?;
        let line = lines.line_at(rec.position().map_or(0, |p| p.byte() as usize)) as i64;
        let num = |i: usize| -> Result<f64> {
            let v = rec.get(i).unwrap_or("");
            v.trim().parse().map_err(|_| {
                bad(format!(
                    "line {line}, column {} (`{}`): expected a number, found `{v}`",
                    i + 1,
                    header[i]
                ))
            })
        };
        let (x, y) = (num(xi)?, num(yi)?);
        let values = (0..header.len())
            .filter(|i| *i != xi && *i != yi)
            .map(|i| rec.get(i).filter(|v| !v.is_empty()).map(str::to_owned))
            .collect();
        rows.push(PointRow {
            locator: line,
            x,
            y,
            values,
        });
    }
    Ok(PointTable {
        layer: stem(path),
        locator: "line".into(),
        columns,
        rows,
        epsg,
    })
}

impl Layer {
    /// A point layer from a table, its points mapped to WGS84 by `to_wgs84`
    /// (the caller's CRS transformation). A column is numbers when every
    /// value reads back as written (`016024`, an ISTAT code, stays text),
    /// booleans when every value is `true` or `false`, text otherwise.
    pub fn from_points(
        table: &PointTable,
        mut to_wgs84: impl FnMut(f64, f64) -> (f64, f64),
    ) -> Layer {
        let geometries = table
            .rows
            .iter()
            .map(|r| {
                let (x, y) = to_wgs84(r.x, r.y);
                Some(Geometry::Point(Point::new(x, y)))
            })
            .collect();
        let columns = table
            .columns
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let cells = || table.rows.iter().filter_map(|r| r.values[j].as_deref());
                let numeric = cells().all(|v| {
                    v.parse::<f64>()
                        .is_ok_and(|x| x.is_finite() && x.to_string() == v)
                });
                let boolean = cells().all(|v| v == "true" || v == "false");
                let any = cells().next().is_some();
                let values = if any && numeric {
                    Values::Number(
                        table
                            .rows
                            .iter()
                            .map(|r| r.values[j].as_deref().and_then(|v| v.parse().ok()))
                            .collect(),
                    )
                } else if any && boolean {
                    Values::Bool(
                        table
                            .rows
                            .iter()
                            .map(|r| r.values[j].as_deref().map(|v| v == "true"))
                            .collect(),
                    )
                } else {
                    Values::Text(table.rows.iter().map(|r| r.values[j].clone()).collect())
                };
                (name.clone(), values)
            })
            .collect();
        Layer {
            name: table.layer.clone(),
            geometries,
            columns,
        }
    }
}

/// Writes a point layer as CSV: `lon,lat`, then the columns.
pub(crate) fn write_csv(layer: &Layer, path: &Path) -> std::result::Result<(), String> {
    let mut w = csv::Writer::from_path(path).map_err(|e| e.to_string())?;
    let mut header = vec!["lon".to_owned(), "lat".to_owned()];
    header.extend(layer.columns.iter().map(|(n, _)| n.clone()));
    w.write_record(&header).map_err(|e| e.to_string())?;
    for i in 0..layer.len() {
        let Some(Geometry::Point(p)) = &layer.geometries[i] else {
            return Err(format!(
                "feature {i} is not a point: CSV holds points only (use .gpkg or .parquet)"
            ));
        };
        let mut rec = vec![p.x().to_string(), p.y().to_string()];
        rec.extend(
            layer
                .columns
                .iter()
                .map(|(_, v)| v.text(i).unwrap_or_default()),
        );
        w.write_record(&rec).map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())
}
