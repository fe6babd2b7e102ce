//! RAAM on many rows: a warm start from a sample, and a window of prices.
//!
//! A large problem first solves the equilibrium of every eighth row, its
//! demand scaled up to the whole. Its prices `p̂` are close to the whole
//! problem's (at full scale on the Bergamo fixture, 99 % of facilities
//! within 0.3 % of the mean congestion). Each facility `j` is then given
//! a window `[lo_j, hi_j]` around `p̂_j`, and only the pairs that could be
//! a row's choice for prices in those windows are kept:
//!
//! ```text
//! keep (i, j)  ⇔  a_ij + lo_j ≤ min_k (a_ik + hi_k)
//! ```
//!
//! Every row keeps at least the facility that attains its minimum. If the
//! equilibrium `p*` of the kept pairs lies in the windows, it is the
//! equilibrium of all pairs: a pair left out has
//! `a_ij + p*_j ≥ a_ij + lo_j > min_k (a_ik + hi_k) ≥ min_k (a_ik + p*_k)`,
//! a positive reduced cost, so no row would take it; the certificate
//! (split, prices and duality gap) is then the same over all pairs. If a
//! price left its window, that window widens (at least fourfold, and to
//! twice the distance the price moved) and the kept pairs are chosen
//! again, warm from the last prices (unless they are the same pairs: then the
//! answer stands, in the wider windows; only the rows that may reach a
//! widened window are read, and compared with the kept ones before any
//! kernel is built); after [`ROUNDS`] windows every
//! pair is solved. At full scale (925,049 residents, 594 GPs, 10 km) the
//! kept pairs are 8 % of all, and the first window holds the answer.
//!
//! The sample starts the same way when it is large itself (at least half
//! `warm_rows`): from every eighth of its rows, solved over all their
//! pairs, then on its own window's pairs. At full scale the sample's
//! sample is 14,454 rows and 1.9 M pairs, the sample 115,632 rows on
//! 1.3 M pairs (where all its pairs in reach were 15.3 M), and the whole
//! 925,049 rows on 10.3 M. A sample is certified only to a looser
//! tolerance ([`SAMPLE_LOOSER`]): its prices are a start.
//!
//! The pairs are read by rows ([`Pairs`]), never all held: the sample's
//! rows whole, and every row's kept pairs, which a geodesic metric finds
//! by the chord without measuring the others
//! ([`bacino_core::ReachIndex::for_each_near`]). The window's solve
//! starts sharper than a cold one (`raam::WARM_EPS_START`). Facilities at
//! one address are merged in each program solved ([`merged`]).

use bacino_core::Executor;

use crate::kernel::Kernel;
use crate::raam::{solve, twins, Pairs, RaamParams, Solved, CHUNK};
use crate::rows::Row;

/// One row in this many makes the sample a large problem starts from
/// ([`RaamParams::warm_rows`]).
const STRIDE: usize = 8;
/// The windows' first half-width, relative to the mean congestion (the
/// mean price).
const WINDOW: f64 = 1e-2;
/// A sample's answer is certified to this many times the tolerance of
/// the problem it starts (at most to 1e-5): its prices are off the
/// whole's by more than that anyway (at full scale on the Bergamo fixture
/// the first Newton step from them is 470 ε long at ε = 6e-5 of the cost
/// scale), and the whole's solve, on pairs chosen with a margin, corrects
/// them.
const SAMPLE_LOOSER: f64 = 300.0;
/// Windows tried before the whole kernel is solved.
const ROUNDS: usize = 6;

