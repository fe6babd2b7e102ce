//! Work shared by many cessation scenarios on one dataset — a Monte Carlo
//! of retirements solves hundreds of draws whose ceasing GPs overlap, and
//! each patient is reassigned in several of them.
//!
//! [`CessationCache`] keeps, for each GP the first time one of its draws
//! needs it, its patients' exact geodesic distances to their nearest
//! potential receivers (the active GPs with room, whichever cease) and to
//! the GP they leave. A draw's nearest candidates are then the first
//! entries of that list that are still receiving, any arc the solve prices
//! or reports is looked up before it is measured, and the distances before
//! the change are read from there. Distances are the very floats the
//! uncached solve computes (the same Karney distance on the same prepared
//! points), and costs are rounded from them the same way, so a draw's
//! optimum, its proof and its report do not depend on the cache; only the
//! work does.

use std::cell::RefCell;
use std::sync::OnceLock;

use super::pricing::k_cheapest_sorted;
use super::sweep::Sweep;
use super::{cost_units, spare, UNITS_PER_COST};
use crate::dataset::Dataset;
use crate::geodesic::{ecef_chord_m, ecef_m, lower_bound_from_ecef_chord_m, prepared_distance_m};
use crate::karney::Prepared;
use crate::model::{FacilityIdx, FacilityKind, NONE};

/// Nearest potential receivers kept per patient: the solve starts from 8,
/// so up to 4 of them may cease in the same draw before a patient's list
/// has to be measured afresh.
const CACHED_NEAREST: usize = 12;

/// Shared work for many geodesic cessation scenarios on one dataset and
/// one `max_distance_m` (see the module docs). Pass it to
/// [`reassign_cached`](super::reassign_cached); it is `Sync`, so parallel
/// draws share it.
pub struct CessationCache {
    max_d: f64,
    /// Facilities the cache was built over (a guard against another
    /// dataset).
    facilities: usize,
    /// Facility index → position among the potential receivers (active
    /// GPs with room, in id order; NONE if not one).
    base_of: Vec<u32>,
    prep: Vec<Prepared>,
    xyz: Vec<[f64; 3]>,
    /// `xyz` sorted along the axis of their largest spread.
    sweep: Sweep,
    location: Vec<crate::model::LonLat>,
    /// Resident rows listed with each facility, by facility index.
    rows_of: Vec<Vec<u32>>,
    near: Vec<OnceLock<GpNear>>,
}

/// One GP's patients and their nearest potential receivers.
pub(super) struct GpNear {
    /// Resident rows, ascending.
    rows: Vec<u32>,
    /// `arcs of rows[k] = start[k]..start[k + 1]` in `base` and `dist`.
    start: Vec<u32>,
    /// Position in the cache's receivers, by cost then position.
    base: Vec<u32>,
    /// Geodesic distance of each arc, metres.
    dist: Vec<f64>,
    /// Whether a row's list holds every potential receiver within reach.
    complete: Vec<bool>,
    /// Geodesic distance of each row to this GP, metres.
    before: Vec<f64>,
}

/// One patient's cached arcs.
#[derive(Clone, Copy)]
pub(super) struct NearArcs<'a> {
    /// Positions in the cache's receivers, cheapest first.
    pub base: &'a [u32],
    /// Geodesic distance of each, metres.
    pub dist: &'a [f64],
    /// True when no other potential receiver is within reach.
    pub complete: bool,
    /// Geodesic distance to the GP the patient leaves, metres.
    pub before_m: f64,
}

impl NearArcs<'_> {
    /// The distance to the receiver at `base`, metres, when cached.
    #[inline]
    pub fn distance_m(&self, base: u32) -> Option<f64> {
        let k = self.base.iter().position(|&b| b == base)?;
        Some(self.dist[k])
    }
}

impl CessationCache {
    /// An empty cache for cessation scenarios on `dataset` (with any plan
    /// levers already applied) whose `max_distance_m` is `max_distance_m`.
    pub fn new(dataset: &Dataset, max_distance_m: f64) -> Self {
        let facilities = dataset.facilities();
        let mut receivers: Vec<FacilityIdx> = (0..facilities.len() as FacilityIdx)
            .filter(|&i| {
                let f = facilities.get(i);
                f.kind == FacilityKind::Gp && f.is_active() && spare(dataset, i) > 0
            })
            .collect();
        receivers.sort_by(|&a, &b| facilities.get(a).id.cmp(&facilities.get(b).id));
        let mut base_of = vec![NONE; facilities.len()];
        for (k, &f) in receivers.iter().enumerate() {
            base_of[f as usize] = k as u32;
        }
        let location: Vec<_> = receivers
            .iter()
            .map(|&f| facilities.get(f).location)
            .collect();
        let mut rows_of = vec![Vec::new(); facilities.len()];
        for (row, &g) in dataset.residents().gp().iter().enumerate() {
            if g != NONE {
                rows_of[g as usize].push(row as u32);
            }
        }
        let xyz: Vec<[f64; 3]> = location.iter().map(|&p| ecef_m(p)).collect();
        CessationCache {
            max_d: max_distance_m,
            facilities: facilities.len(),
            prep: location
                .iter()
                .map(|p| Prepared::new(p.lon, p.lat))
                .collect(),
            sweep: Sweep::new(&xyz),
            xyz,
            location,
            base_of,
            rows_of,
            near: (0..facilities.len()).map(|_| OnceLock::new()).collect(),
        }
    }

