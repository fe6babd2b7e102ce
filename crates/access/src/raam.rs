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
//! `g(p) = Σ_i P_i min_j (t_ij/τ + p_j) − Σ_j ρ S_j p_j² / 2`: concave,
//! strongly so, but not smooth. We maximise its entropic smoothing
//! (`min` replaced by a soft minimum of temperature ε) by Newton's method
//! on the facilities' prices (one dense system of facilities × facilities
//! per step), and cool ε tenfold until the *exact* duality gap certifies
//! the answer: the soft assignment is a feasible `x`, `p = D/(ρS)` a dual
//! point, and `(primal − dual) / primal` is the residual reported. PySAL's
//! `raam` is a fixed 150-cycle heuristic instead.

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
}

impl Default for RaamParams {
    fn default() -> Self {
        RaamParams {
            tau: 3600.0,
            rho: None,
            tolerance: 1e-10,
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
    /// Newton steps taken.
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
    let state = Solver {
        a: &a,
        demand,
        kappa: &kappa,
    };
    // Start from everyone at their nearest facility.
    let mut d0 = vec![0.0; m];
    for i in 0..n {
        let (c, v) = a.row(i);
        if let Some(k) = argmin(v) {
            d0[c[k] as usize] += demand[i];
        }
    }
    let mut p: Vec<f64> = d0.iter().zip(&kappa).map(|(d, k)| d / k).collect();
    let mut eps = 1.0;
    let mut iterations = 0;
    let mut residual;
    let mut best: Option<(f64, Vec<f64>, Vec<f64>)> = None;
    loop {
        // Newton on the smoothed dual's stationarity, D(p) = ρ S p, at this
        // temperature. The step is judged by the size of that residual,
        // not by the objective: at small ε the objective's changes fall
        // below floating-point resolution while the residual (a sum of
        // probabilities) stays exact.
        let target = 1e-11 * total_p / m.max(1) as f64;
        for _ in 0..60 {
            let (grad, hess) = state.derivatives(&p, eps);
            let size = norm2(&grad);
            if grad.iter().all(|g| g.abs() <= target) {
                break;
            }
            let Some(step) = cholesky_solve(hess, &grad, m) else {
                break;
            };
            iterations += 1;
            let mut t = 1.0;
            let mut moved = false;
            while t >= 1e-10 {
                let q: Vec<f64> = p.iter().zip(&step).map(|(p, s)| p + t * s).collect();
                if norm2(&state.gradient(&q, eps)) <= (1.0 - 1e-4 * t) * size {
                    p = q;
                    moved = true;
                    break;
                }
                t *= 0.5;
            }
            if !moved {
                break;
            }
        }
        let (primal, dual, d, costs) = state.certificate(&p, eps);
        residual = if primal.abs() > 0.0 {
            ((primal - dual) / primal.abs()).max(0.0)
        } else {
            0.0
        };
        if std::env::var_os("BACINO_RAAM_TRACE").is_some() {
            eprintln!("raam: eps {eps:e} residual {residual:e} iterations {iterations}");
        }
        let worse = best.as_ref().is_some_and(|b| residual > 2.0 * b.0);
        if best.as_ref().is_none_or(|b| residual < b.0) {
            best = Some((residual, d, costs));
        }
        // Below some temperature the Newton systems lose precision and the
        // gap grows again: stop at the first rise.
        if residual <= params.tolerance || worse || eps < 1e-13 || m == 0 {
            break;
        }
        eps *= 0.1;
    }
    let (residual, d, costs) = best.expect("one pass at least");
    let mut facility_demand = vec![0.0; cost.cols()];
    for (k, &j) in orig.iter().enumerate() {
        facility_demand[j] = d[k];
    }
    Raam {
        cost: costs,
        facility_demand,
        rho,
        residual,
        iterations,
    }
}

fn norm2(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn argmin(v: &[f64]) -> Option<usize> {
    (0..v.len()).min_by(|&x, &y| v[x].total_cmp(&v[y]))
}

struct Solver<'a> {
    a: &'a Kernel,
    demand: &'a [f64],
    kappa: &'a [f64],
}

impl Solver<'_> {
    /// Soft assignment of row `i` at prices `p`: writes the probabilities
    /// into `pi` and returns the soft minimum.
    fn soft(&self, i: usize, p: &[f64], eps: f64, pi: &mut Vec<f64>) -> Option<f64> {
        let (c, v) = self.a.row(i);
        pi.clear();
        if c.is_empty() {
            return None;
        }
        let mut lo = f64::INFINITY;
        for (&j, &x) in c.iter().zip(v) {
            lo = lo.min(x + p[j as usize]);
        }
        let mut z = 0.0;
        for (&j, &x) in c.iter().zip(v) {
            let e = (-(x + p[j as usize] - lo) / eps).exp();
            pi.push(e);
            z += e;
        }
        for e in pi.iter_mut() {
            *e /= z;
        }
        Some(lo - eps * z.ln())
    }

    /// The gradient of the smoothed dual, `D(p) − ρ S p`.
    fn gradient(&self, p: &[f64], eps: f64) -> Vec<f64> {
        let mut d = vec![Sum::default(); self.kappa.len()];
        let mut pi = Vec::new();
        for i in 0..self.a.rows() {
            if self.soft(i, p, eps, &mut pi).is_none() {
                continue;
            }
            let w = self.demand[i];
            for (&j, &pj) in self.a.row(i).0.iter().zip(&pi) {
                d[j as usize].add(w * pj);
            }
        }
        d.into_iter()
            .zip(self.kappa.iter().zip(p))
            .map(|(d, (k, q))| d.value() - k * q)
            .collect()
    }

    /// The gradient and the negated Hessian (dense, row-major) of the
    /// smoothed dual.
    fn derivatives(&self, p: &[f64], eps: f64) -> (Vec<f64>, Vec<f64>) {
        let m = self.kappa.len();
        let mut d = vec![Sum::default(); m];
        let mut h = vec![0.0; m * m];
        let mut pi = Vec::new();
        for i in 0..self.a.rows() {
            if self.soft(i, p, eps, &mut pi).is_none() {
                continue;
            }
            let (c, _) = self.a.row(i);
            let w = self.demand[i];
            let f = w / eps;
            for (x, (&j, &pj)) in c.iter().zip(&pi).enumerate() {
                if pj == 0.0 {
                    continue;
                }
                d[j as usize].add(w * pj);
                let j = j as usize;
                h[j * m + j] += f * pj;
                for (&k, &pk) in c.iter().zip(&pi).skip(x) {
                    if pk == 0.0 {
                        continue;
                    }
                    let k = k as usize;
                    let v = f * pj * pk;
                    h[j * m + k] -= v;
                    if k != j {
                        h[k * m + j] -= v;
                    }
                }
            }
        }
        for j in 0..m {
            h[j * m + j] += self.kappa[j];
        }
        let grad = d
            .into_iter()
            .zip(self.kappa.iter().zip(p))
            .map(|(d, (k, q))| d.value() - k * q)
            .collect();
        (grad, h)
    }

    /// The exact (unsmoothed) certificate at the soft assignment of `p`:
    /// primal objective, dual objective at `D/(ρS)`, the demands, and each
    /// row's equilibrium cost at those prices.
    fn certificate(&self, p: &[f64], eps: f64) -> (f64, f64, Vec<f64>, Vec<f64>) {
        let m = self.kappa.len();
        let mut d = vec![Sum::default(); m];
        let mut travel = Sum::default();
        let mut pi = Vec::new();
        for i in 0..self.a.rows() {
            if self.soft(i, p, eps, &mut pi).is_none() {
                continue;
            }
            let (c, v) = self.a.row(i);
            let w = self.demand[i];
            for ((&j, &x), &pj) in c.iter().zip(v).zip(&pi) {
                d[j as usize].add(w * pj);
                travel.add(w * pj * x);
            }
        }
        let d: Vec<f64> = d.into_iter().map(Sum::value).collect();
        let q: Vec<f64> = d.iter().zip(self.kappa).map(|(d, k)| d / k).collect();
        let mut primal = travel;
        let mut dual = Sum::default();
        for ((&dj, &k), &qj) in d.iter().zip(self.kappa).zip(&q) {
            primal.add(dj * dj / (2.0 * k));
            dual.add(-0.5 * k * qj * qj);
        }
        let mut costs = vec![f64::NAN; self.a.rows()];
        for (i, out) in costs.iter_mut().enumerate() {
            let (c, v) = self.a.row(i);
            if c.is_empty() {
                continue;
            }
            let lo = c
                .iter()
                .zip(v)
                .map(|(&j, &x)| x + q[j as usize])
                .fold(f64::INFINITY, f64::min);
            *out = lo;
            dual.add(self.demand[i] * lo);
        }
        (primal.value(), dual.value(), d, costs)
    }
}

/// Solves `H x = b` for a symmetric positive-definite `H` (row-major,
/// `m × m`) by Cholesky; `None` if it is not positive definite.
fn cholesky_solve(mut h: Vec<f64>, b: &[f64], m: usize) -> Option<Vec<f64>> {
    for j in 0..m {
        let mut s = h[j * m + j];
        for k in 0..j {
            s -= h[j * m + k] * h[j * m + k];
        }
        if !(s > 0.0) {
            return None;
        }
        let l = s.sqrt();
        h[j * m + j] = l;
        for i in j + 1..m {
            let mut s = h[i * m + j];
            for k in 0..j {
                s -= h[i * m + k] * h[j * m + k];
            }
            h[i * m + j] = s / l;
        }
    }
    let mut y = b.to_vec();
    for i in 0..m {
        for k in 0..i {
            y[i] -= h[i * m + k] * y[k];
        }
        y[i] /= h[i * m + i];
    }
    for i in (0..m).rev() {
        for k in i + 1..m {
            y[i] -= h[k * m + i] * y[k];
        }
        y[i] /= h[i * m + i];
    }
    Some(y)
}
