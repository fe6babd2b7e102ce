//! Arc costs of the geodesic metric: whole millimetres on the WGS84
//! ellipsoid, every receiving GP screened by a rigorous chord lower bound.

use std::collections::BTreeMap;

use super::{cost_units, k_cheapest, ArcCosts, Candidates, Patient, Setup, Tuning};
use crate::dataset::Dataset;
use crate::exec::{chunk_ranges, Executor};
use crate::geodesic::{geodesic_distance_m, lower_bound_from_chord_m, unit_normal};
use crate::index::FacilityIndex;
use crate::model::{LonLat, NONE};
use crate::transport::{certify, solve, Problem};

/// Patients and receiving GPs on the ellipsoid.
pub(super) struct GeodesicArcs {
    patient: Vec<LonLat>,
    patient_normal: Vec<[f64; 3]>,
    sink: Vec<LonLat>,
    sink_normal: Vec<[f64; 3]>,
    max_d: f64,
}

impl ArcCosts for GeodesicArcs {
    fn bound(&self, i: usize, j: u32) -> Option<i64> {
        let lb = lower_bound_from_chord_m(chord(
            &self.patient_normal[i],
            &self.sink_normal[j as usize],
        ))
        .max(0.0);
        (lb <= self.max_d).then(|| cost_units(lb))
    }

    fn cost(&self, i: usize, j: u32) -> Option<i64> {
        let d = geodesic_distance_m(self.patient[i], self.sink[j as usize]);
        (d <= self.max_d).then(|| cost_units(d))
    }

    fn figures(&self, i: usize, j: u32) -> (f64, f64) {
        (
            geodesic_distance_m(self.patient[i], self.sink[j as usize]),
            f64::NAN,
        )
    }
}

/// The arcs and each patient's first candidates: its nearest receiving
/// GPs, plus the best ones at the prices of a coarse (~400 m cells)
/// version of the problem, so that where nearby room is short the far GPs
/// that will take people are offered from the start.
pub(super) fn prepare<E: Executor>(
    dataset: &Dataset,
    setup: &Setup,
    tuning: Tuning,
    exec: &E,
) -> (GeodesicArcs, Vec<Candidates>) {
    let facilities = dataset.facilities();
    let locs = dataset.residents().locations();
    let patient: Vec<LonLat> = setup.patients.iter().map(|p| locs[p.row]).collect();
    let sink: Vec<LonLat> = setup
        .receivers
        .iter()
        .map(|&f| facilities.get(f).location)
        .collect();
    let arcs = GeodesicArcs {
        patient_normal: patient.iter().map(|&p| unit_normal(p)).collect(),
        patient,
        sink_normal: sink.iter().map(|&p| unit_normal(p)).collect(),
        sink,
        max_d: setup.max_d,
    };
    let mut sink_of = vec![NONE; facilities.len()];
    for (j, &f) in setup.receivers.iter().enumerate() {
        sink_of[f as usize] = j as u32;
    }
    let index = FacilityIndex::new(facilities, &setup.receivers);
    let max_d = setup.max_d;
    let complete_all = index.len() <= tuning.nearest + tuning.priced;
    // Offsets −ψ of the coarse problem, in cost units.
    let offset: Vec<i64> = if complete_all || tuning.priced == 0 {
        Vec::new()
    } else {
        aggregate_prices(&setup.patients, locs, &arcs, &setup.caps, exec)
            .into_iter()
            .map(|psi| -psi)
            .collect()
    };
    let cands = exec
        .map(chunk_ranges(setup.patients.len(), 512), |r| {
            r.map(|i| {
                let p = arcs.patient[i];
                let near = |hits: Vec<crate::index::Nearest>| {
                    hits.into_iter()
                        .filter(|h| h.distance_m <= max_d)
                        .map(|h| (sink_of[h.facility as usize], cost_units(h.distance_m)))
                        .collect::<Vec<_>>()
                };
                if complete_all {
                    let mut c = Candidates {
                        arcs: near(index.within(p, max_d)),
                        complete: true,
                    };
                    c.sort();
                    return c;
                }
                let mut c = Candidates {
                    arcs: near(index.k_nearest(p, tuning.nearest)),
                    complete: false,
                };
                if tuning.priced > 0 {
                    let keys: Vec<(i64, u32)> = (0..arcs.sink.len() as u32)
                        .filter_map(|j| Some((arcs.bound(i, j)? + offset[j as usize], j)))
                        .collect();
                    let priced = k_cheapest(keys, tuning.priced, |j| {
                        Some(arcs.cost(i, j)? + offset[j as usize])
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

/// Each patient's geodesic distance to the GP left (NaN when unlisted).
pub(super) fn before(dataset: &Dataset, setup: &Setup) -> Vec<(f64, f64)> {
    let facilities = dataset.facilities();
    let locs = dataset.residents().locations();
    setup
        .patients
        .iter()
        .map(|p| {
            let d = if p.from == NONE {
                f64::NAN
            } else {
                geodesic_distance_m(locs[p.row], facilities.get(p.from).location)
            };
            (d, f64::NAN)
        })
        .collect()
}

/// Sink potentials of a coarse version of the problem: patients pooled in
/// cells of about 400 m, each cell at its members' mean position, solved
/// exactly with every arc. Only used to choose first candidates.
fn aggregate_prices<E: Executor>(
    patients: &[Patient],
    locs: &[LonLat],
    arcs: &GeodesicArcs,
    caps: &[u64],
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
    let reach = arcs.max_d + 2.0 * CELL_DEG * 111_000.0;
    let cells: Vec<(f64, f64, u64, u32)> = cells.into_values().collect();
    let cell_arcs: Vec<Vec<(u32, i64)>> = exec
        .map(chunk_ranges(cells.len(), 64), |r| {
            r.map(|i| {
                let (lon, lat, _, rows) = cells[i];
                let c = LonLat::new(lon / rows as f64, lat / rows as f64);
                let nc = unit_normal(c);
                (0..arcs.sink.len())
                    .filter(|&j| {
                        lower_bound_from_chord_m(chord(&nc, &arcs.sink_normal[j])) <= reach
                    })
                    .filter_map(|j| {
                        let d = geodesic_distance_m(c, arcs.sink[j]);
                        (d <= reach).then_some((j as u32, cost_units(d)))
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
    for (cell, arcs) in cells.iter().zip(cell_arcs) {
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
