//! GeoParquet 1.1: geometries as WKB in `geometry`, the bbox covering
//! column `bbox` (struct of xmin, ymin, xmax, ymax), the `geo` metadata;
//! row groups of 65,536 rows, Snappy-compressed. Point layers read back
//! (WKB or the native `point` encoding, any EPSG CRS).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Float64Array, RecordBatch, StringArray, StructArray,
};
use arrow_schema::{DataType, Field, Fields, Schema};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::{Compression, Encoding, PageType};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use serde_json::{json, Value};

use crate::chunks::{Column, PointChunk, PointChunks, Source};
use crate::wkb::{self, Bbox};
use crate::{Error, Layer, Result, Values};

/// Rows per row group (and per Arrow batch written).
const ROW_GROUP: usize = 65_536;

fn bbox_fields() -> Fields {
    Fields::from(
        ["xmin", "ymin", "xmax", "ymax"]
            .map(|n| Field::new(n, DataType::Float64, false))
            .to_vec(),
    )
}

/// Writes `layer` as a GeoParquet 1.1 file at `path`.
pub(crate) fn write(layer: &Layer, path: &Path) -> std::result::Result<(), String> {
    let mut fields: Vec<Field> = layer
        .columns
        .iter()
        .map(|(name, v)| {
            let ty = match v {
                Values::Text(_) => DataType::Utf8,
                Values::Number(_) => DataType::Float64,
                Values::Bool(_) => DataType::Boolean,
            };
            Field::new(name, ty, true)
        })
        .collect();
    fields.push(Field::new("geometry", DataType::Binary, true));
    fields.push(Field::new("bbox", DataType::Struct(bbox_fields()), true));
    let schema = Arc::new(Schema::new(fields));

    // The whole layer's extent and geometry types, for the metadata.
    let mut extent: Bbox = wkb::EMPTY;
    let mut types: Vec<&str> = Vec::new();
    let mut wkbs: Vec<Option<(Vec<u8>, Bbox)>> = Vec::with_capacity(layer.len());
    for g in &layer.geometries {
        wkbs.push(g.as_ref().map(|g| {
            let t = wkb::type_name(g).1;
            if !types.contains(&t) {
                types.push(t);
            }
            let mut out = Vec::with_capacity(32);
            let b = wkb::write(g, &mut out);
            wkb::union(&mut extent, &b);
            (out, b)
        }));
    }
    types.sort_unstable();
    let mut column = json!({
        "encoding": "WKB",
        "geometry_types": types,
        "covering": {"bbox": {
            "xmin": ["bbox", "xmin"], "ymin": ["bbox", "ymin"],
            "xmax": ["bbox", "xmax"], "ymax": ["bbox", "ymax"]
        }}
    });
    if !wkb::is_empty(&extent) {
        column["bbox"] = json!(extent);
    }
    // No `crs`: OGC:CRS84, longitude/latitude on WGS84.
    let geo = json!({
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {"geometry": column}
    });
    // In the file's key-value metadata (where GeoParquet readers look) and
    // in the embedded Arrow schema's (where pyarrow's schema looks).
    let schema = Arc::new(Schema::new_with_metadata(
        schema.fields().clone(),
        std::collections::HashMap::from([("geo".to_owned(), geo.to_string())]),
    ));
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .set_key_value_metadata(Some(vec![KeyValue::new("geo".into(), geo.to_string())]))
        .build();
    let file = File::create(path).map_err(|e| e.to_string())?;
    let mut w =
        ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|e| e.to_string())?;
    let mut start = 0;
    while start < layer.len() || (start == 0 && layer.is_empty()) {
        let end = (start + ROW_GROUP).min(layer.len());
        let mut arrays: Vec<ArrayRef> = layer
            .columns
            .iter()
            .map(|(_, v)| -> ArrayRef {
                match v {
                    Values::Text(v) => Arc::new(StringArray::from_iter(
                        v[start..end].iter().map(|s| s.as_deref()),
                    )),
                    Values::Number(v) => Arc::new(Float64Array::from(v[start..end].to_vec())),
                    Values::Bool(v) => Arc::new(BooleanArray::from(v[start..end].to_vec())),
                }
            })
            .collect();
        let part = &wkbs[start..end];
        arrays.push(Arc::new(BinaryArray::from_iter(
            part.iter().map(|g| g.as_ref().map(|(b, _)| b.as_slice())),
        )));
        let coord = |k: usize| -> ArrayRef {
            Arc::new(Float64Array::from_iter_values(
                part.iter().map(|g| g.as_ref().map_or(0.0, |(_, b)| b[k])),
            ))
        };
        let nulls = arrow_array::builder::BooleanBufferBuilder::new(part.len());
        let mut nulls = nulls;
        for g in part {
            nulls.append(g.is_some());
        }
        let bbox = StructArray::try_new(
            bbox_fields(),
            vec![coord(0), coord(1), coord(2), coord(3)],
            Some(nulls.finish().into()),
        )
        .map_err(|e| e.to_string())?;
        arrays.push(Arc::new(bbox));
        let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| e.to_string())?;
        w.write(&batch).map_err(|e| e.to_string())?;
        if end == layer.len() {
            break;
        }
        start = end;
    }
    w.close().map_err(|e| e.to_string())?;
    Ok(())
}

