//! Figures by area as a map layer: the dataset's area polygons with one
//! group's figures each, as GeoJSON or FlatGeobuf (`bacino access --out`,
//! `bacino coverage --out`). Suppressed groups keep only their identity.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use bacino_core::Dataset;
use serde_json::{json, Map, Value};

/// A column of the layer: its name and whether it holds numbers (else
/// text); `suppressed` is a boolean column of every layer.
pub(crate) type Column = (&'static str, bool);

/// Writes `groups` (a report's `groups`, keyed by area id) onto the areas
/// of `dataset` at `path`: FlatGeobuf for `.fgb`, GeoJSON otherwise. The
/// file appears whole or not at all.
pub(crate) fn write(
    dataset: &Dataset,
    name: &str,
    columns: &[Column],
    groups: &[Value],
    path: &Path,
) -> anyhow::Result<()> {
    let areas = dataset.areas().with_context(|| {
        format!(
            "--out needs areas: dataset `{}` has no [areas]",
            dataset.name
        )
    })?;
    let by_key: HashMap<&str, &Map<String, Value>> = groups
        .iter()
        .filter_map(|g| Some((g.get("key")?.as_str()?, g.as_object()?)))
        .collect();
    let features: Vec<Map<String, Value>> = (0..areas.len())
        .map(|i| {
            let mut props = Map::new();
            props.insert("area_id".into(), json!(areas.id(i)));
            props.insert("name".into(), json!(areas.name(i)));
            match by_key.get(areas.id(i)) {
                Some(g) if g.get("suppressed") == Some(&Value::Bool(true)) => {
                    props.insert("suppressed".into(), json!(true));
                }
                Some(g) => {
                    props.insert("suppressed".into(), json!(false));
                    for (c, _) in columns {
                        if let Some(v) = g.get(*c) {
                            props.insert((*c).into(), v.clone());
                        }
                    }
                }
                // Nobody lives there.
                None => {
                    props.insert("suppressed".into(), json!(false));
                    props.insert("population".into(), json!(0));
                }
            }
            props
        })
        .collect();
    let tmp = path.with_extension(format!(
        "{}.part",
        path.extension().and_then(|e| e.to_str()).unwrap_or("out")
    ));
    let result = if crate::is_fgb(path) {
        write_fgb(dataset, name, columns, &features, &tmp)
    } else {
        let fc = geojson::FeatureCollection {
            bbox: None,
            features: features
                .into_iter()
                .enumerate()
                .map(|(i, props)| geojson::Feature {
                    bbox: None,
                    geometry: Some(geojson::Geometry::new(geojson::Value::from(
                        areas.geometry(i),
                    ))),
                    id: Some(geojson::feature::Id::String(areas.id(i).to_owned())),
                    properties: Some(props),
                    foreign_members: None,
                })
                .collect(),
            foreign_members: None,
        };
        std::fs::write(&tmp, fc.to_string() + "\n").map_err(anyhow::Error::from)
    };
    match result.and_then(|()| std::fs::rename(&tmp, path).map_err(anyhow::Error::from)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e).with_context(|| format!("cannot write {}", path.display()))
        }
    }
}

#[cfg(feature = "flatgeobuf")]
fn write_fgb(
    dataset: &Dataset,
    name: &str,
    columns: &[Column],
    features: &[Map<String, Value>],
    path: &Path,
) -> anyhow::Result<()> {
    use flatgeobuf::ColumnType;
    let areas = dataset.areas().expect("checked by the caller");
    let mut cols: Vec<(&str, ColumnType)> = vec![
        ("area_id", ColumnType::String),
        ("name", ColumnType::String),
        ("suppressed", ColumnType::Bool),
    ];
    cols.extend(columns.iter().map(|&(c, number)| {
        (
            c,
            if number {
                ColumnType::Double
            } else {
                ColumnType::String
            },
        )
    }));
    let file = std::fs::File::create(path)?;
    crate::fgb::write_polygons(
        name,
        &cols,
        features
            .iter()
            .enumerate()
            .map(|(i, p)| (areas.geometry(i), p.clone())),
        std::io::BufWriter::new(file),
    )
}

#[cfg(not(feature = "flatgeobuf"))]
fn write_fgb(
    _: &Dataset,
    _: &str,
    _: &[Column],
    _: &[Map<String, Value>],
    path: &Path,
) -> anyhow::Result<()> {
    anyhow::bail!(
        "{}: this build has no FlatGeobuf support (feature `flatgeobuf`)",
        path.display()
    )
}
