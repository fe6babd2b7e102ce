//! OGC GeoPackage 1.2 (an SQLite file): one feature table in EPSG:4326,
//! written with its `gpkg_*` tables by hand; point layers read back, in
//! whatever CRS they declare.

use std::path::Path;

use rusqlite::{params, Connection, OpenFlags};

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array};

use crate::chunks::{key_chunks, Column, PointChunk, PointChunks, Source, KEY_BLOCK_BITS};
use crate::wkb::{self, Bbox};
use crate::{Error, Layer, Result, Values};

/// `PRAGMA application_id` of a GeoPackage: "GPKG".
const APPLICATION_ID: i32 = 0x4750_4B47;
/// `PRAGMA user_version` of GeoPackage 1.2.0.
const USER_VERSION: i32 = 10200;

const WGS84_WKT: &str = "GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\",6378137,298.257223563,AUTHORITY[\"EPSG\",\"7030\"]],AUTHORITY[\"EPSG\",\"6326\"]],PRIMEM[\"Greenwich\",0,AUTHORITY[\"EPSG\",\"8901\"]],UNIT[\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]],AUTHORITY[\"EPSG\",\"4326\"]]";

/// The core tables of a GeoPackage (spec. 1.2, §1.1.2–1.1.3, §2.1.5).
const SCHEMA: &str = "
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
";

fn quote(id: &str) -> String {
    format!("\"{}\"", id.replace('"', "\"\""))
}

/// Writes `layer` as a new GeoPackage at `path`.
pub(crate) fn write(layer: &Layer, path: &Path) -> std::result::Result<(), String> {
    let mut conn = Connection::open(path).map_err(|e| e.to_string())?;
    let table = layer.table_name();
    let e = |e: rusqlite::Error| e.to_string();
    conn.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(e)?;
    conn.pragma_update(None, "user_version", USER_VERSION)
        .map_err(e)?;
    let tx = conn.transaction().map_err(e)?;
    tx.execute_batch(SCHEMA).map_err(e)?;
    tx.execute(
        "INSERT INTO gpkg_spatial_ref_sys VALUES
           ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
           ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
           ('WGS 84 geodetic', 4326, 'EPSG', 4326, ?1, 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid')",
        [WGS84_WKT],
    )
    .map_err(e)?;
    // One geometry type for the layer when every feature shares it.
    let mut types = layer
        .geometries
        .iter()
        .flatten()
        .map(|g| wkb::type_name(g).0);
    let first = types.next();
    let geometry_type = match first {
        Some(t) if types.all(|u| u == t) => t,
        _ => "GEOMETRY",
    };
    let mut columns = vec![
        "fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL".to_owned(),
        format!("geom {geometry_type}"),
    ];
    for (name, values) in &layer.columns {
        let ty = match values {
            Values::Text(_) => "TEXT",
            Values::Number(_) => "DOUBLE",
            Values::Bool(_) => "BOOLEAN",
        };
        columns.push(format!("{} {ty}", quote(name)));
    }
    tx.execute_batch(&format!(
        "CREATE TABLE {} ({})",
        quote(&table),
        columns.join(", ")
    ))
    .map_err(e)?;
    let mut bbox: Bbox = wkb::EMPTY;
    {
        let marks: Vec<String> = (0..layer.columns.len() + 1)
            .map(|i| format!("?{}", i + 1))
            .collect();
        let names: Vec<String> = std::iter::once("geom".to_owned())
            .chain(layer.columns.iter().map(|(n, _)| quote(n)))
            .collect();
        let mut stmt = tx
            .prepare(&format!(
                "INSERT INTO {} ({}) VALUES ({})",
                quote(&table),
                names.join(", "),
                marks.join(", ")
            ))
            .map_err(e)?;
        for i in 0..layer.len() {
            let blob = layer.geometries[i].as_ref().map(|g| {
                let (blob, b) = wkb::gpkg_blob(g, 4326);
                wkb::union(&mut bbox, &b);
                blob
            });
            let mut values: Vec<rusqlite::types::Value> = vec![match blob {
                Some(b) => rusqlite::types::Value::Blob(b),
                None => rusqlite::types::Value::Null,
            }];
            for (_, col) in &layer.columns {
                values.push(match col {
                    Values::Text(v) => v[i]
                        .clone()
                        .map_or(rusqlite::types::Value::Null, rusqlite::types::Value::Text),
                    Values::Number(v) => {
                        v[i].map_or(rusqlite::types::Value::Null, rusqlite::types::Value::Real)
                    }
                    Values::Bool(v) => v[i].map_or(rusqlite::types::Value::Null, |b| {
                        rusqlite::types::Value::Integer(b as i64)
                    }),
                });
            }
            stmt.execute(rusqlite::params_from_iter(values))
                .map_err(e)?;
        }
    }
    let extent = (!wkb::is_empty(&bbox)).then_some(bbox);
    tx.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, min_x, min_y, max_x, max_y, srs_id)
         VALUES (?1, 'features', ?1, ?2, ?3, ?4, ?5, 4326)",
        params![
            table,
            extent.map(|b| b[0]),
            extent.map(|b| b[1]),
            extent.map(|b| b[2]),
            extent.map(|b| b[3])
        ],
    )
    .map_err(e)?;
    tx.execute(
        "INSERT INTO gpkg_geometry_columns VALUES (?1, 'geom', ?2, 4326, 0, 0)",
        params![table, geometry_type],
    )
    .map_err(e)?;
    tx.commit().map_err(e)?;
    Ok(())
}

