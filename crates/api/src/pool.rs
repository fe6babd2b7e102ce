//! The bounded pool heavy work runs in: a fixed number of threads and a
//! bounded queue in front of them. Beyond the queue a request is refused
//! at once with `503` and `Retry-After` instead of piling up; a request
//! whose client has gone away, or whose deadline has passed, is abandoned
//! — skipped while it waits, interrupted at the next checkpoint while it
//! runs (see [`bacino_core::Interrupt`]) — so no orphaned solve keeps the
//! cores busy. Cheap reads (liveness, cached answers, OGC pages of a
//! built layer) never enter the pool: they stay fast while it is full.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bacino_core::{Interrupt, Interrupted, Interruptible};

use crate::error::ApiError;

/// Sizes of the pool.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolConfig {
    /// Threads computing at once (default: the machine's cores).
    pub workers: usize,
    /// Requests that may wait for a thread; more are refused with 503.
    pub queue: usize,
    /// A request still unanswered after this long is abandoned (503).
    pub deadline: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            queue: DEFAULT_QUEUE,
            deadline: Duration::from_secs(DEFAULT_DEADLINE_S),
        }
    }
}

/// Default bound of the queue.
pub const DEFAULT_QUEUE: usize = 16;
/// Default per-request deadline, seconds (siting's longest time limit is 60 s).
pub const DEFAULT_DEADLINE_S: u64 = 120;

type Job = Box<dyn FnOnce() + Send>;

/// The pool's counters, as `/health` reports them.
#[derive(Debug, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
pub struct PoolStatus {
    /// Threads.
    pub workers: usize,
    /// Requests being computed.
    pub busy: usize,
    /// Requests waiting for a thread.
    pub queued: usize,
    /// Bound of the queue.
    pub queue: usize,
    /// Requests refused because the queue was full, since start.
    pub refused: u64,
    /// Requests abandoned (client gone or deadline passed), since start.
    pub abandoned: u64,
    /// Requests computed to the end, since start.
    pub completed: u64,
}

#[derive(Debug, Default)]
struct Counters {
    /// Admitted and not finished: waiting or running. Admission compares
    /// it with workers + queue, so the bound holds however fast the
    /// threads pick jobs up.
    admitted: AtomicUsize,
    busy: AtomicUsize,
    queued: AtomicUsize,
    refused: AtomicU64,
    abandoned: AtomicU64,
    completed: AtomicU64,
    /// Exponential moving average of the time a job takes, microseconds.
    mean_us: AtomicU64,
}

/// A bounded pool of threads for heavy work; cheap to share (`Arc`).
#[derive(Debug)]
pub struct Pool {
    sender: Mutex<Option<Sender<Job>>>,
    config: PoolConfig,
    counters: Arc<Counters>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

/// Raises the interrupt when the request's future is dropped (the client
/// went away, or the request finished — then it is harmless).
struct RaiseOnDrop(Interrupt);

impl Drop for RaiseOnDrop {
    fn drop(&mut self) {
        self.0.raise();
    }
}

enum Outcome<T> {
    Done(Result<T, ApiError>),
    Stopped,
}

impl Pool {
    /// Starts the threads.
    pub fn new(config: PoolConfig) -> Pool {
        let workers = config.workers.max(1);
        let config = PoolConfig { workers, ..config };
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let threads = (0..workers)
            .map(|i| {
                let rx = rx.clone();
                std::thread::Builder::new()
                    .name(format!("bacino-pool-{i}"))
                    .spawn(move || worker(&rx))
                    .expect("a pool thread starts")
            })
            .collect();
        Pool {
            sender: Mutex::new(Some(tx)),
            config,
            counters: Arc::new(Counters::default()),
            threads: Mutex::new(threads),
        }
    }

    /// The counters now.
    pub fn status(&self) -> PoolStatus {
        let c = &self.counters;
        PoolStatus {
            workers: self.config.workers,
            busy: c.busy.load(Ordering::Relaxed),
            queued: c.queued.load(Ordering::Relaxed),
            queue: self.config.queue,
            refused: c.refused.load(Ordering::Relaxed),
            abandoned: c.abandoned.load(Ordering::Relaxed),
            completed: c.completed.load(Ordering::Relaxed),
        }
    }

    /// A guess of when a slot frees up, whole seconds from 1 to 60: the
    /// mean job time times the jobs ahead per thread.
    fn retry_after_s(&self) -> u64 {
        let s = self.status();
        let mean_s = self.counters.mean_us.load(Ordering::Relaxed) as f64 / 1e6;
        let ahead = (s.busy + s.queued) as f64 / s.workers as f64;
        (mean_s * ahead).ceil().clamp(1.0, 60.0) as u64
    }

