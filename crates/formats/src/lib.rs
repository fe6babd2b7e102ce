//! The GIS formats bacino reads and writes, chosen by file extension:
//! GeoJSON, FlatGeobuf (`.fgb`), GeoPackage (`.gpkg`) and GeoParquet 1.1
//! (`.parquet`, with the bbox covering column) out; point tables
//! (residents, facilities) in from GeoPackage, GeoParquet, GeoJSON and CSV.
//! Everything is in WGS84 longitude/latitude (EPSG:4326) on the way out.
//!
//! ```
//! use bacino_formats::{write, Layer};
//!
//! let fc: geojson::FeatureCollection = r#"{"type": "FeatureCollection", "features": [
//!     {"type": "Feature", "geometry": {"type": "Point", "coordinates": [9.67, 45.69]},
//!      "properties": {"id": "GP0001", "capacity": 1500}}]}"#.parse().unwrap();
//! let layer = Layer::from_features("gps", &fc).unwrap();
//! let dir = tempfile::tempdir().unwrap();
//! for name in ["gps.gpkg", "gps.parquet", "gps.fgb", "gps.geojson"] {
//!     write(&dir.path().join(name), &layer).unwrap();
//! }
//! ```

use std::path::{Path, PathBuf};

use geo_types::Geometry;
use serde_json::Value;

mod chunks;
mod fgb;
mod geoparquet;
mod gpkg;
mod lines;
mod points;
pub mod wkb;

pub use chunks::{key_chunks, Column, PointChunk, PointChunks, ReadChunk, KEY_BLOCK_BITS};
pub use lines::LineCounter;
pub use points::{read_points, PointRow, PointTable};

/// The errors of reading and writing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file that cannot be read as what it claims to be, or lacks what
    /// is needed; the message names the layer, row and column.
    #[error("{}: {message}", path.display())]
    Input {
        /// The file.
        path: PathBuf,
        /// Where in it, and what was expected.
        message: String,
    },
    /// An extension bacino does not read or write.
    #[error("{}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What was expected.
        message: String,
    },
    /// Writing failed; nothing is left at the path.
    #[error("cannot write {}: {message}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// The result of this crate's functions.
pub type Result<T> = std::result::Result<T, Error>;

/// A file format, from the extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// `.geojson`, `.json`: RFC 7946.
    GeoJson,
    /// `.fgb`: FlatGeobuf with a packed R-tree.
    FlatGeobuf,
    /// `.gpkg`: OGC GeoPackage 1.2.
    GeoPackage,
    /// `.parquet`, `.geoparquet`: GeoParquet 1.1 (WKB, bbox covering).
    GeoParquet,
    /// `.csv`: points as `lon,lat` columns (input and `convert` only).
    Csv,
}

impl Format {
    /// The format of `path`, by extension (case-insensitive).
    pub fn of(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        match ext.as_str() {
            "geojson" | "json" => Ok(Format::GeoJson),
            "fgb" => Ok(Format::FlatGeobuf),
            "gpkg" => Ok(Format::GeoPackage),
            "parquet" | "geoparquet" => Ok(Format::GeoParquet),
            "csv" => Ok(Format::Csv),
            other => Err(Error::Format {
                path: path.to_owned(),
                message: format!(
                    "cannot tell the format from the extension `{other}`: expected .geojson, \
                     .json, .fgb, .gpkg, .parquet or .csv"
                ),
            }),
        }
    }
}

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Text (also JSON arrays and objects, as their JSON text).
    Text,
    /// 64-bit floats.
    Number,
    /// Booleans.
    Bool,
}

/// A column's values, one per feature; `None` is no value.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Text.
    Text(Vec<Option<String>>),
    /// Numbers.
    Number(Vec<Option<f64>>),
    /// Booleans.
    Bool(Vec<Option<bool>>),
}

impl Values {
    /// The column's type.
    pub fn column_type(&self) -> ColumnType {
        match self {
            Values::Text(_) => ColumnType::Text,
            Values::Number(_) => ColumnType::Number,
            Values::Bool(_) => ColumnType::Bool,
        }
    }

