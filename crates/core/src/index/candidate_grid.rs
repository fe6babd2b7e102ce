//! The candidate grid behind [`FacilityIndex::nearest`](super::FacilityIndex::nearest):
//! a lon/lat grid whose cells list the facilities that can be nearest to
//! some point of the cell, split where facilities are dense.

use std::sync::OnceLock;

use rstar::RTree;

use super::{dist2, Entry};
use crate::geodesic::{
    meridional_radius_m, unit_normal, MAX_CURVATURE_RADIUS_M, MIN_CURVATURE_RADIUS_M,
};
use crate::model::LonLat;

/// Lists longer than this are answered through the tree instead.
pub(super) const MAX_CELL_CANDIDATES: usize = 64;
/// A cell listing more candidates than this is split ([`SPLIT`]² children).
const SPLIT_ABOVE: usize = 12;
/// Children of a cell listing more than this search the tree, not the
/// list.
const TREE_ABOVE: usize = 256;
/// Children per side of a split cell (a power of two).
const SPLIT: usize = 2;
const SPLIT_BITS: u32 = SPLIT.trailing_zeros();
const _: () = assert!(SPLIT.is_power_of_two());
/// Splits below a top cell, at most: cells down to 1/4096 of a top cell's
/// side (a metre in a country-wide grid).
const MAX_DEPTH: u32 = 12;
/// The smallest cells per side of a top cell.
const FINEST: usize = SPLIT.pow(MAX_DEPTH);

/// A lon/lat grid over the facilities whose every cell lists the facilities
/// that can be nearest to *some* point of the cell (rigorous bounds, see
/// [`candidates_of`]). A query then ranks two or three
/// candidates instead of walking the tree. Where facilities are dense (a
/// city in a country-wide grid) a cell with many candidates is split into
/// [`SPLIT`]² children, recursively, so that lists stay short everywhere.
///
/// A top cell is built the first time a query falls in it (by whichever
/// thread asks first; the result does not depend on which), so cells
/// without residents cost nothing and the building is shared by the
/// threads that run the queries.
#[derive(Debug, Clone)]
pub(super) struct CandidateGrid {
    lon0: f64,
    lat0: f64,
    step_lon: f64,
    step_lat: f64,
    nx: usize,
    ny: usize,
    /// The top cells, row-major.
    cells: Vec<OnceLock<TopCell>>,
    /// Whether each facility is the representative of its location.
    representative: Vec<bool>,
}

/// A top cell, split or not: its root is `nodes[0]`, and the children of
/// a split node are [`SPLIT`]² consecutive nodes, row-major.
#[derive(Debug, Clone, Default)]
struct TopCell {
    nodes: Vec<Node>,
    candidates: Vec<u32>,
}

#[derive(Debug, Clone, Copy)]
enum Node {
    /// `candidates[start..end]`, and `1 / R` for a radius of curvature `R`
    /// no larger than any along a geodesic from a point of the cell to its
    /// nearest facility: such a geodesic of length `s` has end normals at
    /// most `s / R` apart.
    Leaf {
        start: u32,
        end: u32,
        inv_radius: f64,
    },
    /// Split: the children are `nodes[first..first + SPLIT²]`.
    Split { first: u32 },
}

/// A cell: longitudes `[x0, x0 + sx]`, latitudes `[y0, y0 + sy]`.
#[derive(Debug, Clone, Copy)]
struct Rect {
    x0: f64,
    y0: f64,
    sx: f64,
    sy: f64,
}

impl Rect {
    /// Child `(cx, cy)` of this cell split [`SPLIT`] ways.
    fn child(self, cx: usize, cy: usize) -> Rect {
        let (sx, sy) = (self.sx / SPLIT as f64, self.sy / SPLIT as f64);
        Rect {
            x0: self.x0 + cx as f64 * sx,
            y0: self.y0 + cy as f64 * sy,
            sx,
            sy,
        }
    }
}