/// Solves RAAM on `pairs` (rows × facilities, costs over τ), certified,
/// finished exactly when path following stops short of the tolerance;
/// from a sample and on a window of prices when it has at least
/// `params.warm_rows` rows. Returns the answer and the pairs it was
/// certified on: every row's cheapest at its prices is among them.
pub(crate) fn solve_pairs<E: Executor>(
    pairs: &dyn Pairs,
    demand: &[f64],
    kappa: &[f64],
    params: RaamParams,
    exec: &E,
) -> (Solved, Kernel) {
    let m = kappa.len();
    let trace = std::env::var_os("BACINO_RAAM_TRACE").is_some();
    let Some(centre) = sample_prices(pairs, demand, kappa, params, exec) else {
        let started = std::time::Instant::now();
        let a = gather(m, pairs.rows(), exec, |i, out| pairs.row(i, out));
        if trace {
            eprintln!(
                "raam: {} rows: every pair in reach, {}, in {:.2} s",
                pairs.rows(),
                a.nnz(),
                started.elapsed().as_secs_f64()
            );
        }
        let solved = merged(&a, demand, kappa, params, None, exec);
        return (solved, a);
    };
    let mean = centre.iter().sum::<f64>() / m as f64;
    let mut lo: Vec<f64> = centre.iter().map(|c| c - WINDOW * mean).collect();
    let mut hi: Vec<f64> = centre.iter().map(|c| c + WINDOW * mean).collect();
    let within = |lo: &[f64], hi: &[f64]| {
        let offsets = pairs.offsets(lo, hi);
        gather(m, pairs.rows(), exec, |i, out| {
            pairs.row_near(i, &offsets, out)
        })
    };
    let started = std::time::Instant::now();
    let mut kept = within(&lo, &hi);
    if trace {
        eprintln!(
            "raam: {} rows: the pairs of the first window, {}, in {:.2} s",
            pairs.rows(),
            kept.nnz(),
            started.elapsed().as_secs_f64()
        );
    }
    let mut p = centre.clone();
    let mut passes = 0;
    for round in 1..=ROUNDS {
        let started = std::time::Instant::now();
        let mut solved = merged(&kept, demand, kappa, params, Some(p), exec);
        passes += solved.passes;
        solved.passes = passes;
        solved.windows = round as u32;
        let out: Vec<usize> = (0..m)
            .filter(|&j| !(lo[j] <= solved.p[j] && solved.p[j] <= hi[j]))
            .collect();
        if trace {
            eprintln!(
                "raam: window {round}: {} pairs, {:.2} s, residual {:.3e}, {} prices \
                 outside their windows",
                kept.nnz(),
                started.elapsed().as_secs_f64(),
                solved.residual,
                out.len()
            );
        }
        if out.is_empty() {
            return (solved, kept);
        }
        let mut widened = vec![false; m];
        for j in out {
            let half = (hi[j] - lo[j]) / 2.0;
            let moved = (solved.p[j] - centre[j]).abs();
            let wider = (4.0 * half).max(2.0 * moved);
            lo[j] = centre[j] - wider;
            hi[j] = centre[j] + wider;
            widened[j] = true;
        }
        // Only the rows that may reach a widened window are read again;
        // the same pairs: the same program, whose answer now lies in
        // every window.
        let started = std::time::Instant::now();
        let wider = match pairs.rows_reaching(&widened) {
            Some(touched) => {
                let offsets = pairs.offsets(&lo, &hi);
                // Most often no touched row changes: then the kept kernel
                // stands, and its other rows need not be copied.
                if !any_row_differs(&kept, &touched, exec, |i, out| {
                    pairs.row_near(i, &offsets, out)
                }) {
                    if trace {
                        eprintln!(
                            "raam: the pairs of window {} are the same, in {:.2} s",
                            round + 1,
                            started.elapsed().as_secs_f64()
                        );
                    }
                    return (solved, kept);
                }
                gather(m, pairs.rows(), exec, |i, out| {
                    if touched[i] {
                        pairs.row_near(i, &offsets, out);
                    } else {
                        let (c, v) = kept.row(i);
                        out.col.clear();
                        out.col.extend_from_slice(c);
                        out.w.clear();
                        out.w.extend_from_slice(v);
                    }
                })
            }
            None => within(&lo, &hi),
        };
        if trace {
            eprintln!(
                "raam: the pairs of window {}, {}, in {:.2} s",
                round + 1,
                wider.nnz(),
                started.elapsed().as_secs_f64()
            );
        }
        if wider == kept {
            return (solved, kept);
        }
        kept = wider;
        p = solved.p;
    }
    let a = gather(m, pairs.rows(), exec, |i, out| pairs.row(i, out));
    let mut solved = merged(&a, demand, kappa, params, Some(p), exec);
    solved.passes += passes;
    (solved, a)
}

