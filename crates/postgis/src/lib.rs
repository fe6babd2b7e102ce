//! PostGIS tables as a dataset's sources (`[residents] postgres = "…",
//! table = "…"` in a manifest).
//!
//! A point table (residents, facilities) is read in chunks of its integer
//! primary key (blocks of 65,536 keys), each on its own connection, so a
//! caller may read them in parallel; every connection reads the same
//! snapshot, exported by the connection that opened the table and held
//! until the reader is dropped, so a table written to meanwhile is read
//! whole as it was at the start or not at all. A polygon table (areas) is
//! read as GeoJSON features, in one transaction. Geometries may be in any
//! SRID: the caller transforms them like a file's. Rows are named by their
//! primary key in every error.

use std::sync::Mutex;
use std::time::Duration;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray};
use bacino_formats::{key_chunks, Column, PointChunk, PointChunks, ReadChunk, KEY_BLOCK_BITS};
use postgres::types::ToSql;
use postgres::{Client, NoTls};
use xxhash_rust::xxh3::Xxh3;

/// How long a connection may take before the source counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A table named by a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTable {
    /// `postgres://USER[:PASSWORD]@HOST:PORT/DB`.
    pub url: String,
    /// `name` or `schema.name` (SQL identifier rules: unquoted names fold
    /// to lower case).
    pub table: String,
    /// The geometry column, when the table has several.
    pub geometry: Option<String>,
}

impl PgTable {
    /// The URL without its password, for messages.
    pub fn source(&self) -> String {
        redact(&self.url)
    }
}

/// Why a table could not be read. The message names the table and,
/// when one is at fault, the row (by primary key) and the column.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server could not be reached, or refused the login.
    #[error("{url}: cannot connect: {message}")]
    Connect {
        /// The URL without its password.
        url: String,
        /// The client's reason.
        message: String,
    },
    /// The table is missing, unreadable or not as expected.
    #[error("{url}: {message}")]
    Table {
        /// The URL without its password.
        url: String,
        /// ``table `x`…: what was expected``.
        message: String,
    },
}

impl Error {
    /// The message without the URL.
    pub fn message(&self) -> String {
        match self {
            Error::Connect { message, .. } => format!("cannot connect: {message}"),
            Error::Table { message, .. } => message.clone(),
        }
    }
}

type Result<T> = std::result::Result<T, Error>;

/// A URL with its password replaced by `***`, in the authority
/// (`user:pw@`) and in the query (`?password=pw`).
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let mut out = match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &url[..scheme_end + 3],
            &authority[..colon],
            &rest[at..]
        ),
        _ => url.to_owned(),
    };
    if let Some(q) = out.find('?') {
        let query: Vec<String> = out[q + 1..]
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_owned(),
            })
            .collect();
        out = format!("{}?{}", &out[..q], query.join("&"));
    }
    out
}

/// A client connected to `url` (TLS is not used: a loopback or private
/// network is expected), with a connect timeout.
pub fn connect(url: &str) -> Result<Client> {
    let connect_err = |message: String| Error::Connect {
        url: redact(url),
        message,
    };
    let mut config: postgres::Config = url
        .parse()
        .map_err(|e| connect_err(format!("not a PostgreSQL URL: {e}")))?;
    config.connect_timeout(CONNECT_TIMEOUT);
    config.connect(NoTls).map_err(|e| connect_err(describe(&e)))
}

/// A client error with the server's message, when the server sent one
/// (the client's own text is only `db error`).
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_owned(),
        },
        None => e.to_string(),
    }
}

/// What a table holds, as read from the catalog.
#[derive(Debug)]
struct TableInfo {
    /// The table as SQL (`regclass` text: quoted where needed).
    sql: String,
    /// The primary key's column and whether it is an integer.
    key: String,
    integer_key: bool,
    geometry: String,
    /// Attribute columns (not the geometry): name and how to read it.
    columns: Vec<(String, Kind)>,
    srid: u32,
    /// The column is declared `geometry(Point, …)`: no other kind of
    /// geometry can be in it.
    point_typed: bool,
}

