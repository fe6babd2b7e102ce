//! The catalog: which feature collections a dataset offers and how their
//! features are built. Only public or aggregated data ever becomes a
//! feature: facility locations, area polygons with suppressed statistics,
//! catchments. Residents never do.

use std::fmt;

use bacino_core::{
    catchments, distance_report, CatchmentMethod, CatchmentOptions, Dataset, DistanceQuery,
    Executor, FacilityKind, GroupBy, GroupStats, Overrides, Target,
};
use geo::BoundingRect;
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::state::hash_of;

/// What a collection holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// Facilities of one kind (active and ceased, with `status`).
    Facilities(FacilityKind),
    /// The dataset's areas with aggregated distance statistics.
    Areas,
    /// Catchments of the active facilities of a kind, by one method.
    Catchments(FacilityKind, CatchmentMethod),
    /// The dataset's areas with accessibility scores of a kind at
    /// [`ACCESS_REACH_M`].
    Access(FacilityKind),
}

/// Reach of the accessibility collection, metres (geodesic).
pub(crate) const ACCESS_REACH_M: f64 = 10_000.0;
/// Kinds offered as accessibility collections (when every active one has a
/// capacity).
const ACCESS_KINDS: [FacilityKind; 2] = [FacilityKind::Gp, FacilityKind::Pediatrician];

/// Kinds whose catchments are offered as collections.
const CATCHMENT_KINDS: [FacilityKind; 2] = [FacilityKind::Gp, FacilityKind::Cdc];
const CATCHMENT_METHODS: [CatchmentMethod; 3] = [
    CatchmentMethod::Voronoi,
    CatchmentMethod::Assigned,
    CatchmentMethod::Bands,
];

impl Source {
    /// Every source a dataset offers, in a stable order.
    pub fn all_for(dataset: &Dataset) -> Vec<Source> {
        let mut out: Vec<Source> = FacilityKind::ALL
            .into_iter()
            .filter(|k| dataset.facilities().iter().any(|f| f.kind == *k))
            .map(Source::Facilities)
            .collect();
        if dataset.areas().is_some() {
            out.push(Source::Areas);
            for kind in ACCESS_KINDS {
                let members = dataset.facilities().active_of_kind(kind);
                if !members.is_empty()
                    && members
                        .iter()
                        .all(|&f| dataset.facilities().get(f).capacity.is_some())
                {
                    out.push(Source::Access(kind));
                }
            }
        }
        for kind in CATCHMENT_KINDS {
            if dataset
                .facilities()
                .iter()
                .any(|f| f.kind == kind && f.is_active())
            {
                out.extend(CATCHMENT_METHODS.map(|m| Source::Catchments(kind, m)));
            }
        }
        out
    }

    /// The collection id within a dataset: dataset names use `[a-z0-9-]`, so
    /// `_` separates the parts unambiguously.
    pub fn collection_id(self, dataset: &str) -> String {
        format!("{dataset}_{self}")
    }

    /// Human title.
    pub fn title(self, dataset: &Dataset) -> String {
        match self {
            Source::Facilities(k) => format!("{}: facilities of kind `{k}`", dataset.title),
            Source::Areas => format!("{}: areas with distance statistics", dataset.title),
            Source::Catchments(k, m) => format!("{}: `{k}` catchments ({m})", dataset.title),
            Source::Access(k) => format!("{}: accessibility to `{k}` by area", dataset.title),
        }
    }

