//! Loading a dataset directory: manifest, facilities, residents, areas.
//!
//! Every problem is reported with file, line (or GeoJSON feature), column and
//! what was expected. Nothing is kept from a load that fails.

mod areas;
mod chunked;
mod csv_pieces;
mod facilities;
mod ids;
mod piece_codes;
mod plain_fields;
mod plain_rows;
mod postgis;
mod prepared;
mod residents;
mod table;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use csv::ByteRecord;
use geo::{Coord, LineString, MultiPolygon, Polygon};
use std::hash::Hasher;

use crate::areas::Areas;
use crate::crs::{Crs, ToWgs84};
use crate::dataset::Dataset;
use crate::error::{Error, Location, Result};
use crate::exec::Executor;
use crate::manifest::{Input, ResolvedManifest};
use crate::model::{
    Categorical, Facilities, Facility, FacilityId, FacilityStatus, LonLat, Residents, NONE,
};
use crate::resident_columns::ResidentColumns;
use crate::resident_ids::{IdBlock, Ids};
use crate::version::FileDigests;

use areas::*;
pub(crate) use bacino_formats::LineCounter;
use chunked::*;
use csv_pieces::*;
use facilities::*;
use ids::*;
use piece_codes::*;
use plain_fields::*;
use plain_rows::*;
use postgis::*;
use residents::*;
use table::*;

pub use prepared::{PreparedMode, PreparedOutcome, PREPARED_FORMAT};

// ------------------------------------------------------------------- dataset

/// Loads a dataset directory (or a manifest file), running independent
/// parsing work through `exec`.
pub fn load_dataset<E: Executor>(dir: &Path, exec: &E) -> Result<Dataset> {
    load_dataset_prepared(dir, exec, None, &ResidentColumns::all()).map(|(d, _)| d)
}

