//! RAAM's rows near a tie: at small ε only the residents whose cheapest
//! options are close in cost couple the facilities' prices, so the
//! solver's passes ([`crate::raam`]) go over those rows alone, the others
//! summed once per facility.

use bacino_core::{chunk_ranges, Executor};

use crate::kernel::{Kernel, Sum};
use crate::raam::{evaluate, Eval, CHUNK, CUT};

/// How far (in ε) prices may move before the near rows are found again.
const NEAR_DELTA: f64 = 1000.0;

/// The rows that matter near a reference price vector. A row whose
/// cheapest option leads the next by more than `CUT·ε + 2δ` keeps all its
/// weight there while no price moves by more than δ (every other share is
/// below e^-40, which the evaluation drops anyway), so it is summed once
/// per facility; the other rows keep only their entries within that
/// window. Evaluations at prices within δ of the reference, and at an ε no
/// larger, are then exactly those over the whole kernel, for a fraction
/// of the work.
#[derive(Default)]
pub(crate) struct Near {
    reference: Vec<f64>,
    delta: f64,
    eps: f64,
    /// `None`: most pairs are near, and the whole kernel is used.
    rows: Option<Kernel>,
    weight: Vec<f64>,
    /// Weight of the settled rows per facility, and their travel.
    settled: Vec<f64>,
    settled_travel: f64,
}

impl Near {
    pub(crate) fn evaluate<E: Executor>(
        &mut self,
        a: &Kernel,
        demand: &[f64],
        kappa: &[f64],
        p: &[f64],
        eps: f64,
        exec: &E,
    ) -> Eval {
        let moved = self
            .reference
            .iter()
            .zip(p)
            .fold(0.0f64, |l, (r, p)| l.max((r - p).abs()));
        if self.reference.len() != p.len() || eps != self.eps || moved > self.delta {
            // Every pair within the new window of its row's cheapest at
            // `p` was within the old one at the old reference when the
            // windows differ by twice the move: the near rows then hold
            // them all, and a row settled there stays settled.
            if self.rows.is_some()
                && self.reference.len() == p.len()
                && eps <= self.eps
                && near_window(eps) + 2.0 * moved <= near_window(self.eps)
            {
                self.narrow(p, eps, exec);
            } else {
                self.rebuild(a, demand, p, eps, exec);
            }
        }
        match &self.rows {
            Some(rows) => evaluate(
                rows,
                &self.weight,
                kappa,
                p,
                eps,
                &self.settled,
                self.settled_travel,
                exec,
            ),
            None => evaluate(a, demand, kappa, p, eps, &self.settled, 0.0, exec),
        }
    }

    fn rebuild<E: Executor>(&mut self, a: &Kernel, demand: &[f64], p: &[f64], eps: f64, exec: &E) {
        let m = p.len();
        self.reference = p.to_vec();
        self.eps = eps;
        self.delta = NEAR_DELTA * eps;
        let window = near_window(eps);
        // Most pairs near: no copy.
        let count: usize = exec
            .map(chunk_ranges(a.rows(), CHUNK), |r| {
                r.map(|i| near_pairs(a, i, p, window).count())
                    .sum::<usize>()
            })
            .into_iter()
            .sum();
        if 2 * count > a.nnz() {
            self.rows = None;
            self.weight = Vec::new();
            self.settled = vec![0.0; m];
            self.settled_travel = 0.0;
            return;
        }
        let (settled, travel, rows, weight) = split_near(a, demand, p, window, exec);
        self.rows = Some(rows);
        self.weight = weight;
        self.settled = settled.into_iter().map(Sum::value).collect();
        self.settled_travel = travel.value();
    }

    /// [`Near::rebuild`] from the near rows alone, when they hold every
    /// pair the new window takes (see [`Near::evaluate`]).
    fn narrow<E: Executor>(&mut self, p: &[f64], eps: f64, exec: &E) {
        let Some(old) = self.rows.take() else {
            return;
        };
        self.reference = p.to_vec();
        self.eps = eps;
        self.delta = NEAR_DELTA * eps;
        let (more, more_travel, rows, weight) =
            split_near(&old, &self.weight, p, near_window(eps), exec);
        let mut settled = vec![Sum::default(); self.settled.len()];
        for ((s, &before), add) in settled.iter_mut().zip(&self.settled).zip(more) {
            s.add(before);
            s.merge(add);
        }
        let mut travel = Sum::default();
        travel.add(self.settled_travel);
        travel.merge(more_travel);
        self.rows = Some(rows);
        self.weight = weight;
        self.settled = settled.into_iter().map(Sum::value).collect();
        self.settled_travel = travel.value();
    }
}

/// The window around a row's cheapest option within which its pairs are
/// near at this ε: `CUT·ε + 2δ`.
fn near_window(eps: f64) -> f64 {
    CUT * eps + 2.0 * NEAR_DELTA * eps
}

/// Row `i`'s pairs within `window` of its cheapest at prices `p`.
fn near_pairs<'a>(
    a: &'a Kernel,
    i: usize,
    p: &'a [f64],
    window: f64,
) -> impl Iterator<Item = (u32, f64)> + 'a {
    let (c, v) = a.row(i);
    let lo = c
        .iter()
        .zip(v)
        .map(|(&j, &t)| t + p[j as usize])
        .fold(f64::INFINITY, f64::min);
    c.iter()
        .zip(v)
        .filter(move |(&j, &t)| t + p[j as usize] - lo <= window)
        .map(|(&j, &t)| (j, t))
}

/// The rows of `src` (weights `weight`) split at prices `p`: a row with
/// one pair within `window` of its cheapest is settled there (its weight
/// summed per facility, and its travel), the others keep their near
/// pairs. Chunks of rows apart, their sums merged in order.
fn split_near<E: Executor>(
    src: &Kernel,
    weight: &[f64],
    p: &[f64],
    window: f64,
    exec: &E,
) -> (Vec<Sum>, Sum, Kernel, Vec<f64>) {
    let m = src.cols();
    let parts = exec.map(chunk_ranges(src.rows(), CHUNK), |r| {
        let mut settled = vec![Sum::default(); m];
        let mut travel = Sum::default();
        let mut rows = Kernel::new(m);
        let mut kept = Vec::new();
        let mut entries: Vec<(u32, f64)> = Vec::new();
        for i in r {
            let w = weight[i];
            entries.clear();
            entries.extend(near_pairs(src, i, p, window));
            match entries.len() {
                0 => {}
                1 => {
                    let (j, t) = entries[0];
                    settled[j as usize].add(w);
                    travel.add(w * t);
                }
                _ => {
                    rows.push_row(entries.iter().copied());
                    kept.push(w);
                }
            }
        }
        (settled, travel, rows, kept)
    });
    let mut settled = vec![Sum::default(); m];
    let mut travel = Sum::default();
    let mut kernels = Vec::with_capacity(parts.len());
    let mut kept = Vec::new();
    for (s, t, rows, w) in parts {
        for (a, b) in settled.iter_mut().zip(s) {
            a.merge(b);
        }
        travel.merge(t);
        kernels.push(rows);
        kept.extend(w);
    }
    (settled, travel, Kernel::concat(m, kernels), kept)
}
