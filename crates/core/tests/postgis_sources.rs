//! Datasets read from PostGIS tables (`[residents] postgres = …, table =
//! …`): the same residents, facilities and areas as the same rows in
//! files, read in parallel chunks of the primary key; errors name the
//! table, the row by its key, and the column. Needs a PostgreSQL server
//! with PostGIS (`BACINO_TEST_POSTGRES`; required when `CI` is set).

use std::path::Path;

use bacino_core::Dataset;

mod common;
use common::Threads;

/// A fresh database with PostGIS on the test server, or None (skipping,
/// with a message) when there is none and this is not CI.
fn fresh_database() -> Option<String> {
    let admin = match std::env::var("BACINO_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => url,
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI is set but BACINO_TEST_POSTGRES is not: .ci/run starts PostgreSQL")
        }
        _ => {
            eprintln!(
                "skipping the PostGIS source tests: set BACINO_TEST_POSTGRES \
                 (eval \"$(tests/postgres/start.sh)\")"
            );
            return None;
        }
    };
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name = format!(
        "bacino_sources_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let mut admin_client = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    admin_client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    let url = format!("{base}/{name}");
    sql(&url, "CREATE EXTENSION postgis");
    Some(url)
}

fn sql(url: &str, statements: &str) {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    c.batch_execute(statements).unwrap();
}

/// The rows of a query as CSV text (with a header).
fn copy_csv(url: &str, query: &str) -> String {
    use std::io::Read;
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let mut out = String::new();
    c.copy_out(&format!(
        "COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)"
    ))
    .unwrap()
    .read_to_string(&mut out)
    .unwrap();
    out
}

const FACILITIES_CSV: &str =
    "id,kind,lon,lat,capacity\nGP1,gp,9.67,45.69,1500\nGP2,gp,9.70,45.36,\n";

/// 150,000 residents (three blocks of 65,536 keys) with every column kind.
const RESIDENTS: &str = r#"
CREATE TABLE assistiti (
  gid int8 PRIMARY KEY, id text NOT NULL, weight float8, municipality text, gp_id text,
  "group" text, geom geometry(Point, 4326));
INSERT INTO assistiti
SELECT g, 'R' || lpad(g::text, 6, '0'),
       CASE WHEN g % 5 = 0 THEN NULL ELSE (g % 9)::float8 / 4 END,
       CASE WHEN g % 11 = 0 THEN NULL ELSE '0160' || lpad((g % 40)::text, 2, '0') END,
       CASE g % 3 WHEN 0 THEN NULL WHEN 1 THEN 'GP1' ELSE 'GP2' END,
       CASE WHEN g % 4 = 0 THEN '65+' ELSE 'under 65' END,
       ST_SetSRID(ST_MakePoint(9.4 + (g % 1000) * 0.0007123, 45.3 + (g / 1000) * 0.0035), 4326)
FROM generate_series(1, 150000) g;
"#;

const RESIDENTS_QUERY: &str = "SELECT id, ST_X(geom) AS lon, ST_Y(geom) AS lat, weight, \
     municipality, gp_id, \"group\" FROM assistiti ORDER BY gid";

fn manifest(dir: &Path, facilities: &str, residents: &str, areas: &str) {
    std::fs::write(dir.join("facilities.csv"), FACILITIES_CSV).unwrap();
    std::fs::write(
        dir.join("dataset.toml"),
        format!("name = \"pg\"\n[facilities]\n{facilities}\n[residents]\n{residents}\n{areas}"),
    )
    .unwrap();
}

fn load(dir: &Path) -> Result<Dataset, String> {
    Dataset::load_with(dir, &Threads).map_err(|e| e.to_string())
}

