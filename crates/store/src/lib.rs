//! The persistent store of bacino (CONTRACT §10): every scenario and siting
//! run posted over HTTP, with its plan, its whole document, the version of
//! the dataset it ran on and when. An embedded SQLite file is the default
//! (no server needed); PostgreSQL with PostGIS is the production store,
//! which several servers can share.
//!
//! ```
//! use bacino_store::{open, Kind, Submission, Saved, StoreUrl};
//!
//! let store = open(&"memory".parse::<StoreUrl>().unwrap()).unwrap();
//! let run = Submission {
//!     kind: Kind::Scenario,
//!     dataset: "crema".into(),
//!     version: "0f3a".into(),
//!     plan: r#"{"cease":["GP1"]}"#.into(),
//!     document: r#"{"placed":120}"#.into(),
//!     sites: vec![],
//! };
//! let Saved::Created(first) = store.save(&run).unwrap() else { panic!() };
//! // The same plan on the same data is the same run: no second copy.
//! let Saved::Existing(again) = store.save(&run).unwrap() else { panic!() };
//! assert_eq!(first.id, again.id);
//! assert_eq!(store.get(&first.id).unwrap().unwrap().document, run.document);
//! ```
//!
//! Every call blocks (file or network I/O): call it off async workers.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

mod postgres;
mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// The errors of the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A store URL that is not `memory`, `sqlite:PATH` or `postgres://…`.
    #[error("store `{url}`: {message}")]
    Url {
        /// The URL as given.
        url: String,
        /// What was expected.
        message: String,
    },
    /// The store cannot be opened or reached.
    #[error("cannot open the store {location}: {message}")]
    Unreachable {
        /// Where the store is (no password).
        location: String,
        /// Why.
        message: String,
    },
    /// The store was written by a newer bacino; it is left untouched.
    #[error(
        "the store {location} has schema version {found}, newer than the {supported} this \
         bacino knows: it was written by a newer bacino (upgrade; the store is left untouched)"
    )]
    NewerSchema {
        /// Where the store is.
        location: String,
        /// Its schema version.
        found: i64,
        /// The newest this build knows.
        supported: i64,
    },
    /// The file or database holds something else than a bacino store.
    #[error("{location} is not a bacino store: {message} (refusing to write to it)")]
    Foreign {
        /// Where the store is.
        location: String,
        /// What was found.
        message: String,
    },
    /// A read or write failed.
    #[error("store {location}: {message}")]
    Backend {
        /// Where the store is.
        location: String,
        /// What failed.
        message: String,
    },
}

/// The result of the store's operations.
pub type Result<T> = std::result::Result<T, Error>;

/// What kind of run a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// A scenario plan (`POST /v1/datasets/{name}/scenarios`).
    Scenario,
    /// A siting run (`POST /v1/datasets/{name}/siting`).
    Siting,
}

impl Kind {
    /// The name stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Scenario => "scenario",
            Kind::Siting => "siting",
        }
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Kind, String> {
        match s {
            "scenario" => Ok(Kind::Scenario),
            "siting" => Ok(Kind::Siting),
            other => Err(format!("expected scenario or siting, found `{other}`")),
        }
    }
}

/// A place a run names: a facility it opens or closes, a site it selects.
/// Facility locations are public; no resident is ever a site.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// `opened`, `ceased` or `selected`.
    pub role: &'static str,
    /// The facility's or candidate's id.
    pub facility_id: String,
    /// Longitude, WGS84 degrees.
    pub lon: f64,
    /// Latitude, WGS84 degrees.
    pub lat: f64,
}

/// A run to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    /// Scenario or siting.
    pub kind: Kind,
    /// The dataset's name.
    pub dataset: String,
    /// The dataset's version (hash of its sources) the run was computed on.
    pub version: String,
    /// The plan in a canonical form (JSON): two requests that mean the same
    /// run must give the same text, since identical runs are stored once.
    pub plan: String,
    /// The whole answer (JSON).
    pub document: String,
    /// The places it opens, closes or selects: a point layer in the store
    /// (PostGIS: `bacino.run_sites`, for QGIS).
    pub sites: Vec<Site>,
}

/// A stored run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its id: a UUID version 7, so ids sort by creation time.
    pub id: String,
    /// Scenario or siting.
    pub kind: Kind,
    /// The dataset's name.
    pub dataset: String,
    /// The dataset's version it was computed on.
    pub version: String,
    /// The plan (JSON, canonical).
    pub plan: String,
    /// The whole answer (JSON).
    pub document: String,
    /// When it was stored, milliseconds since the Unix epoch (UTC).
    pub created_ms: i64,
}

impl Record {
    /// When it was stored, RFC 3339 in UTC with milliseconds.
    pub fn created(&self) -> String {
        rfc3339(self.created_ms)
    }
}

/// A stored run without its document (for lists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Its id.
    pub id: String,
    /// Scenario or siting.
    pub kind: Kind,
    /// The dataset's name.
    pub dataset: String,
    /// The dataset's version it was computed on.
    pub version: String,
    /// The plan (JSON, canonical).
    pub plan: String,
    /// When it was stored, milliseconds since the Unix epoch.
    pub created_ms: i64,
}

impl Summary {
    /// When it was stored, RFC 3339 in UTC with milliseconds.
    pub fn created(&self) -> String {
        rfc3339(self.created_ms)
    }
}

/// What [`Store::save`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Saved {
    /// A new record (acknowledged only once durable).
    Created(Record),
    /// An identical run (same kind, dataset, version and plan) was already
    /// stored: this is it, and nothing was written.
    Existing(Record),
}