/// How a column's values are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Integers, read exactly (`int8`).
    Int,
    /// Floating point (`float8`).
    Number,
    Bool,
    /// Everything else as text (`numeric` too: it may hold more digits
    /// than a double).
    Text,
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Reads the catalog for `t` on `c` (inside the snapshot's transaction).
fn table_info(c: &mut Client, t: &PgTable, url: &str) -> Result<TableInfo> {
    let name = &t.table;
    let bad = table_error(url, name);
    let sql_err = |e: postgres::Error| bad(describe(&e));
    let oid: Option<u32> = c
        .query_one("SELECT to_regclass($1)::oid", &[name])
        .and_then(|r| r.try_get(0))
        .map_err(sql_err)?;
    let oid = oid.ok_or_else(|| bad("no such table (or no permission to see it)".into()))?;
    let sql: String = c
        .query_one("SELECT $1::oid::regclass::text", &[&oid])
        .and_then(|r| r.try_get(0))
        .map_err(sql_err)?;
    let cols: Vec<(String, String)> = c
        .query(
            "SELECT a.attname::text, t.typname::text FROM pg_attribute a \
             JOIN pg_type t ON t.oid = a.atttypid \
             WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            &[&oid],
        )
        .map_err(sql_err)?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let geometries: Vec<&str> = cols
        .iter()
        .filter(|c| c.1 == "geometry")
        .map(|c| c.0.as_str())
        .collect();
    let geometry = match (&t.geometry, geometries.as_slice()) {
        (Some(g), _) if geometries.contains(&g.as_str()) => g.clone(),
        (Some(g), _) => {
            return Err(bad(format!(
                "no geometry column `{g}` (geometry columns: {})",
                list(&geometries)
            )))
        }
        (None, [one]) => (*one).to_owned(),
        (None, []) => {
            return Err(bad(format!(
                "no geometry column (columns: {}); expected a PostGIS geometry",
                list(&cols.iter().map(|c| c.0.as_str()).collect::<Vec<_>>())
            )))
        }
        (None, many) => {
            return Err(bad(format!(
                "several geometry columns ({}); name one with `geometry = \"…\"`",
                list(many)
            )))
        }
    };
    let keys: Vec<String> = c
        .query(
            "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a \
             ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
             WHERE i.indrelid = $1 AND i.indisprimary",
            &[&oid],
        )
        .map_err(sql_err)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let key = match keys.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(bad(
                "no primary key; bacino names rows by it (ALTER TABLE … ADD PRIMARY KEY)".into(),
            ))
        }
        many => {
            return Err(bad(format!(
                "a primary key of several columns ({}); expected one column",
                many.join(", ")
            )))
        }
    };
    let type_of = |n: &str| cols.iter().find(|c| c.0 == n).map(|c| c.1.as_str());
    let integer_key = matches!(type_of(&key), Some("int2" | "int4" | "int8"));
    let columns = cols
        .iter()
        .filter(|c| c.0 != geometry)
        .map(|(n, ty)| {
            let kind = match ty.as_str() {
                "int2" | "int4" | "int8" => Kind::Int,
                "float4" | "float8" => Kind::Number,
                "bool" => Kind::Bool,
                _ => Kind::Text,
            };
            (n.clone(), kind)
        })
        .collect();
    // The declared type and SRID (`geometry(Point, 4326)`); a column
    // declared without them is scanned for its SRIDs.
    let (declared, declared_srid): (String, i32) = c
        .query_one(
            "SELECT postgis_typmod_type(atttypmod)::text, postgis_typmod_srid(atttypmod) \
             FROM pg_attribute WHERE attrelid = $1 AND attname = $2",
            &[&oid, &geometry],
        )
        .map(|r| (r.get(0), r.get(1)))
        .map_err(sql_err)?;
    let g = quote(&geometry);
    let srids: Vec<i32> = if declared_srid > 0 {
        vec![declared_srid]
    } else {
        c.query(
            &format!("SELECT DISTINCT ST_SRID({g}) FROM {sql} WHERE {g} IS NOT NULL LIMIT 2"),
            &[],
        )
        .map_err(sql_err)?
        .iter()
        .map(|r| r.get(0))
        .collect()
    };
    let srid = match srids.as_slice() {
        [] => 4326,
        [s] if *s > 0 => *s as u32,
        [_] => {
            return Err(bad(format!(
                "column `{geometry}` has SRID 0 (unknown); set it with UpdateGeometrySRID"
            )))
        }
        _ => {
            return Err(bad(format!(
                "column `{geometry}` mixes SRIDs ({}); expected one",
                srids
                    .iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    };
    Ok(TableInfo {
        sql,
        key,
        integer_key,
        geometry,
        columns,
        srid,
        point_typed: declared.eq_ignore_ascii_case("Point"),
    })
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        return "none".into();
    }
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A point table opened for reading in chunks; the snapshot is held
/// until the chunks are dropped.
#[derive(Debug)]
pub struct PgPoints {
    /// The chunks, read through [`PointChunks::read`].
    pub chunks: PointChunks,
    /// Each chunk's digest, once read.
    digests: std::sync::Arc<Mutex<Vec<Option<u128>>>>,
    /// Key, geometry column, SRID and columns with their kinds.
    schema: String,
}

impl PgPoints {
    /// The digest of every row read (the table's part of a dataset's
    /// version): XXH3-128 over the chunks' digests in key order; `None`
    /// until every chunk has been read.
    pub fn digest(&self) -> Option<String> {
        let digests = self.digests.lock().ok()?;
        let mut h = Xxh3::new();
        h.update(&(self.schema.len() as u64).to_le_bytes());
        h.update(self.schema.as_bytes());
        for d in digests.iter() {
            h.update(&(*d)?.to_le_bytes());
        }
        Some(format!("{:032x}", h.digest128()))
    }
}

/// How errors about `table` at `url` (its password masked) read.
fn table_error<'a>(url: &'a str, table: &'a str) -> impl Fn(String) -> Error + 'a {
    move |message| Error::Table {
        url: url.to_owned(),
        message: format!("table `{table}`: {message}"),
    }
}

/// Opens a read-only, repeatable-read transaction on `c`, in `snapshot`
/// (exported by another transaction) when given.
fn begin_read(c: &mut Client, snapshot: Option<&str>) -> std::result::Result<(), postgres::Error> {
    let mut sql = String::from("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    if let Some(id) = snapshot {
        sql.push_str(&format!(
            "; SET TRANSACTION SNAPSHOT '{}'",
            id.replace('\'', "")
        ));
    }
    c.batch_execute(&sql)
}

/// Opens the point table `t`: its columns, primary key, geometry column
/// and SRID found (from the column's declared type, or by one scan when it
/// declares none); chunks counted; one snapshot exported for all the
/// reads. Each row's geometry is checked as its chunk is read: a null,
/// empty or non-point geometry is named by the row's key.
pub fn open_points(t: &PgTable) -> Result<PgPoints> {
    let url = t.source();
    let mut c = connect(&t.url)?;
    let bad = table_error(&url, &t.table);
    let sql_err = |e: postgres::Error| bad(describe(&e));
    begin_read(&mut c, None).map_err(sql_err)?;
    let snapshot: String = c
        .query_one("SELECT pg_export_snapshot()", &[])
        .and_then(|r| r.try_get(0))
        .map_err(sql_err)?;
    let info = table_info(&mut c, t, &url)?;
    let (k, sql) = (quote(&info.key), &info.sql);
    let chunks: Vec<(i64, i64, usize)> = if info.integer_key {
        let blocks: Vec<(i64, usize)> = c
            .query(
                &format!(
                    "SELECT {k}::int8 >> {KEY_BLOCK_BITS}, count(*)::int8 FROM {sql} \
                     GROUP BY 1 ORDER BY 1"
                ),
                &[],
            )
            .map_err(sql_err)?
            .iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1) as usize))
            .collect();
        key_chunks(&blocks)
    } else {
        let n: i64 = c
            .query_one(&format!("SELECT count(*)::int8 FROM {sql}"), &[])
            .map_err(sql_err)?
            .get(0);
        vec![(0, 0, n as usize)]
    };
    // Key values in backticks: a key may be a resident's id, and an
    // error served over HTTP withholds what is quoted.
    let locator = if info.integer_key {
        format!("table `{}`, {} `{{}}`", t.table, info.key)
    } else {
        format!(
            "table `{}`, row `{{}}` (in order of `{}`)",
            t.table, info.key
        )
    };
    // What the rows mean, for the digest: a renamed column or another
    // SRID loads other data from the same values.
    let schema = format!(
        "{}|{}|{}|{}|{:?}",
        info.key, info.geometry, info.srid, info.integer_key, info.columns
    );
    let digests = std::sync::Arc::new(Mutex::new(vec![None; chunks.len()]));
    let reader = TableChunks {
        digests: digests.clone(),
        url: t.url.clone(),
        name: t.table.clone(),
        snapshot,
        ranges: chunks.iter().map(|c| (c.0, c.1)).collect(),
        columns: info.columns.clone(),
        _holder: Mutex::new(c),
        info,
    };
    let columns = reader.columns.iter().map(|c| c.0.clone()).collect();
    let srid = reader.info.srid;
    Ok(PgPoints {
        chunks: PointChunks::from_reader(
            t.table.clone(),
            locator,
            columns,
            srid,
            chunks.iter().map(|c| c.2).collect(),
            Box::new(reader),
        ),
        digests,
        schema,
    })
}