fn same_residents(a: &Dataset, b: &Dataset) {
    let (a, b) = (a.residents(), b.residents());
    assert_eq!(a.len(), b.len());
    for i in 0..a.len() {
        assert_eq!(a.id(i), b.id(i), "row {i}");
        assert_eq!(a.locations()[i], b.locations()[i], "row {i}");
        assert_eq!(a.weights()[i], b.weights()[i], "row {i}");
        assert_eq!(a.gp()[i], b.gp()[i], "row {i}");
        assert_eq!(a.municipality().get(i), b.municipality().get(i), "row {i}");
        assert_eq!(a.group().get(i), b.group().get(i), "row {i}");
    }
}

#[test]
fn residents_from_a_table_equal_the_same_rows_from_csv_and_follow_its_changes() {
    let Some(url) = fresh_database() else { return };
    sql(&url, RESIDENTS);
    // Keys with gaps and far apart: deleted rows, a block of its own.
    sql(
        &url,
        "DELETE FROM assistiti WHERE gid % 7 = 0;
         UPDATE assistiti SET gid = gid + 1000000000000 WHERE gid > 140000;",
    );
    let csv = tempfile::tempdir().unwrap();
    std::fs::write(
        csv.path().join("residents.csv"),
        copy_csv(&url, RESIDENTS_QUERY),
    )
    .unwrap();
    manifest(
        csv.path(),
        "path = \"facilities.csv\"",
        "path = \"residents.csv\"",
        "",
    );
    let pg = tempfile::tempdir().unwrap();
    let table = format!("postgres = \"{url}\"\ntable = \"assistiti\"");
    manifest(pg.path(), "path = \"facilities.csv\"", &table, "");

    let from_csv = load(csv.path()).unwrap();
    let from_pg = load(pg.path()).unwrap();
    assert_eq!(
        from_csv.residents().len(),
        150_000 - 150_000 / 7,
        "the CSV holds every row kept"
    );
    same_residents(&from_csv, &from_pg);

    // Sparse keys (one row per block of 2^16 keys): the blocks merge into
    // a few chunks, and the rows come out the same.
    sql(
        &url,
        "UPDATE assistiti SET gid = gid * 1048576 WHERE gid < 1000000000000",
    );
    same_residents(&from_csv, &load(pg.path()).unwrap());

    // The version follows the rows: the same rows, the same version; one
    // weight changed, another; a column renamed, another again.
    let same = load(pg.path()).unwrap();
    assert_eq!(load(pg.path()).unwrap().version(), same.version());
    sql(
        &url,
        "UPDATE assistiti SET weight = 2.5 WHERE gid = 12 * 1048576",
    );
    let changed = load(pg.path()).unwrap();
    assert_ne!(changed.version(), same.version());
    sql(
        &url,
        "ALTER TABLE assistiti RENAME COLUMN \"group\" TO gruppo",
    );
    let renamed = load(pg.path()).unwrap();
    assert_ne!(renamed.version(), changed.version());
    assert_eq!(renamed.residents().group().get(0), None);
}

#[test]
fn integer_ids_above_2_pow_53_stay_distinct() {
    let Some(url) = fresh_database() else { return };
    sql(
        &url,
        "CREATE TABLE assistiti (gid int4 PRIMARY KEY, id int8, code numeric,
           geom geometry(Point, 4326));
         INSERT INTO assistiti VALUES
           (1, 9007199254740993, 123456789012345678901234567890, ST_SetSRID(ST_MakePoint(9.7, 45.7), 4326)),
           (2, 9007199254740992, 1.5, ST_SetSRID(ST_MakePoint(9.7, 45.6), 4326));",
    );
    let d = tempfile::tempdir().unwrap();
    manifest(
        d.path(),
        "path = \"facilities.csv\"",
        &format!("postgres = \"{url}\"\ntable = \"assistiti\""),
        "",
    );
    let ds = load(d.path()).unwrap();
    let r = ds.residents();
    assert_eq!(r.id(0), "9007199254740993");
    assert_eq!(r.id(1), "9007199254740992");
    let code = r.extra("code").unwrap();
    assert_eq!(code.get(0), Some("123456789012345678901234567890"));
    assert_eq!(code.get(1), Some("1.5"));
}

