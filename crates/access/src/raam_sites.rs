//! RAAM on the geodesic by site: facilities at one point (GPs sharing a
//! surgery, a Casa di Comunità's doctors) cost the same from every
//! resident, so the equilibrium treats them as one facility with their
//! supplies summed, and splits its demand between them in proportion to
//! their supply (each gets `D_site / (ρ S_site)` per unit: the same
//! price). The solver would find such twins itself from the pairs
//! ([`crate::raam`]); found here, from the points, their pairs are never
//! measured, gathered or copied.

use std::collections::HashMap;

use bacino_core::{Executor, Facilities, FacilityIdx, LonLat, ReachIndex};

use crate::fca::Scores;
use crate::raam::{Raam, RaamParams};
use crate::rows::GeodesicCosts;

/// Facilities grouped by point.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sites {
    /// The first member at each site, in the order first met.
    pub(crate) first: Vec<FacilityIdx>,
    /// Each member's site.
    pub(crate) site_of: Vec<usize>,
    /// Each site's positive supply, summed over its members in order.
    pub(crate) supply: Vec<f64>,
}

impl Sites {
    /// `members` (with `supply`, one each) grouped by the bits of their
    /// points.
    pub(crate) fn of(facilities: &Facilities, members: &[FacilityIdx], supply: &[f64]) -> Sites {
        assert_eq!(members.len(), supply.len(), "one supply per member");
        let mut at: HashMap<(u64, u64), usize> = HashMap::new();
        let mut sites = Sites {
            first: Vec::new(),
            site_of: Vec::with_capacity(members.len()),
            supply: Vec::new(),
        };
        for (&f, &s) in members.iter().zip(supply) {
            let p = facilities.get(f).location;
            let k = *at
                .entry((p.lon.to_bits(), p.lat.to_bits()))
                .or_insert_with(|| {
                    sites.first.push(f);
                    sites.supply.push(0.0);
                    sites.first.len() - 1
                });
            sites.site_of.push(k);
            if s > 0.0 {
                sites.supply[k] += s;
            }
        }
        sites
    }

    /// A demand per site split between its members by their supply (0
    /// for members without).
    pub(crate) fn split(&self, by_site: &[f64], supply: &[f64]) -> Vec<f64> {
        assert_eq!(self.site_of.len(), supply.len(), "one supply per member");
        self.site_of
            .iter()
            .zip(supply)
            .map(|(&k, &s)| {
                if s > 0.0 && self.supply[k] > 0.0 {
                    by_site[k] * (s / self.supply[k])
                } else {
                    0.0
                }
            })
            .collect()
    }
}

