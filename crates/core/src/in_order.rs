//! Work done in parallel and committed in order: the executor's threads
//! each take the next item, work on it alone, then wait for the items
//! before it to be committed and commit theirs.
//!
//! This is how rows whose number is only known once they are made go,
//! in order, into one output (the pairs of an accessibility kernel, chunk
//! of residents after chunk): each thread makes its item's rows in
//! buffers of its own, reused from item to item, and copies them into the
//! output when its turn comes. The output's memory is written once, and
//! no item's buffers are freshly allocated: on a machine where a fresh
//! page costs more than a micro-second, building every chunk in new
//! memory and then concatenating doubled the pages touched.
//!
//! No item waits for one that is not being worked on: items are taken in
//! order, so the earliest one not committed is held by a thread that waits
//! for nothing. A thread that stops (a commit asking to, or a panic) stops
//! the others, none left waiting.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::exec::Executor;

/// What a commit says of the rest of the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// Go on with the next items.
    Continue,
    /// Stop: no item after this one is committed (nor, if possible,
    /// worked on).
    Stop,
}

struct Turn<S> {
    /// The item whose commit is next.
    next: usize,
    state: S,
}

struct Shared<S> {
    items: usize,
    taken: AtomicUsize,
    stopped: AtomicBool,
    turn: Mutex<Turn<S>>,
    changed: Condvar,
}

impl<S> Shared<S> {
    fn lock(&self) -> MutexGuard<'_, Turn<S>> {
        // A panicking thread stops the work before its guard is dropped
        // (see `StopOnUnwind`), so a poisoned lock's state is only read to
        // learn that.
        self.turn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let _guard = self.lock();
        self.changed.notify_all();
    }
}

/// Stops the work if the thread unwinds while it holds an item, so that no
/// other thread waits for that item's commit.
struct StopOnUnwind<'a, S>(&'a Shared<S>);

impl<S> Drop for StopOnUnwind<'_, S> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

/// Runs `work` on the items `0..items` on the executor's threads, each
/// thread with a buffer of its own made by `buffer`, and `commit`s their
/// results to `state` in the items' order. Returns the state once every
/// item is committed or a commit said [`Then::Stop`].
///
/// `work` and `commit` must not wait on the executor (no nested
/// [`Executor::map`]): a thread waiting for its turn may hold a pool's
/// thread.
pub fn in_order<E, S, B, W>(
    exec: &E,
    items: usize,
    state: S,
    buffer: impl Fn() -> B + Sync + Send,
    work: impl Fn(&mut B, usize) -> W + Sync + Send,
    commit: impl Fn(&mut S, &mut B, usize, W) -> Then + Sync + Send,
) -> S
where
    E: Executor,
    S: Send,
{
    let shared = Shared {
        items,
        taken: AtomicUsize::new(0),
        stopped: AtomicBool::new(false),
        turn: Mutex::new(Turn { next: 0, state }),
        changed: Condvar::new(),
    };
    let threads = exec.threads().clamp(1, items.max(1));
    exec.map((0..threads).collect(), |_| {
        let guard = StopOnUnwind(&shared);
        let mut buf = buffer();
        loop {
            exec.checkpoint();
            if shared.stopped.load(Ordering::SeqCst) {
                break;
            }
            let k = shared.taken.fetch_add(1, Ordering::SeqCst);
            if k >= shared.items {
                break;
            }
            let out = work(&mut buf, k);
            let mut turn = shared.lock();
            while turn.next != k && !shared.stopped.load(Ordering::SeqCst) {
                turn = shared.changed.wait(turn).unwrap_or_else(|p| p.into_inner());
            }
            if shared.stopped.load(Ordering::SeqCst) {
                break;
            }
            let then = commit(&mut turn.state, &mut buf, k, out);
            turn.next += 1;
            if then == Then::Stop {
                shared.stopped.store(true, Ordering::SeqCst);
            }
            shared.changed.notify_all();
        }
        drop(guard);
    });
    let turn = shared.turn.into_inner().unwrap_or_else(|p| p.into_inner());
    turn.state
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::Sequential;

    /// Every item on a thread of its own, `n` threads.
    struct Threads(usize);

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
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            })
        }

        fn threads(&self) -> usize {
            self.0
        }
    }

    /// Work that takes longer for some items than others, so that later
    /// items often finish first.
    fn uneven(k: usize) -> usize {
        let spin = (k * 7919) % 13 * 2000;
        (0..spin).fold(k, |a, i| std::hint::black_box(a ^ i)) ^ (0..spin).fold(0, |a, i| a ^ i)
    }

    #[test]
    fn items_are_committed_in_order_whatever_the_threads() {
        for threads in [1, 2, 3, 8] {
            let exec = Threads(threads);
            let got = in_order(
                &exec,
                200,
                Vec::new(),
                || 0usize,
                |worked: &mut usize, k| {
                    *worked += 1;
                    uneven(k)
                },
                |seen: &mut Vec<usize>, _, _, out| {
                    seen.push(out);
                    Then::Continue
                },
            );
            assert_eq!(got, (0..200).collect::<Vec<_>>(), "{threads} threads");
        }
        let got = in_order(
            &Sequential,
            5,
            Vec::new(),
            || (),
            |_, k| k,
            |s: &mut Vec<usize>, _, _, k| {
                s.push(k);
                Then::Continue
            },
        );
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
        let none = in_order(&Threads(4), 0, 7, || (), |_, k| k, |_, _, _, _| Then::Stop);
        assert_eq!(none, 7);
    }

    #[test]
    fn a_stop_commits_nothing_after_it() {
        for threads in [1, 2, 5] {
            let got = in_order(
                &Threads(threads),
                100,
                Vec::new(),
                || (),
                |_, k| uneven(k),
                |seen: &mut Vec<usize>, _, k, _| {
                    seen.push(k);
                    if k == 37 {
                        Then::Stop
                    } else {
                        Then::Continue
                    }
                },
            );
            assert_eq!(got, (0..=37).collect::<Vec<_>>(), "{threads} threads");
        }
    }

    #[test]
    fn a_panicking_item_leaves_no_thread_waiting() {
        // Item 3 panics while later ones wait for it; the run ends and
        // the panic reaches the caller.
        for threads in [2, 4] {
            let run = std::panic::catch_unwind(|| {
                in_order(
                    &Threads(threads),
                    50,
                    0usize,
                    || (),
                    |_, k| {
                        if k == 3 {
                            std::thread::sleep(std::time::Duration::from_millis(50));
                            panic!("item 3");
                        }
                        k
                    },
                    |n: &mut usize, _, _, _| {
                        *n += 1;
                        Then::Continue
                    },
                )
            });
            assert!(run.is_err(), "{threads} threads");
        }
    }
}
