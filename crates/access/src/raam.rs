//! The Rational Agent Access Model (Saxon & Snow 2020) solved to
//! equilibrium.
//!
//! Residents choose facilities to minimise travel plus congestion,
//! `t_ij / τ + D_j / (ρ S_j)`, where `D_j` is the demand the facility ends
//! up with. The equilibrium is the optimum of the convex program
//!
//! ```text
//! min Σ_ij x_ij t_ij/τ + Σ_j D_j² / (2 ρ S_j)   s.t.  Σ_j x_ij = P_i,  x ≥ 0,  D_j = Σ_i x_ij
//! ```
//!
//! whose dual, in the facilities' congestion prices `p_j`, is
//! `g(p) = Σ_i P_i min_j (t_ij/τ + p_j) − Σ_j ρ S_j p_j² / 2`.
//!
//! The objective is a strictly convex function of the demands plus a
//! linear one, over a product of simplices (one per resident), so exact
//! block-coordinate descent converges to the optimum, linearly (Luo &
//! Tseng 1992): each resident in turn re-splits its weight given everyone
//! else's, by water-filling (`x_j = ρ S_j max(0, λ − b_j)` with `b_j` the
//! facility's marginal cost without this resident), an exact sort over the
//! facilities in its reach. The answer is certified by the duality gap:
//! `x` is feasible, `p = D/(ρS)` a dual point, and `(primal − dual) /
//! primal` is the residual reported, 0 at the exact equilibrium. PySAL's
//! `raam` instead runs 150 cycles of whole-person moves.

use crate::kernel::{Kernel, Sum};

/// RAAM parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RaamParams {
    /// Travel cost that weighs as much as one unit of congestion (the
    /// metric's unit; PySAL's default is 60 minutes).
    pub tau: f64,
    /// Demand per unit of supply that counts as one unit of congestion;
    /// `None`: total demand over total supply (PySAL's default).
    pub rho: Option<f64>,
    /// Stop when the relative duality gap is at most this.
    pub tolerance: f64,
    /// At most this many passes over the residents.
    pub max_passes: usize,
}

impl Default for RaamParams {
    fn default() -> Self {
        RaamParams {
            tau: 3600.0,
            rho: None,
            tolerance: 1e-10,
            max_passes: 200,
        }
    }
}

/// The equilibrium.
#[derive(Debug, Clone, PartialEq)]
pub struct Raam {
    /// Each row's equilibrium cost `min_j t_ij/τ + D_j/(ρ S_j)` (lower is
    /// better access); NaN for rows with nothing in reach.
    pub cost: Vec<f64>,
    /// Demand each facility carries at equilibrium.
    pub facility_demand: Vec<f64>,
    /// ρ used.
    pub rho: f64,
    /// Relative duality gap `(primal − dual) / primal` of the answer: a
    /// certificate, 0 at the exact equilibrium.
    pub residual: f64,
    /// Passes over the residents.
    pub iterations: u32,
}

