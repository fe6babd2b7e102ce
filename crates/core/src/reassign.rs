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
//! Candidate arcs are pruned to each patient's nearest GPs, and pruning is
//! *proven* harmless before an answer is returned: with the dual potentials
//! of the solved problem, every pruned arc within `max_distance_m` must have
//! non-negative reduced cost (checked exactly, through a distance bound and
//! `FacilityIndex::within` where the bound is not enough), and, when someone
//! is left unplaced, every patient reachable from the unplaced ones in the
//! residual graph must have all their arcs (so no augmenting path can hide
//! in a pruned arc). Otherwise the arc set is widened and the problem solved
//! again; [`Optimality`] reports the rounds and arcs this took.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::exec::{chunk_ranges, Executor};
use crate::geodesic::{geodesic_distance_m, lower_bound_from_chord_m, unit_normal};
use crate::index::FacilityIndex;
use crate::model::{FacilityIdx, FacilityKind, LonLat, NONE};
use crate::stats::{round_mm, Summary};
use crate::transport::{certify, solve, Certificate, Flow, Problem, UNBOUNDED};

/// Default `max_distance_m` of a scenario: 30 km.
pub const DEFAULT_MAX_DISTANCE_M: f64 = 30_000.0;

/// Nearest receiving GPs first offered to each patient; the proof widens
/// this where needed.
const INITIAL_CANDIDATES: usize = 16;

/// Nearest GPs outside the reachable set added per reachable patient and
/// round while someone is unplaced.
const ESCAPES_ADDED: usize = 4;

/// Arc costs are whole millimetres, so optimality is exact in integers.
const MM_PER_M: f64 = 1000.0;