    /// What the features are.
    pub fn description(self, min_group_size: f64) -> String {
        match self {
            Source::Facilities(k) => format!(
                "Point features of every `{k}` facility (active and ceased), with capacity, \
                 list size and status."
            ),
            Source::Areas => format!(
                "Area polygons with their population and geodesic distance statistics \
                 (metres) to the nearest GP, to the nearest Casa di Comunità and to the \
                 assigned GP; areas with fewer than {min_group_size} people carry \
                 `suppressed: true` and no figures."
            ),
            Source::Catchments(k, m) => format!(
                "Catchments of the active `{k}` facilities by the `{m}` method, with the \
                 people served and their geodesic distances (metres); catchments with fewer \
                 than {min_group_size} people carry `suppressed: true` and no figures."
            ),
            Source::Access(k) => format!(
                "Area polygons with the accessibility of their residents to the active `{k}` \
                 facilities (supply = capacity) within {ACCESS_REACH_M} m geodesic: \
                 population-weighted means of 2SFCA (`access_2sfca`), E2SFCA with steps 1, \
                 0.68, 0.22 (`access_e2sfca`), spatial availability per capita (`access_sa`), \
                 each also over the all-resident mean (`access_norm_*`), and the people with \
                 nothing in reach (`unreached`), as GET /v1/datasets/{{name}}/access gives them; \
                 areas with fewer than {min_group_size} people carry `suppressed: true` and no \
                 figures."
            ),
        }
    }

    /// Builds the features (CPU work: run off the async workers).
    pub fn build(
        self,
        dataset: &Dataset,
        min_group_size: f64,
        exec: &impl Executor,
    ) -> Result<Layer, ApiError> {
        let features = match self {
            Source::Facilities(kind) => facility_features(dataset, kind, min_group_size),
            Source::Areas => area_features(dataset, min_group_size, exec)?,
            Source::Catchments(kind, method) => {
                catchment_features(dataset, kind, method, min_group_size, exec)?
            }
            Source::Access(kind) => access_features(dataset, kind, min_group_size, exec)?,
        };
        Ok(Layer::new(features))
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Facilities(k) => write!(f, "facilities_{k}"),
            Source::Areas => f.write_str("areas"),
            Source::Catchments(k, m) => write!(f, "catchments_{k}_{m}"),
            Source::Access(k) => write!(f, "access_{k}"),
        }
    }
}

/// One feature, serialised once.
#[derive(Debug)]
pub(crate) struct LayerFeature {
    /// Feature id (facility or area id).
    pub id: String,
    /// `[min lon, min lat, max lon, max lat]`; `None` without a geometry.
    pub bbox: Option<[f64; 4]>,
    /// The GeoJSON Feature object.
    pub json: String,
}

/// A collection's features, built once per dataset and served from memory.
#[derive(Debug)]
pub(crate) struct Layer {
    pub features: Vec<LayerFeature>,
    /// Union of the features' boxes, when there are features.
    pub extent: Option<[f64; 4]>,
    /// Tag of the whole layer (hash of every feature).
    pub etag: u64,
}

impl crate::cache::Weigh for Layer {
    fn weight(&self) -> usize {
        std::mem::size_of::<Layer>()
            + self
                .features
                .iter()
                .map(|f| std::mem::size_of::<LayerFeature>() + f.id.len() + f.json.len())
                .sum::<usize>()
    }
}

impl Layer {
    fn new(features: Vec<LayerFeature>) -> Layer {
        let extent = features.iter().filter_map(|f| f.bbox).reduce(|a, b| {
            [
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ]
        });
        let etag = hash_of(&features.iter().map(|f| f.json.as_str()).collect::<Vec<_>>());
        Layer {
            features,
            extent,
            etag,
        }
    }
}

fn feature(id: &str, geometry: geojson::Geometry, properties: Map<String, Value>) -> String {
    json!({"type": "Feature", "id": id, "geometry": geometry, "properties": properties}).to_string()
}

/// A whole number as an integer, anything else as a float.
fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

