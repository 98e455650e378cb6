//! The load: submitters sending pre-signed transfers in batches, the follower of finalized
//! heads, the sampler of the node's memory, and the ledger they share.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use jsonrpsee_core::client::{ClientT, SubscriptionClientT};
use jsonrpsee_core::params::BatchRequestBuilder;
use jsonrpsee_core::rpc_params;
use jsonrpsee_http_client::HttpClient;
use jsonrpsee_ws_client::{PingConfig, WsClientBuilder};
use serde_json::{Value, json};
use tao_types::Hash;

use super::node::{Rss, parse_rss};
use super::sign::Signed;
use super::{E2eArgs, lock};

/// Wait after a batch that met a busy answer (full pool or account), before retrying it.
const BACKOFF: Duration = Duration::from_millis(20);

/// How often the node's memory is sampled and the progress bar redrawn.
const SAMPLE_EVERY: Duration = Duration::from_millis(200);

/// `tx_submit` calls in one JSON-RPC batch: as many as the node's batch price allows.
fn batch_len() -> usize {
    usize::try_from(tao_node::rpc::MAX_BATCH_COST / tao_node::rpc::cost("tx_submit")).unwrap_or(1).max(1)
}

/// Transactions accepted and not yet finalized at most: below the mempool's capacity, because a
/// full pool displaces other senders' queued transactions (docs/rpc.md, Mempool) and a displaced
/// transaction would count as dropped.
fn max_outstanding() -> usize {
    tao_node::mempool::MAX_TXS - tao_node::mempool::MAX_TXS / 8
}

/// Load phases: submitting new transfers, then only retrying refused-as-busy ones, then stop.
const SUBMIT: u8 = 0;

pub(super) const DRAIN: u8 = 1;

pub(super) const STOP: u8 = 2;

/// What the submitters, the follower and the sampler share.
pub(super) struct Load {
    pub(super) txs: Vec<Signed>,
    pub(super) per_account: u64,
    pub(super) node_pid: u32,
    /// Where each transaction is, by hash (finalized blocks name them by hash).
    pub(super) index: BTreeMap<Hash, u32>,
    pub(super) start: Instant,
    pub(super) deadline: Duration,
    pub(super) rate: Option<u64>,
    pub(super) batch: usize,
    pub(super) phase: AtomicU8,
    pub(super) node_gone: AtomicBool,
    pub(super) ledger: Mutex<Ledger>,
}

/// Progress of every transaction, times since [`Load::start`].
#[derive(Default)]
pub(super) struct Ledger {
    /// Transactions refused as busy, to submit again first.
    pub(super) retry: VecDeque<u32>,
    /// Accounts' next transactions, each queued once its previous one was accepted (so an
    /// account never leaves a nonce gap, which a full pool would drop).
    pub(super) fresh: VecDeque<u32>,
    /// Each account's transactions accepted and not yet seen finalized.
    pub(super) pending: Vec<usize>,
    /// Each account's next transaction, held back while the account has as many pending as
    /// the mempool takes from one sender: a submission then would only be refused as busy,
    /// after the node spent a signature check on it.
    pub(super) parked: Vec<Option<u32>>,
    /// Fresh transactions taken so far (the offered rate's budget).
    pub(super) released: u64,
    pub(super) in_flight: usize,
    pub(super) accepted: u64,
    pub(super) finalized: u64,
    pub(super) failed: u64,
    pub(super) refused: u64,
    pub(super) first_refusal: Option<String>,
    pub(super) busy: u64,
    pub(super) transport_errors: u64,
    /// When the accepted submission of each transaction was sent.
    pub(super) submitted_at: Vec<Option<Duration>>,
    /// When the block holding each transaction was seen finalized.
    pub(super) finalized_at: Vec<Option<Duration>>,
    pub(super) blocks: Vec<BlockSeen>,
    pub(super) rss: Rss,
    /// The node's `VmRSS` in kB at the end of each tenth of the load and drain, to show
    /// whether it levels off.
    pub(super) rss_tenths: [u64; 10],
}

/// A finalized block: when it was seen and how many of the bench's transactions it held.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct BlockSeen {
    pub(super) at: Duration,
    pub(super) ours: u64,
}