    /// How many values (features) it has.
    pub fn len(&self) -> usize {
        match self {
            Values::Text(v) => v.len(),
            Values::Number(v) => v.len(),
            Values::Bool(v) => v.len(),
        }
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value `i` as text (numbers in Rust's shortest round-trip form).
    pub fn text(&self, i: usize) -> Option<String> {
        match self {
            Values::Text(v) => v[i].clone(),
            Values::Number(v) => v[i].map(|x| x.to_string()),
            Values::Bool(v) => v[i].map(|b| b.to_string()),
        }
    }
}

/// A table of features in WGS84: geometries and typed columns, column by
/// column (millions of points stay compact).
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// The layer's (table's) name.
    pub name: String,
    /// One geometry per feature (`None`: a feature without one).
    pub geometries: Vec<Option<Geometry<f64>>>,
    /// The columns, in order: name and values.
    pub columns: Vec<(String, Values)>,
}

impl Layer {
    /// A layer from a GeoJSON FeatureCollection: every property becomes a
    /// column (in the order the features give them, first seen first), numbers if every value is a
    /// number or null, booleans likewise, text otherwise (arrays and
    /// objects as JSON text).
    pub fn from_features(name: &str, fc: &geojson::FeatureCollection) -> Result<Layer> {
        let mut names: Vec<String> = Vec::new();
        for f in &fc.features {
            for k in f.properties.iter().flat_map(|p| p.keys()) {
                if !names.iter().any(|n| n == k) {
                    names.push(k.clone());
                }
            }
        }
        fn value<'a>(f: &'a geojson::Feature, k: &str) -> Option<&'a Value> {
            f.properties.as_ref()?.get(k).filter(|v| !v.is_null())
        }
        let columns = names
            .into_iter()
            .map(|k| {
                let all =
                    |p: fn(&Value) -> bool| fc.features.iter().filter_map(|f| value(f, &k)).all(p);
                let any = fc.features.iter().any(|f| value(f, &k).is_some());
                let values = if any && all(Value::is_number) {
                    Values::Number(
                        fc.features
                            .iter()
                            .map(|f| value(f, &k).and_then(Value::as_f64))
                            .collect(),
                    )
                } else if any && all(Value::is_boolean) {
                    Values::Bool(
                        fc.features
                            .iter()
                            .map(|f| value(f, &k).and_then(Value::as_bool))
                            .collect(),
                    )
                } else {
                    Values::Text(
                        fc.features
                            .iter()
                            .map(|f| {
                                value(f, &k).map(|v| match v {
                                    Value::String(s) => s.clone(),
                                    other => other.to_string(),
                                })
                            })
                            .collect(),
                    )
                };
                (k, values)
            })
            .collect();
        let geometries = fc
            .features
            .iter()
            .enumerate()
            .map(|(i, f)| {
                f.geometry
                    .as_ref()
                    .map(|g| {
                        Geometry::<f64>::try_from(g.clone()).map_err(|e| Error::Format {
                            path: PathBuf::from(name),
                            message: format!("feature {i}: {e}"),
                        })
                    })
                    .transpose()
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Layer {
            name: name.to_owned(),
            geometries,
            columns,
        })
    }

    /// How many features.
    pub fn len(&self) -> usize {
        self.geometries.len()
    }

    /// Whether it has no feature.
    pub fn is_empty(&self) -> bool {
        self.geometries.is_empty()
    }

