//! `tao node`: the dev chain (`--dev`: well-known funded accounts) or a chain from a JSON spec
//! (`--chain`), producing a block every `--block-time` as its one authority and serving JSON-RPC
//! over HTTP and WebSocket.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Args;
use tao_crypto::SecretKey;
use tao_node::files::WalletFiles;
use tao_node::spec::ChainSpec;
use tao_node::{Node, rpc, spec};
use tracing::{info, warn};

use crate::log::LogFormat;

/// Genesis time of the dev chain: fixed, so a dev data directory reopens as the same chain.
pub(crate) const DEV_GENESIS_MS: u64 = 1_767_225_600_000;

#[derive(Args)]
pub(crate) struct NodeArgs {
    /// Run the dev chain: well-known funded accounts, one authority, an example subnet.
    #[arg(long, conflicts_with = "chain")]
    dev: bool,
    /// The dev chain's genesis time in Unix milliseconds: another value starts another chain
    /// under the same public dev keys (tests of a node serving the wrong chain).
    #[arg(long, requires = "dev", default_value_t = DEV_GENESIS_MS)]
    genesis_time: u64,
    /// Run the chain described by this JSON chain spec (docs/rpc.md); needs `--validator-key`.
    #[arg(long)]
    chain: Option<PathBuf>,
    /// The block producer's secret key, hex (or `$TAO_VALIDATOR_KEY`); with `--chain`.
    #[arg(long, env = "TAO_VALIDATOR_KEY", hide_env_values = true, conflicts_with = "validator_key_file")]
    validator_key: Option<String>,
    /// A file holding the validator's secret key in hex (`tao testnet init` writes them).
    #[arg(long)]
    validator_key_file: Option<PathBuf>,
    /// Join a validator network: listen for peers at this libp2p address (e.g.
    /// `/ip4/127.0.0.1/tcp/30333`); blocks are final by the BFT engine (docs/network.md).
    /// Without it, the one validator of `--chain` or `--dev` finalizes blocks alone.
    #[arg(long)]
    p2p_addr: Option<String>,
    /// Other validators' libp2p addresses, comma-separated or repeated; with `--p2p-addr`.
    #[arg(long, value_delimiter = ',', requires = "p2p_addr")]
    bootnodes: Vec<String>,
    /// Print the chain's spec as JSON, with its checkpoint (the genesis hash and chain id these
    /// modules make), and exit (e.g. `--dev --print-spec > spec.json`).
    #[arg(long)]
    print_spec: bool,
    /// Where the chain's data lives. With `--dev` and no path, a temporary directory that is
    /// removed on exit.
    #[arg(long, alias = "data-dir")]
    base_path: Option<PathBuf>,
    /// JSON-RPC address (HTTP and WebSocket on the same port; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:9944")]
    rpc_addr: SocketAddr,
    /// Time between blocks: `12s`, `500ms`.
    #[arg(long, default_value = "12s", value_parser = parse_duration)]
    block_time: std::time::Duration,
    /// Recent blocks whose state is kept for proofs; older state is pruned.
    #[arg(long, default_value_t = tao_node::service::RETAIN_BLOCKS)]
    state_pruning: u64,
    /// Prometheus metrics address (`GET /metrics`); off unless given.
    #[arg(long)]
    metrics_addr: Option<SocketAddr>,
    /// Directory of the compiled system contracts (default: this workspace's build).
    #[arg(long)]
    modules: Option<PathBuf>,
    /// Serve the browser wallet from this directory at the RPC address (default: this
    /// workspace's `web/dist` when it is built).
    #[arg(long)]
    wallet: Option<PathBuf>,
    /// Another origin whose pages may use this node's RPC (repeatable; `*` for any). The
    /// node's own origin (the wallet it serves) is always allowed.
    #[arg(long = "cors-origin", value_name = "URL")]
    cors_origins: Vec<String>,
    /// Log format: `text` (one message per line) or `json` (one object per line, with level,
    /// message and the event's fields); `RUST_LOG` filters (default `tao=info`).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// The same as `--log-format json`.
    #[arg(long)]
    json: bool,
}

