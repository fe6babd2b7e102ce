//! Every facility within one fixed radius of many points, fast: the pairs
//! an accessibility kernel or a coverage model measures.
//!
//! A lon/lat grid of cells about an eighth of the radius across; each cell
//! a point falls in lists, in column order, the facilities that may lie
//! within the radius of *some* point of the cell: those whose ECEF chord to
//! the cell's centre is at most `radius + h`, `h` bounding the geodesic
//! distance from the centre to any point of the cell. (A chord never
//! exceeds the geodesic, and by the triangle inequality a facility farther
//! than `radius + h` from the centre is farther than `radius` from every
//! point of the cell.) A point then tests its cell's list: a chord longer
//! than the radius rules a facility out at the cost of a few
//! multiplications; the rest are measured by [`LocalFrame`] (within
//! [`short_line_error_bound_m`](crate::geodesic::short_line_error_bound_m)
//! of the geodesic: 30 nm to 10 km), and by Karney where that error could decide,
//! so that membership is exact. Lists come out in column order, so the
//! pairs of a point need no sorting.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::geodesic::{
    ecef_m, geodesic_distance_m, short_line_error_bound_m, FrameColumns, LocalFrame,
    MIN_CURVATURE_RADIUS_M, SHORT_LINE_MAX_M,
};
use crate::model::{Facilities, FacilityIdx, LonLat};

mod near;
pub use near::{CellsListing, NearLists};

thread_local! {
    /// Scratch for [`ReachIndex::within`]'s candidates, by component, and
    /// which index and list they are: `(ReachIndex::id, address, length)`
    /// of a cell's list.
    static COLUMNS: std::cell::RefCell<(Option<ListKey>, FrameColumns)> = Default::default();
}

/// A cell's list: `(ReachIndex::id, address, length)`.
type ListKey = (u64, usize, usize);

/// Numbers each [`ReachIndex`] built (its `id`).
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Radii beyond this list every facility in every cell.
const GRID_MAX_RADIUS_M: f64 = 500_000.0;

/// Facilities within a fixed radius of the points it was built for.
#[derive(Debug)]
pub struct ReachIndex {
    /// Unique to this index (a clone gets its own): names its lists in
    /// [`COLUMNS`].
    id: u64,
    radius_m: f64,
    frame: Vec<LocalFrame>,
    /// Cell size, degrees (0: no grid, every facility is a candidate).
    cell_deg: f64,
    cells: HashMap<(i64, i64), Vec<u32>>,
    all: Vec<u32>,
}

/// A clone gets an `id` of its own: its lists are other allocations.
impl Clone for ReachIndex {
    fn clone(&self) -> ReachIndex {
        ReachIndex {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            radius_m: self.radius_m,
            frame: self.frame.clone(),
            cell_deg: self.cell_deg,
            cells: self.cells.clone(),
            all: self.all.clone(),
        }
    }
}

