//! Catchment polygons: who each facility serves, as RFC 7946 GeoJSON.
//!
//! Three methods ([`CatchmentMethod`]):
//!
//! - **voronoi** — one cell per active facility site: the points nearer to it
//!   than to any other site. Bisectors are drawn in an ellipsoidal azimuthal
//!   equidistant projection centred on the study area (exact geodesic
//!   distances and azimuths from the centre; the bisectors depart from the
//!   geodesic ones by centimetres across a province, see `projection.rs`),
//!   then cells are clipped to the study area (geo's `BooleanOps`). Facilities
//!   at one location (two GPs in one building) share a cell: one feature
//!   lists all their ids. Populations count each resident at their exact
//!   geodesic nearest facility ([`FacilityIndex`]), so they sum to the total
//!   and match `bacino stats --to nearest`; residents outside the study area
//!   are counted too. A site whose cell lies wholly outside the study area
//!   (a facility just beyond its border) keeps its figures with a `null`
//!   geometry.
//! - **assigned** — where a facility's own patients live: H3 cells holding at
//!   least `min_group_size` of them, dissolved. Patients are the residents'
//!   `gp_id` for GPs, and their nearest active facility for other kinds.
//!   Cells can overlap between facilities. A facility none of whose cells
//!   qualifies gets a `null` geometry (its figures are still reported).
//! - **bands** — distance bands to the nearest active facility: H3 cells
//!   classified by the exact geodesic distance of their centre, dissolved per
//!   band and clipped to the study area; populations use each resident's
//!   exact distance.
//!
//! The **study area** is the union of the dataset's areas or, without areas,
//! the convex hull of residents and facilities grown by
//! [`HULL_BUFFER_M`].

pub(crate) mod hex;
mod network;
pub(crate) mod polish;
mod projection;

use std::fmt;
use std::str::FromStr;

use geo::orient::{Direction, Orient};
use geo::{
    BooleanOps, BoundingRect, Centroid, ConvexHull, Coord, Intersects, LineString, MultiPoint,
    MultiPolygon, Point, Polygon, Rect,
};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::exec::{chunk_ranges, Executor};
use crate::geodesic::geodesic_distance_m;
use crate::index::FacilityIndex;
use crate::model::{FacilityId, FacilityIdx, FacilityKind, LonLat, NONE};
use crate::stats::{round_mm, Summary};
use crate::voronoi::voronoi_cells;

pub use hex::{DEFAULT_RESOLUTION, MAX_BAND_CELLS, MAX_RESOLUTION};
use projection::Aeqd;

/// The default H3 resolution of catchments under `metric`: 8 geodesic,
/// 9 by car (cells of about 0.1 km²), 10 on foot (about 0.015 km²).
pub fn default_resolution(metric: crate::metric::MetricName) -> u8 {
    match metric {
        crate::metric::MetricName::Geodesic | crate::metric::MetricName::Table => {
            DEFAULT_RESOLUTION
        }
        crate::metric::MetricName::Car => 9,
        crate::metric::MetricName::Foot => 10,
    }
}

/// Without areas, the study area is the convex hull of residents and
/// facilities grown by this many metres.
pub const HULL_BUFFER_M: f64 = 3_000.0;

/// Default upper edges of the distance bands, metres: 0–2, 2–5, 5–10 and
/// over 10 km.
pub const DEFAULT_BANDS_M: [f64; 3] = [2_000.0, 5_000.0, 10_000.0];

/// How catchments are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchmentMethod {
    /// Nearest-facility (Voronoi) cells clipped to the study area.
    Voronoi,
    /// Where each facility's own patients live (H3 cells).
    Assigned,
    /// Distance bands to the nearest facility.
    Bands,
}

impl CatchmentMethod {
    /// The spelling used on the command line and in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            CatchmentMethod::Voronoi => "voronoi",
            CatchmentMethod::Assigned => "assigned",
            CatchmentMethod::Bands => "bands",
        }
    }
}

impl fmt::Display for CatchmentMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CatchmentMethod {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "voronoi" => Ok(CatchmentMethod::Voronoi),
            "assigned" => Ok(CatchmentMethod::Assigned),
            "bands" => Ok(CatchmentMethod::Bands),
            _ => Err(Error::param(
                "method",
                format!("expected `voronoi`, `assigned` or `bands`, found `{s}`"),
            )),
        }
    }
}

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct CatchmentOptions {
    /// Facility kind.
    pub kind: FacilityKind,
    /// Method.
    pub method: CatchmentMethod,
    /// Groups of fewer people have their figures suppressed, and `assigned`
    /// draws no H3 cell holding fewer patients.
    pub min_group_size: f64,
    /// H3 resolution (0–[`MAX_RESOLUTION`]) of `assigned` and `bands`.
    pub resolution: u8,
    /// Upper edges of the distance bands in metres, increasing; the last
    /// band is open-ended.
    pub bands_m: Vec<f64>,
    /// The metric: `voronoi` also divides the study area by the fastest
    /// facility over the road network (`car`, `foot`).
    pub metric: crate::metric::MetricName,
}

