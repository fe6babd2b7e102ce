//! Weighted distance statistics (CONTRACT §2).
//!
//! Percentiles are numpy's default ("linear") percentiles of the list in
//! which every value is repeated `weight` times. With unit weights that is
//! exactly `numpy.percentile(values, q)`; with integer weights it is the same
//! as expanding the rows into people; fractional weights use the same formula.

use serde::{Deserialize, Serialize};

use crate::exec::Executor;

/// Statistics of a set of weighted distances, all in metres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Total weight (people).
    #[serde(serialize_with = "serialize_whole")]
    pub count: f64,
    /// Weighted median.
    pub median_m: f64,
    /// 25th percentile.
    pub p25_m: f64,
    /// 75th percentile.
    pub p75_m: f64,
    /// 90th percentile.
    pub p90_m: f64,
    /// Weighted mean.
    pub mean_m: f64,
    /// Largest distance with a positive weight.
    pub max_m: f64,
}

/// Counts of whole people serialise as integers.
pub(crate) fn serialize_whole<S: serde::Serializer>(count: &f64, s: S) -> Result<S::Ok, S::Error> {
    if count.fract() == 0.0 && count.abs() < 9e15 {
        s.serialize_u64(*count as u64)
    } else {
        s.serialize_f64(*count)
    }
}

/// [`serialize_whole`] of an optional number (`null` when absent).
pub(crate) fn serialize_whole_opt<S: serde::Serializer>(
    x: &Option<f64>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match x {
        Some(v) => serialize_whole(v, s),
        None => s.serialize_none(),
    }
}

