//! FlatGeobuf output of catchments: the GeoJSON properties as fixed,
//! nullable columns (FlatGeobuf needs one schema for every feature).

use std::io::Write;

use bacino_core::Catchments;
use flatgeobuf::geozero::ColumnValue;
use flatgeobuf::{ColumnType, FgbCrs, FgbWriter, FgbWriterOptions, GeometryType};

/// Column name and type; the values come from each feature's GeoJSON
/// properties by name.
const COLUMNS: [(&str, ColumnType); 14] = [
    ("facility_id", ColumnType::String),
    ("facility_ids", ColumnType::String),
    ("kind", ColumnType::String),
    ("name", ColumnType::String),
    ("band_min_m", ColumnType::Double),
    ("band_max_m", ColumnType::Double),
    ("suppressed", ColumnType::Bool),
    ("population", ColumnType::Double),
    ("median_m", ColumnType::Double),
    ("p90_m", ColumnType::Double),
    ("capacity", ColumnType::Double),
    ("list_size", ColumnType::Double),
    ("load", ColumnType::Double),
    ("area_km2", ColumnType::Double),
];

/// Writes the catchments that have a geometry as a FlatGeobuf file of
/// MultiPolygons in EPSG:4326, with a spatial index. Features without a
/// geometry (an `assigned` facility with no qualifying cell) are left out.
pub fn write(result: &Catchments, out: impl Write) -> anyhow::Result<()> {
    let name = format!("{}-{}-{}", result.dataset, result.kind, result.method);
    let features = result
        .features
        .iter()
        .filter_map(|f| Some((f.geometry.as_ref()?, f.properties.to_json())));
    write_polygons(&name, &COLUMNS, features, out)
}

/// Writes MultiPolygons with properties as a FlatGeobuf file in EPSG:4326
/// with a spatial index: one nullable column per `columns` entry, filled
/// from each feature's properties by name (absent or null: no value).
pub fn write_polygons<'a>(
    name: &str,
    columns: &[(&str, ColumnType)],
    features: impl Iterator<
        Item = (
            &'a geo_types::MultiPolygon<f64>,
            serde_json::Map<String, serde_json::Value>,
        ),
    >,
    out: impl Write,
) -> anyhow::Result<()> {
    let options = FgbWriterOptions {
        write_index: true,
        detect_type: false,
        promote_to_multi: true,
        crs: FgbCrs {
            code: 4326,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut fgb = FgbWriter::create_with_options(name, GeometryType::MultiPolygon, options)?;
    for (name, ty) in columns {
        fgb.add_column(name, *ty, |_, col| col.nullable = true);
    }
    for (geometry, props) in features {
        let mut error = None;
        fgb.add_feature_geom(geo_types_geometry(geometry), |feat| {
            for (i, (name, ty)) in columns.iter().enumerate() {
                let value = match (name, props.get(*name)) {
                    (_, None | Some(serde_json::Value::Null)) => continue,
                    (&"facility_ids", Some(v)) => v.to_string(),
                    (_, Some(serde_json::Value::String(s))) => s.clone(),
                    (_, Some(v)) => v.to_string(),
                };
                let written = match *ty {
                    ColumnType::String => flatgeobuf::geozero::PropertyProcessor::property(
                        feat,
                        i,
                        name,
                        &ColumnValue::String(&value),
                    ),
                    ColumnType::Bool => flatgeobuf::geozero::PropertyProcessor::property(
                        feat,
                        i,
                        name,
                        &ColumnValue::Bool(value == "true"),
                    ),
                    _ => match value.parse::<f64>() {
                        Ok(x) => flatgeobuf::geozero::PropertyProcessor::property(
                            feat,
                            i,
                            name,
                            &ColumnValue::Double(x),
                        ),
                        Err(_) => continue,
                    },
                };
                if let Err(e) = written {
                    error.get_or_insert(e);
                }
            }
        })?;
        if let Some(e) = error {
            return Err(e.into());
        }
    }
    fgb.write(out)?;
    Ok(())
}

fn geo_types_geometry(mp: &geo_types::MultiPolygon<f64>) -> geo_types::Geometry<f64> {
    geo_types::Geometry::MultiPolygon(mp.clone())
}