/// Answers every HTTP request on `listener` with the node's Prometheus metrics.
async fn serve_metrics(listener: tokio::net::TcpListener, node: Arc<Node>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    while let Ok((mut socket, _)) = listener.accept().await {
        let node = node.clone();
        tokio::spawn(async move {
            // The request itself does not matter; read what arrived so the client sees a clean close.
            let mut request = [0u8; 1024];
            let _ = socket.read(&mut request).await;
            let body = node.metrics().unwrap_or_default();
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        });
    }
}

/// `12s`, `1.5s` or `500ms`.
pub(crate) fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("{s:?} is not a duration like 12s or 500ms");
    let (number, scale) = match (s.strip_suffix("ms"), s.strip_suffix('s')) {
        (Some(n), _) => (n, 1u64),
        (None, Some(n)) => (n, 1_000),
        _ => return Err(bad()),
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    let whole: u64 = whole.parse().map_err(|_| bad())?;
    let frac_ms = if frac.is_empty() || scale == 1 {
        0
    } else {
        let digits = &frac[..frac.len().min(3)];
        digits.parse::<u64>().map_err(|_| bad())? * 10u64.pow(3 - digits.len() as u32)
    };
    let ms =
        whole.checked_mul(scale).and_then(|w| w.checked_add(frac_ms)).filter(|ms| *ms > 0).ok_or_else(bad)?;
    Ok(std::time::Duration::from_millis(ms))
}

pub(crate) fn run(args: NodeArgs) -> Result<ExitCode> {
    let (chain_spec, authority) = match (&args.chain, args.dev) {
        (Some(path), _) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            let chain_spec: ChainSpec = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a chain spec (docs/rpc.md)", path.display()))?;
            let key = match (&args.validator_key, &args.validator_key_file) {
                (Some(hex_key), _) => crate::testnet::parse_key(hex_key)?,
                (None, Some(file)) => crate::testnet::read_key_file(file)?,
                (None, None) => {
                    bail!("--chain needs --validator-key-file (or --validator-key, $TAO_VALIDATOR_KEY)")
                }
            };
            (chain_spec, key)
        }
        (None, true) => (ChainSpec::dev(args.genesis_time), spec::dev_key("validator")),
        (None, false) => bail!("pass --dev, or --chain FILE with --validator-key"),
    };
    // A dev chain without a base path lives in a temporary directory, gone on exit.
    let temporary = if args.base_path.is_none() && args.dev { Some(tempfile::tempdir()?) } else { None };
    let base_path = match (&args.base_path, &temporary) {
        (Some(p), _) => p.clone(),
        (None, Some(t)) => t.path().to_path_buf(),
        (None, None) => PathBuf::from(".tao-node"),
    };
    let modules_dir = args.modules.clone().unwrap_or_else(crate::contracts_dir);
    let modules = spec::load_modules(&modules_dir)
        .with_context(|| "loading the system contracts (build them with `cargo xtask contracts`)")?;
    let genesis = chain_spec.genesis(modules)?;
    if args.print_spec {
        let (built, _) = genesis.build(tao_vm::Vm::new(tao_vm::VmConfig::default())?)?;
        let checkpoint = Some(*built.executor.domain());
        println!("{}", serde_json::to_string_pretty(&ChainSpec { checkpoint, ..chain_spec })?);
        return Ok(ExitCode::SUCCESS);
    }
    let engine = engine_config(&args, &base_path, &authority)?;
    let opened = match args.p2p_addr {
        Some(_) => Node::open_member(&base_path, &genesis, args.state_pruning),
        None => Node::open(&base_path, &genesis, authority, args.state_pruning),
    };
    let node = Arc::new(opened.with_context(|| format!("opening the chain in {}", base_path.display()))?);
    let made = *node.executor().domain();
    if let Some(checkpoint) = chain_spec.checkpoint.filter(|c| *c != made) {
        bail!(
            "the spec's checkpoint is genesis {} (chain {}), but it makes genesis {} (chain {}) with these modules: \
             remove \"checkpoint\" from an edited spec",
            checkpoint.genesis_hash,
            checkpoint.chain_id,
            made.genesis_hash,
            made.chain_id
        );
    }
    crate::log::init(if args.json { LogFormat::Json } else { args.log_format })?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(serve(node, &args, engine))?;
    drop(temporary);
    Ok(ExitCode::SUCCESS)
}

