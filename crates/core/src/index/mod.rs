//! [`FacilityIndex`]: exact geodesic nearest-facility queries over an R-tree.

use std::cmp::Ordering;

use rstar::primitives::GeomWithData;
use rstar::RTree;

mod candidate_grid;

use candidate_grid::{CandidateGrid, MAX_CELL_CANDIDATES};

use crate::geodesic::{
    chord_upper_bound, lower_bound_from_chord_m, short_line_error_bound_m, unit_normal, LocalFrame,
};
use crate::karney::{inverse_distance_m, Prepared};
use crate::model::{Facilities, FacilityIdx, FacilityKind, LonLat};

/// A facility found by a query, with its geodesic distance in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nearest {
    /// Index into the dataset's [`Facilities`].
    pub facility: FacilityIdx,
    /// Geodesic (WGS84) distance, metres.
    pub distance_m: f64,
}

pub(crate) type Entry = GeomWithData<[f64; 3], u32>;

/// Spatial index over a set of facilities answering nearest, k-nearest and
/// within-radius queries by **exact** geodesic distance on WGS84.
///
/// The R-tree holds the facilities' surface normals as points on the unit
/// sphere. A chord between normals gives a rigorous lower bound on the
/// geodesic distance (see [`MIN_CURVATURE_RADIUS_M`](crate::MIN_CURVATURE_RADIUS_M)),
/// so the tree proposes candidates and Karney's algorithm ranks them; a
/// query stops only when no remaining candidate can be nearer. Most
/// queries are answered from a grid of candidate lists instead, ranked by
/// the short-line kernel ([`LocalFrame`](crate::LocalFrame), within
/// 0.1 µm of the geodesic) and by Karney wherever that error could decide. Ties in
/// distance are broken by facility id, so answers are deterministic.
///
/// ```
/// use bacino_core::{Facilities, Facility, FacilityId, FacilityIndex, FacilityKind, FacilityStatus, LonLat};
/// let gp = |id: &str, lon, lat| Facility {
///     id: FacilityId(id.into()), kind: FacilityKind::Gp, name: None,
///     location: LonLat::new(lon, lat), capacity: Some(1500), list_size: None,
///     status: FacilityStatus::Active, municipality: None, ad: false, aft: None, retire_p: None,
///     other: Vec::new(),
/// };
/// let facilities = Facilities::new(vec![gp("A", 9.66, 45.69), gp("B", 9.70, 45.70)]).unwrap();
/// let index = FacilityIndex::active(&facilities, FacilityKind::Gp);
/// let hit = index.nearest(LonLat::new(9.69, 45.70)).unwrap();
/// assert_eq!(facilities.get(hit.facility).id.0, "B");
/// assert!(hit.distance_m > 700.0 && hit.distance_m < 800.0);
/// ```
#[derive(Debug, Clone)]
pub struct FacilityIndex {
    tree: RTree<Entry>,
    facility: Vec<FacilityIdx>,
    /// Locations with their reduced-latitude terms, for Karney's inverse.
    prepared: Vec<Prepared>,
    normal: Vec<[f64; 3]>,
    /// Locations, and their frames for the short-line kernel
    /// ([`FacilityIndex::nearest`], [`FacilityIndex::for_each_within`]).
    location: Vec<LonLat>,
    frame: Vec<LocalFrame>,
    /// Rank of each facility's id among the indexed ones, for tie-breaking.
    id_rank: Vec<u32>,
    grid: Option<CandidateGrid>,
}

impl FacilityIndex {
    /// Indexes the given facilities (by index into `facilities`).
    pub fn new(facilities: &Facilities, members: &[FacilityIdx]) -> Self {
        let mut members = members.to_vec();
        members.sort_by(|&a, &b| facilities.get(a).id.cmp(&facilities.get(b).id));
        members.dedup();
        let location: Vec<LonLat> = members
            .iter()
            .map(|&i| facilities.get(i).location)
            .collect();
        let normal: Vec<[f64; 3]> = location.iter().map(|&p| unit_normal(p)).collect();
        let entries = normal
            .iter()
            .enumerate()
            .map(|(local, &n)| GeomWithData::new(n, local as u32))
            .collect();
        let tree = RTree::bulk_load(entries);
        FacilityIndex {
            grid: CandidateGrid::new(&location),
            tree,
            id_rank: (0..members.len() as u32).collect(),
            facility: members,
            prepared: location
                .iter()
                .map(|p| Prepared::new(p.lon, p.lat))
                .collect(),
            normal,
            frame: location.iter().map(|&p| LocalFrame::new(p)).collect(),
            location,
        }
    }

