//! RAAM's rows near a tie: at small ε only the residents whose cheapest
//! options are close in cost couple the facilities' prices, so the
//! solver's passes ([`crate::raam`]) go over those rows alone, the others
//! summed once per facility.

use bacino_core::{chunk_ranges, Executor};

use crate::kernel::{Kernel, Sum};
use crate::raam::{evaluate, Eval, CHUNK, CUT};

/// How far (in ε) prices may move before the near rows are found again:
/// twice the last move, within these bounds. A short reach keeps the near
/// rows few, so passes are cheap while the prices settle; a long one
/// spares a search for the near rows at every pass while they still move
/// far (a cold start). At full
/// scale on the Bergamo fixture a fixed 1000 ε took 2.6 s, a fixed 100 ε
/// 2.0 s but cost a quarter more on the bundled dataset's cold solve.
const NEAR_DELTA_MIN: f64 = 100.0;
const NEAR_DELTA_MAX: f64 = 1000.0;

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
            let first = self.reference.len() != p.len();
            let delta = if first {
                NEAR_DELTA_MIN * eps
            } else {
                (2.0 * moved).clamp(NEAR_DELTA_MIN * eps, NEAR_DELTA_MAX * eps)
            };
            if self.rows.is_some()
                && !first
                && eps <= self.eps
                && CUT * eps + 2.0 * delta + 2.0 * moved <= CUT * self.eps + 2.0 * self.delta
            {
                self.narrow(p, eps, delta, exec);
            } else {
                self.rebuild(a, demand, p, eps, delta, exec);
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

    fn rebuild<E: Executor>(
        &mut self,
        a: &Kernel,
        demand: &[f64],
        p: &[f64],
        eps: f64,
        delta: f64,
        exec: &E,
    ) {
        let m = p.len();
        let window = CUT * eps + 2.0 * delta;
        // Most pairs were near in a window no wider: they are taken to be
        // again, uncounted (the evaluation over the whole kernel is exact
        // all the same; at full scale on the Bergamo fixture the whole
        // problem's first passes were each a count and an evaluation over
        // every pair).
        let whole = !self.reference.is_empty()
            && self.rows.is_none()
            && window >= CUT * self.eps + 2.0 * self.delta;
        self.reference = p.to_vec();
        self.eps = eps;
        self.delta = delta;
        if whole {
            return;
        }
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
    fn narrow<E: Executor>(&mut self, p: &[f64], eps: f64, delta: f64, exec: &E) {
        let Some(old) = self.rows.take() else {
            return;
        };
        self.reference = p.to_vec();
        self.eps = eps;
        self.delta = delta;
        let (more, more_travel, rows, weight) =
            split_near(&old, &self.weight, p, CUT * eps + 2.0 * delta, exec);
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

/// Row `i`'s pairs within `window` of its cheapest at prices `p`.
fn near_pairs<'a>(
    a: &'a Kernel,
    i: usize,
    p: &'a [f64],
    window: f64,
) -> impl Iterator<Item = (u32, f64)> + 'a {
    let (c, v) = a.row(i);
    let lo = crate::raam::least(c.iter().zip(v).map(|(&j, &t)| t + p[j as usize]));
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

#[cfg(test)]
mod tests {
    use super::*;
    use bacino_core::Sequential;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Evaluations through the near rows equal those over the whole
    /// kernel, along a path of prices and ε that rebuilds the near rows
    /// (a first build, a move past the reach, a move that widens the
    /// reach), keeps them (a short move), and narrows them (a sharper ε
    /// after a short move), or cannot (a sharper ε after a move longer
    /// than the old reach less the new one: rows settled then may have
    /// changed their cheapest).
    #[test]
    fn near_evaluations_equal_the_whole_kernels() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (rows, cols) = (3000, 30);
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
        let demand: Vec<f64> = (0..rows).map(|_| rng.random_range(0.5..3.0)).collect();
        let kappa: Vec<f64> = (0..cols).map(|_| rng.random_range(50.0..150.0)).collect();
        let mut p: Vec<f64> = (0..cols).map(|_| rng.random_range(0.0..1.0)).collect();
        let mut near = Near::default();
        let mut eps = 1e-3;
        // (price move in ε, ε divided by)
        let path = [
            (0.0, 1.0),
            (50.0, 1.0),
            (150.0, 1.0),
            (20.0, 1.0),
            (30.0, 4.0),
            (10.0, 4.0),
            (900.0, 1.0),
            (1500.0, 16.0),
            (600.0, 4.0),
            (5.0, 4.0),
        ];
        let zero = vec![0.0; cols];
        let (mut narrowed, mut rebuilt) = (0, 0);
        for (step, &(moved, sharper)) in path.iter().enumerate() {
            for x in p.iter_mut() {
                *x += moved * eps * rng.random_range(-1.0..1.0);
            }
            eps /= sharper;
            let before = (near.reference.clone(), near.rows.as_ref().map(Kernel::nnz));
            let got = near.evaluate(&a, &demand, &kappa, &p, eps, &Sequential);
            if near.reference != before.0 {
                match (before.1, near.rows.as_ref().map(Kernel::nnz)) {
                    (Some(n0), Some(n1)) if n1 <= n0 => narrowed += 1,
                    _ => rebuilt += 1,
                }
            }
            let want = evaluate(&a, &demand, &kappa, &p, eps, &zero, 0.0, &Sequential);
            let close = |x: f64, y: f64| (x - y).abs() <= 1e-11 * x.abs().max(y.abs()).max(1.0);
            assert!(
                close(got.value, want.value),
                "step {step}: {} {}",
                got.value,
                want.value
            );
            assert!(
                close(got.gap, want.gap),
                "step {step}: {} {}",
                got.gap,
                want.gap
            );
            for (x, y) in got.d.iter().zip(&want.d) {
                assert!(close(*x, *y), "step {step}: {x} {y}");
            }
        }
        assert!(
            narrowed >= 1 && rebuilt >= 3,
            "narrowed {narrowed}, rebuilt {rebuilt}"
        );
        assert!(
            near.rows.is_some(),
            "the last evaluation went over near rows"
        );
    }
}