impl Load {
    /// The load of `txs` (`per_account` per account, in account order), every account's nonce 0
    /// queued, timed from now.
    pub(super) fn new(args: &E2eArgs, txs: Vec<Signed>, per_account: u64, node_pid: u32) -> Arc<Load> {
        let index =
            txs.iter().enumerate().filter_map(|(i, t)| Some((t.hash, u32::try_from(i).ok()?))).collect();
        let fresh =
            (0..args.accounts).filter_map(|a| u32::try_from(u64::from(a) * per_account).ok()).collect();
        let ledger = Ledger {
            fresh,
            pending: vec![0; args.accounts as usize],
            parked: vec![None; args.accounts as usize],
            submitted_at: vec![None; txs.len()],
            finalized_at: vec![None; txs.len()],
            ..Ledger::default()
        };
        Arc::new(Load {
            txs,
            per_account,
            node_pid,
            index,
            start: Instant::now(),
            deadline: Duration::from_secs(args.seconds),
            rate: args.rate,
            batch: batch_len(),
            phase: AtomicU8::new(SUBMIT),
            node_gone: AtomicBool::new(false),
            ledger: Mutex::new(ledger),
        })
    }

    pub(super) fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// The next batch to send: busy ones first, then fresh ones within the offered rate and the
    /// outstanding bound. `None` when there is nothing to send now; empty when the load is over.
    fn take(&self) -> Option<Vec<u32>> {
        let phase = self.phase.load(Ordering::Relaxed);
        let mut ledger = lock(&self.ledger);
        if phase == STOP || (phase == DRAIN && ledger.retry.is_empty() && ledger.in_flight == 0) {
            return Some(Vec::new());
        }
        // An answer can arrive after its block: finalized may briefly exceed accepted.
        let unfinalized = ledger.accepted.saturating_sub(ledger.finalized);
        let outstanding = ledger.in_flight + usize::try_from(unfinalized).unwrap_or(usize::MAX);
        let room = self.batch.min(max_outstanding().saturating_sub(outstanding));
        let mut ids: Vec<u32> = Vec::with_capacity(room);
        while ids.len() < room {
            let Some(id) = ledger.retry.pop_front() else { break };
            ids.push(id);
        }
        let budget = match self.rate {
            _ if phase != SUBMIT => 0,
            Some(rate) => (rate * self.now().as_millis() as u64 / 1_000).saturating_sub(ledger.released),
            None => u64::MAX,
        };
        while ids.len() < room && budget > ids.len() as u64 {
            let Some(id) = ledger.fresh.pop_front() else { break };
            ledger.released += 1;
            ids.push(id);
        }
        ledger.in_flight += ids.len();
        (!ids.is_empty()).then_some(ids)
    }

    /// Puts a batch that never reached the node back in line.
    fn requeue(&self, ids: &[u32]) {
        let mut ledger = lock(&self.ledger);
        ledger.in_flight -= ids.len();
        ledger.transport_errors += 1;
        ledger.retry.extend(ids);
    }

    /// Records the node's answers to a batch sent at `sent`; true if any was busy.
    fn answered(&self, ids: &[u32], answers: Vec<Answer>, sent: Duration) -> bool {
        let mut ledger = lock(&self.ledger);
        ledger.in_flight -= ids.len();
        let mut busy = false;
        for (&id, answer) in ids.iter().zip(answers) {
            match answer {
                Answer::Accepted => {
                    ledger.submitted_at[id as usize] = Some(sent);
                    self.accepted(&mut ledger, id);
                }
                // A retried batch whose first answer was lost, after its block: accepted then.
                Answer::Used if ledger.finalized_at[id as usize].is_some() => self.accepted(&mut ledger, id),
                Answer::Busy => {
                    busy = true;
                    ledger.busy += 1;
                    ledger.retry.push_back(id);
                }
                Answer::Used => {
                    ledger.refused += 1;
                    ledger.first_refusal.get_or_insert_with(|| "nonce already used".into());
                }
                Answer::Refused(why) => {
                    ledger.refused += 1;
                    ledger.first_refusal.get_or_insert(why);
                }
            }
        }
        busy
    }

    /// Counts `id` as accepted and queues its account's next transaction, or parks it while the
    /// account is full.
    fn accepted(&self, ledger: &mut Ledger, id: u32) {
        ledger.accepted += 1;
        let account = self.account(id);
        // An answer that arrives after its block leaves nothing pending.
        if ledger.finalized_at[id as usize].is_none() {
            ledger.pending[account] += 1;
        }
        if u64::from(id + 1) % self.per_account != 0 {
            ledger.parked[account] = Some(id + 1);
        }
        Self::unpark(ledger, account);
    }

