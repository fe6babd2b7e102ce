//! `dataset.toml`, the manifest of a dataset directory (CONTRACT §1).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::crs::Crs;
use crate::error::{Error, Location, Result};

/// The parsed manifest. Unknown keys are rejected so typos surface early.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// URL-safe id, `[a-z0-9-]+`.
    pub name: String,
    /// Human title.
    #[serde(default)]
    pub title: Option<String>,
    /// Default CRS of coordinates in CSV files.
    #[serde(default)]
    pub crs: Option<String>,
    /// Facilities file.
    pub facilities: Source,
    /// Residents file.
    pub residents: Source,
    /// Optional area polygons.
    #[serde(default)]
    pub areas: Option<AreasSource>,
    /// Optional road network (CONTRACT §5).
    #[serde(default)]
    pub network: Option<NetworkSource>,
    /// Optional origin–destination cost table (CONTRACT §5, metric `table`).
    #[serde(default)]
    pub costs: Option<CostsSource>,
    /// Optional Ambulatori Diffusi agenda slots (CONTRACT §9).
    #[serde(default)]
    pub agendas: Option<AgendasSource>,
}

/// `[agendas]`: AD agenda slots, one row per AD GP and day.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgendasSource {
    /// CSV with columns `gp_id`, `date` (YYYY-MM-DD), `slots_available`,
    /// `slots_booked`.
    pub path: PathBuf,
}

/// `[costs]`: a table of costs per (resident id, facility id).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostsSource {
    /// CSV with columns `origin` (resident id), `dest` (facility id), `cost`.
    pub path: PathBuf,
    /// `s` (seconds) or `m` (metres).
    pub unit: String,
}

/// `[network]`: an OpenStreetMap extract and profile overrides.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSource {
    /// The `.osm.pbf` extract, relative to the manifest's directory.
    pub path: PathBuf,
    /// Points farther than this from every usable road are unreachable
    /// (default 1000 m).
    #[serde(default)]
    pub snap_max_m: Option<f64>,
    /// `[network.car]` overrides.
    #[serde(default)]
    pub car: Option<ProfileOverrides>,
    /// `[network.foot]` overrides.
    #[serde(default)]
    pub foot: Option<ProfileOverrides>,
}

/// Overrides of a built-in profile.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileOverrides {
    /// Speed per `highway=*` class, km/h.
    #[serde(default)]
    pub speed_kmh: std::collections::BTreeMap<String, f64>,
    /// Use ferries (`route=ferry`); off by default.
    #[serde(default)]
    pub ferries: Option<bool>,
}

/// A point layer: a file (CSV, GeoJSON, GeoPackage, GeoParquet) or a
/// PostGIS table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Path, relative to the manifest's directory.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// A PostgreSQL URL, with `table`: read the layer from PostGIS.
    #[serde(default)]
    pub postgres: Option<String>,
    /// The PostGIS table (`name` or `schema.name`).
    #[serde(default)]
    pub table: Option<String>,
    /// The table's geometry column, when it has several.
    #[serde(default)]
    pub geometry: Option<String>,
    /// CRS override for this file.
    #[serde(default)]
    pub crs: Option<String>,
}

/// Where a layer's rows are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file.
    File(PathBuf),
    /// A PostGIS table (in the SRID of its geometry column).
    Postgis(bacino_postgis::PgTable),
}

impl Input {
    /// What messages call the source: the file, or the URL without its
    /// password.
    pub fn name(&self) -> PathBuf {
        match self {
            Input::File(p) => p.clone(),
            Input::Postgis(t) => PathBuf::from(t.source()),
        }
    }
}

/// The input a section names: `path`, or `postgres` with `table` (and
/// then no `crs`: the table's SRID is used).
fn resolve_input(
    section: &str,
    base: &Path,
    path: &Option<PathBuf>,
    postgres: &Option<String>,
    table: &Option<String>,
    geometry: &Option<String>,
    crs: &Option<String>,
) -> std::result::Result<Input, (String, String)> {
    let field = |k: &str| format!("{section}.{k}");
    match (path, postgres, table) {
        (Some(p), None, None) => {
            if geometry.is_some() {
                return Err((
                    field("geometry"),
                    "expected `geometry` only with `postgres` and `table` (a file's geometry \
                     is its own)"
                        .into(),
                ));
            }
            Ok(Input::File(base.join(p)))
        }
        (None, Some(url), Some(table)) => {
            if crs.is_some() {
                return Err((
                    field("crs"),
                    "a PostGIS table's geometry carries its SRID: remove `crs`".into(),
                ));
            }
            if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
                return Err((
                    field("postgres"),
                    format!(
                        "expected a postgres:// URL, found `{}`",
                        bacino_postgis::redact(url)
                    ),
                ));
            }
            Ok(Input::Postgis(bacino_postgis::PgTable {
                url: url.clone(),
                table: table.clone(),
                geometry: geometry.clone(),
            }))
        }
        (None, Some(_), None) => Err((
            field("table"),
            "expected `table` (the PostGIS table) with `postgres`".into(),
        )),
        (None, None, Some(_)) => Err((
            field("postgres"),
            "expected `postgres` (the database URL) with `table`".into(),
        )),
        (Some(_), _, _) => Err((
            field("path"),
            "expected either `path` (a file) or `postgres` and `table`, not both".into(),
        )),
        (None, None, None) => Err((
            field("path"),
            "expected `path` (a file) or `postgres` and `table` (a PostGIS table)".into(),
        )),
    }
}