    /// True when the cache fits a solve on `dataset` with `max_d` whose
    /// receivers are `receivers`.
    pub(super) fn fits(&self, dataset: &Dataset, max_d: f64, receivers: &[FacilityIdx]) -> bool {
        self.max_d == max_d
            && self.facilities == dataset.facilities().len()
            && receivers
                .iter()
                .all(|&f| self.base_of.get(f as usize).is_some_and(|&b| b != NONE))
    }

    /// Position of facility `f` among the potential receivers.
    pub(super) fn base(&self, f: FacilityIdx) -> u32 {
        self.base_of[f as usize]
    }

    /// The cached arcs of resident `row`, listed with GP `gp`.
    pub(super) fn arcs(
        &self,
        dataset: &Dataset,
        gp: FacilityIdx,
        row: usize,
    ) -> Option<NearArcs<'_>> {
        if gp == NONE {
            return None;
        }
        let near = self.near[gp as usize].get_or_init(|| self.measure(dataset, gp));
        let k = near.rows.binary_search(&(row as u32)).ok()?;
        let r = near.start[k] as usize..near.start[k + 1] as usize;
        Some(NearArcs {
            base: &near.base[r.clone()],
            dist: &near.dist[r],
            complete: near.complete[k],
            before_m: near.before[k],
        })
    }

    /// Measures GP `gp`'s patients to their nearest potential receivers
    /// other than `gp`, and to `gp`.
    fn measure(&self, dataset: &Dataset, gp: FacilityIdx) -> GpNear {
        let locs = dataset.residents().locations();
        let rows = self.rows_of[gp as usize].clone();
        let own = self.base_of[gp as usize];
        let at = dataset.facilities().get(gp).location;
        let at_prep = Prepared::new(at.lon, at.lat);
        let mut near = GpNear {
            start: Vec::with_capacity(rows.len() + 1),
            base: Vec::with_capacity(rows.len() * CACHED_NEAREST),
            dist: Vec::with_capacity(rows.len() * CACHED_NEAREST),
            complete: Vec::with_capacity(rows.len()),
            before: Vec::with_capacity(rows.len()),
            rows,
        };
        near.start.push(0);
        let measured = RefCell::new(Vec::<(u32, f64)>::new());
        for &row in &near.rows {
            let p = locs[row as usize];
            let (pp, px) = (Prepared::new(p.lon, p.lat), ecef_m(p));
            let key = |k: u32| {
                let lb = lower_bound_from_ecef_chord_m(ecef_chord_m(&px, &self.xyz[k as usize]));
                let lb = lb.max(0.0);
                (k != own && lb <= self.max_d).then_some((lb * UNITS_PER_COST) as i64)
            };
            measured.borrow_mut().clear();
            let keys = self.sweep.ordered(&px, UNITS_PER_COST, key);
            let found = k_cheapest_sorted(keys, CACHED_NEAREST, |k| {
                let d =
                    prepared_distance_m(p, &pp, self.location[k as usize], &self.prep[k as usize]);
                measured.borrow_mut().push((k, d));
                (d <= self.max_d).then(|| cost_units(d))
            });
            // Complete when no other potential receiver is within reach
            // (counted only where the list ran short).
            let complete = found.len() < CACHED_NEAREST
                && self
                    .sweep
                    .within(&px, self.max_d + 1.0)
                    .filter(|&k| key(k).is_some())
                    .count()
                    <= CACHED_NEAREST;
            let measured = measured.borrow();
            for (k, _) in found {
                let d = measured.iter().find(|m| m.0 == k).expect("measured").1;
                near.base.push(k);
                near.dist.push(d);
            }
            near.complete.push(complete);
            near.start.push(near.base.len() as u32);
            near.before.push(prepared_distance_m(p, &pp, at, &at_prep));
        }
        near
    }
}
