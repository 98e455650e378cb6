//! `tao bench e2e`: the node measured from the outside, as a user meets it. It starts a real node
//! (this binary as `tao node --chain`, with redb and RPC in a temporary directory) on the dev
//! chain plus funded bench accounts, pre-signs transfers, submits them over JSON-RPC with bounded
//! concurrency, follows finalized heads, and reports finalized tx/s, submit→finalized latency and
//! the node's memory against the raw all-core k256 verify rate measured in the same run.
#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark times the node with the clock; nothing here is consensus code"
)]
#![allow(clippy::float_arithmetic, reason = "benchmark figures (rates, milliseconds, megabytes)")]

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Barrier, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use jsonrpsee_core::client::{ClientT, SubscriptionClientT};
use jsonrpsee_core::params::BatchRequestBuilder;
use jsonrpsee_core::rpc_params;
use jsonrpsee_http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee_ws_client::{PingConfig, WsClientBuilder};
use k256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use serde_json::{Value, json};
use tao_chain::Header;
use tao_crypto::{ChainDomain, SecretKey};
use tao_node::spec::{ChainSpec, dev_key};
use tao_tx::{Call, Transaction};
use tao_types::{Hash, RAO_PER_TAO, keccak256};

use crate::client::unhex;

/// Most bench accounts: their genesis balances stay far below the token's supply cap.
const MAX_ACCOUNTS: i64 = 10_000;
/// Each bench account's genesis balance: fees of every transfer it can be asked to send.
const BENCH_BALANCE: u64 = 100 * RAO_PER_TAO;
/// Rao moved by each transfer (above the existential deposit; every recipient is funded).
const TRANSFER_RAO: u64 = 1_000;
/// Fee limit of each transfer: ample for a transfer, small against the per-sender pending-fee check.
const FEE_LIMIT: u64 = RAO_PER_TAO / 1_000;
/// Most transactions pre-signed (about 440 bytes each held in memory).
const MAX_PRESIGNED: u64 = 500_000;
/// Distinct signatures each verify-ceiling thread cycles through.
const CEILING_SIGNATURES: usize = 256;
/// How long each verify-ceiling thread verifies.
const CEILING_TIME: Duration = Duration::from_secs(1);
/// Wait after a batch that met a busy answer (full pool or account), before retrying it.
const BACKOFF: Duration = Duration::from_millis(20);
/// How often the node's memory is sampled and the progress bar redrawn.
const SAMPLE_EVERY: Duration = Duration::from_millis(200);
/// Lines of the node's stderr kept to explain its death.
const STDERR_LINES: usize = 20;

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

#[derive(Subcommand)]
pub(crate) enum BenchCommand {
    /// A real node under a transfer load: finalized tx/s, latency, memory, and the raw
    /// all-core k256 verify rate as the ceiling (docs/cli.md, "Benchmarks").
    E2e(E2eArgs),
}

#[derive(Args)]
pub(crate) struct E2eArgs {
    /// Seconds of load; the measured window is inside it (after a warm-up).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    seconds: u64,
    /// Funded sender accounts; each sends its own nonces in order, so senders do not wait on
    /// one another.
    #[arg(long, default_value_t = 1_024, value_parser = clap::value_parser!(u32).range(2..=MAX_ACCOUNTS))]
    accounts: u32,
    /// JSON-RPC requests in flight, each a batch of `tx_submit` calls.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    concurrency: u16,
    /// Offered load in transactions per second (default: as fast as the node accepts them).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    rate: Option<u64>,
    /// The node's block time in milliseconds.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    block_time: u64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(command: BenchCommand) -> Result<ExitCode> {
    match command {
        BenchCommand::E2e(args) => e2e(&args),
    }
}

fn e2e(args: &E2eArgs) -> Result<ExitCode> {
    let say = |what: &str| {
        if !args.json {
            eprintln!("{what}");
        }
    };
    let keys: Vec<SecretKey> = (0..args.accounts).map(bench_key).collect();
    say(&format!("starting a node with {} funded bench accounts", keys.len()));
    let mut node = NodeProcess::start(&bench_spec(&keys), args.block_time)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let report = runtime.block_on(async {
        tokio::select! {
            report = measure(args, &keys, &node, &say) => report,
            _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
        }
    });
    drop(runtime);
    let report = report.map_err(|e| node.explain(e))?;
    drop(node);
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report.table());
    }
    Ok(ExitCode::SUCCESS)
}