    /// Queues `account`'s parked transaction if the mempool has room for it.
    fn unpark(ledger: &mut Ledger, account: usize) {
        if ledger.pending[account] < tao_node::mempool::MAX_PER_ACCOUNT
            && let Some(next) = ledger.parked[account].take()
        {
            ledger.fresh.push_back(next);
        }
    }

    fn account(&self, id: u32) -> usize {
        usize::try_from(u64::from(id) / self.per_account).unwrap_or(usize::MAX)
    }

    /// Records a finalized block seen at `at` holding transactions `hashes` with `outcomes`.
    pub(super) fn finalized(&self, at: Duration, hashes: &[Value], outcomes: &[Value]) {
        let mut ledger = lock(&self.ledger);
        let mut ours = 0;
        for (i, hash) in hashes.iter().enumerate() {
            let Some(&id) =
                serde_json::from_value::<Hash>(hash.clone()).ok().and_then(|h| self.index.get(&h))
            else {
                continue;
            };
            ours += 1;
            ledger.finalized_at[id as usize] = Some(at);
            if ledger.submitted_at[id as usize].is_some() {
                let account = self.account(id);
                ledger.pending[account] = ledger.pending[account].saturating_sub(1);
                Self::unpark(&mut ledger, account);
            }
            if outcomes.get(i).map(|r| &r["outcome"]) != Some(&json!("Ok")) {
                ledger.failed += 1;
            }
        }
        ledger.finalized += ours;
        ledger.blocks.push(BlockSeen { at, ours });
    }
}

/// The node's answer to one `tx_submit`.
#[derive(Debug, PartialEq)]
pub(super) enum Answer {
    /// In the pool (or already there: a batch retried after a lost answer).
    Accepted,
    /// Not now: the pool, the account's room or its nonce window is full. Retried.
    Busy,
    /// Its nonce was used: fine only if the bench saw it finalized.
    Used,
    /// Refused for good (signature, balance): a bench bug.
    Refused(String),
}

impl Answer {
    /// Reads the node's refusal message (docs/rpc.md, Errors: code 1).
    fn of_error(code: i32, message: &str) -> Answer {
        const BUSY: [&str; 4] =
            ["pool is full", "pending transactions", "submit nonce", "ahead of the account"];
        if code == 1 && message.contains("already pending") {
            Answer::Accepted
        } else if code == 1 && message.contains("already used") {
            Answer::Used
        } else if code != 1 || BUSY.iter().any(|b| message.contains(b)) {
            Answer::Busy
        } else {
            Answer::Refused(message.to_string())
        }
    }
}

/// One submitter: sends batches of `tx_submit` until the load is over, one request in flight.
pub(super) async fn submit(http: HttpClient, load: Arc<Load>) -> Result<()> {
    loop {
        if load.node_gone.load(Ordering::Relaxed) {
            bail!("the node exited during the load");
        }
        let Some(ids) = load.take() else {
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        };
        if ids.is_empty() {
            return Ok(());
        }
        let mut batch = BatchRequestBuilder::new();
        for &id in &ids {
            batch.insert("tx_submit", rpc_params![&load.txs[id as usize].hex])?;
        }
        let sent = load.now();
        let busy = match http.batch_request::<Value>(batch).await {
            Ok(answers) => {
                let answers = answers
                    .into_iter()
                    .map(|a| a.map_or_else(|e| Answer::of_error(e.code(), e.message()), |_| Answer::Accepted))
                    .collect();
                load.answered(&ids, answers, sent)
            }
            Err(_) => {
                load.requeue(&ids);
                true
            }
        };
        if busy {
            tokio::time::sleep(BACKOFF).await;
        }
    }
}