impl CatchmentOptions {
    /// Options with the defaults: `min_group_size` 10, resolution 8, bands
    /// at 2, 5 and 10 km.
    pub fn new(kind: FacilityKind, method: CatchmentMethod) -> Self {
        CatchmentOptions {
            kind,
            method,
            min_group_size: crate::DEFAULT_MIN_GROUP_SIZE,
            resolution: DEFAULT_RESOLUTION,
            bands_m: DEFAULT_BANDS_M.to_vec(),
            metric: crate::metric::MetricName::Geodesic,
        }
    }

    /// Options from request parameters (`kind`, `method`, both required),
    /// with the defaults for the rest; errors name the parameter.
    pub fn from_params(kind: Option<&str>, method: Option<&str>) -> Result<Self> {
        let kind: FacilityKind = kind
            .ok_or_else(|| Error::param("kind", "required: a facility kind, e.g. `gp`"))?
            .parse()
            .map_err(|m: String| Error::param("kind", m))?;
        let method: CatchmentMethod = method
            .ok_or_else(|| Error::param("method", "required: `voronoi`, `assigned` or `bands`"))?
            .parse()?;
        Ok(CatchmentOptions::new(kind, method))
    }

    /// Checks every field; errors name the parameter (`min_group_size`,
    /// `resolution`, `bands`).
    pub fn validate(&self) -> Result<()> {
        if !(self.min_group_size.is_finite() && self.min_group_size >= 0.0) {
            return Err(Error::param(
                "min_group_size",
                "expected a non-negative number",
            ));
        }
        hex::resolution(self.resolution)?;
        if self.bands_m.is_empty() {
            return Err(Error::param("bands", "expected at least one band edge"));
        }
        let increasing = self.bands_m.windows(2).all(|w| w[0] < w[1]);
        if !increasing || !self.bands_m.iter().all(|b| b.is_finite() && *b > 0.0) {
            return Err(Error::param(
                "bands",
                "expected positive, strictly increasing distances in metres",
            ));
        }
        Ok(())
    }
}

/// Replacements for what the dataset says, for drawing catchments after a
/// scenario (e.g. a GP cessation) without rebuilding the dataset.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides<'a> {
    /// The facilities of the kind that are active (for `voronoi` and `bands`,
    /// and for `assigned` of kinds other than GP); default: the dataset's
    /// active facilities of the kind.
    pub active: Option<&'a [FacilityIdx]>,
    /// Per resident, the facility they are listed with ([`NONE`] for none),
    /// replacing the `gp_id` column for `assigned`; must have one entry per
    /// resident.
    pub assignment: Option<&'a [FacilityIdx]>,
}

/// A distance band, metres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Band {
    /// Lower edge (inclusive).
    pub min_m: f64,
    /// Upper edge (exclusive); `None` for the open last band.
    pub max_m: Option<f64>,
}

/// Figures of one catchment. Fields that do not apply are `None` / empty.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatchmentProperties {
    /// Smallest id among the facilities of the feature (none for bands).
    pub facility_id: Option<FacilityId>,
    /// Every facility of the feature, sorted (several for a shared site).
    pub facility_ids: Vec<FacilityId>,
    /// Facility kind.
    pub kind: FacilityKind,
    /// Name of the facility `facility_id`.
    pub name: Option<String>,
    /// The distance band (bands only).
    pub band: Option<Band>,
    /// People served (weighted residents); `None` when suppressed.
    pub population: Option<f64>,
    /// Distance statistics of those people, metres; `None` when suppressed
    /// or nobody is served.
    pub summary: Option<Summary>,
    /// True when fewer than `min_group_size` people are served.
    pub suppressed: bool,
    /// Sum of the facilities' capacities; `None` when any is unbounded.
    pub capacity: Option<f64>,
    /// Sum of the facilities' list sizes
    /// ([`Dataset::list_size`], adjusted by an assignment override).
    pub list_size: Option<f64>,
    /// `list_size / capacity`.
    pub load: Option<f64>,
    /// Area of the geometry on the ellipsoid, km².
    pub area_km2: f64,
    /// Travel-time statistics of the people served, seconds (network
    /// metrics; `None` otherwise or when suppressed).
    pub time: Option<Summary>,
}

