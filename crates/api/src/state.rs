//! Shared server state: the loaded datasets and their result caches.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use bacino_core::Dataset;

use bacino_store::Store;

use crate::cache::ResultCache;
use crate::pool::{Pool, PoolConfig};

/// Server settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Groups with fewer people are suppressed; requests cannot go lower.
    pub min_group_size: f64,
    /// Largest accepted request body, bytes.
    pub max_body_bytes: usize,
    /// Bearer tokens and their roles; empty: no access control.
    pub tokens: Vec<crate::auth::TokenRule>,
    /// Bytes the result cache (answers of every dataset) may hold.
    pub result_cache_bytes: usize,
    /// Threads, queue and deadline of the pool heavy work runs in.
    pub pool: PoolConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            min_group_size: bacino_core::DEFAULT_MIN_GROUP_SIZE,
            max_body_bytes: 256 * 1024,
            tokens: Vec::new(),
            result_cache_bytes: DEFAULT_RESULT_CACHE_BYTES,
            pool: PoolConfig::default(),
        }
    }
}

/// The result cache's default budget: 256 MiB.
pub const DEFAULT_RESULT_CACHE_BYTES: usize = 256 << 20;

/// A serialised response body with its entity tag.
#[derive(Debug)]
pub(crate) struct Cached {
    pub body: String,
    pub etag: String,
    pub content_type: &'static str,
}

impl Cached {
    /// A body and its tag (a hash of the body).
    pub fn new(body: String, content_type: &'static str) -> Cached {
        let etag = weak_etag(hash_of(&body));
        Cached {
            body,
            etag,
            content_type,
        }
    }
}

impl crate::cache::Weigh for Cached {
    fn weight(&self) -> usize {
        self.body.len() + self.etag.len() + std::mem::size_of::<Cached>()
    }
}

/// A weak entity tag: the same answer is sent plain, gzip- or
/// Brotli-encoded under one tag, and a strong tag would have to differ
/// between encodings (RFC 9110 §8.8.3); `If-None-Match` compares weakly.
pub(crate) fn weak_etag(hash: u64) -> String {
    format!("W/\"{hash:016x}\"")
}

/// Whether an `If-None-Match` value names `etag` (weak comparison: the
/// `W/` prefix is ignored on both sides), or is `*`.
pub(crate) fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let ours = opaque(etag);
    if_none_match
        .split(',')
        .any(|t| t.trim() == "*" || opaque(t) == ours)
}

/// A fast, stable-within-a-process hash for entity tags.
pub(crate) fn hash_of(value: &impl std::hash::Hash) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    value.hash(&mut h);
    h.finish()
}

/// One dataset, and the result cache and pool it shares with the others.
#[derive(Debug)]
pub(crate) struct Entry {
    pub dataset: Dataset,
    pub cache: Arc<ResultCache>,
    /// Where heavy work runs (one pool for the whole server).
    pub pool: Arc<Pool>,
}

/// The datasets being served, by name: one version of each. A reload
/// builds a new one and swaps it in whole.
pub(crate) type Datasets = BTreeMap<String, Arc<Entry>>;

/// Loads every dataset again (for a reload): the server's own loader
/// (`bacino serve` also prepares road networks), or by default each
/// dataset's manifest read again.
pub type Loader = dyn Fn() -> Result<Vec<Dataset>, String> + Send + Sync;

/// Everything the handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    datasets: Arc<RwLock<Arc<Datasets>>>,
    pub(crate) config: Arc<Config>,
    pub(crate) pool: Arc<Pool>,
    cache: Arc<ResultCache>,
    loader: Arc<Loader>,
    /// Held while a reload runs: one at a time.
    reloading: Arc<Mutex<()>>,
    /// Where posted scenarios and siting runs are kept.
    pub(crate) store: Arc<dyn Store>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("datasets", &self.datasets().keys().collect::<Vec<_>>())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What a reload did to one dataset.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Reloaded {
    /// Dataset name.
    pub name: String,
    /// Version now served.
    pub version: String,
    /// Version served before (absent for a dataset new to the server).
    pub previous: Option<String>,
    /// Whether the data changed.
    pub changed: bool,
}