/// [`load_dataset`], with the residents read from (or written to) their
/// prepared file in the directory given, as `mode` says (see
/// [`PreparedMode`]). Residents read from a PostGIS table are never
/// prepared: their digest needs every row read anyway.
///
/// The residents keep at least the `columns` asked for (see
/// [`ResidentColumns`]); all of them when a prepared file may be written.
pub fn load_dataset_prepared<E: Executor>(
    dir: &Path,
    exec: &E,
    prepared: Option<(&Path, PreparedMode)>,
    columns: &ResidentColumns,
) -> Result<(Dataset, PreparedOutcome)> {
    let m = ResolvedManifest::read(dir)?;
    let stamps = crate::version::Stamps::of(&m);
    // The prepared file, when there may be one to read or write.
    let file = match (&m.residents, prepared) {
        (Input::File(_), Some((cache, mode))) => {
            let path = prepared::prepared_path(cache, &m.path, &m.manifest.name);
            (mode == PreparedMode::Write || path.is_file()).then_some((path, mode))
        }
        (Input::Postgis(_), Some((_, PreparedMode::Write))) => {
            return Err(Error::input(
                Location::file(&m.path),
                "residents read from a PostGIS table are not prepared (their digest \
                 reads every row); prepare a dataset whose residents are a file",
            ))
        }
        _ => None,
    };
    // The facilities and areas load (one thread) while the residents
    // file's first pass runs (all of them), unless the residents may come
    // from their prepared file. The facilities' errors come first.
    let scan_now =
        matches!(&m.residents, Input::File(_)) && !matches!(&file, Some((_, PreparedMode::Use)));
    let (sources, early_scan) = exec.join(
        || -> Result<_> {
            // Digests of the PostGIS tables read, for the version.
            let mut tables: Vec<(&str, String)> = Vec::new();
            let facilities = match &m.facilities {
                Input::File(path) => load_facilities(path, m.facilities_crs)?,
                Input::Postgis(t) => {
                    let (f, digest) = load_facilities_pg(t)?;
                    tables.push(("facilities", digest));
                    f
                }
            };
            let areas = match &m.areas {
                None => None,
                Some((Input::File(path), crs, src)) => Some(load_areas(
                    path,
                    *crs,
                    &src.id_property,
                    src.name_property.as_deref(),
                )?),
                Some((Input::Postgis(t), _, src)) => {
                    let (a, digest) =
                        load_areas_pg(t, &src.id_property, src.name_property.as_deref())?;
                    tables.push(("areas", digest));
                    Some(a)
                }
            };
            if let Some(specs) = &m.network {
                let path = &specs[0].path;
                if !path.is_file() {
                    let mut loc = crate::error::Location::file(&m.path);
                    loc.field = Some("network.path".into());
                    return Err(Error::input(
                        loc,
                        format!(
                            "expected an OpenStreetMap .osm.pbf extract, found no file at {}",
                            path.display()
                        ),
                    ));
                }
            }
            Ok((facilities, areas, tables))
        },
        || match &m.residents {
            Input::File(path) if scan_now => Some(scan_residents(path, m.residents_crs, exec)),
            _ => None,
        },
    );
    let (facilities, areas, mut tables) = sources?;
    // The residents from the prepared file, if it is that of these sources.
    let mut known_version = None;
    let mut outcome = PreparedOutcome::Absent;
    let mut from_file = None;
    if let Some((path, PreparedMode::Use)) = &file {
        let version = crate::version::version_of(&m, &tables, &[], exec)?;
        match prepared::read_prepared(path, &version, facilities.len(), exec) {
            Ok(r) => {
                from_file = Some(r);
                known_version = Some(version);
                outcome = PreparedOutcome::Read(path.clone());
            }
            Err(why) => {
                outcome = PreparedOutcome::Refreshed {
                    path: path.clone(),
                    why,
                }
            }
        }
    }
    // Block digests a loader took as it read a file.
    let mut digests = Vec::new();
    let residents = match from_file {
        // Stored as a load leaves them, municipalities filled.
        Some(r) => r,
        None => {
            let mut residents = match &m.residents {
                Input::File(path) => {
                    let scan = match early_scan {
                        Some(scan) => scan?,
                        None => scan_residents(path, m.residents_crs, exec)?,
                    };
                    // A prepared file written from this load needs them all.
                    let all = ResidentColumns::all();
                    let columns = if file.is_some() { &all } else { columns };
                    let (r, d) =
                        parse_residents(path, m.residents_crs, scan, &facilities, columns, exec)?;
                    digests.extend(d);
                    r
                }
                Input::Postgis(t) => {
                    let (r, digest) = load_residents_pg(t, &facilities, exec)?;
                    tables.push(("residents", digest));
                    r
                }
            };
            if let (Some(areas), true) = (&areas, residents.kept.keeps_municipality()) {
                fill_municipalities(&mut residents, areas, exec);
            }
            residents
        }
    };
    let network = m.network.clone();
    let costs = match &m.costs {
        None => None,
        Some((path, unit)) => Some(crate::costs::CostTable::load(
            path,
            *unit,
            &residents,
            &facilities,
        )?),
    };
    let agendas = match &m.agendas {
        None => None,
        Some(path) => Some(crate::agendas::Agendas::load(path, &facilities)?),
    };
    // The version of exactly the bytes loaded: no file changed from before
    // the load to after the hash (a table's rows are read in one snapshot,
    // digest included).
    let version = match known_version {
        Some(v) => v,
        None => crate::version::version_of(&m, &tables, &digests, exec)?,
    };
    crate::version::Stamps::of(&m).unchanged_since(&stamps)?;
    if let Some((path, mode)) = file {
        let write =
            mode == PreparedMode::Write || matches!(outcome, PreparedOutcome::Refreshed { .. });
        if write {
            outcome = match (
                prepared::write_prepared(&path, &version, &residents, facilities.len(), exec),
                outcome,
            ) {
                (Err(e), _) if mode == PreparedMode::Write => {
                    return Err(Error::Io { path, source: e })
                }
                (Err(e), _) => PreparedOutcome::NotWritten {
                    path,
                    why: e.to_string(),
                },
                (Ok(_), PreparedOutcome::Refreshed { why, .. }) => {
                    PreparedOutcome::Refreshed { path, why }
                }
                (Ok(_), _) => PreparedOutcome::Written(path),
            };
        }
    }
    let dataset = Dataset::new(
        m.manifest.name.clone(),
        m.manifest
            .title
            .clone()
            .unwrap_or_else(|| m.manifest.name.clone()),
        PathBuf::from(&m.path),
        facilities,
        residents,
        areas,
    )
    .with_network(network)
    .with_costs(costs)
    .with_agendas(agendas)
    .with_version(version);
    Ok((dataset, outcome))
}

/// Residents without a municipality get the id of the area they lie in.
pub(super) fn fill_municipalities<E: Executor>(residents: &mut Residents, areas: &Areas, exec: &E) {
    let codes = residents.municipality.codes();
    let missing: Vec<usize> = exec
        .map(crate::exec::chunk_ranges(codes.len(), 1 << 20), |r| {
            r.filter(|&i| codes[i] == NONE).collect::<Vec<usize>>()
        })
        .concat();
    if missing.is_empty() {
        return;
    }
    let locs = &residents.location;
    let ranges = crate::exec::chunk_ranges(missing.len(), 65_536);
    let found: Vec<Vec<u32>> = exec.map(ranges, |r| {
        missing[r].iter().map(|&i| areas.locate(locs[i])).collect()
    });
    let codes: Vec<u32> = (0..areas.len())
        .map(|a| residents.municipality.code_for(areas.id(a)))
        .collect();
    for (&row, area) in missing.iter().zip(found.into_iter().flatten()) {
        if area != NONE {
            residents.municipality.set_code(row, codes[area as usize]);
        }
    }
}
