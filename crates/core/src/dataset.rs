//! [`Dataset`]: everything loaded from one dataset directory.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use bacino_network::{CacheOutcome, NetworkSpec, ProfileName, RoadNetwork};

use crate::areas::Areas;
use crate::error::{Error, Result};
use crate::exec::{chunk_ranges, Executor, Sequential};
use crate::metric::{Metric, MetricName, PreparedNetwork};
use crate::model::{Facilities, FacilityIdx, Residents, NONE};

/// The version of a dataset not loaded from files.
pub const IN_MEMORY: &str = "in-memory";

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
    /// Patients on each facility's list, counted on first use (a pass
    /// over every resident that most analyses do not need).
    list_size: OnceLock<Vec<f64>>,
    resident_area: OnceLock<Vec<u32>>,
    study_area: OnceLock<geo::MultiPolygon<f64>>,
    network: Option<Vec<NetworkSpec>>,
    costs: Option<Arc<crate::costs::CostTable>>,
    agendas: Option<Arc<crate::agendas::Agendas>>,
    cache_dir: Option<PathBuf>,
    prepared: [OnceLock<Arc<PreparedNetwork>>; 2],
    version: String,
}

impl Dataset {
    /// Loads `DIR/dataset.toml` and its files on the calling thread.
    pub fn load(dir: impl AsRef<Path>) -> Result<Dataset> {
        crate::load::load_dataset(dir.as_ref(), &Sequential)
    }

    /// Loads a dataset, running parsing work through `exec`. A `[network]`
    /// is validated (profile overrides, the extract's presence) but its
    /// graph is prepared on first use or by [`Dataset::prepare_networks`].
    pub fn load_with<E: Executor>(dir: impl AsRef<Path>, exec: &E) -> Result<Dataset> {
        crate::load::load_dataset(dir.as_ref(), exec)
    }

    /// [`Dataset::load_with`], the residents read from their prepared file
    /// in `cache_dir` when it is current, or written to it, as `mode`
    /// says; the outcome says which happened.
    pub fn load_prepared<E: Executor>(
        dir: impl AsRef<Path>,
        exec: &E,
        cache_dir: &Path,
        mode: crate::PreparedMode,
    ) -> Result<(Dataset, crate::PreparedOutcome)> {
        Self::load_columns(
            dir,
            exec,
            Some((cache_dir, mode)),
            &crate::ResidentColumns::all(),
        )
    }

    /// [`Dataset::load_with`] or, given a cache directory and mode,
    /// [`Dataset::load_prepared`], keeping at least the residents' `columns`
    /// (see [`crate::ResidentColumns`]: the others may be left out, which
    /// saves their memory and the time to store them; every field is
    /// checked all the same).
    pub fn load_columns<E: Executor>(
        dir: impl AsRef<Path>,
        exec: &E,
        cache: Option<(&Path, crate::PreparedMode)>,
        columns: &crate::ResidentColumns,
    ) -> Result<(Dataset, crate::PreparedOutcome)> {
        crate::load::load_dataset_prepared(dir.as_ref(), exec, cache, columns)
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
        Dataset {
            name,
            title,
            source,
            facilities,
            residents,
            areas,
            list_size: OnceLock::new(),
            resident_area: OnceLock::new(),
            study_area: OnceLock::new(),
            network: None,
            costs: None,
            agendas: None,
            cache_dir: bacino_network::default_cache_dir(),
            prepared: [OnceLock::new(), OnceLock::new()],
            version: IN_MEMORY.to_owned(),
        }
    }

    /// Sets the version (see [`Dataset::version`]).
    pub fn with_version(mut self, version: String) -> Dataset {
        self.version = version;
        self
    }

