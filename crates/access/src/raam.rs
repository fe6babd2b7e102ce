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
//! whose dual, in the facilities' congestion prices `p_j`, is the concave
//! `g(p) = Σ_i P_i min_j (a_ij + p_j) − Σ_j κ_j p_j² / 2` (`a = t/τ`,
//! `κ = ρS`). It is solved by Newton's method on the entropic smoothing
//! `g_ε`, whose `min` is `softmin_ε(c) = −ε ln Σ exp(−c/ε)`: smooth and
//! strongly concave, with gradient `D(π) − κp` and Hessian
//! `−diag κ − (1/ε) Σ_i P_i (diag π_i − π_i π_iᵀ)`, where `π_i` is the
//! resident's softmax split. Only residents within a few ε of a tie
//! couple facilities, so the Hessian is assembled over the coupled
//! facilities alone and factored within its envelope (Cholesky after a
//! reverse Cuthill–McKee ordering: a facility is coupled only to its
//! neighbours, module `cholesky`). ε shrinks fourfold
//! per level, each warm-started from the last (path following), with a
//! trust radius on the price moves and an Armijo line search, until the
//! answer is certified. Three things keep it fast at resident level:
//! facilities at one address (identical cost columns) are merged into one
//! of their summed κ, which is exact and removes their degenerate ties;
//! residents whose cheapest option leads by more than the prices can
//! move are summed once per facility, so a pass at small ε touches only
//! the residents near a boundary; and the passes stop at the tolerance.
//!
//! The certificate is exact, not a property of the smoothing: the split
//! `x_ij = P_i π_ij` is feasible, `p` is a dual point, and their gap
//!
//! ```text
//! F(x) − g(p) = Σ_i P_i Σ_j π_ij (c_ij − min_j c_ij) + Σ_j (D_j − κ_j p_j)² / (2 κ_j),   c = a + p
//! ```
//!
//! is a sum of non-negative terms, computed as such (no cancellation
//! between two large totals). `residual` is that gap over `F(x)`: 0 at the
//! exact equilibrium. PySAL's `raam` instead runs 150 cycles of
//! whole-person moves.

use bacino_core::{chunk_ranges, Executor, Sequential};

use crate::kernel::{Kernel, Sum};
use crate::rows::{CostRows, NearWindows, Row};

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
    /// At most this many evaluations of the smoothed dual (each one pass
    /// over the pairs).
    pub max_passes: usize,
    /// Problems of at least this many rows (residents) start from the
    /// prices of the equilibrium of every eighth row, their demand scaled
    /// up to the whole (itself solved the same way), and are solved on
    /// the pairs those prices leave near each row's cheapest option,
    /// widened until the answer's prices fall inside the window that
    /// chose them (then no pair left out is worth taking: module
    /// `raam_warm`). A sample of at least half this many rows starts
    /// from a sample of its own. The answer is certified over every pair
    /// all the same.
    pub warm_rows: usize,
}

