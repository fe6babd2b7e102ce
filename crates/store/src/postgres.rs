//! The production store: PostgreSQL with PostGIS, in schema `bacino`.
//! Several servers may share one database (each answers from it what any
//! of them stored). The places a run opens, closes or selects are a
//! PostGIS point layer (`bacino.run_sites`, and the view `bacino.sites`
//! with each run's kind, dataset and time), registered in
//! `geometry_columns` with SRID 4326, so QGIS opens them directly.

use std::time::Duration;

use postgres::{NoTls, Transaction};
use r2d2::{Pool, PooledConnection};
use r2d2_postgres::PostgresConnectionManager;

use crate::{
    now_ms, plan_hash, redact, Error, Kind, Record, Result, Saved, Store, Submission, Summary,
};

type Manager = PostgresConnectionManager<NoTls>;

/// The schema, one migration per version (append only).
const MIGRATIONS: &[&str] = &[
    // 1: runs and their sites.
    "CREATE TABLE bacino.runs (
        id          uuid PRIMARY KEY,
        kind        text NOT NULL CHECK (kind IN ('scenario', 'siting')),
        dataset     text NOT NULL,
        version     text NOT NULL,
        plan_hash   text NOT NULL,
        plan        text NOT NULL,
        document    text NOT NULL,
        created     timestamptz NOT NULL,
        created_ms  bigint NOT NULL,
        UNIQUE (kind, dataset, version, plan_hash)
    );
    CREATE INDEX runs_by_dataset ON bacino.runs (dataset, kind, created_ms DESC, id DESC);
    CREATE TABLE bacino.run_sites (
        site_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        run_id      uuid NOT NULL REFERENCES bacino.runs (id) ON DELETE CASCADE,
        role        text NOT NULL CHECK (role IN ('opened', 'ceased', 'selected')),
        facility_id text NOT NULL,
        geom        geometry(Point, 4326) NOT NULL
    );
    CREATE INDEX run_sites_by_run ON bacino.run_sites (run_id);
    CREATE INDEX run_sites_geom ON bacino.run_sites USING gist (geom);
    CREATE VIEW bacino.sites AS
        SELECT s.site_id, s.run_id, r.kind, r.dataset, r.created, s.role, s.facility_id, s.geom
        FROM bacino.run_sites s JOIN bacino.runs r ON r.id = s.run_id;",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Taken (for the transaction) while a server checks and migrates the
/// schema: two replicas starting at once migrate it once.
const MIGRATION_LOCK: i64 = 0x6261_6369_6e6f;

/// Connections the pool holds at most.
const POOL_SIZE: u32 = 8;

/// How long a call waits for a connection before the store counts as
/// unavailable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A store in a PostgreSQL database with PostGIS.
pub struct PostgresStore {
    pool: Pool<Manager>,
    location: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

fn message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => e.to_string(),
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://USER[:PASSWORD]@HOST:PORT/DB`),
    /// creating PostGIS when missing (if allowed) and the schema `bacino`,
    /// or migrating it. Refuses, untouched, a schema from a newer bacino
    /// and a `bacino` schema that is not a store.
    pub fn open(url: &str) -> Result<PostgresStore> {
        let location = redact(url);
        let mut config: postgres::Config =
            url.parse().map_err(|e: postgres::Error| Error::Url {
                url: location.clone(),
                message: format!("expected postgres://USER@HOST:PORT/DB: {e}"),
            })?;
        config.connect_timeout(CONNECT_TIMEOUT);
        config.application_name("bacino");
        let pool = Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(CONNECT_TIMEOUT)
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build(Manager::new(config, NoTls))
            .map_err(|e| Error::Unreachable {
                location: location.clone(),
                message: e.to_string(),
            })?;
        let store = PostgresStore { pool, location };
        store.migrate()?;
        Ok(store)
    }

    fn conn(&self) -> Result<PooledConnection<Manager>> {
        self.pool.get().map_err(|e| Error::Unreachable {
            location: self.location.clone(),
            message: e.to_string(),
        })
    }

    fn backend(&self, e: postgres::Error) -> Error {
        Error::Backend {
            location: self.location.clone(),
            message: message(&e),
        }
    }