/// Reads blocks of keys of a point table, each on its own connection in
/// the exported snapshot.
struct TableChunks {
    /// Each chunk's digest, once read (shared with [`PgPoints`]).
    digests: std::sync::Arc<Mutex<Vec<Option<u128>>>>,
    url: String,
    name: String,
    snapshot: String,
    /// Each chunk's keys (inclusive range).
    ranges: Vec<(i64, i64)>,
    columns: Vec<(String, Kind)>,
    info: TableInfo,
    /// The connection whose open transaction keeps the snapshot alive.
    _holder: Mutex<Client>,
}

impl std::fmt::Debug for TableChunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableChunks")
            .field("url", &redact(&self.url))
            .field("table", &self.name)
            .field("snapshot", &self.snapshot)
            .field("chunks", &self.ranges.len())
            .finish_non_exhaustive()
    }
}

impl ReadChunk for TableChunks {
    fn read(&self, k: usize) -> bacino_formats::Result<PointChunk> {
        self.read_block(k)
            .map_err(|e| bacino_formats::Error::Input {
                path: redact(&self.url).into(),
                message: e.message(),
            })
    }
}

impl TableChunks {
    fn read_block(&self, k: usize) -> Result<PointChunk> {
        let url = redact(&self.url);
        let bad = table_error(&url, &self.name);
        let sql_err = |e: postgres::Error| bad(describe(&e));
        let mut c = connect(&self.url)?;
        begin_read(&mut c, Some(&self.snapshot)).map_err(sql_err)?;
        let info = &self.info;
        let (g, key) = (quote(&info.geometry), quote(&info.key));
        let values: Vec<String> = self
            .columns
            .iter()
            .map(|(n, kind)| match kind {
                Kind::Int => format!("t.{}::int8", quote(n)),
                Kind::Number => format!("t.{}::float8", quote(n)),
                Kind::Bool => format!("t.{}", quote(n)),
                Kind::Text => format!("t.{}::text", quote(n)),
            })
            .collect();
        let locator = if info.integer_key {
            format!("t.{key}::int8")
        } else {
            format!("row_number() OVER (ORDER BY t.{key})")
        };
        // Not a point, or an empty one: x and y are null and the type
        // says why (`GeometryType` is only asked of a column not declared
        // `geometry(Point, …)`).
        let (point, what) = if info.point_typed {
            (
                "TRUE".to_owned(),
                format!("CASE WHEN t.{g} IS NULL THEN NULL ELSE 'POINT' END"),
            )
        } else {
            (
                format!("GeometryType(t.{g}) = 'POINT'"),
                format!("GeometryType(t.{g})"),
            )
        };
        let select = format!(
            "SELECT {locator}, CASE WHEN {point} THEN ST_X(t.{g}) END, \
             CASE WHEN {point} THEN ST_Y(t.{g}) END, {what}{}{} FROM {} t",
            if values.is_empty() { "" } else { ", " },
            values.join(", "),
            info.sql
        );
        let (lo, hi) = self.ranges[k];
        let rows = if info.integer_key {
            let params: [&(dyn ToSql + Sync); 2] = [&lo, &hi];
            c.query(
                &format!(
                    "{select} WHERE t.{key} >= $1::int8 AND t.{key} <= $2::int8 ORDER BY t.{key}"
                ),
                &params,
            )
        } else {
            c.query(&format!("{select} ORDER BY t.{key}"), &[])
        }
        .map_err(sql_err)?;
        let mut chunk = PointChunk {
            locators: Vec::with_capacity(rows.len()),
            x: Vec::with_capacity(rows.len()),
            y: Vec::with_capacity(rows.len()),
            columns: Vec::with_capacity(self.columns.len()),
        };
        for r in &rows {
            let key: i64 = r.get(0);
            let (x, y): (Option<f64>, Option<f64>) = (r.get(1), r.get(2));
            let (Some(x), Some(y)) = (x, y) else {
                let what = match r.get::<_, Option<&str>>(3) {
                    None => "no geometry".to_owned(),
                    Some("POINT") => "an empty point".to_owned(),
                    Some(other) => format!("a {other}"),
                };
                let key = if info.integer_key {
                    format!("{} `{key}`", info.key)
                } else {
                    format!("row `{key}` (in order of `{}`)", info.key)
                };
                return Err(bad(format!(
                    "{key}, column `{}`: {what}; expected a point (residents and facilities are \
                     points)",
                    info.geometry
                )));
            };
            chunk.locators.push(key);
            chunk.x.push(x);
            chunk.y.push(y);
        }
        for (j, (name, kind)) in self.columns.iter().enumerate() {
            let i = j + 4;
            let array: ArrayRef = match kind {
                Kind::Int => std::sync::Arc::new(Int64Array::from_iter(
                    rows.iter().map(|r| r.get::<_, Option<i64>>(i)),
                )),
                Kind::Number => std::sync::Arc::new(Float64Array::from_iter(
                    rows.iter().map(|r| r.get::<_, Option<f64>>(i)),
                )),
                Kind::Bool => std::sync::Arc::new(BooleanArray::from_iter(
                    rows.iter().map(|r| r.get::<_, Option<bool>>(i)),
                )),
                Kind::Text => std::sync::Arc::new(StringArray::from_iter(
                    rows.iter().map(|r| r.get::<_, Option<&str>>(i)),
                )),
            };
            chunk
                .columns
                .push(Column::new(array).map_err(|m| bad(format!("column `{name}`: {m}")))?);
        }
        let _ = c.batch_execute("COMMIT");
        if let Ok(mut d) = self.digests.lock() {
            d[k] = Some(chunk_digest(&chunk));
        }
        Ok(chunk)
    }
}

