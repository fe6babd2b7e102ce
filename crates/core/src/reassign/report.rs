//! The scenario document (CONTRACT §4, §5): counts, new distances and
//! times, receiving GPs and municipalities, suppressed under
//! `min_group_size`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{reassign, Optimality, Reassignment, ScenarioQuery};
use crate::costs::CostsInfo;
use crate::dataset::Dataset;
use crate::distances::TimeSummary;
use crate::error::{Error, Result};
use crate::exec::Executor;
use crate::model::{FacilityIdx, NONE};
use crate::stats::{round_mm, serialize_whole_opt, Summary};
use bacino_network::NetworkInfo;

/// Figures of a scenario's new distances, unless too few people.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Figures {
    /// The statistics.
    Stats(Summary),
    /// Fewer than `min_group_size` people.
    Suppressed {
        /// Always true.
        suppressed: bool,
    },
}

/// Figures of a scenario's new travel times (seconds), unless too few
/// people.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum TimeFigures {
    /// The statistics, with the count of people.
    Stats {
        /// People placed.
        #[serde(serialize_with = "crate::stats::serialize_whole")]
        count: f64,
        /// The figures.
        #[serde(flatten)]
        time: TimeSummary,
    },
    /// Fewer than `min_group_size` people.
    Suppressed {
        /// Always true.
        suppressed: bool,
    },
}

/// A receiving GP in a [`ScenarioReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpChange {
    /// Facility id.
    pub id: String,
    /// People newly assigned; `null` when fewer than `min_group_size`.
    pub new_patients: Option<u64>,
    /// List size after the change; `null` when `new_patients` is.
    #[serde(serialize_with = "serialize_whole_opt")]
    pub list_size: Option<f64>,
    /// Capacity (massimale), `null` for unbounded.
    pub capacity: Option<u32>,
    /// True when fewer than `min_group_size` people were assigned (a count
    /// that small, with the distances above, could single a patient out).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub suppressed: bool,
}

/// The affected patients of one municipality in a [`ScenarioReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MunicipalityChange {
    /// Enough people: the figures.
    Figures {
        /// ISTAT code (`null` for residents without one).
        key: Option<String>,
        /// Area name, when the dataset has areas.
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// Patients to place who live there.
        patients: u64,
        /// Of whom unplaced.
        orphans: u64,
        /// Weighted median distance to the GP they were listed with, metres
        /// (`null` when fewer than `min_group_size` were listed, or their
        /// distances are unknown); absent for a `table` in seconds.
        #[serde(skip_serializing_if = "Option::is_none")]
        before_median_m: Option<Option<f64>>,
        /// Weighted median distance to the GP assigned, metres, over the
        /// placed (`null` when fewer than `min_group_size` were placed);
        /// absent for a `table` in seconds.
        #[serde(skip_serializing_if = "Option::is_none")]
        after_median_m: Option<Option<f64>>,
        /// Weighted median travel time to the GP they were listed with,
        /// seconds, under a metric with times.
        #[serde(skip_serializing_if = "Option::is_none")]
        before_median_s: Option<Option<f64>>,
        /// Weighted median travel time to the GP assigned, seconds.
        #[serde(skip_serializing_if = "Option::is_none")]
        after_median_s: Option<Option<f64>>,
    },
    /// Fewer than `min_group_size` patients.
    Suppressed {
        /// ISTAT code.
        key: Option<String>,
        /// Area name.
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// Always true.
        suppressed: bool,
    },
}

/// The scenario document (CONTRACT §4), printed by `bacino scenario` and
/// returned by `POST /v1/datasets/{name}/scenarios`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioReport {
    /// Dataset name.
    pub dataset: String,
    /// The metric whose total was minimised.
    pub metric: &'static str,
    /// The extract and profile, under `car`/`foot`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkInfo>,
    /// The cost table, under `table`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub costs: Option<CostsInfo>,
    /// Ceasing GP ids.
    pub ceased: Vec<String>,
    /// Facilities the plan opened, by id.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub opened: Vec<String>,
    /// The caps the plan set (`"*"`: every GP).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub capacity: BTreeMap<String, u32>,
    /// Maximum distance, metres.
    pub max_distance_m: f64,
    /// Maximum travel time, seconds, when one was set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_time_s: Option<f64>,
    /// Whether unlisted residents were placed too.
    pub assign_unlisted: bool,
    /// Privacy threshold, people.
    pub min_group_size: f64,
    /// People to place (the ceasing GPs' listed patients, plus unlisted
    /// residents with `assign_unlisted`).
    pub patients: u64,
    /// Of which unlisted residents.
    pub unlisted: u64,
    /// People placed.
    pub placed: u64,
    /// People left without a GP (no room within the limits, or off the
    /// road network).
    pub orphans: u64,
    /// Of the orphans, people whose home is off the road network (beyond
    /// `snap_max_m`), under `car`/`foot`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreachable: Option<u64>,
    /// Sum of the placed people's new distances (route lengths under
    /// `car`/`foot`), metres (`null` when fewer than `min_group_size` were
    /// placed, or the metric has no lengths).
    pub total_distance_m: Option<f64>,
    /// Sum of the placed people's new travel times, seconds, under a
    /// metric with times (`null` when fewer than `min_group_size`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_time_s: Option<Option<f64>>,
    /// Statistics of the placed people's new distances (absent for a
    /// `table` in seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_distance: Option<Figures>,
    /// Statistics of the placed people's new travel times, under a metric
    /// with times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_time: Option<TimeFigures>,
    /// Receiving GPs with new patients, by id.
    pub by_gp: Vec<GpChange>,
    /// Affected patients by municipality of residence, by key.
    pub by_municipality: Vec<MunicipalityChange>,
    /// Optimality evidence.
    pub optimality: Optimality,
}

