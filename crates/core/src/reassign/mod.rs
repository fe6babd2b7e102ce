//! GP-cessation scenarios: the ceasing GPs' patients are reassigned to the
//! remaining active GPs with **provably minimal** total cost under the
//! scenario's metric, subject to each GP's spare capacity and to a maximum
//! distance (CONTRACT §4, §5, issue #5, #8).
//!
//! The problem is a transportation problem: patients (integer weights are
//! people; a weighted point may be split across GPs) supply, receiving GPs
//! absorb up to their spare capacity `floor(capacity − list_size)` (no
//! capacity: unbounded), and the arc patient → GP costs, in whole units,
//! the geodesic distance (mm), the travel time by road (`car`, `foot`: ms),
//! or the given cost of a `table` (ms or mm). First as many people as
//! possible are placed (maximum flow), then the total cost is minimal
//! (min-cost max-flow), solved exactly by [`crate::transport`].
//!
//! Candidate arcs are pruned, and pruning is *proven* harmless before an
//! answer is returned (column generation):
//! - each patient starts with its cheapest receiving GPs (geodesic: also the
//!   best ones at the prices of a coarse version of the problem, patients
//!   pooled in ~400 m cells, so that where nearby room is short the far GPs
//!   that will take people are offered from the start);
//! - after each exact solve, [`crate::transport`] certifies the flow on its
//!   arc set (dual potentials ψ from Bellman–Ford, no augmenting path);
//! - every pruned arc within the limits is then priced: it could help only
//!   if its reduced cost under ψ is negative. Each receiving GP is screened
//!   with a lower bound on the arc's cost (geodesic: a rigorous chord bound;
//!   road networks: the exact cost from one many-to-many matrix), and only
//!   those the bound cannot clear are measured exactly;
//! - while someone is unplaced, every patient reachable from the unplaced in
//!   the residual graph is offered its cheapest GPs outside the reachable
//!   set, until no such GP is within reach (a cut proving the flow maximum);
//! - violating arcs are added and the problem solved again; in the first
//!   rounds, arcs far above a patient's best reduced cost are forgotten to
//!   keep the re-solves small (they are priced again every round).
//!
//! The answer is returned only when a round adds nothing; [`Optimality`]
//! reports the rounds and arcs this took.

mod cache;
mod geodesic;
mod pricing;
mod report;
mod routed;
mod sweep;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::costs::{CostUnit, CostsInfo};
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::exec::Executor;
use crate::metric::{Metric, MetricName};
use crate::model::{FacilityIdx, FacilityKind, NONE};
use crate::plan::OpenFacility;
use crate::transport::{certify, solve, Problem, UNBOUNDED};
use bacino_network::NetworkInfo;
use pricing::{drop_slack, widen};

pub use cache::CessationCache;
pub use report::{
    scenario, scenario_report, Figures, GpChange, MunicipalityChange, ScenarioReport, TimeFigures,
};

/// Default `max_distance_m` of a scenario: 30 km.
pub const DEFAULT_MAX_DISTANCE_M: f64 = 30_000.0;

/// Cheapest receiving GPs first offered to each patient; the proof widens
/// this where needed.
const NEAREST_CANDIDATES: usize = 8;

/// Best receiving GPs at the coarse problem's prices first offered to each
/// patient (geodesic).
const PRICED_CANDIDATES: usize = 8;

/// Cheapest GPs outside the reachable set added per reachable patient and
/// round while someone is unplaced.
const ESCAPES_ADDED: usize = 4;

/// Rounds in which arcs with a large reduced cost are forgotten (later
/// rounds only add, so the widening terminates).
const DROP_ROUNDS: u32 = 3;

/// Arcs kept per patient when forgetting, at least.
const KEEP_AT_LEAST: usize = 8;

/// Arcs within this reduced cost (mm or ms) of a patient's best are kept.
const KEEP_SLACK: i64 = 1_000_000;

/// Arc costs are whole thousandths of the metric's unit (mm, ms), so
/// optimality is exact in integers.
const UNITS_PER_COST: f64 = 1000.0;