/// Reads a point layer: `layer`, or the file's only feature layer.
pub(crate) fn open_chunks(path: &Path, layer: Option<&str>) -> Result<PointChunks> {
    let bad = |message: String| Error::Input {
        path: path.to_owned(),
        message,
    };
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| bad(format!("cannot open as a GeoPackage: {e}")))?;
    let sql = |e: rusqlite::Error| bad(format!("not a readable GeoPackage: {e}"));
    let layers: Vec<(String, String, String, i64)> = conn
        .prepare(
            "SELECT g.table_name, g.column_name, g.geometry_type_name, g.srs_id
             FROM gpkg_geometry_columns g JOIN gpkg_contents c ON c.table_name = g.table_name
             WHERE c.data_type = 'features' ORDER BY g.table_name",
        )
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect()
        })
        .map_err(sql)?;
    let names = || {
        layers
            .iter()
            .map(|l| format!("`{}`", l.0))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (table, geom, gtype, srs_id) = match layer {
        Some(want) => layers
            .iter()
            .find(|l| l.0 == want)
            .ok_or_else(|| bad(format!("no feature layer `{want}`; it has {}", names())))?,
        None if layers.len() == 1 => &layers[0],
        None if layers.is_empty() => return Err(bad("no feature layer".into())),
        None => {
            return Err(bad(format!(
                "{} feature layers ({}): `bacino convert --layer NAME` extracts one",
                layers.len(),
                names()
            )))
        }
    };
    let gtype_upper = gtype.to_ascii_uppercase();
    if !matches!(gtype_upper.as_str(), "POINT" | "MULTIPOINT" | "GEOMETRY") {
        return Err(bad(format!(
            "layer `{table}` holds {gtype} geometries; expected points (residents and \
             facilities are points)"
        )));
    }
    let (org, code): (String, i64) = conn
        .query_row(
            "SELECT organization, organization_coordsys_id FROM gpkg_spatial_ref_sys WHERE srs_id = ?1",
            [srs_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| bad(format!("layer `{table}`: its srs_id {srs_id}: {e}")))?;
    let epsg = if org.eq_ignore_ascii_case("EPSG") {
        u32::try_from(code).ok()
    } else {
        return Err(bad(format!(
            "layer `{table}`: CRS {org}:{code} is not an EPSG code; reproject it to an EPSG CRS"
        )));
    };
    // The attribute columns: all but the geometry and the integer key.
    let info: Vec<(String, String, bool)> = conn
        .prepare(&format!("PRAGMA table_info({})", quote(table)))
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok((
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(5)? > 0,
                ))
            })?
            .collect()
        })
        .map_err(sql)?;
    let key = info
        .iter()
        .find(|c| c.2 && c.1.eq_ignore_ascii_case("INTEGER"))
        .map(|c| c.0.clone());
    let attrs: Vec<&(String, String, bool)> = info
        .iter()
        .filter(|c| c.0 != *geom && Some(&c.0) != key.as_ref())
        .collect();
    let columns: Vec<String> = attrs.iter().map(|c| c.0.clone()).collect();
    let boolean: Vec<bool> = attrs
        .iter()
        .map(|c| c.1.eq_ignore_ascii_case("BOOLEAN"))
        .collect();
    let key_name = key.clone().unwrap_or_else(|| "rowid".to_owned());
    // Chunks: blocks of 65,536 consecutive keys, counted from the key's
    // index (the table's b-tree) without reading the geometries twice.
    let blocks: Vec<(i64, usize)> = conn
        .prepare(&format!(
            "SELECT {k} >> {KEY_BLOCK_BITS}, count(*) FROM {t} GROUP BY 1 ORDER BY 1",
            k = quote(&key_name),
            t = quote(table)
        ))
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize)))?
                .collect()
        })
        .map_err(sql)?;
    let chunks = key_chunks(&blocks);
    let epsg = epsg.ok_or_else(|| bad(format!("layer `{table}`: no EPSG code")))?;
    Ok(PointChunks {
        origin: path.to_owned(),
        layer: table.clone(),
        locator: format!("layer `{table}`, {key_name}"),
        columns: columns.clone(),
        epsg,
        chunk_rows: chunks.iter().map(|c| c.2).collect(),
        source: Source::Gpkg(ChunkSource {
            path: path.to_owned(),
            table: table.clone(),
            geom: geom.clone(),
            key: key_name,
            columns,
            boolean,
            ranges: chunks.iter().map(|c| (c.0, c.1)).collect(),
        }),
    })
}