/// The EPSG code of a GeoParquet `crs` (PROJJSON with an `id`); absent or
/// null is OGC:CRS84.
fn epsg_of(crs: Option<&Value>) -> std::result::Result<u32, String> {
    match crs {
        None | Some(Value::Null) => Ok(4326),
        Some(c) => {
            let id = c.get("id");
            let authority = id.and_then(|i| i.get("authority")).and_then(Value::as_str);
            let code = id.and_then(|i| i.get("code"));
            match (authority, code) {
                (Some("OGC"), Some(c)) if c == "CRS84" => Ok(4326),
                (Some(a), Some(c)) if a.eq_ignore_ascii_case("EPSG") => c
                    .as_u64()
                    .or_else(|| c.as_str().and_then(|s| s.parse().ok()))
                    .map(|c| c as u32)
                    .ok_or_else(|| format!("a CRS code `{c}` that is not a number")),
                _ => Err("a CRS without an EPSG id; reproject it to an EPSG CRS".into()),
            }
        }
    }
}

/// A GeoParquet file opened for reading by row group.
#[derive(Debug)]
pub(crate) struct ChunkSource {
    path: std::path::PathBuf,
    meta: ArrowReaderMetadata,
    /// Root columns read: the geometry, then the attributes.
    projection: Vec<usize>,
    primary: String,
    /// Global number of each row group's first row.
    first_row: Vec<i64>,
}

/// Opens a GeoParquet point file: its `geo` metadata checked, the
/// geometry column and attribute columns found (the bbox covering is not
/// read), row groups counted.
pub(crate) fn open_chunks(path: &Path) -> Result<PointChunks> {
    decoder_guard(path, "its metadata", || open_unguarded(path))
}

/// Runs `f`, which decodes Parquet with the parquet and arrow crates, and
/// turns a panic inside it into an error naming the file. Those crates
/// still assert, here and there, on corrupt pages and metadata (found by
/// fuzzing this loader; see apache/arrow-rs issues 9705, 10107, 11121):
/// what is checked beforehand is checked with a located error, and a file
/// corrupt in a way not checked fails to load instead of taking the
/// process down. The decoder holds no state beyond the call.
fn decoder_guard<T>(path: &Path, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("no message");
        Err(Error::Input {
            path: path.to_owned(),
            message: format!("a corrupt Parquet file: decoding {what} failed ({why})"),
        })
    })
}