    /// Runs `work` on a pool thread with an executor that stops when the
    /// returned future is dropped or the deadline passes. Refused with
    /// [`ApiError::Busy`] when the queue is full; [`ApiError::Deadline`]
    /// when abandoned at the deadline; a panic is an internal error.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Interruptible) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let interrupt = Interrupt::with_deadline(Instant::now() + self.config.deadline);
        let guard = RaiseOnDrop(interrupt.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<Outcome<T>>();
        let counters = self.counters.clone();
        let job: Job = Box::new(move || {
            counters.queued.fetch_sub(1, Ordering::Relaxed);
            // Abandoned while it waited: do nothing.
            if interrupt.reason().is_some() {
                counters.abandoned.fetch_add(1, Ordering::Relaxed);
                counters.admitted.fetch_sub(1, Ordering::Relaxed);
                let _ = tx.send(Outcome::Stopped);
                return;
            }
            counters.busy.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let exec = Interruptible(interrupt);
            let out = match catch_unwind(AssertUnwindSafe(|| work(&exec))) {
                Ok(r) => {
                    counters.completed.fetch_add(1, Ordering::Relaxed);
                    Outcome::Done(r)
                }
                Err(payload) => match payload.downcast_ref::<Interrupted>() {
                    Some(_) => {
                        counters.abandoned.fetch_add(1, Ordering::Relaxed);
                        Outcome::Stopped
                    }
                    None => {
                        let what = payload
                            .downcast_ref::<&str>()
                            .map(|s| (*s).to_owned())
                            .or_else(|| payload.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "a panic".into());
                        Outcome::Done(Err(ApiError::Internal(what)))
                    }
                },
            };
            let took = started.elapsed().as_micros().min(u64::MAX as u128) as u64;
            let old = counters.mean_us.load(Ordering::Relaxed);
            let new = if old == 0 { took } else { (old * 7 + took) / 8 };
            counters.mean_us.store(new, Ordering::Relaxed);
            counters.busy.fetch_sub(1, Ordering::Relaxed);
            counters.admitted.fetch_sub(1, Ordering::Relaxed);
            let _ = tx.send(out);
        });
        let bound = self.config.workers + self.config.queue;
        let admitted = self
            .counters
            .admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < bound).then_some(n + 1)
            })
            .is_ok();
        if admitted {
            self.counters.queued.fetch_add(1, Ordering::Relaxed);
        }
        let sent = admitted
            && match self.sender.lock().expect("pool sender").as_ref() {
                Some(s) => s.send(job).is_ok(),
                None => false,
            };
        if !sent {
            if admitted {
                // The pool is shutting down.
                self.counters.queued.fetch_sub(1, Ordering::Relaxed);
                self.counters.admitted.fetch_sub(1, Ordering::Relaxed);
            }
            self.counters.refused.fetch_add(1, Ordering::Relaxed);
            let s = self.status();
            tracing::warn!(
                busy = s.busy,
                queued = s.queued,
                "heavy request refused: the pool is full"
            );
            return Err(ApiError::Busy {
                busy: s.busy,
                queued: s.queued,
                queue: s.queue,
                retry_after_s: self.retry_after_s(),
            });
        }
        // The client waits no longer than the deadline, even for a
        // computation that has not reached a checkpoint yet.
        let out = actix_rt::time::timeout(self.config.deadline, rx).await;
        drop(guard);
        match out {
            Ok(Ok(Outcome::Done(r))) => r,
            Ok(Ok(Outcome::Stopped)) | Err(_) => Err(ApiError::Deadline {
                deadline_s: self.config.deadline.as_secs_f64(),
                retry_after_s: self.retry_after_s(),
            }),
            Ok(Err(_)) => Err(ApiError::Internal("a pool thread stopped".into())),
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing the channel ends the threads once the queue is drained.
        self.sender.lock().map(|mut s| s.take()).ok();
        if let Ok(mut threads) = self.threads.lock() {
            for t in threads.drain(..) {
                let _ = t.join();
            }
        }
    }
}

