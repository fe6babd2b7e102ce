//! Resident-level p-median instances with truncated rows.
//!
//! One full row per resident would list every candidate: 925 k residents
//! × 600 GPs is 555 M pairs, 6.7 GB. Each row instead lists the sites
//! within a reach of its own, and every site it leaves out costs more
//! than that reach ([`Instance::truncated`]): the Lagrangian bound stays a
//! bound (a multiplier is held at or below `w · reach`), and a solution is
//! still evaluated exactly (a left-out pair's geodesic is computed when a
//! resident's open sites all lie beyond its row).
//!
//! The reach decides how good the bound can get. In the linear relaxation
//! a resident's multiplier settles between its cost to the nearest and to
//! the second nearest open site; a row that reaches past the second
//! nearest open site leaves it free. So:
//!
//! 1. the residents are gathered into cells of about [`CELL_M`] metres
//!    (at their weighted centre); the cells' p-median (its search stopped
//!    at [`COARSE_GAP`] or [`COARSE_TIME`]) gives a first solution `S0`,
//!    and its multipliers, moved by each resident's own cost to `S0`,
//!    start the residents' bound;
//! 2. each resident's row keeps every site within `max(its
//!    [`MIN_ROW`]-th nearest, MARGIN × its geodesic to the second nearest
//!    site of S0)`.
//!
//! Where the optimum's sites differ from `S0` the reach may hold a
//! multiplier down and the bound is weaker: the answer's gap says by how
//! much, never less than it is.

use std::sync::Arc;

use bacino_core::{geodesic_distance_m, Executor, Facilities, FacilityIdx, FacilityIndex, LonLat};

use crate::{pmedian_with_multipliers, FarCost, Instance, PmedianParams, SitingError};

/// The side of the cells the first solution is found on, metres.
pub const CELL_M: f64 = 500.0;
/// Sites every row keeps at least.
pub const MIN_ROW: usize = 4;
/// The reach, as a multiple of the cost to the second nearest site of
/// the first solution.
pub const MARGIN: f64 = 1.25;
/// The cells' search stops at this gap...
pub const COARSE_GAP: f64 = 1e-4;
/// ...or after this long (or a quarter of the run's time limit).
pub const COARSE_TIME: std::time::Duration = std::time::Duration::from_secs(10);

/// Geodesic metres from demand points to sites.
struct GeodesicFar {
    at: Vec<LonLat>,
    site: Vec<LonLat>,
}

impl FarCost for GeodesicFar {
    fn cost(&self, demand: usize, site: u32) -> f64 {
        geodesic_distance_m(self.at[demand], self.site[site as usize])
    }
}

/// A truncated instance and where to start its search.
pub struct Truncated {
    /// The instance.
    pub instance: Instance,
    /// New sites of the first solution.
    pub start: Vec<u32>,
    /// Multipliers to start the bound from.
    pub multipliers: Vec<f64>,
}