/// Why a reload failed; the old datasets are still served.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// Another reload is running.
    #[error("a reload is already running")]
    Busy,
    /// A dataset did not load, or two share a name.
    #[error("{0}")]
    Failed(String),
}

fn entries(
    datasets: Vec<Dataset>,
    cache: &Arc<ResultCache>,
    pool: &Arc<Pool>,
) -> Result<Datasets, String> {
    let mut map = BTreeMap::new();
    for d in datasets {
        let name = d.name.clone();
        let entry = Entry {
            dataset: d,
            cache: cache.clone(),
            pool: pool.clone(),
        };
        if map.insert(name.clone(), Arc::new(entry)).is_some() {
            return Err(format!("two datasets are named `{name}`"));
        }
    }
    Ok(map)
}

/// A loader's error as the log and the API may show it: the place (file,
/// line, column) and what was expected, without the values quoted from the
/// files — a resident's id or coordinate must not reach a log or a client.
/// The CLI (`bacino stats DIR`) shows the whole message to whoever holds
/// the data.
pub(crate) fn withhold_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    let mut any = false;
    for c in message.chars() {
        if c == '`' {
            if quoted {
                out.push_str("…`");
                any = true;
            } else {
                out.push('`');
            }
            quoted = !quoted;
        } else if !quoted {
            out.push(c);
        }
    }
    if quoted {
        out.push_str("…`");
    }
    if any {
        out.push_str(" (values withheld; `bacino stats DIR` shows them)");
    }
    out
}

impl AppState {
    /// Builds the state; fails when two datasets share a name. A reload
    /// reads each dataset's manifest again (see [`AppState::with_loader`]);
    /// scenarios are stored in memory (see [`AppState::with_store`]).
    pub fn new(datasets: Vec<Dataset>, config: Config) -> Result<Self, String> {
        let cache = Arc::new(ResultCache::new(config.result_cache_bytes));
        let pool = Arc::new(Pool::new(config.pool));
        let sources: Vec<std::path::PathBuf> = datasets.iter().map(|d| d.source.clone()).collect();
        let map = entries(datasets, &cache, &pool)?;
        let loader: Arc<Loader> = Arc::new(move || {
            sources
                .iter()
                .map(|s| Dataset::load(s).map_err(|e| e.to_string()))
                .collect()
        });
        Ok(AppState {
            datasets: Arc::new(RwLock::new(Arc::new(map))),
            config: Arc::new(config),
            pool,
            cache,
            loader,
            reloading: Arc::new(Mutex::new(())),
            store: Arc::new(bacino_store::SqliteStore::in_memory().map_err(|e| e.to_string())?),
        })
    }