/// Rounds metres to millimetres for output.
pub fn round_mm(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl Summary {
    /// Summarises `(distance_m, weight)` pairs; pairs with zero weight are
    /// ignored. Returns `None` when nothing has positive weight. Reorders
    /// `pairs`.
    pub fn from_weighted(pairs: &mut [(f64, f64)]) -> Option<Summary> {
        if pairs.iter().all(|p| p.1 == 1.0) {
            let mut values: Vec<f64> = pairs.iter().map(|p| p.0).collect();
            return Self::from_unit_weights(&mut values);
        }
        let mut pairs: Vec<(f64, f64)> = pairs.iter().copied().filter(|p| p.1 > 0.0).collect();
        if pairs.is_empty() {
            return None;
        }
        radsort::sort_by_key(&mut pairs, |p| p.0);
        let mut cumulative = Vec::with_capacity(pairs.len());
        let (mut total, mut weighted_sum) = (0.0, 0.0);
        for &(d, w) in &pairs {
            total += w;
            weighted_sum += d * w;
            cumulative.push(total);
        }
        // x(k): the value at position k of the expanded list.
        let at = |k: f64| -> f64 {
            let i = cumulative.partition_point(|&c| c <= k);
            pairs[i.min(pairs.len() - 1)].0
        };
        let percentile = |p: f64| -> f64 {
            let h = (p * (total - 1.0)).max(0.0);
            let lo = h.floor();
            let (a, b) = (at(lo), at((lo + 1.0).min((total - 1.0).max(0.0))));
            a + (h - lo) * (b - a)
        };
        Some(Summary {
            count: total,
            median_m: percentile(0.5),
            p25_m: percentile(0.25),
            p75_m: percentile(0.75),
            p90_m: percentile(0.9),
            mean_m: weighted_sum / total,
            max_m: pairs[pairs.len() - 1].0,
        })
    }

    /// Summarises unweighted distances (every weight 1).
    pub fn from_values(values: &[f64]) -> Option<Summary> {
        Self::from_unit_weights(&mut values.to_vec())
    }

    /// As [`Summary::from_values`], reordering `values` instead of copying
    /// them.
    pub fn from_values_in_place(values: &mut [f64]) -> Option<Summary> {
        Self::from_unit_weights(values)
    }

    /// The unit-weight case: numpy's linear percentiles from the order
    /// statistics they need, found by selection (no sort, no allocation).
    /// Reorders `values`.
    fn from_unit_weights(values: &mut [f64]) -> Option<Summary> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let sum = values
            .chunks(SUM_CHUNK)
            .map(chunk_sum)
            .fold(0.0, |a, s| a + s);
        let max = values.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        let mut figures = [0.0; 4];
        // From the highest rank down, so each selection only searches the
        // part below the previous one: values[bound..] are in final place.
        let mut bound = n;
        let mut below: Option<(usize, f64, f64)> = None;
        for (q, out) in QS.iter().zip(figures.iter_mut()) {
            let h = q * (n - 1) as f64;
            let lo = h.floor() as usize;
            let (x_lo, x_hi) = match below {
                Some((k, a, b)) if k == lo => (a, b),
                _ => {
                    let (_, &mut x_lo, right) =
                        values[..bound].select_nth_unstable_by(lo, f64::total_cmp);
                    let x_hi = if lo + 1 >= n {
                        x_lo
                    } else if right.is_empty() {
                        values[bound] // the order statistic selected before
                    } else {
                        right.iter().copied().fold(f64::INFINITY, f64::min)
                    };
                    bound = lo;
                    (x_lo, x_hi)
                }
            };
            below = Some((lo, x_lo, x_hi));
            *out = x_lo + (h - lo as f64) * (x_hi - x_lo);
        }
        Some(Self::of_unit_figures(n, sum, max, figures))
    }

    fn of_unit_figures(n: usize, sum: f64, max: f64, figures: [f64; 4]) -> Summary {
        let [p90_m, p75_m, median_m, p25_m] = figures;
        Summary {
            count: n as f64,
            median_m,
            p25_m,
            p75_m,
            p90_m,
            mean_m: sum / n as f64,
            max_m: max,
        }
    }

    /// [`Summary::from_values`] (the same figures, bit for bit) computed
    /// by `exec`'s threads, neither copying nor reordering `values`: what
    /// one group of millions of residents needs, where a selection on one
    /// thread took 0.4 s for 50 million.
    ///
    /// The order statistics are found by their keys' bits (a radix
    /// selection): a histogram of the top sixteen bits tells which bucket
    /// holds each rank needed, a second histogram of the next twelve bits
    /// of those buckets' values narrows it to values within 2⁻¹⁶ of each
    /// other (1.6 cm at 1.5 km), and those few values are gathered and
    /// selected from.
    pub fn from_values_with<E: Executor>(values: &[f64], exec: &E) -> Option<Summary> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        // At most 16 units (each keeps a histogram per bucket followed),
        // each of whole sum chunks.
        let unit = n.div_ceil(16).div_ceil(SUM_CHUNK).max(1) * SUM_CHUNK;
        let parts: Vec<&[f64]> = values.chunks(unit).collect();
        let first = exec.map(parts.clone(), |p| {
            let sums: Vec<f64> = p.chunks(SUM_CHUNK).map(chunk_sum).collect();
            let max = p.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
            let mut hist = vec![0u32; RADIX];
            for &v in p {
                hist[(order_key(v) >> 48) as usize] += 1;
            }
            (sums, max, hist)
        });
        let mut sum = 0.0;
        let mut max = f64::NEG_INFINITY;
        let mut top = vec![0usize; RADIX];
        for (sums, m, hist) in &first {
            sum = sums.iter().fold(sum, |a, &s| a + s);
            max = max.max(*m);
            for (t, &h) in top.iter_mut().zip(hist) {
                *t += h as usize;
            }
        }
        drop(first);
        // The ranks each figure needs: the order statistic at or below its
        // position, and the next one.
        let positions = QS.map(|q| q * (n - 1) as f64);
        let mut ranks: Vec<usize> = positions
            .iter()
            .flat_map(|h| {
                let lo = h.floor() as usize;
                [lo, (lo + 1).min(n - 1)]
            })
            .collect();
        ranks.sort_unstable();
        ranks.dedup();
        // Level 1: each rank's top bucket, and its rank within it.
        let level1: Vec<(u64, usize)> = ranks.iter().map(|&r| bucket_of(&top, r)).collect();
        let mut tops: Vec<u64> = level1.iter().map(|l| l.0).collect();
        tops.dedup();
        // Level 2: the next sixteen bits of those buckets' values.
        let mut slot_of = vec![u8::MAX; RADIX];
        for (k, &t) in tops.iter().enumerate() {
            slot_of[t as usize] = k as u8;
        }
        let second = exec.map(parts.clone(), |p| {
            let mut hist = vec![0u32; tops.len() * RADIX2];
            for &v in p {
                let key = order_key(v);
                let slot = slot_of[(key >> 48) as usize];
                if slot != u8::MAX {
                    hist[slot as usize * RADIX2 + ((key >> 36) as usize & (RADIX2 - 1))] += 1;
                }
            }
            hist
        });
        let mut sub = vec![0usize; tops.len() * RADIX2];
        for hist in &second {
            for (t, &h) in sub.iter_mut().zip(hist) {
                *t += h as usize;
            }
        }
        drop(second);
        // Each rank's 28-bit prefix and its rank among the values having it.
        let level2: Vec<(u64, usize)> = level1
            .iter()
            .map(|&(t, r)| {
                let k = tops.binary_search(&t).unwrap_or_default();
                let (b, r) = bucket_of(&sub[k * RADIX2..(k + 1) * RADIX2], r);
                ((t << 12) | b, r)
            })
            .collect();
        let mut prefixes: Vec<u64> = level2.iter().map(|l| l.0).collect();
        prefixes.dedup();
        // The values with those prefixes, each part's in order, then
        // the order statistics among them.
        let gathered = exec.map(parts, |p| {
            let mut out = vec![Vec::new(); prefixes.len()];
            for &v in p {
                if let Ok(k) = prefixes.binary_search(&(order_key(v) >> 36)) {
                    out[k].push(v);
                }
            }
            out
        });
        let mut bins: Vec<Vec<f64>> = vec![Vec::new(); prefixes.len()];
        for out in gathered {
            for (bin, v) in bins.iter_mut().zip(out) {
                bin.extend(v);
            }
        }
        let value_of = |rank: usize| -> f64 {
            let i = ranks.binary_search(&rank).unwrap_or_default();
            let (prefix, r) = level2[i];
            let k = prefixes.binary_search(&prefix).unwrap_or_default();
            let bin = &bins[k];
            // Ties (a dataset of many equal distances) make one large bin
            // of equal values: no selection, no copy.
            if bin.iter().all(|v| v.to_bits() == bin[0].to_bits()) {
                return bin[0];
            }
            *bin.clone().select_nth_unstable_by(r, f64::total_cmp).1
        };
        let mut figures = [0.0; 4];
        for (h, out) in positions.iter().zip(figures.iter_mut()) {
            let lo = h.floor() as usize;
            let x_lo = value_of(lo);
            let x_hi = value_of((lo + 1).min(n - 1));
            *out = x_lo + (h - lo as f64) * (x_hi - x_lo);
        }
        Some(Self::of_unit_figures(n, sum, max, figures))
    }

    /// The same figures rounded to millimetres (count untouched).
    pub fn rounded(self) -> Summary {
        Summary {
            count: self.count,
            median_m: round_mm(self.median_m),
            p25_m: round_mm(self.p25_m),
            p75_m: round_mm(self.p75_m),
            p90_m: round_mm(self.p90_m),
            mean_m: round_mm(self.mean_m),
            max_m: round_mm(self.max_m),
        }
    }
}

