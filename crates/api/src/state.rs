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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            min_group_size: bacino_core::DEFAULT_MIN_GROUP_SIZE,
            max_body_bytes: 256 * 1024,
        }
    }
}

/// A serialised response body with its entity tag.
#[derive(Debug)]
pub(crate) struct Cached {
    pub body: String,
    pub etag: String,
}

/// One dataset and the responses computed from it so far.
#[derive(Debug)]
pub(crate) struct Entry {
    pub dataset: Dataset,
    pub cache: Mutex<FxHashMap<String, Arc<Cached>>>,
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
