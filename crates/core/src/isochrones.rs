//! Isochrones (CONTRACT §5): for each facility and band of travel time,
//! the area from which the facility is reached within the band over the
//! road network, and the people living there by their own travel times.
//!
//! Times are *to* the facility, as a resident travels (one-way streets
//! count in that direction), access legs included, the same figures as
//! `stats --metric`. The area is drawn with H3 cells: a cell belongs to a
//! band when a point at its centre would reach the facility within it.
//! Cells are found by a flood from the cells of the nodes the search
//! settled, so no cell is classified that the search could not reach.

use std::collections::VecDeque;

use bacino_network::{Cost, NetworkInfo, Snap, Target as NetTarget};
use geo::{BoundingRect, MultiPolygon};
use h3o::CellIndex;
use rustc_hash::FxHashSet;
use serde_json::{json, Map, Value};

use crate::catchments::{geodesic_km2, geojson_geometry, hex, number, polish};
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::exec::Executor;
use crate::metric::{Metric, MetricName, PreparedNetwork};
use crate::model::{FacilityIdx, FacilityKind};
use crate::stats::round_mm;

/// Default bands: 5, 10 and 15 minutes.
pub const DEFAULT_MINUTES: [f64; 3] = [5.0, 10.0, 15.0];

/// Longest band accepted, minutes.
pub const MAX_MINUTES: f64 = 600.0;

/// Most H3 cells one facility's isochrone may classify.
pub const MAX_ISOCHRONE_CELLS: usize = 400_000;

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct IsochroneOptions {
    /// Facilities of this kind (active ones).
    pub kind: FacilityKind,
    /// Only this facility (an id of the kind), when given.
    pub facility: Option<String>,
    /// Upper edges of the bands, minutes, strictly increasing.
    pub minutes: Vec<f64>,
    /// One feature per band for the whole kind (time to the nearest
    /// facility) instead of one per facility and band.
    pub union: bool,
    /// H3 resolution of the drawing; default 10 on foot (cells of about
    /// 0.015 km²), 9 by car (about 0.1 km²).
    pub resolution: Option<u8>,
    /// Populations of fewer people are suppressed.
    pub min_group_size: f64,
}

impl IsochroneOptions {
    /// Options with the default bands and threshold.
    pub fn new(kind: FacilityKind) -> IsochroneOptions {
        IsochroneOptions {
            kind,
            facility: None,
            minutes: DEFAULT_MINUTES.to_vec(),
            union: false,
            resolution: None,
            min_group_size: crate::DEFAULT_MIN_GROUP_SIZE,
        }
    }

    /// Parses `5,10,15`.
    pub fn parse_minutes(s: &str) -> Result<Vec<f64>> {
        s.split(',')
            .map(|m| {
                m.trim().parse::<f64>().map_err(|_| {
                    Error::param(
                        "minutes",
                        format!("expected minutes such as 5,10,15, found `{m}`"),
                    )
                })
            })
            .collect()
    }

    fn validate(&self) -> Result<()> {
        let m = &self.minutes;
        if m.is_empty()
            || !m
                .iter()
                .all(|x| x.is_finite() && *x > 0.0 && *x <= MAX_MINUTES)
            || !m.windows(2).all(|w| w[0] < w[1])
        {
            return Err(Error::param(
                "minutes",
                format!("expected strictly increasing minutes in (0, {MAX_MINUTES}]"),
            ));
        }
        if !(self.min_group_size.is_finite() && self.min_group_size >= 0.0) {
            return Err(Error::param(
                "min_group_size",
                "expected a non-negative number",
            ));
        }
        if let Some(r) = self.resolution {
            hex::resolution(r)?;
        }
        Ok(())
    }
}

/// One band of one facility (or of the kind, with `union`).
#[derive(Debug, Clone, PartialEq)]
pub struct IsochroneFeature {
    /// The facility (none with `union`).
    pub facility: Option<FacilityIdx>,
    /// Lower edge, minutes (exclusive, but 0 is included in the first band).
    pub minutes_min: f64,
    /// Upper edge, minutes (inclusive).
    pub minutes_max: f64,
    /// The area, or `None` when no cell falls in the band.
    pub geometry: Option<MultiPolygon<f64>>,
    /// People whose own time is in the band; `None` when suppressed.
    pub population: Option<f64>,
    /// True when fewer than `min_group_size` people are in the band.
    pub suppressed: bool,
    /// Area on the ellipsoid, km².
    pub area_km2: f64,
}

/// Isochrones of a kind of facility.
#[derive(Debug, Clone, PartialEq)]
pub struct Isochrones {
    /// Dataset name.
    pub dataset: String,
    /// `car` or `foot`.
    pub metric: MetricName,
    /// Extract and profile.
    pub network: NetworkInfo,
    /// Facility kind.
    pub kind: FacilityKind,
    /// H3 resolution used.
    pub resolution: u8,
    /// Band edges, minutes.
    pub minutes: Vec<f64>,
    /// Features by facility id, then band.
    pub features: Vec<IsochroneFeature>,
    facility_names: Vec<(String, Option<String>)>,
}

