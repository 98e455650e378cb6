//! The bounded worker pool that checks submitted transactions' signatures off the RPC's async
//! threads, on every core.
//!
//! Why tokio's blocking threads behind two semaphores, not a rayon pool: a job is awaited by an
//! async RPC handler, which `spawn_blocking` hands its result back to with no bridge; a full
//! queue must be refused at once, which a counting semaphore's `try_acquire` gives and rayon's
//! unbounded queue does not; and block validation's rayon pool stays the block pipeline's, so a
//! flood of submissions waits behind its own bound, never in front of a block.

use std::sync::Arc;

use tokio::sync::Semaphore;

/// Most jobs queued or running at once: about 45 ms of signature checks on two cores (86 µs
/// each, BENCHMARKS.md "Signatures"), four full batches; each job belongs to a call in flight.
pub const MAX_QUEUED: usize = 1024;

/// Why a job did not run to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// [`MAX_QUEUED`] (or the pool's own bound) jobs are already queued or running.
    #[error("the node is busy checking {0} transactions; retry shortly")]
    Busy(usize),
    /// The job panicked.
    #[error("the job failed")]
    Failed,
}

/// Runs blocking jobs on at most `workers` threads at once, with at most `queued` jobs waiting
/// or running; more are refused with [`PoolError::Busy`] without waiting.
#[derive(Debug, Clone)]
pub struct WorkerPool {
    queue: Arc<Semaphore>,
    workers: Arc<Semaphore>,
    queued: usize,
}

impl WorkerPool {
    /// A pool of `workers` threads (at least one) holding at most `queued` jobs (at least one).
    pub fn new(workers: usize, queued: usize) -> Self {
        let queued = queued.max(1);
        WorkerPool {
            queue: Arc::new(Semaphore::new(queued)),
            workers: Arc::new(Semaphore::new(workers.max(1))),
            queued,
        }
    }

    /// One worker per core of this machine, [`MAX_QUEUED`] jobs.
    pub fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self::new(cores, MAX_QUEUED)
    }

    /// Runs `job` on a worker when one is free; refused at once when the queue is full. A caller
    /// that stops waiting frees its place in the queue (a running job finishes first).
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let place = self.queue.clone().try_acquire_owned().map_err(|_| PoolError::Busy(self.queued))?;
        let worker = self.workers.clone().acquire_owned().await.map_err(|_| PoolError::Failed)?;
        let task = tokio::task::spawn_blocking(move || {
            let _held = (place, worker);
            job()
        });
        task.await.map_err(|_| PoolError::Failed)
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
        let pool = WorkerPool::new(2, 8);
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
        let pool = WorkerPool::new(1, 2);
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let running = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(move || blocked.recv().is_ok()).await }
        });
        let queued = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(|| 7).await }
        });
        // Both hold their places once their tasks have started.
        while pool.queue.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(pool.run(|| 8).await, Err(PoolError::Busy(2)));
        release.send(()).unwrap();
        assert_eq!(running.await.unwrap(), Ok(true));
        assert_eq!(queued.await.unwrap(), Ok(7));
        assert_eq!(pool.run(|| 9).await, Ok(9));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_panicking_job_fails_alone() {
        let pool = WorkerPool::new(1, 1);
        #[allow(clippy::panic, reason = "the failure under test")]
        let failed = pool.run(|| -> u8 { panic!("job") }).await;
        assert_eq!(failed, Err(PoolError::Failed));
        assert_eq!(pool.run(|| 1).await, Ok(1), "its place and worker are free again");
    }
}