/// The figures' fractions, highest first.
const QS: [f64; 4] = [0.9, 0.75, 0.5, 0.25];

/// Values per partial sum of a mean: a set's sum is that of its
/// consecutive chunks' sums, in order, whichever thread computes them.
const SUM_CHUNK: usize = 1 << 16;

fn chunk_sum(chunk: &[f64]) -> f64 {
    chunk.iter().fold(0.0, |a, &v| a + v)
}

/// Buckets of a radix selection's first level (sixteen bits: sign,
/// exponent, four bits of mantissa) and of its second (twelve more).
const RADIX: usize = 1 << 16;
const RADIX2: usize = 1 << 12;

/// A key whose unsigned order is `f64::total_cmp`'s: a sign bit set is
/// flipped with every other bit, a clear one is set.
fn order_key(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | 1 << 63
    }
}

/// The bucket holding the value of rank `rank` (0-based) among values
/// counted by bucket in `counts`, and its rank within the bucket.
fn bucket_of(counts: &[usize], mut rank: usize) -> (u64, usize) {
    for (b, &c) in counts.iter().enumerate() {
        if rank < c {
            return (b as u64, rank);
        }
        rank -= c;
    }
    unreachable!("a rank below the count of the values")
}

/// Weighted linear percentiles (the formula of [`Summary`]) at each of
/// `qs` (fractions in `[0, 1]`), in order; `None` when nothing has positive
/// weight. For the distribution (CDF) of a group. Reorders `pairs`.
pub fn quantiles(pairs: &mut [(f64, f64)], qs: &[f64]) -> Option<Vec<f64>> {
    let mut live: Vec<(f64, f64)> = pairs.iter().copied().filter(|p| p.1 > 0.0).collect();
    if live.is_empty() {
        return None;
    }
    radsort::sort_by_key(&mut live, |p| p.0);
    let mut cumulative = Vec::with_capacity(live.len());
    let mut total = 0.0;
    for &(_, w) in &live {
        total += w;
        cumulative.push(total);
    }
    let at = |k: f64| -> f64 {
        let i = cumulative.partition_point(|&c| c <= k);
        live[i.min(live.len() - 1)].0
    };
    Some(
        qs.iter()
            .map(|&q| {
                let h = (q.clamp(0.0, 1.0) * (total - 1.0)).max(0.0);
                let lo = h.floor();
                let (a, b) = (at(lo), at((lo + 1.0).min((total - 1.0).max(0.0))));
                a + (h - lo) * (b - a)
            })
            .collect(),
    )
}

