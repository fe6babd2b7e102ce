//! RAAM's exact finish: when path following stops short of its tolerance,
//! the convex program restricted to the pairs near a tie is solved by an
//! interior-point QP solver (Clarabel), and the answer kept only if its
//! certificate over *every* pair is better.
//!
//! At the prices `p` of the solver's best dual point, each row's reduced
//! costs are `c_ij − min_j c_ij` (`c = a + p`). A row whose only pair
//! within a window `w` of its minimum is one facility is *settled*: all its
//! weight goes there. The others keep their pairs within `w`, and
//!
//! ```text
//! min Σ_e a_e x_e + Σ_j (F_j + D'_j)² / (2κ_j)   s.t.  Σ_{e∈i} x_e = P_i,  Σ_{e→j} x_e = D'_j,  x ≥ 0
//! ```
//!
//! (`F` the settled weight per facility) is handed to Clarabel as it
//! stands: `½ D'ᵀ diag(1/κ) D' + Σ_j (F_j/κ_j) D'_j + aᵀx`. Its `x` is
//! clipped at 0 and each row rescaled to sum to `P_i`, so the split is
//! exactly feasible; the gap of that split and the prices `D/κ` it
//! implies, over the whole kernel, is then computed as in [`crate::raam`],
//! a sum of non-negative terms. Clarabel's own status is not trusted: only
//! this certificate decides. Windows widen tenfold until the certificate
//! meets the tolerance, up to the whole kernel, while the program holds at
//! most [`MAX_PAIRS`] pairs.

use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettings, DefaultSolver, IPSolver, NonnegativeConeT, SupportedConeT, ZeroConeT,
};

use crate::kernel::{Kernel, Sum};

/// Windows tried, relative to the scale of the costs; the last one keeps
/// every pair. A gap `γF` leaves the prices uncertain by up to about
/// `√(2γF/κ)`, which at a stall (γ ≈ 1e-5) is a few hundredths of the
/// scale: narrower windows would settle rows on the wrong facility.
const WINDOWS: [f64; 3] = [1e-2, 1e-1, f64::INFINITY];

/// Pairs the restricted program may hold (Clarabel factors a sparse KKT
/// system of about three entries a pair).
const MAX_PAIRS: usize = 1_000_000;

/// A certified split: its demands per facility and relative gap.
pub(crate) struct Finish {
    pub d: Vec<f64>,
    pub residual: f64,
}

/// The restricted programs around the prices `p`, widest window last; the
/// first whose certificate meets `tolerance`, else the best that beats
/// `residual`, else `None`.
pub(crate) fn finish(
    a: &Kernel,
    demand: &[f64],
    kappa: &[f64],
    p: &[f64],
    scale: f64,
    residual: f64,
    tolerance: f64,
) -> Option<Finish> {
    let mut best: Option<Finish> = None;
    for w in WINDOWS {
        let Some(f) = restricted(a, demand, kappa, p, w * scale) else {
            continue;
        };
        if std::env::var_os("BACINO_RAAM_TRACE").is_some() {
            eprintln!("raam: finish window {w:.0e} residual {:.3e}", f.residual);
        }
        let bound = best.as_ref().map_or(residual, |b| b.residual);
        if f.residual < bound {
            let done = f.residual <= tolerance;
            best = Some(f);
            if done {
                break;
            }
        }
    }
    best
}

