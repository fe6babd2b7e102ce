//! The demand × supply matrix of decay weights, read one row at a time:
//! from a stored [`Kernel`], or recomputed from the geodesic on each
//! pass, so that a resident-level job (a hundred million pairs within
//! 10 km) never holds its pairs in memory.

use bacino_core::{Bands, LonLat, NearLists, ReachIndex};

use crate::decay::Decay;
use crate::kernel::Kernel;

/// One row's pairs: columns in increasing order and their weights (or
/// costs).
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// Columns, increasing.
    pub col: Vec<u32>,
    /// The weight of each column.
    pub w: Vec<f64>,
    /// Working room for the readers.
    scratch: Vec<f64>,
}

impl Row {
    fn clear(&mut self) {
        self.col.clear();
        self.w.clear();
    }

    /// The pairs, as `(column, weight)`.
    #[inline]
    pub fn pairs(&self) -> impl Iterator<Item = (usize, f64)> + '_ {
        self.col
            .iter()
            .map(|&j| j as usize)
            .zip(self.w.iter().copied())
    }
}

/// A demand × supply matrix of weights, read by rows (any thread).
pub trait WeightRows: Sync {
    /// Demand points.
    fn rows(&self) -> usize;
    /// Supply points.
    fn cols(&self) -> usize;
    /// Row `i`'s pairs, in column order, in place of `out`'s.
    fn row(&self, i: usize, out: &mut Row);
    /// An order in which reading the rows is faster than in their own
    /// (a permutation of `0..rows()`), if there is one.
    fn visiting_order(&self) -> Option<&[u32]> {
        None
    }
}

/// A stored kernel of weights.
impl WeightRows for Kernel {
    fn rows(&self) -> usize {
        Kernel::rows(self)
    }

    fn cols(&self) -> usize {
        Kernel::cols(self)
    }

    fn row(&self, i: usize, out: &mut Row) {
        let (c, v) = Kernel::row(self, i);
        out.clear();
        out.col.extend_from_slice(c);
        out.w.extend_from_slice(v);
    }
}

/// A demand × supply matrix of costs (the metric's unit), read by rows
/// (any thread): what RAAM reads, from a stored kernel or measured afresh.
pub trait CostRows: Sync {
    /// Demand points.
    fn rows(&self) -> usize;
    /// Supply points.
    fn cols(&self) -> usize;
    /// Row `i`'s pairs within reach, in column order, in place of `out`'s
    /// (the costs in `out.w`).
    fn row(&self, i: usize, out: &mut Row);
    /// Windows of extra costs per column, `lo ≤ hi`, prepared for
    /// [`CostRows::row_near`]; a column whose `lo` is +∞ is left out.
    fn near(&self, lo: Vec<f64>, hi: Vec<f64>) -> NearWindows {
        NearWindows {
            lo,
            hi,
            lists: None,
        }
    }
    /// Row `i`'s pairs that may be its cheapest when column `k` costs an
    /// extra `o_k ∈ [lo[k], hi[k]]` (the windows of `near`): every pair
    /// with `c_k + lo[k] ≤ min_j (c_j + hi[j])` (the minimum over all the
    /// row's pairs), and perhaps others within a relative 1e-9 of that,
    /// in column order, in place of `out`'s.
    fn row_near(&self, i: usize, near: &NearWindows, out: &mut Row);
    /// The rows whose `row_near` may depend on the windows of the
    /// flagged columns (rows that may have a pair with one); `None`: any
    /// row may.
    fn rows_reaching(&self, cols: &[bool]) -> Option<Vec<bool>> {
        let _ = cols;
        None
    }
}

/// Windows of extra costs per column ([`CostRows::near`]).
#[derive(Debug, Clone)]
pub struct NearWindows {
    /// The least extra cost of each column.
    pub lo: Vec<f64>,
    /// The most.
    pub hi: Vec<f64>,
    /// Candidates per cell of a [`ReachIndex`] for these windows.
    pub lists: Option<NearLists>,
}

/// Relative slack of [`CostRows::row_near`]'s comparison.
const NEAR_SLACK: f64 = 1e-9;

/// A stored kernel of costs.
impl CostRows for Kernel {
    fn rows(&self) -> usize {
        Kernel::rows(self)
    }

    fn cols(&self) -> usize {
        Kernel::cols(self)
    }

    fn row(&self, i: usize, out: &mut Row) {
        WeightRows::row(self, i, out);
    }

    fn rows_reaching(&self, cols: &[bool]) -> Option<Vec<bool>> {
        Some(
            (0..Kernel::rows(self))
                .map(|i| Kernel::row(self, i).0.iter().any(|&j| cols[j as usize]))
                .collect(),
        )
    }

    fn row_near(&self, i: usize, near: &NearWindows, out: &mut Row) {
        let (lo, hi) = (&near.lo, &near.hi);
        let (c, v) = Kernel::row(self, i);
        out.clear();
        let least = c
            .iter()
            .zip(v)
            .map(|(&j, &x)| x + hi[j as usize])
            .fold(f64::INFINITY, f64::min);
        let bound = least + NEAR_SLACK * least.abs();
        for (&j, &x) in c.iter().zip(v) {
            let low = lo[j as usize];
            if low != f64::INFINITY && x + low - NEAR_SLACK * low.abs() <= bound {
                out.col.push(j);
                out.w.push(x);
            }
        }
    }
}