    /// Indexes the active facilities of `kind`.
    pub fn active(facilities: &Facilities, kind: FacilityKind) -> Self {
        Self::new(facilities, &facilities.active_of_kind(kind))
    }

    /// Number of indexed facilities.
    pub fn len(&self) -> usize {
        self.facility.len()
    }

    /// True when no facility is indexed.
    pub fn is_empty(&self) -> bool {
        self.facility.is_empty()
    }

    fn hit(&self, local: u32, distance_m: f64) -> Nearest {
        Nearest {
            facility: self.facility[local as usize],
            distance_m,
        }
    }

    /// Orders candidates by distance, then by id.
    fn cmp(&self, a: (f64, u32), b: (f64, u32)) -> Ordering {
        a.0.total_cmp(&b.0)
            .then_with(|| self.id_rank[a.1 as usize].cmp(&self.id_rank[b.1 as usize]))
    }

    /// The facility nearest to `p` by geodesic distance (ties: smallest id).
    pub fn nearest(&self, p: LonLat) -> Option<Nearest> {
        self.nearest_to_frame(&LocalFrame::new(p))
    }

    /// Calls `each` with [`FacilityIndex::nearest`] of every one of
    /// `points`, in order, their frames built a block at a time
    /// ([`LocalFrame::extend_with`]: the sines and cosines in vector
    /// registers).
    pub fn for_each_nearest(&self, points: &[LonLat], mut each: impl FnMut(Option<Nearest>)) {
        let mut frames = Vec::with_capacity(FRAME_BLOCK.min(points.len()));
        for block in points.chunks(FRAME_BLOCK) {
            frames.clear();
            LocalFrame::extend_with(&mut frames, block);
            for f in &frames {
                each(self.nearest_to_frame(f));
            }
        }
    }

    /// [`FacilityIndex::nearest`] to the point of the frame `f` (for callers
    /// that build frames a block at a time, [`LocalFrame::extend_with`]).
    pub fn nearest_to_frame(&self, f: &LocalFrame) -> Option<Nearest> {
        let p = f.point();
        if let Some((cands, inv_radius)) = self
            .grid
            .as_ref()
            .and_then(|g| g.cell(p, &self.tree, &self.normal))
        {
            if !cands.is_empty() && cands.len() <= MAX_CELL_CANDIDATES {
                if let Some(hit) = self.nearest_among_short(f, &f.normal(), cands, inv_radius) {
                    return Some(hit);
                }
                let (pp, q) = Prepared::with_normal(p.lon, p.lat);
                return Some(self.nearest_among(&pp, &q, cands, inv_radius));
            }
        }
        let (pp, q) = Prepared::with_normal(p.lon, p.lat);
        self.nearest_by_tree(&pp, &q)
    }

