//! Weighted distance statistics (CONTRACT §2).
//!
//! Percentiles are numpy's default ("linear") percentiles of the list in
//! which every value is repeated `weight` times. With unit weights that is
//! exactly `numpy.percentile(values, q)`; with integer weights it is the same
//! as expanding the rows into people; fractional weights use the same formula.

use serde::{Deserialize, Serialize};

/// Statistics of a set of weighted distances, all in metres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Total weight (people).
    #[serde(serialize_with = "serialize_count")]
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
fn serialize_count<S: serde::Serializer>(count: &f64, s: S) -> Result<S::Ok, S::Error> {
    if count.fract() == 0.0 && count.abs() < 9e15 {
        s.serialize_u64(*count as u64)
    } else {
        s.serialize_f64(*count)
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

    /// The unit-weight case: numpy's linear percentiles on sorted values,
    /// without cumulative weights. Reorders `values`.
    fn from_unit_weights(values: &mut [f64]) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        radsort::sort(values);
        let n = values.len();
        let percentile = |p: f64| -> f64 {
            let h = p * (n - 1) as f64;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            values[lo] + (h - lo as f64) * (values[hi] - values[lo])
        };
        Some(Summary {
            count: n as f64,
            median_m: percentile(0.5),
            p25_m: percentile(0.25),
            p75_m: percentile(0.75),
            p90_m: percentile(0.9),
            mean_m: values.iter().sum::<f64>() / n as f64,
            max_m: values[n - 1],
        })
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
}