impl ReachIndex {
    /// An index of `members` (column `k` is `members[k]`) answering
    /// [`ReachIndex::for_each_within`] at `radius_m` for any of `points`
    /// (other points work too, more slowly).
    pub fn new(
        facilities: &Facilities,
        members: &[FacilityIdx],
        radius_m: f64,
        points: &[LonLat],
    ) -> ReachIndex {
        let frame: Vec<LocalFrame> = members
            .iter()
            .map(|&f| LocalFrame::new(facilities.get(f).location))
            .collect();
        let all: Vec<u32> = (0..members.len() as u32).collect();
        let mut index = ReachIndex {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            radius_m,
            frame,
            cell_deg: 0.0,
            cells: HashMap::new(),
            all,
        };
        if !(0.0..=GRID_MAX_RADIUS_M).contains(&radius_m) {
            return index;
        }
        // About an eighth of the radius (at least ~10 m, at most a degree).
        index.cell_deg = (radius_m / 8.0 / 111_000.0).clamp(1e-4, 1.0);
        let mut keys: Vec<(i64, i64)> = points.iter().map(|&p| index.cell_of(p)).collect();
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            let list = index.candidates(key);
            index.cells.insert(key, list);
        }
        index
    }

    fn cell_of(&self, p: LonLat) -> (i64, i64) {
        (
            (p.lon / self.cell_deg).floor() as i64,
            (p.lat / self.cell_deg).floor() as i64,
        )
    }

    /// The facilities that may be within the radius of a point of `cell`.
    fn candidates(&self, key: (i64, i64)) -> Vec<u32> {
        let (centre, h) = self.cell_centre(key);
        let limit = self.radius_m + h;
        let limit2 = limit * limit;
        let o = ecef_m(centre);
        self.frame
            .iter()
            .map(LocalFrame::ecef)
            .enumerate()
            .filter(|(_, e)| {
                (e[0] - o[0]).powi(2) + (e[1] - o[1]).powi(2) + (e[2] - o[2]).powi(2) <= limit2
            })
            .map(|(k, _)| k as u32)
            .collect()
    }

    /// A cell's centre, and a bound on the geodesic distance from it to
    /// any point of the cell.
    fn cell_centre(&self, (ix, iy): (i64, i64)) -> (LonLat, f64) {
        let c = self.cell_deg;
        let (lon0, lat0) = (ix as f64 * c, iy as f64 * c);
        let (lon1, lat1) = (lon0 + c, (lat0 + c).min(90.0));
        let lat0 = lat0.max(-90.0);
        let centre = LonLat {
            lon: 0.5 * (lon0 + lon1),
            lat: 0.5 * (lat0 + lat1),
        };
        // The farthest point of a small lon/lat cell from its centre is a
        // corner; 1 % and a metre of slack keep the bound safe.
        let h = [(lon0, lat0), (lon0, lat1), (lon1, lat0), (lon1, lat1)]
            .into_iter()
            .map(|(lon, lat)| geodesic_distance_m(centre, LonLat { lon, lat }))
            .fold(0.0, f64::max)
            * 1.01
            + 1.0;
        (centre, h)
    }

    /// The indices of `points` ordered by the cell each falls in (row by
    /// row of the grid), then by index: a visiting order in which the
    /// points that share a cell's candidates come one after another, so
    /// that [`ReachIndex::within`] gathers each cell's frames once rather
    /// than once per run of the points' own order. `None` without a grid
    /// (one list serves every point).
    pub fn cell_order(&self, points: &[LonLat]) -> Option<Vec<u32>> {
        if self.cell_deg == 0.0 {
            return None;
        }
        assert!(points.len() <= 1 << 32, "at most 2³² points");
        if points.is_empty() {
            return Some(Vec::new());
        }
        let (mut x0, mut x1, mut y0, mut y1) = (i64::MAX, i64::MIN, i64::MAX, i64::MIN);
        for &p in points {
            let (x, y) = self.cell_of(p);
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
        let cell = |p: LonLat| {
            let (x, y) = self.cell_of(p);
            (x.abs_diff(x0), y.abs_diff(y0))
        };
        // Each point's cell numbered row by row over the points' extent,
        // and packed with the point's index in one integer to sort: 8
        // bytes a point when the extent has at most 2³² cells (a province,
        // a country at any radius of a kilometre or more); beyond (cells
        // of metres over a continent), (row, column, index) as they are.
        let width = x1.abs_diff(x0).saturating_add(1);
        let cells = y1.abs_diff(y0).saturating_add(1).checked_mul(width);
        let order = if cells.is_some_and(|n| n <= 1 << 32) {
            let mut keyed: Vec<u64> = points
                .iter()
                .enumerate()
                .map(|(i, &p)| {
                    let (x, y) = cell(p);
                    (y * width + x) << 32 | i as u64
                })
                .collect();
            keyed.sort_unstable();
            keyed.iter().map(|&k| k as u32).collect()
        } else {
            let mut keyed: Vec<(u64, u64, u32)> = points
                .iter()
                .enumerate()
                .map(|(i, &p)| {
                    let (x, y) = cell(p);
                    (y, x, i as u32)
                })
                .collect();
            keyed.sort_unstable();
            keyed.iter().map(|k| k.2).collect()
        };
        Some(order)
    }

    /// The radius, metres.
    pub fn radius_m(&self) -> f64 {
        self.radius_m
    }

    /// Calls `f(column, metres)` for every member within the radius of `p`
    /// (inclusive), in column order.
    #[inline]
    pub fn for_each_within(&self, p: LonLat, mut f: impl FnMut(u32, f64)) {
        let radius = self.radius_m;
        if radius.is_nan() || radius < 0.0 {
            return;
        }
        let list = self.list_of(p);
        let frame = LocalFrame::new(p);
        let at = Origin::new(self, &frame);
        for &k in list.iter() {
            if let Some(d) = at.measure(self, k) {
                f(k, d);
            }
        }
    }
}

/// A point about to be measured against candidates: its frame, the
/// squared chord beyond which a candidate is out of reach, and the band
/// of the radius where Karney decides.
pub(crate) struct Origin<'a> {
    pub(crate) frame: &'a LocalFrame,
    pub(crate) o: [f64; 3],
    /// A chord longer than this rules the facility out (slack for the
    /// rounding of the coordinates).
    pub(crate) reject2: f64,
    band: f64,
}

