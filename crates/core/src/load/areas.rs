//! The areas file (GeoJSON polygons).

use super::*;

// --------------------------------------------------------------------- areas

pub(super) fn load_areas(
    path: &Path,
    crs: Crs,
    id_property: &str,
    name_property: Option<&str>,
) -> Result<Areas> {
    let bytes = read_bytes(path)?;
    let fc = parse_feature_collection(path, &bytes)?;
    areas_from(path, &fc, crs, id_property, name_property, None)
}

/// The areas of a collection of polygon features in `crs`; `records`
/// names the features (a table's label and each feature's key) when they
/// come from a table.
pub(super) fn areas_from(
    path: &Path,
    fc: &geojson::FeatureCollection,
    crs: Crs,
    id_property: &str,
    name_property: Option<&str>,
    records: Option<(&str, &[String])>,
) -> Result<Areas> {
    let transform = ToWgs84::new(crs)?;
    let name_of = |i: usize| match records {
        Some((label, keys)) => record_name(label, &keys[i]),
        None => format!("feature #{i}"),
    };
    let mut ids = Vec::new();
    let mut names = Vec::new();
    let mut geometry = Vec::new();
    let mut seen = HashMap::new();
    for (i, f) in fc.features.iter().enumerate() {
        let bad = |field: &str, m: String| {
            let mut loc = Location::file(path);
            match records {
                Some(_) => loc.record = Some(name_of(i)),
                None => loc.feature = Some(i),
            }
            loc.field = Some(field.to_owned());
            Error::input(loc, m)
        };
        let prop = |k: &str| {
            f.properties
                .as_ref()
                .and_then(|p| p.get(k))
                .map(json_scalar)
        };
        let id = prop(id_property).filter(|s| !s.is_empty()).ok_or_else(|| {
            bad(
                id_property,
                format!("expected property `{id_property}` (the area id)"),
            )
        })?;
        if let Some(prev) = seen.insert(id.clone(), i) {
            return Err(bad(
                id_property,
                format!("duplicate area id `{id}` (first in {})", name_of(prev)),
            ));
        }
        let to_ring = |ring: &Vec<Vec<f64>>| -> Result<LineString<f64>> {
            ring.iter()
                .map(|c| {
                    if c.len() < 2 {
                        return Err(bad("geometry", "expected [x, y] positions".into()));
                    }
                    let p = transform
                        .transform(c[0], c[1])
                        .map_err(|e| bad("geometry", e.to_string()))?;
                    Ok(Coord { x: p.lon, y: p.lat })
                })
                .collect()
        };
        let to_poly = |rings: &Vec<Vec<Vec<f64>>>| -> Result<Polygon<f64>> {
            let mut it = rings.iter();
            let ext = it.next().ok_or_else(|| {
                bad(
                    "geometry",
                    "expected a polygon with an exterior ring".into(),
                )
            })?;
            Ok(Polygon::new(
                to_ring(ext)?,
                it.map(to_ring).collect::<Result<_>>()?,
            ))
        };
        let mp = match f.geometry.as_ref().map(|g| &g.value) {
            Some(geojson::Value::Polygon(p)) => MultiPolygon(vec![to_poly(p)?]),
            Some(geojson::Value::MultiPolygon(ps)) => {
                MultiPolygon(ps.iter().map(to_poly).collect::<Result<_>>()?)
            }
            Some(other) => {
                return Err(bad(
                    "geometry",
                    format!(
                        "expected a Polygon or MultiPolygon, found {}",
                        other.type_name()
                    ),
                ))
            }
            None => {
                return Err(bad(
                    "geometry",
                    "expected a Polygon or MultiPolygon, found none".into(),
                ))
            }
        };
        ids.push(id);
        names.push(name_property.and_then(prop).filter(|s| !s.is_empty()));
        geometry.push(mp);
    }
    Ok(Areas::new(ids, names, geometry))
}