    /// Exact nearest among a cell's candidates by the short-line kernel
    /// ([`LocalFrame`]), or `None` when that cannot decide and Karney must.
    ///
    /// As in [`FacilityIndex::nearest_among`], the candidate nearest by
    /// chord is measured first, then only those whose chord allows them to
    /// come within `3ε` of the best (`ε =` [`short_line_error_bound_m`],
    /// the kernel's error): a facility at geodesic distance `s` has its
    /// normal at most `s · inv_radius` away. The least kernel distance `d₁`
    /// wins outright when every other measured one exceeds `d₁ + 2ε` (its
    /// geodesic then exceeds the winner's); those within `2ε` are ranked by
    /// Karney, then by id. A candidate in reach but beyond the kernel's
    /// range, or more than eight in reach, send the query to Karney.
    fn nearest_among_short(
        &self,
        f: &LocalFrame,
        q: &[f64; 3],
        cands: &[u32],
        inv_radius: f64,
    ) -> Option<Nearest> {
        // The candidate nearest by chord, and the second nearest's chord:
        // when that is out of the first's reach (nearly always: 0.4 % of
        // the national queries measure a second), no other candidate
        // needs measuring.
        let (first, second) = self.first_two(q, cands);
        let d0 = f.short_distance_m(&self.frame[first.1 as usize])?;
        let mut reach2_best = reach2(d0, inv_radius);
        if second > reach2_best {
            return Some(self.hit(first.1, d0));
        }
        // Rarely more than two are measured; more than eight go to Karney.
        let mut measured = [(0.0f64, 0u32); 8];
        measured[0] = (d0, first.1);
        let mut n = 1;
        let mut best = (d0, first.1);
        for &l in cands {
            if l == first.1 || dist2(q, &self.normal[l as usize]) > reach2_best {
                continue;
            }
            let d = f.short_distance_m(&self.frame[l as usize])?;
            *measured.get_mut(n)? = (d, l);
            n += 1;
            if d < best.0 {
                best = (d, l);
                reach2_best = reach2(d, inv_radius);
            }
        }
        let tie = best.0 + 2.0 * short_line_error_bound_m(best.0);
        let measured = &measured[..n];
        if measured.iter().all(|&(d, l)| d > tie || l == best.1) {
            return Some(self.hit(best.1, best.0));
        }
        let p = f.point();
        let pp = Prepared::new(p.lon, p.lat);
        let mut exact = (f64::INFINITY, u32::MAX);
        for &(d, l) in measured {
            if d > tie {
                continue;
            }
            let cand = (inverse_distance_m(&pp, &self.prepared[l as usize]), l);
            if exact.1 == u32::MAX || self.cmp(cand, exact) == Ordering::Less {
                exact = cand;
            }
        }
        Some(self.hit(exact.1, exact.0))
    }

    /// The candidate whose normal is nearest `q` by chord (the first in
    /// `cands` among equals), with its squared chord, and the squared chord
    /// of the next nearest (infinite for a single candidate), in one pass.
    #[inline(always)]
    fn first_two(&self, q: &[f64; 3], cands: &[u32]) -> ((f64, u32), f64) {
        let mut first = (f64::INFINITY, cands[0]);
        let mut second = f64::INFINITY;
        for &l in cands {
            let d2 = dist2(q, &self.normal[l as usize]);
            // Selects, not branches: which candidate is nearest is not
            // predictable.
            let nearer = d2 < first.0;
            let other = if nearer { first.0 } else { d2 };
            second = if other < second { other } else { second };
            first = if nearer { (d2, l) } else { first };
        }
        (first, second)
    }

    /// Exact nearest among a cell's candidates: Karney for the nearest by
    /// chord, then only for those whose chord allows them to be as near.
    /// A facility at geodesic distance `s` has its normal at most
    /// `s · inv_radius` radians, hence chord, away: farther ones are skipped.
    fn nearest_among(
        &self,
        pp: &Prepared,
        q: &[f64; 3],
        cands: &[u32],
        inv_radius: f64,
    ) -> Nearest {
        let mut first = (f64::INFINITY, cands[0]);
        for &l in cands {
            let d2 = dist2(q, &self.normal[l as usize]);
            if d2 < first.0 {
                first = (d2, l);
            }
        }
        let mut best = (
            inverse_distance_m(pp, &self.prepared[first.1 as usize]),
            first.1,
        );
        let reach2 = |d: f64| ((d + 1e-6) * inv_radius).powi(2);
        let mut reach2_best = reach2(best.0);
        for &l in cands {
            if l == first.1 || dist2(q, &self.normal[l as usize]) > reach2_best {
                continue;
            }
            let cand = (inverse_distance_m(pp, &self.prepared[l as usize]), l);
            if self.cmp(cand, best) == Ordering::Less {
                best = cand;
                reach2_best = reach2(best.0);
            }
        }
        self.hit(best.1, best.0)
    }