impl<'a> Origin<'a> {
    #[inline(always)]
    pub(crate) fn new(index: &ReachIndex, frame: &'a LocalFrame) -> Origin<'a> {
        let radius = index.radius_m;
        Origin {
            frame,
            o: frame.ecef(),
            reject2: (radius * (1.0 + 1e-12) + 1e-6).powi(2),
            band: short_line_error_bound_m(radius),
        }
    }

    /// The squared chord to member `k` and its components.
    #[inline(always)]
    pub(crate) fn chord2(&self, index: &ReachIndex, k: u32) -> ([f64; 3], f64) {
        let e = index.frame[k as usize].ecef();
        let o = self.o;
        let (dx, dy, dz) = (e[0] - o[0], e[1] - o[1], e[2] - o[2]);
        ([dx, dy, dz], dx * dx + dy * dy + dz * dz)
    }

    /// Member `k`'s distance, `None` beyond the radius: what
    /// [`ReachIndex::for_each_within`] reports.
    #[inline(always)]
    pub(crate) fn measure(&self, index: &ReachIndex, k: u32) -> Option<f64> {
        let (d3, c2) = self.chord2(index, k);
        if c2 > self.reject2 {
            return None;
        }
        let radius = index.radius_m;
        let fq = &index.frame[k as usize];
        let p = self.frame.point();
        // As `frame.distance_to(fq)`, without measuring the chord again.
        let mut d = self
            .frame
            .short_distance_along(fq, d3, c2)
            .unwrap_or_else(|| geodesic_distance_m(p, fq.point()));
        if (d - radius).abs() <= self.band {
            d = geodesic_distance_m(p, fq.point());
        }
        (d <= radius).then_some(d)
    }
}

/// The thresholds of a piecewise-constant decay (a step function, or the
/// reach alone), prepared for [`ReachIndex::within_bands`]: for each, the
/// chords that decide a pair without measuring it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bands {
    /// Increasing; the last is the index's radius.
    t: Vec<f64>,
    /// A chord² at most this puts the pair within `t` for sure.
    sure_in2: Vec<f64>,
    /// A chord² above this puts the pair beyond `t` for sure.
    sure_out2: Vec<f64>,
    /// Measured distances this close to `t` are decided by Karney.
    band: Vec<f64>,
}

impl Bands {
    /// Bands ending at the thresholds of `inner` below `radius_m`, then at
    /// `radius_m` (thresholds at or beyond it, and ones that are not
    /// positive and finite, are dropped).
    ///
    /// # The chord brackets
    /// A geodesic is never shorter than its chord `c`, so `c > t` (with
    /// slack for rounding) puts a pair beyond `t`. For `t ≤`
    /// [`SHORT_LINE_MAX_M`], [`LocalFrame::distance_to`] is
    /// `c (1 + x²/6 + 3x⁴/40)` with `x = k c / 2` and `k` a mean of
    /// principal curvatures, at most `1 / MIN_CURVATURE_RADIUS_M`; so for
    /// `c ≤ t` it is at most `c (1 + q)`, `q = 1.01 x_t²/6` with
    /// `x_t = t / (2 MIN_CURVATURE_RADIUS_M)` (the 1 % covers the quartic
    /// term, 1e-11 of it at 50 km, and rounding). A chord with
    /// `c (1 + q) < t − band(t) − 1 µm` therefore has a measured distance
    /// below `t` and outside the band where Karney would decide: the pair
    /// is within `t` exactly when [`ReachIndex::for_each_within`] says so,
    /// and nothing needs measuring.
    pub fn new(inner: &[f64], radius_m: f64) -> Bands {
        let mut t: Vec<f64> = inner
            .iter()
            .copied()
            .filter(|&x| x.is_finite() && x > 0.0 && x < radius_m)
            .collect();
        t.sort_by(f64::total_cmp);
        t.dedup();
        t.push(radius_m);
        let sure_out2 = t
            .iter()
            .map(|&x| (x * (1.0 + 1e-12) + 1e-6).powi(2))
            .collect();
        let band: Vec<f64> = t.iter().map(|&x| short_line_error_bound_m(x)).collect();
        let sure_in2 = t
            .iter()
            .zip(&band)
            .map(|(&x, &b)| {
                if x.is_nan() || x > SHORT_LINE_MAX_M {
                    return -1.0;
                }
                let xt = x / (2.0 * MIN_CURVATURE_RADIUS_M);
                let q = 1.01 * xt * xt / 6.0 + 1e-12;
                let c = (x - b - 1e-6) / (1.0 + q);
                if c > 0.0 {
                    c * c * (1.0 - 1e-12)
                } else {
                    -1.0
                }
            })
            .collect();
        Bands {
            t,
            sure_in2,
            sure_out2,
            band,
        }
    }