/// Solves RAAM on a kernel of costs (`cost.row(i)`: facilities in reach
/// of row `i` and their costs), demand per row, supply per column.
pub fn raam(cost: &Kernel, demand: &[f64], supply: &[f64], params: RaamParams) -> Raam {
    let n = cost.rows();
    let total_p: f64 = crate::kernel::sum(demand.iter().copied());
    let total_s: f64 = crate::kernel::sum(supply.iter().copied().filter(|&s| s > 0.0));
    let rho = params.rho.unwrap_or(if total_s > 0.0 {
        total_p / total_s
    } else {
        1.0
    });
    // Facilities with supply, numbered densely.
    let mut dense = vec![u32::MAX; cost.cols()];
    let mut kappa = Vec::new();
    let mut orig = Vec::new();
    for (j, &s) in supply.iter().enumerate() {
        if s > 0.0 {
            dense[j] = kappa.len() as u32;
            kappa.push(rho * s);
            orig.push(j);
        }
    }
    let m = kappa.len();
    // Rows that take part: demand > 0 and something with supply in reach.
    let a = Kernel::from_rows(
        m,
        (0..n).map(|i| {
            let (c, v) = cost.row(i);
            let keep = demand[i] > 0.0;
            let dense = &dense;
            c.iter()
                .zip(v)
                .filter(move |(&j, _)| keep && dense[j as usize] != u32::MAX)
                .map(|(&j, &x)| (dense[j as usize], x / params.tau))
                .collect::<Vec<_>>()
        }),
    );
    // Everyone starts at their nearest facility.
    let mut x = vec![0.0; a.nnz()];
    let mut d = vec![0.0; m];
    for (i, &p_i) in demand.iter().enumerate().take(n) {
        let (c, v) = a.row(i);
        if let Some(k) = argmin(v) {
            x[a.row_range(i).start + k] = p_i;
            d[c[k] as usize] += p_i;
        }
    }
    let mut iterations = 0;
    let mut best: Option<(f64, Vec<f64>)> = None;
    let mut order: Vec<(f64, f64, usize)> = Vec::new();
    for pass in 0..params.max_passes {
        for i in 0..n {
            let (c, v) = a.row(i);
            if c.len() < 2 {
                continue;
            }
            let xi = &mut x[a.row_range(i)];
            // Marginal cost of each facility without this resident.
            order.clear();
            for (k, (&j, &t)) in c.iter().zip(v).enumerate() {
                let j = j as usize;
                order.push((t + (d[j] - xi[k]) / kappa[j], kappa[j], k));
            }
            order.sort_unstable_by(|p, q| p.0.total_cmp(&q.0));
            // Water level λ: Σ κ_j (λ − b_j)⁺ = P.
            let p_i = demand[i];
            let (mut ksum, mut kb) = (0.0, 0.0);
            let mut level = order[0].0;
            for (idx, &(b, k, _)) in order.iter().enumerate() {
                ksum += k;
                kb += k * b;
                level = (p_i + kb) / ksum;
                if idx + 1 == order.len() || level <= order[idx + 1].0 {
                    break;
                }
            }
            for &(b, k, slot) in &order {
                let new = if level > b { k * (level - b) } else { 0.0 };
                let j = c[slot] as usize;
                d[j] += new - xi[slot];
                xi[slot] = new;
            }
        }
        iterations = pass + 1;
        if pass % 5 == 4 || pass + 1 == params.max_passes {
            // Recompute the demands exactly (drift from the updates).
            let (residual, exact_d) = certificate(&a, demand, &kappa, &x);
            d = exact_d;
            if std::env::var_os("BACINO_RAAM_TRACE").is_some() {
                eprintln!("raam: pass {iterations} residual {residual:e}");
            }
            if best.as_ref().is_none_or(|b| residual < b.0) {
                best = Some((residual, d.clone()));
            }
            if residual <= params.tolerance {
                break;
            }
        }
    }
    let (residual, d) = best.unwrap_or((0.0, d));
    let q: Vec<f64> = d.iter().zip(&kappa).map(|(d, k)| d / k).collect();
    let costs = (0..n)
        .map(|i| {
            let (c, v) = a.row(i);
            c.iter()
                .zip(v)
                .map(|(&j, &t)| t + q[j as usize])
                .fold(f64::NAN, f64::min)
        })
        .collect();
    let mut facility_demand = vec![0.0; cost.cols()];
    for (k, &j) in orig.iter().enumerate() {
        facility_demand[j] = d[k];
    }
    Raam {
        cost: costs,
        facility_demand,
        rho,
        residual,
        iterations: iterations as u32,
    }
}

fn argmin(v: &[f64]) -> Option<usize> {
    (0..v.len()).min_by(|&x, &y| v[x].total_cmp(&v[y]))
}

/// The relative duality gap of the split `x` (and the demands it gives):
/// primal `Σ x t/τ + Σ D²/2κ`, dual `g(D/κ)`.
fn certificate(a: &Kernel, demand: &[f64], kappa: &[f64], x: &[f64]) -> (f64, Vec<f64>) {
    let m = kappa.len();
    let mut d = vec![Sum::default(); m];
    let mut primal = Sum::default();
    for i in 0..a.rows() {
        let (c, v) = a.row(i);
        for ((&j, &t), &xij) in c.iter().zip(v).zip(&x[a.row_range(i)]) {
            d[j as usize].add(xij);
            primal.add(xij * t);
        }
    }
    let d: Vec<f64> = d.into_iter().map(Sum::value).collect();
    let mut dual = Sum::default();
    for (&dj, &k) in d.iter().zip(kappa) {
        primal.add(dj * dj / (2.0 * k));
        dual.add(-dj * dj / (2.0 * k));
    }
    for (i, &p_i) in demand.iter().enumerate().take(a.rows()) {
        let (c, v) = a.row(i);
        if c.is_empty() {
            continue;
        }
        let lo = c
            .iter()
            .zip(v)
            .map(|(&j, &t)| t + d[j as usize] / kappa[j as usize])
            .fold(f64::INFINITY, f64::min);
        dual.add(p_i * lo);
    }
    let (p, g) = (primal.value(), dual.value());
    let r = if p.abs() > 0.0 {
        ((p - g) / p.abs()).max(0.0)
    } else {
        0.0
    };
    (r, d)
}