/// Draws isochrones of `options.kind` under a network `metric`.
pub fn isochrones<E: Executor>(
    dataset: &Dataset,
    options: &IsochroneOptions,
    metric: Metric<'_>,
    exec: &E,
) -> Result<Isochrones> {
    options.validate()?;
    let Metric::Network(prepared) = metric else {
        return Err(Error::param(
            "metric",
            "isochrones need a road-network metric: `car` or `foot`",
        ));
    };
    let facilities = dataset.facilities();
    let mut members = facilities.active_of_kind(options.kind);
    if members.is_empty() {
        return Err(Error::Unavailable(format!(
            "the dataset has no active facility of kind `{}`",
            options.kind
        )));
    }
    if let Some(id) = &options.facility {
        let f = facilities
            .index_of(id)
            .ok_or_else(|| Error::UnknownFacility(id.clone()))?;
        if !members.contains(&f) {
            return Err(Error::param(
                "facility",
                format!(
                    "`{id}` is not an active facility of kind `{}`",
                    options.kind
                ),
            ));
        }
        members = vec![f];
    }
    members.sort_by(|&a, &b| facilities.get(a).id.cmp(&facilities.get(b).id));
    let name = metric.name();
    let res_u8 = options
        .resolution
        .unwrap_or(if name == MetricName::Foot { 10 } else { 9 });
    let res = hex::resolution(res_u8)?;
    let snaps = prepared.facility_snaps();
    let target = |f: FacilityIdx| snaps[f as usize].map(|snap| NetTarget { label: f, snap });
    let groups: Vec<(Option<FacilityIdx>, Vec<NetTarget>)> = if options.union {
        vec![(None, members.iter().filter_map(|&f| target(f)).collect())]
    } else {
        members
            .iter()
            .map(|&f| (Some(f), target(f).into_iter().collect()))
            .collect()
    };
    let limit_ms = (options.minutes.last().copied().unwrap_or(0.0) * 60_000.0).round() as u32;
    let drawn = exec.map(groups, |(facility, targets)| {
        draw(
            dataset, prepared, options, res, facility, &targets, limit_ms,
        )
    });
    let mut features = Vec::new();
    for d in drawn {
        features.extend(d?);
    }
    Ok(Isochrones {
        dataset: dataset.name.clone(),
        metric: name,
        network: prepared.network().info().clone(),
        kind: options.kind,
        resolution: res_u8,
        minutes: options.minutes.clone(),
        features,
        facility_names: facilities
            .iter()
            .map(|f| (f.id.0.clone(), f.name.clone()))
            .collect(),
    })
}

/// The band (0-based) of a time in milliseconds, if within the last edge.
fn band_of(minutes: &[f64], time_ms: u32) -> Option<usize> {
    let t = f64::from(time_ms) / 60_000.0;
    let b = minutes.partition_point(|&m| m < t);
    (b < minutes.len()).then_some(b)
}