    /// The thresholds, increasing; the last is the radius.
    pub fn thresholds(&self) -> &[f64] {
        &self.t
    }
}

impl ReachIndex {
    /// The members within the radius of `p` (inclusive), in column order,
    /// with their distances: what [`ReachIndex::for_each_within`] gives,
    /// in place of the contents of `cols` and `dist`. Every candidate is
    /// measured and the out-of-reach ones dropped without a branch, so
    /// the processor overlaps the lines (within the short-line range;
    /// beyond it, the same as `for_each_within`).
    pub fn within(&self, p: LonLat, cols: &mut Vec<u32>, dist: &mut Vec<f64>) {
        self.measured::<false>(p, cols, dist);
    }

    /// [`ReachIndex::within`] with the squares of the distances, taken
    /// without the square root the distances need: the same members, each
    /// square within `2 d ε + ε²` of the geodesic's (`ε` the kernel's
    /// error, [`short_line_error_bound_m`]), and exactly the square of
    /// Karney's distance where Karney decides.
    pub fn within_squared(&self, p: LonLat, cols: &mut Vec<u32>, dist2: &mut Vec<f64>) {
        self.measured::<true>(p, cols, dist2);
    }

    fn measured<const SQUARED: bool>(&self, p: LonLat, cols: &mut Vec<u32>, out: &mut Vec<f64>) {
        cols.clear();
        out.clear();
        let radius = self.radius_m;
        if radius.is_nan() || radius < 0.0 {
            return;
        }
        let value = |d: f64| if SQUARED { d * d } else { d };
        if radius > SHORT_LINE_MAX_M {
            self.for_each_within(p, |k, d| {
                cols.push(k);
                out.push(value(d));
            });
            return;
        }
        let list = self.list_of(p);
        cols.resize(list.len(), 0);
        out.resize(list.len(), 0.0);
        let frame = LocalFrame::new(p);
        let reject2 = (radius * (1.0 + 1e-12) + 1e-6).powi(2);
        let band = short_line_error_bound_m(radius);
        // First every candidate is measured, each independently of the
        // others (no running count between them), so the processor
        // overlaps their divisions and square roots; a chord beyond reach
        // (whose formula may be out of its range) gets +∞.
        // The candidates' frames by component, so that the loop is
        // vectorised (`LocalFrame::short_lines`: the same values as
        // `short_line_formula`, one line at a time).
        // Consecutive points in one cell (most, in a file's order) share
        // them: filled once per run of such points.
        COLUMNS.with_borrow_mut(|(filled, columns)| {
            let key = match &list {
                Cow::Borrowed(l) => Some((self.id, l.as_ptr() as usize, l.len())),
                Cow::Owned(_) => None,
            };
            if key.is_none() || *filled != key {
                columns.fill(&self.frame, &list);
                *filled = key;
            }
            frame.short_lines::<SQUARED>(columns, reject2, out);
        });
        // Then those in reach are kept, in order: in for sure below the
        // band, out above it (a chord can be within the radius when the
        // geodesic is not), Karney within. Squares are compared with the
        // squares of the band's ends, which the kernel's rounding (a few
        // units in the last place) cannot cross: the band's 30 nm of slack
        // are orders of magnitude more.
        let (lo, hi) = (value((radius - band).max(0.0)), value(radius + band));
        let mut n = 0;
        let mut near = false;
        for i in 0..list.len() {
            let d = out[i];
            cols[n] = list[i];
            out[n] = d;
            let inside = d <= hi;
            near |= inside & (d >= lo);
            n += usize::from(inside);
        }
        cols.truncate(n);
        out.truncate(n);
        if near {
            // Karney decides the lines within the kernel's error of the
            // radius, as `for_each_within` does.
            let mut m = 0;
            for i in 0..n {
                let mut keep = true;
                let mut d = out[i];
                if d >= lo {
                    let karney = geodesic_distance_m(p, self.frame[cols[i] as usize].point());
                    keep = karney <= radius;
                    d = value(karney);
                }
                if keep {
                    cols[m] = cols[i];
                    out[m] = d;
                    m += 1;
                }
            }
            cols.truncate(m);
            out.truncate(m);
        }
    }

