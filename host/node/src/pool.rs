//! The bounded worker pool that checks submitted transactions' signatures off the RPC's async
//! threads, on every core.
//!
//! Why threads of its own pulling from one bounded queue, not tokio's blocking threads or a rayon
//! pool: a worker takes its next job as soon as it finishes one, with no round trip through the
//! async runtime between jobs (each check is only ~86 µs); a full queue is refused at once by
//! `try_send`, where rayon's queue is unbounded; and block validation's rayon pool stays the
//! block pipeline's, so a flood of submissions waits behind its own bound, never in front of a
//! block. The answer goes back to the awaiting RPC call over a oneshot channel.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

/// Most jobs waiting for a worker: about 45 ms of signature checks on two cores (86 µs each,
/// BENCHMARKS.md "Signatures"), four full batches; each job belongs to a call in flight.
pub const MAX_QUEUED: usize = 1024;

/// Why a job did not run to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// This many jobs ([`MAX_QUEUED`] on a node) already wait for a worker.
    #[error("the node is busy: {0} transactions wait for their signature check; retry shortly")]
    Busy(usize),
    /// The job panicked.
    #[error("the job failed")]
    Failed,
}

type Job = Box<dyn FnOnce() + Send>;

/// The sending end and the ticket of the next job, taken together so tickets follow queue order.
#[derive(Debug)]
struct Queue {
    sender: SyncSender<Job>,
    next: u64,
}

/// The ticket whose second step may run now.
#[derive(Debug, Default)]
struct Turnstile {
    next: Mutex<u64>,
    moved: Condvar,
}

impl Turnstile {
    /// Waits for `ticket`'s turn, runs `step`, and lets the next ticket go.
    fn in_turn<T>(&self, ticket: u64, step: impl FnOnce() -> T) -> T {
        let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        while *next != ticket {
            next = self.moved.wait(next).unwrap_or_else(PoisonError::into_inner);
        }
        let out = step();
        *next = next.wrapping_add(1);
        drop(next);
        self.moved.notify_all();
        out
    }
}

/// `workers` threads running jobs from a queue of at most `queued` waiting jobs; more are
/// refused with [`PoolError::Busy`] when submitted. A job has two steps: the first runs on any
/// worker, in parallel with others; the second runs one job at a time, in the order jobs were
/// queued (so a batch's transactions of one sender enter the mempool in nonce order, as when
/// they were checked one by one). The threads end when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct WorkerPool {
    queue: Arc<Mutex<Queue>>,
    turnstile: Arc<Turnstile>,
    queued: usize,
}

impl WorkerPool {
    /// A pool of `workers` threads (at least one) with room for `queued` waiting jobs (at least
    /// one). Fails only if the system cannot start a thread.
    pub fn new(workers: usize, queued: usize) -> std::io::Result<Self> {
        let queued = queued.max(1);
        let (sender, jobs) = std::sync::mpsc::sync_channel::<Job>(queued);
        let jobs = Arc::new(Mutex::new(jobs));
        for index in 0..workers.max(1) {
            let jobs = jobs.clone();
            std::thread::Builder::new().name(format!("tao-verify-{index}")).spawn(move || work(&jobs))?;
        }
        let queue = Arc::new(Mutex::new(Queue { sender, next: 0 }));
        Ok(WorkerPool { queue, turnstile: Arc::default(), queued })
    }

    /// One worker per core of this machine, [`MAX_QUEUED`] waiting jobs.
    pub fn per_core() -> std::io::Result<Self> {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self::new(cores, MAX_QUEUED)
    }

    /// Queues the job `parallel` then `in_order` now, or refuses it now when the queue is full;
    /// the future answers its result. A job whose caller stopped waiting is skipped (it still
    /// takes its turn).
    pub fn run<A, T: Send + 'static>(
        &self,
        parallel: impl FnOnce() -> A + Send + 'static,
        in_order: impl FnOnce(A) -> T + Send + 'static,
    ) -> impl Future<Output = Result<T, PoolError>> + Send + 'static {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let turnstile = self.turnstile.clone();
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let ticket = queue.next;
        let job: Job = Box::new(move || {
            let first =
                (!answer.is_closed()).then(|| catch_unwind(AssertUnwindSafe(parallel)).ok()).flatten();
            let out = turnstile
                .in_turn(ticket, || first.and_then(|a| catch_unwind(AssertUnwindSafe(|| in_order(a))).ok()));
            // Nobody waiting any more is fine.
            let _ = answer.send(out);
        });
        let queued = match queue.sender.try_send(job) {
            Ok(()) => {
                queue.next = ticket.wrapping_add(1);
                Ok(())
            }
            Err(TrySendError::Full(_)) => Err(PoolError::Busy(self.queued)),
            Err(TrySendError::Disconnected(_)) => Err(PoolError::Failed),
        };
        drop(queue);
        async move {
            queued?;
            answered.await.ok().flatten().ok_or(PoolError::Failed)
        }
    }
}

