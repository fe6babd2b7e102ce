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

    /// `(a(), b())`, possibly at the same time: one piece of serial work
    /// beside another that may itself [`map`](Executor::map) in parallel.
    fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        (a(), b())
    }

    /// `n` copies of `value`, written by the executor's threads: most of
    /// the cost of filling a large column is the first touch of its
    /// memory, which then happens on every thread.
    fn filled<T: Clone + Send + Sync>(&self, n: usize, value: T) -> Vec<T> {
        vec![value; n]
    }

    /// How many threads the executor runs items on: how many workers to
    /// start for work that hands items out itself.
    fn threads(&self) -> usize {
        1
    }

    /// A point where long work may be abandoned: a no-op unless the
    /// executor carries an [`Interrupt`] that has been raised, in which
    /// case it unwinds with [`Interrupted`]. Loops that run long without
    /// going through [`Executor::map`] call it once per round.
    fn checkpoint(&self) {}

    /// The interrupt this executor obeys, for solvers that poll it
    /// themselves (searches with their own clock).
    fn interrupt(&self) -> Option<&Interrupt> {
        None
    }
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

/// Asks long work to stop: raised by another thread (a client gone away),
/// or by a deadline passing. Work notices it at [`Executor::checkpoint`]s,
/// which unwind with [`Interrupted`] — the way salsa (rust-analyzer)
/// cancels queries — so that no pure function needs a cancellation
/// branch in its result type. Whoever runs interruptible work catches the
/// unwind (`std::panic::catch_unwind`) and reports why it stopped.
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    flag: std::sync::Arc<std::sync::atomic::AtomicBool>,
    deadline: Option<std::time::Instant>,
}

/// The unwind payload of an interrupted computation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupted {
    /// [`Interrupt::raise`] was called.
    Raised,
    /// The deadline passed.
    Deadline,
}

impl Interrupt {
    /// Never raised, no deadline.
    pub fn new() -> Interrupt {
        Interrupt::default()
    }

    /// Raised by itself once `deadline` has passed.
    pub fn with_deadline(deadline: std::time::Instant) -> Interrupt {
        Interrupt {
            flag: Default::default(),
            deadline: Some(deadline),
        }
    }

    /// Asks the work to stop (from any thread).
    pub fn raise(&self) {
        self.flag.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Why the work should stop, if it should.
    pub fn reason(&self) -> Option<Interrupted> {
        if self.flag.load(std::sync::atomic::Ordering::Relaxed) {
            Some(Interrupted::Raised)
        } else if self
            .deadline
            .is_some_and(|d| std::time::Instant::now() >= d)
        {
            Some(Interrupted::Deadline)
        } else {
            None
        }
    }

    /// Unwinds with [`Interrupted`] when the work should stop.
    pub fn check(&self) {
        if let Some(why) = self.reason() {
            std::panic::resume_unwind(Box::new(why));
        }
    }
}

/// Runs items in order on the calling thread, like [`Sequential`], and
/// stops (unwinding with [`Interrupted`]) at the first item or
/// checkpoint after its interrupt is raised.
#[derive(Debug, Clone, Default)]
pub struct Interruptible(pub Interrupt);

impl Executor for Interruptible {
    fn map<T, R, F>(&self, items: Vec<T>, f: F) -> Vec<R>
    where
        T: Send,
        R: Send,
        F: Fn(T) -> R + Sync + Send,
    {
        items
            .into_iter()
            .map(|x| {
                self.0.check();
                f(x)
            })
            .collect()
    }

    fn checkpoint(&self) {
        self.0.check();
    }

    fn interrupt(&self) -> Option<&Interrupt> {
        Some(&self.0)
    }
}

/// Splits `0..n` into ranges of about `chunk` items.
pub fn chunk_ranges(n: usize, chunk: usize) -> Vec<std::ops::Range<usize>> {
    let chunk = chunk.max(1);
    (0..n.div_ceil(chunk))
        .map(|i| i * chunk..((i + 1) * chunk).min(n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    fn payload(r: std::thread::Result<Vec<usize>>) -> Option<Interrupted> {
        r.err()
            .and_then(|e| e.downcast_ref::<Interrupted>().copied())
    }

    #[test]
    fn an_unraised_interrupt_runs_everything_in_order() {
        let exec = Interruptible(Interrupt::new());
        assert_eq!(exec.map((0..5).collect(), |x| x * 2), vec![0, 2, 4, 6, 8]);
        exec.checkpoint();
        assert_eq!(exec.0.reason(), None);
    }

    #[test]
    fn raising_stops_before_the_next_item_and_unwinds_with_the_reason() {
        let exec = Interruptible(Interrupt::new());
        let done = AtomicUsize::new(0);
        let got = catch_unwind(AssertUnwindSafe(|| {
            exec.map((0..100).collect(), |x: usize| {
                done.fetch_add(1, Ordering::Relaxed);
                if x == 6 {
                    exec.0.raise();
                }
                x
            })
        }));
        assert_eq!(payload(got), Some(Interrupted::Raised));
        assert_eq!(done.load(Ordering::Relaxed), 7, "items 0..=6 ran, no more");
        // A clone shares the flag: the raiser need not be the runner.
        let other = Interruptible(Interrupt::new());
        let handle = other.0.clone();
        handle.raise();
        assert_eq!(
            payload(catch_unwind(AssertUnwindSafe(|| {
                other.checkpoint();
                vec![]
            }))),
            Some(Interrupted::Raised)
        );
    }

    #[test]
    fn a_passed_deadline_interrupts_by_itself() {
        let i = Interrupt::with_deadline(Instant::now() + Duration::from_millis(30));
        assert_eq!(i.reason(), None);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(i.reason(), Some(Interrupted::Deadline));
        let exec = Interruptible(i);
        let got = catch_unwind(AssertUnwindSafe(|| exec.map(vec![1usize], |x| x)));
        assert_eq!(payload(got), Some(Interrupted::Deadline));
        // Sequential has no interrupt: checkpoints do nothing.
        Sequential.checkpoint();
        assert!(Sequential.interrupt().is_none());
    }
}