/// The kernel of the rows `read` gives (`rows` of them, over `cols`
/// columns), read in chunks by the executor's threads and appended in
/// order ([`Kernel::build_in_order`]).
fn gather<E: Executor>(
    cols: usize,
    rows: usize,
    exec: &E,
    read: impl Fn(usize, &mut Row) + Sync,
) -> Kernel {
    Kernel::build_in_order(cols, rows, CHUNK, exec, |part, range| {
        let mut row = Row::default();
        for i in range {
            read(i, &mut row);
            part.push_row(row.col.iter().copied().zip(row.w.iter().copied()));
        }
    })
}

/// Whether `read` gives some row flagged in `touched` other pairs than
/// `kept` holds for it (rows read in [`CHUNK`]s by the executor's threads).
fn any_row_differs<E: Executor>(
    kept: &Kernel,
    touched: &[bool],
    exec: &E,
    read: impl Fn(usize, &mut Row) + Sync,
) -> bool {
    let chunks = bacino_core::chunk_ranges(touched.len(), CHUNK);
    exec.map(chunks, |range| {
        let mut row = Row::default();
        range.filter(|&i| touched[i]).any(|i| {
            read(i, &mut row);
            let (c, v) = kept.row(i);
            row.col != c || row.w != v
        })
    })
    .into_iter()
    .any(|d| d)
}

/// [`finished`] on `a` with its twin facilities (identical columns: the
/// same address) merged into one of their summed κ: at the optimum they
/// share one price and split their demand in proportion to κ. Merged, the
/// solver does not have to resolve their exact ties. The answer is given
/// per facility of `a`; `start` too.
fn merged<E: Executor>(
    a: &Kernel,
    demand: &[f64],
    kappa: &[f64],
    params: RaamParams,
    start: Option<Vec<f64>>,
    exec: &E,
) -> Solved {
    let m = kappa.len();
    let started = std::time::Instant::now();
    let (class, classes) = twins(
        a.rows(),
        m,
        |i, push| {
            let (c, v) = a.row(i);
            for (&j, &x) in c.iter().zip(v) {
                push(j, x);
            }
        },
        exec,
    );
    if std::env::var_os("BACINO_RAAM_TRACE").is_some() {
        eprintln!(
            "raam: {} rows, {} pairs, {classes} of {m} facilities after merging twins ({:.2} s)",
            a.rows(),
            a.nnz(),
            started.elapsed().as_secs_f64()
        );
    }
    if classes == m {
        return finished(a, demand, kappa, params, start, exec);
    }
    let mut kappa_class = vec![0.0; classes];
    for (j, &c) in class.iter().enumerate() {
        kappa_class[c as usize] += kappa[j];
    }
    // The first member of each class stands for it (twins cost the same).
    let mut first = vec![u32::MAX; classes];
    for (j, &c) in class.iter().enumerate() {
        if first[c as usize] == u32::MAX {
            first[c as usize] = j as u32;
        }
    }
    let a_class = Kernel::build_in(classes, a.rows(), exec, |i, push| {
        let (c, v) = a.row(i);
        for (&j, &x) in c.iter().zip(v) {
            let k = class[j as usize];
            if first[k as usize] == j {
                push(k, x);
            }
        }
    });
    let start = start.map(|p| first.iter().map(|&j| p[j as usize]).collect());
    let s = finished(&a_class, demand, &kappa_class, params, start, exec);
    let q_class: Vec<f64> = s.d.iter().zip(&kappa_class).map(|(d, k)| d / k).collect();
    Solved {
        d: (0..m)
            .map(|j| q_class[class[j] as usize] * kappa[j])
            .collect(),
        p: (0..m).map(|j| s.p[class[j] as usize]).collect(),
        ..s
    }
}

