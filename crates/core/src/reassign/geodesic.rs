//! Arc costs of the geodesic metric: whole millimetres on the WGS84
//! ellipsoid, every receiving GP screened by the straight-line (ECEF
//! chord) lower bound, within millimetres of the geodesic at these scales.

use std::collections::BTreeMap;

use super::cache::{CessationCache, NearArcs};
use super::pricing::k_cheapest_sorted;
use super::sweep::Sweep;
use super::{cost_units, ArcCosts, Candidates, Patient, Setup, Tuning, UNITS_PER_COST};
use crate::dataset::Dataset;
use crate::exec::{chunk_ranges, Executor};
use crate::geodesic::{
    ecef_chord_m, ecef_m, geodesic_distance_m, lower_bound_from_ecef_chord_m, prepared_distance_m,
};
use crate::karney::Prepared;
use crate::model::{LonLat, NONE};
use crate::transport::{solve, Problem};

/// Patients and receiving GPs on the ellipsoid.
pub(super) struct GeodesicArcs<'a> {
    patient: Vec<LonLat>,
    patient_prep: Vec<Prepared>,
    patient_xyz: Vec<[f64; 3]>,
    sink: Vec<LonLat>,
    sink_prep: Vec<Prepared>,
    sink_xyz: Vec<[f64; 3]>,
    /// The sinks sorted along the axis of their largest spread.
    sweep: Sweep,
    max_d: f64,
    /// Each patient's arcs already measured, from a [`CessationCache`].
    cached: Vec<Option<NearArcs<'a>>>,
    /// Each sink's position among the cache's potential receivers.
    base_of_sink: Vec<u32>,
}

impl GeodesicArcs<'_> {
    fn new(patient: Vec<LonLat>, sink: Vec<LonLat>, max_d: f64) -> Self {
        let sink_xyz: Vec<[f64; 3]> = sink.iter().map(|&p| ecef_m(p)).collect();
        GeodesicArcs {
            cached: Vec::new(),
            base_of_sink: Vec::new(),
            patient_prep: patient
                .iter()
                .map(|p| Prepared::new(p.lon, p.lat))
                .collect(),
            patient_xyz: patient.iter().map(|&p| ecef_m(p)).collect(),
            patient,
            sink_prep: sink.iter().map(|p| Prepared::new(p.lon, p.lat)).collect(),
            sweep: Sweep::new(&sink_xyz),
            sink_xyz,
            sink,
            max_d,
        }
    }

    /// Exact geodesic distance of arc (`i`, `j`), metres (as
    /// [`geodesic_distance_m`], with both ends prepared once).
    #[inline]
    fn distance_m(&self, i: usize, j: usize) -> f64 {
        prepared_distance_m(
            self.patient[i],
            &self.patient_prep[i],
            self.sink[j],
            &self.sink_prep[j],
        )
    }

    /// [`Self::distance_m`] of arc (`i`, `j`), from the cache when it holds
    /// the arc (the very same float).
    #[inline]
    fn measured_m(&self, i: usize, j: u32) -> f64 {
        if let Some(Some(near)) = self.cached.get(i) {
            if let Some(d) = near.distance_m(self.base_of_sink[j as usize]) {
                return d;
            }
        }
        self.distance_m(i, j as usize)
    }

    /// Lower bound of the distance of arc (`i`, `j`), metres.
    #[inline]
    fn lower_bound_m(&self, i: usize, j: usize) -> f64 {
        lower_bound_from_ecef_chord_m(ecef_chord_m(&self.patient_xyz[i], &self.sink_xyz[j]))
            .max(0.0)
    }
}

impl ArcCosts for GeodesicArcs<'_> {
    fn bound(&self, i: usize, j: u32) -> Option<i64> {
        let lb = self.lower_bound_m(i, j as usize);
        // Rounded down (`as` truncates, `lb` ≥ 0): a lower bound of the
        // rounded cost too.
        (lb <= self.max_d).then_some((lb * UNITS_PER_COST) as i64)
    }

    fn each_below(&self, i: usize, below: i64, _sinks: u32, f: &mut dyn FnMut(u32)) {
        if below <= 0 {
            // Bounds are never negative.
            return;
        }
        // A sink beyond this straight-line radius has a bound above `below`.
        let r = (below as f64 / UNITS_PER_COST + 1.0).min(self.max_d + 1.0);
        self.sweep.within(&self.patient_xyz[i], r).for_each(f);
    }

    fn cost(&self, i: usize, j: u32) -> Option<i64> {
        let d = self.measured_m(i, j);
        (d <= self.max_d).then(|| cost_units(d))
    }

    fn figures(&self, i: usize, j: u32) -> (f64, f64) {
        (self.measured_m(i, j), f64::NAN)
    }
}

