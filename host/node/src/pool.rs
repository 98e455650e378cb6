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
use std::sync::{Arc, Mutex};

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

/// `workers` threads running jobs from a queue of at most `queued` waiting jobs; more are
/// refused with [`PoolError::Busy`] when submitted. The threads end when the last clone is
/// dropped.
#[derive(Debug, Clone)]
pub struct WorkerPool {
    queue: SyncSender<Job>,
    queued: usize,
}

impl WorkerPool {
    /// A pool of `workers` threads (at least one) with room for `queued` waiting jobs (at least
    /// one). Fails only if the system cannot start a thread.
    pub fn new(workers: usize, queued: usize) -> std::io::Result<Self> {
        let queued = queued.max(1);
        let (queue, jobs) = std::sync::mpsc::sync_channel::<Job>(queued);
        let jobs = Arc::new(Mutex::new(jobs));
        for index in 0..workers.max(1) {
            let jobs = jobs.clone();
            std::thread::Builder::new().name(format!("tao-verify-{index}")).spawn(move || work(&jobs))?;
        }
        Ok(WorkerPool { queue, queued })
    }

    /// One worker per core of this machine, [`MAX_QUEUED`] waiting jobs.
    pub fn per_core() -> std::io::Result<Self> {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self::new(cores, MAX_QUEUED)
    }

    /// Queues `job` now, or refuses it now when the queue is full; the future answers its result.
    /// A job whose caller stopped waiting is skipped when its turn comes.
    pub fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = Result<T, PoolError>> + Send + 'static {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let wrapped: Job = Box::new(move || {
            if !answer.is_closed() {
                // Nobody waiting any more is fine.
                let _ = answer.send(catch_unwind(AssertUnwindSafe(job)).ok());
            }
        });
        let queued = match self.queue.try_send(wrapped) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(PoolError::Busy(self.queued)),
            Err(TrySendError::Disconnected(_)) => Err(PoolError::Failed),
        };
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
    use std::sync::Barrier;
    use std::time::Duration;

    /// Jobs run on several workers at once: two jobs that each wait for the other finish.
    #[tokio::test(flavor = "current_thread")]
    async fn jobs_run_in_parallel_on_the_workers() {
        let pool = WorkerPool::new(2, 8).unwrap();
        let meet = Arc::new(Barrier::new(2));
        let job = |meet: Arc<Barrier>| move || meet.wait().is_leader();
        let both = async { tokio::join!(pool.run(job(meet.clone())), pool.run(job(meet.clone()))) };
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
        let first = pool.run(move || {
            started.send(()).unwrap();
            blocked.recv().is_ok()
        });
        running.recv().unwrap();
        let (a, b) = (pool.run(|| 7), pool.run(|| 8));
        assert_eq!(pool.run(|| 9).await, Err(PoolError::Busy(2)), "two wait behind the running one");
        release.send(()).unwrap();
        assert_eq!(first.await, Ok(true));
        assert_eq!((a.await, b.await), (Ok(7), Ok(8)));
        assert_eq!(pool.run(|| 10).await, Ok(10));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_panicking_job_fails_alone() {
        let pool = WorkerPool::new(1, 1).unwrap();
        #[allow(clippy::panic, reason = "the failure under test")]
        let failed = pool.run(|| -> u8 { panic!("job") }).await;
        assert_eq!(failed, Err(PoolError::Failed));
        assert_eq!(pool.run(|| 1).await, Ok(1), "its worker goes on");
    }
}