impl CandidateGrid {
    /// The grid over facilities at `location`; `None` for an empty or too
    /// wide extent. The cells are built as queries reach them.
    pub(super) fn new(location: &[LonLat]) -> Option<Self> {
        if location.is_empty() {
            return None;
        }
        // Facilities sharing a location (two GPs in one building) are at the
        // same distance from everything, and the one with the smallest id
        // wins the tie; only that one is listed, so each site costs one
        // distance. Locals are in id order, so the first at each location
        // has the smallest id there.
        let mut first_at: std::collections::HashMap<(u64, u64), u32> =
            std::collections::HashMap::with_capacity(location.len());
        let representative: Vec<bool> = location
            .iter()
            .enumerate()
            .map(|(i, p)| {
                *first_at
                    .entry((p.lon.to_bits(), p.lat.to_bits()))
                    .or_insert(i as u32)
                    == i as u32
            })
            .collect();
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for p in location {
            x0 = x0.min(p.lon);
            x1 = x1.max(p.lon);
            y0 = y0.min(p.lat);
            y1 = y1.max(p.lat);
        }
        let margin_x = ((x1 - x0) * 0.1).max(0.05);
        let margin_y = ((y1 - y0) * 0.1).max(0.05);
        let (x0, x1) = (x0 - margin_x, x1 + margin_x);
        let (y0, y1) = (y0 - margin_y, y1 + margin_y);
        if x0 < -180.0 || x1 > 180.0 || y0 < -80.0 || y1 > 80.0 || x1 - x0 > 60.0 {
            return None; // large or polar extents: the tree alone does well
        }
        // Top cells a few per facility; they are split where facilities
        // are dense, each child searching only its parent's list.
        let target = (location.len() * 4).clamp(1024, 1 << 16) as f64;
        let cos_mid = ((y0 + y1) * 0.5).to_radians().cos();
        let side = ((x1 - x0) * cos_mid * (y1 - y0) / target).sqrt();
        let (step_lat, step_lon) = (side, side / cos_mid);
        let nx = ((x1 - x0) / step_lon).ceil() as usize;
        let ny = ((y1 - y0) / step_lat).ceil() as usize;
        Some(CandidateGrid {
            lon0: x0,
            lat0: y0,
            step_lon,
            step_lat,
            nx,
            ny,
            cells: (0..nx * ny).map(|_| OnceLock::new()).collect(),
            representative,
        })
    }

    fn top(&self, ix: usize, iy: usize) -> Rect {
        Rect {
            x0: self.lon0 + ix as f64 * self.step_lon,
            y0: self.lat0 + iy as f64 * self.step_lat,
            sx: self.step_lon,
            sy: self.step_lat,
        }
    }

    /// The node for `cell`: a leaf with its candidates, or a split whose
    /// children are filled in turn.
    ///
    /// The candidates lie in a band from the nearest one's angle `θ` from
    /// the cell's centre, `(R_MAX / R_MIN − 1) θ + 2r R_MAX / R_MIN` wide:
    /// splitting shrinks only the `2r` part. Far from every facility (in
    /// the sea beside a dense city) the `θ` part holds dozens of candidates
    /// however small the cell, so a cell is split only while its `2r` part
    /// is at least four times the `θ` part (a split then narrows the band
    /// by at least 40 %). That bounds the cells around a dense cluster at a few
    /// thousand per doubling of the distance; the few queries left with
    /// over [`MAX_CELL_CANDIDATES`] go to the tree.
    fn fill(
        cell_nodes: &mut TopCell,
        source: Source<'_>,
        normal: &[[f64; 3]],
        cell: Rect,
        depth: u32,
        scratch: &mut [Vec<u32>],
    ) -> Node {
        let mut list = std::mem::take(&mut scratch[depth as usize]);
        list.clear();
        let (inv_radius, band) = candidates_of(source, normal, cell, &mut list);
        let node =
            if list.len() > SPLIT_ABOVE && depth < MAX_DEPTH && band.cell >= 4.0 * band.distance {
                let first = cell_nodes.nodes.len();
                cell_nodes
                    .nodes
                    .resize(first + SPLIT * SPLIT, Node::Split { first: 0 });
                for cy in 0..SPLIT {
                    for cx in 0..SPLIT {
                        // A long list is searched faster through the tree.
                        let from = match source {
                            Source::Tree(..) if list.len() > TREE_ABOVE => source,
                            _ => Source::Parent(&list),
                        };
                        let child = Self::fill(
                            cell_nodes,
                            from,
                            normal,
                            cell.child(cx, cy),
                            depth + 1,
                            scratch,
                        );
                        cell_nodes.nodes[first + cy * SPLIT + cx] = child;
                    }
                }
                Node::Split {
                    first: first as u32,
                }
            } else {
                let start = cell_nodes.candidates.len() as u32;
                cell_nodes.candidates.extend_from_slice(&list);
                Node::Leaf {
                    start,
                    end: cell_nodes.candidates.len() as u32,
                    inv_radius,
                }
            };
        scratch[depth as usize] = list;
        node
    }