/// The geodesic distances (metres) of every point within a
/// [`ReachIndex`]'s radius, measured afresh on each read; the pairs near
/// a row's cheapest found by the chord without measuring the others
/// ([`ReachIndex::for_each_near`]).
#[derive(Debug, Clone, Copy)]
pub struct GeodesicCosts<'a> {
    /// The facilities, and the radius.
    pub index: &'a ReachIndex,
    /// One per row.
    pub points: &'a [LonLat],
    /// Columns (the index's members).
    pub cols: usize,
}

impl CostRows for GeodesicCosts<'_> {
    fn rows(&self) -> usize {
        self.points.len()
    }

    fn cols(&self) -> usize {
        self.cols
    }

    fn row(&self, i: usize, out: &mut Row) {
        self.index.within(self.points[i], &mut out.col, &mut out.w);
    }

    fn rows_reaching(&self, cols: &[bool]) -> Option<Vec<bool>> {
        let listing = self.index.cells_listing(cols);
        Some(self.points.iter().map(|&p| listing.contains(p)).collect())
    }

    fn near(&self, lo: Vec<f64>, hi: Vec<f64>) -> NearWindows {
        let lists = Some(self.index.near_lists(&lo, &hi));
        NearWindows { lo, hi, lists }
    }

    fn row_near(&self, i: usize, near: &NearWindows, out: &mut Row) {
        out.clear();
        let (col, w) = (&mut out.col, &mut out.w);
        self.index.for_each_near(
            self.points[i],
            near.lists.as_ref(),
            &near.lo,
            &near.hi,
            &mut out.scratch,
            |k, d| {
                col.push(k);
                w.push(d);
            },
        );
    }
}

/// A stored kernel of costs seen through a decay.
#[derive(Debug, Clone, Copy)]
pub struct Decayed<'a> {
    /// Costs, in the metric's unit.
    pub cost: &'a Kernel,
    /// Their weights.
    pub decay: &'a Decay,
}

impl WeightRows for Decayed<'_> {
    fn rows(&self) -> usize {
        self.cost.rows()
    }

    fn cols(&self) -> usize {
        self.cost.cols()
    }

    fn row(&self, i: usize, out: &mut Row) {
        let (c, v) = self.cost.row(i);
        out.clear();
        out.col.extend_from_slice(c);
        out.w.extend_from_slice(v);
        self.decay.weigh(&mut out.w);
    }
}

/// The geodesic pairs of every point within a [`ReachIndex`]'s radius,
/// measured afresh on each read. A piecewise-constant decay (uniform, or
/// steps) reads its weight from the band the pair falls in, and the
/// chord decides most pairs without measuring them
/// ([`ReachIndex::within_bands`]); any other decay weighs the measured
/// distance.
#[derive(Debug, Clone)]
pub struct GeodesicRows<'a> {
    index: &'a ReachIndex,
    points: &'a [LonLat],
    cols: usize,
    decay: &'a Decay,
    /// The bands and each band's weight, for piecewise-constant decays.
    bands: Option<(Bands, Vec<f64>)>,
    /// Measured rows read faster cell by cell ([`ReachIndex::cell_order`]).
    order: Option<Vec<u32>>,
}

impl<'a> GeodesicRows<'a> {
    /// The rows of `points` (one per demand point) against the `cols`
    /// members of `index`, weighted by `decay`.
    pub fn new(
        index: &'a ReachIndex,
        cols: usize,
        points: &'a [LonLat],
        decay: &'a Decay,
    ) -> GeodesicRows<'a> {
        let radius = index.radius_m();
        let bands = decay.thresholds().map(|inner| {
            let bands = Bands::new(&inner, radius);
            let weights = bands
                .thresholds()
                .iter()
                .map(|&t| decay.weight(t))
                .collect();
            (bands, weights)
        });
        // Bands read the candidates where they lie; measured distances
        // gather them by component first, once per cell when the rows
        // come cell by cell.
        let order = match bands {
            Some(_) => None,
            None => index.cell_order(points),
        };
        GeodesicRows {
            index,
            points,
            cols,
            decay,
            bands,
            order,
        }
    }
}

impl WeightRows for GeodesicRows<'_> {
    fn rows(&self) -> usize {
        self.points.len()
    }

    fn cols(&self) -> usize {
        self.cols
    }

    fn visiting_order(&self) -> Option<&[u32]> {
        self.order.as_deref()
    }

    #[inline]
    fn row(&self, i: usize, out: &mut Row) {
        let p = self.points[i];
        match &self.bands {
            Some((bands, weights)) => {
                self.index
                    .within_bands(p, bands, weights, &mut out.col, &mut out.w)
            }
            // A decay of the squared distance (the Gaussian) takes the
            // squares, which need no square root.
            None if self.decay.of_square() => {
                self.index.within_squared(p, &mut out.col, &mut out.w);
                self.decay.weigh_squared(&mut out.w);
            }
            None => {
                self.index.within(p, &mut out.col, &mut out.w);
                self.decay.weigh(&mut out.w);
            }
        }
    }
}
