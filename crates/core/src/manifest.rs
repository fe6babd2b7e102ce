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

/// A point file (CSV or GeoJSON).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Path, relative to the manifest's directory.
    pub path: PathBuf,
    /// CRS override for this file.
    #[serde(default)]
    pub crs: Option<String>,
}

/// The areas file (GeoJSON polygons).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreasSource {
    /// Path, relative to the manifest's directory.
    pub path: PathBuf,
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
    /// Resolved facilities path.
    pub facilities_path: PathBuf,
    /// CRS of the facilities file.
    pub facilities_crs: Crs,
    /// Resolved residents path.
    pub residents_path: PathBuf,
    /// CRS of the residents file.
    pub residents_crs: Crs,
    /// Resolved areas path and CRS.
    pub areas: Option<(PathBuf, Crs, AreasSource)>,
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
                Some(s) => s.parse().map_err(|e: Error| bad(field, e.to_string())),
            }
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let dataset_crs = parse_crs("crs", &manifest.crs, Crs::WGS84)?;
        let facilities_crs = parse_crs("facilities.crs", &manifest.facilities.crs, dataset_crs)?;
        let residents_crs = parse_crs("residents.crs", &manifest.residents.crs, dataset_crs)?;
        let areas = match &manifest.areas {
            None => None,
            Some(a) => Some((
                base.join(&a.path),
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
            facilities_path: base.join(&manifest.facilities.path),
            residents_path: base.join(&manifest.residents.path),
            path,
            manifest,
            facilities_crs,
            residents_crs,
            areas,
        })
    }
}