fn open_unguarded(path: &Path) -> Result<PointChunks> {
    let bad = |message: String| Error::Input {
        path: path.to_owned(),
        message,
    };
    let file = File::open(path).map_err(|e| bad(e.to_string()))?;
    let meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
        .map_err(|e| bad(format!("not a readable Parquet file: {e}")))?;
    let geo: Value = meta
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == "geo"))
        .and_then(|k| k.value.clone())
        .or_else(|| meta.schema().metadata().get("geo").cloned())
        .ok_or_else(|| bad("a Parquet file without GeoParquet `geo` metadata".into()))
        .and_then(|v| serde_json::from_str(&v).map_err(|e| bad(format!("`geo` metadata: {e}"))))?;
    let primary = geo["primary_column"]
        .as_str()
        .ok_or_else(|| bad("`geo` metadata without primary_column".into()))?
        .to_owned();
    let gmeta = &geo["columns"][&primary];
    let encoding = gmeta["encoding"].as_str().unwrap_or("");
    if !matches!(encoding, "WKB" | "point") {
        return Err(bad(format!(
            "column `{primary}` is encoded as `{encoding}`; expected WKB or point"
        )));
    }
    if let Some(types) = gmeta["geometry_types"].as_array() {
        let names: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
        if names
            .iter()
            .any(|t| !t.starts_with("Point") && !t.starts_with("MultiPoint"))
        {
            return Err(bad(format!(
                "column `{primary}` holds {} geometries; expected points (residents and \
                 facilities are points)",
                names.join(", ")
            )));
        }
    }
    let epsg = epsg_of(gmeta.get("crs")).map_err(|m| bad(format!("column `{primary}`: {m}")))?;
    let covering = gmeta["covering"]["bbox"]["xmin"][0]
        .as_str()
        .map(str::to_owned);
    let schema = meta.schema().clone();
    let g = schema
        .index_of(&primary)
        .map_err(|_| bad(format!("no column `{primary}`")))?;
    if schema.fields().len() != meta.parquet_schema().root_schema().get_fields().len() {
        return Err(bad("nested columns that are not Arrow fields".into()));
    }
    let attrs: Vec<(usize, String)> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| *f.name() != primary && Some(f.name()) != covering.as_ref())
        .map(|(i, f)| (i, f.name().clone()))
        .collect();
    let meta = with_dictionaries(meta).map_err(|e| bad(e.to_string()))?;
    let mut first_row = Vec::with_capacity(meta.metadata().num_row_groups());
    let mut chunk_rows = Vec::with_capacity(first_row.capacity());
    // Row counts come from the file and size the columns before any row
    // is decoded: they must add up, and be plausible for the file's size
    // (a point costs more than a bit even dictionary-encoded).
    let file_len = file.metadata().map_err(|e| bad(e.to_string()))?.len();
    let mut next = 0i64;
    for (k, rg) in meta.metadata().row_groups().iter().enumerate() {
        let rows = usize::try_from(rg.num_rows())
            .map_err(|_| bad(format!("row group {k} claims {} rows", rg.num_rows())))?;
        // The reader asserts (panics) on a negative start or length.
        for c in rg.columns() {
            let start = c.dictionary_page_offset().unwrap_or(c.data_page_offset());
            let len = c.compressed_size();
            if start < 0 || len < 0 || (start as u64).saturating_add(len as u64) > file_len {
                return Err(bad(format!(
                    "row group {k}, column `{}`: its pages (from byte {start}, {len} bytes) \
                     are not within the file's {file_len} bytes",
                    c.column_path().string()
                )));
            }
        }
        first_row.push(next);
        chunk_rows.push(rows);
        next = next.saturating_add(rg.num_rows());
    }
    let declared = meta.metadata().file_metadata().num_rows();
    if next != declared {
        return Err(bad(format!(
            "the row groups hold {next} rows but the file declares {declared}"
        )));
    }
    if next as u64 > file_len.saturating_mul(8) {
        return Err(bad(format!(
            "{next} rows claimed by a file of {file_len} bytes"
        )));
    }
    Ok(PointChunks {
        origin: path.to_owned(),
        layer: path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        locator: "row".into(),
        columns: attrs.iter().map(|(_, n)| n.clone()).collect(),
        epsg,
        chunk_rows,
        source: Source::Parquet(ChunkSource {
            path: path.to_owned(),
            meta,
            projection: std::iter::once(g)
                .chain(attrs.iter().map(|a| a.0))
                .collect(),
            primary,
            first_row,
        }),
    })
}