impl Default for RaamParams {
    fn default() -> Self {
        RaamParams {
            tau: 3600.0,
            rho: None,
            tolerance: 1e-10,
            max_passes: 400,
            warm_rows: 200_000,
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
    /// Passes over the pairs (evaluations of the smoothed dual).
    pub iterations: u32,
}

/// Beyond this many ε above a row's cheapest option a facility's softmax
/// share (below e^-40, 4e-18) is dropped.
pub(crate) const CUT: f64 = 40.0;
/// The first smoothing, relative to the spread of the row costs.
const EPS_START: f64 = 1e-3;
/// The first smoothing from a warm start (a sample's prices): two levels
/// down. At full scale on the Bergamo fixture the window's solve from the
/// sample's prices took 58 passes (2.1 s) from [`EPS_START`], 38 (1.1 s)
/// from here; the answer is certified the same way whatever the start.
const WARM_EPS_START: f64 = EPS_START / 16.0;
/// A warm start's first Newton step at most this many ε long: the start
/// is near enough to begin at that ε (the longest the prices may move
/// before the rows near a tie are found again, `raam_near`). At full
/// scale on the Bergamo fixture the sample's prices are 470 ε from the
/// first step at [`WARM_EPS_START`].
const WARM_REACH: f64 = 1000.0;
/// A warm start's first Newton step at most this many ε long: the start
/// is so near the answer that ε begins a level sharper, and sharper again
/// while the step stays this short. At full scale on the Bergamo fixture
/// the sample's second window (prices 2 ε from its first's answer) began
/// three levels down and took 5 passes, where it took 32.
const WARM_DESCEND: f64 = 300.0;
/// Each level divides ε by this.
const EPS_STEP: f64 = 4.0;
/// The smallest smoothing tried, relative to the same scale.
const EPS_MIN: f64 = 1e-12;
/// Passes without a better certificate before the solver stops.
const STALL: u32 = 40;
/// The Hessian's runs are summed in at most this many blocks, of at
/// least [`HESSIAN_BLOCK_RUNS`] runs each but the last (numbers set by the
/// runs, so the sum does not depend on the threads).
const HESSIAN_BLOCKS: usize = 8;
const HESSIAN_BLOCK_RUNS: usize = 4096;

/// Solves RAAM on a kernel of costs (`cost.row(i)`: facilities in reach
/// of row `i` and their costs), demand per row, supply per column.
pub fn raam(cost: &Kernel, demand: &[f64], supply: &[f64], params: RaamParams) -> Raam {
    raam_in(cost, demand, supply, params, &Sequential)
}

/// [`raam`] on costs read by rows (a stored kernel, or distances measured
/// afresh: a large problem never holds all its pairs), its passes over
/// the residents run by `exec` in fixed chunks (the answer does not
/// depend on the number of threads).
pub fn raam_in<R: CostRows + ?Sized, E: Executor>(
    cost: &R,
    demand: &[f64],
    supply: &[f64],
    params: RaamParams,
    exec: &E,
) -> Raam {
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
    // Rows that take part: demand > 0 and something with supply in reach;
    // costs over τ.
    let pairs = Scaled {
        cost,
        demand,
        dense: &dense,
        orig: &orig,
        tau: params.tau,
    };
    let (solved, certified) = crate::raam_warm::solve_pairs(&pairs, demand, &kappa, params, exec);
    let started = std::time::Instant::now();
    let q: Vec<f64> = solved.d.iter().zip(&kappa).map(|(d, k)| d / k).collect();
    // Each row's cheapest, by the executor's threads, over the pairs the
    // answer was certified on (its cheapest is among them).
    let costs = exec
        .map(chunk_ranges(n, CHUNK), |r| {
            r.map(|i| {
                let (c, v) = certified.row(i);
                c.iter()
                    .zip(v)
                    .map(|(&j, &t)| t + q[j as usize])
                    .fold(f64::NAN, f64::min)
            })
            .collect::<Vec<f64>>()
        })
        .concat();
    let mut facility_demand = vec![0.0; cost.cols()];
    for (k, &j) in orig.iter().enumerate() {
        facility_demand[j] = solved.d[k];
    }
    if std::env::var_os("BACINO_RAAM_TRACE").is_some() {
        eprintln!(
            "raam: the rows' costs in {:.2} s",
            started.elapsed().as_secs_f64()
        );
    }
    Raam {
        cost: costs,
        facility_demand,
        rho,
        residual: solved.residual,
        iterations: solved.passes,
    }
}

/// The solver's view of a problem's pairs: rows of `(facility, cost / τ)`,
/// the facilities with supply numbered densely, the rows without demand
/// empty.
pub(crate) trait Pairs: Sync {
    /// Rows.
    fn rows(&self) -> usize;
    /// Row `i`'s pairs, in column order, in place of `out`'s.
    fn row(&self, i: usize, out: &mut Row);
    /// Offsets for [`Pairs::row_near`] from windows of prices, one per
    /// facility.
    fn offsets(&self, lo: &[f64], hi: &[f64]) -> NearWindows;
    /// Row `i`'s pairs that may be its cheapest for prices within the
    /// windows `offsets` came from ([`CostRows::row_near`]).
    fn row_near(&self, i: usize, offsets: &NearWindows, out: &mut Row);
    /// The rows whose [`Pairs::row_near`] may depend on the windows of
    /// the flagged facilities; `None`: any row may.
    fn rows_reaching(&self, cols: &[bool]) -> Option<Vec<bool>>;
}

/// A problem's costs seen by the solver: over τ, the facilities with
/// supply numbered densely (`dense`, back by `orig`).
struct Scaled<'a, R: ?Sized> {
    cost: &'a R,
    demand: &'a [f64],
    dense: &'a [u32],
    orig: &'a [usize],
    tau: f64,
}

impl<R: CostRows + ?Sized> Scaled<'_, R> {
    /// Renumbers `out`'s columns densely, dropping those without supply,
    /// and divides the costs by τ.
    fn compact(&self, out: &mut Row) {
        let mut n = 0;
        for k in 0..out.col.len() {
            let d = self.dense[out.col[k] as usize];
            if d != u32::MAX {
                out.col[n] = d;
                out.w[n] = out.w[k] / self.tau;
                n += 1;
            }
        }
        out.col.truncate(n);
        out.w.truncate(n);
    }
}