    /// The version of the data: a hash of the bytes of the manifest and of
    /// every source file, 32 hex digits, for a loaded dataset (the same
    /// bytes give the same version); `in-memory` for one assembled by
    /// [`Dataset::new`].
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Drops the dataset, its residents' columns freed by `exec`'s threads.
    /// The kernel takes about 0.1 s to free a gigabyte of pages: 0.4 s on
    /// one thread for a national dataset, which a command that ends with
    /// the dataset would otherwise wait for.
    pub fn free_with<E: Executor>(self, exec: &E) {
        let Residents {
            location,
            weight,
            ids,
            municipality,
            group,
            gp,
            extra,
            ones,
            unit_weights: _,
            kept: _,
        } = self.residents;
        let n = location.len();
        // Each column with its size in bytes, to share them out evenly.
        let mut parts: Vec<(usize, Box<dyn Send>)> = vec![
            (ids.heap_bytes(), Box::new(ids)),
            (16 * n, Box::new(location)),
            (8 * weight.len(), Box::new(weight)),
            (ones.get().map_or(0, |o| 8 * o.len()), Box::new(ones)),
            (4 * n, Box::new(gp)),
            (4 * n, Box::new(municipality)),
            (4 * n, Box::new(group)),
        ];
        parts.extend(
            extra
                .into_iter()
                .map(|e| (4 * n, Box::new(e) as Box<dyn Send>)),
        );
        // The largest first, each to the share with the fewest bytes.
        parts.sort_by_key(|p| std::cmp::Reverse(p.0));
        let mut shares: Vec<(usize, Vec<Box<dyn Send>>)> = (0..exec.threads().max(1))
            .map(|_| (0, Vec::new()))
            .collect();
        for (bytes, part) in parts {
            if let Some(share) = shares.iter_mut().min_by_key(|s| s.0) {
                share.0 += bytes;
                share.1.push(part);
            }
        }
        exec.map(shares, drop::<(usize, Vec<Box<dyn Send>>)>);
    }

    /// Attaches a road network (the `[network]` of the manifest: one spec
    /// per profile over the same extract).
    pub fn with_network(mut self, specs: Option<Vec<NetworkSpec>>) -> Dataset {
        self.network = specs;
        self
    }

    /// Attaches an origin–destination cost table (the `table` metric).
    pub fn with_costs(mut self, costs: Option<crate::costs::CostTable>) -> Dataset {
        self.costs = costs.map(Arc::new);
        self
    }

    /// Attaches Ambulatori Diffusi agendas (CONTRACT §9).
    pub fn with_agendas(mut self, agendas: Option<crate::agendas::Agendas>) -> Dataset {
        self.agendas = agendas.map(Arc::new);
        self
    }

    /// The AD agendas, when the manifest has `[agendas]`.
    pub fn agendas(&self) -> Option<&crate::agendas::Agendas> {
        self.agendas.as_deref()
    }

    /// The cost table, when the manifest has `[costs]`.
    pub fn costs(&self) -> Option<&crate::costs::CostTable> {
        self.costs.as_deref()
    }

    /// A dataset like this one with other facilities (the same ones first,
    /// in the same order, then any added) and, optionally, another GP per
    /// resident: what a plan derives (CONTRACT §8). The road networks
    /// already prepared are shared (only the facilities are snapped again),
    /// as are the cost table and the areas located.
    pub(crate) fn derive(&self, facilities: Facilities, gp: Option<Vec<FacilityIdx>>) -> Dataset {
        debug_assert!(facilities.len() >= self.facilities.len());
        let mut residents = self.residents.clone();
        if let Some(gp) = gp {
            debug_assert_eq!(gp.len(), residents.len());
            residents.gp = gp;
        }
        let mut d = Dataset::new(
            self.name.clone(),
            self.title.clone(),
            self.source.clone(),
            facilities,
            residents,
            self.areas.clone(),
        );
        d.network = self.network.clone();
        d.costs = self.costs.clone();
        d.agendas = self.agendas.clone();
        d.cache_dir = self.cache_dir.clone();
        if let Some(a) = self.resident_area.get() {
            let _ = d.resident_area.set(a.clone());
        }
        let locations: Vec<_> = d.facilities.iter().map(|f| f.location).collect();
        for (mine, theirs) in self.prepared.iter().zip(&d.prepared) {
            if let Some(p) = mine.get() {
                let _ = theirs.set(Arc::new(p.with_facilities(&locations)));
            }
        }
        d
    }

    /// Where prepared graphs are cached (`None`: no cache). Defaults to
    /// [`bacino_network::default_cache_dir`].
    pub fn set_cache_dir(&mut self, dir: Option<PathBuf>) {
        self.cache_dir = dir;
    }

    /// The road network's specs, when the manifest has a `[network]`.
    pub fn network_specs(&self) -> Option<&[NetworkSpec]> {
        self.network.as_deref()
    }

    fn slot(profile: ProfileName) -> usize {
        match profile {
            ProfileName::Car => 0,
            ProfileName::Foot => 1,
        }
    }

