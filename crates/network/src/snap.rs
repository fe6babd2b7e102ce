//! Snapping points onto the nearest point of a usable segment.
//!
//! Segments are bucketed in a lon/lat grid; a query scans rings of cells
//! outwards until nothing unscanned can be nearer. Distances are measured in
//! the local tangent plane of the query point (ellipsoidal radii of
//! curvature), which over the ≤ 1 km of a snap differs from the geodesic by
//! well under a millimetre per metre.

use crate::graph::{Cost, Graph};

/// WGS84 semi-major axis (m) and first eccentricity squared.
const A_M: f64 = 6_378_137.0;
const E2: f64 = 0.006_694_379_990_141_317;

/// Metres per degree of latitude and of longitude at `lat` degrees.
pub fn metres_per_degree(lat: f64) -> (f64, f64) {
    let phi = lat.to_radians();
    let w = 1.0 - E2 * phi.sin().powi(2);
    let m = A_M * (1.0 - E2) / w.powf(1.5);
    let n = A_M / w.sqrt();
    (m.to_radians(), (n * phi.cos()).to_radians())
}

/// Where a point lands on the network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snap {
    /// Index of the segment in [`Graph::segments`].
    pub segment: u32,
    /// Position along the segment from `a` (0) to `b` (1).
    pub t: f64,
    /// Distance from the point to the snapped position, metres.
    pub distance_m: f64,
    /// The snapped position, lon/lat.
    pub at: [f64; 2],
}

/// A grid of segments for nearest-segment queries.
#[derive(Debug, Clone)]
pub struct SnapIndex {
    lon0: f64,
    lat0: f64,
    cell_lon: f64,
    cell_lat: f64,
    nx: usize,
    ny: usize,
    first: Vec<u32>,
    items: Vec<u32>,
    /// Endpoints of the segment of each item (lon/lat of a, then of b), so a
    /// query reads one array instead of chasing segment and node indices.
    ends: Vec<[f64; 4]>,
}

impl SnapIndex {
    /// Buckets every segment of `graph` (about two segments per cell).
    pub fn new(graph: &Graph) -> SnapIndex {
        let coords = &graph.coords;
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for c in coords {
            for k in 0..2 {
                lo[k] = lo[k].min(c[k]);
                hi[k] = hi[k].max(c[k]);
            }
        }
        if coords.is_empty() {
            lo = [0.0; 2];
            hi = [0.0; 2];
        }
        let lat_mid = (lo[1] + hi[1]) / 2.0;
        let (mlat, mlon) = metres_per_degree(lat_mid);
        let w_m = ((hi[0] - lo[0]) * mlon).max(1.0);
        let h_m = ((hi[1] - lo[1]) * mlat).max(1.0);
        let target_cells = (graph.segments.len() / 2).clamp(1, 8_000_000) as f64;
        let mut cell_m = (w_m * h_m / target_cells).sqrt().max(50.0);
        // Never more than about twice the cells asked for, whatever the
        // extent (the 50 m floor alone would not bound it).
        let cells = |m: f64| {
            let nx = ((hi[0] - lo[0]) / (m / mlon)).floor() + 1.0;
            let ny = ((hi[1] - lo[1]) / (m / mlat)).floor() + 1.0;
            nx * ny
        };
        while cells(cell_m) > 2.0 * target_cells + 16.0 {
            cell_m *= 1.5;
        }
        let cell_lat = cell_m / mlat;
        let cell_lon = cell_m / mlon;
        let nx = ((hi[0] - lo[0]) / cell_lon).floor() as usize + 1;
        let ny = ((hi[1] - lo[1]) / cell_lat).floor() as usize + 1;
        let mut index = SnapIndex {
            lon0: lo[0],
            lat0: lo[1],
            cell_lon,
            cell_lat,
            nx,
            ny,
            first: vec![0; nx * ny + 1],
            items: Vec::new(),
            ends: Vec::new(),
        };
        let cells_of = |s: &crate::graph::Segment, index: &SnapIndex| {
            let (p, q) = (coords[s.a as usize], coords[s.b as usize]);
            let (x0, y0) = index.cell(p[0].min(q[0]), p[1].min(q[1]));
            let (x1, y1) = index.cell(p[0].max(q[0]), p[1].max(q[1]));
            (x0, y0, x1, y1)
        };
        for s in &graph.segments {
            let (x0, y0, x1, y1) = cells_of(s, &index);
            for y in y0..=y1 {
                for x in x0..=x1 {
                    index.first[y * nx + x + 1] += 1;
                }
            }
        }
        for i in 0..nx * ny {
            index.first[i + 1] += index.first[i];
        }
        let mut next = index.first.clone();
        let total = index.first[nx * ny] as usize;
        index.items = vec![0; total];
        index.ends = vec![[0.0; 4]; total];
        for (k, s) in graph.segments.iter().enumerate() {
            let (x0, y0, x1, y1) = cells_of(s, &index);
            let (a, b) = (coords[s.a as usize], coords[s.b as usize]);
            for y in y0..=y1 {
                for x in x0..=x1 {
                    let c = y * nx + x;
                    index.items[next[c] as usize] = k as u32;
                    index.ends[next[c] as usize] = [a[0], a[1], b[0], b[1]];
                    next[c] += 1;
                }
            }
        }
        index
    }

