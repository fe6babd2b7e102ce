//! The embedded store: one SQLite file in WAL mode, `synchronous = FULL`
//! (a run acknowledged is on disk, through a crash of the process or of
//! the machine), its schema versioned by `PRAGMA user_version` and migrated
//! forward on open, never backward.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::{now_ms, plan_hash, Error, Kind, Record, Result, Saved, Store, Submission, Summary};

/// `PRAGMA application_id` of a bacino store: "BACI" in ASCII, so that
/// `file` and SQLite tools can tell the file apart from other databases.
pub const APPLICATION_ID: i64 = 0x4241_4349;

/// The schema, one migration per version: `MIGRATIONS[i]` takes a store
/// from version `i` to `i + 1`. Append only; never edit a released one.
const MIGRATIONS: &[&str] = &[
    // 1: runs (scenarios and siting runs), identical runs stored once.
    "CREATE TABLE runs (
        id          TEXT PRIMARY KEY NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('scenario', 'siting')),
        dataset     TEXT NOT NULL,
        version     TEXT NOT NULL,
        plan_hash   TEXT NOT NULL,
        plan        TEXT NOT NULL,
        document    TEXT NOT NULL,
        created_ms  INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX runs_identical ON runs (kind, dataset, version, plan_hash);
    CREATE INDEX runs_by_dataset ON runs (dataset, kind, created_ms DESC, id DESC);",
    // 2: the places a run opens, closes or selects.
    "CREATE TABLE run_sites (
        run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        role        TEXT NOT NULL CHECK (role IN ('opened', 'ceased', 'selected')),
        facility_id TEXT NOT NULL,
        lon         REAL NOT NULL,
        lat         REAL NOT NULL
    );
    CREATE INDEX run_sites_by_run ON run_sites (run_id);",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// A store in one SQLite file (or in memory).
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
    location: String,
}

impl SqliteStore {
    /// Opens the store in `path`, creating the file when missing and
    /// migrating an older schema. Refuses, without writing, a file from a
    /// newer bacino and a database that is not a bacino store.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let location = format!("sqlite:{}", path.display());
        let unreachable = |e: &dyn std::fmt::Display| Error::Unreachable {
            location: location.clone(),
            message: e.to_string(),
        };
        if path.is_dir() {
            return Err(unreachable(&"it is a directory; expected a file"));
        }
        match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => {
                return Err(unreachable(&format!(
                    "its directory {} does not exist",
                    dir.display()
                )))
            }
            _ => {}
        }
        let conn = Connection::open(path).map_err(|e| unreachable(&e))?;
        Self::prepare(conn, location, true)
    }

    /// A store in memory: nothing outlives it.
    pub fn in_memory() -> Result<SqliteStore> {
        let location = "memory".to_owned();
        let conn = Connection::open_in_memory().map_err(|e| Error::Unreachable {
            location: location.clone(),
            message: e.to_string(),
        })?;
        Self::prepare(conn, location, false)
    }

    fn prepare(mut conn: Connection, location: String, file: bool) -> Result<SqliteStore> {
        let backend = |e: rusqlite::Error| Error::Backend {
            location: location.clone(),
            message: e.to_string(),
        };
        // Another process may hold the write lock for a moment (two
        // servers on one file): wait rather than fail.
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(backend)?;
        // Look before touching anything: the header is read, not written.
        check(&conn, &location)?;
        if file {
            let mode: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .map_err(backend)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(Error::Backend {
                    location,
                    message: format!("cannot use write-ahead logging (journal mode {mode})"),
                });
            }
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(backend)?;
        // Migrate under the write lock: two servers opening one old file
        // at once migrate it once.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let found = check(&tx, &location)?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            tx.execute_batch(sql).map_err(|e| Error::Backend {
                location: location.clone(),
                message: format!("migration to schema version {}: {e}", i + 1),
            })?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(backend)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(backend)?;
        tx.commit().map_err(backend)?;
        if found < SCHEMA_VERSION {
            tracing::info!(store = %location, from = found, to = SCHEMA_VERSION, "store schema migrated");
        }
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            location,
        })
    }

    fn backend(&self, e: rusqlite::Error) -> Error {
        Error::Backend {
            location: self.location.clone(),
            message: e.to_string(),
        }
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-done write
        // behind (SQLite rolls back an unfinished transaction).
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The path of the file, for messages.
    pub fn path(&self) -> Option<PathBuf> {
        self.location.strip_prefix("sqlite:").map(PathBuf::from)
    }
}