/// RAAM's scores on the geodesic within `max_cost` metres, by site: the
/// equilibrium [`crate::raam_scores`] finds on every member's costs, to
/// within its tolerance (the path to it differs: the sites' supplies are
/// summed before `ρ` scales them, the solver's twins after).
#[allow(clippy::too_many_arguments)]
pub fn raam_geodesic_scores<E: Executor>(
    facilities: &Facilities,
    members: &[FacilityIdx],
    max_cost: f64,
    points: &[LonLat],
    demand: &[f64],
    supply: &[f64],
    params: RaamParams,
    exec: &E,
) -> (Scores, Option<Raam>) {
    let sites = Sites::of(facilities, members, supply);
    let index = ReachIndex::new(facilities, &sites.first, max_cost, points);
    let costs = GeodesicCosts {
        index: &index,
        points,
        cols: sites.first.len(),
    };
    let (mut s, mut raam) = crate::raam_scores(&costs, demand, &sites.supply, params, exec);
    s.facility_demand = sites.split(&s.facility_demand, supply);
    if let Some(r) = &mut raam {
        r.facility_demand = sites.split(&r.facility_demand, supply);
    }
    (s, raam)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bacino_core::{Facility, FacilityKind, Sequential};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300) || (a.is_nan() && b.is_nan())
    }

    /// Facilities sharing points (one with no supply, one site with none
    /// at all): by site, the same scores and demands as the solver's own
    /// twins give on every member's pairs, and each site's demand split by
    /// supply.
    #[test]
    fn sites_score_as_every_member() {
        let mut rng = ChaCha8Rng::seed_from_u64(29);
        // Points over a 23 × 22 km box near Bergamo.
        let mut pick = |n: usize| -> Vec<LonLat> {
            let mut at = || {
                (
                    9.5 + 0.3 * rng.random::<f64>(),
                    45.5 + 0.2 * rng.random::<f64>(),
                )
            };
            (0..n)
                .map(|_| at())
                .map(|(lon, lat)| LonLat::new(lon, lat))
                .collect()
        };
        let distinct = pick(25);
        let points = pick(6_000);
        // Members 25.. repeat earlier points.
        let at: Vec<LonLat> = distinct
            .iter()
            .copied()
            .chain([3, 3, 7, 12, 20, 0].map(|k| distinct[k]))
            .collect();
        // The facilities listed in reverse after one that is no member,
        // so that a member's position and its index differ: member `k`
        // (at `at[k]`) is facility `at.len() - k`.
        let decoy = LonLat::new(9.6, 45.6);
        let list: Vec<Facility> = std::iter::once(decoy)
            .chain(at.iter().rev().copied())
            .enumerate()
            .map(|(k, p)| Facility {
                capacity: Some(1_000),
                ..Facility::new(format!("f{k}"), FacilityKind::Gp, p)
            })
            .collect();
        let facilities = Facilities::new(list).unwrap();
        let members: Vec<FacilityIdx> = (0..at.len()).map(|k| (at.len() - k) as u32).collect();
        let mut supply: Vec<f64> = (0..at.len()).map(|k| 500.0 + 37.0 * k as f64).collect();
        supply[26] = 0.0; // shares point 3 with 25 and 3
        supply[12] = 0.0; // site 12 keeps member 28's supply
        supply[20] = 0.0;
        supply[29] = 0.0; // site 20: no supply at all
        let demand: Vec<f64> = (0..points.len())
            .map(|_| rng.random_range(1.0..4.0_f64).round())
            .collect();
        let sites = Sites::of(&facilities, &members, &supply);
        assert_eq!(sites.first.len(), 25);
        assert_eq!(sites.first[3], members[3]);
        assert_eq!(sites.supply[3], supply[3] + supply[25]);
        assert_eq!(sites.supply[20], 0.0);
        let params = RaamParams::default();
        let max = 6_000.0;
        let (got, got_raam) = raam_geodesic_scores(
            &facilities,
            &members,
            max,
            &points,
            &demand,
            &supply,
            params,
            &Sequential,
        );
        let index = ReachIndex::new(&facilities, &members, max, &points);
        let costs = GeodesicCosts {
            index: &index,
            points: &points,
            cols: members.len(),
        };
        let (want, want_raam) = crate::raam_scores(&costs, &demand, &supply, params, &Sequential);
        assert_eq!(got.reached, want.reached);
        assert!(got.reached.iter().filter(|&&r| r).count() > 5_000);
        for (i, (a, b)) in got.value.iter().zip(&want.value).enumerate() {
            assert!(close(*a, *b, 1e-8), "row {i}: {a} vs {b}");
        }
        let (gr, wr) = (got_raam.unwrap(), want_raam.unwrap());
        assert!(gr.residual <= 1e-9, "residual {}", gr.residual);
        for (j, (a, b)) in got
            .facility_demand
            .iter()
            .zip(&want.facility_demand)
            .enumerate()
        {
            assert!(close(*a, *b, 1e-6), "facility {j}: {a} vs {b}");
            assert_eq!(*a, gr.facility_demand[j]);
        }
        for j in [26, 12, 20, 29] {
            assert_eq!(got.facility_demand[j], 0.0, "facility {j} has no supply");
        }
        // Members of one site carry demand in proportion to supply.
        let (d3, d25) = (got.facility_demand[3], got.facility_demand[25]);
        assert!(d3 > 0.0 && close(d3 / d25, supply[3] / supply[25], 1e-12));
        assert!(wr.residual <= 1e-9);
    }
}
