//! The result cache: every dataset's computed answers (JSON bodies, OGC
//! layers) in one budget of **bytes**, least recently used first out.
//!
//! Parameters are open-ended (any column, any threshold, any bands), so
//! the number of distinct answers is not bounded; their memory is. An
//! answer larger than the whole budget is computed and served but not
//! kept.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

/// What an answer costs in the cache, in bytes (its heap data, roughly).
pub(crate) trait Weigh {
    fn weight(&self) -> usize;
}

/// Bookkeeping per entry beyond its value: key, map slot, order entry.
const OVERHEAD: usize = 128;

struct Slot {
    value: Arc<dyn Any + Send + Sync>,
    bytes: usize,
    tick: u64,
}

#[derive(Default)]
struct Lru {
    map: FxHashMap<String, Slot>,
    /// Last use → key, oldest first.
    order: BTreeMap<u64, String>,
    tick: u64,
    bytes: usize,
}

/// A byte-bounded LRU map from keys to shared values of any type.
pub(crate) struct ResultCache {
    capacity: usize,
    inner: Mutex<Lru>,
}

impl std::fmt::Debug for ResultCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (len, bytes) = self.usage();
        f.debug_struct("ResultCache")
            .field("capacity", &self.capacity)
            .field("len", &len)
            .field("bytes", &bytes)
            .finish()
    }
}

impl ResultCache {
    /// An empty cache of `capacity` bytes.
    pub fn new(capacity: usize) -> ResultCache {
        ResultCache {
            capacity,
            inner: Mutex::new(Lru::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value under `key`, marked as just used; `None` when absent (or
    /// of another type).
    pub fn get<T: Any + Send + Sync>(&self, key: &str) -> Option<Arc<T>> {
        let mut lru = self.lock();
        lru.tick += 1;
        let now = lru.tick;
        let slot = lru.map.get_mut(key)?;
        let value = slot.value.clone().downcast::<T>().ok()?;
        let old = std::mem::replace(&mut slot.tick, now);
        let k = lru.order.remove(&old).expect("every slot is in the order");
        lru.order.insert(now, k);
        Some(value)
    }

    /// Keeps `value` under `key`, evicting the least recently used entries
    /// until the budget holds it. Returns false (keeping nothing) when it
    /// alone exceeds the budget.
    pub fn insert<T: Any + Send + Sync + Weigh>(&self, key: String, value: Arc<T>) -> bool {
        let bytes = value.weight() + key.len() + OVERHEAD;
        if bytes > self.capacity {
            return false;
        }
        let mut lru = self.lock();
        if let Some(old) = lru.map.remove(&key) {
            lru.order.remove(&old.tick);
            lru.bytes -= old.bytes;
        }
        while lru.bytes + bytes > self.capacity {
            let (_, k) = lru.order.pop_first().expect("bytes > 0 means entries");
            let gone = lru.map.remove(&k).expect("every ordered key is mapped");
            lru.bytes -= gone.bytes;
        }
        lru.tick += 1;
        let tick = lru.tick;
        lru.order.insert(tick, key.clone());
        lru.map.insert(key, Slot { value, bytes, tick });
        lru.bytes += bytes;
        true
    }

    /// Entries and bytes held.
    pub fn usage(&self) -> (usize, usize) {
        let lru = self.lock();
        (lru.map.len(), lru.bytes)
    }

    /// The budget in bytes.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Blob(usize);

    impl Weigh for Blob {
        fn weight(&self) -> usize {
            self.0
        }
    }

    #[test]
    fn the_least_recently_used_goes_first_and_bytes_stay_within_budget() {
        // Room for three entries of 1,000 bytes with keys "a".."z".
        let per = 1000 + 1 + OVERHEAD;
        let c = ResultCache::new(3 * per + per / 2);
        for k in ["a", "b", "c"] {
            assert!(c.insert(k.into(), Arc::new(Blob(1000))));
        }
        assert_eq!(c.usage(), (3, 3 * per));
        // Using `a` makes `b` the oldest: the next insert evicts `b`.
        assert!(c.get::<Blob>("a").is_some());
        assert!(c.insert("d".into(), Arc::new(Blob(1000))));
        assert!(c.get::<Blob>("b").is_none());
        for k in ["a", "c", "d"] {
            assert!(c.get::<Blob>(k).is_some(), "{k}");
        }
        // A big entry evicts as many as it needs (the oldest: `a`, `c`).
        assert!(c.insert("e".into(), Arc::new(Blob(2000))));
        assert_eq!(c.usage().0, 2);
        assert!(c.get::<Blob>("d").is_some() && c.get::<Blob>("e").is_some());
        assert!(c.usage().1 <= c.capacity());
        // Larger than the whole budget: not kept, nothing evicted.
        assert!(!c.insert("f".into(), Arc::new(Blob(10 * per))));
        assert_eq!(c.usage().0, 2);
        // Replacing a key replaces its bytes.
        assert!(c.insert("d".into(), Arc::new(Blob(10))));
        assert_eq!(c.usage(), (2, (10 + 1 + OVERHEAD) + (2000 + 1 + OVERHEAD)));
        // Another type under the same key is a miss, not a panic.
        assert!(c.get::<String>("d").is_none());
    }

    #[test]
    fn a_long_random_sequence_keeps_the_accounting_exact() {
        use std::collections::VecDeque;
        let c = ResultCache::new(20_000);
        // A model of the same policy: a queue, most recent at the back.
        let mut model: VecDeque<(String, usize)> = VecDeque::new();
        let mut x: u64 = 7;
        for _ in 0..5000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let key = format!("k{}", (x >> 33) % 40);
            if (x >> 20) % 3 == 0 {
                let hit = c.get::<Blob>(&key).is_some();
                let pos = model.iter().position(|(k, _)| *k == key);
                assert_eq!(hit, pos.is_some());
                if let Some(p) = pos {
                    let e = model.remove(p).unwrap();
                    model.push_back(e);
                }
            } else {
                let w = ((x >> 40) % 3000) as usize;
                let bytes = w + key.len() + OVERHEAD;
                c.insert(key.clone(), Arc::new(Blob(w)));
                if let Some(p) = model.iter().position(|(k, _)| *k == key) {
                    model.remove(p);
                }
                while model.iter().map(|e| e.1).sum::<usize>() + bytes > 20_000 {
                    model.pop_front();
                }
                model.push_back((key, bytes));
            }
            let (len, bytes) = c.usage();
            assert_eq!(len, model.len());
            assert_eq!(bytes, model.iter().map(|e| e.1).sum::<usize>());
            assert!(bytes <= 20_000);
        }
    }
}
