//! Every backend keeps the same promises (SQLite in memory and in a file,
//! PostgreSQL/PostGIS when `BACINO_TEST_POSTGRES` names a server; it is
//! required when `CI` is set). The PostGIS-only ones: the sites are a
//! point layer GDAL (hence QGIS) reads, a newer or foreign schema is
//! refused untouched, a server that is not there is named.

use std::sync::Arc;

use bacino_store::{open, Error, Kind, Saved, Site, Store, StoreUrl, Submission};

/// The admin URL of the test server, or None (skipping, with a message)
/// when there is none and this is not CI.
fn postgres_admin() -> Option<String> {
    match std::env::var("BACINO_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI is set but BACINO_TEST_POSTGRES is not: .ci/run starts PostgreSQL")
        }
        _ => {
            eprintln!(
                "skipping the PostgreSQL tests: set BACINO_TEST_POSTGRES \
                 (eval \"$(tests/postgres/start.sh)\")"
            );
            None
        }
    }
}

/// A fresh database on the test server: its URL.
fn fresh_database(admin: &str) -> String {
    let name = format!(
        "bacino_test_{}",
        uuid::Uuid::now_v7().simple().to_string().to_lowercase()
    );
    let mut client = postgres::Client::connect(admin, postgres::NoTls).unwrap();
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

fn run(dataset: &str, plan: &str, version: &str) -> Submission {
    Submission {
        kind: Kind::Scenario,
        dataset: dataset.into(),
        version: version.into(),
        plan: plan.into(),
        document: format!(r#"{{"placed":{}}}"#, plan.len()),
        sites: vec![
            Site {
                role: "ceased",
                facility_id: "GP0012".into(),
                lon: 9.6699,
                lat: 45.6983,
            },
            Site {
                role: "opened",
                facility_id: "NEW01".into(),
                lon: 9.7,
                lat: 45.71,
            },
        ],
    }
}

/// The promises every store keeps.
fn keeps_its_promises(store: &dyn Store) {
    let a = run("crema", r#"{"cease":["A"]}"#, "v1");
    let Saved::Created(first) = store.save(&a).unwrap() else {
        panic!("a first save creates")
    };
    assert_eq!(first.document, a.document);
    // Identical: the same record, nothing written.
    let Saved::Existing(again) = store.save(&a).unwrap() else {
        panic!("an identical save finds the first")
    };
    assert_eq!(again, first);
    assert_eq!(
        store.find(Kind::Scenario, "crema", "v1", &a.plan).unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.find(Kind::Siting, "crema", "v1", &a.plan).unwrap(),
        None
    );
    assert_eq!(store.get(&first.id).unwrap(), Some(first.clone()));
    assert_eq!(store.get("not-a-uuid").unwrap(), None);
    assert_eq!(
        store.get("00000000-0000-7000-8000-000000000000").unwrap(),
        None
    );
    // Others: a version, plan, dataset or kind apart.
    let mut ids = vec![first.id.clone()];
    for s in [
        run("crema", r#"{"cease":["A"]}"#, "v2"),
        run("crema", r#"{"cease":["B"]}"#, "v1"),
        run("bergamo", r#"{"cease":["A"]}"#, "v1"),
        Submission {
            kind: Kind::Siting,
            ..run("crema", r#"{"cease":["A"]}"#, "v1")
        },
    ] {
        let saved = store.save(&s).unwrap();
        assert!(matches!(saved, Saved::Created(_)), "{s:?}");
        if s.dataset == "crema" && s.kind == Kind::Scenario {
            ids.push(saved.record().id.clone());
        }
    }
    assert_eq!(store.count(Kind::Scenario, "crema").unwrap(), 3);
    assert_eq!(store.count(Kind::Siting, "crema").unwrap(), 1);
    let listed: Vec<String> = store
        .list(Kind::Scenario, "crema", 10, 0)
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    ids.reverse();
    assert_eq!(listed, ids, "newest first");
    let page: Vec<String> = store
        .list(Kind::Scenario, "crema", 1, 1)
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(page, ids[1..2]);
    // Deleted, and stored anew after.
    assert!(store.delete(&first.id).unwrap());
    assert!(!store.delete(&first.id).unwrap());
    assert!(!store.delete("not-a-uuid").unwrap());
    assert_eq!(store.get(&first.id).unwrap(), None);
    assert!(matches!(store.save(&a).unwrap(), Saved::Created(_)));
}

/// Eight threads saving the same eight runs at once keep eight records.
fn keeps_one_of_each_under_concurrency(make: impl Fn() -> Arc<dyn Store>) {
    let stores: Vec<Arc<dyn Store>> = (0..2).map(|_| make()).collect();
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let store = stores[t % 2].clone();
            std::thread::spawn(move || {
                (0..8)
                    .map(|i| {
                        store
                            .save(&run("par", &format!("{{\"i\":{i}}}"), "v1"))
                            .unwrap()
                            .record()
                            .id
                            .clone()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let ids: Vec<Vec<String>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    for other in &ids[1..] {
        assert_eq!(
            other, &ids[0],
            "every thread got the same record for each run"
        );
    }
    assert_eq!(stores[0].count(Kind::Scenario, "par").unwrap(), 8);
}

#[test]
fn sqlite_in_memory_keeps_the_promises() {
    keeps_its_promises(&*open(&StoreUrl::Memory).unwrap());
}

#[test]
fn an_sqlite_file_keeps_the_promises_also_shared_between_handles() {
    let dir = tempfile::tempdir().unwrap();
    let url = StoreUrl::Sqlite(dir.path().join("store.sqlite"));
    keeps_its_promises(&*open(&url).unwrap());
    keeps_one_of_each_under_concurrency(|| open(&url).unwrap());
}

#[test]
fn postgis_keeps_the_promises_also_shared_between_servers() {
    let Some(admin) = postgres_admin() else {
        return;
    };
    let url: StoreUrl = fresh_database(&admin).parse().unwrap();
    keeps_its_promises(&*open(&url).unwrap());
    keeps_one_of_each_under_concurrency(|| open(&url).unwrap());
}

#[test]
fn postgis_sites_are_a_point_layer_gdal_reads() {
    let Some(admin) = postgres_admin() else {
        return;
    };
    let url = fresh_database(&admin);
    let store = open(&url.parse().unwrap()).unwrap();
    let saved = store.save(&run("crema", "{}", "v1")).unwrap();
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let layers: Vec<(String, String, i32, String)> = c
        .query(
            "SELECT f_table_name::text, f_geometry_column::text, srid, type
             FROM geometry_columns WHERE f_table_schema = 'bacino' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        layers,
        [
            ("run_sites".into(), "geom".into(), 4326, "POINT".into()),
            ("sites".into(), "geom".into(), 4326, "POINT".into()),
        ]
    );
    let (x, y): (f64, f64) = c
        .query_one(
            "SELECT ST_X(geom), ST_Y(geom) FROM bacino.sites
             WHERE run_id = $1::text::uuid AND role = 'opened'",
            &[&saved.record().id],
        )
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!((x, y), (9.7, 45.71));
    // GDAL's PostgreSQL driver (QGIS reads PostGIS through the same
    // catalogue) lists the layer with its SRID and features.
    let Ok(out) = std::process::Command::new("ogrinfo")
        .args(["-ro", "-so", "-al"])
        .arg(format!(
            "PG:{} tables=bacino.sites",
            url.trim_start_matches("postgres://")
                .split_once('@')
                .map(|(user, rest)| {
                    let (hostport, db) = rest.split_once('/').unwrap();
                    let (host, port) = hostport.split_once(':').unwrap();
                    format!("host={host} port={port} user={user} dbname={db}")
                })
                .unwrap()
        ))
        .output()
    else {
        assert!(std::env::var_os("CI").is_none(), "CI needs ogrinfo");
        eprintln!("skipping the GDAL half: no ogrinfo");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Geometry: Point"), "{text}");
    assert!(text.contains("Feature Count: 2"), "{text}");
    assert!(text.contains("4326"), "{text}");
}

#[test]
fn postgis_refuses_a_newer_or_foreign_schema_untouched() {
    let Some(admin) = postgres_admin() else {
        return;
    };
    let url = fresh_database(&admin);
    drop(open(&url.parse().unwrap()).unwrap());
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    c.batch_execute("UPDATE bacino.meta SET value = '99' WHERE key = 'schema_version'")
        .unwrap();
    let e = open(&url.parse().unwrap()).unwrap_err();
    assert!(matches!(e, Error::NewerSchema { found: 99, .. }), "{e}");
    let v: String = c
        .query_one(
            "SELECT value FROM bacino.meta WHERE key = 'schema_version'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(v, "99");

    let other = fresh_database(&admin);
    let mut c = postgres::Client::connect(&other, postgres::NoTls).unwrap();
    c.batch_execute("CREATE SCHEMA bacino; CREATE TABLE bacino.patients (id text)")
        .unwrap();
    let e = open(&other.parse().unwrap()).unwrap_err();
    assert!(matches!(e, Error::Foreign { .. }), "{e}");
    let tables: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'bacino'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 1);
}

#[test]
fn a_server_that_is_not_there_is_named_without_its_password() {
    // Nothing listens on port 1.
    let started = std::time::Instant::now();
    let e = open(&"postgres://bacino:s3cret@127.0.0.1:1/ats".parse().unwrap()).unwrap_err();
    assert!(matches!(e, Error::Unreachable { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("postgres://bacino:***@127.0.0.1:1/ats"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
    assert!(started.elapsed().as_secs() < 30);
}