/// One catchment: geometry (WGS84 lon/lat, RFC 7946 orientation, valid,
/// 7 decimals) and figures. `geometry` is `None` when nothing is drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct CatchmentFeature {
    /// The polygons, or `None` (e.g. `assigned` without a qualifying cell).
    pub geometry: Option<MultiPolygon<f64>>,
    /// The figures.
    pub properties: CatchmentProperties,
}

/// The catchments of one kind of facility drawn by one method.
#[derive(Debug, Clone, PartialEq)]
pub struct Catchments {
    /// Dataset name.
    pub dataset: String,
    /// Facility kind.
    pub kind: FacilityKind,
    /// Method.
    pub method: CatchmentMethod,
    /// Study area the catchments were clipped to (before rounding).
    pub study_area_km2: f64,
    /// Total weight of the residents.
    pub total_population: f64,
    /// Features, sorted by `facility_id` (bands: by distance).
    pub features: Vec<CatchmentFeature>,
    /// The metric the catchments were drawn under.
    pub metric: crate::metric::MetricName,
    /// The extract and profile, under a network metric.
    pub network: Option<bacino_network::NetworkInfo>,
    /// People the network cannot route to any facility (network metrics).
    pub unreachable: Option<f64>,
}

/// Draws catchments of `dataset` (see the module docs for the methods).
///
/// ```no_run
/// use bacino_core::{catchments, CatchmentMethod, CatchmentOptions, Dataset, FacilityKind, Overrides, Sequential};
/// let dataset = Dataset::load("fixtures/bergamo")?;
/// let options = CatchmentOptions::new(FacilityKind::Gp, CatchmentMethod::Voronoi);
/// let cells = catchments(&dataset, &options, Overrides::default(), &Sequential)?;
/// println!("{}", cells.to_geojson_string());
/// # Ok::<(), bacino_core::Error>(())
/// ```
pub fn catchments<E: Executor>(
    dataset: &Dataset,
    options: &CatchmentOptions,
    overrides: Overrides<'_>,
    exec: &E,
) -> Result<Catchments> {
    options.validate()?;
    if let Some(a) = overrides.assignment {
        if a.len() != dataset.residents().len() {
            return Err(Error::param(
                "assignment",
                format!(
                    "expected one facility per resident ({}), found {}",
                    dataset.residents().len(),
                    a.len()
                ),
            ));
        }
        if let Some(&bad) = a
            .iter()
            .find(|&&f| f != NONE && f as usize >= dataset.facilities().len())
        {
            return Err(Error::param("assignment", format!("no facility #{bad}")));
        }
    }
    let active = active_members(dataset, options.kind, overrides.active)?;
    let metric = dataset.metric(options.metric, exec)?;
    let mut unreachable = None;
    let mut features = match (options.method, metric) {
        (CatchmentMethod::Voronoi, crate::metric::Metric::Geodesic) => {
            voronoi(dataset, options, &active, exec)?
        }
        (CatchmentMethod::Voronoi, crate::metric::Metric::Network(p)) => {
            let (features, u) = network::network_voronoi(dataset, options, &active, p, exec)?;
            unreachable = Some(u);
            features
        }
        (_, crate::metric::Metric::Table(_)) => {
            return Err(Error::param(
                "metric",
                "catchments need positions between the points: `table` gives costs only for its pairs; use geodesic, car or foot",
            ))
        }
        (_, crate::metric::Metric::Network(_)) => {
            return Err(Error::param(
                "method",
                format!(
                    "`{}` catchments are geodesic; under `{}` use `voronoi` (or isochrones for travel-time bands)",
                    options.method, options.metric
                ),
            ))
        }
        (CatchmentMethod::Assigned, _) => assigned(dataset, options, &active, overrides, exec)?,
        (CatchmentMethod::Bands, _) => bands(dataset, options, &active, exec)?,
    };
    // The features partition the people (served, listed, or by band): a
    // lone suppressed one draws the smallest shown one with it.
    if let Some(i) =
        crate::disclosure::complementary_cell(features.iter().map(|f| f.properties.population))
    {
        let p = &mut features[i].properties;
        p.population = None;
        p.summary = None;
        p.time = None;
        p.suppressed = true;
    }
    Ok(Catchments {
        dataset: dataset.name.clone(),
        kind: options.kind,
        method: options.method,
        study_area_km2: geodesic_km2(dataset.study_area()),
        total_population: dataset.residents().total_weight(),
        features,
        metric: options.metric,
        network: metric.network_info().cloned(),
        unreachable,
    })
}