/// A scenario plan (CONTRACT §4, §8). Deserialises from the HTTP request
/// body and from `bacino scenario --plan FILE.json`:
/// `{"cease": [...], "open": [...], "capacity": {"*": 1800},
/// "max_distance_m": 30000}` (also `assign_unlisted`, `min_group_size`,
/// `metric`, `max_time_s`; missing keys take the defaults, unknown keys are
/// refused).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScenarioQuery {
    /// Ids of the GPs that cease (active GPs of the dataset).
    pub cease: Vec<String>,
    /// Nobody is assigned farther than this, metres: the geodesic
    /// distance, the route's length under `car`/`foot`, the cost of a
    /// `table` in metres (a `table` in seconds has no length: not applied).
    pub max_distance_m: f64,
    /// Nobody is assigned with a longer travel time than this, seconds
    /// (`car`, `foot`, a `table` in seconds); no limit when absent.
    pub max_time_s: Option<f64>,
    /// Also place residents of group `no_gp` without a `gp_id`.
    pub assign_unlisted: bool,
    /// Privacy threshold in people for the report's aggregates.
    pub min_group_size: f64,
    /// The metric whose total cost is minimised (`car`/`foot`: travel time).
    pub metric: MetricName,
    /// GPs (or other facilities) the plan opens (CONTRACT §8).
    pub open: Vec<OpenFacility>,
    /// List caps the plan sets: `"*"` for every GP, or by GP id.
    pub capacity: BTreeMap<String, u32>,
}

impl ScenarioQuery {
    /// True when the plan opens facilities or sets caps (the dataset must
    /// then be derived with [`Dataset::with_levers`]).
    pub fn has_levers(&self) -> bool {
        !self.open.is_empty() || !self.capacity.is_empty()
    }
}

impl Default for ScenarioQuery {
    fn default() -> Self {
        ScenarioQuery {
            cease: Vec::new(),
            max_distance_m: DEFAULT_MAX_DISTANCE_M,
            max_time_s: None,
            assign_unlisted: false,
            min_group_size: crate::distances::DEFAULT_MIN_GROUP_SIZE,
            metric: MetricName::Geodesic,
            open: Vec::new(),
            capacity: BTreeMap::new(),
        }
    }
}

/// One line of a reassignment: some people of one resident row and where
/// they go. A row with weight > 1 may be split over several GPs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReassignmentRow {
    /// Resident row in [`Residents`](crate::Residents).
    pub resident: usize,
    /// The ceasing GP they were listed with ([`NONE`] for unlisted residents).
    pub from: FacilityIdx,
    /// The GP they are assigned to ([`NONE`]: orphan, nobody with room
    /// within the limits, or the resident is off the road network).
    pub to: FacilityIdx,
    /// People of the row in this line.
    pub people: u32,
    /// Distance to `to`, metres: geodesic, or the route's length under
    /// `car`/`foot`, or the cost of a `table` in metres (NaN for orphans
    /// and for a `table` in seconds).
    pub distance_m: f64,
    /// Travel time to `to`, seconds, under `car`/`foot` or a `table` in
    /// seconds (NaN otherwise and for orphans).
    pub time_s: f64,
    /// Distance to `from` in the same sense (NaN when unknown: unlisted,
    /// off the network, no pair in the table).
    pub before_m: f64,
    /// Travel time to `from` in the same sense.
    pub before_s: f64,
}

/// Evidence that a reassignment is optimal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Optimality {
    /// True when the certificate (no augmenting path, no negative cycle,
    /// no pruned arc with negative reduced cost) was verified.
    pub proven: bool,
    /// Problems solved (1 = the first arc set was already proven).
    pub rounds: u32,
    /// Patient → GP arcs in the final problem.
    pub arcs: u64,
    /// Arcs added by widening over all rounds (some may have been
    /// forgotten again when their reduced cost became large).
    pub arcs_added: u64,
    /// Augmenting paths in the final solve.
    pub augmentations: u64,
    /// Arc costs are multiples of this, metres (optimality is exact for
    /// distances rounded to it); absent when the cost is a time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_resolution_m: Option<f64>,
    /// Arc costs are multiples of this, seconds, when the cost is a time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_resolution_s: Option<f64>,
}

