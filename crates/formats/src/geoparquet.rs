//! GeoParquet 1.1: geometries as WKB in `geometry`, the bbox covering
//! column `bbox` (struct of xmin, ymin, xmax, ymax), the `geo` metadata;
//! row groups of 65,536 rows, Snappy-compressed. Point layers read back
//! (WKB or the native `point` encoding, any EPSG CRS).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Float64Array, RecordBatch, StringArray, StructArray,
};
use arrow_schema::{DataType, Field, Fields, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use serde_json::{json, Value};

use crate::points::{PointRow, PointTable};
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

/// One cell as text.
fn cell(a: &dyn Array, i: usize) -> std::result::Result<Option<String>, String> {
    if a.is_null(i) {
        return Ok(None);
    }
    Ok(Some(match a.data_type() {
        DataType::Utf8 => a.as_string::<i32>().value(i).to_owned(),
        DataType::LargeUtf8 => a.as_string::<i64>().value(i).to_owned(),
        DataType::Utf8View => a.as_string_view().value(i).to_owned(),
        DataType::Boolean => a.as_boolean().value(i).to_string(),
        DataType::Int8 => a.as_primitive::<Int8Type>().value(i).to_string(),
        DataType::Int16 => a.as_primitive::<Int16Type>().value(i).to_string(),
        DataType::Int32 => a.as_primitive::<Int32Type>().value(i).to_string(),
        DataType::Int64 => a.as_primitive::<Int64Type>().value(i).to_string(),
        DataType::UInt8 => a.as_primitive::<UInt8Type>().value(i).to_string(),
        DataType::UInt16 => a.as_primitive::<UInt16Type>().value(i).to_string(),
        DataType::UInt32 => a.as_primitive::<UInt32Type>().value(i).to_string(),
        DataType::UInt64 => a.as_primitive::<UInt64Type>().value(i).to_string(),
        DataType::Float32 => a.as_primitive::<Float32Type>().value(i).to_string(),
        DataType::Float64 => a.as_primitive::<Float64Type>().value(i).to_string(),
        DataType::Dictionary(_, _) => {
            let d = a.as_any_dictionary();
            let k = d.normalized_keys()[i];
            return cell(d.values().as_ref(), k);
        }
        other => return Err(format!("type {other}; expected text, numbers or booleans")),
    }))
}

/// Reads the points of a GeoParquet file.
pub(crate) fn read_points(path: &Path) -> Result<PointTable> {
    let bad = |message: String| Error::Input {
        path: path.to_owned(),
        message,
    };
    let file = File::open(path).map_err(|e| bad(e.to_string()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| bad(format!("not a readable Parquet file: {e}")))?;
    let geo: Value = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == "geo"))
        .and_then(|k| k.value.clone())
        .or_else(|| builder.schema().metadata().get("geo").cloned())
        .ok_or_else(|| bad("a Parquet file without GeoParquet `geo` metadata".into()))
        .and_then(|v| serde_json::from_str(&v).map_err(|e| bad(format!("`geo` metadata: {e}"))))?;
    let primary = geo["primary_column"]
        .as_str()
        .ok_or_else(|| bad("`geo` metadata without primary_column".into()))?
        .to_owned();
    let meta = &geo["columns"][&primary];
    let encoding = meta["encoding"].as_str().unwrap_or("");
    if !matches!(encoding, "WKB" | "point") {
        return Err(bad(format!(
            "column `{primary}` is encoded as `{encoding}`; expected WKB or point"
        )));
    }
    if let Some(types) = meta["geometry_types"].as_array() {
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
    let epsg = epsg_of(meta.get("crs")).map_err(|m| bad(format!("column `{primary}`: {m}")))?;
    let covering = meta["covering"]["bbox"]["xmin"][0]
        .as_str()
        .map(str::to_owned);
    let schema = builder.schema().clone();
    let columns: Vec<(usize, String)> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| *f.name() != primary && Some(f.name()) != covering.as_ref())
        .map(|(i, f)| (i, f.name().clone()))
        .collect();
    let g = schema
        .index_of(&primary)
        .map_err(|_| bad(format!("no column `{primary}`")))?;
    let reader = builder
        .with_batch_size(ROW_GROUP)
        .build()
        .map_err(|e| bad(e.to_string()))?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| bad(format!("row {}: {e}", rows.len())))?;
        let geom = batch.column(g);
        for i in 0..batch.num_rows() {
            let row = rows.len() as i64;
            let at = |col: &str, m: String| bad(format!("row {row}, column `{col}`: {m}"));
            if geom.is_null(i) {
                return Err(at(&primary, "no geometry".into()));
            }
            let (x, y) = match geom.data_type() {
                DataType::Binary => {
                    let p = wkb::read_point(geom.as_binary::<i32>().value(i))
                        .map_err(|m| at(&primary, m))?;
                    (p.x(), p.y())
                }
                DataType::LargeBinary => {
                    let p = wkb::read_point(geom.as_binary::<i64>().value(i))
                        .map_err(|m| at(&primary, m))?;
                    (p.x(), p.y())
                }
                DataType::BinaryView => {
                    let p = wkb::read_point(geom.as_binary_view().value(i))
                        .map_err(|m| at(&primary, m))?;
                    (p.x(), p.y())
                }
                DataType::Struct(_) => {
                    let s = geom.as_struct();
                    let xy = |n: &str| -> std::result::Result<f64, Error> {
                        let c = s
                            .column_by_name(n)
                            .ok_or_else(|| at(&primary, format!("no `{n}` in the point struct")))?;
                        Ok(c.as_primitive::<Float64Type>().value(i))
                    };
                    (xy("x")?, xy("y")?)
                }
                other => return Err(at(&primary, format!("type {other}; expected WKB binary"))),
            };
            let mut values = Vec::with_capacity(columns.len());
            for (c, name) in &columns {
                values.push(cell(batch.column(*c).as_ref(), i).map_err(|m| at(name, m))?);
            }
            rows.push(PointRow {
                locator: row,
                x,
                y,
                values,
            });
        }
    }
    Ok(PointTable {
        layer: path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        locator: "row".into(),
        columns: columns.into_iter().map(|(_, n)| n).collect(),
        rows,
        epsg: Some(epsg),
    })
}
