//! What a run measured: the window, the percentiles and the report.

use std::time::Duration;

use super::load::{BlockSeen, Ledger, Load};
use super::node::Cpu;
use super::sign::Ceiling;
use super::{E2eArgs, block_capacity, lock};

/// The measured window: from the first block seen after the warm-up to the last block seen
/// before the load ended; the rate is the transactions of the blocks after the first, over the
/// time between the two. With fewer than two such blocks, the whole run: every finalized
/// transaction over the time to the last block holding one. Returns (transactions, seconds,
/// blocks in the window).
fn window(blocks: &[BlockSeen], warmup: Duration, end: Duration) -> (u64, Duration, usize) {
    let inside: Vec<&BlockSeen> = blocks.iter().filter(|b| b.at >= warmup && b.at <= end).collect();
    if let [first, .., last] = inside.as_slice() {
        let txs = inside[1..].iter().map(|b| b.ours).sum();
        return (txs, last.at - first.at, inside.len() - 1);
    }
    let holding: Vec<&BlockSeen> = blocks.iter().filter(|b| b.ours > 0).collect();
    let elapsed = holding.last().map_or(Duration::ZERO, |b| b.at);
    (holding.iter().map(|b| b.ours).sum(), elapsed, holding.len())
}

/// The `p`th percentile (nearest rank) of sorted `values`.
fn percentile(sorted: &[Duration], p: u64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() as u64 * p).div_ceil(100).max(1);
    sorted[usize::try_from(rank - 1).unwrap_or(0).min(sorted.len() - 1)]
}

/// What `tao bench e2e` reports (`--json` prints it as one object).
#[derive(serde::Serialize)]
pub(super) struct Report {
    /// Finalized transfers per second over the measured window.
    finalized_tps: f64,
    /// All cores verifying k256 signatures (`verify_prehash`), per second.
    verify_ceiling_tps: f64,
    ratio: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// The node's peak resident memory (`VmHWM`).
    rss_mb: f64,
    /// Its resident memory at the last sample (`VmRSS`).
    rss_last_mb: f64,
    /// Its `VmRSS` at the end of each tenth of the load (the last also covers the drain).
    rss_tenths_mb: Vec<f64>,
    presigned: u64,
    submitted: u64,
    finalized: u64,
    failed: u64,
    dropped: u64,
    refused: u64,
    first_refusal: Option<String>,
    unsent: u64,
    busy_retries: u64,
    transport_errors: u64,
    blocks: u64,
    mean_txs_per_block: f64,
    window_s: f64,
    window_blocks: usize,
    /// Mean time between the window's blocks: the block time, or the time to produce one when
    /// the node cannot keep up.
    block_interval_ms: f64,
    /// `BLOCK_TXS` per block time: what the blocks could hold.
    block_capacity_tps: u64,
    warmup_s: f64,
    node_cpu_cores: f64,
    bench_cpu_cores: f64,
    verify_threads: usize,
    /// The node's process id (gone when the bench returns).
    node_pid: u32,
    seconds: u64,
    accounts: u32,
    concurrency: u16,
    rate: Option<u64>,
    block_time_ms: u64,
}

impl Report {
    pub(super) fn new(args: &E2eArgs, load: &Load, ceiling: &Ceiling, cpu: &Cpu) -> Report {
        let ledger = lock(&load.ledger);
        let warmup =
            (Duration::from_millis(args.block_time * 2).max(load.deadline / 10)).min(load.deadline / 2);
        let (window_txs, window_time, window_blocks) = window(&ledger.blocks, warmup, load.deadline);
        let finalized_tps = window_txs as f64 / window_time.as_secs_f64().max(f64::EPSILON);
        let latencies = latencies(&ledger, warmup, load.deadline);
        let holding: Vec<usize> =
            ledger.blocks.iter().enumerate().filter(|(_, b)| b.ours > 0).map(|(i, _)| i).collect();
        let blocks = match (holding.first(), holding.last()) {
            (Some(first), Some(last)) => (last - first + 1) as u64,
            _ => 0,
        };
        let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
        let mb = |kb: u64| kb as f64 / 1_024.0;
        Report {
            finalized_tps,
            verify_ceiling_tps: ceiling.tps(),
            ratio: finalized_tps / ceiling.tps().max(f64::EPSILON),
            p50_ms: ms(percentile(&latencies, 50)),
            p99_ms: ms(percentile(&latencies, 99)),
            rss_mb: mb(ledger.rss.peak_kb),
            rss_last_mb: mb(ledger.rss.last_kb),
            rss_tenths_mb: ledger.rss_tenths.iter().map(|kb| mb(*kb)).collect(),
            presigned: load.txs.len() as u64,
            submitted: ledger.accepted,
            finalized: ledger.finalized,
            failed: ledger.failed,
            dropped: ledger.accepted.saturating_sub(ledger.finalized),
            refused: ledger.refused,
            first_refusal: ledger.first_refusal.clone(),
            unsent: ledger.retry.len() as u64,
            busy_retries: ledger.busy,
            transport_errors: ledger.transport_errors,
            blocks,
            mean_txs_per_block: ledger.finalized as f64 / (blocks.max(1) as f64),
            window_s: window_time.as_secs_f64(),
            window_blocks,
            block_interval_ms: ms(window_time) / (window_blocks.max(1) as f64),
            block_capacity_tps: block_capacity(args),
            warmup_s: warmup.as_secs_f64(),
            node_cpu_cores: cpu.node,
            bench_cpu_cores: cpu.bench,
            verify_threads: ceiling.threads,
            node_pid: load.node_pid,
            seconds: args.seconds,
            accounts: args.accounts,
            concurrency: args.concurrency,
            rate: args.rate,
            block_time_ms: args.block_time,
        }
    }