/// [`solve`], then, short of the tolerance, the exact finish on the pairs
/// near a tie (whose certificate prices are then `D / κ`).
fn finished<E: Executor>(
    a: &Kernel,
    demand: &[f64],
    kappa: &[f64],
    params: RaamParams,
    start: Option<Vec<f64>>,
    exec: &E,
) -> Solved {
    let mut solved = solve(a, demand, kappa, params, start, exec);
    if solved.residual > params.tolerance {
        if let Some(f) = crate::raam_finish::finish(
            a,
            demand,
            kappa,
            &solved.p,
            solved.scale,
            solved.residual,
            params.tolerance,
        ) {
            solved.p = f.d.iter().zip(kappa).map(|(d, k)| d / k).collect();
            solved.d = f.d;
            solved.residual = f.residual;
        }
    }
    solved
}

/// For a problem of at least `params.warm_rows` rows: the equilibrium
/// prices of every [`STRIDE`]th row, their demand scaled up to the whole
/// demand (solved itself by [`solve_pairs`]). `None` for a smaller
/// problem, or one with no demand.
fn sample_prices<E: Executor>(
    pairs: &dyn Pairs,
    demand: &[f64],
    kappa: &[f64],
    params: RaamParams,
    exec: &E,
) -> Option<Vec<f64>> {
    let rows = pairs.rows();
    if rows < params.warm_rows.max(2 * STRIDE) || kappa.is_empty() {
        return None;
    }
    let weight = |i: usize| if demand[i] > 0.0 { demand[i] } else { 0.0 };
    let total = crate::kernel::sum((0..rows).map(weight));
    let picked: Vec<f64> = (0..rows).step_by(STRIDE).map(weight).collect();
    let f = total / crate::kernel::sum(picked.iter().copied());
    if !(f.is_finite() && f > 0.0) {
        return None;
    }
    let picked: Vec<f64> = picked.iter().map(|w| w * f).collect();
    let sample = Sampled {
        inner: pairs,
        stride: STRIDE,
    };
    let (warm, _) = solve_pairs(
        &sample,
        &picked,
        kappa,
        RaamParams {
            tolerance: (params.tolerance * SAMPLE_LOOSER).min(1e-5),
            warm_rows: params.warm_rows / 2,
            ..params
        },
        exec,
    );
    Some(warm.p)
}

/// Every `stride`th row of `inner`.
struct Sampled<'a> {
    inner: &'a dyn Pairs,
    stride: usize,
}

