//! The members near a point's cheapest under per-member offsets, found
//! without measuring the rest: what a congestion model (RAAM) needs of a
//! resident once it knows roughly what each facility's congestion costs.
//!
//! A member `k` at distance `d_k` costs `d_k + o_k` for an offset `o_k`
//! that lies somewhere in `[lo_k, hi_k]`. The members worth keeping are
//! those that could be the cheapest for some offsets in those ranges:
//!
//! ```text
//! d_k + lo_k ≤ M = min_j (d_j + hi_j)        (j within the radius)
//! ```
//!
//! The ECEF chord `c_k` never exceeds the geodesic, so `ℓ_k`, the chord
//! less a hair for rounding, is a lower bound of `d_k` costing a few
//! multiplications. The member `k₀` that minimises `ℓ_k + hi_k` is
//! measured: `U = d_k₀ + hi_k₀ ≥ M` (if it is within the radius; if not,
//! `U = ∞`). Every member to keep has `ℓ_k + lo_k ≤ d_k + lo_k ≤ M ≤ U`,
//! so only the members with `ℓ_k + lo_k ≤ U` are measured. Under 50 km
//! the chord is within a millimetre of the geodesic, so nearly every
//! member measured is kept.

use std::borrow::Cow;
use std::collections::HashMap;

use super::{Origin, ReachIndex};
use crate::geodesic::{ecef_m, LocalFrame, MIN_CURVATURE_RADIUS_M, SHORT_LINE_MAX_M};
use crate::model::LonLat;

/// Relative slack on the comparisons with `U`, far above the rounding of
/// sums of a few distances and offsets (a few units in the last place).
const SLACK: f64 = 1e-9;

/// For each cell of a [`ReachIndex`], the members that may be near the
/// cheapest of some point of the cell under given offsets
/// ([`ReachIndex::near_lists`]).
#[derive(Debug, Clone, Default)]
pub struct NearLists {
    cells: HashMap<(i64, i64), Vec<u32>>,
}

impl NearLists {
    /// Members listed, over every cell (a measure of the work saved).
    pub fn listed(&self) -> usize {
        self.cells.values().map(Vec::len).sum()
    }
}

/// The cells of a [`ReachIndex`] whose candidates include some of a set
/// of members ([`ReachIndex::cells_listing`]).
#[derive(Debug, Clone)]
pub struct CellsListing {
    /// Cells the index was built for whose candidates include none.
    quiet: std::collections::HashSet<(i64, i64)>,
    /// No grid: every point's candidates are every member.
    everywhere: bool,
    cell_deg: f64,
}

impl CellsListing {
    /// Whether the candidates of `p`'s cell may include one of the
    /// members: if not, no pair of `p` with them is within the radius,
    /// and [`ReachIndex::for_each_near`] calls for `p` do not depend on
    /// their offsets. A point outside the cells the index was built for
    /// is counted in.
    pub fn contains(&self, p: LonLat) -> bool {
        self.everywhere
            || !self.quiet.contains(&(
                (p.lon / self.cell_deg).floor() as i64,
                (p.lat / self.cell_deg).floor() as i64,
            ))
    }
}

impl ReachIndex {
    /// The cells whose candidates include a member `k` with `cols[k]`.
    pub fn cells_listing(&self, cols: &[bool]) -> CellsListing {
        let quiet = self
            .cells
            .iter()
            .filter(|(_, list)| !list.iter().any(|&k| cols[k as usize]))
            .map(|(&key, _)| key)
            .collect();
        CellsListing {
            quiet,
            everywhere: self.cell_deg == 0.0,
            cell_deg: self.cell_deg,
        }
    }