/// One restricted program at window `w` (absolute), solved and certified;
/// `None` when it holds too many pairs or Clarabel cannot be set up.
fn restricted(a: &Kernel, demand: &[f64], kappa: &[f64], p: &[f64], w: f64) -> Option<Finish> {
    let m = kappa.len();
    // Settled weight per facility (and the settled rows' one pair), and
    // the free rows' pairs.
    let mut settled = vec![Sum::default(); m];
    let mut one: Vec<(usize, u32, f64)> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut pairs: Vec<(u32, f64)> = Vec::new();
    let mut ends: Vec<usize> = Vec::new();
    for (i, &weight) in demand.iter().enumerate().take(a.rows()) {
        let (c, v) = a.row(i);
        if c.is_empty() || weight <= 0.0 {
            continue;
        }
        let lo = lowest_at(a, i, p);
        let start = pairs.len();
        pairs.extend(
            c.iter()
                .zip(v)
                .filter(|(&j, &t)| t + p[j as usize] - lo <= w)
                .map(|(&j, &t)| (j, t)),
        );
        if pairs.len() - start == 1 {
            let (j, t) = pairs[start];
            settled[j as usize].add(weight);
            one.push((i, j, t));
            pairs.truncate(start);
        } else {
            free.push(i);
            ends.push(pairs.len());
        }
        if pairs.len() > MAX_PAIRS {
            return None;
        }
    }
    let settled: Vec<f64> = settled.into_iter().map(Sum::value).collect();
    let x = if free.is_empty() {
        Vec::new()
    } else {
        qp(&pairs, &ends, &free, demand, kappa, &settled)?
    };
    // The whole split: settled rows at their one facility, free rows as
    // the program splits them (clipped, rescaled to their weight).
    let mut dsum = vec![Sum::default(); m];
    for (j, &f) in settled.iter().enumerate() {
        dsum[j].add(f);
    }
    let mut split: Vec<f64> = x.iter().map(|&x| x.max(0.0)).collect();
    let mut start = 0;
    for (k, &i) in free.iter().enumerate() {
        let row = &mut split[start..ends[k]];
        let total: f64 = row.iter().sum();
        if total <= 0.0 {
            return None;
        }
        for (x, &(j, _)) in row.iter_mut().zip(&pairs[start..ends[k]]) {
            *x *= demand[i] / total;
            dsum[j as usize].add(*x);
        }
        start = ends[k];
    }
    let d: Vec<f64> = dsum.into_iter().map(Sum::value).collect();
    // The certificate at q = d/κ, where the balance term vanishes: each
    // row's weight times its reduced cost, over the row's every pair.
    let q: Vec<f64> = d.iter().zip(kappa).map(|(d, k)| d / k).collect();
    let (mut gap, mut travel) = (Sum::default(), Sum::default());
    for &(i, j, t) in &one {
        gap.add(demand[i] * (t + q[j as usize] - lowest_at(a, i, &q)));
        travel.add(demand[i] * t);
    }
    let mut start = 0;
    for (k, &i) in free.iter().enumerate() {
        let lo = lowest_at(a, i, &q);
        for (&x, &(j, t)) in split[start..ends[k]].iter().zip(&pairs[start..ends[k]]) {
            gap.add(x * (t + q[j as usize] - lo));
            travel.add(x * t);
        }
        start = ends[k];
    }
    let congestion = crate::kernel::sum(d.iter().zip(kappa).map(|(d, k)| d * d / (2.0 * k)));
    let primal = travel.value() + congestion;
    Some(Finish {
        d,
        residual: (gap.value() / primal).max(0.0),
    })
}

/// Row `i`'s cheapest option at prices `q`.
fn lowest_at(a: &Kernel, i: usize, q: &[f64]) -> f64 {
    let (c, v) = a.row(i);
    c.iter()
        .zip(v)
        .map(|(&j, &t)| t + q[j as usize])
        .fold(f64::INFINITY, f64::min)
}

/// Clarabel on the free rows: variables `[x (pairs), D' (m)]`.
fn qp(
    pairs: &[(u32, f64)],
    ends: &[usize],
    free: &[usize],
    demand: &[f64],
    kappa: &[f64],
    settled: &[f64],
) -> Option<Vec<f64>> {
    let (n, m, k) = (pairs.len(), kappa.len(), free.len());
    // P: 1/κ on the D' block (upper triangular, diagonal).
    let p_mat = CscMatrix::new(
        n + m,
        n + m,
        (0..=n + m).map(|c| c.saturating_sub(n)).collect(),
        (n..n + m).collect(),
        kappa.iter().map(|k| 1.0 / k).collect(),
    );
    let q: Vec<f64> = pairs
        .iter()
        .map(|&(_, t)| t)
        .chain(settled.iter().zip(kappa).map(|(f, k)| f / k))
        .collect();
    // Rows of A: k row sums, m facility balances (zero cone), then n
    // rows -x ≤ 0 (non-negative cone). Built column by column.
    let mut row_of = vec![0usize; n];
    let mut start = 0;
    for (r, &e) in ends.iter().enumerate() {
        row_of[start..e].fill(r);
        start = e;
    }
    let mut colptr = Vec::with_capacity(n + m + 1);
    let mut rowval = Vec::with_capacity(3 * n + m);
    let mut nzval = Vec::with_capacity(3 * n + m);
    for (e, &(j, _)) in pairs.iter().enumerate() {
        colptr.push(rowval.len());
        rowval.extend([row_of[e], k + j as usize, k + m + e]);
        nzval.extend([1.0, 1.0, -1.0]);
    }
    for j in 0..m {
        colptr.push(rowval.len());
        rowval.push(k + j);
        nzval.push(-1.0);
    }
    colptr.push(rowval.len());
    let a_mat = CscMatrix::new(k + m + n, n + m, colptr, rowval, nzval);
    let b: Vec<f64> = free
        .iter()
        .map(|&i| demand[i])
        .chain(std::iter::repeat_n(0.0, m + n))
        .collect();
    let cones: [SupportedConeT<f64>; 2] = [ZeroConeT(k + m), NonnegativeConeT(n)];
    let settings = DefaultSettings::<f64> {
        verbose: false,
        max_iter: 200,
        tol_gap_abs: 1e-13,
        tol_gap_rel: 1e-13,
        tol_feas: 1e-13,
        ..Default::default()
    };
    let mut solver = DefaultSolver::new(&p_mat, &q, &a_mat, &b, &cones, settings).ok()?;
    solver.solve();
    let x = &solver.solution.x;
    (x.len() == n + m && x.iter().all(|v| v.is_finite())).then(|| x[..n].to_vec())
}