/// The engine's settings: a member of a validator network with `--p2p-addr`; otherwise the
/// dev chain's single validator, on a loopback port with no peers (the same engine, deciding
/// alone: its key holds more than two thirds of the power, `Node::open` checked).
fn engine_config(
    args: &NodeArgs,
    base_path: &std::path::Path,
    key: &SecretKey,
) -> Result<tao_consensus::app::EngineConfig> {
    let parse = |a: &str| {
        a.parse().with_context(|| format!("{a:?} is not a libp2p address like /ip4/127.0.0.1/tcp/30333"))
    };
    let (listen, peers) = match &args.p2p_addr {
        Some(listen) => {
            // A validator checks evidence against the sets of recent heights, named by stored
            // blocks.
            let keep = tao_chain::MAX_EVIDENCE_AGE + 1;
            if args.state_pruning < keep {
                bail!(
                    "--state-pruning {} is too few blocks for a validator network: keep at least {keep}, to check equivocation evidence against the set of its height",
                    args.state_pruning
                );
            }
            (parse(listen)?, args.bootnodes.iter().map(|b| parse(b)).collect::<Result<_>>()?)
        }
        None => (parse("/ip4/127.0.0.1/tcp/0")?, Vec::new()),
    };
    Ok(tao_consensus::app::EngineConfig {
        base_path: base_path.to_path_buf(),
        key: key.clone(),
        listen,
        peers,
        timeouts: tao_consensus::app::EngineConfig::local_timeouts(),
        block_time: args.block_time,
        byzantine: None,
    })
}

async fn serve(node: Arc<Node>, args: &NodeArgs, engine: tao_consensus::app::EngineConfig) -> Result<()> {
    let wallet_dir =
        args.wallet.clone().or_else(|| Some(crate::wallet_dir()).filter(|d| d.join("index.html").exists()));
    let files = match &wallet_dir {
        Some(dir) => {
            WalletFiles::load(dir).with_context(|| format!("loading the wallet from {}", dir.display()))?
        }
        None => WalletFiles::default(),
    };
    // The node's own server: per-client connection, subscription and call limits, idle and
    // request timeouts, batches priced before they run (docs/rpc.md, Limits).
    let listener = tokio::net::TcpListener::bind(args.rpc_addr).await.context("binding the RPC address")?;
    let addr = listener.local_addr()?;
    let cors = tao_node::cors::Cors::new(args.cors_origins.clone());
    let handle = rpc::server::start(listener, rpc::module(node.clone())?, files.clone(), cors);
    let (head, _) = node.head()?;
    let domain = node.executor().domain();
    let rpc = format!("http://{addr}");
    info!(
        event = "started",
        rpc = rpc.as_str(),
        chain_id = domain.chain_id,
        genesis_hash = %domain.genesis_hash,
        height = head.height,
        "chain {} (genesis {}) at height {}",
        domain.chain_id,
        domain.genesis_hash,
        head.height
    );
    info!(event = "rpc", url = rpc.as_str(), "rpc listening on {rpc}");
    if !files.is_empty() {
        let url = format!("http://{addr}/");
        info!(event = "wallet", url = url.as_str(), "wallet at {url}");
    }
    if let Some(metrics_addr) = args.metrics_addr {
        let listener =
            tokio::net::TcpListener::bind(metrics_addr).await.context("binding the metrics address")?;
        let url = format!("http://{}/metrics", listener.local_addr()?);
        info!(event = "metrics", url = url.as_str(), "metrics on {url}");
        tokio::spawn(serve_metrics(listener, node.clone()));
    }
    let ended = follow_engine(node, engine).await;
    handle.stop()?;
    ended
}