/// The solved scenario: who goes where.
#[derive(Debug, Clone)]
pub struct Reassignment {
    /// The ceasing GPs.
    pub ceased: Vec<FacilityIdx>,
    /// Maximum distance used, metres.
    pub max_distance_m: f64,
    /// Maximum travel time used, seconds.
    pub max_time_s: Option<f64>,
    /// Whether unlisted residents were placed too.
    pub assign_unlisted: bool,
    /// The metric minimised.
    pub metric: MetricName,
    /// The extract and profile, under `car`/`foot`.
    pub network: Option<NetworkInfo>,
    /// The cost table, under `table`.
    pub costs: Option<CostsInfo>,
    /// Ids of the facilities the plan opened.
    pub opened: Vec<String>,
    /// The caps the plan set.
    pub capacity: BTreeMap<String, u32>,
    /// Lines by resident row, then destination id; orphans last per row.
    pub rows: Vec<ReassignmentRow>,
    /// Of the orphans, people whose home is off the road network (beyond
    /// `snap_max_m`): they could not be routed anywhere.
    pub unreachable: u64,
    /// Proof summary.
    pub optimality: Optimality,
}

impl Reassignment {
    /// Each resident's GP after the change: the dataset's `gp_id`, with
    /// every reassigned row moved to its new GP ([`NONE`] for orphans), and
    /// nobody left with a ceased GP (`ad_user` rows that only visited one
    /// are not reassigned, and now have none). A weighted row split over
    /// several GPs goes to the one receiving most of its people (ties: the
    /// first line, i.e. the smallest id).
    pub fn assignment_after(&self, dataset: &Dataset) -> Vec<FacilityIdx> {
        let mut gp: Vec<FacilityIdx> = dataset
            .residents()
            .gp()
            .iter()
            .map(|&g| if self.ceased.contains(&g) { NONE } else { g })
            .collect();
        let mut people = vec![0u32; gp.len()];
        let mut touched = vec![false; gp.len()];
        for r in &self.rows {
            if !touched[r.resident] || r.people > people[r.resident] {
                touched[r.resident] = true;
                people[r.resident] = r.people;
                gp[r.resident] = r.to;
            }
        }
        gp
    }

    /// The active GPs of `dataset` that remain active after the change, by
    /// facility index.
    pub fn active_after(&self, dataset: &Dataset) -> Vec<FacilityIdx> {
        dataset
            .facilities()
            .active_of_kind(FacilityKind::Gp)
            .into_iter()
            .filter(|i| !self.ceased.contains(i))
            .collect()
    }

    /// True when the cost minimised is a time (seconds).
    pub fn in_seconds(&self) -> bool {
        self.optimality.cost_resolution_s.is_some()
    }
}

/// A patient to place: row, people, GP left.
#[derive(Debug, Clone, Copy)]
struct Patient {
    row: usize,
    people: u32,
    from: FacilityIdx,
}

/// A patient's candidate GPs (sink, cost) sorted by cost then sink.
#[derive(Debug, Clone, Default)]
struct Candidates {
    arcs: Vec<(u32, i64)>,
    /// True when `arcs` holds every arc the patient has.
    complete: bool,
}

impl Candidates {
    fn sort(&mut self) {
        self.arcs.sort_by_key(|&(j, c)| (c, j));
    }
}

/// Patient → receiving-GP arcs of one metric, in whole solver units.
trait ArcCosts: Sync {
    /// A lower bound of the cost of arc (patient `i`, sink `j`); `None`
    /// when the arc surely does not exist (beyond the limits).
    fn bound(&self, i: usize, j: u32) -> Option<i64>;
    /// The exact cost of the arc; `None` when it does not exist.
    fn cost(&self, i: usize, j: u32) -> Option<i64>;
    /// `(distance_m, time_s)` of the arc, for the answer (NaN where the
    /// metric has no such figure).
    fn figures(&self, i: usize, j: u32) -> (f64, f64);
    /// Calls `f` with every sink `j < sinks` whose arc from patient `i`
    /// may have a [`bound`](Self::bound) below `below` (and perhaps with
    /// others): a screen that only saves work. By default, every sink.
    fn each_below(&self, i: usize, below: i64, sinks: u32, f: &mut dyn FnMut(u32)) {
        let _ = (i, below);
        (0..sinks).for_each(f);
    }
}

/// Whole thousandths of a metre or second.
fn cost_units(x: f64) -> i64 {
    (x * UNITS_PER_COST).round() as i64
}

/// Solves a cessation scenario exactly under `metric` (`query.metric` is
/// not consulted: resolve it with [`Dataset::metric`]) on a dataset that
/// carries the plan's levers (see [`Dataset::with_levers`]); `exec` runs
/// the cost work.
pub fn reassign<E: Executor>(
    dataset: &Dataset,
    query: &ScenarioQuery,
    metric: Metric<'_>,
    exec: &E,
) -> Result<Reassignment> {
    reassign_tuned(dataset, query, metric, None, exec, Tuning::DEFAULT)
}