    fn nearest_by_tree(&self, pp: &Prepared, q: &[f64; 3]) -> Option<Nearest> {
        let q = *q;
        let mut best: Option<(f64, u32)> = None;
        // Candidates come in increasing chord order; stop once the chord's
        // lower bound exceeds the best geodesic distance found.
        for (e, d2) in self.tree.nearest_neighbor_iter_with_distance_2(&q) {
            if let Some(b) = best {
                if lower_bound_from_chord_m(d2.sqrt()) > b.0 {
                    break;
                }
            }
            let cand = (
                inverse_distance_m(pp, &self.prepared[e.data as usize]),
                e.data,
            );
            if best.is_none_or(|b| self.cmp(cand, b) == Ordering::Less) {
                best = Some(cand);
            }
        }
        let best = best?;
        Some(self.hit(best.1, best.0))
    }

    /// The `k` facilities nearest to `p`, nearest first (ties by id).
    pub fn k_nearest(&self, p: LonLat, k: usize) -> Vec<Nearest> {
        if k == 0 {
            return Vec::new();
        }
        let q = unit_normal(p);
        let pp = Prepared::new(p.lon, p.lat);
        // Sorted candidates found so far; at most k kept.
        let mut found: Vec<(f64, u32)> = Vec::with_capacity(k + 1);
        for (e, d2) in self.tree.nearest_neighbor_iter_with_distance_2(&q) {
            if found.len() == k && lower_bound_from_chord_m(d2.sqrt()) > found[k - 1].0 {
                break;
            }
            let cand = (
                inverse_distance_m(&pp, &self.prepared[e.data as usize]),
                e.data,
            );
            let pos = found.partition_point(|&x| self.cmp(x, cand) == Ordering::Less);
            if pos < k {
                found.insert(pos, cand);
                found.truncate(k);
            }
        }
        found.into_iter().map(|(d, l)| self.hit(l, d)).collect()
    }

    /// Calls `f(facility, metres)` for every facility within `radius_m` of
    /// `p` (inclusive), in no particular order: the bulk form of
    /// [`FacilityIndex::within`] for analyses that take every pair in
    /// reach. Distances come from [`LocalFrame`](crate::LocalFrame) (within
    /// [`short_line_error_bound_m`](crate::short_line_error_bound_m) of the
    /// geodesic); a pair within that bound of `radius_m` is decided by Karney.
    pub fn for_each_within(&self, p: LonLat, radius_m: f64, mut f: impl FnMut(FacilityIdx, f64)) {
        if radius_m.is_nan() || radius_m < 0.0 {
            return;
        }
        let frame = crate::geodesic::LocalFrame::new(p);
        let reach = chord_upper_bound(radius_m);
        for e in self
            .tree
            .locate_within_distance(unit_normal(p), reach * reach)
        {
            let l = e.data as usize;
            let mut d = frame.distance_to(&self.frame[l]);
            if (d - radius_m).abs() <= crate::geodesic::short_line_error_bound_m(radius_m) {
                d = crate::geodesic::geodesic_distance_m(p, self.location[l]);
            }
            if d <= radius_m {
                f(self.facility[l], d);
            }
        }
    }

    /// Every facility within `radius_m` metres of `p` (inclusive), nearest
    /// first (ties by id).
    pub fn within(&self, p: LonLat, radius_m: f64) -> Vec<Nearest> {
        if radius_m.is_nan() || radius_m < 0.0 {
            return Vec::new();
        }
        let q = unit_normal(p);
        let pp = Prepared::new(p.lon, p.lat);
        let reach = chord_upper_bound(radius_m);
        let mut found: Vec<(f64, u32)> = self
            .tree
            .locate_within_distance(q, reach * reach)
            .filter_map(|e| {
                let d = inverse_distance_m(&pp, &self.prepared[e.data as usize]);
                (d <= radius_m).then_some((d, e.data))
            })
            .collect();
        found.sort_by(|&a, &b| self.cmp(a, b));
        found.into_iter().map(|(d, l)| self.hit(l, d)).collect()
    }
}

/// Points whose frames [`FacilityIndex::for_each_nearest`] builds at once.
const FRAME_BLOCK: usize = 512;