/// Weighted (value, people) pairs of one quantity, with NaN values (not
/// measured) left out.
#[derive(Default)]
struct Pairs(Vec<(f64, f64)>);

impl Pairs {
    fn push(&mut self, value: f64, people: u32) {
        if !value.is_nan() {
            self.0.push((value, f64::from(people)));
        }
    }
}

/// Before and after figures of one municipality's patients.
#[derive(Default)]
struct Muni {
    patients: u64,
    orphans: u64,
    before_m: Pairs,
    after_m: Pairs,
    before_s: Pairs,
    after_s: Pairs,
}

/// Builds the scenario document of a solved reassignment; aggregates over
/// fewer than `min_group_size` people are suppressed (NaN suppresses all).
pub fn scenario_report(
    dataset: &Dataset,
    solved: &Reassignment,
    min_group_size: f64,
) -> ScenarioReport {
    let min_group_size = if min_group_size.is_nan() {
        f64::INFINITY
    } else {
        min_group_size
    };
    let facilities = dataset.facilities();
    let residents = dataset.residents();
    // Which figures the metric has: lengths unless a table in seconds,
    // times under car/foot or a table in seconds.
    let has_m = solved.optimality.cost_resolution_m.is_some() || solved.network.is_some();
    let has_s = solved.in_seconds();
    let (mut patients, mut unlisted, mut placed) = (0u64, 0u64, 0u64);
    let (mut total_m, mut total_s) = (0.0f64, 0.0f64);
    let (mut new_m, mut new_s) = (Pairs::default(), Pairs::default());
    let mut by_gp: BTreeMap<FacilityIdx, u64> = BTreeMap::new();
    let mut by_muni: BTreeMap<u32, Muni> = BTreeMap::new();
    let munis = residents.municipality().codes();
    for r in &solved.rows {
        let people = r.people as u64;
        patients += people;
        let m = by_muni.entry(munis[r.resident]).or_default();
        m.patients += people;
        if r.from == NONE {
            unlisted += people;
        } else {
            m.before_m.push(r.before_m, r.people);
            m.before_s.push(r.before_s, r.people);
        }
        if r.to == NONE {
            m.orphans += people;
            continue;
        }
        placed += people;
        if has_m {
            total_m += r.distance_m * r.people as f64;
        }
        if has_s {
            total_s += r.time_s * r.people as f64;
        }
        new_m.push(r.distance_m, r.people);
        new_s.push(r.time_s, r.people);
        m.after_m.push(r.distance_m, r.people);
        m.after_s.push(r.time_s, r.people);
        *by_gp.entry(r.to).or_default() += people;
    }
    let enough = placed as f64 >= min_group_size && placed > 0;
    let new_distance = has_m.then(|| match Summary::from_weighted(&mut new_m.0) {
        Some(s) if enough => Figures::Stats(s.rounded()),
        _ => Figures::Suppressed { suppressed: true },
    });
    let new_time = has_s.then(|| match Summary::from_weighted(&mut new_s.0) {
        Some(s) if enough => TimeFigures::Stats {
            count: s.count,
            time: TimeSummary::from(s),
        },
        _ => TimeFigures::Suppressed { suppressed: true },
    });
    let mut by_gp: Vec<GpChange> = by_gp
        .into_iter()
        .map(|(g, n)| {
            let f = facilities.get(g);
            let shown = n as f64 >= min_group_size;
            GpChange {
                id: f.id.0.clone(),
                new_patients: shown.then_some(n),
                list_size: shown.then(|| dataset.list_size(g) + n as f64),
                capacity: f.capacity,
                suppressed: !shown,
            }
        })
        .collect();
    by_gp.sort_by(|a, b| a.id.cmp(&b.id));
    // by_gp partitions `placed`, by_municipality `patients`, both
    // published: a lone suppressed row draws the smallest shown one.
    if let Some(i) = crate::disclosure::complementary_cell(
        by_gp.iter().map(|g| g.new_patients.map(|n| n as f64)),
    ) {
        let g = &mut by_gp[i];
        g.new_patients = None;
        g.list_size = None;
        g.suppressed = true;
    }
    let names: BTreeMap<&str, &str> = dataset.areas().map_or_else(BTreeMap::new, |areas| {
        (0..areas.len())
            .filter_map(|i| Some((areas.id(i), areas.name(i)?)))
            .collect()
    });
    let values = residents.municipality().values();
    // Each median covers its own people (the listed, the placed), which can
    // be fewer than the municipality's patients: it needs enough of them.
    let median = |pairs: &mut Pairs| {
        Summary::from_weighted(&mut pairs.0)
            .filter(|s| s.count >= min_group_size)
            .map(|s| round_mm(s.median_m))
    };
    let mut by_municipality: Vec<MunicipalityChange> = by_muni
        .into_iter()
        .map(|(code, mut m)| {
            let key = (code != NONE).then(|| values[code as usize].clone());
            let name = key
                .as_deref()
                .and_then(|k| names.get(k))
                .map(|s| (*s).to_owned());
            if (m.patients as f64) < min_group_size {
                MunicipalityChange::Suppressed {
                    key,
                    name,
                    suppressed: true,
                }
            } else {
                MunicipalityChange::Figures {
                    key,
                    name,
                    patients: m.patients,
                    orphans: m.orphans,
                    before_median_m: has_m.then(|| median(&mut m.before_m)),
                    after_median_m: has_m.then(|| median(&mut m.after_m)),
                    before_median_s: has_s.then(|| median(&mut m.before_s)),
                    after_median_s: has_s.then(|| median(&mut m.after_s)),
                }
            }
        })
        .collect();
    by_municipality.sort_by(|a, b| {
        let key = |m: &MunicipalityChange| match m {
            MunicipalityChange::Figures { key, .. }
            | MunicipalityChange::Suppressed { key, .. } => key.clone(),
        };
        match (key(a), key(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
    });
    if let Some(i) =
        crate::disclosure::complementary_cell(by_municipality.iter().map(|m| match m {
            MunicipalityChange::Figures { patients, .. } => Some(*patients as f64),
            MunicipalityChange::Suppressed { .. } => None,
        }))
    {
        if let MunicipalityChange::Figures { key, name, .. } = &mut by_municipality[i] {
            by_municipality[i] = MunicipalityChange::Suppressed {
                key: key.take(),
                name: name.take(),
                suppressed: true,
            };
        }
    }
    ScenarioReport {
        dataset: dataset.name.clone(),
        metric: solved.metric.as_str(),
        network: solved.network.clone(),
        costs: solved.costs.clone(),
        ceased: solved
            .ceased
            .iter()
            .map(|&c| facilities.get(c).id.0.clone())
            .collect(),
        opened: solved.opened.clone(),
        capacity: solved.capacity.clone(),
        max_distance_m: solved.max_distance_m,
        max_time_s: solved.max_time_s,
        assign_unlisted: solved.assign_unlisted,
        min_group_size,
        patients,
        unlisted,
        placed,
        orphans: patients - placed,
        unreachable: solved.network.is_some().then_some(solved.unreachable),
        total_distance_m: (enough && has_m).then(|| round_mm(total_m)),
        total_time_s: has_s.then(|| enough.then(|| round_mm(total_s))),
        new_distance,
        new_time,
        by_gp,
        by_municipality,
        optimality: solved.optimality,
    }
}

/// Solves a scenario under `query.metric` and builds its document in one
/// call: the body of `bacino scenario` and of
/// `POST /v1/datasets/{name}/scenarios`.
///
/// ```no_run
/// use bacino_core::{scenario, Dataset, ScenarioQuery, Sequential};
/// let dataset = Dataset::load("fixtures/bergamo")?;
/// let query = ScenarioQuery {
///     cease: vec!["GP0055".into(), "GP0058".into()],
///     ..ScenarioQuery::default()
/// };
/// let report = scenario(&dataset, &query, &Sequential)?;
/// assert!(report.optimality.proven);
/// println!("{}", serde_json::to_string_pretty(&report).unwrap());
/// # Ok::<(), bacino_core::Error>(())
/// ```
pub fn scenario<E: Executor>(
    dataset: &Dataset,
    query: &ScenarioQuery,
    exec: &E,
) -> Result<ScenarioReport> {
    if query.min_group_size.is_nan() || query.min_group_size < 0.0 {
        return Err(Error::param(
            "min_group_size",
            format!(
                "expected a number of people >= 0, found {}",
                query.min_group_size
            ),
        ));
    }
    let planned;
    let dataset = if query.has_levers() {
        planned = dataset.with_levers(&query.open, &query.capacity)?;
        &planned
    } else {
        dataset
    };
    let metric = dataset.metric(query.metric, exec)?;
    let solved = reassign(dataset, query, metric, exec)?;
    Ok(scenario_report(dataset, &solved, query.min_group_size))
}