fn worker(rx: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while taking a job, never while running it.
        let job = match rx.lock() {
            Ok(r) => r.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn pool(workers: usize, queue: usize, deadline_ms: u64) -> Arc<Pool> {
        Arc::new(Pool::new(PoolConfig {
            workers,
            queue,
            deadline: Duration::from_millis(deadline_ms),
        }))
    }

    /// A job that holds its thread until `release` is sent, then returns `v`.
    fn held(
        pool: &Arc<Pool>,
        v: u32,
    ) -> (
        mpsc::Sender<()>,
        actix_rt::task::JoinHandle<Result<u32, ApiError>>,
    ) {
        let (release, wait) = mpsc::channel::<()>();
        let p = pool.clone();
        let h = actix_rt::spawn(async move {
            p.run(move |_| {
                wait.recv().ok();
                Ok(v)
            })
            .await
        });
        (release, h)
    }

    async fn until(mut f: impl FnMut() -> bool) {
        for _ in 0..2000 {
            if f() {
                return;
            }
            actix_rt::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("condition not reached in 2 s");
    }

    #[actix_rt::test]
    async fn beyond_workers_and_queue_requests_are_refused_with_a_wait() {
        let p = pool(2, 3, 60_000);
        let mut held_jobs = Vec::new();
        for v in 0..5 {
            held_jobs.push(held(&p, v));
        }
        until(|| p.status().busy == 2 && p.status().queued == 3).await;
        // 2 running + 3 waiting: the sixth is refused at once.
        match p.run(|_| Ok(99)).await {
            Err(ApiError::Busy {
                busy: 2,
                queued: 3,
                queue: 3,
                retry_after_s,
            }) => assert!((1..=60).contains(&retry_after_s)),
            other => panic!("expected Busy, got {other:?}"),
        }
        assert_eq!(p.status().refused, 1);
        for (release, _) in &held_jobs {
            release.send(()).unwrap();
        }
        let mut got = Vec::new();
        for (_, h) in held_jobs {
            got.push(h.await.unwrap().unwrap());
        }
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
        // Room again.
        assert_eq!(p.run(|_| Ok(7)).await.unwrap(), 7);
        let s = p.status();
        assert_eq!((s.busy, s.queued, s.abandoned), (0, 0, 0));
    }

    #[actix_rt::test]
    async fn a_dropped_request_is_interrupted_and_one_that_waited_is_skipped() {
        let p = pool(1, 4, 60_000);
        // A long computation that polls its executor.
        let started = Arc::new(AtomicUsize::new(0));
        let rounds = Arc::new(AtomicUsize::new(0));
        let (s, r) = (started.clone(), rounds.clone());
        let p1 = p.clone();
        let long = actix_rt::spawn(async move {
            p1.run(move |exec| {
                s.fetch_add(1, Ordering::Relaxed);
                loop {
                    bacino_core::Executor::checkpoint(exec);
                    r.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(1));
                }
                #[allow(unreachable_code)]
                Ok(())
            })
            .await
        });
        // A second one waits behind it.
        let ran_second = Arc::new(AtomicUsize::new(0));
        let r2 = ran_second.clone();
        let p2 = p.clone();
        let waiting = actix_rt::spawn(async move {
            p2.run(move |_| {
                r2.fetch_add(1, Ordering::Relaxed);
                Ok(())
            })
            .await
        });
        until(|| rounds.load(Ordering::Relaxed) > 5 && p.status().queued == 1).await;
        // Both clients go away.
        waiting.abort();
        long.abort();
        until(|| p.status().busy == 0 && p.status().queued == 0).await;
        assert_eq!(started.load(Ordering::Relaxed), 1);
        assert_eq!(ran_second.load(Ordering::Relaxed), 0, "skipped, not run");
        assert_eq!(p.status().abandoned, 2);
        let at_stop = rounds.load(Ordering::Relaxed);
        actix_rt::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(rounds.load(Ordering::Relaxed), at_stop, "nothing runs on");
        // The thread is free for the next request.
        assert_eq!(p.run(|_| Ok(1)).await.unwrap(), 1);
    }

    #[actix_rt::test]
    async fn past_its_deadline_a_request_gets_503_and_a_panic_gets_500() {
        let p = pool(1, 2, 50);
        let got = p
            .run(|exec| -> Result<(), ApiError> {
                loop {
                    bacino_core::Executor::checkpoint(exec);
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
            .await;
        match got {
            Err(e @ ApiError::Deadline { .. }) => {
                assert_eq!(actix_web::ResponseError::status_code(&e), 503);
                let resp = actix_web::ResponseError::error_response(&e);
                assert!(resp.headers().contains_key("retry-after"));
            }
            other => panic!("expected Deadline, got {other:?}"),
        }
        let p = pool(1, 2, 60_000);
        let got = p.run(|_| -> Result<(), ApiError> { panic!("a bug") }).await;
        assert!(
            matches!(got, Err(ApiError::Internal(ref m)) if m == "a bug"),
            "{got:?}"
        );
        // Still serving.
        assert_eq!(p.run(|_| Ok(3)).await.unwrap(), 3);
    }
}