fn facility_features(
    dataset: &Dataset,
    kind: FacilityKind,
    min_group_size: f64,
) -> Vec<LayerFeature> {
    let facilities = dataset.facilities();
    let members: Vec<u32> = (0..facilities.len() as u32)
        .filter(|&i| facilities.get(i).kind == kind)
        .collect();
    // Counted list sizes partition the listed patients of the kind, whose
    // total the distances to the assigned GP publish: a lone small one
    // draws the smallest shown counted one with it.
    let counted: Vec<usize> = (0..members.len())
        .filter(|&k| facilities.get(members[k]).list_size.is_none())
        .collect();
    let hidden_too = bacino_core::complementary_cell(counted.iter().map(|&k| {
        let l = dataset.list_size(members[k]);
        (l == 0.0 || l >= min_group_size).then_some(l)
    }))
    .map(|c| members[counted[c]]);
    members
        .into_iter()
        .map(|i| {
            let f = facilities.get(i);
            let p = f.location;
            let mut props = Map::new();
            props.insert("facility_id".into(), json!(f.id.0));
            props.insert("kind".into(), json!(f.kind.as_str()));
            props.insert("name".into(), json!(f.name));
            props.insert(
                "status".into(),
                json!(if f.is_active() { "active" } else { "ceased" }),
            );
            props.insert("capacity".into(), json!(f.capacity));
            // Counted from residents (not declared), a list size is a count
            // of patients: a small one is suppressed like any small group.
            let list_size = dataset.list_size(i);
            let small = f.list_size.is_none() && list_size > 0.0 && list_size < min_group_size
                || hidden_too == Some(i);
            let shown = (!small).then_some(list_size);
            props.insert("list_size".into(), shown.map_or(Value::Null, number));
            props.insert(
                "load".into(),
                json!(
                    shown.and_then(|l| f
                        .capacity
                        .filter(|&c| c > 0)
                        .map(|c| (l / f64::from(c) * 1000.0).round() / 1000.0))
                ),
            );
            props.insert("municipality".into(), json!(f.municipality));
            props.insert("ad".into(), json!(f.ad));
            let geometry = geojson::Geometry::new(geojson::Value::Point(vec![p.lon, p.lat]));
            LayerFeature {
                id: f.id.0.clone(),
                bbox: Some([p.lon, p.lat, p.lon, p.lat]),
                json: feature(&f.id.0, geometry, props),
            }
        })
        .collect()
}

/// Area `i` as a feature with `props`.
fn area_feature(areas: &bacino_core::Areas, i: usize, props: Map<String, Value>) -> LayerFeature {
    let geom = areas.geometry(i);
    let bbox = geom
        .bounding_rect()
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]);
    let geometry = geojson::Geometry::new(geojson::Value::from(geom));
    LayerFeature {
        id: areas.id(i).to_owned(),
        bbox,
        json: feature(areas.id(i), geometry, props),
    }
}