fn draw(
    dataset: &Dataset,
    prepared: &PreparedNetwork,
    options: &IsochroneOptions,
    res: h3o::Resolution,
    facility: Option<FacilityIdx>,
    targets: &[NetTarget],
    limit_ms: u32,
) -> Result<Vec<IsochroneFeature>> {
    let nb = options.minutes.len();
    let mut cells: Vec<Vec<CellIndex>> = vec![Vec::new(); nb];
    let mut people = vec![0.0f64; nb];
    if !targets.is_empty() {
        let net = prepared.network();
        let search = net.search_to(targets, Cost::new(limit_ms, u32::MAX));
        let time_of = |snap: &Snap| -> Option<u32> {
            search
                .cost(snap)
                .map(|(c, _)| c.time_ms())
                .filter(|&t| t <= limit_ms)
        };
        // Cells: a flood from the cells of the settled nodes, through cells
        // whose centre is within the limit. A cell is drawn only when its
        // centre is within two cell edges of a road: a coast road must not
        // colour the sea a kilometre out (people there would be counted by
        // their own snaps, up to snap_max_m).
        let draw_snap_m = 2.0 * res.edge_length_m();
        let coords = &net.graph().coords;
        let mut seen: FxHashSet<CellIndex> = FxHashSet::default();
        let mut queue: VecDeque<CellIndex> = VecDeque::new();
        for &v in search.touched() {
            if search.node_cost(v).is_some() {
                let c = coords[v as usize];
                if let Some(cell) = hex::cell_of(crate::model::LonLat::new(c[0], c[1]), res) {
                    if seen.insert(cell) {
                        queue.push_back(cell);
                    }
                }
            }
        }
        while let Some(cell) = queue.pop_front() {
            if seen.len() > MAX_ISOCHRONE_CELLS {
                return Err(Error::param(
                    "resolution",
                    format!(
                        "the isochrone needs more than {MAX_ISOCHRONE_CELLS} H3 cells at resolution {}: use a coarser resolution or shorter bands",
                        u8::from(res)
                    ),
                ));
            }
            let c = hex::centre(cell);
            let Some(t) = net
                .snap_within([c.lon, c.lat], draw_snap_m)
                .as_ref()
                .and_then(time_of)
            else {
                continue;
            };
            if let Some(b) = band_of(&options.minutes, t) {
                cells[b].push(cell);
                for n in cell.grid_disk::<Vec<_>>(1) {
                    if seen.insert(n) {
                        queue.push_back(n);
                    }
                }
            }
        }
        // People: those whose exit nodes the search reached, by their own
        // times.
        let weights = dataset.residents().weights();
        let rsnap = prepared.resident_snaps();
        let mut counted: FxHashSet<u32> = FxHashSet::default();
        for &v in search.touched() {
            if search.node_cost(v).is_none() {
                continue;
            }
            for &r in prepared.residents_at_node(v) {
                if !counted.insert(r) {
                    continue;
                }
                let snap = rsnap[r as usize]
                    .as_ref()
                    .expect("indexed residents are snapped");
                if let Some(b) = time_of(snap).and_then(|t| band_of(&options.minutes, t)) {
                    people[b] += weights[r as usize];
                }
            }
        }
    }
    let mut bands: Vec<IsochroneFeature> = cells
        .into_iter()
        .zip(people)
        .enumerate()
        .map(|(b, (cells, population))| {
            let geometry = polish::finish(&hex::dissolve(cells));
            let suppressed = population < options.min_group_size;
            IsochroneFeature {
                facility,
                minutes_min: if b == 0 { 0.0 } else { options.minutes[b - 1] },
                minutes_max: options.minutes[b],
                area_km2: geodesic_km2(&geometry),
                geometry: (!geometry.0.is_empty()).then_some(geometry),
                population: (!suppressed).then_some(population),
                suppressed,
            }
        })
        .collect();
    // The bands partition the people within the last one, a total another
    // request (one band to the same time) gives: a lone suppressed band
    // draws the smallest shown one with it.
    if let Some(i) = crate::disclosure::complementary_cell(bands.iter().map(|f| f.population)) {
        bands[i].population = None;
        bands[i].suppressed = true;
    }
    Ok(bands)
}

impl Isochrones {
    /// The RFC 7946 FeatureCollection: one feature per facility (or per
    /// kind, with `union`) and band.
    pub fn to_geojson(&self) -> geojson::FeatureCollection {
        let features = self
            .features
            .iter()
            .map(|f| {
                let mut p = Map::new();
                let (id, name) = match f.facility {
                    Some(i) => {
                        let (id, name) = &self.facility_names[i as usize];
                        (Value::String(id.clone()), name.clone())
                    }
                    None => (Value::Null, None),
                };
                p.insert("facility_id".into(), id.clone());
                p.insert("kind".into(), json!(self.kind));
                if let Some(n) = name {
                    p.insert("name".into(), json!(n));
                }
                p.insert("minutes_min".into(), number(f.minutes_min));
                p.insert("minutes_max".into(), number(f.minutes_max));
                p.insert(
                    "population".into(),
                    f.population.map_or(Value::Null, number),
                );
                if f.suppressed {
                    p.insert("suppressed".into(), json!(true));
                }
                p.insert("area_km2".into(), json!(round_mm(f.area_km2)));
                let fid = format!(
                    "{}-{}-{}",
                    id.as_str().unwrap_or(self.kind.as_str()),
                    f.minutes_min,
                    f.minutes_max
                );
                let rect = f.geometry.as_ref().and_then(|g| g.bounding_rect());
                geojson::Feature {
                    bbox: rect.map(|r| vec![r.min().x, r.min().y, r.max().x, r.max().y]),
                    geometry: f.geometry.as_ref().map(geojson_geometry),
                    id: Some(geojson::feature::Id::String(fid)),
                    properties: Some(p),
                    foreign_members: None,
                }
            })
            .collect();
        let mut foreign = Map::new();
        foreign.insert("dataset".into(), json!(self.dataset));
        foreign.insert("metric".into(), json!(self.metric));
        foreign.insert("network".into(), json!(self.network));
        foreign.insert("kind".into(), json!(self.kind));
        foreign.insert("resolution".into(), json!(self.resolution));
        foreign.insert("minutes".into(), json!(self.minutes));
        geojson::FeatureCollection {
            bbox: None,
            features,
            foreign_members: Some(foreign),
        }
    }

    /// [`to_geojson`](Self::to_geojson) as compact JSON text.
    pub fn to_geojson_string(&self) -> String {
        self.to_geojson().to_string()
    }
}
