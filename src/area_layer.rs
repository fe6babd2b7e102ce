//! Figures by area as a map layer: the dataset's area polygons with one
//! group's figures each, as GeoJSON, FlatGeobuf, GeoPackage or GeoParquet
//! (`bacino access --out`, `bacino coverage --out`). Suppressed groups keep only their identity.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use bacino_core::Dataset;
use serde_json::{json, Map, Value};

/// A column of the layer: its name and whether it holds numbers (else
/// text); `suppressed` is a boolean column of every layer.
pub(crate) type Column = (&'static str, bool);

/// Writes `groups` (a report's `groups`, keyed by area id) onto the areas
/// of `dataset` at `path`, in the format its extension names (`.geojson`,
/// `.fgb`, `.gpkg`, `.parquet`). The file appears whole or not at all.
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
    crate::out::write(path, name, &fc, || fc.to_string())
}