fn active_members(
    dataset: &Dataset,
    kind: FacilityKind,
    active: Option<&[FacilityIdx]>,
) -> Result<Vec<FacilityIdx>> {
    let facilities = dataset.facilities();
    let members = match active {
        None => facilities.active_of_kind(kind),
        Some(list) => {
            let mut list = list.to_vec();
            for &f in &list {
                if f as usize >= facilities.len() {
                    return Err(Error::param("active", format!("no facility #{f}")));
                }
                if facilities.get(f).kind != kind {
                    return Err(Error::param(
                        "active",
                        format!(
                            "facility `{}` is not of kind `{kind}`",
                            facilities.get(f).id
                        ),
                    ));
                }
            }
            list.sort_unstable();
            list.dedup();
            list
        }
    };
    if members.is_empty() {
        return Err(Error::Unavailable(format!(
            "the dataset has no active facility of kind `{kind}`"
        )));
    }
    Ok(members)
}

/// Exact nearest facility of every resident, in parallel chunks.
fn nearest_all<E: Executor>(
    dataset: &Dataset,
    index: &FacilityIndex,
    exec: &E,
) -> (Vec<FacilityIdx>, Vec<f64>) {
    let locs = dataset.residents().locations();
    let parts: Vec<(Vec<FacilityIdx>, Vec<f64>)> =
        exec.map(chunk_ranges(locs.len(), 16_384), |r| {
            let (mut facility, mut distance_m) = (Vec::with_capacity(r.len()), Vec::new());
            distance_m.reserve(r.len());
            index.for_each_nearest(&locs[r], |hit| {
                let hit = hit.expect("index is not empty");
                facility.push(hit.facility);
                distance_m.push(hit.distance_m);
            });
            (facility, distance_m)
        });
    let mut facility = Vec::with_capacity(locs.len());
    let mut distance_m = Vec::with_capacity(locs.len());
    for (f, d) in parts {
        facility.extend(f);
        distance_m.extend(d);
    }
    (facility, distance_m)
}

/// Builds the properties of a feature of `members` (sorted by id) from the
/// `(distance_m, weight)` pairs of the people it serves.
fn facility_properties(
    dataset: &Dataset,
    kind: FacilityKind,
    members: &[FacilityIdx],
    pairs: &mut [(f64, f64)],
    list_size: f64,
    min_group_size: f64,
) -> CatchmentProperties {
    let facilities = dataset.facilities();
    let first = facilities.get(members[0]);
    let capacity = members
        .iter()
        .map(|&f| facilities.get(f).capacity.map(f64::from))
        .sum::<Option<f64>>();
    let mut props = figures(kind, pairs, min_group_size);
    props.facility_id = Some(first.id.clone());
    props.facility_ids = members
        .iter()
        .map(|&f| facilities.get(f).id.clone())
        .collect();
    props.name = first.name.clone();
    props.capacity = capacity;
    // A list size counted from residents (not declared by the data) is a
    // count of patients: shown only when it is not a small group.
    let declared = members
        .iter()
        .all(|&f| facilities.get(f).list_size.is_some());
    if declared || !(list_size > 0.0 && list_size < min_group_size) {
        props.list_size = Some(list_size);
        props.load = capacity.filter(|&c| c > 0.0).map(|c| list_size / c);
    }
    props
}

/// Population and distance figures with privacy suppression.
fn figures(
    kind: FacilityKind,
    pairs: &mut [(f64, f64)],
    min_group_size: f64,
) -> CatchmentProperties {
    let population: f64 = pairs.iter().map(|p| p.1).sum();
    let suppressed = population < min_group_size;
    let summary = if suppressed {
        None
    } else {
        Summary::from_weighted(pairs).map(Summary::rounded)
    };
    CatchmentProperties {
        facility_id: None,
        facility_ids: Vec::new(),
        kind,
        name: None,
        band: None,
        population: (!suppressed).then_some(population),
        summary,
        suppressed,
        capacity: None,
        list_size: None,
        load: None,
        area_km2: 0.0,
        time: None,
    }
}

fn feature(geometry: MultiPolygon<f64>, mut properties: CatchmentProperties) -> CatchmentFeature {
    let geometry = polish::finish(&geometry);
    properties.area_km2 = geodesic_km2(&geometry);
    CatchmentFeature {
        geometry: (!geometry.0.is_empty()).then_some(geometry),
        properties,
    }
}

/// Area on the ellipsoid in km² of counter-clockwise polygons. Summed per
/// polygon from signed areas: the unsigned area of a degenerate sliver whose
/// signed area rounds below zero would be the rest of the globe.
pub(crate) fn geodesic_km2(mp: &MultiPolygon<f64>) -> f64 {
    mp.0.iter()
        .map(|p| geo::GeodesicArea::geodesic_area_signed(p).abs())
        // Not `sum()`: an empty float sum is -0.0.
        .fold(0.0, |a, b| a + b)
        / 1e6
}