/// [`reassign`], sharing the work of many scenarios on one dataset through
/// `cache` (geodesic scenarios whose `max_distance_m` is the cache's; any
/// other solve ignores it). The answer is the one [`reassign`] gives.
pub fn reassign_cached<E: Executor>(
    dataset: &Dataset,
    query: &ScenarioQuery,
    metric: Metric<'_>,
    cache: &CessationCache,
    exec: &E,
) -> Result<Reassignment> {
    reassign_tuned(dataset, query, metric, Some(cache), exec, Tuning::DEFAULT)
}

/// How many candidate GPs each patient starts with.
#[derive(Debug, Clone, Copy)]
struct Tuning {
    nearest: usize,
    priced: usize,
}

impl Tuning {
    const DEFAULT: Tuning = Tuning {
        nearest: NEAREST_CANDIDATES,
        priced: PRICED_CANDIDATES,
    };
}

/// What every metric's solve starts from.
struct Setup {
    ceased: Vec<FacilityIdx>,
    patients: Vec<Patient>,
    /// Receiving GPs in id order (sink order).
    receivers: Vec<FacilityIdx>,
    caps: Vec<u64>,
    max_d: f64,
    max_t: Option<f64>,
}

fn setup(dataset: &Dataset, query: &ScenarioQuery) -> Result<Setup> {
    crate::plan::check_applied(dataset, &query.open, &query.capacity)?;
    let facilities = dataset.facilities();
    let residents = dataset.residents();
    if !(query.max_distance_m.is_finite() && query.max_distance_m > 0.0) {
        return Err(Error::param(
            "max_distance_m",
            format!(
                "expected a positive number of metres, found {}",
                query.max_distance_m
            ),
        ));
    }
    if let Some(t) = query.max_time_s {
        if !(t.is_finite() && t > 0.0) {
            return Err(Error::param(
                "max_time_s",
                format!("expected a positive number of seconds, found {t}"),
            ));
        }
    }
    if query.cease.is_empty() && !query.assign_unlisted {
        return Err(Error::param(
            "cease",
            "name at least one GP to cease (or assign unlisted residents)",
        ));
    }
    let mut ceased: Vec<FacilityIdx> = Vec::with_capacity(query.cease.len());
    for id in &query.cease {
        let idx = facilities
            .index_of(id.trim())
            .ok_or_else(|| Error::UnknownFacility(id.clone()))?;
        let f = facilities.get(idx);
        if f.kind != FacilityKind::Gp || !f.is_active() {
            return Err(Error::param(
                "cease",
                format!(
                    "`{id}` is not an active GP (kind `{}`, {})",
                    f.kind,
                    if f.is_active() {
                        "active"
                    } else {
                        "already ceased"
                    }
                ),
            ));
        }
        if !ceased.contains(&idx) {
            ceased.push(idx);
        }
    }
    let mut ceasing = vec![false; facilities.len()];
    for &c in &ceased {
        ceasing[c as usize] = true;
    }

    // Patients, in resident order. `ad_user` rows name a GP they visit, not
    // the one they are listed with, so they need no new GP.
    let ad_user = residents.group_code("ad_user");
    let no_gp = residents.group_code("no_gp");
    let gp = residents.gp();
    let groups = residents.group().codes();
    let weights = residents.weights();
    let mut patients = Vec::new();
    let mut fractional = 0usize;
    for row in 0..residents.len() {
        let g = gp[row];
        let listed = g != NONE && ceasing[g as usize] && Some(groups[row]) != ad_user;
        let unlisted =
            query.assign_unlisted && g == NONE && no_gp.is_some_and(|c| groups[row] == c);
        if !(listed || unlisted) {
            continue;
        }
        let w = weights[row];
        if w.fract() != 0.0 || !(0.0..=u32::MAX as f64).contains(&w) {
            fractional += 1;
            continue;
        }
        if w > 0.0 {
            patients.push(Patient {
                row,
                people: w as u32,
                from: g,
            });
        }
    }
    if fractional > 0 {
        return Err(Error::Unavailable(format!(
            "reassignment places whole people, but {fractional} resident rows to place have a \
             weight that is not a whole number"
        )));
    }

    // Receivers: active GPs not ceasing with room, in id order (sink order).
    let mut receivers: Vec<FacilityIdx> = (0..facilities.len() as FacilityIdx)
        .filter(|&i| {
            let f = facilities.get(i);
            f.kind == FacilityKind::Gp && f.is_active() && !ceasing[i as usize]
        })
        .filter(|&i| spare(dataset, i) > 0)
        .collect();
    receivers.sort_by(|&a, &b| facilities.get(a).id.cmp(&facilities.get(b).id));
    let caps: Vec<u64> = receivers.iter().map(|&f| spare(dataset, f)).collect();
    Ok(Setup {
        ceased,
        patients,
        receivers,
        caps,
        max_d: query.max_distance_m,
        max_t: query.max_time_s,
    })
}