/// Area polygons with per-area statistics from the same reports as
/// `GET /v1/datasets/{name}/distances?group_by=area`.
fn area_features(
    dataset: &Dataset,
    min_group_size: f64,
    exec: &impl Executor,
) -> Result<Vec<LayerFeature>, ApiError> {
    let Some(areas) = dataset.areas() else {
        return Ok(Vec::new());
    };
    let targets = [
        ("gp", Target::Nearest(FacilityKind::Gp)),
        ("cdc", Target::Nearest(FacilityKind::Cdc)),
        ("assigned_gp", Target::Assigned),
    ];
    let mut by_area: Vec<Map<String, Value>> = vec![Map::new(); areas.len()];
    let index_of: std::collections::HashMap<&str, usize> =
        (0..areas.len()).map(|i| (areas.id(i), i)).collect();
    let mut population: Vec<Option<f64>> = vec![None; areas.len()];
    for (label, target) in targets {
        let query = DistanceQuery {
            target,
            group_by: GroupBy::Area,
            min_group_size,
            metric: bacino_core::MetricName::Geodesic,
            cdf_steps: 0,
        };
        let report = match distance_report(dataset, &query, exec) {
            Ok(r) => r,
            // A dataset without CdC (say) simply has no such figures.
            Err(bacino_core::Error::Unavailable(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        for group in &report.groups {
            let Some(&i) = group.key().and_then(|k| index_of.get(k)) else {
                continue;
            };
            // A suppressed group (too few people) contributes no figures.
            if let GroupStats::Stats { summary, .. } = group {
                if target != Target::Assigned {
                    population[i].get_or_insert(summary.count);
                }
                let props = &mut by_area[i];
                props.insert(format!("median_{label}_m"), json!(summary.median_m));
                props.insert(format!("p90_{label}_m"), json!(summary.p90_m));
                props.insert(format!("mean_{label}_m"), json!(summary.mean_m));
            }
        }
    }
    let features = (0..areas.len())
        .map(|i| {
            let mut props = Map::new();
            props.insert("area_id".into(), json!(areas.id(i)));
            props.insert("name".into(), json!(areas.name(i)));
            // Small areas show nothing but their identity.
            match population[i] {
                Some(people) => {
                    props.insert("population".into(), number(people));
                    props.append(&mut by_area[i]);
                }
                None => {
                    props.insert("suppressed".into(), json!(true));
                }
            }
            area_feature(areas, i, props)
        })
        .collect();
    Ok(features)
}

/// Area polygons with accessibility scores, from the same reports as
/// `GET /v1/datasets/{name}/access?group_by=area`.
fn access_features(
    dataset: &Dataset,
    kind: FacilityKind,
    min_group_size: f64,
    exec: &impl Executor,
) -> Result<Vec<LayerFeature>, ApiError> {
    use bacino_access::{access_reports, AccessGroup, AccessQuery, Method, SelectionNorm, Supply};
    let Some(areas) = dataset.areas() else {
        return Ok(Vec::new());
    };
    let index_of: std::collections::HashMap<&str, usize> =
        (0..areas.len()).map(|i| (areas.id(i), i)).collect();
    let mut by_area: Vec<Option<Map<String, Value>>> = vec![None; areas.len()];
    let mut seen = vec![false; areas.len()];
    let methods = [
        ("2sfca", Method::TwoStep),
        ("e2sfca", Method::Enhanced),
        ("sa", Method::SpatialAvailability),
    ];
    let queries: Vec<AccessQuery> = methods
        .iter()
        .map(|&(_, method)| AccessQuery {
            kind,
            method,
            decay: None,
            max_cost: ACCESS_REACH_M,
            metric: bacino_core::MetricName::Geodesic,
            supply: Supply::Capacity,
            selection: SelectionNorm::InReach,
            tau: None,
            rho: None,
            group_by: GroupBy::Area,
            min_group_size,
        })
        .collect();
    let reports = access_reports(dataset, &queries, exec)?;
    for ((label, _), report) in methods.iter().zip(&reports) {
        for group in &report.groups {
            let Some(&i) = group.key().and_then(|k| index_of.get(k)) else {
                continue;
            };
            seen[i] = true;
            if let AccessGroup::Stats {
                population,
                access,
                access_norm,
                unreached,
                ..
            } = group
            {
                let props = by_area[i].get_or_insert_with(Map::new);
                props.insert("population".into(), number(*population));
                props.insert("unreached".into(), number(*unreached));
                props.insert(format!("access_{label}"), json!(access));
                props.insert(format!("access_norm_{label}"), json!(access_norm));
            }
        }
    }
    Ok((0..areas.len())
        .map(|i| {
            let mut props = Map::new();
            props.insert("area_id".into(), json!(areas.id(i)));
            props.insert("name".into(), json!(areas.name(i)));
            match by_area[i].take() {
                Some(mut figures) => props.append(&mut figures),
                // Nobody lives there: nothing to hide, nothing to show.
                None if !seen[i] => {
                    props.insert("population".into(), json!(0));
                }
                None => {
                    props.insert("suppressed".into(), json!(true));
                }
            }
            area_feature(areas, i, props)
        })
        .collect())
}

/// Catchments as features; a catchment without a geometry (a facility whose
/// cell lies outside the study area) keeps its figures with a null geometry.
fn catchment_features(
    dataset: &Dataset,
    kind: FacilityKind,
    method: CatchmentMethod,
    min_group_size: f64,
    exec: &impl Executor,
) -> Result<Vec<LayerFeature>, ApiError> {
    let mut options = CatchmentOptions::new(kind, method);
    options.min_group_size = min_group_size;
    let drawn = catchments(dataset, &options, Overrides::default(), exec)?;
    Ok(drawn
        .to_geojson()
        .features
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let id = match &f.id {
                Some(geojson::feature::Id::String(s)) => s.clone(),
                Some(geojson::feature::Id::Number(n)) => n.to_string(),
                None => i.to_string(),
            };
            let bbox = f.bbox.as_deref().and_then(|b| <[f64; 4]>::try_from(b).ok());
            LayerFeature {
                id,
                bbox,
                json: serde_json::to_string(&f).unwrap_or_default(),
            }
        })
        .collect())
}