#[test]
fn facilities_and_areas_from_tables_in_another_srid_are_transformed_like_files() {
    let Some(url) = fresh_database() else { return };
    sql(
        &url,
        "CREATE TABLE studi (gid serial PRIMARY KEY, id text, kind text, capacity int4,
           geom geometry(Point, 32632));
         INSERT INTO studi (id, kind, capacity, geom) VALUES
           ('GP1', 'gp', 1500, ST_Transform(ST_SetSRID(ST_MakePoint(9.67, 45.69), 4326), 32632)),
           ('GP2', 'gp', NULL, ST_Transform(ST_SetSRID(ST_MakePoint(9.70, 45.36), 4326), 32632));
         CREATE TABLE comuni (gid serial PRIMARY KEY, code text, name text,
           geom geometry(MultiPolygon, 32632));
         INSERT INTO comuni (code, name, geom) VALUES
           ('016024', 'Bergamo', ST_Transform(ST_Multi(ST_MakeEnvelope(9.6, 45.6, 9.8, 45.8, 4326)), 32632)),
           ('019035', 'Crema', ST_Transform(ST_Multi(ST_MakeEnvelope(9.6, 45.3, 9.8, 45.4, 4326)), 32632));
         CREATE TABLE assistiti (gid int4 PRIMARY KEY, id text, gp_id text, geom geometry(Point, 4326));
         INSERT INTO assistiti VALUES
           (1, 'R1', 'GP1', ST_SetSRID(ST_MakePoint(9.7, 45.7), 4326)),
           (2, 'R2', 'GP2', ST_SetSRID(ST_MakePoint(9.7, 45.35), 4326)),
           (3, 'R3', NULL, ST_SetSRID(ST_MakePoint(9.0, 45.0), 4326));",
    );
    let d = tempfile::tempdir().unwrap();
    manifest(
        d.path(),
        &format!("postgres = \"{url}\"\ntable = \"studi\""),
        &format!("postgres = \"{url}\"\ntable = \"assistiti\""),
        &format!(
            "[areas]\npostgres = \"{url}\"\ntable = \"comuni\"\nid_property = \"code\"\n\
             name_property = \"name\"\n"
        ),
    );
    let ds = load(d.path()).unwrap();
    let f = ds.facilities();
    assert_eq!(f.len(), 2);
    let gp1 = f.get(f.index_of("GP1").unwrap());
    // UTM 32N there and back: well under a millimetre.
    assert!((gp1.location.lon - 9.67).abs() < 1e-8, "{:?}", gp1.location);
    assert!(
        (gp1.location.lat - 45.69).abs() < 1e-8,
        "{:?}",
        gp1.location
    );
    assert_eq!(gp1.capacity, Some(1500));
    assert_eq!(f.get(f.index_of("GP2").unwrap()).capacity, None);
    let areas = ds.areas().unwrap();
    assert_eq!(areas.len(), 2);
    // Residents without a municipality get the area they lie in.
    let r = ds.residents();
    assert_eq!(r.municipality().get(0), Some("016024"));
    assert_eq!(r.municipality().get(1), Some("019035"));
    assert_eq!(r.municipality().get(2), None);
}