/// The areas: a GeoJSON file of polygons or a PostGIS table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreasSource {
    /// Path, relative to the manifest's directory.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// A PostgreSQL URL, with `table`: read the areas from PostGIS.
    #[serde(default)]
    pub postgres: Option<String>,
    /// The PostGIS table.
    #[serde(default)]
    pub table: Option<String>,
    /// The table's geometry column, when it has several.
    #[serde(default)]
    pub geometry: Option<String>,
    /// Property holding the area id (e.g. the ISTAT code).
    #[serde(default = "default_id_property")]
    pub id_property: String,
    /// Property holding the area name.
    #[serde(default)]
    pub name_property: Option<String>,
    /// CRS of the file when it is not WGS84 (RFC 7946 files always are).
    #[serde(default)]
    pub crs: Option<String>,
}

fn default_id_property() -> String {
    "id".to_owned()
}

/// A manifest with its paths resolved and CRSs parsed.
#[derive(Debug, Clone)]
pub struct ResolvedManifest {
    /// The manifest file.
    pub path: PathBuf,
    /// Parsed content.
    pub manifest: Manifest,
    /// The facilities' file or table.
    pub facilities: Input,
    /// CRS of the facilities file.
    pub facilities_crs: Crs,
    /// The residents' file or table.
    pub residents: Input,
    /// CRS of the residents file.
    pub residents_crs: Crs,
    /// The areas' file or table, and CRS.
    pub areas: Option<(Input, Crs, AreasSource)>,
    /// The road network's extract and both profiles, validated.
    pub network: Option<Vec<bacino_network::NetworkSpec>>,
    /// The cost table's resolved path and unit.
    pub costs: Option<(PathBuf, crate::costs::CostUnit)>,
    /// The agendas' resolved path.
    pub agendas: Option<PathBuf>,
}