impl<R: CostRows + ?Sized> Pairs for Scaled<'_, R> {
    fn rows(&self) -> usize {
        self.cost.rows()
    }

    fn row(&self, i: usize, out: &mut Row) {
        if self.demand[i] > 0.0 {
            self.cost.row(i, out);
            self.compact(out);
        } else {
            out.col.clear();
            out.w.clear();
        }
    }

    fn offsets(&self, lo: &[f64], hi: &[f64]) -> NearWindows {
        let cols = self.cost.cols();
        let (mut lo_m, mut hi_m) = (vec![f64::INFINITY; cols], vec![f64::INFINITY; cols]);
        for (k, &j) in self.orig.iter().enumerate() {
            lo_m[j] = self.tau * lo[k];
            hi_m[j] = self.tau * hi[k];
        }
        self.cost.near(lo_m, hi_m)
    }

    fn rows_reaching(&self, cols: &[bool]) -> Option<Vec<bool>> {
        let mut flagged = vec![false; self.cost.cols()];
        for (k, &j) in self.orig.iter().enumerate() {
            flagged[j] = cols[k];
        }
        self.cost.rows_reaching(&flagged)
    }

    fn row_near(&self, i: usize, offsets: &NearWindows, out: &mut Row) {
        if self.demand[i] > 0.0 {
            self.cost.row_near(i, offsets, out);
            self.compact(out);
        } else {
            out.col.clear();
            out.w.clear();
        }
    }
}

/// A kernel already over τ and dense is its own view.
impl Pairs for Kernel {
    fn rows(&self) -> usize {
        Kernel::rows(self)
    }

    fn row(&self, i: usize, out: &mut Row) {
        CostRows::row(self, i, out);
    }

    fn offsets(&self, lo: &[f64], hi: &[f64]) -> NearWindows {
        CostRows::near(self, lo.to_vec(), hi.to_vec())
    }

    fn row_near(&self, i: usize, offsets: &NearWindows, out: &mut Row) {
        CostRows::row_near(self, i, offsets, out);
    }

    fn rows_reaching(&self, cols: &[bool]) -> Option<Vec<bool>> {
        CostRows::rows_reaching(self, cols)
    }
}

