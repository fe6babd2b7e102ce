//! FlatGeobuf: one schema of nullable columns, EPSG:4326, a packed
//! Hilbert R-tree. Features without a geometry are left out (FlatGeobuf
//! has no null geometry).

use std::path::Path;

use flatgeobuf::geozero::{ColumnValue, PropertyProcessor};
use flatgeobuf::{ColumnType as FgbType, FgbCrs, FgbWriter, FgbWriterOptions, GeometryType};

use crate::{wkb, Layer, Values};

pub(crate) fn write(layer: &Layer, path: &Path) -> std::result::Result<(), String> {
    let mut types = layer
        .geometries
        .iter()
        .flatten()
        .map(|g| wkb::type_name(g).0);
    let first = types.next();
    let same = first.filter(|t| types.all(|u| u == *t));
    let geometry_type = match same {
        Some("POINT") => GeometryType::Point,
        Some("MULTIPOINT") => GeometryType::MultiPoint,
        Some("LINESTRING") => GeometryType::LineString,
        Some("MULTILINESTRING") => GeometryType::MultiLineString,
        Some("POLYGON") | Some("MULTIPOLYGON") => GeometryType::MultiPolygon,
        _ => GeometryType::Unknown,
    };
    let options = FgbWriterOptions {
        write_index: true,
        detect_type: geometry_type == GeometryType::Unknown,
        promote_to_multi: geometry_type == GeometryType::MultiPolygon,
        crs: FgbCrs {
            code: 4326,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut fgb = FgbWriter::create_with_options(&layer.table_name(), geometry_type, options)
        .map_err(|e| e.to_string())?;
    for (name, v) in &layer.columns {
        let ty = match v {
            Values::Text(_) => FgbType::String,
            Values::Number(_) => FgbType::Double,
            Values::Bool(_) => FgbType::Bool,
        };
        fgb.add_column(name, ty, |_, col| col.nullable = true);
    }
    for (i, g) in layer.geometries.iter().enumerate() {
        let Some(g) = g else { continue };
        let mut error = None;
        fgb.add_feature_geom(g.clone(), |feat| {
            for (j, (name, v)) in layer.columns.iter().enumerate() {
                let written = match v {
                    Values::Text(v) => v[i]
                        .as_deref()
                        .map(|s| feat.property(j, name, &ColumnValue::String(s))),
                    Values::Number(v) => {
                        v[i].map(|x| feat.property(j, name, &ColumnValue::Double(x)))
                    }
                    Values::Bool(v) => v[i].map(|b| feat.property(j, name, &ColumnValue::Bool(b))),
                };
                if let Some(Err(e)) = written {
                    error.get_or_insert(e);
                }
            }
        })
        .map_err(|e| e.to_string())?;
        if let Some(e) = error {
            return Err(e.to_string());
        }
    }
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    fgb.write(std::io::BufWriter::new(file))
        .map_err(|e| e.to_string())
}