    /// Builds (or reads from the cache) the networks of `profiles` not yet
    /// prepared, with one read of the extract, and snaps every resident and
    /// facility onto them. Returns how each graph was obtained.
    pub fn prepare_networks<E: Executor>(
        &self,
        profiles: &[ProfileName],
        exec: &E,
    ) -> Result<Vec<(ProfileName, CacheOutcome)>> {
        let Some(&first) = profiles.first() else {
            return Ok(Vec::new());
        };
        let specs = self.network.as_deref().ok_or_else(|| no_network(first))?;
        let wanted: Vec<NetworkSpec> = specs
            .iter()
            .filter(|s| profiles.contains(&s.profile.name))
            .filter(|s| self.prepared[Self::slot(s.profile.name)].get().is_none())
            .cloned()
            .collect();
        let opened = RoadNetwork::open_all(&wanted, self.cache_dir.as_deref())?;
        let residents = self.residents.locations();
        let facilities: Vec<_> = self.facilities.iter().map(|f| f.location).collect();
        let mut ready = Vec::new();
        for (net, outcome) in opened {
            let name = net.info().profile;
            let prepared = PreparedNetwork::new(net, outcome.clone(), residents, &facilities, exec);
            self.check_coverage(&prepared)?;
            ready.push((name, outcome, prepared));
        }
        // All profiles are checked before any is kept.
        let mut out = Vec::new();
        for (name, outcome, prepared) in ready {
            let _ = self.prepared[Self::slot(name)].set(Arc::new(prepared));
            out.push((name, outcome));
        }
        Ok(out)
    }

    /// An extract that leaves most residents farther than `snap_max_m`
    /// from its roads is the wrong extract, not a set of unreachable people.
    fn check_coverage(&self, prepared: &PreparedNetwork) -> Result<()> {
        let snaps = prepared.resident_snaps();
        let snapped = snaps.iter().filter(|s| s.is_some()).count();
        if snaps.is_empty() || snapped * 2 >= snaps.len() {
            return Ok(());
        }
        let net = prepared.network();
        let bbox = |pts: &mut dyn Iterator<Item = [f64; 2]>| {
            let mut b = [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ];
            for p in pts {
                b = [
                    b[0].min(p[0]),
                    b[1].min(p[1]),
                    b[2].max(p[0]),
                    b[3].max(p[1]),
                ];
            }
            format!("lon {:.3}..{:.3}, lat {:.3}..{:.3}", b[0], b[2], b[1], b[3])
        };
        let roads = bbox(&mut net.graph().coords.iter().copied());
        let people = bbox(&mut self.residents.locations().iter().map(|p| [p.lon, p.lat]));
        let mut loc = crate::error::Location::file(&self.source);
        loc.field = Some("network.path".into());
        Err(Error::input(
            loc,
            format!(
                "expected an extract covering the residents: only {snapped} of {} residents are within \
                 snap_max_m = {} m of a road usable by `{}` in {} (its roads span {roads}; the residents {people})",
                snaps.len(),
                net.snap_max_m(),
                net.info().profile,
                net.info().path,
            ),
        ))
    }

    /// The prepared network of `profile`, if prepared.
    pub fn prepared_network(&self, profile: ProfileName) -> Option<&PreparedNetwork> {
        self.prepared[Self::slot(profile)].get().map(|a| a.as_ref())
    }

    /// The metric named `name` over this dataset, preparing its network on
    /// first use. A network metric on a dataset without `[network]` is an
    /// invalid `metric` parameter.
    pub fn metric<E: Executor>(&self, name: MetricName, exec: &E) -> Result<Metric<'_>> {
        if name == MetricName::Table {
            return self.costs.as_deref().map(Metric::Table).ok_or_else(|| {
                Error::param(
                    "metric",
                    "`table` needs a cost table: the dataset manifest has no [costs] section",
                )
            });
        }
        let Some(profile) = name.profile() else {
            return Ok(Metric::Geodesic);
        };
        if self.network.is_none() {
            return Err(no_network(profile));
        }
        if self.prepared_network(profile).is_none() {
            self.prepare_networks(&[profile], exec)?;
        }
        Ok(Metric::Network(
            self.prepared_network(profile).expect("prepared above"),
        ))
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
        let sizes = self.list_size.get_or_init(|| {
            let mut counted = vec![0.0; self.facilities.len()];
            let residents = &self.residents;
            for (&gp, &w) in residents.gp().iter().zip(residents.weights()) {
                if gp != NONE {
                    counted[gp as usize] += w;
                }
            }
            self.facilities
                .iter()
                .zip(counted)
                .map(|(f, c)| f.list_size.map_or(c, f64::from))
                .collect()
        });
        sizes[facility as usize]
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

fn no_network(profile: ProfileName) -> Error {
    Error::param(
        "metric",
        format!("`{profile}` needs a road network: the dataset manifest has no [network] section"),
    )
}
