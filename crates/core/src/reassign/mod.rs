//! GP-cessation scenarios: the ceasing GPs' patients are reassigned to the
//! remaining active GPs with **provably minimal** total geodesic distance,
//! subject to each GP's spare capacity and to a maximum distance
//! (CONTRACT §4, issue #5).
//!
//! The problem is a transportation problem: patients (integer weights are
//! people; a weighted point may be split across GPs) supply, receiving GPs
//! absorb up to their spare capacity `floor(capacity − list_size)` (no
//! capacity: unbounded), and the arc patient → GP costs the geodesic distance
//! in whole millimetres. First as many people as possible are placed
//! (maximum flow), then the total distance is minimal (min-cost max-flow),
//! solved exactly by [`crate::transport`].
//!
//! Candidate arcs are pruned, and pruning is *proven* harmless before an
//! answer is returned (column generation):
//! - each patient starts with its nearest receiving GPs and the best ones at
//!   the prices of a coarse version of the problem (patients pooled in
//!   ~400 m cells), so that where nearby room is short the far GPs that will take
//!   people are offered from the start;
//! - after each exact solve, [`crate::transport`] certifies the flow on its
//!   arc set (dual potentials ψ from Bellman–Ford, no augmenting path);
//! - every pruned arc within `max_distance_m` is then priced: it could help
//!   only if its reduced cost under ψ is negative. Each receiving GP is
//!   screened with a rigorous chord lower bound on its distance, and only
//!   those the bound cannot clear are measured exactly;
//! - while someone is unplaced, every patient reachable from the unplaced in
//!   the residual graph is offered its nearest GPs outside the reachable set,
//!   until no such GP is within reach (a cut proving the flow maximum);
//! - violating arcs are added and the problem solved again; in the first
//!   rounds, arcs far above a patient's best reduced cost are forgotten to
//!   keep the re-solves small (they are priced again every round).
//!
//! The answer is returned only when a round adds nothing; [`Optimality`]
//! reports the rounds and arcs this took.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::exec::{chunk_ranges, Executor};
use crate::geodesic::{geodesic_distance_m, lower_bound_from_chord_m, unit_normal};
use crate::index::FacilityIndex;
use crate::model::{FacilityIdx, FacilityKind, LonLat, NONE};

use crate::stats::{round_mm, serialize_whole_opt, Summary};
use crate::transport::{certify, solve, Certificate, Flow, Problem, UNBOUNDED};

/// Default `max_distance_m` of a scenario: 30 km.
pub const DEFAULT_MAX_DISTANCE_M: f64 = 30_000.0;

/// Nearest receiving GPs first offered to each patient; the proof widens
/// this where needed.
const NEAREST_CANDIDATES: usize = 8;

/// Best receiving GPs at the coarse problem's prices first offered to each
/// patient.
const PRICED_CANDIDATES: usize = 8;

/// Nearest GPs outside the reachable set added per reachable patient and
/// round while someone is unplaced.
const ESCAPES_ADDED: usize = 4;

/// Rounds in which arcs with a large reduced cost are forgotten (later
/// rounds only add, so the widening terminates).
const DROP_ROUNDS: u32 = 3;

/// Arcs kept per patient when forgetting, at least.
const KEEP_AT_LEAST: usize = 8;

/// Arcs within this reduced cost (mm) of a patient's best are kept.
const KEEP_SLACK_MM: i64 = 1_000_000;

/// Arc costs are whole millimetres, so optimality is exact in integers.
const MM_PER_M: f64 = 1000.0;

/// A GP-cessation scenario. Deserialises from the HTTP request body
/// `{"cease": [...], "max_distance_m": 30000}` (also `assign_unlisted`,
/// `min_group_size`; missing keys take the defaults, unknown keys are
/// refused).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScenarioQuery {
    /// Ids of the GPs that cease (active GPs of the dataset).
    pub cease: Vec<String>,
    /// Nobody is assigned farther than this, metres.
    pub max_distance_m: f64,
    /// Also place residents of group `no_gp` without a `gp_id`.
    pub assign_unlisted: bool,
    /// Privacy threshold in people for the report's aggregates.
    pub min_group_size: f64,
}

