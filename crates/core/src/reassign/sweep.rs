//! Receiving GPs (ECEF points, metres) sorted along one horizontal axis, so
//! that the few near a patient are found without measuring every GP.
//!
//! Projecting on a unit vector shortens every segment: two points whose
//! projections are `δ` apart are at least `δ` apart in a straight line,
//! and the geodesic, longer than the straight line, is at least as long.
//! Sweeping outwards from a patient's projection therefore meets the GPs
//! in an order whose projection gaps bound from below the chord bound of
//! every GP not yet met. [`Sweep::within`] gives every GP that may lie
//! within a straight-line radius; [`Sweep::ordered`] yields GPs in exact
//! order of a key that is at least the chord bound (a cost's lower bound,
//! plus any non-negative offset). Both only save work: a GP they skip is
//! one the callers' own bound would have skipped.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::geodesic::lower_bound_from_ecef_chord_m;

/// Rounding in a projection of coordinates of ~6.4e6 m is ~1e-9 m; the
/// sweep keeps a thousand times that in hand.
const SLACK_M: f64 = 1e-6;

/// Points sorted by their projection on the axis of their largest spread.
#[derive(Debug, Clone)]
pub(super) struct Sweep {
    axis: [f64; 3],
    /// (projection on `axis`, metres; point), ascending.
    sorted: Vec<(f64, u32)>,
}

fn dot(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Unit vector along which `points` spread most (power iteration on their
/// covariance); any unit vector for fewer than two distinct points.
fn principal_axis(points: &[[f64; 3]]) -> [f64; 3] {
    let n = points.len().max(1) as f64;
    let mut mean = [0.0; 3];
    for p in points {
        for k in 0..3 {
            mean[k] += p[k] / n;
        }
    }
    let mut cov = [[0.0; 3]; 3];
    for p in points {
        let d = [p[0] - mean[0], p[1] - mean[1], p[2] - mean[2]];
        for r in 0..3 {
            for c in 0..3 {
                cov[r][c] += d[r] * d[c];
            }
        }
    }
    let mut v = [1.0 / 3f64.sqrt(); 3];
    for _ in 0..64 {
        let w = [dot(&cov[0], &v), dot(&cov[1], &v), dot(&cov[2], &v)];
        let norm = dot(&w, &w).sqrt();
        if !(norm.is_finite() && norm > 0.0) {
            break;
        }
        v = [w[0] / norm, w[1] / norm, w[2] / norm];
    }
    let norm = dot(&v, &v).sqrt();
    [v[0] / norm, v[1] / norm, v[2] / norm]
}

impl Sweep {
    /// Sorts `points` (ECEF, metres) along the axis of their largest spread.
    pub fn new(points: &[[f64; 3]]) -> Sweep {
        let axis = principal_axis(points);
        let mut sorted: Vec<(f64, u32)> = points
            .iter()
            .enumerate()
            .map(|(j, p)| (dot(&axis, p), j as u32))
            .collect();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        Sweep { axis, sorted }
    }

    /// Every point within straight-line distance `r_m` of `x` (and some
    /// farther ones), in no particular order.
    pub fn within(&self, x: &[f64; 3], r_m: f64) -> impl Iterator<Item = u32> + '_ {
        let p = dot(&self.axis, x);
        let lo = self.sorted.partition_point(|e| e.0 < p - r_m - SLACK_M);
        let hi = self.sorted.partition_point(|e| e.0 <= p + r_m + SLACK_M);
        self.sorted[lo.min(hi)..hi].iter().map(|e| e.1)
    }

    /// The points as `(key, point)` in ascending order (ties by point),
    /// lazily, for a `key` that is `None` for points to leave out and
    /// otherwise at least `floor(units_per_m ·
    /// max(0, lower_bound_from_ecef_chord_m(chord)))`, the chord being the
    /// straight-line distance from `x` to the point. Keys are computed only
    /// for the points the sweep reaches.
    pub fn ordered<F: FnMut(u32) -> Option<i64>>(
        &self,
        x: &[f64; 3],
        units_per_m: f64,
        key: F,
    ) -> Ordered<'_, F> {
        let p = dot(&self.axis, x);
        let start = self.sorted.partition_point(|e| e.0 < p);
        Ordered {
            sorted: &self.sorted,
            p,
            lo: start,
            hi: start,
            units_per_m,
            key,
            heap: BinaryHeap::new(),
        }
    }
}

/// The iterator of [`Sweep::ordered`].
pub(super) struct Ordered<'a, F> {
    sorted: &'a [(f64, u32)],
    p: f64,
    /// Points below `lo` and from `hi` on are not reached yet.
    lo: usize,
    hi: usize,
    units_per_m: f64,
    key: F,
    heap: BinaryHeap<Reverse<(i64, u32)>>,
}