/// Classes of identical columns (same rows, same costs) among the `m`
/// columns of the `rows` rows `row(i, push)` pushes: each column's class
/// and the number of classes. Columns are grouped by a hash of
/// their entries (a sum over them, so chunks of rows hash apart) and the
/// grouping is then checked entry by entry; a group that fails the check
/// is not merged.
pub(crate) fn twins<E: Executor>(
    rows: usize,
    m: usize,
    row: impl Fn(usize, &mut dyn FnMut(u32, f64)) + Sync,
    exec: &E,
) -> (Vec<u32>, usize) {
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let parts = exec.map(chunk_ranges(rows, CHUNK), |r| {
        let mut hash = vec![0u64; m];
        let mut count = vec![0u32; m];
        for i in r {
            row(i, &mut |j, x| {
                let h = &mut hash[j as usize];
                *h = h.wrapping_add(mix(mix(i as u64) ^ x.to_bits().rotate_left(29)));
                count[j as usize] += 1;
            });
        }
        (hash, count)
    });
    let mut hash = vec![0u64; m];
    let mut count = vec![0u32; m];
    for (h, c) in parts {
        for j in 0..m {
            hash[j] = hash[j].wrapping_add(h[j]);
            count[j] += c[j];
        }
    }
    let mut by_key: std::collections::HashMap<(u64, u32), u32> = Default::default();
    let mut class = vec![0u32; m];
    let mut size = Vec::new();
    for j in 0..m {
        let next = size.len() as u32;
        let c = *by_key.entry((hash[j], count[j])).or_insert(next);
        if c == next {
            size.push(0u32);
        }
        class[j] = c;
        size[c as usize] += 1;
    }
    // Check: in every row, each class present appears whole, at one cost.
    let parts = exec.map(chunk_ranges(rows, CHUNK), |r| {
        let mut valid = vec![true; size.len()];
        let mut seen = vec![(usize::MAX, 0u32, 0.0f64); size.len()];
        let mut pairs: Vec<(u32, f64)> = Vec::new();
        for i in r {
            pairs.clear();
            row(i, &mut |j, x| pairs.push((j, x)));
            for &(j, x) in &pairs {
                let k = class[j as usize] as usize;
                if size[k] < 2 {
                    continue;
                }
                let s = &mut seen[k];
                if s.0 != i {
                    *s = (i, 0, x);
                }
                s.1 += 1;
                if s.2.to_bits() != x.to_bits() {
                    valid[k] = false;
                }
            }
            for &(j, _) in &pairs {
                let k = class[j as usize] as usize;
                if size[k] >= 2 && seen[k].1 != size[k] {
                    valid[k] = false;
                }
            }
        }
        valid
    });
    let mut valid = vec![true; size.len()];
    for part in parts {
        for (v, p) in valid.iter_mut().zip(part) {
            *v &= p;
        }
    }
    // Renumber: valid classes keep their members together, the members
    // of an invalid one become classes of their own.
    let mut number = vec![u32::MAX; size.len()];
    let mut classes = 0u32;
    for c in class.iter_mut() {
        let k = *c as usize;
        if valid[k] {
            if number[k] == u32::MAX {
                number[k] = classes;
                classes += 1;
            }
            *c = number[k];
        } else {
            *c = classes;
            classes += 1;
        }
    }
    (class, classes as usize)
}

/// The solver's answer: the demands of the certified split, its relative
/// gap, the passes it took.
pub(crate) struct Solved {
    pub(crate) d: Vec<f64>,
    /// The prices of the dual point certified with `d`.
    pub(crate) p: Vec<f64>,
    pub(crate) residual: f64,
    pub(crate) passes: u32,
    /// The scale of the costs the smoothing was set from.
    pub(crate) scale: f64,
    /// Windows of prices the answer was solved in (0: all pairs).
    pub(crate) windows: u32,
}

/// One evaluation of the smoothed dual at `p`.
pub(crate) struct Eval {
    /// `g_ε(p)`.
    pub(crate) value: f64,
    /// `D(π)`: the demands of the softmax split.
    pub(crate) d: Vec<f64>,
    /// `D(π) − κp`.
    grad: Vec<f64>,
    /// The exact gap `F(x) − g(p)` of the split and `p`.
    pub(crate) gap: f64,
    /// Its smoothing part `Σ P π (c − min c)`.
    smoothing: f64,
    /// `F(x)`.
    primal: f64,
    /// The coupling rows: `(facility, P_i π_ij)` runs, as each chunk of
    /// rows left them (not gathered into one buffer: that buffer was fresh
    /// memory on every pass).
    coupling: Coupling,
}

/// Runs of `(facility, P_i π_ij)`, chunk by chunk: chunk `c`'s runs are
/// `pairs[c]`, `ends[c]` closing each.
#[derive(Default)]
struct Coupling {
    pairs: Vec<Vec<(u32, f64)>>,
    ends: Vec<Vec<usize>>,
    /// The runs before each chunk's, and then all of them.
    before: Vec<usize>,
}

impl Coupling {
    fn push(&mut self, pairs: Vec<(u32, f64)>, ends: Vec<usize>) {
        if self.before.is_empty() {
            self.before.push(0);
        }
        if ends.is_empty() {
            return;
        }
        let last = self.before[self.before.len() - 1];
        self.before.push(last + ends.len());
        self.pairs.push(pairs);
        self.ends.push(ends);
    }

    /// Number of runs.
    fn len(&self) -> usize {
        self.before.last().copied().unwrap_or(0)
    }

    /// Every pair of every run.
    fn pairs(&self) -> impl Iterator<Item = &(u32, f64)> {
        self.pairs.iter().flatten()
    }