    fn cell(&self, lon: f64, lat: f64) -> (usize, usize) {
        let x = ((lon - self.lon0) / self.cell_lon).floor();
        let y = ((lat - self.lat0) / self.cell_lat).floor();
        (
            x.clamp(0.0, (self.nx - 1) as f64) as usize,
            y.clamp(0.0, (self.ny - 1) as f64) as usize,
        )
    }

    /// The nearest point of any segment within `max_m` metres of `p`
    /// (lon/lat), or `None`. Ties go to the lower segment index.
    pub fn nearest(&self, graph: &Graph, p: [f64; 2], max_m: f64) -> Option<Snap> {
        if graph.segments.is_empty() || !(p[0].is_finite() && p[1].is_finite()) {
            return None;
        }
        let (mlat, mlon) = metres_per_degree(p[1]);
        // Cell sides in metres at the query, with a margin for the change of
        // the longitude scale across the scanned rings.
        let side_m = (self.cell_lat * mlat).min(self.cell_lon * mlon) * 0.9;
        let qx = (p[0] - self.lon0) / self.cell_lon;
        let qy = (p[1] - self.lat0) / self.cell_lat;
        let (cx, cy) = (qx.floor() as i64, qy.floor() as i64);
        let mut best: Option<(f64, u32, f64)> = None;
        let inside =
            |x: i64, y: i64| x >= 0 && y >= 0 && (x as usize) < self.nx && (y as usize) < self.ny;
        // Distance from the query to the outside of its own cell block.
        let dist_to_grid = {
            let dx = if qx < 0.0 {
                -qx
            } else if qx > self.nx as f64 {
                qx - self.nx as f64
            } else {
                0.0
            };
            let dy = if qy < 0.0 {
                -qy
            } else if qy > self.ny as f64 {
                qy - self.ny as f64
            } else {
                0.0
            };
            (dx * self.cell_lon * mlon).hypot(dy * self.cell_lat * mlat)
        };
        if dist_to_grid > max_m + side_m * 2.0 {
            return None;
        }
        let max_ring = (self.nx.max(self.ny) as i64) + (cx.abs().max(cy.abs()));
        let mut r: i64 = 0;
        loop {
            let mut visit = |x: i64, y: i64| {
                if !inside(x, y) {
                    return;
                }
                let c = y as usize * self.nx + x as usize;
                let r = self.first[c] as usize..self.first[c + 1] as usize;
                for (&k, e) in self.items[r.clone()].iter().zip(&self.ends[r]) {
                    let (d2, t) = point_segment2(p, [e[0], e[1]], [e[2], e[3]], mlat, mlon);
                    let better = match best {
                        None => true,
                        Some((bd, bk, _)) => d2 < bd || (d2 == bd && k < bk),
                    };
                    if better {
                        best = Some((d2, k, t));
                    }
                }
            };
            if r == 0 {
                visit(cx, cy);
            } else {
                for x in cx - r..=cx + r {
                    visit(x, cy - r);
                    visit(x, cy + r);
                }
                for y in cy - r + 1..=cy + r - 1 {
                    visit(cx - r, y);
                    visit(cx + r, y);
                }
            }
            // Everything not yet scanned is at least r cells away.
            let reach = r as f64 * side_m;
            if let Some((d2, _, _)) = best {
                if d2 <= reach * reach {
                    break;
                }
            }
            if reach > max_m + side_m || r > max_ring {
                break;
            }
            r += 1;
        }
        let (d2, k, t) = best?;
        let d = d2.sqrt();
        if d > max_m {
            return None;
        }
        let s = &graph.segments[k as usize];
        let (a, b) = (graph.coords[s.a as usize], graph.coords[s.b as usize]);
        Some(Snap {
            segment: k,
            t,
            distance_m: d,
            at: [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])],
        })
    }
}

