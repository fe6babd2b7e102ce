//! # bacino-batch
//!
//! Parallel runners for bacino on rayon: the [`Parallel`] executor that
//! `bacino-core` uses to parse and measure millions of residents on every
//! core, and [`run_batch`], which runs a file of GP-cessation scenarios
//! (see the [`scenarios`] module for the formats).
//!
//! ```
//! use bacino_batch::Parallel;
//! use bacino_core::Executor;
//! let squares = Parallel.map((0..4u64).collect(), |x| x * x);
//! assert_eq!(squares, vec![0, 1, 4, 9]);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod scenarios;
pub mod shard;

pub use scenarios::{
    catchments_after, parse_scenarios, random_draws, reassignments_csv, run_batch, BatchIndex,
    BatchOptions, Error, IndexEntry, ParsedLine, RandomCease, Result, ScenarioSpec,
};
pub use shard::{index_part_name, merge_index_parts, PartInfo};

use bacino_core::Executor;
use rayon::prelude::*;

/// Runs of items per thread that [`Parallel`]'s `map` cuts its items
/// into, at least.
const RUNS_PER_THREAD: usize = 64;

/// Runs work on rayon's global thread pool (all cores unless
/// `RAYON_NUM_THREADS` or [`configure_threads`] says otherwise).
#[derive(Debug, Clone, Copy, Default)]
pub struct Parallel;

impl Executor for Parallel {
    fn map<T, R, F>(&self, items: Vec<T>, f: F) -> Vec<R>
    where
        T: Send,
        R: Send,
        F: Fn(T) -> R + Sync + Send,
    {
        // At least RUNS_PER_THREAD runs of items per thread. Left to
        // itself, rayon hands each of two threads a run of a quarter of
        // the items, which the other cannot take a part of once it is
        // started: a thread then waits while the other finishes its run
        // (0.3 s of a national load went so). Short runs keep both busy to
        // the end.
        let runs = rayon::current_num_threads() * RUNS_PER_THREAD;
        let longest = items.len().div_ceil(runs).max(1);
        items.into_par_iter().with_max_len(longest).map(f).collect()
    }

    fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        // This thread runs `a`; another takes `b` (and, once `a` is done,
        // this one helps with what `b` maps).
        rayon::join(a, b)
    }

    fn filled<T: Clone + Send + Sync>(&self, n: usize, value: T) -> Vec<T> {
        rayon::iter::repeat_n(value, n).collect()
    }

    fn threads(&self) -> usize {
        rayon::current_num_threads()
    }
}

/// Sets the size of rayon's global pool; call once, before any parallel work.
pub fn configure_threads(threads: usize) -> Result<(), rayon::ThreadPoolBuildError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_returns_both_results_while_the_second_maps_in_parallel() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("a pool");
        let items: Vec<u64> = (0..10_000).collect();
        let want: Vec<u64> = items.iter().map(|x| x * x).collect();
        let (a, b) = pool.install(|| {
            Parallel.join(
                || (1..=100u64).sum::<u64>(),
                || Parallel.map(items.clone(), |x| x * x),
            )
        });
        assert_eq!((a, b), (5050, want.clone()));
        // Outside any pool too.
        let (a, b) = Parallel.join(|| "facilities", || Parallel.map(items, |x| x * x));
        assert_eq!((a, b), ("facilities", want));
    }

    #[test]
    fn map_keeps_the_order_of_any_number_of_items() {
        // Around the run lengths' boundaries (runs of one item, of two,
        // and long ones) and on a pool of three threads too.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .expect("a pool");
        for n in [0usize, 1, 2, 127, 128, 129, 255, 256, 257, 10_000, 100_003] {
            let want: Vec<u64> = (0..n as u64).map(|x| x * 3 + 1).collect();
            let items: Vec<u64> = (0..n as u64).collect();
            assert_eq!(Parallel.map(items.clone(), |x| x * 3 + 1), want, "{n}");
            let got = pool.install(|| Parallel.map(items, |x| x * 3 + 1));
            assert_eq!(got, want, "{n} on three threads");
        }
    }
}