/// True for `[a-z0-9-]+`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl ResolvedManifest {
    /// Reads `DIR/dataset.toml` (or the given `.toml` file).
    pub fn read(dir_or_file: &Path) -> Result<Self> {
        let path = if dir_or_file.is_dir() {
            dir_or_file.join("dataset.toml")
        } else {
            dir_or_file.to_path_buf()
        };
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let manifest: Manifest = toml::from_str(&text).map_err(|e| {
            let mut loc = Location::file(&path);
            if let Some(span) = e.span() {
                let before = &text[..span.start.min(text.len())];
                loc.line = Some(before.matches('\n').count() as u64 + 1);
                loc.column = Some(before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1);
            }
            Error::input(loc, format!("invalid manifest: {}", e.message()))
        })?;
        let bad = |field: &str, message: String| {
            let mut loc = Location::file(&path);
            loc.field = Some(field.to_owned());
            Error::input(loc, message)
        };
        if !is_valid_name(&manifest.name) {
            return Err(bad(
                "name",
                format!(
                    "expected a URL-safe id ([a-z0-9-]+), found `{}`",
                    manifest.name
                ),
            ));
        }
        let parse_crs = |field: &str, s: &Option<String>, default: Crs| -> Result<Crs> {
            match s {
                None => Ok(default),
                Some(s) => s
                    .parse()
                    .map_err(|e: bacino_crs::Error| bad(field, e.to_string())),
            }
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let dataset_crs = parse_crs("crs", &manifest.crs, Crs::WGS84)?;
        let facilities_crs = parse_crs("facilities.crs", &manifest.facilities.crs, dataset_crs)?;
        let residents_crs = parse_crs("residents.crs", &manifest.residents.crs, dataset_crs)?;
        let input = |section: &str, s: &Source| {
            resolve_input(
                section,
                base,
                &s.path,
                &s.postgres,
                &s.table,
                &s.geometry,
                &s.crs,
            )
            .map_err(|(field, m)| bad(&field, m))
        };
        let facilities = input("facilities", &manifest.facilities)?;
        let residents = input("residents", &manifest.residents)?;
        let areas = match &manifest.areas {
            None => None,
            Some(a) => Some((
                resolve_input(
                    "areas",
                    base,
                    &a.path,
                    &a.postgres,
                    &a.table,
                    &a.geometry,
                    &a.crs,
                )
                .map_err(|(field, m)| bad(&field, m))?,
                parse_crs("areas.crs", &a.crs, Crs::WGS84)?,
                a.clone(),
            )),
        };
        let network = match &manifest.network {
            None => None,
            Some(n) => {
                let snap_max_m = n.snap_max_m.unwrap_or(bacino_network::DEFAULT_SNAP_MAX_M);
                if !(snap_max_m.is_finite() && snap_max_m > 0.0) {
                    return Err(bad(
                        "network.snap_max_m",
                        format!("expected a positive distance in metres, found {snap_max_m}"),
                    ));
                }
                let path = base.join(&n.path);
                let mut specs = Vec::new();
                for (name, o) in [
                    (bacino_network::ProfileName::Car, &n.car),
                    (bacino_network::ProfileName::Foot, &n.foot),
                ] {
                    let o = o.clone().unwrap_or_default();
                    let mut profile = bacino_network::Profile::with_overrides(name, &o.speed_kmh)
                        .map_err(|e| {
                        bad(&format!("network.{name}.speed_kmh"), e.to_string())
                    })?;
                    if let Some(f) = o.ferries {
                        profile.ferries = f;
                    }
                    specs.push(bacino_network::NetworkSpec {
                        path: path.clone(),
                        profile,
                        snap_max_m,
                    });
                }
                Some(specs)
            }
        };
        let costs = match &manifest.costs {
            None => None,
            Some(c) => {
                let unit = match c.unit.trim() {
                    "s" => crate::costs::CostUnit::Seconds,
                    "m" => crate::costs::CostUnit::Metres,
                    other => {
                        return Err(bad(
                            "costs.unit",
                            format!("expected `s` (seconds) or `m` (metres), found `{other}`"),
                        ))
                    }
                };
                Some((base.join(&c.path), unit))
            }
        };
        let agendas = manifest.agendas.as_ref().map(|a| base.join(&a.path));
        Ok(ResolvedManifest {
            network,
            costs,
            agendas,
            facilities,
            residents,
            path,
            manifest,
            facilities_crs,
            residents_crs,
            areas,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str) -> Result<ResolvedManifest> {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("dataset.toml"),
            format!("name = \"m\"\n{body}"),
        )
        .unwrap();
        ResolvedManifest::read(d.path())
    }

    const FACILITIES: &str = "[facilities]\npath = \"f.csv\"\n";

    #[test]
    fn a_layer_is_a_file_or_a_postgis_table_and_never_both() {
        let m = read(&format!(
            "{FACILITIES}[residents]\npostgres = \"postgres://bacino@db/ats\"\n\
             table = \"sanita.assistiti\"\ngeometry = \"geom\"\n"
        ))
        .unwrap();
        assert_eq!(
            m.residents,
            Input::Postgis(bacino_postgis::PgTable {
                url: "postgres://bacino@db/ats".into(),
                table: "sanita.assistiti".into(),
                geometry: Some("geom".into()),
            })
        );
        assert!(matches!(&m.facilities, Input::File(p) if p.ends_with("f.csv")));

        for (body, field, says) in [
            (
                "[residents]\npath = \"r.csv\"\npostgres = \"postgres://db/a\"\ntable = \"t\"\n",
                "residents.path",
                "not both",
            ),
            (
                "[residents]\npostgres = \"postgres://db/a\"\n",
                "residents.table",
                "expected `table`",
            ),
            (
                "[residents]\ntable = \"t\"\n",
                "residents.postgres",
                "expected `postgres`",
            ),
            (
                "[residents]\n",
                "residents.path",
                "expected `path` (a file) or",
            ),
            (
                "[residents]\npath = \"r.csv\"\ngeometry = \"g\"\n",
                "residents.geometry",
                "only with `postgres`",
            ),
            (
                "[residents]\npostgres = \"postgres://db/a\"\ntable = \"t\"\ncrs = \"EPSG:3003\"\n",
                "residents.crs",
                "remove `crs`",
            ),
            (
                "[residents]\npostgres = \"mysql://u:pw@db/a\"\ntable = \"t\"\n",
                "residents.postgres",
                "expected a postgres:// URL, found `mysql://u:***@db/a`",
            ),
        ] {
            let e = read(&format!("{FACILITIES}{body}"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("field `{field}`")), "{body}: {e}");
            assert!(e.contains(says), "{body}: {e}");
        }
        let e = read(
            "[facilities]\npath = \"f.csv\"\n[residents]\npath = \"r.csv\"\n\
             [areas]\npostgres = \"postgres://db/a\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("field `areas.table`"), "{e}");
    }
}
