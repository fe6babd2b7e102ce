//! `--out FILE` of every command that draws a layer (catchments,
//! isochrones, access and coverage by area, siting's sites): the format
//! comes from the extension (CONTRACT §10): `.geojson`/`.json`, `.fgb`
//! (FlatGeobuf), `.gpkg` (GeoPackage), `.parquet` (GeoParquet 1.1). The
//! file appears whole or not at all.

use std::path::Path;

use anyhow::Context;
use bacino_formats::{Format, Layer};

/// Writes the layer `name`: GeoJSON as `geojson` gives it (the text
/// bacino prints), any other format from the features.
pub(crate) fn write(
    path: &Path,
    name: &str,
    features: &geojson::FeatureCollection,
    geojson: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    match Format::of(path)? {
        Format::GeoJson => {
            let tmp = path.with_extension("geojson.part");
            std::fs::write(&tmp, geojson() + "\n")
                .and_then(|()| std::fs::rename(&tmp, path))
                .inspect_err(|_| {
                    let _ = std::fs::remove_file(&tmp);
                })
                .with_context(|| format!("cannot write {}", path.display()))
        }
        Format::Csv => anyhow::bail!(
            "{}: a layer is written as .geojson, .fgb, .gpkg or .parquet",
            path.display()
        ),
        _ => {
            let layer = Layer::from_features(name, features)?;
            bacino_formats::write(path, &layer)?;
            Ok(())
        }
    }
}