fn reassign_tuned<E: Executor>(
    dataset: &Dataset,
    query: &ScenarioQuery,
    metric: Metric<'_>,
    cache: Option<&CessationCache>,
    exec: &E,
    tuning: Tuning,
) -> Result<Reassignment> {
    let setup = setup(dataset, query)?;
    let mut solved = solve_setup(dataset, &setup, metric, tuning, cache, exec)?;
    solved.assign_unlisted = query.assign_unlisted;
    solved.opened = query.open.iter().map(|o| o.id.trim().to_owned()).collect();
    solved.capacity = query.capacity.clone();
    Ok(solved)
}

/// Solves a prepared problem under `metric`.
fn solve_setup<E: Executor>(
    dataset: &Dataset,
    setup: &Setup,
    metric: Metric<'_>,
    tuning: Tuning,
    cache: Option<&CessationCache>,
    exec: &E,
) -> Result<Reassignment> {
    let (mut solved, cost_in_seconds) = match metric {
        Metric::Geodesic => {
            let (costs, cands) = geodesic::prepare(dataset, setup, tuning, cache, exec);
            let before = geodesic::before(dataset, setup, &costs);
            (
                column_generation(setup, &costs, cands, &before, exec)?,
                false,
            )
        }
        Metric::Network(net) => {
            let (costs, cands) = routed::network(net, setup, tuning, exec);
            let before = routed::network_before(net, setup, exec);
            let mut s = column_generation(setup, &costs, cands, &before, exec)?;
            s.unreachable = costs.unreachable_people(setup);
            (s, true)
        }
        Metric::Table(table) => {
            let (costs, cands) = routed::table(table, setup);
            let before = routed::table_before(table, setup);
            (
                column_generation(setup, &costs, cands, &before, exec)?,
                table.unit() == CostUnit::Seconds,
            )
        }
    };
    let resolution = 1.0 / UNITS_PER_COST;
    if cost_in_seconds {
        solved.optimality.cost_resolution_s = Some(resolution);
    } else {
        solved.optimality.cost_resolution_m = Some(resolution);
    }
    solved.max_distance_m = setup.max_d;
    solved.max_time_s = setup.max_t;
    solved.metric = metric.name();
    solved.network = metric.network_info().cloned();
    solved.costs = match metric {
        Metric::Table(t) => Some(t.info().clone()),
        _ => None,
    };
    Ok(solved)
}