/// The arcs and each patient's first candidates: its nearest receiving
/// GPs, plus the best ones at the prices of a coarse (~400 m cells)
/// version of the problem, so that where nearby room is short the far GPs
/// that will take people are offered from the start.
/// With a `cache` that fits the problem, each patient's nearest GPs and
/// every arc it holds are taken from there instead of measured again.
pub(super) fn prepare<'a, E: Executor>(
    dataset: &'a Dataset,
    setup: &Setup,
    tuning: Tuning,
    cache: Option<&'a CessationCache>,
    exec: &E,
) -> (GeodesicArcs<'a>, Vec<Candidates>) {
    let facilities = dataset.facilities();
    let locs = dataset.residents().locations();
    let mut arcs = GeodesicArcs::new(
        setup.patients.iter().map(|p| locs[p.row]).collect(),
        setup
            .receivers
            .iter()
            .map(|&f| facilities.get(f).location)
            .collect(),
        setup.max_d,
    );
    let sinks = arcs.sink.len() as u32;
    let complete_all = sinks as usize <= tuning.nearest + tuning.priced;
    let cache = cache.filter(|c| !complete_all && c.fits(dataset, setup.max_d, &setup.receivers));
    // Sink of each of the cache's potential receivers (NONE: ceasing).
    let mut sink_of_base = Vec::new();
    if let Some(c) = cache {
        arcs.base_of_sink = setup.receivers.iter().map(|&f| c.base(f)).collect();
        sink_of_base = vec![
            NONE;
            arcs.base_of_sink
                .iter()
                .max()
                .map_or(0, |&b| b as usize + 1)
        ];
        for (j, &b) in arcs.base_of_sink.iter().enumerate() {
            sink_of_base[b as usize] = j as u32;
        }
        arcs.cached = setup
            .patients
            .iter()
            .map(|p| c.arcs(dataset, p.from, p.row))
            .collect();
    }
    // What the coarse problem charges for a place at each GP (≥ 0).
    let offset: Vec<i64> = if complete_all || tuning.priced == 0 {
        Vec::new()
    } else {
        aggregate_prices(&setup.patients, locs, &arcs, &setup.caps, exec)
    };
    let cands = exec
        .map(chunk_ranges(setup.patients.len(), 512), |r| {
            r.map(|i| {
                if complete_all {
                    let mut c = Candidates {
                        arcs: (0..sinks)
                            .filter(|&j| arcs.bound(i, j).is_some())
                            .filter_map(|j| Some((j, arcs.cost(i, j)?)))
                            .collect(),
                        complete: true,
                    };
                    c.sort();
                    return c;
                }
                let xyz = &arcs.patient_xyz[i];
                // Exact costs found so far, so that no arc is measured twice.
                let known = std::cell::RefCell::new(Vec::<(u32, Option<i64>)>::new());
                let cost = |j: u32| {
                    if let Some(&(_, c)) = known.borrow().iter().find(|x| x.0 == j) {
                        return c;
                    }
                    let c = arcs.cost(i, j);
                    known.borrow_mut().push((j, c));
                    c
                };
                // The nearest still receiving, from the cache when it holds
                // enough of them.
                let from_cache = arcs.cached.get(i).copied().flatten().and_then(|near| {
                    let found: Vec<(u32, i64)> = near
                        .base
                        .iter()
                        .zip(near.dist)
                        .filter_map(|(&b, &d)| {
                            let j = *sink_of_base.get(b as usize)?;
                            (j != NONE).then(|| (j, cost_units(d)))
                        })
                        .take(tuning.nearest)
                        .collect();
                    (found.len() == tuning.nearest || near.complete).then_some(found)
                });
                let mut c = Candidates {
                    arcs: from_cache.unwrap_or_else(|| {
                        let keys = arcs
                            .sweep
                            .ordered(xyz, UNITS_PER_COST, |j| arcs.bound(i, j));
                        k_cheapest_sorted(keys, tuning.nearest, cost)
                    }),
                    complete: false,
                };
                // Offsets are ≥ 0: when the nearest carry none, no other
                // GP can beat them at the coarse prices.
                if tuning.priced > 0
                    && (tuning.priced > tuning.nearest
                        || c.arcs.iter().any(|&(j, _)| offset[j as usize] > 0))
                {
                    let keys = arcs.sweep.ordered(xyz, UNITS_PER_COST, |j| {
                        Some(arcs.bound(i, j)? + offset[j as usize])
                    });
                    let priced = k_cheapest_sorted(keys, tuning.priced, |j| {
                        Some(cost(j)? + offset[j as usize])
                    });
                    for (j, v) in priced {
                        if !c.arcs.iter().any(|x| x.0 == j) {
                            c.arcs.push((j, v - offset[j as usize]));
                        }
                    }
                }
                c.sort();
                c
            })
            .collect::<Vec<_>>()
        })
        .concat();
    (arcs, cands)
}