impl Saved {
    /// The record, new or old.
    pub fn record(&self) -> &Record {
        match self {
            Saved::Created(r) | Saved::Existing(r) => r,
        }
    }
}

/// A store of runs. Every call blocks; implementations are safe to share
/// between threads and, for the persistent ones, between processes.
pub trait Store: Send + Sync + fmt::Debug {
    /// Stores a run unless an identical one (same kind, dataset, version and
    /// plan) is stored already, atomically: two replicas saving the same
    /// run at once keep one record. Returns once the record is durable.
    fn save(&self, run: &Submission) -> Result<Saved>;
    /// The stored run identical to this one, if any (to skip solving it).
    fn find(&self, kind: Kind, dataset: &str, version: &str, plan: &str) -> Result<Option<Record>>;
    /// The run with this id.
    fn get(&self, id: &str) -> Result<Option<Record>>;
    /// A dataset's runs of one kind, newest first, `limit` of them after
    /// skipping `offset`.
    fn list(&self, kind: Kind, dataset: &str, limit: usize, offset: usize) -> Result<Vec<Summary>>;
    /// How many runs of one kind a dataset has.
    fn count(&self, kind: Kind, dataset: &str) -> Result<u64>;
    /// Deletes a run; whether it existed.
    fn delete(&self, id: &str) -> Result<bool>;
    /// Where the store is, for logs (never a password).
    fn location(&self) -> String;
}

/// Where the store is: `memory` (forgotten at exit), `sqlite:PATH` (the
/// embedded default) or `postgres://USER@HOST:PORT/DB`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreUrl {
    /// In memory: nothing outlives the process.
    Memory,
    /// An SQLite file (created when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL database with PostGIS.
    Postgres(String),
}

impl FromStr for StoreUrl {
    type Err = Error;
    fn from_str(s: &str) -> Result<StoreUrl> {
        let bad = |message: &str| Error::Url {
            url: redact(s),
            message: message.into(),
        };
        if s == "memory" {
            Ok(StoreUrl::Memory)
        } else if let Some(path) = s.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(bad("expected sqlite:PATH, found no path"));
            }
            Ok(StoreUrl::Sqlite(PathBuf::from(path)))
        } else if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(StoreUrl::Postgres(s.to_owned()))
        } else {
            Err(bad(
                "expected `memory`, `sqlite:PATH` or `postgres://USER@HOST:PORT/DB`",
            ))
        }
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Memory => f.write_str("memory"),
            StoreUrl::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            StoreUrl::Postgres(u) => f.write_str(&redact(u)),
        }
    }
}

/// A URL with its password replaced by `***`.
pub use bacino_postgis::redact;

/// Opens (creating or migrating when needed) the store at `url`.
pub fn open(url: &StoreUrl) -> Result<Arc<dyn Store>> {
    match url {
        StoreUrl::Memory => Ok(Arc::new(SqliteStore::in_memory()?)),
        StoreUrl::Sqlite(path) => Ok(Arc::new(SqliteStore::open(path)?)),
        StoreUrl::Postgres(u) => Ok(Arc::new(PostgresStore::open(u)?)),
    }
}

/// The key identical plans share: XXH3-128 of the canonical plan, hex.
pub(crate) fn plan_hash(plan: &str) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(plan.as_bytes()))
}

/// Now, milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Milliseconds since the epoch as RFC 3339 UTC, e.g. `2026-12-05T07:01:30.123Z`.
pub fn rfc3339(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&f).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_parse_and_reject_anything_else() {
        assert_eq!("memory".parse::<StoreUrl>().unwrap(), StoreUrl::Memory);
        assert_eq!(
            "sqlite:/var/lib/bacino/store.sqlite"
                .parse::<StoreUrl>()
                .unwrap(),
            StoreUrl::Sqlite("/var/lib/bacino/store.sqlite".into())
        );
        assert_eq!(
            "sqlite:store.sqlite".parse::<StoreUrl>().unwrap(),
            StoreUrl::Sqlite("store.sqlite".into())
        );
        assert!(matches!(
            "postgres://bacino@127.0.0.1:5432/ats".parse::<StoreUrl>(),
            Ok(StoreUrl::Postgres(_))
        ));
        for bad in ["", "sqlite:", "mysql://x", "/tmp/store.sqlite"] {
            let e = bad.parse::<StoreUrl>().unwrap_err().to_string();
            assert!(e.contains("expected"), "{bad}: {e}");
        }
    }

    #[test]
    fn passwords_never_reach_a_message() {
        assert_eq!(
            redact("postgres://bacino:s3cret@db:5432/ats"),
            "postgres://bacino:***@db:5432/ats"
        );
        assert_eq!(
            redact("postgres://bacino@db:5432/ats"),
            "postgres://bacino@db:5432/ats"
        );
        let e = "mysql://u:s3cret@h/db".parse::<StoreUrl>().unwrap_err();
        assert!(!e.to_string().contains("s3cret"), "{e}");
        let url: StoreUrl = "postgres://u:s3cret@h/db".parse().unwrap();
        assert!(!url.to_string().contains("s3cret"));
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        // 2026-12-05 07:01:30.123 UTC: 20,792 days after the epoch.
        let ms = (20_792 * 86_400 + 7 * 3600 + 60 + 30) * 1000 + 123;
        assert_eq!(rfc3339(ms), "2026-12-05T07:01:30.123Z");
    }
}