/// The squared chord between normals within which a facility can come
/// within `3ε` of a short-line distance `d` (`ε =`
/// [`short_line_error_bound_m`]) from a cell whose `1 / R` is
/// `inv_radius`: a facility at geodesic distance `s` has its normal at
/// most `s · inv_radius` away.
#[inline(always)]
fn reach2(d: f64, inv_radius: f64) -> f64 {
    ((d + 3.0 * short_line_error_bound_m(d) + 1e-6) * inv_radius).powi(2)
}

#[inline(always)]
pub(super) fn dist2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geodesic::geodesic_distance_m;
    use crate::model::{Facility, FacilityStatus};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn facility(id: String, p: LonLat, status: FacilityStatus) -> Facility {
        Facility {
            status,
            ..Facility::new(id, FacilityKind::Gp, p)
        }
    }

    fn random_facilities(
        rng: &mut ChaCha8Rng,
        n: usize,
        lon: (f64, f64),
        lat: (f64, f64),
    ) -> Facilities {
        let items = (0..n)
            .map(|i| {
                let p = LonLat::new(
                    rng.random_range(lon.0..lon.1),
                    rng.random_range(lat.0..lat.1),
                );
                let status = if i % 7 == 3 {
                    FacilityStatus::Ceased
                } else {
                    FacilityStatus::Active
                };
                facility(format!("F{i:05}"), p, status)
            })
            .collect();
        Facilities::new(items).unwrap()
    }

    /// Brute force over every active facility: (distance, id) minimum.
    fn brute_sorted(f: &Facilities, p: LonLat) -> Vec<(f64, String)> {
        let mut v: Vec<(f64, String)> = f
            .iter()
            .filter(|x| x.is_active())
            .map(|x| (geodesic_distance_m(p, x.location), x.id.0.clone()))
            .collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        v
    }

    #[test]
    fn nearest_equals_brute_force_on_random_points_in_lombardy() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let f = random_facilities(&mut rng, 600, (9.3, 10.3), (45.4, 46.2));
        let index = FacilityIndex::active(&f, FacilityKind::Gp);
        let points: Vec<LonLat> = (0..3000)
            .map(|_| LonLat::new(rng.random_range(9.0..10.6), rng.random_range(45.2..46.4)))
            .collect();
        let mut each = Vec::new();
        index.for_each_nearest(&points, |hit| each.push(hit.unwrap()));
        assert_eq!(each.len(), points.len());
        for (&p, by_block) in points.iter().zip(each) {
            let got = index.nearest(p).unwrap();
            let want = &brute_sorted(&f, p)[0];
            assert_eq!(f.get(got.facility).id.0, want.1, "at {p:?}");
            let err = (got.distance_m - want.0).abs();
            assert!(
                err <= short_line_error_bound_m(want.0),
                "at {p:?}: {err:e} m"
            );
            // A block at a time, the same answer to the bit.
            assert_eq!(by_block.facility, got.facility);
            assert_eq!(by_block.distance_m.to_bits(), got.distance_m.to_bits());
        }
    }

    /// A country-wide spread with two dense cities (thousands of surgeries
    /// within a few kilometres, as in Rome or Milan among Italy's 40,000
    /// GPs): the grid splits the cities' cells, every answer still equals
    /// brute force, and the queries there are answered from short lists.
    #[test]
    fn dense_cities_in_a_country_wide_grid_are_split_and_stay_exact() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut items: Vec<Facility> = random_facilities(&mut rng, 2000, (6.6, 18.5), (36.6, 47.0))
            .iter()
            .cloned()
            .collect();
        let cities = [(12.49, 41.90), (9.19, 45.46)];
        for (k, (lon, lat)) in cities.into_iter().enumerate() {
            for i in 0..2000 {
                let r = 0.03 * rng.random::<f64>().sqrt();
                let a = rng.random_range(0.0..std::f64::consts::TAU);
                let p = LonLat::new(lon + r * a.cos() / 0.75, lat + r * a.sin());
                items.push(facility(format!("C{k}{i:05}"), p, FacilityStatus::Active));
            }
        }
        let f = Facilities::new(items).unwrap();
        let index = FacilityIndex::active(&f, FacilityKind::Gp);
        let grid = index.grid.as_ref().unwrap();
        // Brute force over a shortlist: the great circle on a sphere is
        // within 0.6 % of the geodesic, so the nearest is among those
        // within 1.02 times the least great-circle distance.
        let active: Vec<&Facility> = f.iter().filter(|x| x.is_active()).collect();
        let brute = |p: LonLat| -> (f64, String) {
            let gc: Vec<f64> = active
                .iter()
                .map(|x| great_circle_m(p, x.location))
                .collect();
            let least = gc.iter().copied().fold(f64::INFINITY, f64::min);
            active
                .iter()
                .zip(&gc)
                .filter(|(_, &d)| d <= least * 1.02 + 1.0)
                .map(|(x, _)| (geodesic_distance_m(p, x.location), x.id.0.clone()))
                .min_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)))
                .unwrap()
        };
        for i in 0..3000 {
            let p = if i % 3 < 2 {
                let (lon, lat) = cities[i % 3];
                LonLat::new(
                    lon + rng.random_range(-0.05..0.05),
                    lat + rng.random_range(-0.04..0.04),
                )
            } else {
                LonLat::new(rng.random_range(6.0..19.0), rng.random_range(36.0..47.5))
            };
            let got = index.nearest(p).unwrap();
            let want = brute(p);
            assert_eq!(f.get(got.facility).id.0, want.1, "at {p:?}");
            assert!((got.distance_m - want.0).abs() <= short_line_error_bound_m(want.0));
            if i % 3 < 2 {
                let (cands, _) = grid.cell(p, &index.tree, &index.normal).unwrap();
                assert!(cands.len() <= 16, "{} candidates at {p:?}", cands.len());
            }
        }
        assert!(grid.nodes() > grid.top_cells(), "no cell was split");
        // Points on the boundaries between cells at every depth (corners
        // of the smallest cells, at multiples of large powers of two among
        // them), and a few units in the last place either side: whichever
        // cell a point is taken to be in, the answer is exact.
        for i in 0..1500 {
            let (lon, lat) = cities[i % 2];
            let (ix, iy) = grid.top_of(LonLat::new(lon, lat));
            let bits = rng.random_range(0..=12);
            let k = |rng: &mut ChaCha8Rng| (rng.random_range(0..4096) >> bits) << bits;
            let (kx, ky) = (k(&mut rng), k(&mut rng));
            let c = grid.finest_corner(ix, iy, kx, ky);
            let ulps = |x: f64, d: i64| f64::from_bits((x.to_bits() as i64 + d) as u64);
            let (dx, dy) = (rng.random_range(-3..=3), rng.random_range(-3..=3));
            let p = LonLat::new(ulps(c.lon, dx), ulps(c.lat, dy));
            let got = index.nearest(p).unwrap();
            let want = brute(p);
            assert_eq!(f.get(got.facility).id.0, want.1, "at {p:?}");
            assert!((got.distance_m - want.0).abs() <= short_line_error_bound_m(want.0));
        }
    }

    /// Great-circle distance on the sphere of radius 6,371 km (metres).
    fn great_circle_m(a: LonLat, b: LonLat) -> f64 {
        let (p1, p2) = (a.lat.to_radians(), b.lat.to_radians());
        let (dp, dl) = (p2 - p1, (b.lon - a.lon).to_radians());
        let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * 6_371_000.0 * h.sqrt().min(1.0).asin()
    }

    /// Two facilities whose geodesic distances from the query differ by
    /// nothing, a nanometre, ..., a millimetre: the kernel's error is far
    /// larger than the smaller gaps, and the answer is still Karney's
    /// (then the smaller id).
    #[test]
    fn near_ties_are_decided_by_karney() {
        use geographiclib_rs::DirectGeodesic;
        let geod = geographiclib_rs::Geodesic::wgs84();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for i in 0..4000 {
            let p = LonLat::new(rng.random_range(9.0..10.6), rng.random_range(45.2..46.4));
            let s: f64 = rng.random_range(100.0..45_000.0);
            let gap = [0.0, 1e-9, 1e-8, 3e-8, 1e-7, 1e-6, 1e-3][i % 7];
            let at = |az: f64, s: f64| {
                let (lat, lon): (f64, f64) = geod.direct(p.lat, p.lon, az, s);
                LonLat::new(lon, lat)
            };
            let az: f64 = rng.random_range(-180.0..180.0);
            let (a, b) = (at(az, s), at(az + rng.random_range(20.0..340.0), s + gap));
            let near = if rng.random_bool(0.5) { [a, b] } else { [b, a] };
            let f = Facilities::new(vec![
                facility("A".into(), near[0], FacilityStatus::Active),
                facility("B".into(), near[1], FacilityStatus::Active),
                facility(
                    "C".into(),
                    LonLat::new(p.lon + 0.9, p.lat + 0.6),
                    FacilityStatus::Active,
                ),
            ])
            .unwrap();
            let index = FacilityIndex::active(&f, FacilityKind::Gp);
            let got = index.nearest(p).unwrap();
            let want = &brute_sorted(&f, p)[0];
            assert_eq!(f.get(got.facility).id.0, want.1, "at {p:?}, gap {gap}");
            assert!((got.distance_m - want.0).abs() <= short_line_error_bound_m(want.0));
        }
    }

    #[test]
    fn nearest_is_exact_for_points_far_outside_and_across_the_globe() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let f = random_facilities(&mut rng, 300, (-180.0, 180.0), (-89.0, 89.0));
        let index = FacilityIndex::active(&f, FacilityKind::Gp);
        let far = [
            LonLat::new(-170.0, -80.0),
            LonLat::new(179.9999, 0.0),
            LonLat::new(-179.9999, 0.0),
            LonLat::new(0.0, 90.0),
            LonLat::new(0.0, -90.0),
            LonLat::new(139.7, 35.7),
        ];
        for p in far.into_iter().chain((0..500).map(|_| {
            LonLat::new(
                rng.random_range(-180.0..180.0),
                rng.random_range(-90.0..90.0),
            )
        })) {
            let got = index.nearest(p).unwrap();
            let want = &brute_sorted(&f, p)[0];
            assert_eq!(f.get(got.facility).id.0, want.1, "at {p:?}");
        }
    }

    #[test]
    fn coincident_facilities_tie_to_the_smallest_id() {
        let p = LonLat::new(9.67, 45.69);
        let items = vec![
            facility("GP9".into(), p, FacilityStatus::Active),
            facility("GP10".into(), p, FacilityStatus::Active),
            facility(
                "GP2".into(),
                LonLat::new(9.68, 45.69),
                FacilityStatus::Active,
            ),
        ];
        let f = Facilities::new(items).unwrap();
        let index = FacilityIndex::active(&f, FacilityKind::Gp);
        let hit = index.nearest(LonLat::new(9.66, 45.69)).unwrap();
        // "GP10" < "GP9" as strings.
        assert_eq!(f.get(hit.facility).id.0, "GP10");
        let at = index.nearest(p).unwrap();
        assert_eq!(at.distance_m, 0.0);
        assert_eq!(f.get(at.facility).id.0, "GP10");
    }

    #[test]
    fn many_facilities_sharing_buildings_still_give_the_brute_force_answer() {
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let sites: Vec<LonLat> = (0..60)
            .map(|_| LonLat::new(rng.random_range(9.5..9.9), rng.random_range(45.6..45.8)))
            .collect();
        let items = (0..240)
            .map(|i| {
                facility(
                    format!("G{}", (i * 7919) % 1000),
                    sites[i % 60],
                    FacilityStatus::Active,
                )
            })
            .collect();
        let f = Facilities::new(items).unwrap();
        let index = FacilityIndex::active(&f, FacilityKind::Gp);
        for _ in 0..2000 {
            let p = LonLat::new(rng.random_range(9.4..10.0), rng.random_range(45.5..45.9));
            let got = index.nearest(p).unwrap();
            let want = &brute_sorted(&f, p)[0];
            assert_eq!(f.get(got.facility).id.0, want.1, "at {p:?}");
        }
    }

    #[test]
    fn equidistant_facilities_tie_to_the_smallest_id() {
        // Symmetric about the meridian 9.5 on the same parallel: equal
        // geodesic distances to any point on that meridian.
        let items = vec![
            facility("B".into(), LonLat::new(9.49, 45.7), FacilityStatus::Active),
            facility("A".into(), LonLat::new(9.51, 45.7), FacilityStatus::Active),
        ];
        let f = Facilities::new(items).unwrap();
        let index = FacilityIndex::active(&f, FacilityKind::Gp);
        let hit = index.nearest(LonLat::new(9.5, 45.72)).unwrap();
        assert_eq!(f.get(hit.facility).id.0, "A");
    }

    #[test]
    fn ceased_facilities_are_never_returned() {
        let items = vec![
            facility(
                "NEAR".into(),
                LonLat::new(9.67, 45.69),
                FacilityStatus::Ceased,
            ),
            facility("FAR".into(), LonLat::new(9.9, 45.8), FacilityStatus::Active),
        ];
        let f = Facilities::new(items).unwrap();
        let index = FacilityIndex::active(&f, FacilityKind::Gp);
        assert_eq!(index.len(), 1);
        let hit = index.nearest(LonLat::new(9.67, 45.69)).unwrap();
        assert_eq!(f.get(hit.facility).id.0, "FAR");
    }

    #[test]
    fn empty_index_finds_nothing() {
        let f = Facilities::new(vec![]).unwrap();
        let index = FacilityIndex::active(&f, FacilityKind::Gp);
        assert!(index.nearest(LonLat::new(0.0, 0.0)).is_none());
        assert!(index.k_nearest(LonLat::new(0.0, 0.0), 3).is_empty());
        assert!(index.within(LonLat::new(0.0, 0.0), 1e7).is_empty());
    }

    #[test]
    fn k_nearest_and_within_equal_brute_force() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let f = random_facilities(&mut rng, 400, (9.3, 10.3), (45.4, 46.2));
        let index = FacilityIndex::active(&f, FacilityKind::Gp);
        for _ in 0..300 {
            let p = LonLat::new(rng.random_range(9.2..10.4), rng.random_range(45.3..46.3));
            let want = brute_sorted(&f, p);
            let k = rng.random_range(1..12);
            let got: Vec<String> = index
                .k_nearest(p, k)
                .iter()
                .map(|h| f.get(h.facility).id.0.clone())
                .collect();
            let exp: Vec<String> = want.iter().take(k).map(|w| w.1.clone()).collect();
            assert_eq!(got, exp);
            let r = rng.random_range(0.0..8000.0);
            let got: Vec<String> = index
                .within(p, r)
                .iter()
                .map(|h| f.get(h.facility).id.0.clone())
                .collect();
            let exp: Vec<String> = want
                .iter()
                .filter(|w| w.0 <= r)
                .map(|w| w.1.clone())
                .collect();
            assert_eq!(got, exp);
        }
    }

    #[test]
    fn every_pair_in_reach_is_found_at_its_karney_distance() {
        let mut rng = ChaCha8Rng::seed_from_u64(99);
        let fs = random_facilities(&mut rng, 300, (9.0, 10.5), (45.2, 46.2));
        let index = FacilityIndex::active(&fs, FacilityKind::Gp);
        for _ in 0..300 {
            let p = LonLat::new(rng.random_range(9.0..10.5), rng.random_range(45.2..46.2));
            let r = rng.random_range(1_000.0..30_000.0);
            let mut got = Vec::new();
            index.for_each_within(p, r, |f, d| got.push((f, d)));
            got.sort_by_key(|x| x.0);
            let mut want: Vec<(FacilityIdx, f64)> = index
                .within(p, r)
                .into_iter()
                .map(|h| (h.facility, h.distance_m))
                .collect();
            want.sort_by_key(|x| x.0);
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.0, w.0);
                let tol = if w.1 <= 10_000.0 { 1e-7 } else { 2e-5 };
                assert!((g.1 - w.1).abs() < tol, "{} vs {}", g.1, w.1);
            }
        }
    }
}
