//! Shared server state: the loaded datasets and their result caches.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bacino_core::Dataset;
use rustc_hash::FxHashMap;

/// Server settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Groups with fewer people are suppressed; requests cannot go lower.
    pub min_group_size: f64,
    /// Largest accepted request body, bytes.
    pub max_body_bytes: usize,
    /// Bearer tokens and their roles; empty: no access control.
    pub tokens: Vec<crate::auth::TokenRule>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            min_group_size: bacino_core::DEFAULT_MIN_GROUP_SIZE,
            max_body_bytes: 256 * 1024,
            tokens: Vec::new(),
        }
    }
}

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

/// A fast, stable-within-a-process hash for entity tags.
pub(crate) fn hash_of(value: &impl std::hash::Hash) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    value.hash(&mut h);
    h.finish()
}

/// A memo of results computed from one dataset, by key.
pub(crate) type Memo<T> = Mutex<FxHashMap<String, Arc<T>>>;

/// One dataset and the results computed from it so far: serialised
/// responses and feature layers for OGC API Features.
#[derive(Debug)]
pub(crate) struct Entry {
    pub dataset: Dataset,
    pub cache: Memo<Cached>,
    pub layers: Memo<crate::catalog::Layer>,
}

/// Everything the handlers share; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub(crate) datasets: Arc<BTreeMap<String, Arc<Entry>>>,
    pub(crate) config: Arc<Config>,
}

impl AppState {
    /// Builds the state; fails when two datasets share a name.
    pub fn new(datasets: Vec<Dataset>, config: Config) -> Result<Self, String> {
        let mut map = BTreeMap::new();
        for d in datasets {
            let name = d.name.clone();
            let entry = Entry {
                dataset: d,
                cache: Mutex::new(FxHashMap::default()),
                layers: Mutex::new(FxHashMap::default()),
            };
            if map.insert(name.clone(), Arc::new(entry)).is_some() {
                return Err(format!("two datasets are named `{name}`"));
            }
        }
        Ok(AppState {
            datasets: Arc::new(map),
            config: Arc::new(config),
        })
    }
}