impl Pairs for Sampled<'_> {
    fn rows(&self) -> usize {
        self.inner.rows().div_ceil(self.stride)
    }

    fn row(&self, i: usize, out: &mut Row) {
        self.inner.row(i * self.stride, out);
    }

    fn offsets(&self, lo: &[f64], hi: &[f64]) -> crate::rows::NearWindows {
        self.inner.offsets(lo, hi)
    }

    fn row_near(&self, i: usize, offsets: &crate::rows::NearWindows, out: &mut Row) {
        self.inner.row_near(i * self.stride, offsets, out);
    }

    fn rows_reaching(&self, cols: &[bool]) -> Option<Vec<bool>> {
        let all = self.inner.rows_reaching(cols)?;
        Some(all.into_iter().step_by(self.stride).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bacino_core::Sequential;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Residents and facilities on a 20 km square, costs (km) within 6 km.
    fn instance(rows: usize, cols: usize, seed: u64) -> (Kernel, Vec<[f64; 2]>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let at = |rng: &mut ChaCha8Rng| [rng.random_range(0.0..20.0), rng.random_range(0.0..20.0)];
        let fac: Vec<[f64; 2]> = (0..cols).map(|_| at(&mut rng)).collect();
        let res: Vec<[f64; 2]> = (0..rows).map(|_| at(&mut rng)).collect();
        let a = Kernel::build_in(cols, rows, &Sequential, |i, push| {
            for (j, f) in fac.iter().enumerate() {
                let d = (res[i][0] - f[0]).hypot(res[i][1] - f[1]);
                if d <= 6.0 {
                    push(j as u32, d);
                }
            }
        });
        (a, res)
    }

    /// The windowed solve gives the equilibrium of all pairs: the same
    /// demands as the solve over every pair, certified. The sample is
    /// made unrepresentative (the rows it takes, every eighth, carry
    /// little demand in the east and much in the west), so its prices
    /// are off and windows have to widen, and be solved again, before
    /// the answer's prices fall inside them.
    #[test]
    fn windows_widen_until_the_equilibrium_of_all_pairs_is_inside() {
        let (a, res) = instance(4000, 40, 7);
        let demand: Vec<f64> = res
            .iter()
            .enumerate()
            .map(|(i, r)| match (i % STRIDE == 0, r[0] < 10.0) {
                (true, true) => 40.0,
                (true, false) => 1.0,
                (false, _) => 5.0,
            })
            .collect();
        let kappa: Vec<f64> = (0..40).map(|j| 300.0 + 40.0 * (j % 7) as f64).collect();
        let params = RaamParams {
            tolerance: 1e-10,
            warm_rows: 100,
            ..RaamParams::default()
        };
        let all = finished(&a, &demand, &kappa, params, None, &Sequential);
        let (windowed, _) = solve_pairs(&a, &demand, &kappa, params, &Sequential);
        assert!(all.residual <= 1e-10, "{}", all.residual);
        assert!(windowed.residual <= 1e-10, "{}", windowed.residual);
        assert!(windowed.windows >= 2, "windows {}", windowed.windows);
        let total: f64 = demand.iter().sum();
        for (x, y) in all.d.iter().zip(&windowed.d) {
            assert!((x - y).abs() <= 1e-6 * total, "{x} vs {y}");
        }
        // Each row's equilibrium cost over all its pairs, at the prices
        // each certified, agrees.
        let row_min = |p: &[f64], i: usize| {
            let (c, v) = a.row(i);
            c.iter()
                .zip(v)
                .map(|(&j, &x)| x + p[j as usize])
                .fold(f64::INFINITY, f64::min)
        };
        for i in 0..a.rows() {
            let (x, y) = (row_min(&windowed.p, i), row_min(&all.p, i));
            assert!(
                x.is_infinite() && y.is_infinite() || (x - y).abs() <= 1e-6,
                "row {i}"
            );
        }
    }

    /// A warm start at the answer begins sharper than the warm start's
    /// usual ε (its Newton steps are short) and takes a few passes, where
    /// a start that is not the answer climbs to a coarser ε; both are
    /// certified.
    #[test]
    fn a_warm_start_near_the_answer_begins_sharper() {
        let (a, _) = instance(3000, 30, 5);
        let demand = vec![2.0; 3000];
        let kappa: Vec<f64> = (0..30).map(|j| 150.0 + 10.0 * (j % 5) as f64).collect();
        let params = RaamParams::default();
        let cold = solve(&a, &demand, &kappa, params, None, &Sequential);
        assert!(cold.residual <= 1e-10, "{}", cold.residual);
        let again = solve(
            &a,
            &demand,
            &kappa,
            params,
            Some(cold.p.clone()),
            &Sequential,
        );
        assert!(again.residual <= 1e-10, "{}", again.residual);
        assert!(
            again.passes <= 8 && 3 * again.passes <= cold.passes,
            "{} passes warm, {} cold",
            again.passes,
            cold.passes
        );
        let level: Vec<f64> = vec![cold.p.iter().sum::<f64>() / 30.0; 30];
        let far = solve(&a, &demand, &kappa, params, Some(level), &Sequential);
        assert!(far.residual <= 1e-10, "{}", far.residual);
        assert!(far.passes > again.passes);
    }

    /// A small problem is solved over every pair, in no window.
    #[test]
    fn a_small_problem_is_solved_whole() {
        let (a, _) = instance(500, 10, 3);
        let demand = vec![1.0; 500];
        let kappa = vec![50.0; 10];
        let (s, _) = solve_pairs(&a, &demand, &kappa, RaamParams::default(), &Sequential);
        assert_eq!(s.windows, 0);
        assert!(s.residual <= 1e-10, "{}", s.residual);
    }
}