/// The schema version of the store in `conn`, after checking that it is a
/// bacino store (or an empty database) this build can use.
fn check(conn: &Connection, location: &str) -> Result<i64> {
    let backend = |e: rusqlite::Error| Error::Backend {
        location: location.to_owned(),
        message: e.to_string(),
    };
    let app: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| Error::Unreachable {
            location: location.to_owned(),
            message: e.to_string(),
        })?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(backend)?;
    if app == 0 {
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .map_err(backend)?;
        if tables > 0 {
            return Err(Error::Foreign {
                location: location.to_owned(),
                message: format!("an SQLite database with {tables} tables of its own"),
            });
        }
    } else if app != APPLICATION_ID {
        return Err(Error::Foreign {
            location: location.to_owned(),
            message: format!("an SQLite database with application id {app:#x}"),
        });
    }
    if version > SCHEMA_VERSION {
        return Err(Error::NewerSchema {
            location: location.to_owned(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(version)
}

const RECORD_COLUMNS: &str = "id, kind, dataset, version, plan, document, created_ms";

fn record(row: &rusqlite::Row<'_>) -> rusqlite::Result<Record> {
    let kind: String = row.get(1)?;
    Ok(Record {
        id: row.get(0)?,
        kind: kind.parse().map_err(|e: String| {
            rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, e.into())
        })?,
        dataset: row.get(2)?,
        version: row.get(3)?,
        plan: row.get(4)?,
        document: row.get(5)?,
        created_ms: row.get(6)?,
    })
}

fn find_in(
    conn: &Connection,
    kind: Kind,
    dataset: &str,
    version: &str,
    plan: &str,
) -> rusqlite::Result<Option<Record>> {
    conn.query_row(
        &format!(
            "SELECT {RECORD_COLUMNS} FROM runs
             WHERE kind = ?1 AND dataset = ?2 AND version = ?3 AND plan_hash = ?4 AND plan = ?5"
        ),
        params![kind.as_str(), dataset, version, plan_hash(plan), plan],
        record,
    )
    .optional()
}

impl Store for SqliteStore {
    fn save(&self, run: &Submission) -> Result<Saved> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.backend(e))?;
        if let Some(old) = find_in(&tx, run.kind, &run.dataset, &run.version, &run.plan)
            .map_err(|e| self.backend(e))?
        {
            return Ok(Saved::Existing(old));
        }
        let rec = Record {
            id: uuid::Uuid::now_v7().to_string(),
            kind: run.kind,
            dataset: run.dataset.clone(),
            version: run.version.clone(),
            plan: run.plan.clone(),
            document: run.document.clone(),
            created_ms: now_ms(),
        };
        tx.execute(
            "INSERT INTO runs (id, kind, dataset, version, plan_hash, plan, document, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                rec.id,
                rec.kind.as_str(),
                rec.dataset,
                rec.version,
                plan_hash(&rec.plan),
                rec.plan,
                rec.document,
                rec.created_ms
            ],
        )
        .map_err(|e| self.backend(e))?;
        for site in &run.sites {
            tx.execute(
                "INSERT INTO run_sites (run_id, role, facility_id, lon, lat)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![rec.id, site.role, site.facility_id, site.lon, site.lat],
            )
            .map_err(|e| self.backend(e))?;
        }
        // With synchronous = FULL the commit returns once the WAL is
        // synced: only then is the run acknowledged.
        tx.commit().map_err(|e| self.backend(e))?;
        Ok(Saved::Created(rec))
    }

    fn find(&self, kind: Kind, dataset: &str, version: &str, plan: &str) -> Result<Option<Record>> {
        find_in(&self.conn(), kind, dataset, version, plan).map_err(|e| self.backend(e))
    }

    fn get(&self, id: &str) -> Result<Option<Record>> {
        self.conn()
            .query_row(
                &format!("SELECT {RECORD_COLUMNS} FROM runs WHERE id = ?1"),
                params![id],
                record,
            )
            .optional()
            .map_err(|e| self.backend(e))
    }

    fn list(&self, kind: Kind, dataset: &str, limit: usize, offset: usize) -> Result<Vec<Summary>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, kind, dataset, version, plan, created_ms FROM runs
                 WHERE dataset = ?1 AND kind = ?2
                 ORDER BY created_ms DESC, id DESC LIMIT ?3 OFFSET ?4",
            )
            .map_err(|e| self.backend(e))?;
        let rows = stmt
            .query_map(
                params![dataset, kind.as_str(), limit as i64, offset as i64],
                |row| {
                    Ok(Summary {
                        id: row.get(0)?,
                        kind,
                        dataset: row.get(2)?,
                        version: row.get(3)?,
                        plan: row.get(4)?,
                        created_ms: row.get(5)?,
                    })
                },
            )
            .map_err(|e| self.backend(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.backend(e))
    }

    fn count(&self, kind: Kind, dataset: &str) -> Result<u64> {
        self.conn()
            .query_row(
                "SELECT count(*) FROM runs WHERE dataset = ?1 AND kind = ?2",
                params![dataset, kind.as_str()],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| self.backend(e))
    }

    fn delete(&self, id: &str) -> Result<bool> {
        self.conn()
            .execute("DELETE FROM runs WHERE id = ?1", params![id])
            .map(|n| n > 0)
            .map_err(|e| self.backend(e))
    }

    fn location(&self) -> String {
        self.location.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dataset: &str, plan: &str, version: &str) -> Submission {
        Submission {
            kind: Kind::Scenario,
            dataset: dataset.into(),
            version: version.into(),
            plan: plan.into(),
            document: format!(r#"{{"plan":{plan},"placed":3}}"#),
            sites: vec![crate::Site {
                role: "opened",
                facility_id: "NEW1".into(),
                lon: 9.6,
                lat: 45.6,
            }],
        }
    }

    #[test]
    fn a_run_survives_closing_and_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite");
        let id = {
            let store = SqliteStore::open(&path).unwrap();
            let Saved::Created(r) = store
                .save(&run("crema", r#"{"cease":["A"]}"#, "v1"))
                .unwrap()
            else {
                panic!("a first save creates")
            };
            r.id
        };
        let store = SqliteStore::open(&path).unwrap();
        let back = store.get(&id).unwrap().expect("stored");
        assert_eq!(back.plan, r#"{"cease":["A"]}"#);
        assert_eq!(back.version, "v1");
        assert_eq!(back.kind, Kind::Scenario);
        assert!(back.created().ends_with('Z'));
    }

    #[test]
    fn identical_runs_are_stored_once_and_a_changed_dataset_is_a_new_run() {
        let store = SqliteStore::in_memory().unwrap();
        let a = store.save(&run("crema", "{\"x\":1}", "v1")).unwrap();
        let b = store.save(&run("crema", "{\"x\":1}", "v1")).unwrap();
        assert!(matches!(a, Saved::Created(_)));
        assert!(matches!(b, Saved::Existing(_)));
        assert_eq!(a.record().id, b.record().id);
        // Another version, plan, dataset or kind: another run.
        let others = [
            run("crema", "{\"x\":1}", "v2"),
            run("crema", "{\"x\":2}", "v1"),
            run("bergamo", "{\"x\":1}", "v1"),
            Submission {
                kind: Kind::Siting,
                ..run("crema", "{\"x\":1}", "v1")
            },
        ];
        for o in &others {
            assert!(matches!(store.save(o).unwrap(), Saved::Created(_)), "{o:?}");
        }
        assert_eq!(store.count(Kind::Scenario, "crema").unwrap(), 3);
        assert_eq!(
            store
                .find(Kind::Scenario, "crema", "v1", "{\"x\":1}")
                .unwrap()
                .map(|r| r.id),
            Some(a.record().id.clone())
        );
        assert_eq!(
            store
                .find(Kind::Scenario, "crema", "v3", "{\"x\":1}")
                .unwrap(),
            None
        );
    }

    #[test]
    fn lists_are_newest_first_and_page() {
        let store = SqliteStore::in_memory().unwrap();
        let ids: Vec<String> = (0..7)
            .map(|i| {
                store
                    .save(&run("crema", &format!("{{\"i\":{i}}}"), "v1"))
                    .unwrap()
            })
            .map(|s| s.record().id.clone())
            .collect();
        store.save(&run("bergamo", "{}", "v1")).unwrap();
        let all: Vec<String> = store
            .list(Kind::Scenario, "crema", 100, 0)
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        let mut newest_first = ids.clone();
        newest_first.reverse();
        assert_eq!(all, newest_first);
        let page: Vec<String> = store
            .list(Kind::Scenario, "crema", 3, 2)
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(page, newest_first[2..5]);
        assert!(store
            .list(Kind::Siting, "crema", 100, 0)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_deleted_run_is_gone_and_can_be_stored_again() {
        let store = SqliteStore::in_memory().unwrap();
        let r = run("crema", "{}", "v1");
        let first = store.save(&r).unwrap().record().id.clone();
        let (role, lon): (String, f64) = store
            .conn()
            .query_row(
                "SELECT role, lon FROM run_sites WHERE run_id = ?1",
                [&first],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((role.as_str(), lon), ("opened", 9.6));
        assert!(store.delete(&first).unwrap());
        assert!(!store.delete(&first).unwrap());
        assert_eq!(store.get(&first).unwrap(), None);
        let sites: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM run_sites", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sites, 0, "a run's sites go with it");
        let again = store.save(&r).unwrap();
        assert!(matches!(again, Saved::Created(_)));
        assert_ne!(again.record().id, first);
    }

    #[test]
    fn a_store_from_a_newer_bacino_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite");
        drop(SqliteStore::open(&path).unwrap());
        {
            let c = Connection::open(&path).unwrap();
            c.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
                .unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let e = SqliteStore::open(&path).unwrap_err();
        assert!(
            matches!(e, Error::NewerSchema { found, .. } if found == SCHEMA_VERSION + 1),
            "{e}"
        );
        assert!(e.to_string().contains("newer bacino"), "{e}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "the file was written"
        );
    }

    #[test]
    fn another_database_or_a_file_that_is_not_sqlite_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("other.sqlite");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE patients (id TEXT)")
            .unwrap();
        let e = SqliteStore::open(&other).unwrap_err();
        assert!(matches!(e, Error::Foreign { .. }), "{e}");
        assert!(e.to_string().contains("1 tables of its own"), "{e}");

        let csv = dir.path().join("residents.csv");
        std::fs::write(&csv, "id,lon,lat\nR1,9.6,45.7\n".repeat(100)).unwrap();
        let e = SqliteStore::open(&csv).unwrap_err();
        assert!(matches!(e, Error::Unreachable { .. }), "{e}");
        assert!(e.to_string().contains("not a database"), "{e}");
        assert_eq!(
            std::fs::read_to_string(&csv).unwrap(),
            "id,lon,lat\nR1,9.6,45.7\n".repeat(100)
        );
    }

    #[test]
    fn a_missing_directory_is_named() {
        let e = SqliteStore::open(Path::new("/nonexistent-bacino/store.sqlite")).unwrap_err();
        assert!(
            e.to_string().contains("/nonexistent-bacino does not exist"),
            "{e}"
        );
    }

    #[test]
    fn an_older_schema_is_migrated_forward_keeping_its_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite");
        // A store as schema version 1 left it, with one run.
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(MIGRATIONS[0]).unwrap();
            c.execute(
                "INSERT INTO runs VALUES ('r1', 'scenario', 'crema', 'v1', ?1, '{}', '{\"placed\":1}', 5)",
                [plan_hash("{}")],
            )
            .unwrap();
            c.pragma_update(None, "user_version", 1).unwrap();
            c.pragma_update(None, "application_id", APPLICATION_ID)
                .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let old = store.get("r1").unwrap().expect("the old run is kept");
        assert_eq!(
            (old.document.as_str(), old.created_ms),
            ("{\"placed\":1}", 5)
        );
        assert!(matches!(
            store.save(&run("crema", "{}", "v1")).unwrap(),
            Saved::Existing(_)
        ));
        store.save(&run("crema", "{\"x\":1}", "v1")).unwrap();
        let c = Connection::open(&path).unwrap();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        let sites: i64 = c
            .query_row("SELECT count(*) FROM run_sites", [], |r| r.get(0))
            .unwrap();
        assert_eq!((v, sites), (SCHEMA_VERSION, 1));
        // An empty file (version 0) becomes a store too.
        let empty = dir.path().join("empty.sqlite");
        drop(Connection::open(&empty).unwrap());
        SqliteStore::open(&empty).unwrap();
        let c = Connection::open(&empty).unwrap();
        let app: i64 = c
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .unwrap();
        assert_eq!(app, APPLICATION_ID);
    }

    #[test]
    fn two_handles_on_one_file_see_each_others_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite");
        let a = SqliteStore::open(&path).unwrap();
        let b = SqliteStore::open(&path).unwrap();
        let id = a
            .save(&run("crema", "{}", "v1"))
            .unwrap()
            .record()
            .id
            .clone();
        assert!(b.get(&id).unwrap().is_some());
        // Saving the same run from the other handle finds it.
        assert!(matches!(
            b.save(&run("crema", "{}", "v1")).unwrap(),
            Saved::Existing(_)
        ));
    }
}
