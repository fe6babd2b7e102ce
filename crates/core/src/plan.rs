//! Planning levers (CONTRACT §8): a plan opens new GPs (*formazione nuovi
//! MMG*) and sets list caps (`"*"`: every GP, the *aumento massimali*)
//! before its cessations are solved. [`Dataset::with_levers`] derives the
//! dataset the plan describes; every analysis then runs on it unchanged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::model::{Facilities, Facility, FacilityId, FacilityKind, FacilityStatus, LonLat};

/// The key of a plan's `capacity` that sets the cap of every active GP.
pub const EVERY_GP: &str = "*";

/// A facility a plan opens: `{"id": "NEW01", "kind": "gp", "lon": 9.67,
/// "lat": 45.69, "capacity": 1500}` (`kind` defaults to `gp`; `name` and
/// `municipality` are optional; no capacity: unbounded, or the plan's
/// `"*"` cap for a GP).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OpenFacility {
    /// A new id (no facility of the dataset has it).
    pub id: String,
    /// Kind (default `gp`).
    #[serde(default = "gp_kind")]
    pub kind: FacilityKind,
    /// Longitude, WGS84 degrees.
    pub lon: f64,
    /// Latitude, WGS84 degrees.
    pub lat: f64,
    /// List cap (massimale).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// Free-text name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// ISTAT municipality code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipality: Option<String>,
}

fn gp_kind() -> FacilityKind {
    FacilityKind::Gp
}

/// The caps a plan's `capacity` gives: `"*"` for every active GP of the
/// dataset and every GP it opens without a cap of its own, then each named
/// GP.
fn planned_cap(capacity: &BTreeMap<String, u32>, id: &str) -> Option<u32> {
    capacity.get(id).or_else(|| capacity.get(EVERY_GP)).copied()
}

impl Dataset {
    /// This dataset with a plan's levers applied: the facilities of `open`
    /// added (active, empty lists), and the caps of `capacity` set. Fails,
    /// changing nothing, on an id that exists or repeats, a position off
    /// the globe, a capacity key that names no active GP, or a cap below
    /// a GP's current list.
    pub fn with_levers(
        &self,
        open: &[OpenFacility],
        capacity: &BTreeMap<String, u32>,
    ) -> Result<Dataset> {
        let facilities = self.facilities();
        let mut items: Vec<Facility> = facilities.iter().cloned().collect();
        for (k, o) in open.iter().enumerate() {
            let id = o.id.trim();
            let at = |msg: String| Error::param("open", format!("open[{k}] (`{id}`): {msg}"));
            if id.is_empty() {
                return Err(at("expected a non-empty id".into()));
            }
            if facilities.index_of(id).is_some() {
                return Err(at("a facility with this id exists already".into()));
            }
            if open[..k].iter().any(|p| p.id.trim() == id) {
                return Err(at("this id is opened twice".into()));
            }
            let on_globe = (-180.0..=180.0).contains(&o.lon) && (-90.0..=90.0).contains(&o.lat);
            if !on_globe {
                return Err(at(format!(
                    "expected lon in -180..180 and lat in -90..90, found {}, {}",
                    o.lon, o.lat
                )));
            }
            let cap = match (o.capacity, o.kind) {
                (Some(c), _) => Some(c),
                (None, FacilityKind::Gp) => capacity.get(EVERY_GP).copied(),
                (None, _) => None,
            };
            items.push(Facility {
                id: FacilityId(id.to_owned()),
                kind: o.kind,
                name: o.name.clone(),
                location: LonLat::new(o.lon, o.lat),
                capacity: cap,
                list_size: None,
                status: FacilityStatus::Active,
                municipality: o.municipality.clone(),
                ad: false,
                aft: None,
                retire_p: None,
                other: Vec::new(),
            });
        }
        for key in capacity.keys() {
            if key == EVERY_GP {
                continue;
            }
            let known = items.iter().any(|f| {
                f.id.0 == *key && f.kind == FacilityKind::Gp && f.status == FacilityStatus::Active
            });
            if !known {
                return Err(Error::param(
                    "capacity",
                    format!("`{key}` is not an active GP of the dataset or of the plan's `open`"),
                ));
            }
        }
        let mut below = Vec::new();
        for (i, f) in items.iter_mut().enumerate().take(facilities.len()) {
            if f.kind != FacilityKind::Gp || f.status != FacilityStatus::Active {
                continue;
            }
            if let Some(c) = planned_cap(capacity, &f.id.0) {
                let list = self.list_size(i as u32);
                if f64::from(c) < list {
                    below.push(format!("`{}` (cap {c}, list {list})", f.id));
                }
                f.capacity = Some(c);
            }
        }
        // Opened GPs named in `capacity` take that cap.
        for f in items.iter_mut().skip(facilities.len()) {
            if let Some(&c) = capacity.get(&f.id.0) {
                f.capacity = Some(c);
            }
        }
        if !below.is_empty() {
            let n = below.len();
            below.truncate(5);
            return Err(Error::param(
                "capacity",
                format!(
                    "a cap below a GP's current list would strike patients off: {n} GP(s), {}{}",
                    below.join(", "),
                    if n > 5 { ", ..." } else { "" }
                ),
            ));
        }
        let facilities = Facilities::new(items).map_err(|(_, id)| {
            Error::param(
                "open",
                format!("`{id}`: a facility with this id exists already"),
            )
        })?;
        Ok(self.derive(facilities, None))
    }

    /// This dataset after a change: `ceased` marked ceased, and each
    /// resident's GP replaced by `gp` (e.g.
    /// [`Reassignment::assignment_after`](crate::Reassignment::assignment_after)).
    pub fn after_change(&self, ceased: &[u32], gp: Vec<u32>) -> Dataset {
        let mut items: Vec<Facility> = self.facilities().iter().cloned().collect();
        for &c in ceased {
            items[c as usize].status = FacilityStatus::Ceased;
        }
        // Declared list sizes follow the people who moved.
        let weights = self.residents().weights();
        let mut delta = vec![0.0f64; items.len()];
        for ((&before, &after), &w) in self.residents().gp().iter().zip(&gp).zip(weights) {
            if before != after {
                if before != crate::model::NONE {
                    delta[before as usize] -= w;
                }
                if after != crate::model::NONE {
                    delta[after as usize] += w;
                }
            }
        }
        for (f, d) in items.iter_mut().zip(delta) {
            if let Some(l) = f.list_size.as_mut() {
                *l = (f64::from(*l) + d).round().max(0.0) as u32;
            }
        }
        let facilities = Facilities::new(items).expect("the same ids");
        self.derive(facilities, Some(gp))
    }
}

/// Checks that `dataset` carries the levers (the plan was applied with
/// [`Dataset::with_levers`]): every opened id is there, every named cap
/// is set.
pub(crate) fn check_applied(
    dataset: &Dataset,
    open: &[OpenFacility],
    capacity: &BTreeMap<String, u32>,
) -> Result<()> {
    let facilities = dataset.facilities();
    let applied = open
        .iter()
        .all(|o| facilities.index_of(o.id.trim()).is_some())
        && capacity.iter().all(|(id, &c)| {
            id == EVERY_GP
                || facilities
                    .index_of(id)
                    .is_some_and(|i| facilities.get(i).capacity == Some(c))
        });
    if applied {
        Ok(())
    } else {
        Err(Error::Unavailable(
            "the plan's `open`/`capacity` levers are not applied to this dataset: \
             derive it with Dataset::with_levers first"
                .into(),
        ))
    }
}