    /// The lists [`ReachIndex::for_each_near`] may read in place of the
    /// cells' own for the offsets `lo` and `hi`: of a cell's candidates,
    /// those that may be near the cheapest of some point of it.
    ///
    /// With `C` the cell's centre and `h` a bound on the distance from `C`
    /// to the cell's points `P`, the triangle inequality gives
    /// `d(P, k) ≥ d(C, k) − h ≥ chord(C, k) − h` and `d(P, j) ≤ d(C, j) +
    /// h`. A member `j` with `d(C, j) + h` within the radius is within it
    /// from every `P`, so `M(P) = min_j (d(P, j) + hi_j) ≤ U = min_j
    /// (d(C, j) + h + hi_j)` over those; `d(C, j)` is bounded above from
    /// the chord `c` by `c (1 + q)`, `q = 1.01 x²/6`, `x = c / 2R` (`R`
    /// the least radius of curvature; see [`crate::Bands`]), plus a
    /// micrometre. A member to keep has `chord(C, k) − h + lo_k ≤ d(P, k)
    /// + lo_k ≤ M(P) ≤ U`: the list holds the candidates with
    /// `chord(C, k) − h + lo_k ≤ U`.
    pub fn near_lists(&self, lo: &[f64], hi: &[f64]) -> NearLists {
        let mut lists = NearLists::default();
        if self.cell_deg == 0.0 {
            return lists;
        }
        let radius = self.radius_m;
        for (&key, list) in &self.cells {
            let (centre, h) = self.cell_centre(key);
            let o = ecef_m(centre);
            let chord = |k: u32| {
                let e = self.frame[k as usize].ecef();
                ((e[0] - o[0]).powi(2) + (e[1] - o[1]).powi(2) + (e[2] - o[2]).powi(2)).sqrt()
            };
            let mut upper = f64::INFINITY;
            for &j in list {
                let c = chord(j);
                if c > SHORT_LINE_MAX_M {
                    continue;
                }
                let x = c / (2.0 * MIN_CURVATURE_RADIUS_M);
                let d = c * (1.0 + 1.01 * x * x / 6.0 + 1e-12) + 1e-6;
                if d + h <= radius {
                    upper = upper.min(d + h + hi[j as usize]);
                }
            }
            let bound = upper + SLACK * upper.abs();
            let near: Vec<u32> = list
                .iter()
                .copied()
                .filter(|&k| {
                    let low = lo[k as usize];
                    low != f64::INFINITY
                        && chord(k) * (1.0 - SLACK) - 1e-6 - h + low - SLACK * low.abs() <= bound
                })
                .collect();
            lists.cells.insert(key, near);
        }
        lists
    }