/// Follows finalized heads over WebSocket; fetches each block once (`chain_block`) and records
/// which of the bench's transactions it finalized. Signals `subscribed` once heads flow.
pub(super) async fn follow(
    ws: String,
    http: HttpClient,
    load: Arc<Load>,
    subscribed: tokio::sync::oneshot::Sender<()>,
) -> Result<()> {
    let client = WsClientBuilder::default()
        .enable_ws_ping(PingConfig::new().ping_interval(Duration::from_secs(5)))
        .build(&ws)
        .await?;
    let mut heads = client
        .subscribe::<Value, _>(
            "chain_subscribeFinalizedHeads",
            rpc_params![],
            "chain_unsubscribeFinalizedHeads",
        )
        .await?;
    let _ = subscribed.send(());
    let mut next = None;
    while let Some(head) = heads.next().await {
        let seen = load.now();
        let height = head?["height"].as_u64().context("a head without a height")?;
        for h in next.unwrap_or(height)..=height {
            let block: Value = http.request("chain_block", rpc_params![h]).await?;
            let none = Vec::new();
            let hashes = block["transactions"].as_array().unwrap_or(&none);
            let receipts = block["receipts"].as_array().unwrap_or(&none);
            load.finalized(seen, hashes, receipts);
        }
        next = Some(height + 1);
    }
    bail!("the finalized-heads subscription ended")
}

/// Waits until `until` (since the load's start), failing early if the node or the follower died.
pub(super) async fn supervise(
    load: &Load,
    follower: &tokio::task::JoinHandle<Result<()>>,
    until: Duration,
) -> Result<()> {
    while load.now() < until {
        if load.node_gone.load(Ordering::Relaxed) {
            bail!("the node exited during the load");
        }
        if follower.is_finished() {
            bail!("following finalized heads stopped");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// After the load: waits for every accepted transaction to be finalized, or until none has been
/// for 20 block times (at least 10 s); those never finalized count as dropped.
pub(super) async fn drain(
    load: &Load,
    follower: &tokio::task::JoinHandle<Result<()>>,
    block_time_ms: u64,
) -> Result<()> {
    let patience = Duration::from_millis(block_time_ms.saturating_mul(20)).max(Duration::from_secs(10));
    let mut last = (lock(&load.ledger).finalized, load.now());
    loop {
        let (finalized, done) = {
            let ledger = lock(&load.ledger);
            (
                ledger.finalized,
                ledger.retry.is_empty() && ledger.in_flight == 0 && ledger.finalized >= ledger.accepted,
            )
        };
        if done {
            return Ok(());
        }
        if finalized != last.0 {
            last = (finalized, load.now());
        } else if load.now() - last.1 > patience {
            return Ok(());
        }
        supervise(load, follower, load.now() + Duration::from_millis(50)).await?;
    }
}

/// Samples the node's memory (and notices its death) and redraws the progress bar.
pub(super) async fn sample(load: Arc<Load>, pid: u32, progress: indicatif::ProgressBar) {
    let status = format!("/proc/{pid}/status");
    loop {
        match std::fs::read_to_string(&status).ok().and_then(|s| parse_rss(&s)) {
            Some(rss) => {
                let mut ledger = lock(&load.ledger);
                ledger.rss = Rss { peak_kb: ledger.rss.peak_kb.max(rss.peak_kb), last_kb: rss.last_kb };
                let tenth = load.now().as_millis() * 10 / load.deadline.as_millis().max(1);
                ledger.rss_tenths[usize::try_from(tenth).unwrap_or(9).min(9)] = rss.last_kb;
                progress.set_position(load.now().min(load.deadline).as_secs());
                progress.set_message(format!(
                    "accepted {} finalized {} busy {} rss {} MB",
                    ledger.accepted,
                    ledger.finalized,
                    ledger.busy,
                    rss.last_kb / 1_024
                ));
            }
            None => load.node_gone.store(true, Ordering::Relaxed),
        }
        tokio::time::sleep(SAMPLE_EVERY).await;
    }
}

pub(super) fn progress_bar(args: &E2eArgs) -> indicatif::ProgressBar {
    if args.json {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(args.seconds);
    let style = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} s {msg}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn busy_answers_are_retried_and_others_refused() {
        let busy = [
            "the pool is full; offer a fee limit of at least 5 rao",
            "the account already has 16 pending transactions",
            "nonce 3 leaves a gap after the account's next nonce 1 and the room for gapped transactions is full; submit nonce 1 first",
            "nonce 40 is more than 15 ahead of the account's next nonce 1",
        ];
        for message in busy {
            assert_eq!(Answer::of_error(1, message), Answer::Busy, "{message}");
        }
        assert_eq!(Answer::of_error(1, "already pending"), Answer::Accepted);
        assert_eq!(Answer::of_error(1, "nonce 0 already used; the account's next nonce is 1"), Answer::Used);
        assert_eq!(Answer::of_error(3, "the node is unavailable"), Answer::Busy);
        assert_eq!(Answer::of_error(1, "bad signature"), Answer::Refused("bad signature".into()));
    }
}