/// Each patient's geodesic distance to the GP left (NaN when unlisted),
/// from the cache where `arcs` hold it.
pub(super) fn before(dataset: &Dataset, setup: &Setup, arcs: &GeodesicArcs) -> Vec<(f64, f64)> {
    let facilities = dataset.facilities();
    let locs = dataset.residents().locations();
    setup
        .patients
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let d = if let Some(Some(near)) = arcs.cached.get(i) {
                near.before_m
            } else if p.from == NONE {
                f64::NAN
            } else {
                geodesic_distance_m(locs[p.row], facilities.get(p.from).location)
            };
            (d, f64::NAN)
        })
        .collect()
}

/// What a place at each receiving GP costs (≥ 0, in cost units) at the
/// duals of a coarse version of the problem: patients pooled in cells of
/// about 400 m, each cell at its members' mean position and offered its
/// nearest GPs, solved exactly. Only used to choose first candidates.
fn aggregate_prices<E: Executor>(
    patients: &[Patient],
    locs: &[LonLat],
    arcs: &GeodesicArcs,
    caps: &[u64],
    exec: &E,
) -> Vec<i64> {
    const CELL_DEG: f64 = 0.004;
    // Nearest receiving GPs per cell: enough to price where room is short,
    // few enough to keep this guide far cheaper than the exact solve.
    const CELL_ARCS: usize = 48;
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
    let reach = arcs.max_d + 2.0 * CELL_DEG * 111_000.0;
    let cells: Vec<(f64, f64, u64, u32)> = cells.into_values().collect();
    // Only a guide to the first candidates: the straight-line distance
    // (within centimetres of the geodesic at this scale) is enough.
    let cell_arcs: Vec<Vec<(u32, i64)>> = exec
        .map(chunk_ranges(cells.len(), 64), |r| {
            r.map(|i| {
                let (lon, lat, _, rows) = cells[i];
                let c = ecef_m(LonLat::new(lon / rows as f64, lat / rows as f64));
                let mut near: Vec<(u32, i64)> = arcs
                    .sink_xyz
                    .iter()
                    .enumerate()
                    .filter_map(|(j, s)| {
                        let d = ecef_chord_m(&c, s);
                        (d <= reach).then_some((j as u32, cost_units(d)))
                    })
                    .collect();
                if near.len() > CELL_ARCS {
                    near.select_nth_unstable_by_key(CELL_ARCS - 1, |&(j, c)| (c, j));
                    near.truncate(CELL_ARCS);
                }
                near
            })
            .collect::<Vec<_>>()
        })
        .concat();
    let mut pb = Problem {
        cap: caps.to_vec(),
        arc_start: vec![0],
        ..Problem::default()
    };
    for (cell, arcs) in cells.iter().zip(cell_arcs) {
        pb.supply.push(cell.2.min(u32::MAX as u64) as u32);
        for (j, c) in arcs {
            pb.arc_sink.push(j);
            pb.arc_cost.push(c);
        }
        pb.arc_start.push(pb.arc_sink.len() as u32);
    }
    let flow = solve(&pb);
    flow.price
}