impl Default for ScenarioQuery {
    fn default() -> Self {
        ScenarioQuery {
            cease: Vec::new(),
            max_distance_m: DEFAULT_MAX_DISTANCE_M,
            assign_unlisted: false,
            min_group_size: crate::distances::DEFAULT_MIN_GROUP_SIZE,
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
    /// within `max_distance_m`).
    pub to: FacilityIdx,
    /// People of the row in this line.
    pub people: u32,
    /// Geodesic distance to `to`, metres (NaN for orphans).
    pub distance_m: f64,
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
    /// distances rounded to it).
    pub cost_resolution_m: f64,
}

/// The solved scenario: who goes where.
#[derive(Debug, Clone)]
pub struct Reassignment {
    /// The ceasing GPs.
    pub ceased: Vec<FacilityIdx>,
    /// Maximum distance used, metres.
    pub max_distance_m: f64,
    /// Whether unlisted residents were placed too.
    pub assign_unlisted: bool,
    /// Lines by resident row, then destination id; orphans last per row.
    pub rows: Vec<ReassignmentRow>,
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
}

/// A patient to place: row, people, GP left.
#[derive(Debug, Clone, Copy)]
struct Patient {
    row: usize,
    people: u32,
    from: FacilityIdx,
}

/// A patient's candidate GPs (sink, distance) sorted by distance then id,
/// and a lower bound on the distance of every receiving GP left out.
#[derive(Debug, Clone)]
struct Candidates {
    arcs: Vec<(u32, f64)>,
    /// True when `arcs` holds every receiving GP within `max_distance_m`.
    complete: bool,
}

fn cost_mm(d: f64) -> i64 {
    (d * MM_PER_M).round() as i64
}

/// Solves a cessation scenario exactly; `exec` runs the distance work.
pub fn reassign<E: Executor>(
    dataset: &Dataset,
    query: &ScenarioQuery,
    exec: &E,
) -> Result<Reassignment> {
    reassign_tuned(dataset, query, exec, Tuning::DEFAULT)
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

fn reassign_tuned<E: Executor>(
    dataset: &Dataset,
    query: &ScenarioQuery,
    exec: &E,
    tuning: Tuning,
) -> Result<Reassignment> {
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
    let code = |col: &crate::model::Categorical, v: &str| {
        col.values().iter().position(|x| x == v).map(|c| c as u32)
    };
    let ad_user = code(residents.group(), "ad_user");
    let no_gp = code(residents.group(), "no_gp");
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
    let mut sink_of = vec![NONE; facilities.len()];
    for (j, &f) in receivers.iter().enumerate() {
        sink_of[f as usize] = j as u32;
    }
    let index = FacilityIndex::new(facilities, &receivers);
    let locs = residents.locations();
    let max_d = query.max_distance_m;
    let complete_all = index.len() <= tuning.nearest + tuning.priced;
    let sink_location: Vec<LonLat> = receivers
        .iter()
        .map(|&f| facilities.get(f).location)
        .collect();
    let sink_normal: Vec<[f64; 3]> = sink_location.iter().map(|&p| unit_normal(p)).collect();
    let sinks = Sinks {
        location: &sink_location,
        normal: &sink_normal,
    };
    let caps: Vec<u64> = receivers.iter().map(|&f| spare(dataset, f)).collect();

    // First arcs: each patient's nearest receiving GPs, plus the best ones
    // at the prices of a coarse (~400 m cells) version of the problem, so
    // that where nearby room is short the far GPs that will take people
    // are offered from the start.
    let offset_m: Vec<f64> = if complete_all || tuning.priced == 0 {
        Vec::new()
    } else {
        aggregate_prices(&patients, locs, &sinks, &caps, max_d, exec)
            .into_iter()
            .map(|psi| -(psi as f64) / MM_PER_M)
            .collect()
    };
    let mut cands: Vec<Candidates> = exec
        .map(chunk_ranges(patients.len(), 512), |r| {
            r.map(|i| {
                let p = locs[patients[i].row];
                let near = |hits: Vec<crate::index::Nearest>| {
                    hits.into_iter()
                        .filter(|h| h.distance_m <= max_d)
                        .map(|h| (sink_of[h.facility as usize], h.distance_m))
                        .collect::<Vec<_>>()
                };
                if complete_all {
                    return Candidates {
                        arcs: near(index.within(p, max_d)),
                        complete: true,
                    };
                }
                let mut arcs = near(index.k_nearest(p, tuning.nearest));
                for (j, d) in best_by_price(p, &sinks, &offset_m, tuning.priced, max_d) {
                    if !arcs.iter().any(|x| x.0 == j) {
                        arcs.push((j, d));
                    }
                }
                arcs.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
                Candidates {
                    arcs,
                    complete: false,
                }
            })
            .collect::<Vec<_>>()
        })
        .concat();

    let mut arcs_added = 0u64;
    let mut rounds = 0u32;
    let (pb, flow) = loop {
        rounds += 1;
        let pb = build_problem(&patients, &cands, &caps);
        let flow = solve(&pb);
        let cert = certify(&pb, &flow).map_err(|e| {
            Error::Unavailable(format!("reassignment could not be proven optimal: {e}"))
        })?;
        if rounds <= DROP_ROUNDS && flow.unplaced.iter().all(|&u| u == 0) {
            drop_slack(&mut cands, &pb, &flow, &cert);
        }
        let added = widen(
            &patients, &mut cands, &pb, &flow, &cert, &sinks, locs, max_d, exec,
        );
        if added == 0 {
            break (pb, flow);
        }
        arcs_added += added as u64;
    };
    let arcs = pb.arc_sink.len() as u64;

    let mut rows = Vec::with_capacity(patients.len());
    for (i, p) in patients.iter().enumerate() {
        for a in pb.arcs(i) {
            let f = flow.on_arc[a];
            if f > 0 {
                let sink = pb.arc_sink[a];
                let d = cands[i]
                    .arcs
                    .iter()
                    .find(|c| c.0 == sink)
                    .map_or(f64::NAN, |c| c.1);
                rows.push(ReassignmentRow {
                    resident: p.row,
                    from: p.from,
                    to: receivers[sink as usize],
                    people: f,
                    distance_m: d,
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
            });
        }
    }
    Ok(Reassignment {
        ceased,
        max_distance_m: max_d,
        assign_unlisted: query.assign_unlisted,
        rows,
        optimality: Optimality {
            proven: true,
            rounds,
            arcs,
            arcs_added,
            augmentations: flow.augmentations,
            cost_resolution_m: 1.0 / MM_PER_M,
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
        for &(sink, d) in &c.arcs {
            pb.arc_sink.push(sink);
            pb.arc_cost.push(cost_mm(d));
        }
        pb.arc_start.push(pb.arc_sink.len() as u32);
    }
    pb
}

/// Receiving GPs as seen by the pricing step.
struct Sinks<'a> {
    location: &'a [LonLat],
    normal: &'a [[f64; 3]],
}

/// Proves the pruning harmless or widens the candidate lists (column
/// generation); returns the number of arcs added (none: proven).
///
/// A pruned arc `(p, g')` could improve the solution only if its reduced
/// cost is negative, i.e. `cost(p, g') < ψ(g') + a(p)`
/// where `a(p)` is the largest `cost(p, g) − ψ(g)` over the GPs `g` holding
/// people of `p` (and `−ψ(source)` while some of `p` is unplaced). Every
/// receiving GP is screened with a rigorous chord lower bound on its
/// distance; only those the bound cannot clear get an exact geodesic.
#[allow(clippy::too_many_arguments)]
fn widen<E: Executor>(
    patients: &[Patient],
    cands: &mut [Candidates],
    pb: &Problem,
    flow: &Flow,
    cert: &Certificate,
    sinks: &Sinks<'_>,
    locs: &[LonLat],
    max_d: f64,
    exec: &E,
) -> usize {
    let psi = &cert.sink_potential;
    let anyone_unplaced = flow.unplaced.iter().any(|&u| u > 0);
    let current: &[Candidates] = cands;
    let updates: Vec<(usize, Candidates)> = exec
        .map(chunk_ranges(patients.len(), 512), |r| {
            let mut out = Vec::new();
            let mut have = vec![false; psi.len()];
            for i in r {
                let c = &current[i];
                if c.complete {
                    continue;
                }
                // Reachable from the unplaced in the residual graph: needs
                // every arc, or a pruned one could carry an augmenting path.
                let reachable = flow.unplaced[i] > 0
                    || (anyone_unplaced
                        && pb.arcs(i).any(|a| {
                            flow.on_arc[a] > 0 && cert.reachable[pb.arc_sink[a] as usize]
                        }));
                let mut a_p = i64::MIN / 2;
                for a in pb.arcs(i) {
                    if flow.on_arc[a] > 0 {
                        a_p = a_p.max(pb.arc_cost[a] - psi[pb.arc_sink[a] as usize]);
                    }
                }
                if flow.unplaced[i] > 0 {
                    a_p = a_p.max(-cert.source_potential);
                }
                let p = locs[patients[i].row];
                let np = unit_normal(p);
                for &(j, _) in &c.arcs {
                    have[j as usize] = true;
                }
                let mut added = Vec::new();
                // Receiving GPs outside the reachable set within reach of a
                // reachable patient would cut the max-flow proof: the
                // nearest few of them are offered.
                let mut escapes: Vec<(u64, u32)> = Vec::new();
                for j in 0..psi.len() {
                    if have[j] {
                        continue;
                    }
                    let lb = lower_bound_from_chord_m(chord(&np, &sinks.normal[j])).max(0.0);
                    if lb > max_d {
                        continue;
                    }
                    if reachable && !cert.reachable[j] {
                        escapes.push((lb.to_bits(), j as u32));
                    }
                    if cost_mm(lb) >= psi[j] + a_p {
                        continue;
                    }
                    let d = geodesic_distance_m(p, sinks.location[j]);
                    if d <= max_d && cost_mm(d) < psi[j] + a_p {
                        added.push((j as u32, d));
                    }
                }

                if !escapes.is_empty() {
                    let offset = vec![0.0; psi.len()];
                    for (j, d) in nearest_among(p, sinks, &offset, escapes, ESCAPES_ADDED, max_d) {
                        if !added.iter().any(|x| x.0 == j) {
                            added.push((j, d));
                        }
                    }
                }
                for &(j, _) in &c.arcs {
                    have[j as usize] = false;
                }
                if added.is_empty() {
                    continue;
                }
                let mut arcs = c.arcs.clone();
                arcs.extend(added);
                arcs.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
                out.push((
                    i,
                    Candidates {
                        arcs,
                        complete: false,
                    },
                ));
            }
            out
        })
        .concat();
    let mut added = 0;
    for (i, c) in updates {
        added += c.arcs.len() - cands[i].arcs.len();
        cands[i] = c;
    }
    added
}

/// Forgets arcs whose reduced cost is far above the patient's best one
/// (they are priced again every round, so the proof still covers them):
/// keeps the re-solves small when many arcs had to be added.
fn drop_slack(cands: &mut [Candidates], pb: &Problem, flow: &Flow, cert: &Certificate) {
    let psi = &cert.sink_potential;
    for (i, c) in cands.iter_mut().enumerate() {
        if c.complete || c.arcs.len() <= KEEP_AT_LEAST {
            continue;
        }
        let arcs = pb.arcs(i);
        let reduced: Vec<i64> = arcs
            .clone()
            .map(|a| pb.arc_cost[a] - psi[pb.arc_sink[a] as usize])
            .collect();
        let best = reduced.iter().copied().min().unwrap_or(0);
        let mut order: Vec<usize> = (0..reduced.len()).collect();
        order.sort_by_key(|&k| (reduced[k], k));
        let keep: Vec<bool> = {
            let mut keep = vec![false; reduced.len()];
            for (rank, &k) in order.iter().enumerate() {
                keep[k] = rank < KEEP_AT_LEAST
                    || reduced[k] - best <= KEEP_SLACK_MM
                    || flow.on_arc[arcs.start + k] > 0;
            }
            keep
        };
        let mut k = 0;
        c.arcs.retain(|_| {
            k += 1;
            keep[k - 1]
        });
    }
}

/// Up to `k` receiving GPs minimising `d(p, g) + offset_m[g]` with
/// `d(p, g) <= max_d`, exactly (ties by sink order).
fn best_by_price(
    p: LonLat,
    sinks: &Sinks<'_>,
    offset_m: &[f64],
    k: usize,
    max_d: f64,
) -> Vec<(u32, f64)> {
    if k == 0 {
        return Vec::new();
    }
    let np = unit_normal(p);
    let keys: Vec<(u64, u32)> = (0..sinks.location.len())
        .filter_map(|j| {
            let lb = lower_bound_from_chord_m(chord(&np, &sinks.normal[j])).max(0.0);
            (lb <= max_d).then(|| ((lb + offset_m[j]).to_bits(), j as u32))
        })
        .collect();
    nearest_among(p, sinks, offset_m, keys, k, max_d)
}

/// Exact `k` smallest `d(p, g) + offset_m[g]` among `keys`, each key being
/// a lower bound of that value (as non-negative `f64` bits, whose integer
/// order is the numeric order): candidates are taken in bound order and
/// measured until the bound passes the `k`-th value found.
fn nearest_among(
    p: LonLat,
    sinks: &Sinks<'_>,
    offset_m: &[f64],
    keys: Vec<(u64, u32)>,
    k: usize,
    max_d: f64,
) -> Vec<(u32, f64)> {
    if k == 0 {
        return Vec::new();
    }
    let mut heap = std::collections::BinaryHeap::from(
        keys.into_iter().map(std::cmp::Reverse).collect::<Vec<_>>(),
    );
    // (value, sink, distance), sorted, at most k.
    let mut best: Vec<(f64, u32, f64)> = Vec::with_capacity(k + 1);
    while let Some(std::cmp::Reverse((bound, j))) = heap.pop() {
        if best.len() == k && f64::from_bits(bound) > best[k - 1].0 {
            break;
        }
        let d = geodesic_distance_m(p, sinks.location[j as usize]);
        if d > max_d {
            continue;
        }
        let v = d + offset_m[j as usize];
        let pos = best.partition_point(|b| b.0 < v || (b.0 == v && b.1 < j));
        if pos < k {
            best.insert(pos, (v, j, d));
            best.truncate(k);
        }
    }
    best.into_iter().map(|(_, j, d)| (j, d)).collect()
}

/// Sink potentials of a coarse version of the problem: patients pooled in
/// cells of about 400 m, each cell at its members' mean position, solved
/// exactly with every arc. Only used to choose first candidates.
fn aggregate_prices<E: Executor>(
    patients: &[Patient],
    locs: &[LonLat],
    sinks: &Sinks<'_>,
    caps: &[u64],
    max_d: f64,
    exec: &E,
) -> Vec<i64> {
    const CELL_DEG: f64 = 0.004;
    let mut cells: BTreeMap<(i64, i64), (f64, f64, u64, u32)> = BTreeMap::new();
    for pt in patients {
        let q = locs[pt.row];
        let key = (
            (q.lat / CELL_DEG).floor() as i64,
            (q.lon / (CELL_DEG * 1.4)).floor() as i64,
        );
        let c = cells.entry(key).or_default();
        c.0 += q.lon;
        c.1 += q.lat;
        c.2 += pt.people as u64;
        c.3 += 1;
    }
    let reach = max_d + 2.0 * CELL_DEG * 111_000.0;
    let cells: Vec<(f64, f64, u64, u32)> = cells.into_values().collect();
    let arcs: Vec<Vec<(u32, i64)>> = exec
        .map(chunk_ranges(cells.len(), 64), |r| {
            r.map(|i| {
                let (lon, lat, _, rows) = cells[i];
                let c = LonLat::new(lon / rows as f64, lat / rows as f64);
                let nc = unit_normal(c);
                (0..sinks.location.len())
                    .filter(|&j| lower_bound_from_chord_m(chord(&nc, &sinks.normal[j])) <= reach)
                    .filter_map(|j| {
                        let d = geodesic_distance_m(c, sinks.location[j]);
                        (d <= reach).then_some((j as u32, cost_mm(d)))
                    })
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
        })
        .concat();
    let mut pb = Problem {
        cap: caps.to_vec(),
        arc_start: vec![0],
        ..Problem::default()
    };
    for (cell, arcs) in cells.iter().zip(arcs) {
        pb.supply.push(cell.2.min(u32::MAX as u64) as u32);
        for (j, c) in arcs {
            pb.arc_sink.push(j);
            pb.arc_cost.push(c);
        }
        pb.arc_start.push(pb.arc_sink.len() as u32);
    }
    let flow = solve(&pb);
    certify(&pb, &flow).map_or_else(|_| vec![0; caps.len()], |c| c.sink_potential)
}

fn chord(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

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
        /// (`null` when fewer than `min_group_size` were listed).
        before_median_m: Option<f64>,
        /// Weighted median distance to the GP assigned, metres, over the
        /// placed (`null` when fewer than `min_group_size` were placed).
        after_median_m: Option<f64>,
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
    /// Ceasing GP ids.
    pub ceased: Vec<String>,
    /// Maximum distance, metres.
    pub max_distance_m: f64,
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
    /// People left without a GP (no room within `max_distance_m`).
    pub orphans: u64,
    /// Sum of the placed people's new distances, metres (`null` when fewer
    /// than `min_group_size` were placed).
    pub total_distance_m: Option<f64>,
    /// Statistics of the placed people's new distances.
    pub new_distance: Figures,
    /// Receiving GPs with new patients, by id.
    pub by_gp: Vec<GpChange>,
    /// Affected patients by municipality of residence, by key.
    pub by_municipality: Vec<MunicipalityChange>,
    /// Optimality evidence.
    pub optimality: Optimality,
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
    let (mut patients, mut unlisted, mut placed, mut total) = (0u64, 0u64, 0u64, 0.0f64);
    let mut new_pairs = Vec::new();
    let mut by_gp: BTreeMap<FacilityIdx, u64> = BTreeMap::new();
    // municipality code -> (patients, orphans, before pairs, after pairs)
    type Muni = (u64, u64, Vec<(f64, f64)>, Vec<(f64, f64)>);
    let mut by_muni: BTreeMap<u32, Muni> = BTreeMap::new();
    let munis = residents.municipality().codes();
    let locs = residents.locations();
    for r in &solved.rows {
        let people = r.people as u64;
        patients += people;
        let m = by_muni.entry(munis[r.resident]).or_default();
        m.0 += people;
        if r.from == NONE {
            unlisted += people;
        } else {
            let before = geodesic_distance_m(locs[r.resident], facilities.get(r.from).location);
            m.2.push((before, r.people as f64));
        }
        if r.to == NONE {
            m.1 += people;
            continue;
        }
        placed += people;
        total += r.distance_m * r.people as f64;
        new_pairs.push((r.distance_m, r.people as f64));
        m.3.push((r.distance_m, r.people as f64));
        *by_gp.entry(r.to).or_default() += people;
    }
    let enough = placed as f64 >= min_group_size && placed > 0;
    let new_distance = match Summary::from_weighted(&mut new_pairs) {
        Some(s) if enough => Figures::Stats(s.rounded()),
        _ => Figures::Suppressed { suppressed: true },
    };
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
    let names: BTreeMap<&str, &str> = dataset.areas().map_or_else(BTreeMap::new, |areas| {
        (0..areas.len())
            .filter_map(|i| Some((areas.id(i), areas.name(i)?)))
            .collect()
    });
    let values = residents.municipality().values();
    // Each median covers its own people (the listed, the placed), which can
    // be fewer than the municipality's patients: it needs enough of them.
    let median = |pairs: &mut Vec<(f64, f64)>| {
        Summary::from_weighted(pairs)
            .filter(|s| s.count >= min_group_size)
            .map(|s| round_mm(s.median_m))
    };
    let mut by_municipality: Vec<MunicipalityChange> = by_muni
        .into_iter()
        .map(|(code, (n, orphans, mut before, mut after))| {
            let key = (code != NONE).then(|| values[code as usize].clone());
            let name = key
                .as_deref()
                .and_then(|k| names.get(k))
                .map(|s| (*s).to_owned());
            if (n as f64) < min_group_size {
                MunicipalityChange::Suppressed {
                    key,
                    name,
                    suppressed: true,
                }
            } else {
                MunicipalityChange::Figures {
                    key,
                    name,
                    patients: n,
                    orphans,
                    before_median_m: median(&mut before),
                    after_median_m: median(&mut after),
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
    ScenarioReport {
        dataset: dataset.name.clone(),
        ceased: solved
            .ceased
            .iter()
            .map(|&c| facilities.get(c).id.0.clone())
            .collect(),
        max_distance_m: solved.max_distance_m,
        assign_unlisted: solved.assign_unlisted,
        min_group_size,
        patients,
        unlisted,
        placed,
        orphans: patients - placed,
        total_distance_m: enough.then(|| round_mm(total)),
        new_distance,
        by_gp,
        by_municipality,
        optimality: solved.optimality,
    }
}

/// Solves a scenario and builds its document in one call: the body of
/// `bacino scenario` and of `POST /v1/datasets/{name}/scenarios`.
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
    let solved = reassign(dataset, query, exec)?;
    Ok(scenario_report(dataset, &solved, query.min_group_size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::Sequential;
    use crate::model::{Categorical, Facilities, Facility, FacilityId, FacilityStatus, Residents};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::path::PathBuf;

    struct Gp {
        id: &'static str,
        at: LonLat,
        capacity: Option<u32>,
        list_size: u32,
        status: FacilityStatus,
        kind: FacilityKind,
    }

    fn gp(id: &'static str, lon: f64, lat: f64, capacity: u32, list_size: u32) -> Gp {
        Gp {
            id,
            at: LonLat::new(lon, lat),
            capacity: Some(capacity),
            list_size,
            status: FacilityStatus::Active,
            kind: FacilityKind::Gp,
        }
    }

    /// (lon, lat, weight, gp id or "", group, municipality)
    type Row = (f64, f64, f64, &'static str, &'static str, &'static str);

    fn dataset(gps: Vec<Gp>, rows: &[Row]) -> Dataset {
        let facilities = Facilities::new(
            gps.iter()
                .map(|g| Facility {
                    id: FacilityId(g.id.into()),
                    kind: g.kind,
                    name: None,
                    location: g.at,
                    capacity: g.capacity,
                    list_size: Some(g.list_size),
                    status: g.status,
                    municipality: None,
                    ad: false,
                })
                .collect(),
        )
        .unwrap();
        let mut r = Residents {
            unit_weights: true,
            group: Categorical::new(),
            municipality: Categorical::new(),
            ..Residents::default()
        };
        for (i, &(lon, lat, w, gp_id, group, muni)) in rows.iter().enumerate() {
            r.location.push(LonLat::new(lon, lat));
            r.weight.push(w);
            r.unit_weights &= w == 1.0;
            r.id_bytes.extend_from_slice(format!("R{i}").as_bytes());
            r.id_ends.push(r.id_bytes.len() as u64);
            r.gp.push(if gp_id.is_empty() {
                NONE
            } else {
                facilities.index_of(gp_id).unwrap()
            });
            r.group.push(Some(group));
            r.municipality.push(Some(muni));
        }
        Dataset::new("t".into(), "t".into(), PathBuf::new(), facilities, r, None)
    }

    fn query(cease: &[&str]) -> ScenarioQuery {
        ScenarioQuery {
            cease: cease.iter().map(|s| (*s).to_owned()).collect(),
            ..ScenarioQuery::default()
        }
    }

    /// Panics when some GP receives more people than `capacity − list_size`.
    fn assert_within_capacity(ds: &Dataset, r: &Reassignment) {
        let mut got: BTreeMap<FacilityIdx, u64> = BTreeMap::new();
        for x in r.rows.iter().filter(|x| x.to != NONE) {
            *got.entry(x.to).or_default() += x.people as u64;
        }
        for (g, n) in got {
            let f = ds.facilities().get(g);
            let room = f.capacity.unwrap() as u64 - f.list_size.unwrap() as u64;
            assert!(n <= room, "{}: {n} new for {room} places", f.id);
        }
    }

    /// (people placed, total cost in mm) of a solution.
    fn score(r: &Reassignment) -> (u64, i64) {
        r.rows
            .iter()
            .filter(|x| x.to != NONE)
            .fold((0, 0), |(n, c), x| {
                (
                    n + x.people as u64,
                    c + x.people as i64 * cost_mm(x.distance_m),
                )
            })
    }

    /// Every way of sending each person to a GP in reach or nowhere; the
    /// best is (most placed, least total mm). Independent of the solver:
    /// distances straight from Karney, rooms from capacity − list size.
    fn brute_force(people: &[LonLat], gps: &[(LonLat, i64)], max_d: f64) -> (u64, i64) {
        let cost: Vec<Vec<Option<i64>>> = people
            .iter()
            .map(|&p| {
                gps.iter()
                    .map(|&(g, _)| {
                        let d = geodesic_distance_m(p, g);
                        (d <= max_d).then(|| cost_mm(d))
                    })
                    .collect()
            })
            .collect();
        let mut room: Vec<i64> = gps.iter().map(|g| g.1).collect();
        let mut best = (0, 0);
        fn go(
            i: usize,
            cost: &[Vec<Option<i64>>],
            room: &mut [i64],
            acc: (u64, i64),
            best: &mut (u64, i64),
        ) {
            if i == cost.len() {
                if acc.0 > best.0 || (acc.0 == best.0 && acc.1 < best.1) {
                    *best = acc;
                }
                return;
            }
            go(i + 1, cost, room, acc, best);
            for j in 0..room.len() {
                if let Some(c) = cost[i][j] {
                    if room[j] > 0 {
                        room[j] -= 1;
                        go(i + 1, cost, room, (acc.0 + 1, acc.1 + c), best);
                        room[j] += 1;
                    }
                }
            }
        }
        go(0, &cost, &mut room, (0, 0), &mut best);
        best
    }

    /// Min-cost max-flow written differently: Ford–Fulkerson for a maximum
    /// flow on the full bipartite graph (every arc in reach), then
    /// Bellman–Ford negative-cycle cancelling until none is left.
    fn cycle_cancelling(people: &[LonLat], gps: &[(LonLat, i64)], max_d: f64) -> (u64, i64) {
        let (np, ng) = (people.len(), gps.len());
        let (s, t, n) = (np + ng, np + ng + 1, np + ng + 2);
        // cap[u][v], cost[u][v]
        let mut cap = vec![vec![0i64; n]; n];
        let mut cost = vec![vec![0i64; n]; n];
        for (i, &p) in people.iter().enumerate() {
            cap[s][i] = 1;
            for (j, &(g, _)) in gps.iter().enumerate() {
                let d = geodesic_distance_m(p, g);
                if d <= max_d {
                    cap[i][np + j] = 1;
                    cost[i][np + j] = cost_mm(d);
                    cost[np + j][i] = -cost_mm(d);
                }
            }
        }
        for (j, g) in gps.iter().enumerate() {
            cap[np + j][t] = g.1;
        }
        loop {
            let mut prev = vec![usize::MAX; n];
            prev[s] = s;
            let mut queue = std::collections::VecDeque::from([s]);
            while let Some(u) = queue.pop_front() {
                for v in 0..n {
                    if cap[u][v] > 0 && prev[v] == usize::MAX {
                        prev[v] = u;
                        queue.push_back(v);
                    }
                }
            }
            if prev[t] == usize::MAX {
                break;
            }
            let mut v = t;
            while v != s {
                let u = prev[v];
                cap[u][v] -= 1;
                cap[v][u] += 1;
                v = u;
            }
        }
        loop {
            let mut dist = vec![0i64; n];
            let mut pred = vec![usize::MAX; n];
            let mut last = usize::MAX;
            for _ in 0..n {
                last = usize::MAX;
                for u in 0..n {
                    for v in 0..n {
                        if cap[u][v] > 0 && dist[u] + cost[u][v] < dist[v] {
                            dist[v] = dist[u] + cost[u][v];
                            pred[v] = u;
                            last = v;
                        }
                    }
                }
            }
            if last == usize::MAX {
                break;
            }
            let mut v = last;
            for _ in 0..n {
                v = pred[v];
            }
            let start = v;
            loop {
                let u = pred[v];
                cap[u][v] -= 1;
                cap[v][u] += 1;
                v = u;
                if v == start {
                    break;
                }
            }
        }
        let mut placed = 0;
        let mut total = 0;
        for i in 0..np {
            for j in 0..ng {
                // Reverse capacity on a unit arc = one person sent.
                if cap[np + j][i] > 0 {
                    placed += 1;
                    total += cost[i][np + j];
                }
            }
        }
        (placed, total)
    }

    /// A random instance: one ceasing GP with `n` patients around it and
    /// `g` receiving GPs with little room.
    fn random_case(
        rng: &mut ChaCha8Rng,
        n: usize,
        g: usize,
    ) -> (Dataset, Vec<LonLat>, Vec<(LonLat, i64)>) {
        let ids: Vec<&'static str> = (0..=g)
            .map(|i| &*Box::leak(format!("G{i:02}").into_boxed_str()))
            .collect();
        let mut gps = vec![gp(ids[0], 9.7, 45.7, 2000, 1000)];
        let mut receiving = Vec::new();
        for &id in &ids[1..] {
            let at = (rng.random_range(9.6..9.8), rng.random_range(45.63..45.77));
            let cap = rng.random_range(10..14);
            let list = rng.random_range(8..=cap);
            gps.push(gp(id, at.0, at.1, cap, list));
            if cap > list {
                receiving.push((LonLat::new(at.0, at.1), (cap - list) as i64));
            }
        }
        let rows: Vec<Row> = (0..n)
            .map(|_| {
                (
                    rng.random_range(9.65..9.75),
                    rng.random_range(45.66..45.74),
                    1.0,
                    ids[0],
                    "assigned",
                    "016024",
                )
            })
            .collect();
        let people = rows.iter().map(|r| LonLat::new(r.0, r.1)).collect();
        (dataset(gps, &rows), people, receiving)
    }

    #[test]
    fn small_random_scenarios_equal_exhaustive_search() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for case in 0..60 {
            let n = rng.random_range(1..7);
            let (ds, people, receiving) = random_case(&mut rng, n, 4);
            let max_d = rng.random_range(2_000.0..12_000.0);
            let q = ScenarioQuery {
                max_distance_m: max_d,
                ..query(&["G00"])
            };
            let got = reassign(&ds, &q, &Sequential).unwrap();
            assert_eq!(
                score(&got),
                brute_force(&people, &receiving, max_d),
                "case {case}"
            );
            assert!(got.optimality.proven);
            assert_within_capacity(&ds, &got);
        }
    }

    #[test]
    fn pruned_candidates_are_widened_until_the_optimum_is_reached() {
        // Two nearest GPs per patient only: their few places fill up, the
        // optimum uses GPs outside every first candidate list, and the
        // proof has to add them.
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut widened = 0;
        for case in 0..25 {
            let (ds, people, receiving) = random_case(&mut rng, 40, 24);
            let tuning = Tuning {
                nearest: 2,
                priced: 0,
            };
            let q = ScenarioQuery {
                max_distance_m: 9_000.0,
                ..query(&["G00"])
            };
            let got = reassign_tuned(&ds, &q, &Sequential, tuning).unwrap();
            let want = cycle_cancelling(&people, &receiving, 9_000.0);
            assert_eq!(score(&got), want, "case {case}");
            assert_within_capacity(&ds, &got);
            if got.optimality.rounds > 1 {
                widened += 1;
                assert!(got.optimality.arcs_added > 0);
            }
            // The default tuning agrees.
            let default = reassign(&ds, &q, &Sequential).unwrap();
            assert_eq!(score(&default), want, "case {case} (default)");
        }
        assert!(widened >= 20, "only {widened} cases needed widening");
    }

    fn ids(ds: &Dataset, r: &Reassignment) -> Vec<(usize, String, u32)> {
        r.rows
            .iter()
            .map(|x| {
                let to = if x.to == NONE {
                    String::new()
                } else {
                    ds.facilities().get(x.to).id.0.clone()
                };
                (x.resident, to, x.people)
            })
            .collect()
    }

    #[test]
    fn a_patient_whose_nearest_gp_is_needed_by_another_goes_to_the_far_one() {
        // On the parallel 45.7: A has 1 place, C has 10. P (row 0) is 39 m
        // from A and 1.2 km from C; Q (row 1) reaches only A (0.9 km; C is
        // 2.1 km, beyond 2 km). Both fit only with Q at A and P at C. With a
        // single candidate each (A), the first solve strands Q; the proof
        // must offer C to P.
        let gps = vec![
            gp("X", 9.70, 45.71, 10, 2),
            gp("A", 9.700, 45.70, 11, 10),
            gp("C", 9.685, 45.70, 20, 10),
        ];
        let rows: Vec<Row> = vec![
            (9.7005, 45.70, 1.0, "X", "assigned", "m"),
            (9.7120, 45.70, 1.0, "X", "assigned", "m"),
        ];
        let ds = dataset(gps, &rows);
        let q = ScenarioQuery {
            max_distance_m: 2_000.0,
            ..query(&["X"])
        };
        let tuning = Tuning {
            nearest: 1,
            priced: 0,
        };
        let got = reassign_tuned(&ds, &q, &Sequential, tuning).unwrap();
        assert_eq!(ids(&ds, &got), vec![(0, "C".into(), 1), (1, "A".into(), 1)]);
        assert!(got.optimality.rounds >= 2);
        let p = LonLat::new(9.7005, 45.70);
        assert_eq!(
            got.rows[0].distance_m,
            geodesic_distance_m(p, LonLat::new(9.685, 45.70))
        );
        // The default candidates reach the same answer.
        let default = reassign(&ds, &q, &Sequential).unwrap();
        assert_eq!(ids(&ds, &default), ids(&ds, &got));
    }

    #[test]
    fn when_room_is_short_the_nearest_patients_are_placed_and_the_rest_are_orphans() {
        // One GP with 2 places; three patients 100 m, 200 m and 300 m away.
        let gps = vec![gp("X", 9.6, 45.6, 10, 3), gp("A", 9.7, 45.7, 12, 10)];
        let at = |dlat: f64| (9.7, 45.7 + dlat, 1.0, "X", "assigned", "m");
        let rows: Vec<Row> = vec![at(0.0027), at(0.0009), at(0.0018)];
        let ds = dataset(gps, &rows);
        let got = reassign(&ds, &query(&["X"]), &Sequential).unwrap();
        assert_eq!(
            ids(&ds, &got),
            vec![(0, "".into(), 1), (1, "A".into(), 1), (2, "A".into(), 1)]
        );
        assert!(got.rows[0].distance_m.is_nan());
    }

    #[test]
    fn nobody_is_sent_beyond_the_maximum_distance() {
        let gps = vec![gp("X", 9.6, 45.6, 10, 2), gp("A", 9.7, 45.7, 100, 0)];
        // 1 km and 3 km north of A.
        let rows: Vec<Row> = vec![
            (9.7, 45.709, 1.0, "X", "assigned", "m"),
            (9.7, 45.727, 1.0, "X", "assigned", "m"),
        ];
        let ds = dataset(gps, &rows);
        let q = ScenarioQuery {
            max_distance_m: 2_000.0,
            ..query(&["X"])
        };
        let got = reassign(&ds, &q, &Sequential).unwrap();
        assert_eq!(ids(&ds, &got), vec![(0, "A".into(), 1), (1, "".into(), 1)]);
        let report = scenario_report(&ds, &got, 0.0);
        assert_eq!((report.patients, report.placed, report.orphans), (2, 1, 1));
    }

    #[test]
    fn a_weighted_point_is_split_across_gps_and_capacity_is_never_exceeded() {
        // 5 people at one point; A (near) has 3 places, B (far) 10.
        let gps = vec![
            gp("X", 9.6, 45.6, 10, 5),
            gp("A", 9.70, 45.70, 13, 10),
            gp("B", 9.72, 45.70, 10, 0),
        ];
        let rows: Vec<Row> = vec![(9.701, 45.70, 5.0, "X", "assigned", "m")];
        let ds = dataset(gps, &rows);
        let got = reassign(&ds, &query(&["X"]), &Sequential).unwrap();
        assert_eq!(ids(&ds, &got), vec![(0, "A".into(), 3), (0, "B".into(), 2)]);
        let report = scenario_report(&ds, &got, 0.0);
        let a = &report.by_gp[0];
        assert_eq!(
            (a.id.as_str(), a.new_patients, a.list_size),
            ("A", Some(3), Some(13.0))
        );
        let d_a = geodesic_distance_m(LonLat::new(9.701, 45.70), LonLat::new(9.70, 45.70));
        let d_b = geodesic_distance_m(LonLat::new(9.701, 45.70), LonLat::new(9.72, 45.70));
        assert_eq!(
            report.total_distance_m,
            Some(round_mm(3.0 * d_a + 2.0 * d_b))
        );
    }

    #[test]
    fn fractional_weights_unknown_ids_and_non_gps_are_refused() {
        let mut ped = gp("PED", 9.7, 45.7, 10, 0);
        ped.kind = FacilityKind::Pediatrician;
        let mut old = gp("OLD", 9.7, 45.7, 10, 0);
        old.status = FacilityStatus::Ceased;
        let gps = vec![
            gp("X", 9.6, 45.6, 10, 2),
            gp("A", 9.7, 45.7, 100, 0),
            ped,
            old,
        ];
        let rows: Vec<Row> = vec![(9.7, 45.71, 1.5, "X", "assigned", "m")];
        let ds = dataset(gps, &rows);
        assert!(matches!(
            reassign(&ds, &query(&["NOPE"]), &Sequential),
            Err(Error::UnknownFacility(id)) if id == "NOPE"
        ));
        for bad in ["PED", "OLD"] {
            let err = reassign(&ds, &query(&[bad]), &Sequential).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidParameter { name, .. } if name == "cease"),
                "{err}"
            );
        }
        let err = reassign(&ds, &query(&["X"]), &Sequential).unwrap_err();
        assert!(
            matches!(err, Error::Unavailable(ref m) if m.contains("whole number")),
            "{err}"
        );
        assert!(reassign(&ds, &query(&[]), &Sequential).is_err());
    }

    #[test]
    fn ad_users_stay_and_unlisted_residents_are_placed_on_request() {
        let gps = vec![gp("X", 9.6, 45.6, 10, 1), gp("A", 9.7, 45.7, 100, 0)];
        let rows: Vec<Row> = vec![
            (9.7, 45.71, 1.0, "X", "assigned", "m"),
            (9.7, 45.71, 1.0, "X", "ad_user", "m"),
            (9.7, 45.72, 1.0, "", "no_gp", "m"),
        ];
        let ds = dataset(gps, &rows);
        let got = reassign(&ds, &query(&["X"]), &Sequential).unwrap();
        assert_eq!(ids(&ds, &got), vec![(0, "A".into(), 1)]);
        let q = ScenarioQuery {
            assign_unlisted: true,
            ..query(&["X"])
        };
        let got = reassign(&ds, &q, &Sequential).unwrap();
        assert_eq!(ids(&ds, &got), vec![(0, "A".into(), 1), (2, "A".into(), 1)]);
        assert_eq!(got.rows[1].from, NONE);
        let report = scenario_report(&ds, &got, 0.0);
        assert_eq!((report.patients, report.unlisted), (2, 1));
    }

    #[test]
    fn the_request_body_fills_defaults_and_refuses_unknown_keys() {
        let q: ScenarioQuery = serde_json::from_str(r#"{"cease": ["GP0012", "GP0044"]}"#).unwrap();
        assert_eq!(q.cease, ["GP0012", "GP0044"]);
        assert_eq!(q.max_distance_m, 30_000.0);
        assert_eq!(q.min_group_size, 10.0);
        assert!(!q.assign_unlisted);
        let q: ScenarioQuery =
            serde_json::from_str(r#"{"cease": ["A"], "max_distance_m": 5000}"#).unwrap();
        assert_eq!(q.max_distance_m, 5_000.0);
        assert!(serde_json::from_str::<ScenarioQuery>(r#"{"ceased": ["A"]}"#).is_err());
    }

    #[test]
    fn small_groups_are_suppressed_in_the_report() {
        let gps = vec![gp("X", 9.6, 45.6, 10, 3), gp("A", 9.7, 45.7, 100, 0)];
        let rows: Vec<Row> = (0..3)
            .map(|i| (9.7, 45.71 + i as f64 * 0.001, 1.0, "X", "assigned", "m"))
            .collect();
        let ds = dataset(gps, &rows);
        let got = reassign(&ds, &query(&["X"]), &Sequential).unwrap();
        let report = scenario_report(&ds, &got, 10.0);
        assert_eq!(
            report.new_distance,
            Figures::Suppressed { suppressed: true }
        );
        assert_eq!(report.total_distance_m, None);
        assert!(matches!(
            report.by_municipality[0],
            MunicipalityChange::Suppressed { .. }
        ));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["new_distance"]["suppressed"], true);
        let open = scenario_report(&ds, &got, 3.0);
        let Figures::Stats(s) = open.new_distance else {
            panic!("not suppressed at 3 people")
        };
        let want: Vec<f64> = rows
            .iter()
            .map(|r| geodesic_distance_m(LonLat::new(r.0, r.1), LonLat::new(9.7, 45.7)))
            .collect();
        assert_eq!(s.median_m, round_mm(want[1]));
        assert_eq!(s.count, 3.0);
    }
}