/// The study area, built on first use by [`Dataset::study_area`].
pub(crate) fn build_study_area(dataset: &Dataset) -> MultiPolygon<f64> {
    if let Some(areas) = dataset.areas().filter(|a| !a.is_empty()) {
        let parts: Vec<&MultiPolygon<f64>> = (0..areas.len()).map(|i| areas.geometry(i)).collect();
        return geo::unary_union(parts).orient(Direction::Default);
    }
    let points: Vec<Point<f64>> = dataset
        .residents()
        .locations()
        .iter()
        .chain(dataset.facilities().iter().map(|f| &f.location))
        .map(|p| Point::new(p.lon, p.lat))
        .collect();
    let hull = MultiPoint::new(points).convex_hull();
    let Some(c) = hull.centroid() else {
        return MultiPolygon::new(vec![]);
    };
    let aeqd = Aeqd::new(LonLat::new(c.x(), c.y()));
    // Minkowski sum with a 64-gon circumscribing the buffer circle.
    let n = 64;
    let r = HULL_BUFFER_M / (std::f64::consts::PI / n as f64).cos();
    let mut grown: Vec<Point<f64>> = Vec::with_capacity(hull.exterior().0.len() * n);
    for v in &hull.exterior().0 {
        let [x, y] = aeqd.forward(LonLat::new(v.x, v.y));
        for k in 0..n {
            let (s, co) = (k as f64 * std::f64::consts::TAU / n as f64).sin_cos();
            grown.push(Point::new(x + r * co, y + r * s));
        }
    }
    let grown = MultiPoint::new(grown).convex_hull();
    let ring: Vec<Coord<f64>> = grown
        .exterior()
        .0
        .iter()
        .map(|c| {
            let p = aeqd.inverse([c.x, c.y]);
            Coord { x: p.lon, y: p.lat }
        })
        .collect();
    MultiPolygon::new(vec![Polygon::new(LineString::new(ring), vec![])]).orient(Direction::Default)
}

/// Groups facilities at exactly the same location; each group sorted by id,
/// groups ordered by their first id.
fn sites(dataset: &Dataset, members: &[FacilityIdx]) -> Vec<Vec<FacilityIdx>> {
    let facilities = dataset.facilities();
    let mut by_site: HashMap<(u64, u64), Vec<FacilityIdx>> = HashMap::default();
    for &f in members {
        let p = facilities.get(f).location;
        by_site
            .entry((p.lon.to_bits(), p.lat.to_bits()))
            .or_default()
            .push(f);
    }
    let mut groups: Vec<Vec<FacilityIdx>> = by_site.into_values().collect();
    for g in &mut groups {
        g.sort_by(|&a, &b| facilities.get(a).id.cmp(&facilities.get(b).id));
    }
    groups.sort_by(|a, b| facilities.get(a[0]).id.cmp(&facilities.get(b[0]).id));
    groups
}

/// `(distance_m, weight)` of the people a feature serves.
type Pairs = Vec<(f64, f64)>;

type EdgeTree = RTree<GeomWithData<Rectangle<[f64; 2]>, ()>>;

/// R-tree of the boundary segments of `area`, to find cells that cross it.
fn edge_tree(area: &MultiPolygon<f64>) -> EdgeTree {
    let mut entries = Vec::new();
    for poly in &area.0 {
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            for l in ring.lines() {
                entries.push(GeomWithData::new(
                    Rectangle::from_corners([l.start.x, l.start.y], [l.end.x, l.end.y]),
                    (),
                ));
            }
        }
    }
    RTree::bulk_load(entries)
}

/// `cell ∩ area`, skipping the boolean operation for cells that no boundary
/// segment of `area` comes near (those are wholly inside or outside).
fn clip_convex(
    cell: Polygon<f64>,
    area: &MultiPolygon<f64>,
    edges: &EdgeTree,
) -> MultiPolygon<f64> {
    let Some(b) = cell.bounding_rect() else {
        return MultiPolygon::new(vec![]);
    };
    let env = AABB::from_corners([b.min().x, b.min().y], [b.max().x, b.max().y]);
    if edges.locate_in_envelope_intersecting(&env).next().is_none() {
        let inside = cell.centroid().is_some_and(|c| area.intersects(&c));
        return MultiPolygon::new(if inside { vec![cell] } else { vec![] });
    }
    cell.intersection(area)
}