    fn migrate(&self) -> Result<()> {
        let mut conn = self.conn()?;
        let has_postgis = conn
            .query_opt("SELECT 1 FROM pg_extension WHERE extname = 'postgis'", &[])
            .map_err(|e| self.backend(e))?
            .is_some();
        if !has_postgis {
            conn.batch_execute("CREATE EXTENSION IF NOT EXISTS postgis")
                .map_err(|e| Error::Backend {
                    location: self.location.clone(),
                    message: format!(
                        "PostGIS is not installed in this database and cannot be created \
                         ({}): run `CREATE EXTENSION postgis` as a superuser",
                        message(&e)
                    ),
                })?;
        }
        let mut tx = conn.transaction().map_err(|e| self.backend(e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(|e| self.backend(e))?;
        let found = self.found_version(&mut tx)?;
        if found > SCHEMA_VERSION {
            return Err(Error::NewerSchema {
                location: self.location.clone(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found == 0 {
            tx.batch_execute(
                "CREATE SCHEMA IF NOT EXISTS bacino;
                 CREATE TABLE bacino.meta (key text PRIMARY KEY, value text NOT NULL);
                 INSERT INTO bacino.meta VALUES ('application', 'bacino'), ('schema_version', '0');",
            )
            .map_err(|e| self.backend(e))?;
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            tx.batch_execute(sql).map_err(|e| Error::Backend {
                location: self.location.clone(),
                message: format!("migration to schema version {}: {}", i + 1, message(&e)),
            })?;
        }
        tx.execute(
            "UPDATE bacino.meta SET value = $1 WHERE key = 'schema_version'",
            &[&SCHEMA_VERSION.to_string()],
        )
        .map_err(|e| self.backend(e))?;
        tx.commit().map_err(|e| self.backend(e))?;
        if found < SCHEMA_VERSION {
            tracing::info!(store = %self.location, from = found, to = SCHEMA_VERSION, "store schema migrated");
        }
        Ok(())
    }

    /// The schema version in the database: 0 without a `bacino` schema.
    fn found_version(&self, tx: &mut Transaction<'_>) -> Result<i64> {
        let tables: i64 = tx
            .query_one(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'bacino'",
                &[],
            )
            .map_err(|e| self.backend(e))?
            .get(0);
        if tables == 0 {
            return Ok(0);
        }
        let foreign = |m: String| Error::Foreign {
            location: self.location.clone(),
            message: m,
        };
        let meta = tx
            .query_opt("SELECT to_regclass('bacino.meta')::text", &[])
            .map_err(|e| self.backend(e))?
            .and_then(|r| r.get::<_, Option<String>>(0));
        if meta.is_none() {
            return Err(foreign(format!(
                "its schema `bacino` has {tables} tables and no bacino.meta"
            )));
        }
        let rows = tx
            .query("SELECT key, value FROM bacino.meta", &[])
            .map_err(|e| self.backend(e))?;
        let value = |k: &str| {
            rows.iter()
                .find(|r| r.get::<_, &str>(0) == k)
                .map(|r| r.get::<_, String>(1))
        };
        if value("application").as_deref() != Some("bacino") {
            return Err(foreign("bacino.meta does not name bacino".into()));
        }
        value("schema_version")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| foreign("bacino.meta has no schema_version".into()))
    }

    fn find_in(
        &self,
        client: &mut impl postgres::GenericClient,
        kind: Kind,
        dataset: &str,
        version: &str,
        plan: &str,
    ) -> Result<Option<Record>> {
        let row = client
            .query_opt(
                "SELECT id::text, kind, dataset, version, plan, document, created_ms
                 FROM bacino.runs
                 WHERE kind = $1 AND dataset = $2 AND version = $3 AND plan_hash = $4 AND plan = $5",
                &[&kind.as_str(), &dataset, &version, &plan_hash(plan), &plan],
            )
            .map_err(|e| self.backend(e))?;
        row.map(|r| self.record(&r)).transpose()
    }

    fn record(&self, r: &postgres::Row) -> Result<Record> {
        let kind: &str = r.get(1);
        Ok(Record {
            id: r.get(0),
            kind: kind.parse().map_err(|m| Error::Backend {
                location: self.location.clone(),
                message: m,
            })?,
            dataset: r.get(2),
            version: r.get(3),
            plan: r.get(4),
            document: r.get(5),
            created_ms: r.get(6),
        })
    }
}

impl Store for PostgresStore {
    fn save(&self, run: &Submission) -> Result<Saved> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(|e| self.backend(e))?;
        if let Some(old) = self.find_in(&mut tx, run.kind, &run.dataset, &run.version, &run.plan)? {
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
        // Another server may be storing the same run right now: the
        // unique key keeps one, and this one answers with it.
        let inserted = tx
            .execute(
                "INSERT INTO bacino.runs
                     (id, kind, dataset, version, plan_hash, plan, document, created, created_ms)
                 VALUES ($1::text::uuid, $2, $3, $4, $5, $6, $7,
                         to_timestamp($8::bigint / 1000.0), $8)
                 ON CONFLICT (kind, dataset, version, plan_hash) DO NOTHING",
                &[
                    &rec.id,
                    &rec.kind.as_str(),
                    &rec.dataset,
                    &rec.version,
                    &plan_hash(&rec.plan),
                    &rec.plan,
                    &rec.document,
                    &rec.created_ms,
                ],
            )
            .map_err(|e| self.backend(e))?;
        if inserted == 0 {
            // Read the winner on this connection: a second one from the
            // pool could wait on a pool that conflicting saves have filled.
            tx.rollback().map_err(|e| self.backend(e))?;
            return match self.find_in(
                &mut *conn,
                run.kind,
                &run.dataset,
                &run.version,
                &run.plan,
            )? {
                Some(old) => Ok(Saved::Existing(old)),
                None => Err(Error::Backend {
                    location: self.location.clone(),
                    message: "another run has the same key but a different plan".into(),
                }),
            };
        }
        for site in &run.sites {
            tx.execute(
                "INSERT INTO bacino.run_sites (run_id, role, facility_id, geom)
                 VALUES ($1::text::uuid, $2, $3, ST_SetSRID(ST_MakePoint($4, $5), 4326))",
                &[&rec.id, &site.role, &site.facility_id, &site.lon, &site.lat],
            )
            .map_err(|e| self.backend(e))?;
        }
        // Acknowledged once committed (synchronous_commit: on, the default).
        tx.commit().map_err(|e| self.backend(e))?;
        Ok(Saved::Created(rec))
    }

    fn find(&self, kind: Kind, dataset: &str, version: &str, plan: &str) -> Result<Option<Record>> {
        let mut conn = self.conn()?;
        self.find_in(&mut *conn, kind, dataset, version, plan)
    }

    fn get(&self, id: &str) -> Result<Option<Record>> {
        if uuid::Uuid::parse_str(id).is_err() {
            return Ok(None);
        }
        let row = self
            .conn()?
            .query_opt(
                "SELECT id::text, kind, dataset, version, plan, document, created_ms
                 FROM bacino.runs WHERE id = $1::text::uuid",
                &[&id],
            )
            .map_err(|e| self.backend(e))?;
        row.map(|r| self.record(&r)).transpose()
    }

    fn list(&self, kind: Kind, dataset: &str, limit: usize, offset: usize) -> Result<Vec<Summary>> {
        let rows = self
            .conn()?
            .query(
                "SELECT id::text, dataset, version, plan, created_ms FROM bacino.runs
                 WHERE dataset = $1 AND kind = $2
                 ORDER BY created_ms DESC, id DESC LIMIT $3 OFFSET $4",
                &[&dataset, &kind.as_str(), &(limit as i64), &(offset as i64)],
            )
            .map_err(|e| self.backend(e))?;
        Ok(rows
            .iter()
            .map(|r| Summary {
                id: r.get(0),
                kind,
                dataset: r.get(1),
                version: r.get(2),
                plan: r.get(3),
                created_ms: r.get(4),
            })
            .collect())
    }

    fn count(&self, kind: Kind, dataset: &str) -> Result<u64> {
        let n: i64 = self
            .conn()?
            .query_one(
                "SELECT count(*) FROM bacino.runs WHERE dataset = $1 AND kind = $2",
                &[&dataset, &kind.as_str()],
            )
            .map_err(|e| self.backend(e))?
            .get(0);
        Ok(n as u64)
    }

    fn delete(&self, id: &str) -> Result<bool> {
        if uuid::Uuid::parse_str(id).is_err() {
            return Ok(false);
        }
        let n = self
            .conn()?
            .execute("DELETE FROM bacino.runs WHERE id = $1::text::uuid", &[&id])
            .map_err(|e| self.backend(e))?;
        Ok(n > 0)
    }

    fn location(&self) -> String {
        self.location.clone()
    }
}
