//! [`Dataset`]: everything loaded from one dataset directory.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::areas::Areas;
use crate::error::Result;
use crate::exec::{chunk_ranges, Executor, Sequential};
use crate::model::{Facilities, FacilityIdx, Residents, NONE};

/// A loaded dataset: facilities, residents and optional areas.
#[derive(Debug)]
pub struct Dataset {
    /// URL-safe name.
    pub name: String,
    /// Human title.
    pub title: String,
    /// Manifest path it was loaded from.
    pub source: PathBuf,
    facilities: Facilities,
    residents: Residents,
    areas: Option<Areas>,
    list_size: Vec<f64>,
    resident_area: OnceLock<Vec<u32>>,
    study_area: OnceLock<geo::MultiPolygon<f64>>,
}

impl Dataset {
    /// Loads `DIR/dataset.toml` and its files on the calling thread.
    pub fn load(dir: impl AsRef<Path>) -> Result<Dataset> {
        crate::load::load_dataset(dir.as_ref(), &Sequential)
    }

    /// Loads a dataset, running parsing work through `exec`.
    pub fn load_with<E: Executor>(dir: impl AsRef<Path>, exec: &E) -> Result<Dataset> {
        crate::load::load_dataset(dir.as_ref(), exec)
    }

    /// Assembles a dataset from parts already validated.
    pub fn new(
        name: String,
        title: String,
        source: PathBuf,
        facilities: Facilities,
        residents: Residents,
        areas: Option<Areas>,
    ) -> Dataset {
        let mut counted = vec![0.0; facilities.len()];
        for (&gp, &w) in residents.gp().iter().zip(residents.weights()) {
            if gp != NONE {
                counted[gp as usize] += w;
            }
        }
        let list_size = facilities
            .iter()
            .zip(counted)
            .map(|(f, c)| f.list_size.map_or(c, f64::from))
            .collect();
        Dataset {
            name,
            title,
            source,
            facilities,
            residents,
            areas,
            list_size,
            resident_area: OnceLock::new(),
            study_area: OnceLock::new(),
        }
    }

    /// Facilities.
    pub fn facilities(&self) -> &Facilities {
        &self.facilities
    }

    /// Residents (never to be returned individually).
    pub fn residents(&self) -> &Residents {
        &self.residents
    }

    /// Areas, when the manifest has some.
    pub fn areas(&self) -> Option<&Areas> {
        self.areas.as_ref()
    }

    /// Patients on a facility's list: the declared `list_size`, or else the
    /// weighted count of residents whose `gp_id` names it.
    pub fn list_size(&self, facility: FacilityIdx) -> f64 {
        self.list_size[facility as usize]
    }

    /// Index of the area each resident lies in ([`NONE`] outside every area
    /// or without areas), computed on first use.
    pub fn resident_areas<E: Executor>(&self, exec: &E) -> &[u32] {
        self.resident_area.get_or_init(|| {
            let locs = self.residents.locations();
            match &self.areas {
                None => vec![NONE; locs.len()],
                Some(areas) => exec
                    .map(chunk_ranges(locs.len(), 65_536), |r| {
                        locs[r]
                            .iter()
                            .map(|&p| areas.locate(p))
                            .collect::<Vec<u32>>()
                    })
                    .concat(),
            }
        })
    }

    /// The area catchments are clipped to (WGS84 lon/lat): the union of the
    /// areas or, without areas, the convex hull of residents and facilities
    /// grown by [`HULL_BUFFER_M`](crate::HULL_BUFFER_M); computed on first use.
    pub fn study_area(&self) -> &geo::MultiPolygon<f64> {
        self.study_area
            .get_or_init(|| crate::catchments::build_study_area(self))
    }
}