fn voronoi<E: Executor>(
    dataset: &Dataset,
    options: &CatchmentOptions,
    active: &[FacilityIdx],
    exec: &E,
) -> Result<Vec<CatchmentFeature>> {
    let facilities = dataset.facilities();
    let groups = sites(dataset, active);
    let area = dataset.study_area();
    let Some(bbox) = area.bounding_rect() else {
        return Err(Error::Unavailable("the study area is empty".into()));
    };
    let aeqd = Aeqd::new(LonLat::new(bbox.center().x, bbox.center().y));

    // A convex region (in the plane) holding the study area and every site.
    let site_xy: Vec<[f64; 2]> = groups
        .iter()
        .map(|g| aeqd.forward(facilities.get(g[0]).location))
        .collect();
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    let boundary = area.0.iter().flat_map(|p| p.exterior().0.iter());
    for xy in boundary
        .map(|c| aeqd.forward(LonLat::new(c.x, c.y)))
        .chain(site_xy.iter().copied())
    {
        lo = [lo[0].min(xy[0]), lo[1].min(xy[1])];
        hi = [hi[0].max(xy[0]), hi[1].max(xy[1])];
    }
    let margin = 1_000.0;
    let region = [
        [lo[0] - margin, lo[1] - margin],
        [hi[0] + margin, lo[1] - margin],
        [hi[0] + margin, hi[1] + margin],
        [lo[0] - margin, hi[1] + margin],
    ];
    let cells = voronoi_cells(&site_xy, &region);

    let edges = edge_tree(area);
    let geometries: Vec<MultiPolygon<f64>> = exec.map(cells, |cell| {
        let ring: Vec<Coord<f64>> = cell
            .iter()
            .map(|&xy| {
                let p = aeqd.inverse(xy);
                Coord { x: p.lon, y: p.lat }
            })
            .collect();
        if ring.len() < 3 {
            return MultiPolygon::new(vec![]);
        }
        clip_convex(Polygon::new(LineString::new(ring), vec![]), area, &edges)
    });

    // Populations: every resident at their exact nearest facility; the
    // index breaks ties by id, so a shared site's residents go to its
    // smallest id, the group's first member.
    let index = FacilityIndex::new(facilities, active);
    let (nearest, distance_m) = nearest_all(dataset, &index, exec);
    let mut group_of = vec![NONE; facilities.len()];
    for (g, members) in groups.iter().enumerate() {
        for &f in members {
            group_of[f as usize] = g as u32;
        }
    }
    let mut pairs: Vec<Vec<(f64, f64)>> = vec![Vec::new(); groups.len()];
    for ((&f, &d), &w) in nearest
        .iter()
        .zip(&distance_m)
        .zip(dataset.residents().weights())
    {
        pairs[group_of[f as usize] as usize].push((d, w));
    }

    let work: Vec<(usize, MultiPolygon<f64>, Pairs)> = geometries
        .into_iter()
        .zip(pairs)
        .enumerate()
        .map(|(g, (geom, p))| (g, geom, p))
        .collect();
    Ok(exec.map(work, |(g, geom, mut p)| {
        let members = &groups[g];
        let list_size = members.iter().map(|&f| dataset.list_size(f)).sum();
        let props = facility_properties(
            dataset,
            options.kind,
            members,
            &mut p,
            list_size,
            options.min_group_size,
        );
        feature(geom, props)
    }))
}

