//! [`FacilityIndex`]: exact geodesic nearest-facility queries over an R-tree.

use std::cmp::Ordering;

use rstar::primitives::GeomWithData;
use rstar::RTree;

use crate::geodesic::{
    chord_upper_bound, geodesic_distance_m, lower_bound_from_chord_m, unit_normal,
};
use crate::model::{Facilities, FacilityIdx, FacilityKind, LonLat};

/// A facility found by a query, with its geodesic distance in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nearest {
    /// Index into the dataset's [`Facilities`].
    pub facility: FacilityIdx,
    /// Geodesic (WGS84) distance, metres.
    pub distance_m: f64,
}

type Entry = GeomWithData<[f64; 3], u32>;

/// Spatial index over a set of facilities answering nearest, k-nearest and
/// within-radius queries by **exact** geodesic distance on WGS84.
///
/// The R-tree holds the facilities' surface normals as points on the unit
/// sphere. A chord between normals gives a rigorous lower bound on the
/// geodesic distance (see [`MIN_CURVATURE_RADIUS_M`](crate::MIN_CURVATURE_RADIUS_M)),
/// so the tree proposes candidates and Karney's algorithm ranks them; a
/// query stops only when no remaining candidate can be nearer. Ties in
/// distance are broken by facility id, so answers are deterministic.
///
/// ```
/// use bacino_core::{Facilities, Facility, FacilityId, FacilityIndex, FacilityKind, FacilityStatus, LonLat};
/// let gp = |id: &str, lon, lat| Facility {
///     id: FacilityId(id.into()), kind: FacilityKind::Gp, name: None,
///     location: LonLat::new(lon, lat), capacity: Some(1500), list_size: None,
///     status: FacilityStatus::Active, municipality: None, ad: false,
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
    location: Vec<LonLat>,
    /// Rank of each facility's id among the indexed ones, for tie-breaking.
    id_rank: Vec<u32>,
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
        let entries = location
            .iter()
            .enumerate()
            .map(|(local, &p)| GeomWithData::new(unit_normal(p), local as u32))
            .collect();
        FacilityIndex {
            tree: RTree::bulk_load(entries),
            id_rank: (0..members.len() as u32).collect(),
            facility: members,
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
        let q = unit_normal(p);
        let first = self.tree.nearest_neighbor(&q).or_else(|| {
            // rstar documents that the fast path may miss in rare rounding cases.
            self.tree.nearest_neighbor_iter(&q).next()
        })?;
        let mut best = (
            geodesic_distance_m(p, self.location[first.data as usize]),
            first.data,
        );
        // Any facility at least as near lies within this chord of `q`.
        let reach = chord_upper_bound(best.0);
        for e in self.tree.locate_within_distance(q, reach * reach) {
            if e.data == first.data {
                continue;
            }
            let chord = dist2(e.geom(), &q).sqrt();
            if lower_bound_from_chord_m(chord) > best.0 {
                continue;
            }
            let cand = (
                geodesic_distance_m(p, self.location[e.data as usize]),
                e.data,
            );
            if self.cmp(cand, best) == Ordering::Less {
                best = cand;
            }
        }
        Some(self.hit(best.1, best.0))
    }

    /// The `k` facilities nearest to `p`, nearest first (ties by id).
    pub fn k_nearest(&self, p: LonLat, k: usize) -> Vec<Nearest> {
        if k == 0 {
            return Vec::new();
        }
        let q = unit_normal(p);
        // Sorted candidates found so far; at most k kept.
        let mut found: Vec<(f64, u32)> = Vec::with_capacity(k + 1);
        for (e, d2) in self.tree.nearest_neighbor_iter_with_distance_2(&q) {
            if found.len() == k && lower_bound_from_chord_m(d2.sqrt()) > found[k - 1].0 {
                break;
            }
            let cand = (
                geodesic_distance_m(p, self.location[e.data as usize]),
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

    /// Every facility within `radius_m` metres of `p` (inclusive), nearest
    /// first (ties by id).
    pub fn within(&self, p: LonLat, radius_m: f64) -> Vec<Nearest> {
        if radius_m.is_nan() || radius_m < 0.0 {
            return Vec::new();
        }
        let q = unit_normal(p);
        let reach = chord_upper_bound(radius_m);
        let mut found: Vec<(f64, u32)> = self
            .tree
            .locate_within_distance(q, reach * reach)
            .filter_map(|e| {
                let d = geodesic_distance_m(p, self.location[e.data as usize]);
                (d <= radius_m).then_some((d, e.data))
            })
            .collect();
        found.sort_by(|&a, &b| self.cmp(a, b));
        found.into_iter().map(|(d, l)| self.hit(l, d)).collect()
    }
}

fn dist2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Facility, FacilityId, FacilityStatus};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn facility(id: String, p: LonLat, status: FacilityStatus) -> Facility {
        Facility {
            id: FacilityId(id),
            kind: FacilityKind::Gp,
            name: None,
            location: p,
            capacity: None,
            list_size: None,
            status,
            municipality: None,
            ad: false,
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
        for _ in 0..3000 {
            let p = LonLat::new(rng.random_range(9.0..10.6), rng.random_range(45.2..46.4));
            let got = index.nearest(p).unwrap();
            let want = &brute_sorted(&f, p)[0];
            assert_eq!(f.get(got.facility).id.0, want.1, "at {p:?}");
            assert_eq!(got.distance_m, want.0);
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
}