    /// The runs numbered `range`, in order.
    fn runs(&self, range: std::ops::Range<usize>) -> impl Iterator<Item = &[(u32, f64)]> {
        // The chunk holding the first run.
        let first = self.before.partition_point(|&b| b <= range.start).max(1) - 1;
        let mut at = (
            first,
            range.start - self.before.get(first).copied().unwrap_or(0),
        );
        range.map(move |_| {
            while at.1 >= self.ends[at.0].len() {
                at = (at.0 + 1, 0);
            }
            let (c, k) = at;
            at.1 += 1;
            let begin = if k == 0 { 0 } else { self.ends[c][k - 1] };
            &self.pairs[c][begin..self.ends[c][k]]
        })
    }
}

/// Row `i`'s demand if it reaches a facility, else 0.
pub(crate) fn reached_demand(a: &Kernel, demand: &[f64], i: usize) -> f64 {
    if a.row(i).0.is_empty() {
        0.0
    } else {
        demand[i]
    }
}

pub(crate) fn solve<E: Executor>(
    a: &Kernel,
    demand: &[f64],
    kappa: &[f64],
    params: RaamParams,
    start: Option<Vec<f64>>,
    exec: &E,
) -> Solved {
    let m = kappa.len();
    let reached = crate::kernel::sum((0..a.rows()).map(|i| reached_demand(a, demand, i)));
    if m == 0 || reached <= 0.0 {
        return Solved {
            d: vec![0.0; m],
            p: vec![0.0; m],
            residual: 0.0,
            passes: 0,
            scale: 1.0,
            windows: 0,
        };
    }
    // Scale of the costs: the widest row spread, or the mean congestion.
    let mut spread: f64 = 0.0;
    for i in 0..a.rows() {
        let (_, v) = a.row(i);
        let (lo, hi) = v
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| {
                (l.min(x), h.max(x))
            });
        if hi > lo {
            spread = spread.max(hi - lo);
        }
    }
    // Prices start level: everyone at the mean congestion.
    let p0 = reached / crate::kernel::sum(kappa.iter().copied());
    let scale = spread.max(p0).max(f64::MIN_POSITIVE);
    let warm = start.is_some();
    let mut eps = if warm { WARM_EPS_START } else { EPS_START } * scale;
    let mut p = start.unwrap_or_else(|| vec![p0; m]);
    let mut near = crate::raam_near::Near::default();
    let mut passes = 0u32;
    let mut at = |p: &[f64], eps: f64, passes: &mut u32| {
        *passes += 1;
        near.evaluate(a, demand, kappa, p, eps, exec)
    };
    let mut ev = at(&p, eps, &mut passes);
    // A warm start's sharpness: from `WARM_EPS_START`, a level up while
    // Newton's first step is longer than `WARM_REACH` ε (at most to the
    // cold start's: the start is far from the answer), or a level down
    // while it stays within `WARM_DESCEND` ε (the start is near it: a
    // sample's answer solved again on more pairs).
    if warm {
        let longest = |ev: &Eval, eps: f64| {
            newton_step(ev, kappa, eps, exec)
                .iter()
                .fold(0.0f64, |l, s| l.max(s.abs()))
        };
        let trace = |eps: f64, step: f64| {
            if std::env::var_os("BACINO_RAAM_TRACE").is_some() {
                eprintln!(
                    "raam: warm start at ε {eps:.1e}: Newton's step {:.1} ε",
                    step / eps
                );
            }
        };
        let mut step = longest(&ev, eps);
        trace(eps, step);
        if step > WARM_REACH * eps {
            while step > WARM_REACH * eps && eps < EPS_START * scale {
                eps *= EPS_STEP;
                ev = at(&p, eps, &mut passes);
                step = longest(&ev, eps);
                trace(eps, step);
            }
        } else {
            while step <= WARM_DESCEND * eps
                && eps / EPS_STEP >= EPS_MIN * scale
                && ev.gap / ev.primal > params.tolerance
            {
                let sharper = eps / EPS_STEP;
                let next = at(&p, sharper, &mut passes);
                let next_step = longest(&next, sharper);
                trace(sharper, next_step);
                if next_step > WARM_DESCEND * sharper {
                    break;
                }
                (eps, ev, step) = (sharper, next, next_step);
            }
        }
    }
    let mut best = (ev.gap / ev.primal, ev.d.clone(), passes, p.clone());
    // A trust radius on the largest price move: after ε shrinks, Newton's
    // model of g_ε holds only within a few ε, while the step it proposes
    // for a resident who stopped being tied is of the order of 1/κ.
    let mut radius = f64::INFINITY;
    let trace = std::env::var_os("BACINO_RAAM_TRACE").is_some();
    let started = std::time::Instant::now();
    loop {
        let residual = ev.gap / ev.primal;
        if trace {
            eprintln!(
                "raam: {:.2} s: pass {passes} ε {eps:.1e} residual {residual:.3e} (smoothing {:.3e})",
                started.elapsed().as_secs_f64(),
                ev.smoothing / ev.primal
            );
        }
        if residual < best.0 {
            best = (residual, ev.d.clone(), passes, p.clone());
        }
        // Done, out of passes, or stalled at the floor of the arithmetic
        // (the prices are known to ~1e-16 of their size, ε is not much
        // more).
        if residual <= params.tolerance
            || passes as usize >= params.max_passes
            || passes >= best.2 + STALL
        {
            break;
        }
        // The smoothing dominates the gap: sharpen it.
        if ev.gap - ev.smoothing <= 0.1 * ev.smoothing && eps > EPS_MIN * scale {
            eps /= EPS_STEP;
            radius = 100.0 * eps;
            ev = at(&p, eps, &mut passes);
            continue;
        }
        // Newton's step, capped by the radius, and a backtracking line
        // search on g_ε.
        let step = newton_step(&ev, kappa, eps, exec);
        let slope: f64 = step.iter().zip(&ev.grad).map(|(s, g)| s * g).sum();
        let longest = step.iter().fold(0.0f64, |l, s| l.max(s.abs()));
        if slope.is_nan() || slope <= 0.0 || longest == 0.0 {
            break;
        }
        let t0 = (radius / longest).min(1.0);
        let mut t = t0;
        let mut accepted = None;
        while (passes as usize) < params.max_passes {
            let trial: Vec<f64> = p.iter().zip(&step).map(|(p, s)| p + t * s).collect();
            let next = at(&trial, eps, &mut passes);
            // Armijo, or a step below the resolution of the value.
            let tiny = t * slope <= 1e-14 * ev.value.abs().max(1.0);
            if next.value >= ev.value + 1e-4 * t * slope || tiny {
                accepted = Some((trial, next));
                break;
            }
            t *= 0.25;
        }
        let Some((trial, next)) = accepted else { break };
        radius = if t < t0 {
            t * longest
        } else if t0 < 1.0 {
            4.0 * radius
        } else {
            radius.max(2.0 * longest)
        };
        p = trial;
        ev = next;
    }
    Solved {
        residual: best.0,
        d: best.1,
        p: best.3,
        passes,
        scale,
        windows: 0,
    }
}