fn assigned<E: Executor>(
    dataset: &Dataset,
    options: &CatchmentOptions,
    active: &[FacilityIdx],
    overrides: Overrides<'_>,
    exec: &E,
) -> Result<Vec<CatchmentFeature>> {
    let facilities = dataset.facilities();
    let residents = dataset.residents();
    let res = hex::resolution(options.resolution)?;
    let kind = options.kind;
    let assignment: Vec<FacilityIdx> = match (overrides.assignment, kind) {
        (Some(a), _) => a.to_vec(),
        (None, FacilityKind::Gp) => residents.gp().to_vec(),
        (None, _) => nearest_all(dataset, &FacilityIndex::new(facilities, active), exec).0,
    };
    // List sizes after an override: the dataset's, moved by the residents
    // whose facility changed.
    let mut list_size: Vec<f64> = (0..facilities.len() as FacilityIdx)
        .map(|f| dataset.list_size(f))
        .collect();
    if overrides.assignment.is_some() && kind == FacilityKind::Gp {
        for ((&new, &old), &w) in assignment
            .iter()
            .zip(residents.gp())
            .zip(residents.weights())
        {
            if new != old {
                if old != NONE {
                    list_size[old as usize] -= w;
                }
                if new != NONE {
                    list_size[new as usize] += w;
                }
            }
        }
    }

    let locs = residents.locations();
    let weights = residents.weights();
    let per_chunk = exec.map(chunk_ranges(locs.len(), 16_384), |r| {
        r.filter_map(|i| {
            let f = assignment[i];
            if f == NONE || facilities.get(f).kind != kind {
                return None;
            }
            let d = geodesic_distance_m(locs[i], facilities.get(f).location);
            Some((f, hex::cell_of(locs[i], res), d, weights[i]))
        })
        .collect::<Vec<_>>()
    });
    let mut pairs: HashMap<FacilityIdx, Vec<(f64, f64)>> = HashMap::default();
    let mut cells: HashMap<FacilityIdx, HashMap<h3o::CellIndex, f64>> = HashMap::default();
    for (f, cell, d, w) in per_chunk.into_iter().flatten() {
        pairs.entry(f).or_default().push((d, w));
        if let Some(c) = cell {
            *cells.entry(f).or_default().entry(c).or_default() += w;
        }
    }
    // Every active facility, plus inactive ones that still have patients.
    let mut shown: Vec<FacilityIdx> = active.to_vec();
    shown.extend(pairs.keys().copied());
    shown.sort_by(|&a, &b| facilities.get(a).id.cmp(&facilities.get(b).id));
    shown.dedup();
    let work: Vec<(FacilityIdx, Pairs, Vec<h3o::CellIndex>)> = shown
        .into_iter()
        .map(|f| {
            let mut qualifying: Vec<h3o::CellIndex> = cells
                .get(&f)
                .map(|m| {
                    m.iter()
                        .filter(|&(_, &w)| w >= options.min_group_size && w > 0.0)
                        .map(|(&c, _)| c)
                        .collect()
                })
                .unwrap_or_default();
            qualifying.sort_unstable();
            (f, pairs.remove(&f).unwrap_or_default(), qualifying)
        })
        .collect();
    Ok(exec.map(work, |(f, mut p, qualifying)| {
        let props = facility_properties(
            dataset,
            kind,
            &[f],
            &mut p,
            list_size[f as usize],
            options.min_group_size,
        );
        feature(hex::dissolve(qualifying), props)
    }))
}

fn bands<E: Executor>(
    dataset: &Dataset,
    options: &CatchmentOptions,
    active: &[FacilityIdx],
    exec: &E,
) -> Result<Vec<CatchmentFeature>> {
    let res = hex::resolution(options.resolution)?;
    let area = dataset.study_area();
    let Some(bbox) = area.bounding_rect() else {
        return Err(Error::Unavailable("the study area is empty".into()));
    };
    let index = FacilityIndex::new(dataset.facilities(), active);
    let edges = &options.bands_m;
    let band_of = |d: f64| edges.partition_point(|&e| e <= d);
    let n_bands = edges.len() + 1;

    let box_km2 = geodesic_km2(&MultiPolygon::new(vec![bbox.to_polygon()]));
    hex::check_cover_size(box_km2, res)?;
    let cover = hex::covering(bbox, res);
    let classified = exec.map(chunk_ranges(cover.len(), 4_096), |r| {
        cover[r]
            .iter()
            .map(|&c| {
                let d = index.nearest(hex::centre(c)).expect("index is not empty");
                (band_of(d.distance_m), c)
            })
            .collect::<Vec<_>>()
    });
    let mut cells_of: Vec<Vec<h3o::CellIndex>> = vec![Vec::new(); n_bands];
    for (b, c) in classified.into_iter().flatten() {
        cells_of[b].push(c);
    }

    let (_, distance_m) = nearest_all(dataset, &index, exec);
    let mut pairs: Vec<Vec<(f64, f64)>> = vec![Vec::new(); n_bands];
    for (&d, &w) in distance_m.iter().zip(dataset.residents().weights()) {
        pairs[band_of(d)].push((d, w));
    }

    let work: Vec<(usize, Vec<h3o::CellIndex>, Pairs)> = cells_of
        .into_iter()
        .zip(pairs)
        .enumerate()
        .map(|(b, (c, p))| (b, c, p))
        .collect();
    Ok(exec.map(work, |(b, cells, mut p)| {
        let geometry = hex::clip(&hex::dissolve(cells), area);
        let mut props = figures(options.kind, &mut p, options.min_group_size);
        props.band = Some(Band {
            min_m: if b == 0 { 0.0 } else { edges[b - 1] },
            max_m: edges.get(b).copied(),
        });
        feature(geometry, props)
    }))
}

fn ring_coords(ring: &LineString<f64>) -> Vec<Vec<f64>> {
    ring.0.iter().map(|c| vec![c.x, c.y]).collect()
}

pub(crate) fn geojson_geometry(mp: &MultiPolygon<f64>) -> geojson::Geometry {
    let polys =
        mp.0.iter()
            .map(|p| {
                std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .map(ring_coords)
                    .collect()
            })
            .collect();
    geojson::Geometry::new(geojson::Value::MultiPolygon(polys))
}

fn bbox_of(r: Rect<f64>) -> Vec<f64> {
    vec![r.min().x, r.min().y, r.max().x, r.max().y]
}

