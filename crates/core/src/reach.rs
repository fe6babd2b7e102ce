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

use std::collections::HashMap;

use crate::geodesic::{ecef_m, geodesic_distance_m, LocalFrame};
use crate::model::{Facilities, FacilityIdx, LonLat};

/// Radii beyond this list every facility in every cell.
const GRID_MAX_RADIUS_M: f64 = 500_000.0;

/// Facilities within a fixed radius of the points it was built for.
#[derive(Debug, Clone)]
pub struct ReachIndex {
    radius_m: f64,
    frame: Vec<LocalFrame>,
    /// Cell size, degrees (0: no grid, every facility is a candidate).
    cell_deg: f64,
    cells: HashMap<(i64, i64), Vec<u32>>,
    all: Vec<u32>,
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
    fn candidates(&self, (ix, iy): (i64, i64)) -> Vec<u32> {
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
        let computed;
        let list: &[u32] = if self.cell_deg == 0.0 {
            &self.all
        } else {
            let key = self.cell_of(p);
            match self.cells.get(&key) {
                Some(l) => l,
                None => {
                    computed = self.candidates(key);
                    &computed
                }
            }
        };
        let frame = LocalFrame::new(p);
        let o = frame.ecef();
        // A chord longer than this rules the facility out (slack for the
        // rounding of the coordinates).
        let reject2 = (radius * (1.0 + 1e-12) + 1e-6).powi(2);
        let band = crate::geodesic::short_line_error_bound_m(radius);
        for &k in list {
            let fq = &self.frame[k as usize];
            let e = fq.ecef();
            let c2 = (e[0] - o[0]).powi(2) + (e[1] - o[1]).powi(2) + (e[2] - o[2]).powi(2);
            if c2 > reject2 {
                continue;
            }
            let mut d = frame.distance_to(fq);
            if (d - radius).abs() <= band {
                d = geodesic_distance_m(p, fq.point());
            }
            if d <= radius {
                f(k, d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::FacilityIndex;
    use crate::model::{Facility, FacilityId, FacilityKind, FacilityStatus};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn facilities(points: &[LonLat]) -> Facilities {
        Facilities::new(
            points
                .iter()
                .enumerate()
                .map(|(i, &p)| Facility {
                    id: FacilityId(format!("F{i:04}")),
                    kind: FacilityKind::Gp,
                    name: None,
                    location: p,
                    capacity: None,
                    list_size: None,
                    status: FacilityStatus::Active,
                    municipality: None,
                    ad: false,
                    aft: None,
                    retire_p: None,
                })
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
    }
}