/// Runs the BFT engine for `node` and logs the blocks it finalizes until Ctrl-C.
async fn follow_engine(node: Arc<Node>, config: tao_consensus::app::EngineConfig) -> Result<()> {
    let mut heads = node.subscribe();
    let (listen, peers) = (config.listen.to_string(), config.peers.len());
    let mut engine = tao_consensus::app::start(node.clone(), config).await?;
    if peers > 0 {
        info!(
            event = "p2p",
            listen = listen.as_str(),
            peers,
            "p2p listening on {listen} with {peers} bootnodes"
        );
    }
    loop {
        tokio::select! {
            head = heads.recv() => match head {
                Ok(header) => block_log(&node.stored(header.height)?),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
            ended = &mut engine.app => {
                bail!("the consensus engine stopped: {}", match ended {
                    Ok(Err(e)) => e.to_string(),
                    Ok(Ok(())) => "without an error".into(),
                    Err(e) => e.to_string(),
                });
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    engine.stop().await;
    Ok(())
}

/// Logs a block, and warns of each subnet whose own incentive module failed and was replaced by
/// Yuma.
fn block_log(stored: &tao_node::StoredBlock) {
    let header = &stored.block.header;
    let (hash, txs) = (header.hash(), stored.block.txs.len());
    info!(
        event = "block",
        height = header.height,
        hash = %hash,
        state_root = %header.state_root,
        time_ms = header.time_ms,
        txs,
        "block #{} {hash} root {} ({txs} txs)",
        header.height,
        header.state_root
    );
    for (topic, data) in &stored.events {
        if topic != b"epoch_fallback" {
            continue;
        }
        let Ok((netuid, module, why)) = borsh::from_slice::<(u16, tao_types::Hash, String)>(data) else {
            continue;
        };
        warn!(
            event = "epoch_fallback",
            height = header.height,
            netuid,
            module = %module,
            reason = why.as_str(),
            "warn: subnet {netuid}'s incentive module {module} failed ({why}); the epoch was paid with Yuma"
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::{block_log, parse_duration};
    use crate::log::{LogFormat, tests::Captured};
    use std::time::Duration;

    #[test]
    fn block_logs_warn_of_incentive_module_fallbacks() {
        let key = tao_crypto::SecretKey::from_bytes(&[3; 32]).unwrap();
        let header = tao_chain::Header {
            chain_id: 1,
            parent: tao_types::Hash([0; 32]),
            height: 7,
            time_ms: 1,
            state_root: tao_types::Hash([1; 32]),
            txs_root: tao_types::Hash([2; 32]),
            receipts_root: tao_types::Hash([3; 32]),
            evidence_root: tao_types::Hash([0; 32]),
            validators_hash: tao_types::Hash([4; 32]),
            next_validators_hash: tao_types::Hash([4; 32]),
            proposer: key.address(),
        };
        let domain = tao_crypto::ChainDomain { chain_id: 1, genesis_hash: tao_types::Hash([5; 32]) };
        let fallback = borsh::to_vec(&(2u16, tao_types::Hash([9; 32]), "out of gas".to_string())).unwrap();
        let stored = tao_node::StoredBlock {
            certificate: tao_chain::Certificate::sign(&domain, &header, 0, &[(0, &key)]),
            block: tao_chain::Block { header, txs: Vec::new(), evidence: Vec::new() },
            receipts: Vec::new(),
            events: vec![(b"epoch".to_vec(), vec![1]), (b"epoch_fallback".to_vec(), fallback)],
        };
        let text = Captured::lines(LogFormat::Text, || block_log(&stored));
        assert_eq!(text.len(), 2);
        assert!(text[0].starts_with("block #7 ") && text[0].ends_with("(0 txs)"));
        assert!(text[1].contains("subnet 2's incentive module") && text[1].contains("out of gas"));
        let json: Vec<serde_json::Value> = Captured::lines(LogFormat::Json, || block_log(&stored))
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!((json[0]["event"].as_str(), json[0]["height"].as_u64()), (Some("block"), Some(7)));
        assert_eq!(
            (json[1]["event"].as_str(), json[1]["reason"].as_str()),
            (Some("epoch_fallback"), Some("out of gas"))
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("12s"), Ok(Duration::from_secs(12)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1_500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("12").is_err());
        assert!(parse_duration("fast").is_err());
    }
}