/// Distance (m) from `p` to segment `ab` in the tangent plane at `p`, and
/// the position of the foot along `ab` (0..=1).
#[cfg(test)]
fn point_segment(p: [f64; 2], a: [f64; 2], b: [f64; 2], mlat: f64, mlon: f64) -> (f64, f64) {
    let (d2, t) = point_segment2(p, a, b, mlat, mlon);
    (d2.sqrt(), t)
}

/// [`point_segment`] with the distance squared (m²).
#[inline]
fn point_segment2(p: [f64; 2], a: [f64; 2], b: [f64; 2], mlat: f64, mlon: f64) -> (f64, f64) {
    let ax = (a[0] - p[0]) * mlon;
    let ay = (a[1] - p[1]) * mlat;
    let bx = (b[0] - p[0]) * mlon;
    let by = (b[1] - p[1]) * mlat;
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (fx, fy) = (ax + t * dx, ay + t * dy);
    (fx * fx + fy * fy, t)
}

/// Ways of leaving a snapped point into the graph (towards nodes), each
/// with the cost of the partial segment: `(node, cost)`.
pub fn exits(graph: &Graph, snap: &Snap) -> [Option<(u32, Cost)>; 2] {
    let s = &graph.segments[snap.segment as usize];
    [
        s.ab.map(|c| (s.b, c.part(1.0 - snap.t).plus(graph.penalty[s.b as usize]))),
        s.ba.map(|c| (s.a, c.part(snap.t).plus(graph.penalty[s.a as usize]))),
    ]
}

/// Ways of arriving at a snapped point from the graph: `(node, cost)` from
/// the node to the point.
pub fn entries(graph: &Graph, snap: &Snap) -> [Option<(u32, Cost)>; 2] {
    let s = &graph.segments[snap.segment as usize];
    [
        s.ab.map(|c| (s.a, c.part(snap.t))),
        s.ba.map(|c| (s.b, c.part(1.0 - snap.t))),
    ]
}

