//! The demand × supply matrix of decay weights, read one row at a time:
//! from a stored [`Kernel`], or recomputed from the geodesic on each
//! pass, so that a resident-level job (a hundred million pairs within
//! 10 km) never holds its pairs in memory.

use bacino_core::{Bands, LonLat, ReachIndex};

use crate::decay::Decay;
use crate::kernel::Kernel;

/// One row's pairs: columns in increasing order and their weights.
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// Columns, increasing.
    pub col: Vec<u32>,
    /// The weight of each column.
    pub w: Vec<f64>,
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
        GeodesicRows {
            index,
            points,
            cols,
            decay,
            bands,
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
