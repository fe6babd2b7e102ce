//! Work shared by many cessation scenarios on one dataset — a Monte Carlo
//! of retirements solves hundreds of draws whose ceasing GPs overlap, and
//! each patient is reassigned in several of them.
//!
//! [`CessationCache`] keeps, for each GP the first time one of its draws
//! needs it, its patients' exact geodesic costs to their nearest potential
//! receivers (the active GPs with room, whichever cease). A draw's nearest
//! candidates are then the first entries of that list that are still
//! receiving, and any arc the solve prices is looked up before it is
//! measured. Costs are the very integers the uncached solve computes (the
//! same Karney distance, rounded the same way), so a draw's optimum and its
//! proof do not depend on the cache; only the work does.

use std::sync::OnceLock;

use super::{cost_units, k_cheapest, spare};
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
    /// Potential receivers: active GPs with room, in id order.
    receivers: Vec<FacilityIdx>,
    /// Facility index → position in `receivers` (NONE if not one).
    base_of: Vec<u32>,
    prep: Vec<Prepared>,
    xyz: Vec<[f64; 3]>,
    location: Vec<crate::model::LonLat>,
    /// Resident rows listed with each facility, by facility index.
    rows_of: Vec<Vec<u32>>,
    near: Vec<OnceLock<GpNear>>,
}

/// One GP's patients and their nearest potential receivers.
pub(super) struct GpNear {
    /// Resident rows, ascending.
    rows: Vec<u32>,
    /// `arcs of rows[k] = arcs[start[k]..start[k + 1]]`.
    start: Vec<u32>,
    /// (position in the cache's receivers, cost), by cost then position.
    arcs: Vec<(u32, i64)>,
    /// Whether a row's list holds every potential receiver within reach.
    complete: Vec<bool>,
}

/// One patient's cached arcs.
#[derive(Clone, Copy)]
pub(super) struct NearArcs<'a> {
    /// (position in the cache's receivers, cost), cheapest first.
    pub arcs: &'a [(u32, i64)],
    /// True when no other potential receiver is within reach.
    pub complete: bool,
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
        CessationCache {
            max_d: max_distance_m,
            facilities: facilities.len(),
            prep: location
                .iter()
                .map(|p| Prepared::new(p.lon, p.lat))
                .collect(),
            xyz: location.iter().map(|&p| ecef_m(p)).collect(),
            location,
            receivers,
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
            arcs: &near.arcs[r],
            complete: near.complete[k],
        })
    }

    /// Measures GP `gp`'s patients to their nearest potential receivers
    /// other than `gp`.
    fn measure(&self, dataset: &Dataset, gp: FacilityIdx) -> GpNear {
        let locs = dataset.residents().locations();
        let rows = self.rows_of[gp as usize].clone();
        let own = self.base_of[gp as usize];
        let mut near = GpNear {
            start: Vec::with_capacity(rows.len() + 1),
            arcs: Vec::with_capacity(rows.len() * CACHED_NEAREST),
            complete: Vec::with_capacity(rows.len()),
            rows,
        };
        near.start.push(0);
        let mut keys = Vec::with_capacity(self.receivers.len());
        for &row in &near.rows {
            let p = locs[row as usize];
            let (pp, px) = (Prepared::new(p.lon, p.lat), ecef_m(p));
            keys.clear();
            for (k, x) in self.xyz.iter().enumerate() {
                let lb = lower_bound_from_ecef_chord_m(ecef_chord_m(&px, x)).max(0.0);
                if k as u32 != own && lb <= self.max_d {
                    keys.push(((lb * super::UNITS_PER_COST) as i64, k as u32));
                }
            }
            let within = keys.len();
            let found = k_cheapest(keys.clone(), CACHED_NEAREST, |k| {
                let d =
                    prepared_distance_m(p, &pp, self.location[k as usize], &self.prep[k as usize]);
                (d <= self.max_d).then(|| cost_units(d))
            });
            near.complete.push(within <= CACHED_NEAREST);
            near.arcs.extend(found);
            near.start.push(near.arcs.len() as u32);
        }
        near
    }
}