    /// Builds top cell `(ix, iy)` over the facilities in `tree` (with
    /// their unit normals `normal`).
    fn build_top(&self, ix: usize, iy: usize, tree: &RTree<Entry>, normal: &[[f64; 3]]) -> TopCell {
        let mut top = TopCell {
            nodes: vec![Node::Split { first: 0 }],
            candidates: Vec::new(),
        };
        let mut scratch = vec![Vec::new(); MAX_DEPTH as usize + 1];
        let source = Source::Tree(tree, &self.representative);
        top.nodes[0] = Self::fill(&mut top, source, normal, self.top(ix, iy), 0, &mut scratch);
        top.nodes.shrink_to_fit();
        top.candidates.shrink_to_fit();
        top
    }

    /// The candidates of the cell holding `p`, and the cell's `1 / R`;
    /// `tree` and `normal` are the facilities the grid was made for.
    pub(super) fn cell(
        &self,
        p: LonLat,
        tree: &RTree<Entry>,
        normal: &[[f64; 3]],
    ) -> Option<(&[u32], f64)> {
        let fx = (p.lon - self.lon0) / self.step_lon;
        let fy = (p.lat - self.lat0) / self.step_lat;
        if !(fx >= 0.0 && fy >= 0.0) {
            return None;
        }
        let (ix, iy) = (fx as usize, fy as usize);
        if ix >= self.nx || iy >= self.ny {
            return None;
        }
        let top =
            self.cells[iy * self.nx + ix].get_or_init(|| self.build_top(ix, iy, tree, normal));
        // The point's place in its top cell in units of the smallest
        // cells, whose digits in base `SPLIT` are the children to take
        // from the top down. Cells are built with bounds computed by
        // halving (`Rect::child`); a point rounded across a boundary here
        // is some 1e-16 of a top cell outside its cell, far within the
        // margin the candidates are chosen with (see `candidates_of`).
        let finest = |f: f64, i: usize| (((f - i as f64) * FINEST as f64) as usize).min(FINEST - 1);
        let (ux, uy) = (finest(fx, ix), finest(fy, iy));
        let mut node = top.nodes[0];
        let mut shift = SPLIT_BITS * MAX_DEPTH;
        loop {
            match node {
                Node::Leaf {
                    start,
                    end,
                    inv_radius,
                } => return Some((&top.candidates[start as usize..end as usize], inv_radius)),
                Node::Split { first } => {
                    shift -= SPLIT_BITS;
                    let (cx, cy) = ((ux >> shift) % SPLIT, (uy >> shift) % SPLIT);
                    node = top.nodes[first as usize + cy * SPLIT + cx];
                }
            }
        }
    }

    /// How many cells the grid has built, split or not (for tests).
    #[cfg(test)]
    pub(super) fn nodes(&self) -> usize {
        self.cells
            .iter()
            .filter_map(OnceLock::get)
            .map(|c| c.nodes.len())
            .sum()
    }

    /// The corner of the `(kx, ky)`-th smallest cell of top cell `(ix,
    /// iy)`: a point on the boundaries of every cell around it (for
    /// tests).
    #[cfg(test)]
    pub(super) fn finest_corner(&self, ix: usize, iy: usize, kx: usize, ky: usize) -> LonLat {
        let f = |k: usize| k as f64 / FINEST as f64;
        LonLat::new(
            self.lon0 + (ix as f64 + f(kx)) * self.step_lon,
            self.lat0 + (iy as f64 + f(ky)) * self.step_lat,
        )
    }

    /// The top cell holding `p` (for tests).
    #[cfg(test)]
    pub(super) fn top_of(&self, p: LonLat) -> (usize, usize) {
        let fx = (p.lon - self.lon0) / self.step_lon;
        let fy = (p.lat - self.lat0) / self.step_lat;
        (fx as usize, fy as usize)
    }

    /// How many top cells the grid has built (for tests).
    #[cfg(test)]
    pub(super) fn top_cells(&self) -> usize {
        self.cells.iter().filter(|c| c.get().is_some()).count()
    }
}