pub(crate) fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

impl CatchmentProperties {
    /// A stable feature id: the facility id, or for a band `band-<min>-<max>`
    /// in metres (`band-10000-inf` for the last).
    pub fn feature_id(&self) -> Option<String> {
        if let Some(id) = &self.facility_id {
            return Some(id.0.clone());
        }
        self.band.map(|b| match b.max_m {
            Some(max) => format!("band-{}-{}", b.min_m, max),
            None => format!("band-{}-inf", b.min_m),
        })
    }

    /// The GeoJSON `properties` object. Suppressed features carry no
    /// population or distances, only `"suppressed": true`.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        if let Some(id) = &self.facility_id {
            m.insert("facility_id".into(), json!(id));
            m.insert("facility_ids".into(), json!(self.facility_ids));
        }
        m.insert("kind".into(), json!(self.kind));
        if let Some(name) = &self.name {
            m.insert("name".into(), json!(name));
        }
        if let Some(band) = &self.band {
            m.insert("band_min_m".into(), number(band.min_m));
            m.insert("band_max_m".into(), band.max_m.map_or(Value::Null, number));
        }
        if self.suppressed {
            // The contract's keys stay, without figures.
            m.insert("population".into(), Value::Null);
            m.insert("median_m".into(), Value::Null);
            m.insert("p90_m".into(), Value::Null);
            m.insert("suppressed".into(), json!(true));
        } else {
            m.insert(
                "population".into(),
                self.population.map_or(Value::Null, number),
            );
            m.insert(
                "median_m".into(),
                self.summary.map_or(Value::Null, |s| json!(s.median_m)),
            );
            m.insert(
                "p90_m".into(),
                self.summary.map_or(Value::Null, |s| json!(s.p90_m)),
            );
            if let Some(t) = self.time {
                m.insert("median_s".into(), json!(t.median_m));
                m.insert("p90_s".into(), json!(t.p90_m));
            }
        }
        if self.facility_id.is_some() {
            m.insert("capacity".into(), self.capacity.map_or(Value::Null, number));
            m.insert(
                "list_size".into(),
                self.list_size.map_or(Value::Null, number),
            );
            m.insert(
                "load".into(),
                self.load
                    .map_or(Value::Null, |l| json!((l * 1e4).round() / 1e4)),
            );
        }
        m.insert("area_km2".into(), json!(round_mm(self.area_km2)));
        m
    }
}

impl Catchments {
    /// The RFC 7946 FeatureCollection, with a `bbox` on the collection and on
    /// every feature that has a geometry.
    pub fn to_geojson(&self) -> geojson::FeatureCollection {
        let mut all: Option<Rect<f64>> = None;
        let features = self
            .features
            .iter()
            .map(|f| {
                let rect = f.geometry.as_ref().and_then(|g| g.bounding_rect());
                if let Some(r) = rect {
                    all = Some(match all {
                        None => r,
                        Some(a) => Rect::new(
                            Coord {
                                x: a.min().x.min(r.min().x),
                                y: a.min().y.min(r.min().y),
                            },
                            Coord {
                                x: a.max().x.max(r.max().x),
                                y: a.max().y.max(r.max().y),
                            },
                        ),
                    });
                }
                geojson::Feature {
                    bbox: rect.map(bbox_of),
                    geometry: f.geometry.as_ref().map(geojson_geometry),
                    id: f.properties.feature_id().map(geojson::feature::Id::String),
                    properties: Some(f.properties.to_json()),
                    foreign_members: None,
                }
            })
            .collect();
        let mut foreign = Map::new();
        foreign.insert("dataset".into(), json!(self.dataset));
        foreign.insert("kind".into(), json!(self.kind));
        foreign.insert("method".into(), json!(self.method));
        if let Some(n) = &self.network {
            foreign.insert("metric".into(), json!(self.metric));
            foreign.insert("network".into(), json!(n));
        }
        if let Some(u) = self.unreachable {
            foreign.insert("unreachable".into(), number(u));
        }
        foreign.insert(
            "study_area_km2".into(),
            json!(round_mm(self.study_area_km2)),
        );
        // With a suppressed feature, the total minus the shown populations
        // would give the suppressed ones back: the total goes too.
        if !self.features.iter().any(|f| f.properties.suppressed) {
            foreign.insert("total_population".into(), number(self.total_population));
        }
        geojson::FeatureCollection {
            bbox: all.map(bbox_of),
            features,
            foreign_members: Some(foreign),
        }
    }

    /// [`to_geojson`](Self::to_geojson) as compact JSON text.
    pub fn to_geojson_string(&self) -> String {
        self.to_geojson().to_string()
    }
}

#[cfg(test)]
mod tests;