/// Bench account `i`: the dev key named `bench-i` (keccak256("wasmtensor/dev/bench-i")),
/// public like every dev key.
fn bench_key(i: u32) -> SecretKey {
    dev_key(&format!("bench-{i}"))
}

/// The dev chain (its modules, accounts, subnet and validator) with every bench account funded.
fn bench_spec(keys: &[SecretKey]) -> ChainSpec {
    let mut spec = ChainSpec::dev(crate::node::DEV_GENESIS_MS);
    spec.balances.extend(keys.iter().map(|k| (k.address(), BENCH_BALANCE)));
    spec
}

/// The node under test: a child `tao node`, killed (and its data directory removed) when this
/// is dropped, whatever ended the bench.
struct NodeProcess {
    child: Child,
    rpc: String,
    stderr: Arc<Mutex<VecDeque<String>>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl NodeProcess {
    /// Writes `spec`, starts the node on it and waits until it serves RPC.
    fn start(spec: &ChainSpec, block_time_ms: u64) -> Result<NodeProcess> {
        let dir = tempfile::tempdir()?;
        let spec_path = dir.path().join("spec.json");
        std::fs::write(&spec_path, serde_json::to_vec(spec)?)?;
        let mut child = Command::new(std::env::current_exe()?)
            .arg("node")
            .arg("--chain")
            .arg(&spec_path)
            .arg("--base-path")
            .arg(dir.path().join("data"))
            .args(["--rpc-addr", "127.0.0.1:0", "--json", "--block-time"])
            .arg(format!("{block_time_ms}ms"))
            .env("TAO_VALIDATOR_KEY", hex::encode(dev_key("validator").to_bytes()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting `tao node`")?;
        let stderr = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_LINES)));
        let (stdout, errors) = (child.stdout.take(), child.stderr.take());
        let stderr_reader = errors.map(|errors| {
            let tail = stderr.clone();
            std::thread::spawn(move || keep_tail(errors, &tail))
        });
        let mut node = NodeProcess { child, rpc: String::new(), stderr, stderr_reader, _dir: dir };
        let mut lines = BufReader::new(stdout.context("the node's stdout")?).lines();
        node.rpc = loop {
            let Some(line) = lines.next().transpose()? else {
                let _ = node.child.wait();
                return Err(node.explain(anyhow!("the node exited before serving RPC")));
            };
            let event: Value = serde_json::from_str(&line).unwrap_or_default();
            if event["event"] == "started" {
                break event["rpc"].as_str().context("the node's RPC address")?.to_string();
            }
        };
        // Keep reading its block log, so the node never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(node)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `error` with the last lines the node wrote to stderr.
    fn explain(&mut self, error: anyhow::Error) -> anyhow::Error {
        // Once the node has exited its stderr is complete: read it to the end first.
        if matches!(self.child.try_wait(), Ok(Some(_)))
            && let Some(reader) = self.stderr_reader.take()
        {
            let _ = reader.join();
        }
        let tail: Vec<String> = lock(&self.stderr).iter().cloned().collect();
        if tail.is_empty() { error } else { error.context(format!("the node said:\n{}", tail.join("\n"))) }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Keeps the last [`STDERR_LINES`] lines of `from`.
fn keep_tail(from: impl std::io::Read, tail: &Mutex<VecDeque<String>>) {
    for line in BufReader::new(from).lines().map_while(Result::ok) {
        let mut tail = lock(tail);
        if tail.len() == STDERR_LINES {
            tail.pop_front();
        }
        tail.push_back(line);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The whole measurement against a started node.
async fn measure(
    args: &E2eArgs,
    keys: &[SecretKey],
    node: &NodeProcess,
    say: &dyn Fn(&str),
) -> Result<Report> {
    let http = HttpClientBuilder::default().request_timeout(Duration::from_secs(30)).build(&node.rpc)?;
    let (domain, token) = chain_of(&http).await?;
    say("measuring the raw all-core k256 verify rate (node idle)");
    let ceiling = tokio::task::spawn_blocking(verify_ceiling).await??;
    let per_account = plan(args, ceiling.tps());
    say(&format!(
        "pre-signing {} transfers ({per_account} per account)",
        per_account * u64::from(args.accounts)
    ));
    let txs = {
        let keys = keys.to_vec();
        tokio::task::spawn_blocking(move || presign(&keys, &domain, token, per_account)).await?
    };
    let load = Load::new(args, txs, per_account, node.pid());
    let ws = node.rpc.replacen("http://", "ws://", 1);
    let (subscribed, ready) = tokio::sync::oneshot::channel();
    let follower = tokio::spawn(follow(ws, http.clone(), load.clone(), subscribed));
    if ready.await.is_err() {
        // The follower ended before subscribing: its error says why.
        follower.await??;
        bail!("the finalized-heads subscription failed");
    }
    say(&format!("submitting for {} s", args.seconds));
    let progress = progress_bar(args);
    let node_pid = load.node_pid;
    let cpu_before = (cpu_ticks(node_pid), cpu_ticks(std::process::id()));
    let sampler = tokio::spawn(sample(load.clone(), node_pid, progress.clone()));
    let workers: Vec<_> =
        (0..args.concurrency).map(|_| tokio::spawn(submit(http.clone(), load.clone()))).collect();
    supervise(&load, &follower, load.deadline).await?;
    let cpu = Cpu::since(cpu_before, (cpu_ticks(node_pid), cpu_ticks(std::process::id())), load.start);
    load.phase.store(DRAIN, Ordering::Relaxed);
    drain(&load, &follower, args.block_time).await?;
    load.phase.store(STOP, Ordering::Relaxed);
    for worker in workers {
        worker.await??;
    }
    follower.abort();
    sampler.abort();
    progress.finish_and_clear();
    Ok(Report::new(args, &load, &ceiling, &cpu))
}

/// The chain's signing domain from its genesis header (chain id and hash as that header
/// commits them) and the token module's code hash.
async fn chain_of(http: &HttpClient) -> Result<(ChainDomain, Hash)> {
    let got: Value = http.request("chain_header", rpc_params![0]).await?;
    let genesis: Header = tao_codec::decode(&unhex(&got["header"]["encoded"])?, tao_light::MAX_HEADER_BYTES)?;
    if genesis.height != 0 {
        bail!("asked for the genesis header, got height {}", genesis.height);
    }
    let domain = ChainDomain { chain_id: genesis.chain_id, genesis_hash: genesis.hash() };
    let modules: Value = http.request("module_list", rpc_params![]).await?;
    let token = modules
        .as_array()
        .and_then(|m| m.iter().find(|m| m["name"] == "token"))
        .context("the node lists no token module")?;
    Ok((domain, serde_json::from_value(token["code_hash"].clone())?))
}

/// Verifications done by all threads, and the longest thread's time.
struct Ceiling {
    verifies: u64,
    elapsed: Duration,
    threads: usize,
}

impl Ceiling {
    fn tps(&self) -> f64 {
        self.verifies as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// The raw k256 `verify_prehash` rate of every core: one thread per core, each verifying its
/// own pre-made distinct signatures for [`CEILING_TIME`], all starting together.
fn verify_ceiling() -> Result<Ceiling> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let start = Barrier::new(threads);
    let results: Vec<Result<(u64, Duration)>> = std::thread::scope(|scope| {
        let start = &start;
        let handles: Vec<_> = (0..threads).map(|t| scope.spawn(move || verify_for(t, start))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow!("a verify thread panicked"))))
            .collect()
    });
    let mut ceiling = Ceiling { verifies: 0, elapsed: Duration::ZERO, threads };
    for result in results {
        let (verifies, elapsed) = result?;
        ceiling.verifies += verifies;
        ceiling.elapsed = ceiling.elapsed.max(elapsed);
    }
    Ok(ceiling)
}

/// One ceiling thread: signs [`CEILING_SIGNATURES`] distinct hashes, then (with the others)
/// verifies them in turn until [`CEILING_TIME`] has passed.
fn verify_for(thread: usize, start: &Barrier) -> Result<(u64, Duration)> {
    let signed = distinct_signatures(thread);
    // Every thread reaches the barrier, even one that failed, so none waits forever.
    start.wait();
    let signed = signed.map_err(|e| anyhow!("signing for the verify ceiling: {e}"))?;
    let begun = Instant::now();
    let mut verifies = 0u64;
    while begun.elapsed() < CEILING_TIME {
        for (key, prehash, signature) in &signed {
            key.verify_prehash(prehash, signature).map_err(|e| anyhow!("a ceiling signature: {e}"))?;
        }
        verifies += signed.len() as u64;
    }
    Ok((verifies, begun.elapsed()))
}

type Verifiable = (k256::ecdsa::VerifyingKey, [u8; 32], k256::ecdsa::Signature);

/// [`CEILING_SIGNATURES`] signatures of distinct hashes by distinct keys, for `thread` alone.
fn distinct_signatures(thread: usize) -> Result<Vec<Verifiable>, k256::ecdsa::Error> {
    (0..CEILING_SIGNATURES)
        .map(|i| {
            let key = k256::ecdsa::SigningKey::from_slice(&keccak256(
                format!("bench/key/{thread}/{i}").as_bytes(),
            ))?;
            let prehash = keccak256(format!("bench/message/{thread}/{i}").as_bytes());
            let signature = key.sign_prehash(&prehash)?;
            Ok((*key.verifying_key(), prehash, signature))
        })
        .collect()
}

/// Transfers pre-signed per account: enough for the offered rate (or the most the node's blocks
/// can take, and never more than the cores can verify) over the load, plus a mempool's worth,
/// so the supply outlasts the load.
fn plan(args: &E2eArgs, ceiling_tps: f64) -> u64 {
    let rate = args.rate.unwrap_or_else(|| block_capacity(args).min(ceiling_tps as u64)).max(1);
    let total = rate.saturating_mul(args.seconds).saturating_add(tao_node::mempool::MAX_TXS as u64);
    total.min(MAX_PRESIGNED).div_ceil(u64::from(args.accounts))
}

/// The most transactions per second blocks can hold: `BLOCK_TXS` per block time.
fn block_capacity(args: &E2eArgs) -> u64 {
    tao_node::service::BLOCK_TXS as u64 * 1_000 / args.block_time
}

/// A pre-signed transfer: its hash and its encoding as `tx_submit` takes it.
struct Signed {
    hash: Hash,
    hex: String,
}

/// Every account's transfers, nonces `0..per_account`, to the next account; at index
/// `account · per_account + nonce`. Signed on every core.
fn presign(keys: &[SecretKey], domain: &ChainDomain, token: Hash, per_account: u64) -> Vec<Signed> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = keys.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..keys.len())
            .step_by(chunk)
            .map(|first| {
                scope.spawn(move || {
                    (first..keys.len().min(first + chunk))
                        .flat_map(|a| (0..per_account).map(move |nonce| (a, nonce)))
                        .map(|(a, nonce)| {
                            transfer(domain, token, &keys[a], &keys[(a + 1) % keys.len()], nonce)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

fn transfer(domain: &ChainDomain, token: Hash, from: &SecretKey, to: &SecretKey, nonce: u64) -> Signed {
    let args = tao_contract_token::TransferArgs { to: to.address(), amount: TRANSFER_RAO };
    let call = Call {
        contract: token,
        method: b"entry_transfer".to_vec().try_into().unwrap_or_default(),
        args: borsh::to_vec(&args).unwrap_or_default().try_into().unwrap_or_default(),
    };
    let tx = Transaction {
        chain_id: domain.chain_id,
        sender: from.address(),
        nonce,
        fee_limit: tao_types::Balance(FEE_LIMIT),
        call,
    }
    .sign(domain, from);
    Signed { hash: tx.hash(), hex: format!("0x{}", hex::encode(tx.encode())) }
}

/// Load phases: submitting new transfers, then only retrying refused-as-busy ones, then stop.
const SUBMIT: u8 = 0;
const DRAIN: u8 = 1;
const STOP: u8 = 2;

/// What the submitters, the follower and the sampler share.
struct Load {
    txs: Vec<Signed>,
    per_account: u64,
    node_pid: u32,
    /// Where each transaction is, by hash (finalized blocks name them by hash).
    index: BTreeMap<Hash, u32>,
    start: Instant,
    deadline: Duration,
    rate: Option<u64>,
    batch: usize,
    phase: AtomicU8,
    node_gone: AtomicBool,
    ledger: Mutex<Ledger>,
}

/// Progress of every transaction, times since [`Load::start`].
#[derive(Default)]
struct Ledger {
    /// Transactions refused as busy, to submit again first.
    retry: VecDeque<u32>,
    /// Accounts' next transactions, each queued once its previous one was accepted (so an
    /// account never leaves a nonce gap, which a full pool would drop).
    fresh: VecDeque<u32>,
    /// Each account's transactions accepted and not yet seen finalized.
    pending: Vec<usize>,
    /// Each account's next transaction, held back while the account has as many pending as
    /// the mempool takes from one sender: a submission then would only be refused as busy,
    /// after the node spent a signature check on it.
    parked: Vec<Option<u32>>,
    /// Fresh transactions taken so far (the offered rate's budget).
    released: u64,
    in_flight: usize,
    accepted: u64,
    finalized: u64,
    failed: u64,
    refused: u64,
    first_refusal: Option<String>,
    busy: u64,
    transport_errors: u64,
    /// When the accepted submission of each transaction was sent.
    submitted_at: Vec<Option<Duration>>,
    /// When the block holding each transaction was seen finalized.
    finalized_at: Vec<Option<Duration>>,
    blocks: Vec<BlockSeen>,
    rss: Rss,
}

/// A finalized block: when it was seen and how many of the bench's transactions it held.
#[derive(Debug, Clone, Copy, PartialEq)]
struct BlockSeen {
    at: Duration,
    ours: u64,
}

/// The node's resident memory in kB, from `/proc/<pid>/status`.
#[derive(Default, Clone, Copy)]
struct Rss {
    peak_kb: u64,
    last_kb: u64,
}

impl Load {
    fn new(args: &E2eArgs, txs: Vec<Signed>, per_account: u64, node_pid: u32) -> Arc<Load> {
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

    fn now(&self) -> Duration {
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
    fn finalized(&self, at: Duration, hashes: &[Value], outcomes: &[Value]) {
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
enum Answer {
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
async fn submit(http: HttpClient, load: Arc<Load>) -> Result<()> {
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
async fn follow(
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
async fn supervise(
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
async fn drain(
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
async fn sample(load: Arc<Load>, pid: u32, progress: indicatif::ProgressBar) {
    let status = format!("/proc/{pid}/status");
    loop {
        match std::fs::read_to_string(&status).ok().and_then(|s| parse_rss(&s)) {
            Some(rss) => {
                let mut ledger = lock(&load.ledger);
                ledger.rss = Rss { peak_kb: ledger.rss.peak_kb.max(rss.peak_kb), last_kb: rss.last_kb };
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

/// `VmHWM` and `VmRSS` of a `/proc/<pid>/status`; `None` for a process that is gone (a zombie
/// has no memory lines).
fn parse_rss(status: &str) -> Option<Rss> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some(Rss { peak_kb: field("VmHWM:")?, last_kb: field("VmRSS:")? })
}

/// User plus system CPU ticks of a process (`/proc/<pid>/stat` fields 14 and 15).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; fields are counted after its closing parenthesis.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Cores the node and the bench kept busy during the load (Linux reports 100 ticks a second).
struct Cpu {
    node: f64,
    bench: f64,
}

impl Cpu {
    fn since(before: (Option<u64>, Option<u64>), after: (Option<u64>, Option<u64>), start: Instant) -> Cpu {
        let secs = start.elapsed().as_secs_f64().max(f64::EPSILON);
        let cores = |b: Option<u64>, a: Option<u64>| match (b, a) {
            (Some(b), Some(a)) => a.saturating_sub(b) as f64 / 100.0 / secs,
            _ => 0.0,
        };
        Cpu { node: cores(before.0, after.0), bench: cores(before.1, after.1) }
    }
}

fn progress_bar(args: &E2eArgs) -> indicatif::ProgressBar {
    if args.json {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(args.seconds);
    let style = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} s {msg}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

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
struct Report {
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
    fn new(args: &E2eArgs, load: &Load, ceiling: &Ceiling, cpu: &Cpu) -> Report {
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

    fn table(&self) -> String {
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

    #[test]
    fn memory_is_read_from_proc_status_and_a_zombie_has_none() {
        let status = "Name:\ttao\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n";
        let rss = parse_rss(status).unwrap();
        assert_eq!((rss.peak_kb, rss.last_kb), (204_800, 102_400));
        assert!(parse_rss("Name:\ttao\nState:\tZ (zombie)\n").is_none());
    }
}