impl<F: FnMut(u32) -> Option<i64>> Iterator for Ordered<'_, F> {
    type Item = (i64, u32);

    fn next(&mut self) -> Option<(i64, u32)> {
        loop {
            let below = (self.lo > 0).then(|| self.p - self.sorted[self.lo - 1].0);
            let above = (self.hi < self.sorted.len()).then(|| self.sorted[self.hi].0 - self.p);
            let (gap, down) = match (below, above) {
                (None, None) => return self.heap.pop().map(|Reverse(e)| e),
                (Some(b), None) => (b, true),
                (None, Some(a)) => (a, false),
                (Some(b), Some(a)) => (b.min(a), b <= a),
            };
            // No point not yet reached has a key below this.
            let lb = lower_bound_from_ecef_chord_m((gap - SLACK_M).max(0.0)).max(0.0);
            // `as` truncates: the floor of a non-negative number.
            let frontier = (lb * self.units_per_m) as i64;
            if let Some(&Reverse(top)) = self.heap.peek() {
                if top.0 < frontier {
                    self.heap.pop();
                    return Some(top);
                }
            }
            let j = if down {
                self.lo -= 1;
                self.sorted[self.lo].1
            } else {
                self.hi += 1;
                self.sorted[self.hi - 1].1
            };
            if let Some(k) = (self.key)(j) {
                self.heap.push(Reverse((k, j)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Sweep;
    use crate::geodesic::{ecef_chord_m, ecef_m, lower_bound_from_ecef_chord_m};
    use crate::model::LonLat;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn points(rng: &mut ChaCha8Rng, n: usize, spread: f64) -> Vec<[f64; 3]> {
        (0..n)
            .map(|_| {
                ecef_m(LonLat::new(
                    9.7 + rng.random_range(-spread..spread),
                    45.7 + rng.random_range(-spread..spread) * 0.7,
                ))
            })
            .collect()
    }

    #[test]
    fn ordered_equals_sorting_every_key() {
        let mut rng = ChaCha8Rng::seed_from_u64(31);
        for case in 0..300 {
            let n = rng.random_range(0..80);
            let spread = if case % 3 == 0 { 0.01 } else { 0.6 };
            let pts = points(&mut rng, n, spread);
            let sweep = Sweep::new(&pts);
            let x = points(&mut rng, 1, spread)[0];
            // Keys as the solver makes them (mm, floored), some with a
            // non-negative offset, some points left out; duplicates too.
            let offset: Vec<i64> = (0..n)
                .map(|_| {
                    if rng.random_bool(0.5) {
                        0
                    } else {
                        rng.random_range(0..5_000_000)
                    }
                })
                .collect();
            let out: Vec<bool> = (0..n).map(|_| rng.random_bool(0.1)).collect();
            let key = |j: u32| {
                let lb = lower_bound_from_ecef_chord_m(ecef_chord_m(&x, &pts[j as usize])).max(0.0);
                (!out[j as usize]).then(|| (lb * 1000.0) as i64 + offset[j as usize])
            };
            let mut want: Vec<(i64, u32)> =
                (0..n as u32).filter_map(|j| Some((key(j)?, j))).collect();
            want.sort();
            let got: Vec<(i64, u32)> = sweep.ordered(&x, 1000.0, key).collect();
            assert_eq!(got, want, "case {case}");
            // Lazily: the first few keys need only the points nearby.
            let mut reached = 0;
            let first: Vec<(i64, u32)> = sweep
                .ordered(&x, 1000.0, |j| {
                    reached += 1;
                    key(j)
                })
                .take(3)
                .collect();
            assert_eq!(first[..], want[..want.len().min(3)], "case {case}");
            if case % 3 != 0 && n >= 60 {
                assert!(reached < n, "case {case}: reached all {n}");
            }
        }
    }

    #[test]
    fn within_holds_every_point_in_the_radius() {
        let mut rng = ChaCha8Rng::seed_from_u64(37);
        for case in 0..300 {
            let n = rng.random_range(0..80);
            let pts = points(&mut rng, n, 0.5);
            let sweep = Sweep::new(&pts);
            let x = points(&mut rng, 1, 0.5)[0];
            let r = rng.random_range(0.0..40_000.0);
            let got: Vec<u32> = sweep.within(&x, r).collect();
            for (j, p) in pts.iter().enumerate() {
                if ecef_chord_m(&x, p) <= r {
                    assert!(got.contains(&(j as u32)), "case {case}: {j} missed");
                }
            }
            let mut unique = got.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), got.len(), "case {case}: repeated points");
        }
        // Points exactly on a circle of the radius are kept.
        let centre = ecef_m(LonLat::new(9.7, 45.7));
        let pts: Vec<[f64; 3]> = (0..36)
            .map(|k| {
                let a = (k as f64 * 10.0).to_radians();
                [
                    centre[0] + 5_000.0 * a.cos(),
                    centre[1] + 5_000.0 * a.sin(),
                    centre[2],
                ]
            })
            .collect();
        let sweep = Sweep::new(&pts);
        let r = pts
            .iter()
            .map(|p| ecef_chord_m(&centre, p))
            .fold(0.0, f64::max);
        assert_eq!(sweep.within(&centre, r).count(), 36);
    }
}
