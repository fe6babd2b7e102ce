//! Planar Voronoi cells (via spade's Delaunay triangulation) clipped to a
//! convex region.
//!
//! Cells are built by clipping the region with the perpendicular bisector of
//! each Delaunay neighbour, which gives exact, closed cells even for sites on
//! the convex hull, with no unbounded edges to patch.

use spade::{DelaunayTriangulation, Point2, Triangulation};

/// Voronoi cells of `sites` (planar x/y) clipped to the convex polygon
/// `region` (counter-clockwise, not closed). Coincident sites share one cell:
/// each gets the cell of the first site at that position. A site whose cell
/// is empty (outside `region`) gets an empty ring.
pub fn voronoi_cells(sites: &[[f64; 2]], region: &[[f64; 2]]) -> Vec<Vec<[f64; 2]>> {
    let mut triangulation: DelaunayTriangulation<Point2<f64>> = DelaunayTriangulation::new();
    let mut vertex_of = Vec::with_capacity(sites.len());
    for s in sites {
        // Insertion of an existing position returns that vertex's handle.
        match triangulation.insert(Point2::new(s[0], s[1])) {
            Ok(h) => vertex_of.push(Some(h.index())),
            Err(_) => vertex_of.push(None),
        }
    }
    let mut site_at_vertex: Vec<Option<usize>> = vec![None; triangulation.num_vertices()];
    for (i, v) in vertex_of.iter().enumerate() {
        if let Some(v) = *v {
            site_at_vertex[v].get_or_insert(i);
        }
    }
    let mut cell_of_vertex: Vec<Vec<[f64; 2]>> = vec![Vec::new(); triangulation.num_vertices()];
    for v in triangulation.vertices() {
        let p = v.position();
        let mut cell: Vec<[f64; 2]> = region.to_vec();
        for e in v.out_edges() {
            let q = e.to().position();
            // Keep points nearer to p than to q: (x - m)·(q - p) <= 0.
            let n = [q.x - p.x, q.y - p.y];
            let m = [(p.x + q.x) * 0.5, (p.y + q.y) * 0.5];
            cell = clip_half_plane(&cell, n, n[0] * m[0] + n[1] * m[1]);
            if cell.is_empty() {
                break;
            }
        }
        cell_of_vertex[v.fix().index()] = cell;
    }
    vertex_of
        .iter()
        .map(|v| v.map(|v| cell_of_vertex[v].clone()).unwrap_or_default())
        .collect()
}

/// Sutherland–Hodgman: the part of convex `poly` where `n · x <= c`.
fn clip_half_plane(poly: &[[f64; 2]], n: [f64; 2], c: f64) -> Vec<[f64; 2]> {
    let side = |p: &[f64; 2]| n[0] * p[0] + n[1] * p[1] - c;
    let mut out = Vec::with_capacity(poly.len() + 1);
    for i in 0..poly.len() {
        let (a, b) = (poly[i], poly[(i + 1) % poly.len()]);
        let (sa, sb) = (side(&a), side(&b));
        if sa <= 0.0 {
            out.push(a);
        }
        if (sa < 0.0 && sb > 0.0) || (sa > 0.0 && sb < 0.0) {
            let t = sa / (sa - sb);
            out.push([a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]);
        }
    }
    if out.len() < 3 {
        out.clear();
    }
    out
}

/// Signed area of a ring (positive when counter-clockwise).
pub fn ring_area(ring: &[[f64; 2]]) -> f64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum::<f64>()
        * 0.5
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nearest(sites: &[[f64; 2]], p: [f64; 2]) -> usize {
        (0..sites.len())
            .min_by(|&a, &b| {
                let da = (sites[a][0] - p[0]).powi(2) + (sites[a][1] - p[1]).powi(2);
                let db = (sites[b][0] - p[0]).powi(2) + (sites[b][1] - p[1]).powi(2);
                da.total_cmp(&db)
            })
            .unwrap()
    }

    fn inside(ring: &[[f64; 2]], p: [f64; 2]) -> bool {
        let mut c = false;
        for i in 0..ring.len() {
            let (a, b) = (ring[i], ring[(i + 1) % ring.len()]);
            if (a[1] > p[1]) != (b[1] > p[1])
                && p[0] < a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1])
            {
                c = !c;
            }
        }
        c
    }

    #[test]
    fn cells_tile_the_region_and_hold_their_nearest_points() {
        let region = [[0.0, 0.0], [100.0, 0.0], [100.0, 80.0], [0.0, 80.0]];
        let sites: Vec<[f64; 2]> = (0..40)
            .map(|i| {
                let t = i as f64;
                [(t * 37.3) % 100.0, (t * 53.9 + 7.0) % 80.0]
            })
            .collect();
        let cells = voronoi_cells(&sites, &region);
        let total: f64 = cells.iter().map(|c| ring_area(c)).sum();
        assert!((total - 8000.0).abs() < 1e-6, "{total}");
        assert!(cells.iter().all(|c| ring_area(c) > 0.0));
        for gx in 0..50 {
            for gy in 0..40 {
                let p = [gx as f64 * 2.0 + 0.5, gy as f64 * 2.0 + 0.5];
                let want = nearest(&sites, p);
                assert!(
                    inside(&cells[want], p),
                    "{p:?} not in the cell of site {want}"
                );
            }
        }
    }

    #[test]
    fn coincident_sites_share_a_cell() {
        let region = [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]];
        let cells = voronoi_cells(&[[2.0, 2.0], [8.0, 8.0], [2.0, 2.0]], &region);
        assert_eq!(cells[0], cells[2]);
        assert!((ring_area(&cells[0]) - 50.0).abs() < 1e-9);
    }
}