/// The reader's schema with the text columns whose pages are all
/// dictionary-encoded read as Arrow dictionaries: their values are then
/// decoded once per row group, not once per row.
fn with_dictionaries(meta: ArrowReaderMetadata) -> parquet::errors::Result<ArrowReaderMetadata> {
    let descr = meta.parquet_schema();
    let file = meta.metadata();
    let mut dictionary = vec![true; meta.schema().fields().len()];
    for leaf in 0..descr.num_columns() {
        let root = descr.get_column_root_idx(leaf);
        let all_pages = file.row_groups().iter().all(|rg| {
            let c = rg.column(leaf);
            c.dictionary_page_offset().is_some()
                && match (c.page_encoding_stats_mask(), c.page_encoding_stats()) {
                    (Some(mask), _) => {
                        mask.is_only(Encoding::RLE_DICTIONARY)
                            || mask.is_only(Encoding::PLAIN_DICTIONARY)
                    }
                    (None, Some(stats)) => stats.iter().all(|s| {
                        s.page_type == PageType::DICTIONARY_PAGE
                            || matches!(
                                s.encoding,
                                Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY
                            )
                    }),
                    (None, None) => false,
                }
        });
        if let Some(d) = dictionary.get_mut(root) {
            *d &= all_pages;
        }
    }
    let schema = meta.schema();
    let mut changed = false;
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .zip(&dictionary)
        .map(|(f, &d)| match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 if d => {
                changed = true;
                f.as_ref().clone().with_data_type(DataType::Dictionary(
                    Box::new(DataType::Int32),
                    Box::new(f.data_type().clone()),
                ))
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    if !changed {
        return Ok(meta);
    }
    let schema = Schema::new_with_metadata(fields, schema.metadata().clone());
    ArrowReaderMetadata::try_new(
        meta.metadata().clone(),
        ArrowReaderOptions::new().with_schema(Arc::new(schema)),
    )
}

impl ChunkSource {
    /// Decodes row group `k`.
    pub(crate) fn read(&self, k: usize) -> Result<PointChunk> {
        decoder_guard(&self.path, &format!("row group {k}"), || {
            self.read_unguarded(k)
        })
    }

    fn read_unguarded(&self, k: usize) -> Result<PointChunk> {
        let path = &self.path;
        let bad = |message: String| Error::Input {
            path: path.to_owned(),
            message,
        };
        let file = File::open(path).map_err(|e| bad(e.to_string()))?;
        let rows = self.meta.metadata().row_group(k).num_rows() as usize;
        let mask = ProjectionMask::roots(self.meta.parquet_schema(), self.projection.clone());
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.meta.clone())
            .with_row_groups(vec![k])
            .with_projection(mask)
            .with_batch_size(rows.max(1))
            .build()
            .map_err(|e| bad(e.to_string()))?;
        let row0 = self.first_row[k];
        let mut chunk = PointChunk {
            locators: Vec::with_capacity(rows),
            x: Vec::with_capacity(rows),
            y: Vec::with_capacity(rows),
            columns: Vec::new(),
        };
        let mut batches = Vec::new();
        for batch in reader {
            let at = row0 + chunk.x.len() as i64;
            let batch = batch.map_err(|e| bad(format!("row group {k} (from row {at}): {e}")))?;
            let geom = batch
                .column_by_name(&self.primary)
                .ok_or_else(|| bad(format!("no column `{}`", self.primary)))?;
            read_xy(geom.as_ref(), at, &self.primary, &mut chunk, &bad)?;
            batches.push(batch);
        }
        chunk.locators = (row0..row0 + chunk.x.len() as i64).collect();
        // A projected batch keeps the file's column order; one batch per
        // row group (the batch size is its rows).
        let schema = self.meta.schema();
        for &c in self.projection.iter().skip(1) {
            let name = schema.field(c).name();
            let j = batches
                .first()
                .map_or(Ok(0), |b| b.schema().index_of(name))
                .map_err(|e| bad(e.to_string()))?;
            let array = match batches.as_slice() {
                [] => arrow_array::new_empty_array(schema.field(c).data_type()),
                [one] => one.column(j).clone(),
                _ => {
                    let parts: Vec<&dyn Array> =
                        batches.iter().map(|b| b.column(j).as_ref()).collect();
                    arrow_select::concat::concat(&parts).map_err(|e| bad(e.to_string()))?
                }
            };
            chunk.columns.push(Column::new(array).map_err(|m| {
                bad(format!(
                    "row group {k} (from row {row0}), column `{name}`: {m}"
                ))
            })?);
        }
        Ok(chunk)
    }
}

/// Appends the coordinates of a geometry column's points to `chunk`.
fn read_xy(
    geom: &dyn Array,
    row0: i64,
    primary: &str,
    chunk: &mut PointChunk,
    bad: &dyn Fn(String) -> Error,
) -> Result<()> {
    let at = |i: usize, m: String| bad(format!("row {}, column `{primary}`: {m}", row0 + i as i64));
    let mut push = |i: usize, wkb: &[u8]| -> Result<()> {
        let p = wkb::read_point(wkb).map_err(|m| at(i, m))?;
        chunk.x.push(p.x());
        chunk.y.push(p.y());
        Ok(())
    };
    for i in 0..geom.len() {
        if geom.is_null(i) {
            return Err(at(i, "no geometry".into()));
        }
    }
    match geom.data_type() {
        DataType::Binary => {
            for (i, v) in geom.as_binary::<i32>().iter().enumerate() {
                push(i, v.unwrap_or_default())?;
            }
        }
        DataType::LargeBinary => {
            for (i, v) in geom.as_binary::<i64>().iter().enumerate() {
                push(i, v.unwrap_or_default())?;
            }
        }
        DataType::BinaryView => {
            for (i, v) in geom.as_binary_view().iter().enumerate() {
                push(i, v.unwrap_or_default())?;
            }
        }
        DataType::Struct(_) => {
            let s = geom.as_struct();
            let coord = |n: &str| -> Result<&Float64Array> {
                s.column_by_name(n)
                    .and_then(|c| c.as_primitive_opt::<Float64Type>())
                    .ok_or_else(|| at(0, format!("no double `{n}` in the point struct")))
            };
            chunk.x.extend(coord("x")?.values().iter());
            chunk.y.extend(coord("y")?.values().iter());
        }
        other => return Err(at(0, format!("type {other}; expected WKB binary"))),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{Geometry, Point};

    /// Text columns whose pages are all dictionary-encoded are read as
    /// dictionaries (values decoded once per row group); a column of
    /// unique ids, whose dictionary outgrows the writer's 1 MB page limit
    /// (65,536 ids of 25 bytes), as plain text.
    #[test]
    fn repeated_text_is_read_as_a_dictionary_and_unique_text_is_not() {
        let n: usize = 200_000;
        let layer = Layer {
            name: "r".into(),
            geometries: (0..n)
                .map(|i| Some(Geometry::Point(Point::new(9.0 + i as f64 * 1e-6, 45.5))))
                .collect(),
            columns: vec![
                (
                    "id".into(),
                    Values::Text((0..n).map(|i| Some(format!("resident-{i:016}"))).collect()),
                ),
                (
                    "municipality".into(),
                    Values::Text((0..n).map(|i| Some(format!("0160{:02}", i % 40))).collect()),
                ),
            ],
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.parquet");
        write(&layer, &path).unwrap();
        let chunks = open_chunks(&path).unwrap();
        assert_eq!(chunks.columns, ["id", "municipality"]);
        assert_eq!(chunks.chunk_rows.len(), n.div_ceil(ROW_GROUP));
        let last = chunks.chunk_rows.len() - 1;
        let c = chunks.read(last).unwrap();
        assert_eq!(c.columns[0].array.data_type(), &DataType::Utf8);
        assert!(matches!(
            c.columns[1].array.data_type(),
            DataType::Dictionary(_, _)
        ));
        let row = last * ROW_GROUP + 7;
        assert_eq!(c.locators[7], row as i64);
        assert_eq!(
            c.columns[0].text(7),
            Some(format!("resident-{row:016}").as_str())
        );
        assert_eq!(
            c.columns[1].text(7),
            Some(format!("0160{:02}", row % 40).as_str())
        );
        assert_eq!(c.x[7], 9.0 + row as f64 * 1e-6);
    }
}