/// Rows per chunk of an evaluation.
pub(crate) const CHUNK: usize = 8192;

/// One chunk's part of an evaluation.
struct Part {
    value: Sum,
    smoothing: Sum,
    travel: Sum,
    d: Vec<f64>,
    coupling: Vec<(u32, f64)>,
    ends: Vec<usize>,
}

/// Evaluates `g_ε`, the softmax split and its exact gap at `p`, over
/// `a`'s rows (weights `demand`) and the settled weight per facility.
#[allow(clippy::too_many_arguments)]
pub(crate) fn evaluate<E: Executor>(
    a: &Kernel,
    demand: &[f64],
    kappa: &[f64],
    p: &[f64],
    eps: f64,
    settled: &[f64],
    settled_travel: f64,
    exec: &E,
) -> Eval {
    let m = kappa.len();
    let inv_eps = 1.0 / eps;
    let parts = exec.map(chunk_ranges(a.rows(), CHUNK), |rows| {
        let mut part = Part {
            value: Sum::default(),
            smoothing: Sum::default(),
            travel: Sum::default(),
            d: vec![0.0; m],
            coupling: Vec::new(),
            ends: Vec::new(),
        };
        let mut share: Vec<(u32, f64, f64)> = Vec::new();
        for i in rows {
            let (c, v) = a.row(i);
            if c.is_empty() {
                continue;
            }
            let w = demand[i];
            let lo = least(c.iter().zip(v).map(|(&j, &t)| t + p[j as usize]));
            share.clear();
            let mut s = 0.0;
            for (&j, &t) in c.iter().zip(v) {
                let z = (t + p[j as usize] - lo) * inv_eps;
                if z <= CUT {
                    let e = (-z).exp();
                    s += e;
                    share.push((j, e, t));
                }
            }
            part.value.add(w * (lo - eps * s.ln()));
            // Within a row (a few terms) plain sums; across rows
            // compensated ones.
            let (mut row_smoothing, mut row_travel) = (0.0, 0.0);
            let inv_s = 1.0 / s;
            for &(j, e, t) in &share {
                let pi = e * inv_s;
                part.d[j as usize] += w * pi;
                row_travel += pi * t;
                row_smoothing += pi * (t + p[j as usize] - lo);
            }
            part.travel.add(w * row_travel);
            part.smoothing.add(w * row_smoothing);
            if share.len() > 1 {
                part.coupling
                    .extend(share.iter().map(|&(j, e, _)| (j, w * e * inv_s)));
                part.ends.push(part.coupling.len());
            }
        }
        part
    });
    let mut d = settled.to_vec();
    let mut value = Sum::default();
    let mut smoothing = Sum::default();
    let mut travel = Sum::default();
    travel.add(settled_travel);
    value.add(settled_travel);
    for j in 0..m {
        value.add(settled[j] * p[j]);
    }
    let mut coupling = Coupling::default();
    for part in parts {
        value.merge(part.value);
        smoothing.merge(part.smoothing);
        travel.merge(part.travel);
        for (d, x) in d.iter_mut().zip(&part.d) {
            *d += x;
        }
        coupling.push(part.coupling, part.ends);
    }
    let mut grad = vec![0.0; m];
    let mut primal = travel;
    let mut gap = smoothing;
    for j in 0..m {
        let (dj, k, pj) = (d[j], kappa[j], p[j]);
        value.add(-k * pj * pj / 2.0);
        grad[j] = dj - k * pj;
        gap.add(grad[j] * grad[j] / (2.0 * k));
        primal.add(dj * dj / (2.0 * k));
    }
    Eval {
        value: value.value(),
        d,
        grad,
        gap: gap.value(),
        smoothing: smoothing.value(),
        primal: primal.value(),
        coupling,
    }
}

