//! Shared server state: the loaded datasets and their result caches.

use std::collections::BTreeMap;
use std::sync::Arc;

use bacino_core::Dataset;

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
        let etag = format!("\"{:016x}\"", hash_of(&body));
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

/// A fast, stable-within-a-process hash for entity tags.
pub(crate) fn hash_of(value: &impl std::hash::Hash) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    value.hash(&mut h);
    h.finish()
}

/// One dataset, and the result cache it shares with the others
/// (serialised responses, feature layers for OGC API Features).
#[derive(Debug)]
pub(crate) struct Entry {
    pub dataset: Dataset,
    pub cache: Arc<ResultCache>,
    /// Where heavy work runs (one pool for the whole server).
    pub pool: Arc<Pool>,
}

/// Everything the handlers share; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub(crate) datasets: Arc<BTreeMap<String, Arc<Entry>>>,
    pub(crate) config: Arc<Config>,
    pub(crate) pool: Arc<Pool>,
}

impl AppState {
    /// Builds the state; fails when two datasets share a name.
    pub fn new(datasets: Vec<Dataset>, config: Config) -> Result<Self, String> {
        let mut map = BTreeMap::new();
        let cache = Arc::new(ResultCache::new(config.result_cache_bytes));
        let pool = Arc::new(Pool::new(config.pool));
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
        Ok(AppState {
            datasets: Arc::new(map),
            config: Arc::new(config),
            pool,
        })
    }
}