    /// The GeoJSON FeatureCollection of the layer.
    pub fn to_features(&self) -> geojson::FeatureCollection {
        let features = (0..self.len())
            .map(|i| {
                let mut props = serde_json::Map::new();
                for (name, values) in &self.columns {
                    let v = match values {
                        Values::Text(v) => v[i].clone().map(Value::from),
                        // Whole numbers as integers: 1500, not 1500.0.
                        Values::Number(v) => v[i].and_then(|x| {
                            if x.fract() == 0.0 && x.abs() < 9e15 {
                                Some(Value::from(x as i64))
                            } else {
                                serde_json::Number::from_f64(x).map(Value::Number)
                            }
                        }),
                        Values::Bool(v) => v[i].map(Value::from),
                    };
                    props.insert(name.clone(), v.unwrap_or(Value::Null));
                }
                geojson::Feature {
                    bbox: None,
                    geometry: self.geometries[i]
                        .as_ref()
                        .map(|g| geojson::Geometry::new(geojson::Value::from(g))),
                    id: None,
                    properties: Some(props),
                    foreign_members: None,
                }
            })
            .collect();
        geojson::FeatureCollection {
            bbox: None,
            features,
            foreign_members: None,
        }
    }

    /// The layer's name made safe as an SQL identifier and file layer name.
    pub(crate) fn table_name(&self) -> String {
        let s: String = self
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
            format!("layer_{s}")
        } else {
            s
        }
    }
}

/// Writes `layer` to `path` in the format its extension names. The file
/// appears whole or not at all (written beside it, then renamed).
pub fn write(path: &Path, layer: &Layer) -> Result<()> {
    let format = Format::of(path)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.part"));
    let _ = std::fs::remove_file(&tmp);
    let fail = |message: String| Error::Write {
        path: path.to_owned(),
        message,
    };
    let result = match format {
        Format::GeoJson => {
            std::fs::write(&tmp, layer.to_features().to_string() + "\n").map_err(|e| e.to_string())
        }
        Format::FlatGeobuf => fgb::write(layer, &tmp),
        Format::GeoPackage => gpkg::write(layer, &tmp),
        Format::GeoParquet => geoparquet::write(layer, &tmp),
        Format::Csv => points::write_csv(layer, &tmp),
    };
    match result.and_then(|()| std::fs::rename(&tmp, path).map_err(|e| e.to_string())) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(fail(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fc() -> geojson::FeatureCollection {
        r#"{"type": "FeatureCollection", "features": [
          {"type": "Feature", "geometry": {"type": "Point", "coordinates": [9.6, 45.6]},
           "properties": {"id": "A", "population": 12, "suppressed": false, "ids": ["x", "y"]}},
          {"type": "Feature", "geometry": null,
           "properties": {"id": "B", "population": null, "suppressed": true, "extra": "only here"}}]}"#
            .parse()
            .unwrap()
    }

    #[test]
    fn columns_take_the_type_every_value_shares() {
        let l = Layer::from_features("t", &fc()).unwrap();
        let names: Vec<(&str, ColumnType)> = l
            .columns
            .iter()
            .map(|(n, v)| (n.as_str(), v.column_type()))
            .collect();
        assert_eq!(
            names,
            [
                ("id", ColumnType::Text),
                ("ids", ColumnType::Text),
                ("population", ColumnType::Number),
                ("suppressed", ColumnType::Bool),
                ("extra", ColumnType::Text),
            ]
        );
        assert_eq!(l.columns[2].1, Values::Number(vec![Some(12.0), None]));
        assert_eq!(l.columns[1].1.text(0).as_deref(), Some(r#"["x","y"]"#));
        assert_eq!(l.columns[4].1.text(0), None);
        assert_eq!(l.geometries[1], None);
    }

    #[test]
    fn formats_come_from_the_extension() {
        assert_eq!(
            Format::of(Path::new("a/b.GPKG")).unwrap(),
            Format::GeoPackage
        );
        assert_eq!(
            Format::of(Path::new("b.parquet")).unwrap(),
            Format::GeoParquet
        );
        let e = Format::of(Path::new("b.shp")).unwrap_err().to_string();
        assert!(e.contains("`shp`") && e.contains(".gpkg"), "{e}");
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let l = Layer::from_features("t", &fc()).unwrap();
        // A directory in the way of the rename.
        let path = dir.path().join("out.gpkg");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("x"), "").unwrap();
        assert!(write(&path, &l).is_err());
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only the directory");
    }
}