#[test]
fn bad_rows_and_bad_tables_are_named_by_table_key_and_column() {
    let Some(url) = fresh_database() else { return };
    sql(&url, RESIDENTS);
    let d = tempfile::tempdir().unwrap();
    let residents = |table: &str| format!("postgres = \"{url}\"\ntable = \"{table}\"");
    let err = |table: &str| {
        manifest(d.path(), "path = \"facilities.csv\"", &residents(table), "");
        load(d.path()).unwrap_err()
    };

    // A value in the third chunk.
    sql(&url, "UPDATE assistiti SET weight = -2 WHERE gid = 131100");
    let e = err("assistiti");
    assert!(e.contains("table `assistiti`, gid `131100`"), "{e}");
    assert!(e.contains("`weight`"), "{e}");
    assert!(e.contains("expected a number ≥ 0"), "{e}");
    sql(&url, "UPDATE assistiti SET weight = 1 WHERE gid = 131100");

    // A facility id that names none.
    sql(&url, "UPDATE assistiti SET gp_id = 'GP9' WHERE gid = 70000");
    let e = err("assistiti");
    assert!(e.contains("gid `70000`") && e.contains("`gp_id`"), "{e}");
    assert!(e.contains("`GP9` which names none"), "{e}");
    sql(&url, "UPDATE assistiti SET gp_id = NULL WHERE gid = 70000");

    // A repeated resident id, in two chunks.
    sql(
        &url,
        "UPDATE assistiti SET id = 'R000010' WHERE gid = 140000",
    );
    let e = err("assistiti");
    assert!(e.contains("duplicate resident id `R000010`"), "{e}");
    assert!(
        e.contains("first seen at table `assistiti`, gid `10`"),
        "{e}"
    );
    assert!(e.contains("gid `140000`"), "{e}");
    sql(
        &url,
        "UPDATE assistiti SET id = 'R140000' WHERE gid = 140000",
    );

    // No geometry, or an empty point, in a `geometry(Point, 4326)` column.
    sql(&url, "UPDATE assistiti SET geom = NULL WHERE gid = 100005");
    let e = err("assistiti");
    assert!(
        e.contains("gid `100005`, column `geom`: no geometry"),
        "{e}"
    );
    sql(
        &url,
        "UPDATE assistiti SET geom = ST_SetSRID('POINT EMPTY'::geometry, 4326) WHERE gid = 100005",
    );
    let e = err("assistiti");
    assert!(
        e.contains("gid `100005`, column `geom`: an empty point"),
        "{e}"
    );
    sql(
        &url,
        "UPDATE assistiti SET geom = ST_SetSRID(ST_MakePoint(9.5, 45.5), 4326) WHERE gid = 100005",
    );

    // A polygon among the points.
    sql(
        &url,
        "ALTER TABLE assistiti ALTER COLUMN geom TYPE geometry(Geometry, 4326);
         UPDATE assistiti SET geom = ST_MakeEnvelope(9, 45, 9.1, 45.1, 4326) WHERE gid = 77",
    );
    let e = err("assistiti");
    assert!(
        e.contains("gid `77`, column `geom`: a POLYGON; expected a point"),
        "{e}"
    );

    // Tables that are not what a residents layer needs.
    sql(
        &url,
        "CREATE TABLE no_id (gid int4 PRIMARY KEY, nome text, geom geometry(Point, 4326));
         CREATE TABLE no_key (id text, geom geometry(Point, 4326));
         CREATE TABLE no_geometry (gid int4 PRIMARY KEY, id text);
         CREATE TABLE two_geometries (gid int4 PRIMARY KEY, id text,
           home geometry(Point, 4326), work geometry(Point, 4326));",
    );
    let e = err("no_id");
    assert!(e.contains("missing required column `id`"), "{e}");
    assert!(e.contains("nome"), "{e}");
    let e = err("no_key");
    assert!(e.contains("table `no_key`: no primary key"), "{e}");
    let e = err("no_geometry");
    assert!(e.contains("table `no_geometry`: no geometry column"), "{e}");
    let e = err("two_geometries");
    assert!(
        e.contains("several geometry columns (`home`, `work`)"),
        "{e}"
    );
    let e = err("nope");
    assert!(e.contains("table `nope`: no such table"), "{e}");

    // A server that is not there, its password not repeated.
    let gone = "postgres://bacino:s3cret@127.0.0.1:9/none";
    manifest(
        d.path(),
        "path = \"facilities.csv\"",
        &format!("postgres = \"{gone}\"\ntable = \"assistiti\""),
        "",
    );
    let e = load(d.path()).unwrap_err();
    assert!(e.contains("postgres://bacino:***@127.0.0.1:9/none"), "{e}");
    assert!(e.contains("cannot connect"), "{e}");
    assert!(!e.contains("s3cret"), "{e}");
}