/// `steps + 1` evenly spaced fractions from 0 to 1 (the CDF's grid).
pub fn quantile_grid(steps: u32) -> Vec<f64> {
    (0..=steps)
        .map(|i| f64::from(i) / f64::from(steps))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// numpy.percentile(v, q) ('linear'), written out independently.
    fn numpy_linear(v: &[f64], q: f64) -> f64 {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        let h = (s.len() - 1) as f64 * q;
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(s.len() - 1);
        s[lo] + (h - lo as f64) * (s[hi] - s[lo])
    }

    #[test]
    fn median_of_even_count_is_mean_of_middle_values() {
        let s = Summary::from_values(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!(s.median_m, 2.5);
        assert_eq!(s.count, 4.0);
        assert_eq!(s.mean_m, 2.5);
        assert_eq!(s.max_m, 4.0);
        // numpy: percentile([1,2,3,4], 25) = 1.75, 75 -> 3.25, 90 -> 3.7
        assert_eq!(s.p25_m, 1.75);
        assert_eq!(s.p75_m, 3.25);
        assert!((s.p90_m - 3.7).abs() < 1e-12);
    }

    #[test]
    fn unit_weights_equal_numpy_linear_percentiles() {
        let v: Vec<f64> = (0..1001)
            .map(|i| ((i * 7919) % 1009) as f64 * 1.37)
            .collect();
        for n in [1usize, 2, 3, 10, 99, 1001] {
            let s = Summary::from_values(&v[..n]).unwrap();
            assert_eq!(s.median_m, numpy_linear(&v[..n], 0.5), "n={n}");
            assert_eq!(s.p25_m, numpy_linear(&v[..n], 0.25), "n={n}");
            assert_eq!(s.p75_m, numpy_linear(&v[..n], 0.75), "n={n}");
            assert_eq!(s.p90_m, numpy_linear(&v[..n], 0.9), "n={n}");
        }
    }

    #[test]
    fn selection_gives_the_sorted_percentiles_with_ties_and_any_size() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for n in (1..60).chain([100, 101, 1000, 4097]) {
            for _ in 0..20 {
                // Few distinct values: many ties around every rank.
                let v: Vec<f64> = (0..n)
                    .map(|_| rng.random_range(0..7) as f64 * 0.5)
                    .collect();
                let s = Summary::from_values(&v).unwrap();
                for (got, q) in [
                    (s.median_m, 0.5),
                    (s.p25_m, 0.25),
                    (s.p75_m, 0.75),
                    (s.p90_m, 0.9),
                ] {
                    assert_eq!(got, numpy_linear(&v, q), "n={n} q={q}");
                }
                let max = v.iter().copied().fold(f64::MIN, f64::max);
                assert_eq!(s.max_m, max);
            }
        }
    }

    #[test]
    fn the_radix_selection_gives_the_figures_of_the_selection() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let sizes = (1..40).chain([1000, 3 * SUM_CHUNK + 17, 40 * SUM_CHUNK + 1]);
        for n in sizes {
            for shape in 0..4 {
                let v: Vec<f64> = (0..n)
                    .map(|_| match shape {
                        // Distances as they come: metres to tens of km.
                        0 => rng.random_range(0.0..30_000.0),
                        // Ties everywhere, zeros among them.
                        1 => rng.random_range(0..5) as f64 * 250.0,
                        // Signs, tiny and huge magnitudes.
                        2 => {
                            let m: f64 = rng.random_range(-1.0..1.0);
                            m * 10f64.powi(rng.random_range(-300..300))
                        }
                        // Values a few ulps apart: one level-2 bucket.
                        _ => f64::from_bits(1500f64.to_bits() + rng.random_range(0..64)),
                    })
                    .collect();
                let want = Summary::from_values(&v).unwrap();
                let got = Summary::from_values_with(&v, &crate::Sequential).unwrap();
                for (g, w) in [
                    (got.count, want.count),
                    (got.median_m, want.median_m),
                    (got.p25_m, want.p25_m),
                    (got.p75_m, want.p75_m),
                    (got.p90_m, want.p90_m),
                    (got.mean_m, want.mean_m),
                    (got.max_m, want.max_m),
                ] {
                    assert_eq!(g.to_bits(), w.to_bits(), "n={n} shape={shape}");
                }
                if n >= 1000 {
                    assert_eq!(got.median_m, numpy_linear(&v, 0.5), "n={n} shape={shape}");
                }
            }
        }
        assert_eq!(Summary::from_values_with(&[], &crate::Sequential), None);
    }

    #[test]
    fn integer_weights_equal_expanding_rows_into_people() {
        let pairs = [(10.0, 3.0), (2.0, 1.0), (7.0, 2.0), (30.0, 4.0)];
        let expanded: Vec<f64> = pairs
            .iter()
            .flat_map(|&(d, w)| std::iter::repeat_n(d, w as usize))
            .collect();
        let s = Summary::from_weighted(&mut pairs.clone()).unwrap();
        assert_eq!(s.count, 10.0);
        for (got, q) in [
            (s.median_m, 0.5),
            (s.p25_m, 0.25),
            (s.p75_m, 0.75),
            (s.p90_m, 0.9),
        ] {
            assert!((got - numpy_linear(&expanded, q)).abs() < 1e-12, "q={q}");
        }
        // mean = (30 + 2 + 14 + 120) / 10
        assert!((s.mean_m - 16.6).abs() < 1e-12);
    }

    #[test]
    fn the_weighted_path_agrees_with_the_unit_weight_path() {
        // Weights 2 on every row: same percentiles as unit weights on the
        // doubled list, computed by the general (cumulative-weight) path.
        let v: Vec<f64> = (0..57).map(|i| ((i * 31) % 57) as f64 * 3.5).collect();
        let doubled: Vec<f64> = v.iter().flat_map(|&x| [x, x]).collect();
        let unit = Summary::from_values(&doubled).unwrap();
        let mut pairs: Vec<(f64, f64)> = v.iter().map(|&x| (x, 2.0)).collect();
        let weighted = Summary::from_weighted(&mut pairs).unwrap();
        assert_eq!(unit.count, weighted.count);
        for (a, b) in [
            (unit.median_m, weighted.median_m),
            (unit.p25_m, weighted.p25_m),
            (unit.p75_m, weighted.p75_m),
            (unit.p90_m, weighted.p90_m),
            (unit.mean_m, weighted.mean_m),
            (unit.max_m, weighted.max_m),
        ] {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
    }

    #[test]
    fn zero_weights_are_ignored_and_empty_input_has_no_summary() {
        assert!(Summary::from_weighted(&mut [(5.0, 0.0)]).is_none());
        assert!(Summary::from_values(&[]).is_none());
        let s = Summary::from_weighted(&mut [(5.0, 0.0), (1.0, 1.0)]).unwrap();
        assert_eq!((s.count, s.max_m, s.median_m), (1.0, 1.0, 1.0));
    }

    #[test]
    fn count_serialises_as_integer_when_whole() {
        let s = Summary::from_values(&[1.0, 2.0]).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.starts_with("{\"count\":2,"), "{json}");
    }

    #[test]
    fn quantiles_equal_numpy_on_the_expanded_list_and_the_summary() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let grid = quantile_grid(20);
        assert_eq!(grid.len(), 21);
        assert_eq!((grid[0], grid[10], grid[20]), (0.0, 0.5, 1.0));
        for n in [1usize, 2, 5, 10, 37, 200] {
            let pairs: Vec<(f64, f64)> = (0..n)
                .map(|_| {
                    (
                        rng.random_range(0..50) as f64 * 10.5,
                        rng.random_range(0..4) as f64,
                    )
                })
                .collect();
            let expanded: Vec<f64> = pairs
                .iter()
                .flat_map(|&(d, w)| std::iter::repeat_n(d, w as usize))
                .collect();
            let got = quantiles(&mut pairs.clone(), &grid);
            if expanded.is_empty() {
                assert!(got.is_none());
                continue;
            }
            let got = got.unwrap();
            for (q, g) in grid.iter().zip(&got) {
                let want = numpy_linear(&expanded, *q);
                assert!((g - want).abs() < 1e-9, "n={n} q={q}: {g} vs {want}");
            }
            assert!(got.windows(2).all(|w| w[0] <= w[1]));
            let s = Summary::from_weighted(&mut pairs.clone()).unwrap();
            assert_eq!(got[10], s.median_m);
            assert_eq!(got[20], s.max_m);
        }
    }
}