/// XXH3-128 of a chunk's rows: key, coordinates and every value, typed
/// and delimited.
fn chunk_digest(c: &PointChunk) -> u128 {
    let mut h = Xxh3::new();
    for i in 0..c.len() {
        h.update(&c.locators[i].to_le_bytes());
        h.update(&c.x[i].to_bits().to_le_bytes());
        h.update(&c.y[i].to_bits().to_le_bytes());
        for col in &c.columns {
            // Numbers as numbers: their text is rendered only on demand.
            if let Some(v) = col.number(i) {
                h.update(b"n");
                h.update(&v.to_bits().to_le_bytes());
            } else if let Some(s) = col.text(i) {
                h.update(b"s");
                h.update(&(s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            } else {
                h.update(b"0");
            }
        }
    }
    h.digest128()
}

/// The features of a polygon table (areas), in key order, with every
/// other column as a property; the SRID of its geometry column; and the
/// digest of its rows, all read in one snapshot.
#[derive(Debug)]
pub struct PgFeatures {
    /// The features (geometries in the table's SRID).
    pub features: geojson::FeatureCollection,
    /// The geometry column's SRID.
    pub srid: u32,
    /// The primary key of each feature, for messages.
    pub keys: Vec<String>,
    /// What a key names, e.g. ``table `comuni`, gid``.
    pub locator: String,
    /// The digest of the features read (XXH3-128 of their GeoJSON).
    pub digest: String,
}

/// Reads the polygon table `t` as GeoJSON features.
pub fn read_features(t: &PgTable) -> Result<PgFeatures> {
    let url = t.source();
    let mut c = connect(&t.url)?;
    let bad = table_error(&url, &t.table);
    let sql_err = |e: postgres::Error| bad(describe(&e));
    begin_read(&mut c, None).map_err(sql_err)?;
    let info = table_info(&mut c, t, &url)?;
    let (k, sql) = (quote(&info.key), &info.sql);
    let rows = c
        .query(
            &format!(
                "SELECT t.{k}::text, ST_AsGeoJSON(t.*, $1, 15)::text FROM {sql} t ORDER BY t.{k}"
            ),
            &[&info.geometry],
        )
        .map_err(sql_err)?;
    let mut features = Vec::with_capacity(rows.len());
    let mut keys = Vec::with_capacity(rows.len());
    let mut h = Xxh3::new();
    for r in &rows {
        let key: String = r.get(0);
        let text: String = r.get(1);
        h.update(&(text.len() as u64).to_le_bytes());
        h.update(text.as_bytes());
        let feature: geojson::Feature = text
            .parse::<geojson::GeoJson>()
            .ok()
            .and_then(|g| geojson::Feature::try_from(g).ok())
            .ok_or_else(|| {
                bad(format!(
                    "{} {key}: not readable as a GeoJSON feature",
                    info.key
                ))
            })?;
        features.push(feature);
        keys.push(key);
    }
    let _ = c.batch_execute("COMMIT");
    Ok(PgFeatures {
        features: geojson::FeatureCollection {
            bbox: None,
            features,
            foreign_members: None,
        },
        srid: info.srid,
        keys,
        locator: format!("table `{}`, {} `{{}}`", t.table, info.key),
        digest: format!("{:032x}", h.digest128()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_and_only_passwords() {
        assert_eq!(
            redact("postgres://bacino:s3cret@db:5432/ats"),
            "postgres://bacino:***@db:5432/ats"
        );
        assert_eq!(
            redact("postgres://bacino@db:5432/ats"),
            "postgres://bacino@db:5432/ats"
        );
        assert_eq!(redact("sqlite:/tmp/x"), "sqlite:/tmp/x");
        assert_eq!(
            redact("postgres://db/ats?user=b&password=s3cret&sslmode=disable"),
            "postgres://db/ats?user=b&password=***&sslmode=disable"
        );
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote("weight"), "\"weight\"");
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }
}
