//! Arc costs of the road-network metrics (`car`, `foot`: travel time in
//! whole milliseconds, from one contraction-hierarchy many-to-many matrix,
//! so every arc's exact cost is known and the pricing is exact) and of a
//! `table` (its given costs, in thousandths of its unit).

use bacino_network::{Cost, Target};

use super::{cost_units, ArcCosts, Candidates, Setup, Tuning};
use crate::costs::{CostTable, CostUnit};
use crate::exec::{chunk_ranges, Executor};
use crate::metric::PreparedNetwork;
use crate::model::NONE;

/// Patients routed per unit of parallel matrix work.
const MATRIX_CHUNK: usize = 2048;

/// Every patient → receiving GP cost over a road network.
pub(super) struct NetworkArcs {
    /// Row of each patient in `matrix` (`None`: off the network).
    row: Vec<Option<u32>>,
    /// Costs, `sinks` per row (legs included; [`Cost::INFINITE`] where no
    /// route).
    matrix: Vec<Cost>,
    sinks: usize,
    max_length_cm: u64,
    max_time_ms: u64,
}

impl NetworkArcs {
    fn at(&self, i: usize, j: u32) -> Option<Cost> {
        let r = self.row[i]? as usize;
        let c = self.matrix[r * self.sinks + j as usize];
        (c.is_finite()
            && u64::from(c.length_cm()) <= self.max_length_cm
            && u64::from(c.time_ms()) <= self.max_time_ms)
            .then_some(c)
    }

    /// People to place whose home is off the network.
    pub(super) fn unreachable_people(&self, setup: &Setup) -> u64 {
        setup
            .patients
            .iter()
            .zip(&self.row)
            .filter(|(_, r)| r.is_none())
            .map(|(p, _)| u64::from(p.people))
            .sum()
    }
}

impl ArcCosts for NetworkArcs {
    fn bound(&self, i: usize, j: u32) -> Option<i64> {
        self.cost(i, j)
    }

    fn cost(&self, i: usize, j: u32) -> Option<i64> {
        self.at(i, j).map(|c| i64::from(c.time_ms()))
    }

    fn figures(&self, i: usize, j: u32) -> (f64, f64) {
        self.at(i, j)
            .map_or((f64::NAN, f64::NAN), |c| (c.length_m(), c.time_s()))
    }
}

/// The matrix and each patient's first candidates: its fastest receiving
/// GPs within the limits (all of them when there are few).
pub(super) fn network<E: Executor>(
    net: &PreparedNetwork,
    setup: &Setup,
    tuning: Tuning,
    exec: &E,
) -> (NetworkArcs, Vec<Candidates>) {
    let snaps = net.resident_snaps();
    let facility_snaps = net.facility_snaps();
    let targets: Vec<Target> = setup
        .receivers
        .iter()
        .enumerate()
        .filter_map(|(j, &f)| {
            Some(Target {
                label: j as u32,
                snap: facility_snaps[f as usize]?,
            })
        })
        .collect();
    let mut row = Vec::with_capacity(setup.patients.len());
    let mut origins = Vec::new();
    for p in &setup.patients {
        match snaps[p.row] {
            Some(s) => {
                row.push(Some(origins.len() as u32));
                origins.push(s);
            }
            None => row.push(None),
        }
    }
    let sinks = setup.receivers.len();
    let network = net.network();
    let matrix: Vec<Cost> = exec
        .map(chunk_ranges(origins.len(), MATRIX_CHUNK), |r| {
            let part = network.matrix(&origins[r.clone()], &targets);
            let mut out = vec![Cost::INFINITE; r.len() * sinks];
            for (k, costs) in part.iter().enumerate() {
                for (t, c) in targets.iter().zip(costs) {
                    out[k * sinks + t.label as usize] = *c;
                }
            }
            out
        })
        .concat();
    let arcs = NetworkArcs {
        row,
        matrix,
        sinks,
        max_length_cm: (setup.max_d * 100.0).floor() as u64,
        max_time_ms: setup
            .max_t
            .map_or(u64::MAX, |t| (t * 1000.0).floor() as u64),
    };
    let first = tuning.nearest + tuning.priced;
    let cands = exec
        .map(chunk_ranges(setup.patients.len(), 512), |r| {
            r.map(|i| {
                let mut c = Candidates {
                    arcs: (0..sinks as u32)
                        .filter_map(|j| Some((j, arcs.cost(i, j)?)))
                        .collect(),
                    complete: false,
                };
                c.sort();
                if c.arcs.len() <= first || arcs.row[i].is_none() {
                    c.complete = true;
                } else {
                    c.arcs.truncate(first);
                }
                c
            })
            .collect::<Vec<_>>()
        })
        .concat();
    (arcs, cands)
}

