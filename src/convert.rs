//! `bacino convert IN OUT`: a dataset's source (residents, facilities:
//! points; areas: GeoJSON polygons) from one format to another, by
//! extension: CSV, GeoJSON, GeoPackage, GeoParquet in; the same and
//! FlatGeobuf out. Coordinates go out in WGS84 longitude/latitude,
//! transformed from the CRS the input declares (or `--crs` for CSV `x`,`y`).

use std::path::PathBuf;

use anyhow::Context;
use bacino_core::{Crs, ToWgs84};
use bacino_formats::{read_points, Format, Layer};

#[derive(clap::Args)]
pub(crate) struct ConvertArgs {
    /// Input file: .csv, .geojson/.json, .gpkg, .parquet.
    input: PathBuf,
    /// Output file: .csv, .geojson/.json, .fgb, .gpkg, .parquet.
    output: PathBuf,
    /// CRS of the input when it declares none (CSV with `x`,`y`), or to
    /// override what it declares, e.g. EPSG:3003.
    #[arg(long)]
    crs: Option<String>,
    /// The GeoPackage layer to read (when it holds several).
    #[arg(long)]
    layer: Option<String>,
}

pub(crate) fn convert(args: ConvertArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let out_format = Format::of(&args.output)?;
    // Areas: a GeoJSON of polygons goes through as features.
    if Format::of(&args.input)? == Format::GeoJson && !is_point_geojson(&args.input)? {
        if args.crs.is_some() {
            anyhow::bail!("--crs: GeoJSON is WGS84 (RFC 7946); there is nothing to transform");
        }
        let text = std::fs::read_to_string(&args.input)
            .with_context(|| format!("cannot read {}", args.input.display()))?;
        let fc: geojson::FeatureCollection = text.parse().with_context(|| {
            format!("{}: not a GeoJSON FeatureCollection", args.input.display())
        })?;
        let name = stem(&args.input);
        let layer = Layer::from_features(&name, &fc)?;
        if out_format == Format::Csv {
            anyhow::bail!("{}: polygons cannot go to CSV", args.output.display());
        }
        bacino_formats::write(&args.output, &layer)?;
        eprintln!(
            "{}: {} features in {:.2} s",
            args.output.display(),
            layer.len(),
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let table = read_points(&args.input, args.layer.as_deref())?;
    let crs: Crs = match (&args.crs, table.epsg) {
        (Some(c), _) => c.parse()?,
        (None, Some(code)) => format!("EPSG:{code}").parse()?,
        (None, None) => anyhow::bail!(
            "{}: `x`,`y` columns need --crs (e.g. --crs EPSG:3003); with `lon`,`lat` they are WGS84",
            args.input.display()
        ),
    };
    let to_wgs84 = ToWgs84::new(crs)?;
    let mut failure = None;
    let layer = Layer::from_points(&table, |x, y| match to_wgs84.transform(x, y) {
        Ok(p) => (p.lon, p.lat),
        Err(e) => {
            failure.get_or_insert(e);
            (f64::NAN, f64::NAN)
        }
    });
    if let Some(e) = failure {
        anyhow::bail!("{}: {e}", args.input.display());
    }
    for (i, g) in layer.geometries.iter().enumerate() {
        if let Some(geo_types::Geometry::Point(p)) = g {
            if !(p.x().abs() <= 180.0 && p.y().abs() <= 90.0) {
                anyhow::bail!(
                    "{}: {} {}: ({}, {}) in {crs} is not a place on Earth",
                    args.input.display(),
                    table.locator,
                    table.rows[i].locator,
                    table.rows[i].x,
                    table.rows[i].y
                );
            }
        }
    }
    bacino_formats::write(&args.output, &layer)?;
    eprintln!(
        "{}: {} points from {crs} in {:.2} s",
        args.output.display(),
        layer.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn stem(p: &std::path::Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether a GeoJSON file's first feature is a point (residents and
/// facilities) rather than a polygon (areas).
fn is_point_geojson(path: &std::path::Path) -> anyhow::Result<bool> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    Ok(v["features"][0]["geometry"]["type"] == "Point")
}
