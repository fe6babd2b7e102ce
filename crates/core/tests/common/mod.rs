//! Helpers shared by the integration tests.

use bacino_core::Executor;

/// Runs every item on its own thread, so that chunks really are read and
/// parsed at the same time (each PostGIS chunk on its own connection); the
/// crate's own executor is sequential.
pub struct Threads;

impl Executor for Threads {
    fn map<T, R, F>(&self, items: Vec<T>, f: F) -> Vec<R>
    where
        T: Send,
        R: Send,
        F: Fn(T) -> R + Sync + Send,
    {
        let f = &f;
        std::thread::scope(|s| {
            let handles: Vec<_> = items
                .into_iter()
                .map(|item| s.spawn(move || f(item)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    }

    fn threads(&self) -> usize {
        4
    }
}