/// The cost of going from one snapped point to another along their shared
/// segment without passing a node, when they share one and the direction
/// is allowed.
pub fn along(graph: &Graph, from: &Snap, to: &Snap) -> Option<Cost> {
    if from.segment != to.segment {
        return None;
    }
    let s = &graph.segments[from.segment as usize];
    if to.t >= from.t {
        s.ab.map(|c| c.part(to.t - from.t))
    } else {
        s.ba.map(|c| c.part(from.t - to.t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Segment;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn grid_graph(n: usize, step: f64) -> Graph {
        let mut coords = Vec::new();
        for y in 0..n {
            for x in 0..n {
                coords.push([9.6 + x as f64 * step, 45.6 + y as f64 * step]);
            }
        }
        let mut segments = Vec::new();
        let c = Cost::new(1000, 1000);
        for y in 0..n {
            for x in 0..n {
                let i = (y * n + x) as u32;
                if x + 1 < n {
                    segments.push(Segment {
                        a: i,
                        b: i + 1,
                        ab: Some(c),
                        ba: Some(c),
                    });
                }
                if y + 1 < n {
                    segments.push(Segment {
                        a: i,
                        b: i + n as u32,
                        ab: Some(c),
                        ba: None,
                    });
                }
            }
        }
        let penalty = vec![Cost::ZERO; coords.len()];
        Graph::from_parts(coords, penalty, segments)
    }

    #[test]
    fn a_world_wide_extent_keeps_the_grid_small_and_exact() {
        // A small town plus two far-away roads: the extent spans the globe,
        // the grid stays near the cells asked for, and snapping is still
        // the full scan's.
        let mut g = grid_graph(10, 0.0013);
        let far = g.coords.len() as u32;
        g.coords.extend([
            [-179.0, -80.0],
            [-178.99, -80.0],
            [179.0, 85.0],
            [178.99, 85.0],
        ]);
        let c = Cost::new(1000, 1000);
        let extra = [(far, far + 1), (far + 2, far + 3)].map(|(a, b)| Segment {
            a,
            b,
            ab: Some(c),
            ba: Some(c),
        });
        let mut segments = g.segments.clone();
        segments.extend(extra);
        let penalty = vec![Cost::ZERO; g.coords.len()];
        let g = Graph::from_parts(g.coords.clone(), penalty, segments);
        let index = SnapIndex::new(&g);
        let target = (g.segments.len() / 2) as f64;
        assert!(
            ((index.nx * index.ny) as f64) <= 2.0 * target + 16.0,
            "{} × {} cells for {} segments",
            index.nx,
            index.ny,
            g.segments.len()
        );
        for p in [[9.601, 45.601], [-179.001, -80.0005], [178.995, 85.0001]] {
            let (mlat, mlon) = metres_per_degree(p[1]);
            let brute = g
                .segments
                .iter()
                .enumerate()
                .map(|(k, s)| {
                    let (d, _) = point_segment(
                        p,
                        g.coords[s.a as usize],
                        g.coords[s.b as usize],
                        mlat,
                        mlon,
                    );
                    (d, k as u32)
                })
                .min_by(|x, y| x.partial_cmp(y).unwrap())
                .unwrap();
            let got = index.nearest(&g, p, 5000.0).expect("within 5 km");
            assert_eq!(got.segment, brute.1, "at {p:?}");
        }
    }

    #[test]
    fn the_grid_finds_the_same_segment_as_a_full_scan() {
        let g = grid_graph(30, 0.0013);
        let index = SnapIndex::new(&g);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..2000 {
            let p = [rng.random_range(9.58..9.66), rng.random_range(45.58..45.66)];
            let (mlat, mlon) = metres_per_degree(p[1]);
            let brute = g
                .segments
                .iter()
                .enumerate()
                .map(|(k, s)| {
                    let (d, _) = point_segment(
                        p,
                        g.coords[s.a as usize],
                        g.coords[s.b as usize],
                        mlat,
                        mlon,
                    );
                    (d, k as u32)
                })
                .min_by(|x, y| x.partial_cmp(y).unwrap())
                .unwrap();
            let got = index.nearest(&g, p, 5000.0).expect("within 5 km");
            assert_eq!(got.distance_m, brute.0);
            assert_eq!(got.segment, brute.1, "at {p:?}");
        }
    }

    #[test]
    fn points_beyond_the_limit_do_not_snap() {
        let g = grid_graph(5, 0.001);
        let index = SnapIndex::new(&g);
        // 0.01 degree of latitude south of the grid: about 1.11 km.
        assert!(index.nearest(&g, [9.601, 45.59], 1000.0).is_none());
        let s = index.nearest(&g, [9.601, 45.59], 1200.0).unwrap();
        assert!((s.distance_m - 1111.0).abs() < 5.0, "{}", s.distance_m);
        assert!(index.nearest(&g, [20.0, 10.0], 1000.0).is_none());
    }

    #[test]
    fn partial_segments_split_the_cost() {
        let g = grid_graph(2, 0.001);
        let snap = Snap {
            segment: 0,
            t: 0.25,
            distance_m: 0.0,
            at: [0.0; 2],
        };
        let [ab, ba] = exits(&g, &snap);
        assert_eq!(ab, Some((1, Cost::new(750, 750))));
        assert_eq!(ba, Some((0, Cost::new(250, 250))));
        // Segment 1 (0 -> 2) is one-way: no way back to node 0.
        let snap = Snap {
            segment: 1,
            t: 0.5,
            ..snap
        };
        assert_eq!(exits(&g, &snap)[1], None);
        assert_eq!(entries(&g, &snap)[0], Some((0, Cost::new(500, 500))));
        let later = Snap { t: 0.9, ..snap };
        assert_eq!(along(&g, &snap, &later), Some(Cost::new(400, 400)));
        assert_eq!(along(&g, &later, &snap), None, "against the oneway");
    }
}