/// The least of `xs` (+∞ for none; they are never NaN): one compare and
/// select each, where `f64::min` also handles NaN.
#[inline(always)]
pub(crate) fn least(xs: impl Iterator<Item = f64>) -> f64 {
    let mut lo = f64::INFINITY;
    for x in xs {
        lo = if x < lo { x } else { lo };
    }
    lo
}

/// Newton's ascent step `M⁻¹ ∇g_ε` with `M = diag κ + (1/ε) Σ P_i (diag π_i −
/// π_i π_iᵀ)`: facilities no near-tied resident couples have `M_jj = κ_j`;
/// the coupled block is factored (sparse Cholesky, module `cholesky`; `M` is positive
/// definite since κ > 0).
fn newton_step<E: Executor>(ev: &Eval, kappa: &[f64], eps: f64, exec: &E) -> Vec<f64> {
    let m = kappa.len();
    let mut step: Vec<f64> = ev.grad.iter().zip(kappa).map(|(g, k)| g / k).collect();
    // The coupled facilities in increasing order, so that each run (in
    // column order) meets them in increasing order too.
    let mut is_coupled = vec![false; m];
    for &(j, _) in ev.coupling.pairs() {
        is_coupled[j as usize] = true;
    }
    let coupled: Vec<usize> = (0..m).filter(|&j| is_coupled[j]).collect();
    let nc = coupled.len();
    if nc == 0 {
        return step;
    }
    let mut local = vec![0usize; m];
    for (l, &j) in coupled.iter().enumerate() {
        local[j] = l;
    }
    // Blocks of runs in order, their number set by the runs alone, so
    // the sums do not depend on the threads.
    let runs = ev.coupling.len();
    let blocks = runs.div_ceil(HESSIAN_BLOCK_RUNS).clamp(1, HESSIAN_BLOCKS);
    let blocks = chunk_ranges(runs, runs.div_ceil(blocks).max(1));
    // The order's graph: a chain through each run (the coupled
    // facilities that follow each other in it; bits of the lower
    // triangle, row by row). The envelope is then set by the runs whole.
    let words = (nc * nc).div_ceil(64);
    let parts = exec.map(blocks.clone(), |b| {
        let mut bits = vec![0u64; words];
        for pairs in ev.coupling.runs(b) {
            for link in pairs.windows(2) {
                let (u, v) = (local[link[0].0 as usize], local[link[1].0 as usize]);
                // Below the diagonal: a link met both ways is one edge.
                let k = u.max(v) * nc + u.min(v);
                bits[k >> 6] |= 1 << (k & 63);
            }
        }
        bits
    });
    let mut bits = vec![0u64; words];
    for part in parts {
        for (a, b) in bits.iter_mut().zip(part) {
            *a |= b;
        }
    }
    let mut adj = vec![Vec::new(); nc];
    for (w, &word) in bits.iter().enumerate() {
        let mut word = word;
        while word != 0 {
            let k = 64 * w + word.trailing_zeros() as usize;
            word &= word - 1;
            let (r, c) = (k / nc, k % nc);
            adj[r].push(c);
            adj[c].push(r);
        }
    }
    let env = crate::cholesky::Envelope::new(adj, |group| {
        let mut run: Vec<usize> = Vec::new();
        for pairs in ev.coupling.runs(0..runs) {
            run.clear();
            run.extend(pairs.iter().map(|&(j, _)| local[j as usize]));
            group(&run);
        }
    });
    // Scaled by ε: ε diag κ + Σ P (diag π − π πᵀ), within the envelope,
    // summed over the blocks in order.
    let parts = exec.map(blocks, |b| {
        let mut h = vec![0.0; env.len()];
        let mut run: Vec<(usize, f64)> = Vec::new();
        for pairs in ev.coupling.runs(b) {
            run.clear();
            run.extend(
                pairs
                    .iter()
                    .map(|&(j, x)| (env.position(local[j as usize]), x)),
            );
            let total: f64 = run.iter().map(|r| r.1).sum();
            // In the envelope's order, each entry's row holds the earlier
            // ones' columns.
            run.sort_unstable_by_key(|e| e.0);
            for (at, &(r, x)) in run.iter().enumerate() {
                // x (1 − π) on the diagonal, −x π_k off it (π = x / total).
                let xr = x / total;
                let row = env.row(r);
                for &(c, y) in &run[..=at] {
                    debug_assert!(env.index(r, c) == row + c);
                    h[row + c] -= xr * y;
                }
                h[row + r] += x;
            }
        }
        h
    });
    let mut h = vec![0.0; env.len()];
    for part in parts {
        for (a, b) in h.iter_mut().zip(part) {
            *a += b;
        }
    }
    for (r, &j) in coupled.iter().enumerate() {
        h[env.index(env.position(r), env.position(r))] += eps * kappa[j];
    }
    let mut rhs: Vec<f64> = coupled.iter().map(|&j| eps * ev.grad[j]).collect();
    env.solve(&mut h, &mut rhs);
    for (l, &j) in coupled.iter().enumerate() {
        step[j] = rhs[l];
    }
    step
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The runs of chunks (some with none) read by range equal those of
    /// the chunks gathered into one buffer, for every range.
    #[test]
    fn coupling_runs_read_across_chunks_as_one_buffer() {
        let chunks: Vec<Vec<Vec<(u32, f64)>>> = vec![
            vec![vec![(0, 1.0), (2, 0.5)], vec![(1, 2.0)]],
            vec![],
            vec![vec![(3, 0.25), (4, 0.75), (5, 1.0)]],
            vec![vec![(6, 1.5)], vec![(7, 0.1), (8, 0.2)], vec![(9, 3.0)]],
        ];
        let mut coupling = Coupling::default();
        let mut gathered: Vec<Vec<(u32, f64)>> = Vec::new();
        for runs in &chunks {
            let (mut pairs, mut ends) = (Vec::new(), Vec::new());
            for run in runs {
                pairs.extend_from_slice(run);
                ends.push(pairs.len());
                gathered.push(run.clone());
            }
            coupling.push(pairs, ends);
        }
        assert_eq!(coupling.len(), gathered.len());
        assert_eq!(
            coupling.pairs().copied().collect::<Vec<_>>(),
            gathered.concat()
        );
        for start in 0..=gathered.len() {
            for end in start..=gathered.len() {
                let got: Vec<Vec<(u32, f64)>> =
                    coupling.runs(start..end).map(|r| r.to_vec()).collect();
                assert_eq!(got, gathered[start..end], "{start}..{end}");
            }
        }
        assert_eq!(Coupling::default().runs(0..0).count(), 0);
        assert_eq!(Coupling::default().len(), 0);
    }
}
