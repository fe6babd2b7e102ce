//! Facilities, residents and areas read from PostGIS tables: the same
//! parsing and checks as for files, with rows named by their primary key
//! and the table's SRID as the CRS.

use super::*;
use bacino_postgis::PgTable;

/// A PostGIS error as an input error on the table's source.
fn pg_error(t: &PgTable, e: bacino_postgis::Error) -> Error {
    Error::input(Location::file(t.source()), e.message())
}

/// The digest of the rows read, once every chunk was.
fn digest_of(points: &bacino_postgis::PgPoints, path: &Path) -> Result<String> {
    points.digest().ok_or_else(|| {
        Error::input(
            Location::file(path),
            "a chunk of the table was not read (an internal error)",
        )
    })
}

/// The facilities of a point table, and the digest of its rows.
pub(super) fn load_facilities_pg(t: &PgTable) -> Result<(Facilities, String)> {
    let points = bacino_postgis::open_points(t).map_err(|e| pg_error(t, e))?;
    let path = PathBuf::from(t.source());
    let table = points
        .chunks
        .read_all()
        .map_err(|e| format_error(&path, e))?;
    let crs = declared_crs(&path, points.chunks.epsg)?;
    let locator = table.locator.clone();
    let (header, records) = point_records(table);
    let table = Table {
        path: &path,
        header,
        geometry_xy: true,
        records: Some(locator),
    };
    let facilities = parse_facilities(&table, &records, crs)?;
    Ok((facilities, digest_of(&points, &path)?))
}

/// The residents of a point table, read in parallel chunks, and the
/// digest of its rows.
pub(super) fn load_residents_pg<E: Executor>(
    t: &PgTable,
    facilities: &Facilities,
    exec: &E,
) -> Result<(Residents, String)> {
    let points = bacino_postgis::open_points(t).map_err(|e| pg_error(t, e))?;
    let path = PathBuf::from(t.source());
    let residents = residents_from_chunks(&path, &points.chunks, facilities, exec)?;
    Ok((residents, digest_of(&points, &path)?))
}

/// The areas of a polygon table, and the digest of its rows.
pub(super) fn load_areas_pg(
    t: &PgTable,
    id_property: &str,
    name_property: Option<&str>,
) -> Result<(Areas, String)> {
    let f = bacino_postgis::read_features(t).map_err(|e| pg_error(t, e))?;
    let path = PathBuf::from(t.source());
    let crs = declared_crs(&path, f.srid)?;
    let areas = areas_from(
        &path,
        &f.features,
        crs,
        id_property,
        name_property,
        Some((&f.locator, &f.keys)),
    )?;
    Ok((areas, f.digest))
}