/// The truncated p-median instance of demand points `at` (weights
/// `weight`) and the sites `columns` under the geodesic metric, with the
/// first solution and multipliers found on the cells.
pub fn geodesic_pmedian_instance<E: Executor>(
    facilities: &Facilities,
    at: &[LonLat],
    weight: &[f64],
    columns: &[FacilityIdx],
    params: &PmedianParams,
    exec: &E,
) -> Result<Truncated, SitingError> {
    let m = columns.len();
    let index = FacilityIndex::new(facilities, columns);
    let mut column = vec![u32::MAX; facilities.len()];
    for (k, &f) in columns.iter().enumerate() {
        column[f as usize] = k as u32;
    }
    let sites = far_sites(facilities, columns);

    // 1. A first solution, and multipliers, on the residents gathered
    //    into cells.
    let cell = cells(at, weight);
    let dense: Vec<Vec<(u32, f64)>> = exec.map(cell.at.clone(), |c| {
        sites
            .iter()
            .enumerate()
            .map(|(j, &s)| (j as u32, geodesic_distance_m(c, s)))
            .collect()
    });
    let coarse = Instance::from_rows(m, cell.weight.clone(), dense);
    let mut prm = params.clone();
    prm.gap = prm.gap.max(COARSE_GAP);
    // A quarter of the run's time at most.
    prm.time_limit = Some(
        params
            .time_limit
            .map_or(COARSE_TIME, |t| (t / 4).min(COARSE_TIME)),
    );
    let (sol, cell_lam) = pmedian_with_multipliers(&coarse, &prm)?;
    let s0 = sol.open;
    let mut open = vec![false; m];
    for &j in s0.iter().chain(&params.existing) {
        open[j as usize] = true;
    }
    let list: Vec<u32> = (0..m as u32).filter(|&j| open[j as usize]).collect();
    // A cell's multiplier per unit weight, less its cost to S0.
    let cell_rest: Vec<f64> = (0..coarse.demand())
        .map(|g| {
            let d1 = coarse.nearest_open(g, &open, &list).map_or(0.0, |x| x.1);
            cell_lam.get(g).map_or(0.0, |l| l / cell.weight[g]) - d1
        })
        .collect();
    drop(coarse);

    // 2. Every site within the reach of each resident; each resident's
    //    multiplier is its cell's, moved by its own cost to S0.
    let open_members: Vec<FacilityIdx> = list.iter().map(|&j| columns[j as usize]).collect();
    let open_index = FacilityIndex::new(facilities, &open_members);
    let near: Vec<(f64, f64)> = exec.map(at.to_vec(), |p| {
        let near = index.k_nearest(p, MIN_ROW + 1);
        let floor = near.get(MIN_ROW).map_or(f64::INFINITY, |n| n.distance_m);
        let two = open_index.k_nearest(p, 2);
        let d1 = two.first().map_or(0.0, |n| n.distance_m);
        // With a single open site there is no second: keep the nearest.
        let reach = match two.get(1) {
            Some(n) => floor.max(MARGIN * n.distance_m),
            None => floor,
        };
        (reach, d1)
    });
    let multipliers: Vec<f64> = (0..at.len())
        .map(|i| match cell.of[i] {
            u32::MAX => 0.0,
            g => weight[i] * (cell_rest[g as usize] + near[i].1).max(0.0),
        })
        .collect();
    let reach = near.iter().map(|x| x.0);
    let items: Vec<(LonLat, f64)> = at.iter().copied().zip(reach).collect();
    let rows: Vec<(Vec<(u32, f64)>, f64)> = exec.map(items, |(p, r)| {
        if !r.is_finite() {
            // Every site is listed (there are at most MIN_ROW).
            let row = index
                .k_nearest(p, m)
                .iter()
                .map(|n| (column[n.facility as usize], n.distance_m))
                .collect();
            return (row, f64::INFINITY);
        }
        let mut row = Vec::new();
        index.for_each_within(p, r, |f, d| row.push((column[f as usize], d)));
        (row, r)
    });
    let far: Arc<dyn FarCost> = Arc::new(GeodesicFar {
        at: at.to_vec(),
        site: sites,
    });
    Ok(Truncated {
        instance: Instance::truncated(m, weight.to_vec(), rows, far),
        start: s0,
        multipliers,
    })
}

fn far_sites(facilities: &Facilities, columns: &[FacilityIdx]) -> Vec<LonLat> {
    columns
        .iter()
        .map(|&f| facilities.get(f).location)
        .collect()
}

/// Residents gathered into cells.
struct Cells {
    /// Each occupied cell's weighted centre.
    at: Vec<LonLat>,
    weight: Vec<f64>,
    /// Each resident's cell (`u32::MAX` for weight 0).
    of: Vec<u32>,
}

/// The residents gathered into cells of about [`CELL_M`].
fn cells(at: &[LonLat], weight: &[f64]) -> Cells {
    let lat0 = at.iter().map(|p| p.lat).sum::<f64>() / at.len().max(1) as f64;
    let dlat = CELL_M / 111_000.0;
    let dlon = dlat / lat0.to_radians().cos().max(0.1);
    let key = |p: &LonLat| ((p.lon / dlon).floor() as i64, (p.lat / dlat).floor() as i64);
    let mut keys: Vec<(i64, i64)> = at
        .iter()
        .zip(weight)
        .filter(|x| *x.1 > 0.0)
        .map(|(p, _)| key(p))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let n = keys.len();
    let (mut w, mut x, mut y) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let mut of = vec![u32::MAX; at.len()];
    for (i, (p, &wi)) in at.iter().zip(weight).enumerate() {
        if wi <= 0.0 {
            continue;
        }
        let g = keys.binary_search(&key(p)).expect("a cell of its own");
        of[i] = g as u32;
        w[g] += wi;
        x[g] += wi * p.lon;
        y[g] += wi * p.lat;
    }
    Cells {
        at: (0..n)
            .map(|g| LonLat::new(x[g] / w[g], y[g] / w[g]))
            .collect(),
        weight: w,
        of,
    }
}