/// A GP-cessation scenario.
#[derive(Debug, Clone, PartialEq)]
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
    /// Arcs added by widening after the first round.
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
    /// Every receiving GP within `max_distance_m` not in `arcs` is at least
    /// this far; infinite when `arcs` is complete.
    pruned_from_m: f64,
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
    let complete_all = index.len() <= INITIAL_CANDIDATES;

    let to_arcs = |hits: Vec<crate::index::Nearest>| -> Vec<(u32, f64)> {
        hits.into_iter()
            .filter(|h| h.distance_m <= max_d)
            .map(|h| (sink_of[h.facility as usize], h.distance_m))
            .collect()
    };
    let mut cands: Vec<Candidates> = exec
        .map(chunk_ranges(patients.len(), 512), |r| {
            r.map(|i| {
                let p = locs[patients[i].row];
                if complete_all {
                    return Candidates {
                        arcs: to_arcs(index.within(p, max_d)),
                        pruned_from_m: f64::INFINITY,
                    };
                }
                let hits = index.k_nearest(p, INITIAL_CANDIDATES);
                let last = hits.last().map_or(f64::INFINITY, |h| h.distance_m);
                Candidates {
                    arcs: to_arcs(hits),
                    pruned_from_m: if last <= max_d { last } else { f64::INFINITY },
                }
            })
            .collect::<Vec<_>>()
        })
        .concat();

    if std::env::var_os("BACINO_DEBUG").is_some() {
        eprintln!(
            "receivers {} patients {} candidates done",
            receivers.len(),
            patients.len()
        );
    }
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
    let first_arcs: u64 = cands.iter().map(|c| c.arcs.len() as u64).sum();
    let mut rounds = 0u32;
    let (pb, flow) = loop {
        rounds += 1;
        let t0 = std::time::Instant::now();
        let pb = build_problem(&patients, &cands, &caps);
        let flow = solve(&pb);
        let t1 = std::time::Instant::now();
        let cert = certify(&pb, &flow).map_err(|e| {
            Error::Unavailable(format!("reassignment could not be proven optimal: {e}"))
        })?;
        let widened = widen(
            &patients, &mut cands, &pb, &flow, &cert, &sinks, locs, max_d, exec,
        );
        if std::env::var_os("BACINO_DEBUG").is_some() {
            eprintln!(
                "round {rounds}: arcs {} solve {:?} certify+widen {:?}",
                pb.arc_sink.len(),
                t1 - t0,
                t1.elapsed()
            );
        }
        if !widened {
            break (pb, flow);
        }
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
            arcs_added: arcs - first_arcs,
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
/// generation); returns true when some list changed (solve again).
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
) -> bool {
    let psi = &cert.sink_potential;
    let psi_max = psi.iter().copied().max().unwrap_or(0);
    let anyone_unplaced = flow.unplaced.iter().any(|&u| u > 0);
    let current: &[Candidates] = cands;
    let updates: Vec<(usize, Candidates)> = exec
        .map(chunk_ranges(patients.len(), 512), |r| {
            let mut out = Vec::new();
            let mut have = vec![false; psi.len()];
            for i in r {
                let c = &current[i];
                if c.pruned_from_m.is_infinite() {
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
                if !reachable && cost_mm(c.pruned_from_m) >= psi_max + a_p {
                    continue;
                }
                let p = locs[patients[i].row];
                let np = unit_normal(p);
                for &(j, _) in &c.arcs {
                    have[j as usize] = true;
                }
                let mut added = Vec::new();
                // Receiving GPs outside the reachable set within reach of
                // a reachable patient would cut the max-flow proof.
                let mut escapes = Vec::new();
                for j in 0..psi.len() {
                    if have[j] {
                        continue;
                    }
                    let lb = lower_bound_from_chord_m(chord(&np, &sinks.normal[j]));
                    let escape = reachable && !cert.reachable[j];
                    if lb > max_d || (!escape && cost_mm(lb) >= psi[j] + a_p) {
                        continue;
                    }
                    let d = geodesic_distance_m(p, sinks.location[j]);
                    if d > max_d {
                        continue;
                    }
                    if cost_mm(d) < psi[j] + a_p {
                        added.push((j as u32, d));
                    } else if escape {
                        escapes.push((j as u32, d));
                    }
                }
                escapes.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
                added.extend(escapes.into_iter().take(ESCAPES_ADDED));
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
                        // Those still left out are at least as far as before.
                        pruned_from_m: c.pruned_from_m,
                    },
                ));
            }
            out
        })
        .concat();
    let changed = updates
        .iter()
        .any(|(i, c)| c.arcs.len() != cands[*i].arcs.len());
    for (i, c) in updates {
        cands[i] = c;
    }
    changed
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
    /// People newly assigned.
    pub new_patients: u64,
    /// List size after the change.
    #[serde(serialize_with = "serialize_whole")]
    pub list_size: f64,
    /// Capacity (massimale), `null` for unbounded.
    pub capacity: Option<u32>,
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
        /// (`null` when all are unlisted).
        before_median_m: Option<f64>,
        /// Weighted median distance to the GP assigned, metres, over the
        /// placed (`null` when nobody was placed).
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

fn serialize_whole<S: serde::Serializer>(x: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    if x.fract() == 0.0 && x.abs() < 9e15 {
        s.serialize_u64(*x as u64)
    } else {
        s.serialize_f64(*x)
    }
}

/// Builds the scenario document of a solved reassignment.
pub fn scenario_report(
    dataset: &Dataset,
    solved: &Reassignment,
    min_group_size: f64,
) -> ScenarioReport {
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
            GpChange {
                id: f.id.0.clone(),
                new_patients: n,
                list_size: dataset.list_size(g) + n as f64,
                capacity: f.capacity,
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
    let median =
        |pairs: &mut Vec<(f64, f64)>| Summary::from_weighted(pairs).map(|s| round_mm(s.median_m));
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

/// Solves a scenario and builds its document in one call.
pub fn scenario<E: Executor>(
    dataset: &Dataset,
    query: &ScenarioQuery,
    exec: &E,
) -> Result<ScenarioReport> {
    if !(query.min_group_size >= 0.0) {
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
