//! How independent pieces of work are run: in order here, in parallel by
//! `bacino-batch`. Keeping the strategy a parameter keeps this crate free of
//! thread pools.

/// Runs a function over a list of inputs, returning outputs in input order.
pub trait Executor: Sync {
    /// `items.map(f)`, possibly in parallel; output order = input order.
    fn map<T, R, F>(&self, items: Vec<T>, f: F) -> Vec<R>
    where
        T: Send,
        R: Send,
        F: Fn(T) -> R + Sync + Send;
}

/// Runs everything on the calling thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sequential;

impl Executor for Sequential {
    fn map<T, R, F>(&self, items: Vec<T>, f: F) -> Vec<R>
    where
        T: Send,
        R: Send,
        F: Fn(T) -> R + Sync + Send,
    {
        items.into_iter().map(f).collect()
    }
}

/// Splits `0..n` into ranges of about `chunk` items.
pub fn chunk_ranges(n: usize, chunk: usize) -> Vec<std::ops::Range<usize>> {
    let chunk = chunk.max(1);
    (0..n.div_ceil(chunk))
        .map(|i| i * chunk..((i + 1) * chunk).min(n))
        .collect()
}