    pub(super) fn table(&self) -> String {
        let rows = [
            (
                "finalized tx/s",
                format!(
                    "{:.0} (window {:.1} s, {} blocks; blocks hold at most {}/s)",
                    self.finalized_tps, self.window_s, self.window_blocks, self.block_capacity_tps
                ),
            ),
            (
                "verify ceiling",
                format!("{:.0} verifies/s ({} threads)", self.verify_ceiling_tps, self.verify_threads),
            ),
            ("ratio", format!("{:.3}", self.ratio)),
            ("latency p50 / p99", format!("{:.0} / {:.0} ms", self.p50_ms, self.p99_ms)),
            ("node RSS peak / last", format!("{:.1} / {:.1} MB", self.rss_mb, self.rss_last_mb)),
            (
                "node RSS by tenth of the load",
                self.rss_tenths_mb.iter().map(|mb| format!("{mb:.0}")).collect::<Vec<_>>().join(" "),
            ),
            ("CPU node / bench", format!("{:.2} / {:.2} cores", self.node_cpu_cores, self.bench_cpu_cores)),
            (
                "submitted / finalized",
                format!("{} / {} of {} pre-signed", self.submitted, self.finalized, self.presigned),
            ),
            ("failed / dropped / refused", format!("{} / {} / {}", self.failed, self.dropped, self.refused)),
            ("busy retries / transport errors", format!("{} / {}", self.busy_retries, self.transport_errors)),
            ("blocks / mean txs", format!("{} / {:.1}", self.blocks, self.mean_txs_per_block)),
            (
                "block interval",
                format!("{:.0} ms (block time {} ms)", self.block_interval_ms, self.block_time_ms),
            ),
        ];
        rows.iter().map(|(name, value)| format!("{name:<32} {value}\n")).collect()
    }
}

/// Submit→finalized times of the transactions submitted inside the measured window (all of them
/// if none was), sorted.
fn latencies(ledger: &Ledger, warmup: Duration, end: Duration) -> Vec<Duration> {
    let pairs = || {
        ledger
            .submitted_at
            .iter()
            .zip(&ledger.finalized_at)
            .filter_map(|(s, f)| Some((s.as_ref()?, f.as_ref()?)))
    };
    let mut inside: Vec<Duration> =
        pairs().filter(|(s, _)| **s >= warmup && **s <= end).map(|(s, f)| f.saturating_sub(*s)).collect();
    if inside.is_empty() {
        inside = pairs().map(|(s, f)| f.saturating_sub(*s)).collect();
    }
    inside.sort();
    inside
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn at(ms: u64, ours: u64) -> BlockSeen {
        BlockSeen { at: Duration::from_millis(ms), ours }
    }

    #[test]
    fn the_window_counts_blocks_after_its_first_and_before_the_load_ended() {
        let blocks = [at(500, 10), at(1_000, 20), at(1_500, 30), at(2_000, 40), at(2_500, 50)];
        // Blocks at 1.0 s, 1.5 s, 2.0 s are inside; the first only marks the start.
        assert_eq!(
            window(&blocks, Duration::from_millis(800), Duration::from_secs(2)),
            (70, Duration::from_secs(1), 2)
        );
        // Fewer than two blocks inside: the whole run up to the last block holding ours.
        let few = [at(500, 10), at(3_000, 5), at(3_500, 0)];
        assert_eq!(
            window(&few, Duration::from_secs(1), Duration::from_secs(2)),
            (15, Duration::from_secs(3), 2)
        );
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let sorted: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&sorted, 50), Duration::from_millis(50));
        assert_eq!(percentile(&sorted, 99), Duration::from_millis(99));
        assert_eq!(percentile(&sorted[..1], 99), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50), Duration::ZERO);
    }
}