    /// The members within the radius of `p` (inclusive), in column order,
    /// each with `weights[band]`, `band` being the first of `bands`'
    /// thresholds the geodesic distance is at most, in place of the
    /// contents of `cols` and `w`: the same pairs, and the same bands, as
    /// [`ReachIndex::for_each_within`]'s distance would give (Karney
    /// deciding within its error of every threshold), but measuring only
    /// the pairs whose chord cannot decide (see [`Bands::new`]). `bands`
    /// must end at this index's radius; `weights` has one per band.
    pub fn within_bands(
        &self,
        p: LonLat,
        bands: &Bands,
        weights: &[f64],
        cols: &mut Vec<u32>,
        w: &mut Vec<f64>,
    ) {
        cols.clear();
        w.clear();
        let radius = self.radius_m;
        if radius.is_nan() || radius < 0.0 {
            return;
        }
        debug_assert_eq!(bands.t.last().copied(), Some(radius));
        assert_eq!(weights.len(), bands.t.len(), "one weight per band");
        let list = self.list_of(p);
        cols.resize(list.len(), 0);
        w.resize(list.len(), 0.0);
        let frame = LocalFrame::new(p);
        let o = frame.ecef();
        let last = bands.t.len() - 1;
        let out2 = bands.sure_out2[last];
        let inner_out2 = &bands.sure_out2[..last];
        let mut n = 0;
        for &k in list.iter() {
            let fq = &self.frame[k as usize];
            let e = fq.ecef();
            let (dx, dy, dz) = (e[0] - o[0], e[1] - o[1], e[2] - o[2]);
            let c2 = dx * dx + dy * dy + dz * dz;
            // The first threshold the chord does not put the pair beyond.
            let b: usize = inner_out2.iter().map(|&t| usize::from(c2 > t)).sum();
            let inside = c2 <= out2;
            let sure = c2 <= bands.sure_in2[b];
            if inside & !sure {
                // Rare: a chord within a micrometre or so of a threshold.
                if let Some(b) = measured_band(p, &frame, fq, [dx, dy, dz], c2, bands, b) {
                    cols[n] = k;
                    w[n] = weights[b];
                    n += 1;
                }
                continue;
            }
            cols[n] = k;
            w[n] = weights[b];
            n += usize::from(inside);
        }
        cols.truncate(n);
        w.truncate(n);
    }

    /// The candidates of the cell `p` falls in: its list when the index
    /// was built for it (every member when there is no grid), else
    /// computed now.
    #[inline]
    fn list_of(&self, p: LonLat) -> Cow<'_, [u32]> {
        if self.cell_deg == 0.0 {
            return Cow::Borrowed(&self.all);
        }
        let key = self.cell_of(p);
        match self.cells.get(&key) {
            Some(l) => Cow::Borrowed(l),
            None => Cow::Owned(self.candidates(key)),
        }
    }
}