    /// Calls `f(column, metres)`, in column order, for every member within
    /// the radius of `p` with `d_k + lo[k] ≤ min_j (d_j + hi[j])` (the
    /// minimum over every member within the radius), and perhaps a few
    /// more that come within a millionth of a metre-sized slack: the
    /// distances are those [`ReachIndex::for_each_within`] reports. `lo`
    /// and `hi` hold an offset per column, `lo[k] ≤ hi[k]`; a column whose
    /// `lo` is +∞ is never called. `scratch` is working room.
    ///
    /// Every member the condition holds for is called, so that a caller
    /// who filters the calls by the condition gets exactly those members.
    ///
    /// `lists`, if given, must be [`ReachIndex::near_lists`] of the same
    /// offsets: the candidates are then read from them.
    pub fn for_each_near(
        &self,
        p: LonLat,
        lists: Option<&NearLists>,
        lo: &[f64],
        hi: &[f64],
        scratch: &mut Vec<f64>,
        mut f: impl FnMut(u32, f64),
    ) {
        let radius = self.radius_m;
        if radius.is_nan() || radius < 0.0 {
            return;
        }
        let listed = match lists {
            Some(l) if self.cell_deg != 0.0 => l.cells.get(&self.cell_of(p)),
            _ => None,
        };
        let list = match listed {
            Some(l) => Cow::Borrowed(l.as_slice()),
            None => self.list_of(p),
        };
        let frame = LocalFrame::new(p);
        let at = Origin::new(self, &frame);
        // Lower bounds of the distances (+∞ beyond the radius), and the
        // least bound plus `hi`.
        scratch.clear();
        scratch.extend(list.iter().map(|&k| {
            let (_, c2) = at.chord2(self, k);
            if c2 <= at.reject2 {
                c2.sqrt() * (1.0 - SLACK) - 1e-6
            } else {
                f64::INFINITY
            }
        }));
        let mut first = None;
        let mut least = f64::INFINITY;
        for (&k, &l) in list.iter().zip(scratch.iter()) {
            let x = l + hi[k as usize];
            if x < least {
                least = x;
                first = Some(k);
            }
        }
        let Some(k0) = first else { return };
        let upper = match at.measure(self, k0) {
            Some(d) => d + hi[k0 as usize],
            None => f64::INFINITY,
        };
        let bound = upper + SLACK * upper.abs();
        for (&k, &l) in list.iter().zip(scratch.iter()) {
            let low = lo[k as usize];
            if low != f64::INFINITY && l + low - SLACK * low.abs() <= bound {
                if let Some(d) = at.measure(self, k) {
                    f(k, d);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reach::tests::facilities;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Against every member within the radius, filtered by the condition:
    /// the members it holds for are all called, with the same distances,
    /// and the ones called besides are few; the same reading the cells'
    /// near lists, which hold far fewer candidates than the cells. The
    /// offsets are of the order of the distances, ranges narrow and wide,
    /// some members given no offset at all (+∞); the radius cuts through
    /// the candidates.
    #[test]
    fn every_member_that_may_be_cheapest_is_called_with_its_distance() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let at = |rng: &mut ChaCha8Rng| LonLat {
            lon: rng.random_range(9.4..10.2),
            lat: rng.random_range(45.4..46.0),
        };
        // Some at the address of the one before.
        let n = 300;
        let mut sites: Vec<LonLat> = Vec::new();
        for i in 0..n {
            let p = if i % 37 == 5 {
                sites[i - 1]
            } else {
                at(&mut rng)
            };
            sites.push(p);
        }
        let members: Vec<u32> = (0..n as u32).collect();
        let points: Vec<LonLat> = (0..3000).map(|_| at(&mut rng)).collect();
        let index = ReachIndex::new(&facilities(&sites), &members, 10_000.0, &points);
        let all_listed: usize = index.cells.values().map(Vec::len).sum();
        let mut scratch = Vec::new();
        let (mut wanted, mut extra, mut listed) = (0usize, 0usize, 0usize);
        for (round, points) in points.chunks(100).enumerate() {
            let width = [0.0, 50.0, 2000.0][round % 3];
            let lo: Vec<f64> = (0..n)
                .map(|k| {
                    if k % 29 == 3 {
                        f64::INFINITY
                    } else {
                        rng.random_range(0.0..3000.0)
                    }
                })
                .collect();
            let hi: Vec<f64> = lo.iter().map(|&l| l + width).collect();
            let lists = index.near_lists(&lo, &hi);
            listed += lists.listed();
            for &p in points {
                let mut all = Vec::new();
                index.for_each_within(p, |k, d| all.push((k, d)));
                let least = all
                    .iter()
                    .map(|&(k, d)| d + hi[k as usize])
                    .fold(f64::INFINITY, f64::min);
                let want: Vec<(u32, f64)> = all
                    .iter()
                    .copied()
                    .filter(|&(k, d)| d + lo[k as usize] <= least)
                    .collect();
                for lists in [None, Some(&lists)] {
                    let mut got = Vec::new();
                    index.for_each_near(p, lists, &lo, &hi, &mut scratch, |k, d| got.push((k, d)));
                    // In column order, every one a member within reach
                    // with its distance, and every wanted one among them.
                    assert!(got.windows(2).all(|w| w[0].0 < w[1].0), "order at {p:?}");
                    for g in &got {
                        assert!(all.contains(g), "{g:?} is not within reach of {p:?}");
                    }
                    for w in &want {
                        assert!(got.contains(w), "{w:?} missing at {p:?}");
                    }
                    extra += got.len() - want.len();
                }
                wanted += want.len();
            }
        }
        assert!(wanted > 3000, "the condition held {wanted} times");
        // Points whose cells list none of a few members reach none of them.
        let flagged: Vec<bool> = (0..n).map(|k| k % 23 == 0).collect();
        let listing = index.cells_listing(&flagged);
        let mut quiet = 0;
        for &p in &points {
            if !listing.contains(p) {
                quiet += 1;
                index.for_each_within(p, |k, _| {
                    assert!(!flagged[k as usize], "{p:?} reaches {k}");
                });
            }
        }
        assert!(quiet > 100 && quiet < points.len(), "{quiet} quiet points");
        assert!(extra * 50 <= wanted, "{extra} called besides {wanted}");
        assert!(
            listed * 2 <= all_listed * 30,
            "near lists hold {listed} of {} candidates",
            all_listed * 30
        );
    }

    /// A point with nothing within reach calls nothing; offsets that are
    /// all +∞ call nothing.
    #[test]
    fn nothing_in_reach_calls_nothing() {
        let f = facilities(&[LonLat {
            lon: 9.0,
            lat: 45.0,
        }]);
        let p = LonLat {
            lon: 9.5,
            lat: 45.0,
        };
        let index = ReachIndex::new(&f, &[0], 10_000.0, &[p]);
        let mut scratch = Vec::new();
        let mut called = 0;
        index.for_each_near(p, None, &[0.0], &[0.0], &mut scratch, |_, _| called += 1);
        let near = LonLat {
            lon: 9.01,
            lat: 45.0,
        };
        let inf = [f64::INFINITY];
        index.for_each_near(near, None, &inf, &inf, &mut scratch, |_, _| called += 1);
        assert_eq!(called, 0);
        index.for_each_near(near, None, &[0.0], &[1.0], &mut scratch, |_, _| called += 1);
        assert_eq!(called, 1);
    }
}