/// A worker: runs jobs until every sender is gone.
fn work(jobs: &Mutex<Receiver<Job>>) {
    loop {
        let next = match jobs.lock() {
            Ok(jobs) => jobs.recv(),
            Err(_) => return,
        };
        let Ok(job) = next else { return };
        job();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use std::convert::identity as id;
    use std::sync::Barrier;
    use std::time::Duration;

    /// The second steps run in queue order, whichever first step ends first: the first job's
    /// first step waits until every later job's has run.
    #[tokio::test(flavor = "current_thread")]
    async fn second_steps_run_in_queue_order() {
        let pool = WorkerPool::new(4, 16).unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let (done, later_done) = std::sync::mpsc::channel::<()>();
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let record = |i: u8| {
            let order = order.clone();
            move |()| order.lock().unwrap().push(i)
        };
        let first = pool.run(move || blocked.recv().unwrap(), record(0));
        let later: Vec<_> = (1..4)
            .map(|i| {
                let done = done.clone();
                pool.run(move || done.send(()).unwrap(), record(i))
            })
            .collect();
        for _ in 1..4 {
            later_done.recv().unwrap();
        }
        release.send(()).unwrap();
        first.await.unwrap();
        for job in later {
            job.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3]);
    }

    /// Jobs run on several workers at once: two jobs that each wait for the other finish.
    #[tokio::test(flavor = "current_thread")]
    async fn jobs_run_in_parallel_on_the_workers() {
        let pool = WorkerPool::new(2, 8).unwrap();
        let meet = Arc::new(Barrier::new(2));
        let job = |meet: Arc<Barrier>| move || meet.wait().is_leader();
        let both = async { tokio::join!(pool.run(job(meet.clone()), id), pool.run(job(meet.clone()), id)) };
        let (a, b) =
            tokio::time::timeout(Duration::from_secs(30), both).await.expect("both jobs ran at once");
        assert!(a.unwrap() ^ b.unwrap(), "one leader");
    }

    /// A full queue refuses at once and takes jobs again once it drains.
    #[tokio::test(flavor = "current_thread")]
    async fn a_full_queue_answers_busy_at_once() {
        let pool = WorkerPool::new(1, 2).unwrap();
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let (started, running) = std::sync::mpsc::channel::<()>();
        let first = pool.run(
            move || {
                started.send(()).unwrap();
                blocked.recv().is_ok()
            },
            id,
        );
        running.recv().unwrap();
        let (a, b) = (pool.run(|| 7, id), pool.run(|| 8, id));
        assert_eq!(pool.run(|| 9, id).await, Err(PoolError::Busy(2)), "two wait behind the running one");
        release.send(()).unwrap();
        assert_eq!(first.await, Ok(true));
        assert_eq!((a.await, b.await), (Ok(7), Ok(8)));
        assert_eq!(pool.run(|| 10, id).await, Ok(10));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_panicking_job_fails_alone() {
        let pool = WorkerPool::new(1, 1).unwrap();
        #[allow(clippy::panic, reason = "the failure under test")]
        let failed = pool.run(|| -> u8 { panic!("job") }, id).await;
        assert_eq!(failed, Err(PoolError::Failed));
        assert_eq!(pool.run(|| 1, id).await, Ok(1), "its worker goes on");
        #[allow(clippy::panic, reason = "the failure under test")]
        let failed = pool.run(|| 2, |_| -> u8 { panic!("second step") }).await;
        assert_eq!(failed, Err(PoolError::Failed));
        assert_eq!(pool.run(|| 3, id).await, Ok(3), "the turn passed on");
    }
}