/// A GeoPackage point layer opened for reading by blocks of keys.
#[derive(Debug)]
pub(crate) struct ChunkSource {
    path: std::path::PathBuf,
    table: String,
    geom: String,
    key: String,
    columns: Vec<String>,
    /// Columns declared BOOLEAN (stored as 0 and 1).
    boolean: Vec<bool>,
    /// Each chunk's keys (inclusive range).
    ranges: Vec<(i64, i64)>,
}

impl ChunkSource {
    /// Reads the features whose keys are in block `k`.
    pub(crate) fn read(&self, k: usize) -> Result<PointChunk> {
        let path = &self.path;
        let bad = |message: String| Error::Input {
            path: path.to_owned(),
            message,
        };
        let sql = |e: rusqlite::Error| bad(format!("not a readable GeoPackage: {e}"));
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| bad(format!("cannot open as a GeoPackage: {e}")))?;
        let (table, geom, key_name) = (&self.table, &self.geom, &self.key);
        let select: Vec<String> = [quote(key_name), quote(geom)]
            .into_iter()
            .chain(self.columns.iter().map(|c| quote(c)))
            .collect();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {} FROM {} WHERE {k} >= ?1 AND {k} <= ?2 ORDER BY 1",
                select.join(", "),
                quote(table),
                k = quote(key_name),
            ))
            .map_err(sql)?;
        let (lo, hi) = self.ranges[k];
        let mut rows = stmt.query(params![lo, hi]).map_err(sql)?;
        let mut chunk = PointChunk {
            locators: Vec::new(),
            x: Vec::new(),
            y: Vec::new(),
            columns: Vec::new(),
        };
        let mut cells: Vec<Vec<Cell>> = vec![Vec::new(); self.columns.len()];
        // Each column's text values, end to end (cells hold their ranges).
        let mut texts: Vec<String> = vec![String::new(); self.columns.len()];
        while let Some(r) = rows.next().map_err(sql)? {
            let fid: i64 = r.get(0).map_err(sql)?;
            let at = |col: &str, m: String| {
                bad(format!(
                    "layer `{table}`, {key_name} {fid}, column `{col}`: {m}"
                ))
            };
            let blob = match r.get_ref(1).map_err(|e| at(geom, e.to_string()))? {
                rusqlite::types::ValueRef::Blob(b) => b,
                rusqlite::types::ValueRef::Null => return Err(at(geom, "no geometry".into())),
                _ => return Err(at(geom, "a value that is not a geometry blob".into())),
            };
            let point = wkb::gpkg_body(blob)
                .and_then(wkb::read_point)
                .map_err(|m| at(geom, m))?;
            chunk.locators.push(fid);
            chunk.x.push(point.x());
            chunk.y.push(point.y());
            for (j, c) in self.columns.iter().enumerate() {
                use rusqlite::types::ValueRef;
                cells[j].push(match r.get_ref(j + 2).map_err(sql)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(i) => Cell::Int(i),
                    ValueRef::Real(x) => Cell::Real(x),
                    ValueRef::Text(t) => {
                        let s = std::str::from_utf8(t)
                            .map_err(|_| at(c, "text that is not UTF-8".into()))?;
                        let from = texts[j].len();
                        texts[j].push_str(s);
                        Cell::Text(from, texts[j].len())
                    }
                    ValueRef::Blob(_) => {
                        return Err(at(c, "a binary value; expected text or a number".into()))
                    }
                });
            }
        }
        for (j, cells) in cells.into_iter().enumerate() {
            let array = column_array(cells, &texts[j], self.boolean[j]);
            chunk.columns.push(
                Column::new(array)
                    .map_err(|m| bad(format!("column `{}`: {m}", self.columns[j])))?,
            );
        }
        Ok(chunk)
    }
}