/// The band of a pair the chord leaves undecided at threshold `b`:
/// measured, and by Karney within its error of a threshold. `None` when
/// beyond the radius. Rare, so kept out of the loop.
#[cold]
#[inline(never)]
fn measured_band(
    p: LonLat,
    frame: &LocalFrame,
    fq: &LocalFrame,
    d: [f64; 3],
    c2: f64,
    bands: &Bands,
    from: usize,
) -> Option<usize> {
    let model = frame
        .short_distance_along(fq, d, c2)
        .unwrap_or_else(|| geodesic_distance_m(p, fq.point()));
    let mut karney = f64::NAN;
    (from..bands.t.len()).find(|&b| {
        if c2 > bands.sure_out2[b] {
            return false;
        }
        if c2 <= bands.sure_in2[b] {
            return true;
        }
        if (model - bands.t[b]).abs() <= bands.band[b] {
            if karney.is_nan() {
                karney = geodesic_distance_m(p, fq.point());
            }
            karney <= bands.t[b]
        } else {
            model <= bands.t[b]
        }
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::index::FacilityIndex;
    use crate::model::{Facility, FacilityKind};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    pub(crate) fn facilities(points: &[LonLat]) -> Facilities {
        Facilities::new(
            points
                .iter()
                .enumerate()
                .map(|(i, &p)| Facility::new(format!("F{i:04}"), FacilityKind::Gp, p))
                .collect(),
        )
        .unwrap()
    }

    /// The same pairs and distances as the R-tree's Karney search, for
    /// several radii, including points far from every facility and near
    /// the antimeridian.
    #[test]
    fn the_pairs_are_exactly_the_trees() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for (lon0, lat0, span) in [(9.4, 45.4, 0.8), (179.7, -17.0, 0.6), (10.0, 78.0, 1.5)] {
            let fpts: Vec<LonLat> = (0..150)
                .map(|_| LonLat {
                    lon: lon0 + rng.random::<f64>() * span,
                    lat: lat0 + rng.random::<f64>() * span * 0.8,
                })
                .map(|p| LonLat {
                    lon: if p.lon > 180.0 { p.lon - 360.0 } else { p.lon },
                    lat: p.lat,
                })
                .collect();
            let f = facilities(&fpts);
            let members: Vec<FacilityIdx> = (0..f.len() as u32).rev().collect();
            let tree = FacilityIndex::new(&f, &members);
            let pts: Vec<LonLat> = (0..400)
                .map(|_| LonLat {
                    lon: lon0 - 0.2 + rng.random::<f64>() * (span + 0.4),
                    lat: lat0 - 0.2 + rng.random::<f64>() * (span + 0.4) * 0.8,
                })
                .map(|p| LonLat {
                    lon: if p.lon > 180.0 { p.lon - 360.0 } else { p.lon },
                    lat: p.lat,
                })
                .collect();
            for radius in [0.0, 800.0, 5_000.0, 20_000.0, f64::INFINITY] {
                // Built for half the points: the others take the slow path.
                let reach = ReachIndex::new(&f, &members, radius, &pts[..200]);
                for &p in &pts {
                    let mut got: Vec<(u32, f64)> = Vec::new();
                    reach.for_each_within(p, |k, d| got.push((k, d)));
                    assert!(got.windows(2).all(|w| w[0].0 < w[1].0), "column order");
                    let (mut cols, mut dist) = (vec![7], vec![7.0]);
                    reach.within(p, &mut cols, &mut dist);
                    let fast: Vec<(u32, f64)> = cols.into_iter().zip(dist).collect();
                    assert_eq!(fast, got, "within as for_each_within, radius {radius}");
                    // The squares, without square roots: the same members,
                    // each the square of the distance to a few ulps.
                    let (mut cols2, mut dist2) = (vec![7], vec![7.0]);
                    reach.within_squared(p, &mut cols2, &mut dist2);
                    assert_eq!(cols2, fast.iter().map(|f| f.0).collect::<Vec<_>>());
                    for (&d2, &(_, d)) in dist2.iter().zip(&fast) {
                        assert!((d2 - d * d).abs() <= 1e-15 * d * d, "{d2} vs {d}²");
                    }
                    let mut want: Vec<(u32, f64)> = if radius.is_finite() {
                        tree.within(p, radius)
                            .into_iter()
                            .map(|h| {
                                let k = members.iter().position(|&m| m == h.facility).unwrap();
                                (k as u32, h.distance_m)
                            })
                            .collect()
                    } else {
                        (0..members.len())
                            .map(|k| (k as u32, geodesic_distance_m(p, fpts[members[k] as usize])))
                            .collect()
                    };
                    want.sort_by_key(|w| w.0);
                    assert_eq!(
                        got.iter().map(|g| g.0).collect::<Vec<_>>(),
                        want.iter().map(|w| w.0).collect::<Vec<_>>(),
                        "radius {radius} at {p:?}"
                    );
                    for (g, w) in got.iter().zip(&want) {
                        let tol = crate::geodesic::short_line_error_bound_m(w.1);
                        assert!((g.1 - w.1).abs() <= tol, "{g:?} vs {w:?}");
                    }
                }
            }
        }
    }

    /// `within` keeps its candidates' columns between calls on a thread:
    /// alternating between indices (a clone among them), and between
    /// points of one cell and of others, every answer is still
    /// `for_each_within`'s, to the bit.
    #[test]
    fn columns_kept_between_calls_follow_the_index_and_the_cell() {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let mut around = |n: usize| -> Vec<LonLat> {
            (0..n)
                .map(|_| LonLat {
                    lon: 9.4 + rng.random::<f64>() * 0.5,
                    lat: 45.4 + rng.random::<f64>() * 0.4,
                })
                .collect()
        };
        let (fa, fb) = (facilities(&around(120)), facilities(&around(80)));
        // Each point followed by one a metre away (most often in its cell).
        let pts: Vec<LonLat> = around(60)
            .into_iter()
            .flat_map(|p| {
                [
                    p,
                    LonLat {
                        lon: p.lon + 1e-5,
                        lat: p.lat,
                    },
                ]
            })
            .collect();
        let all = |f: &Facilities| (0..f.len() as u32).collect::<Vec<FacilityIdx>>();
        let (ma, mb) = (all(&fa), all(&fb));
        let a = ReachIndex::new(&fa, &ma, 5_000.0, &pts);
        let b = ReachIndex::new(&fb, &mb, 5_000.0, &pts);
        let c = a.clone();
        let (mut cols, mut dist) = (Vec::new(), Vec::new());
        let mut compared = 0;
        for &p in &pts {
            for (r, squared) in [
                (&a, false),
                (&b, false),
                (&c, true),
                (&a, true),
                (&a, false),
            ] {
                let mut want: Vec<(u32, f64)> = Vec::new();
                r.for_each_within(p, |k, d| want.push((k, if squared { d * d } else { d })));
                if squared {
                    r.within_squared(p, &mut cols, &mut dist);
                } else {
                    r.within(p, &mut cols, &mut dist);
                }
                let cols_want: Vec<u32> = want.iter().map(|w| w.0).collect();
                assert_eq!(cols, cols_want, "at {p:?}");
                for (&d, &(_, w)) in dist.iter().zip(&want) {
                    // The squares of the same distances, but for Karney's.
                    assert!(
                        if squared {
                            (d - w).abs() <= 1e-15 * w
                        } else {
                            d == w
                        },
                        "{d} vs {w} at {p:?}"
                    );
                }
                compared += cols.len();
            }
        }
        assert!(compared > 1000, "{compared} pairs compared");
    }

    /// The visiting order is every point once, sorted by (grid row, grid
    /// column, index): checked against a sort of the cells themselves,
    /// for a province (packed in 8 bytes) and for the whole globe at a
    /// radius of metres (too many cells for that: sorted as they are).
    #[test]
    fn the_cell_order_is_each_point_once_cell_by_cell() {
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let fac = facilities(&[LonLat {
            lon: 9.6,
            lat: 45.6,
        }]);
        for (radius, lon, lat) in [
            (10_000.0, (9.4, 0.5), (45.4, 0.4)),
            (10.0, (-180.0, 360.0), (-90.0, 180.0)),
        ] {
            let pts: Vec<LonLat> = (0..5_000)
                .map(|_| LonLat {
                    lon: lon.0 + rng.random::<f64>() * lon.1,
                    lat: lat.0 + rng.random::<f64>() * lat.1,
                })
                .collect();
            let index = ReachIndex::new(&fac, &[0], radius, &pts[..10]);
            let order = index.cell_order(&pts).expect("a grid");
            let mut want: Vec<(i64, i64, u32)> = pts
                .iter()
                .enumerate()
                .map(|(i, &p)| {
                    let (x, y) = index.cell_of(p);
                    (y, x, i as u32)
                })
                .collect();
            want.sort();
            let want: Vec<u32> = want.into_iter().map(|w| w.2).collect();
            assert_eq!(order, want, "radius {radius}");
            // Cells shared: far fewer runs of one cell than points.
            let runs = 1 + order
                .windows(2)
                .filter(|w| index.cell_of(pts[w[0] as usize]) != index.cell_of(pts[w[1] as usize]))
                .count();
            if radius > 1_000.0 {
                assert!(runs < 2_000, "{runs} runs");
            }
        }
        let none = ReachIndex::new(&fac, &[0], f64::INFINITY, &[]);
        assert_eq!(none.cell_order(&[LonLat { lon: 0.0, lat: 0.0 }]), None);
        let index = ReachIndex::new(&fac, &[0], 1_000.0, &[]);
        assert_eq!(index.cell_order(&[]), Some(Vec::new()));
    }

    /// A facility exactly at the radius (to the micrometre) is in reach.
    #[test]
    fn the_radius_is_inclusive() {
        let a = LonLat {
            lon: 9.67,
            lat: 45.69,
        };
        let b = LonLat {
            lon: 9.71,
            lat: 45.72,
        };
        let f = facilities(&[b]);
        let d = geodesic_distance_m(a, b);
        let reach = ReachIndex::new(&f, &[0], d, &[a]);
        let mut n = 0;
        reach.for_each_within(a, |_, x| {
            assert_eq!(x, d);
            n += 1;
        });
        assert_eq!(n, 1);
        let reach = ReachIndex::new(&f, &[0], d - 1e-4, &[a]);
        reach.for_each_within(a, |_, _| panic!("beyond the radius"));
        let (mut cols, mut dist) = (Vec::new(), Vec::new());
        reach.within(a, &mut cols, &mut dist);
        assert!(cols.is_empty() && dist.is_empty(), "beyond the radius");
        let reach = ReachIndex::new(&f, &[0], d, &[a]);
        reach.within(a, &mut cols, &mut dist);
        assert_eq!(
            (&cols, &dist),
            (&vec![0], &vec![d]),
            "at the radius, by Karney"
        );
        reach.within_squared(a, &mut cols, &mut dist);
        assert_eq!(
            (&cols, &dist),
            (&vec![0], &vec![d * d]),
            "at the radius, by Karney, squared"
        );
        // Beyond the radius by far more than the kernel's error, with a
        // chord within it (a geodesic of 4.3 km is 80 µm longer than its
        // chord): out, though the chord alone would not rule it out.
        let c = crate::geodesic::ecef_chord_m(&ecef_m(a), &ecef_m(b));
        assert!(c < d - 5e-5, "chord {c}, geodesic {d}");
        let reach = ReachIndex::new(&f, &[0], (c + d) / 2.0, &[a]);
        reach.for_each_within(a, |_, _| panic!("beyond the radius"));
        reach.within(a, &mut cols, &mut dist);
        assert!(
            cols.is_empty() && dist.is_empty(),
            "beyond the radius, chord within"
        );
        reach.within_squared(a, &mut cols, &mut dist);
        assert!(
            cols.is_empty() && dist.is_empty(),
            "beyond the radius, chord within, squared"
        );
    }

    /// Bands against Karney: every pair within the radius, with the first
    /// threshold its Karney distance is at most, for steps, a lone
    /// radius, and radii beyond the short-line range.
    #[test]
    fn bands_are_karneys() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let (lon0, lat0, span) = (9.4, 45.4, 0.8);
        let fpts: Vec<LonLat> = (0..150)
            .map(|_| LonLat {
                lon: lon0 + rng.random::<f64>() * span,
                lat: lat0 + rng.random::<f64>() * span * 0.8,
            })
            .collect();
        let f = facilities(&fpts);
        let members: Vec<FacilityIdx> = (0..f.len() as u32).collect();
        let tree = FacilityIndex::new(&f, &members);
        let pts: Vec<LonLat> = (0..300)
            .map(|_| LonLat {
                lon: lon0 - 0.1 + rng.random::<f64>() * (span + 0.2),
                lat: lat0 - 0.1 + rng.random::<f64>() * (span + 0.2) * 0.8,
            })
            .collect();
        let mut seen = [0usize; 4];
        for (inner, radius) in [
            (vec![], 10_000.0),
            (vec![3_333.0, 6_667.0], 10_000.0),
            (vec![1_000.0, 20_000.0, 45_000.0], 60_000.0),
            (vec![500.0, 9_000.0, 12_000.0], 9_000.0),
        ] {
            let bands = Bands::new(&inner, radius);
            let reach = ReachIndex::new(&f, &members, radius, &pts[..150]);
            for &p in &pts {
                let index: Vec<f64> = (0..bands.thresholds().len()).map(|b| b as f64).collect();
                let (mut cols, mut w) = (vec![3], vec![]);
                reach.within_bands(p, &bands, &index, &mut cols, &mut w);
                let got: Vec<(u32, usize)> = cols
                    .into_iter()
                    .zip(w)
                    .map(|(k, b)| (k, b as usize))
                    .collect();
                let mut want: Vec<(u32, usize)> = tree
                    .within(p, radius)
                    .into_iter()
                    .map(|h| {
                        let b = bands
                            .thresholds()
                            .iter()
                            .position(|&t| h.distance_m <= t)
                            .unwrap();
                        (h.facility, b)
                    })
                    .collect();
                want.sort_unstable();
                assert_eq!(got, want, "{inner:?} {radius} at {p:?}");
                for (_, b) in got {
                    seen[b.min(3)] += 1;
                }
            }
        }
        assert!(seen.iter().all(|&n| n > 100), "every band met: {seen:?}");
    }

    /// A pair at a threshold to the nanometre falls in that band: Karney
    /// decides at inner thresholds as at the radius.
    #[test]
    fn band_edges_are_inclusive() {
        let a = LonLat {
            lon: 9.67,
            lat: 45.69,
        };
        let b = LonLat {
            lon: 9.71,
            lat: 45.72,
        };
        let f = facilities(&[b]);
        let d = geodesic_distance_m(a, b);
        let reach = ReachIndex::new(&f, &[0], d + 100.0, &[a]);
        let band_of = |inner: &[f64]| {
            let bands = Bands::new(inner, d + 100.0);
            let index: Vec<f64> = (0..bands.thresholds().len()).map(|b| b as f64).collect();
            let (mut cols, mut w) = (Vec::new(), Vec::new());
            reach.within_bands(a, &bands, &index, &mut cols, &mut w);
            w.into_iter().map(|b| b as usize).collect::<Vec<_>>()
        };
        assert_eq!(band_of(&[d]), vec![0]);
        assert_eq!(band_of(&[d - 5e-8, d]), vec![1]);
        assert_eq!(band_of(&[d - 5e-8]), vec![1]);
        assert_eq!(band_of(&[d + 5e-8]), vec![0]);
        assert_eq!(band_of(&[]), vec![0]);
    }
}