    /// Keeps posted scenarios and siting runs in `store` (by default they
    /// are kept in memory and forgotten at exit).
    pub fn with_store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = store;
        self
    }

    /// Replaces how a reload loads the datasets.
    pub fn with_loader(
        mut self,
        loader: impl Fn() -> Result<Vec<Dataset>, String> + Send + Sync + 'static,
    ) -> Self {
        self.loader = Arc::new(loader);
        self
    }

    /// The datasets served now. A request takes this once and finishes on
    /// it, whatever reloads happen meanwhile.
    pub(crate) fn datasets(&self) -> Arc<Datasets> {
        self.datasets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Loads every dataset again and, only if all of them load, swaps the
    /// new versions in at once; otherwise the old ones stay served and the
    /// error says why. Blocking (it reads files): call it off the async
    /// workers. Answers cached for an old version are never served for the
    /// new one (cache keys carry the version) and age out of the cache.
    pub fn reload(&self) -> Result<Vec<Reloaded>, ReloadError> {
        let _one = self.reloading.try_lock().map_err(|_| ReloadError::Busy)?;
        let started = std::time::Instant::now();
        let loaded = (self.loader)().map_err(|e| ReloadError::Failed(withhold_values(&e)))?;
        let map = entries(loaded, &self.cache, &self.pool).map_err(ReloadError::Failed)?;
        let old = self.datasets();
        let report: Vec<Reloaded> = map
            .values()
            .map(|e| {
                let previous = old
                    .get(&e.dataset.name)
                    .map(|o| o.dataset.version().to_owned());
                Reloaded {
                    name: e.dataset.name.clone(),
                    version: e.dataset.version().to_owned(),
                    changed: previous.as_deref() != Some(e.dataset.version()),
                    previous,
                }
            })
            .collect();
        *self.datasets.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(map);
        tracing::info!(
            datasets = report.len(),
            changed = report.iter().filter(|r| r.changed).count(),
            took_s = started.elapsed().as_secs_f64(),
            "reloaded"
        );
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, residents: &str) {
        std::fs::write(
            dir.join("dataset.toml"),
            "name = \"t\"\n[facilities]\npath = \"f.csv\"\n[residents]\npath = \"r.csv\"\n",
        )
        .unwrap();
        std::fs::write(dir.join("f.csv"), "id,kind,lon,lat\nGP1,gp,9.6,45.6\n").unwrap();
        std::fs::write(dir.join("r.csv"), residents).unwrap();
    }

    #[test]
    fn reload_errors_keep_the_place_and_withhold_the_values() {
        let e = "/d/r.csv:4:5: duplicate resident id `R00000017` (first seen at line 2)";
        let w = withhold_values(e);
        assert!(
            w.starts_with("/d/r.csv:4:5: duplicate resident id `…` (first seen at line 2)"),
            "{w}"
        );
        assert!(!w.contains("R00000017"));
        assert!(w.contains("bacino stats"));
        assert_eq!(withhold_values("no quotes here"), "no quotes here");
        assert!(!withhold_values("unterminated `9.61234").contains("9.6"));
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let tag = weak_etag(0xabc);
        assert_eq!(tag, "W/\"0000000000000abc\"");
        assert!(etag_matches(&tag, &tag));
        assert!(etag_matches("\"0000000000000abc\"", &tag), "strong form");
        assert!(etag_matches("W/\"1\", W/\"0000000000000abc\"", &tag));
        assert!(etag_matches("*", &tag));
        assert!(!etag_matches("W/\"0000000000000abd\"", &tag));
        assert!(!etag_matches("", &tag));
    }

    #[test]
    fn a_request_keeps_the_version_it_started_with_and_reloads_run_one_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "id,lon,lat\nR1,9.61,45.61\n");
        let state =
            AppState::new(vec![Dataset::load(dir.path()).unwrap()], Config::default()).unwrap();
        // What a request takes when it starts.
        let in_flight = state.datasets();
        let before = in_flight["t"].dataset.version().to_owned();
        write(dir.path(), "id,lon,lat\nR1,9.61,45.61\nR2,9.62,45.62\n");
        let report = state.reload().unwrap();
        assert!(report[0].changed);
        // The running request still sees the old data, whole; a new one
        // sees the new.
        assert_eq!(in_flight["t"].dataset.version(), before);
        assert_eq!(in_flight["t"].dataset.residents().len(), 1);
        assert_eq!(state.datasets()["t"].dataset.residents().len(), 2);
        assert_eq!(state.datasets()["t"].dataset.version(), report[0].version);
        // A second reload while one runs is refused, not queued.
        let running = state.reloading.lock().unwrap();
        assert!(matches!(state.reload(), Err(ReloadError::Busy)));
        drop(running);
        assert!(state.reload().is_ok());
        // Two datasets of one name: refused, the old set stays.
        let twice = state.clone().with_loader({
            let d = dir.path().to_path_buf();
            move || Ok(vec![Dataset::load(&d).unwrap(), Dataset::load(&d).unwrap()])
        });
        match twice.reload() {
            Err(ReloadError::Failed(m)) => assert!(m.contains("two datasets"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(state.datasets().len(), 1);
    }
}