/// Places the people of resident `rows` (whole weights) with `receivers`,
/// each taking at most `caps[k]` people, so that as many as possible are
/// placed within `max_d` metres (and `max_t` seconds) and then the total
/// cost under `metric` is minimal — the same exact, certified solve as a
/// scenario. Used to match people without a GP to AD slots, and for
/// capacity coverage. Under `car`/`foot` and a `table` in seconds the
/// reach is `max_t` (give `max_d` as infinity to bound by time alone).
#[allow(clippy::too_many_arguments)]
pub fn place<E: Executor>(
    dataset: &Dataset,
    rows: &[usize],
    receivers: &[(FacilityIdx, u64)],
    max_d: f64,
    max_t: Option<f64>,
    metric: Metric<'_>,
    exec: &E,
) -> Result<Reassignment> {
    let weights = dataset.residents().weights();
    let patients = rows
        .iter()
        .filter(|&&r| weights[r] > 0.0)
        .map(|&r| {
            let w = weights[r];
            if w.fract() != 0.0 || w > f64::from(u32::MAX) {
                return Err(Error::Unavailable(format!(
                    "matching places whole people, but a resident row has weight {w}"
                )));
            }
            Ok(Patient {
                row: r,
                people: w as u32,
                from: NONE,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let facilities = dataset.facilities();
    let mut recv: Vec<(FacilityIdx, u64)> = receivers.iter().copied().filter(|r| r.1 > 0).collect();
    recv.sort_by(|a, b| facilities.get(a.0).id.cmp(&facilities.get(b.0).id));
    let setup = Setup {
        ceased: Vec::new(),
        patients,
        receivers: recv.iter().map(|r| r.0).collect(),
        caps: recv.iter().map(|r| r.1).collect(),
        max_d,
        max_t,
    };
    solve_setup(dataset, &setup, metric, Tuning::DEFAULT, None, exec)
}

/// Solves, certifies and widens until no pruned arc can help; `before`
/// holds each patient's `(distance_m, time_s)` to the GP left.
fn column_generation<C: ArcCosts, E: Executor>(
    setup: &Setup,
    costs: &C,
    mut cands: Vec<Candidates>,
    before: &[(f64, f64)],
    exec: &E,
) -> Result<Reassignment> {
    let patients = &setup.patients;
    let mut arcs_added = 0u64;
    let mut rounds = 0u32;
    let (pb, flow) = loop {
        exec.checkpoint();
        rounds += 1;
        let pb = build_problem(patients, &cands, &setup.caps);
        let flow = solve(&pb);
        let cert = certify(&pb, &flow).map_err(|e| {
            Error::Unavailable(format!("reassignment could not be proven optimal: {e}"))
        })?;
        if rounds <= DROP_ROUNDS && flow.unplaced.iter().all(|&u| u == 0) {
            drop_slack(&mut cands, &pb, &flow, &cert);
        }
        let added = widen(&mut cands, &pb, &flow, &cert, costs, exec);
        if added == 0 {
            break (pb, flow);
        }
        arcs_added += added as u64;
    };
    let arcs = pb.arc_sink.len() as u64;

    let mut rows = Vec::with_capacity(patients.len());
    for (i, p) in patients.iter().enumerate() {
        let (before_m, before_s) = before[i];
        for a in pb.arcs(i) {
            let f = flow.on_arc[a];
            if f > 0 {
                let sink = pb.arc_sink[a];
                let (distance_m, time_s) = costs.figures(i, sink);
                rows.push(ReassignmentRow {
                    resident: p.row,
                    from: p.from,
                    to: setup.receivers[sink as usize],
                    people: f,
                    distance_m,
                    time_s,
                    before_m,
                    before_s,
                });
            }
        }
        if flow.unplaced[i] > 0 {
            rows.push(ReassignmentRow {
                resident: p.row,
                from: p.from,
                to: NONE,
                people: flow.unplaced[i],
                distance_m: f64::NAN,
                time_s: f64::NAN,
                before_m,
                before_s,
            });
        }
    }
    Ok(Reassignment {
        ceased: setup.ceased.clone(),
        max_distance_m: setup.max_d,
        max_time_s: setup.max_t,
        assign_unlisted: false,
        metric: MetricName::Geodesic,
        network: None,
        costs: None,
        opened: Vec::new(),
        capacity: BTreeMap::new(),
        rows,
        unreachable: 0,
        optimality: Optimality {
            proven: true,
            rounds,
            arcs,
            arcs_added,
            augmentations: flow.augmentations,
            cost_resolution_m: None,
            cost_resolution_s: None,
        },
    })
}

/// Spare places of a GP: `floor(capacity − list_size)`, at least 0;
/// unbounded without a capacity.
fn spare(dataset: &Dataset, f: FacilityIdx) -> u64 {
    match dataset.facilities().get(f).capacity {
        None => UNBOUNDED,
        Some(c) => (c as f64 - dataset.list_size(f)).floor().max(0.0) as u64,
    }
}

fn build_problem(patients: &[Patient], cands: &[Candidates], caps: &[u64]) -> Problem {
    let total: usize = cands.iter().map(|c| c.arcs.len()).sum();
    let mut pb = Problem {
        supply: patients.iter().map(|p| p.people).collect(),
        cap: caps.to_vec(),
        arc_start: Vec::with_capacity(patients.len() + 1),
        arc_sink: Vec::with_capacity(total),
        arc_cost: Vec::with_capacity(total),
    };
    pb.arc_start.push(0);
    for c in cands {
        for &(sink, cost) in &c.arcs {
            pb.arc_sink.push(sink);
            pb.arc_cost.push(cost);
        }
        pb.arc_start.push(pb.arc_sink.len() as u32);
    }
    pb
}
