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

mod load;
pub(crate) mod node;
mod report;
mod sign;

use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use jsonrpsee_core::client::ClientT;
use jsonrpsee_core::rpc_params;
use jsonrpsee_http_client::{HttpClient, HttpClientBuilder};
use serde_json::Value;
use tao_chain::Header;
use tao_crypto::{ChainDomain, SecretKey};
use tao_node::spec::{ChainSpec, dev_key};
use tao_types::{Hash, RAO_PER_TAO};

use crate::client::unhex;
use load::{DRAIN, Load, STOP, drain, follow, progress_bar, sample, submit, supervise};
use node::{Cpu, NodeProcess, cpu_ticks};
use report::Report;
use sign::{presign, verify_ceiling};

/// Most bench accounts: their genesis balances stay far below the token's supply cap.
const MAX_ACCOUNTS: i64 = 10_000;

/// Each bench account's genesis balance: fees of every transfer it can be asked to send.
const BENCH_BALANCE: u64 = 100 * RAO_PER_TAO;

/// Most transactions pre-signed (about 440 bytes each held in memory).
const MAX_PRESIGNED: u64 = 500_000;

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