/// One value as SQLite stored it (its columns are typed row by row); text
/// as a range of the column's text buffer.
#[derive(Debug, Clone, Copy)]
enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(usize, usize),
}

/// The cells of a column as an Arrow array: booleans for a BOOLEAN
/// column, integers or doubles when every value is a number, text
/// otherwise (numbers written as Rust prints them).
fn column_array(cells: Vec<Cell>, texts: &str, boolean: bool) -> ArrayRef {
    let ints = cells.iter().all(|c| matches!(c, Cell::Null | Cell::Int(_)));
    let numbers = cells
        .iter()
        .all(|c| matches!(c, Cell::Null | Cell::Int(_) | Cell::Real(_)));
    if boolean && ints {
        return Arc::new(BooleanArray::from_iter(cells.iter().map(|c| match c {
            Cell::Int(i) => Some(*i != 0),
            _ => None,
        })));
    }
    if ints {
        return Arc::new(Int64Array::from_iter(cells.iter().map(|c| match c {
            Cell::Int(i) => Some(*i),
            _ => None,
        })));
    }
    if numbers {
        return Arc::new(Float64Array::from_iter(cells.iter().map(|c| match c {
            Cell::Int(i) => Some(*i as f64),
            Cell::Real(x) => Some(*x),
            _ => None,
        })));
    }
    let mut b = arrow_array::builder::StringBuilder::with_capacity(cells.len(), texts.len());
    for c in cells {
        match c {
            Cell::Null => b.append_null(),
            Cell::Int(i) => b.append_value(i.to_string()),
            Cell::Real(x) => b.append_value(x.to_string()),
            Cell::Text(from, to) => b.append_value(&texts[from..to]),
        }
    }
    Arc::new(b.finish())
}