/// Each patient's `(route length m, time s)` to the GP left, by one
/// early-stopping search per ceasing GP (NaN when unlisted or unrouted).
pub(super) fn network_before<E: Executor>(
    net: &PreparedNetwork,
    setup: &Setup,
    exec: &E,
) -> Vec<(f64, f64)> {
    let snaps = net.resident_snaps();
    let facility_snaps = net.facility_snaps();
    let mut out = vec![(f64::NAN, f64::NAN); setup.patients.len()];
    let per_gp: Vec<Vec<(usize, Option<Cost>)>> = exec
        .map(chunk_ranges(setup.ceased.len(), 1), |r| {
            r.map(|k| {
                let gp = setup.ceased[k];
                let mine: Vec<usize> = (0..setup.patients.len())
                    .filter(|&i| setup.patients[i].from == gp)
                    .collect();
                let Some(snap) = facility_snaps[gp as usize] else {
                    return mine.into_iter().map(|i| (i, None)).collect();
                };
                let origins: Vec<_> = mine.iter().map(|&i| snaps[setup.patients[i].row]).collect();
                let costs = net
                    .network()
                    .costs_to_one(&Target { label: 0, snap }, &origins);
                mine.into_iter().zip(costs).collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
        })
        .concat();
    for (i, c) in per_gp.into_iter().flatten() {
        if let Some(c) = c.filter(|c| c.is_finite()) {
            out[i] = (c.length_m(), c.time_s());
        }
    }
    out
}

/// The listed pairs of a cost table, within the limits.
pub(super) struct TableArcs {
    /// Each patient's arcs (sink, cost in the table's unit).
    pairs: Vec<Vec<(u32, f64)>>,
    unit: CostUnit,
}

impl ArcCosts for TableArcs {
    fn bound(&self, i: usize, j: u32) -> Option<i64> {
        self.cost(i, j)
    }

    fn cost(&self, i: usize, j: u32) -> Option<i64> {
        self.pairs[i]
            .iter()
            .find(|p| p.0 == j)
            .map(|p| cost_units(p.1))
    }

    fn figures(&self, i: usize, j: u32) -> (f64, f64) {
        let c = self.pairs[i]
            .iter()
            .find(|p| p.0 == j)
            .map_or(f64::NAN, |p| p.1);
        match self.unit {
            CostUnit::Metres => (c, f64::NAN),
            CostUnit::Seconds => (f64::NAN, c),
        }
    }
}

/// The table's arcs, every listed pair offered from the start (the table
/// is the whole arc set, so the first solve is already complete).
pub(super) fn table(table: &CostTable, setup: &Setup) -> (TableArcs, Vec<Candidates>) {
    let limit = match table.unit() {
        CostUnit::Metres => setup.max_d,
        CostUnit::Seconds => setup.max_t.unwrap_or(f64::INFINITY),
    };
    let mut sink_of = std::collections::HashMap::new();
    for (j, &f) in setup.receivers.iter().enumerate() {
        sink_of.insert(f, j as u32);
    }
    let pairs: Vec<Vec<(u32, f64)>> = setup
        .patients
        .iter()
        .map(|p| {
            table
                .of(p.row)
                .iter()
                .filter(|(_, c)| *c <= limit)
                .filter_map(|(f, c)| Some((*sink_of.get(f)?, *c)))
                .collect()
        })
        .collect();
    let cands = pairs
        .iter()
        .map(|ps| {
            let mut c = Candidates {
                arcs: ps.iter().map(|&(j, x)| (j, cost_units(x))).collect(),
                complete: true,
            };
            c.sort();
            c
        })
        .collect();
    (
        TableArcs {
            pairs,
            unit: table.unit(),
        },
        cands,
    )
}

/// Each patient's table cost to the GP left (NaN without that pair).
pub(super) fn table_before(table: &CostTable, setup: &Setup) -> Vec<(f64, f64)> {
    setup
        .patients
        .iter()
        .map(|p| {
            let c = if p.from == NONE {
                f64::NAN
            } else {
                table
                    .of(p.row)
                    .iter()
                    .find(|(f, _)| *f == p.from)
                    .map_or(f64::NAN, |x| x.1)
            };
            match table.unit() {
                CostUnit::Metres => (c, f64::NAN),
                CostUnit::Seconds => (f64::NAN, c),
            }
        })
        .collect()
}