/// The two parts of the width of the band of a cell's candidates
/// (radians): the one due to the cell's size, and the one due to its
/// distance from the facilities.
struct Band {
    cell: f64,
    distance: f64,
}

/// Where a cell's candidates are looked for.
#[derive(Clone, Copy)]
enum Source<'a> {
    /// Every facility (a top cell): the tree, and which facilities are
    /// the representatives of their location.
    Tree(&'a RTree<Entry>, &'a [bool]),
    /// The parent cell's candidates: the facilities that can be nearest to
    /// some point of the parent include those of any point of the child,
    /// and the one nearest to the child's centre.
    Parent(&'a [u32]),
}

/// Writes into `out` the facilities that can be nearest to some point of
/// `cell` (sorted), and returns the cell's `1 / R` and its [`Band`].
///
/// For a cell of angular radius `r` (radians, around its centre `c`) and
/// a facility at angle `t` from `c`, every point of the cell lies at a
/// geodesic distance in `[R_MIN (t - r), R_MAX (t + r)]` from it. With
/// `U` the least upper bound over all facilities, the nearest facility of
/// any point in the cell has `R_MIN (t - r) <= U`, i.e.
/// `t <= U / R_MIN + r`: those are the candidates kept.
fn candidates_of(
    source: Source<'_>,
    normal: &[[f64; 3]],
    cell: Rect,
    out: &mut Vec<u32>,
) -> (f64, Band) {
    let (la, lb) = (cell.y0, cell.y0 + cell.sy);
    let max_cos = if la <= 0.0 && lb >= 0.0 {
        1.0
    } else {
        la.abs().min(lb.abs()).to_radians().cos()
    };
    // Any point is within this angle of the centre: half the latitude span
    // plus half the longitude span at its widest.
    let r = (0.5 * cell.sy).to_radians() + (0.5 * cell.sx).to_radians() * max_cos + 1e-12;
    let c = LonLat::new(cell.x0 + 0.5 * cell.sx, (la + lb) * 0.5);
    let qc = unit_normal(c);
    let nearest_d2 = match source {
        Source::Tree(tree, _) => tree
            .nearest_neighbor_iter_with_distance_2(&qc)
            .next()
            .map(|(_, d2)| d2),
        Source::Parent(list) => list
            .iter()
            .map(|&l| dist2(&qc, &normal[l as usize]))
            .min_by(f64::total_cmp),
    };
    let Some(d2) = nearest_d2 else {
        let band = Band {
            cell: 0.0,
            distance: f64::INFINITY,
        };
        return (1.0 / MIN_CURVATURE_RADIUS_M, band);
    };
    let theta_min = 2.0 * (d2.sqrt() * 0.5).min(1.0).asin();
    let upper = MAX_CURVATURE_RADIUS_M * (theta_min + r);
    // Every point of the cell has a facility within `upper`, so its nearest
    // facility's geodesic stays within `upper / R_MIN` radians of latitude
    // of the cell, where the meridional radius (the smaller principal one)
    // is at least this.
    let band = (upper / MIN_CURVATURE_RADIUS_M).to_degrees();
    let low = (la.abs().min(lb.abs()) - band).max(0.0);
    let low = if la <= 0.0 && lb >= 0.0 { 0.0 } else { low };
    let inv_radius = (1.0 + 1e-12) / (meridional_radius_m(low) * (1.0 - 1e-12));
    let reach = (upper / MIN_CURVATURE_RADIUS_M + r) * (1.0 + 1e-9) + 1e-12;
    let chord = if reach >= std::f64::consts::PI {
        2.0
    } else {
        2.0 * (reach * 0.5).sin()
    };
    match source {
        Source::Tree(tree, representative) => {
            out.extend(
                tree.locate_within_distance(qc, chord * chord)
                    .map(|e| e.data)
                    .filter(|&l| representative[l as usize]),
            );
            out.sort_unstable();
        }
        // Still sorted.
        Source::Parent(list) => out.extend(
            list.iter()
                .copied()
                .filter(|&l| dist2(&qc, &normal[l as usize]) <= chord * chord),
        ),
    }
    let ratio = MAX_CURVATURE_RADIUS_M / MIN_CURVATURE_RADIUS_M;
    let band = Band {
        cell: 2.0 * r * ratio,
        distance: theta_min * (ratio - 1.0),
    };
    (inv_radius, band)
}
