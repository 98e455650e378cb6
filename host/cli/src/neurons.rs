//! `tao miner run`, `tao validator run` and `tao subnet demo`: the example subnet's neurons
//! (`tao_neuron::ml`, regression on a shipped data set) against a node, and a whole subnet
//! on a dev node of its own to watch rewards follow quality.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use tao_crypto::SecretKey;
use tao_neuron::dendrite::Target;
use tao_neuron::gateway::{self, GatewayConfig};
use tao_neuron::ml::{self, Diabetes, MinerConfig, ModelSpec, Validation};
use tao_neuron::validator::{Measured, ValidatorConfig, serve_metrics};
use tao_neuron::{AxonLimits, Chain, Metagraph, Validator};
use tao_types::{Address, Balance, NetUid, RAO_PER_TAO};

use crate::client::Client;
use crate::keys::{self, Common, Net};
use crate::transfer::parse_amount;

#[derive(Subcommand)]
pub(crate) enum MinerCommand {
    /// Train a model and serve it to the subnet's validators until stopped (Ctrl-C).
    Run(MinerArgs),
}

#[derive(Args)]
pub(crate) struct MinerArgs {
    #[arg(long)]
    wallet: String,
    #[arg(long, default_value = "default")]
    hotkey: String,
    #[arg(long)]
    netuid: NetUid,
    /// The model: `ols`, or `ols:fraction=F,noise=N` (fit on a share F of the training rows,
    /// add noise of deviation N to predictions; docs/neurons.md).
    #[arg(long, default_value = "ols")]
    model: ModelSpec,
    /// Where the axon listens.
    #[arg(long, default_value = "127.0.0.1:8091")]
    listen: SocketAddr,
    /// The address published on chain (default: the listening one).
    #[arg(long)]
    publish: Option<SocketAddr>,
    /// Least stake a caller needs (rao of alpha).
    #[arg(long, default_value_t = 0)]
    min_stake: u64,
    /// Extra time per answer, milliseconds (to try a slow miner).
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    #[command(flatten)]
    net: Net,
}

#[derive(Subcommand)]
pub(crate) enum ValidatorCommand {
    /// Query the subnet's miners, score them and set weights until stopped (Ctrl-C).
    Run(ValidatorArgs),
}

#[derive(Args)]
pub(crate) struct ValidatorArgs {
    #[arg(long)]
    wallet: String,
    #[arg(long, default_value = "default")]
    hotkey: String,
    #[arg(long)]
    netuid: NetUid,
    /// Pause between query rounds, milliseconds.
    #[arg(long, default_value_t = 2000)]
    round_ms: u64,
    /// Time a miner has to answer, milliseconds.
    #[arg(long, default_value_t = 2000)]
    timeout_ms: u64,
    /// Serve Prometheus metrics at http://ADDR/metrics.
    #[arg(long)]
    metrics_addr: Option<SocketAddr>,
    /// Also serve a paid gateway here: clients pay the hotkey `--gateway-price` per request
    /// (`tao gateway ask`) and get the answer of the subnet's best miners (docs/neurons.md).
    #[arg(long)]
    gateway_addr: Option<SocketAddr>,
    /// The gateway's price per request: `0.1` τ or `1000 rao`.
    #[arg(long, value_parser = parse_amount, default_value = "0.1")]
    gateway_price: Balance,
    #[command(flatten)]
    net: Net,
}

/// `tao subnet demo`.
#[derive(Args)]
pub(crate) struct DemoArgs {
    /// Epochs to run after the validator's first weights.
    #[arg(long, default_value_t = 2)]
    epochs: u32,
    /// Then stop the best miner and run one more epoch, reporting its incentive before and after.
    #[arg(long)]
    offline: bool,
    /// Keep the subnet's commit–reveal on (weights count one reveal period later).
    #[arg(long)]
    commit_reveal: bool,
    /// Block time of the demo's node, milliseconds.
    #[arg(long, default_value_t = 50)]
    block_time_ms: u64,
    #[command(flatten)]
    common: Common,
}

/// The four demo miners, worst to best (docs/neurons.md).
const DEMO_MODELS: [&str; 4] =
    ["ols:fraction=0.05,noise=120", "ols:fraction=0.1,noise=60", "ols:fraction=0.3,noise=25", "ols"];
/// Longest the demo waits for one epoch.
const EPOCH_WAIT: Duration = Duration::from_secs(180);

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// The node at `url`, believed through the genesis pinned for it (`tao network`).
async fn connect(url: &str) -> Result<Arc<Chain>> {
    let url_owned = url.to_string();
    let domain = tokio::task::spawn_blocking(move || Client::new(&url_owned)?.domain()).await??;
    Ok(Arc::new(Chain::connect(url, domain.genesis_hash).await?))
}

pub(crate) fn run_miner(command: MinerCommand) -> Result<ExitCode> {
    let MinerCommand::Run(a) = command;
    let key = keys::hotkey(&a.net.common, &a.wallet, &a.hotkey)?;
    runtime()?.block_on(async {
        let chain = connect(&a.net.url).await?;
        let listener = tokio::net::TcpListener::bind(a.listen).await.context("binding the axon")?;
        let local = listener.local_addr()?;
        let config = MinerConfig {
            netuid: a.netuid,
            spec: a.model,
            publish: a.publish.unwrap_or(local),
            delay: Duration::from_millis(a.delay_ms),
            limits: AxonLimits { min_stake: a.min_stake, ..AxonLimits::default() },
        };
        let task = ml::start_miner(chain, key.clone(), listener, config).await?;
        if a.net.common.json {
            println!("{}", json!({"event": "serving", "hotkey": key.address(), "listen": local.to_string(), "publish": config.publish.to_string()}));
        } else {
            println!("miner {} serving {} on {local}, published {}", key.address(), ml::PROTOCOL_NAME, config.publish);
        }
        tokio::select! {
            _ = task => bail!("the axon stopped"),
            _ = tokio::signal::ctrl_c() => Ok(ExitCode::SUCCESS),
        }
    })
}

pub(crate) fn run_validator(command: ValidatorCommand) -> Result<ExitCode> {
    let ValidatorCommand::Run(a) = command;
    let key = keys::hotkey(&a.net.common, &a.wallet, &a.hotkey)?;
    runtime()?.block_on(async {
        let chain = connect(&a.net.url).await?;
        let config = ValidatorConfig {
            netuid: a.netuid,
            round: Duration::from_millis(a.round_ms),
            timeout: Duration::from_millis(a.timeout_ms),
            alpha: 0.3,
        };
        if let Some(addr) = a.gateway_addr {
            serve_gateway(&chain, &key, a.netuid, addr, a.gateway_price, &a.net.common).await?;
        }
        let validator =
            Validator::<Diabetes, _>::new(chain, key.clone(), config, Validation::default()).await;
        if let Some(addr) = a.metrics_addr {
            let listener = tokio::net::TcpListener::bind(addr).await.context("binding metrics")?;
            println!("metrics on http://{}/metrics", listener.local_addr()?);
            tokio::spawn(serve_metrics(listener, validator.measured()));
        }
        if a.net.common.json {
            println!("{}", json!({"event": "validating", "hotkey": key.address(), "netuid": a.netuid}));
        } else {
            println!("validator {} on subnet {}", key.address(), a.netuid);
        }
        tokio::select! {
            () = validator.run() => Ok(ExitCode::SUCCESS),
            _ = tokio::signal::ctrl_c() => Ok(ExitCode::SUCCESS),
        }
    })
}

/// Starts the paid gateway of `tao validator run --gateway-addr`: paid to the validator's hotkey,
/// answered by the best three miners.
async fn serve_gateway(
    chain: &Arc<Chain>,
    key: &SecretKey,
    netuid: NetUid,
    addr: SocketAddr,
    price: Balance,
    common: &Common,
) -> Result<()> {
    let config = GatewayConfig {
        netuid,
        price: price.0,
        payee: key.address(),
        top: 3,
        timeout: Duration::from_secs(2),
        max_body: 64 << 10,
        freshness: Duration::from_secs(30),
    };
    let listener = tokio::net::TcpListener::bind(addr).await.context("binding the gateway")?;
    let local = listener.local_addr()?;
    if common.json {
        println!("{}", json!({"event": "gateway", "addr": local, "price": price.0, "payee": key.address()}));
    } else {
        println!("gateway on {local}: {price} a request, paid to {}", key.address());
    }
    tokio::spawn(gateway::serve::<Diabetes>(chain.clone(), key.clone(), config, listener));
    Ok(())
}

#[derive(Subcommand)]
pub(crate) enum GatewayCommand {
    /// Pay a validator's gateway from the wallet's coldkey and get an answer from the subnet's
    /// best miners.
    Ask(AskArgs),
}

#[derive(Args)]
pub(crate) struct AskArgs {
    #[arg(long)]
    wallet: String,
    /// Where the gateway listens.
    #[arg(long)]
    gateway: SocketAddr,
    /// The gateway's hotkey: it is paid and signs the answer.
    #[arg(long)]
    hotkey: Address,
    /// What to pay: the gateway's price (`0.1` τ or `1000 rao`).
    #[arg(long, value_parser = parse_amount)]
    amount: Balance,
    /// The patients to predict: a JSON array of rows of the data set's 10 features.
    #[arg(long)]
    rows: String,
    /// How long to wait for the payment to finalize and the miners to answer, milliseconds.
    #[arg(long, default_value_t = 30_000)]
    timeout_ms: u64,
    #[command(flatten)]
    net: Net,
}

pub(crate) fn run_gateway(command: GatewayCommand) -> Result<ExitCode> {
    let GatewayCommand::Ask(a) = command;
    let rows: Vec<Vec<f64>> = serde_json::from_str(&a.rows).context("--rows must be a JSON array of rows")?;
    if let Some(row) = rows.iter().find(|r| r.len() != ml::FEATURES) {
        bail!("each row needs {} features, one has {}", ml::FEATURES, row.len());
    }
    keys::confirm(
        &format!("pay {} to gateway {} ({}) for one answer?", a.amount, a.gateway, a.hotkey),
        &a.net.common,
    )?;
    let key = keys::coldkey(&a.net.common, &a.wallet)?;
    runtime()?.block_on(async {
        let chain = connect(&a.net.url).await?;
        let target = Target { uid: 0, hotkey: a.hotkey, addr: a.gateway };
        let timeout = Duration::from_millis(a.timeout_ms);
        let query = ml::Query { rows };
        let answer =
            gateway::ask::<Diabetes>(&chain, &key, target, a.hotkey, a.amount.0, query, timeout).await?;
        if a.net.common.json {
            println!("{}", json!(answer));
        } else {
            println!(
                "miner UID {} predicts {:?} (paid {} in block #{}, transaction {})",
                answer.miner, answer.answer.values, a.amount, answer.paid_at, answer.payment
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Prints a demo step unless `--json`.
fn step(common: &Common, what: &str) {
    if !common.json {
        eprintln!("demo: {what}");
    }
}

pub(crate) fn run_demo(args: DemoArgs) -> Result<ExitCode> {
    let spec = tao_node::spec::ChainSpec::dev(crate::node::DEV_GENESIS_MS);
    step(&args.common, "starting a dev node");
    let node = crate::bench::node::NodeProcess::start(&spec, args.block_time_ms)?;
    let out = runtime()?.block_on(demo(&node.rpc, &args));
    drop(node);
    let out = out?;
    if args.common.json {
        println!("{}", issue_shape(out));
    } else {
        print_table(&out);
    }
    Ok(ExitCode::SUCCESS)
}

/// A demo key: the dev key of `name`.
fn demo_key(name: &str) -> SecretKey {
    tao_node::spec::dev_key(name)
}

async fn demo(rpc: &str, args: &DemoArgs) -> Result<Value> {
    let url = if rpc.starts_with("http") { rpc.to_string() } else { format!("http://{rpc}") };
    let info: Value = {
        let url = url.clone();
        tokio::task::spawn_blocking(move || Client::new(&url)?.call("chain_info", json!([]))).await??
    };
    // Our own child node: its genesis is the one we just made.
    let genesis = serde_json::from_value(info["genesis_hash"].clone())?;
    let chain = Arc::new(Chain::connect(&url, genesis).await?);
    let (owner, validator_hot) = (demo_key("alice"), demo_key("demo-validator"));
    step(&args.common, "creating a subnet");
    // The validator is the owner's hotkey, seated on the subnet at its creation.
    let (netuid, validator_uid) =
        patiently(&chain, || chain.register_network(&owner, validator_hot.address(), "diabetes")).await?;
    if !args.commit_reveal {
        patiently(&chain, || chain.set_hyperparameter(&owner, netuid, "commit_reveal", 0)).await?;
    }
    chain.transfer(&owner, validator_hot.address(), 10 * RAO_PER_TAO).await?;
    chain.add_stake(&owner, validator_hot.address(), netuid, 1000 * RAO_PER_TAO).await?;
    let ip = tao_neuron::ops::local_ip()?;
    let mut miners = Vec::new();
    for (i, (model, coldkey)) in DEMO_MODELS.iter().zip(["bob", "charlie", "dave", "eve"]).enumerate() {
        step(&args.common, &format!("miner {i}: {model}"));
        let (cold, hot) = (demo_key(coldkey), demo_key(&format!("demo-miner-{i}")));
        chain.transfer(&cold, hot.address(), RAO_PER_TAO).await?;
        let uid = chain.burned_register(&cold, netuid, hot.address()).await?;
        let listener = tokio::net::TcpListener::bind((ip, 0)).await?;
        let config = MinerConfig {
            netuid,
            spec: model.parse()?,
            publish: listener.local_addr()?,
            delay: Duration::ZERO,
            limits: AxonLimits::default(),
        };
        let task = ml::start_miner(chain.clone(), hot.clone(), listener, config).await?;
        miners.push((uid, hot.address(), task));
    }
    step(&args.common, "validator running; waiting for epochs");
    let config = ValidatorConfig {
        netuid,
        round: Duration::from_millis(500),
        timeout: Duration::from_secs(2),
        alpha: 0.3,
    };
    let validator =
        Validator::<Diabetes, _>::new(chain.clone(), validator_hot.clone(), config, Validation::default())
            .await;
    let measured = validator.measured();
    let validator_task = tokio::spawn(validator.run());
    let first = wait_weights(&measured, 1).await?;
    let mut last_epoch = 0;
    for n in 0..args.epochs {
        last_epoch = next_epoch(&chain, netuid, first.max(last_epoch)).await?;
        step(&args.common, &format!("epoch {} at #{last_epoch}", n + 1));
    }
    let metagraph = Metagraph::sync(&chain, netuid).await?;
    let mut out = report(netuid, args.epochs, &metagraph, &measured, validator_uid);
    if args.offline {
        let (uid, _, task) = miners.last().context("no miners")?;
        task.abort();
        step(&args.common, &format!("miner UID {uid} offline"));
        let before = incentive(&metagraph, *uid);
        let sets = measured.lock().map(|m| m.weights_set).unwrap_or(0);
        let changed = wait_weights(&measured, sets + 2).await?;
        next_epoch(&chain, netuid, changed).await?;
        let after = incentive(&Metagraph::sync(&chain, netuid).await?, *uid);
        out["offline"] = json!({"uid": uid, "incentive_before": before, "incentive_after": after});
    }
    validator_task.abort();
    Ok(out)
}

/// Runs `f`, and again once the chain's "rate limited until block N" has passed (the dev
/// chain's network and hyperparameter rate limits count from genesis).
async fn patiently<T, F: std::future::Future<Output = Result<T, tao_neuron::NeuronError>>>(
    chain: &Chain,
    f: impl Fn() -> F,
) -> Result<T> {
    for _ in 0..3 {
        match f().await {
            Err(tao_neuron::NeuronError::Refused(why)) if why.contains("rate limited until block ") => {
                let until: u64 = why
                    .split("until block ")
                    .nth(1)
                    .and_then(|s| s.trim_matches(|c: char| !c.is_ascii_digit()).parse().ok())
                    .context("rate limit block")?;
                while chain.view().await?.height() < until {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            other => return Ok(other?),
        }
    }
    bail!("still rate limited")
}

fn incentive(metagraph: &Metagraph, uid: u16) -> u16 {
    metagraph.neurons.iter().find(|n| n.uid == uid).map_or(0, |n| n.scores.incentive)
}

/// Waits until the validator has set weights `count` times; the block of the last.
async fn wait_weights(measured: &std::sync::Mutex<Measured>, count: u64) -> Result<u64> {
    let deadline = tokio::time::Instant::now() + EPOCH_WAIT;
    loop {
        if let Ok(m) = measured.lock()
            && m.weights_set >= count
        {
            return Ok(m.last_weights_height);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the validator set no weights in {} s", EPOCH_WAIT.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits for `netuid`'s first epoch after block `after`; its block.
async fn next_epoch(chain: &Chain, netuid: NetUid, after: u64) -> Result<u64> {
    let deadline = tokio::time::Instant::now() + EPOCH_WAIT;
    loop {
        let record: Option<tao_contract_incentive::EpochRecord> =
            chain.view().await?.read(&tao_contract_incentive::epoch_record_key(netuid)).await?;
        if let Some(r) = record.filter(|r| r.block > after) {
            return Ok(r.block);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("no epoch of subnet {netuid} after #{after} within {} s", EPOCH_WAIT.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The demo's result: each miner's measured quality and proven incentive and emission, and the
/// validator's dividends.
fn report(
    netuid: NetUid,
    epochs: u32,
    metagraph: &Metagraph,
    measured: &std::sync::Mutex<Measured>,
    validator: u16,
) -> Value {
    let m = measured.lock().map(|m| m.clone()).unwrap_or_default();
    let weight = |uid| m.last_weights.iter().find(|(u, _)| *u == uid).map_or(0, |(_, w)| *w);
    let miners: Vec<Value> = metagraph
        .neurons
        .iter()
        .filter(|n| n.uid != validator)
        .map(|n| {
            json!({"uid": n.uid, "hotkey": n.hotkey, "quality": m.quality.get(&n.uid).copied().unwrap_or(0.0),
            "weight": weight(n.uid), "incentive": n.scores.incentive, "emission": n.scores.server_emission})
        })
        .collect();
    let validators: Vec<Value> = metagraph
        .neurons
        .iter()
        .filter(|n| n.uid == validator)
        .map(|n| json!({"uid": n.uid, "hotkey": n.hotkey, "dividends": n.scores.dividends, "emission": n.scores.validator_emission}))
        .collect();
    json!({"netuid": netuid, "epochs": epochs, "height": metagraph.height, "miners": miners, "validators": validators})
}

fn print_table(out: &Value) {
    println!("subnet {} after {} epochs (proven at #{})", out["netuid"], out["epochs"], out["height"]);
    println!(
        "{:>4} {:<44} {:>8} {:>7} {:>9} {:>14}",
        "uid", "miner hotkey", "quality", "weight", "incentive", "emission rao"
    );
    for m in out["miners"].as_array().into_iter().flatten() {
        println!(
            "{:>4} {:<44} {:>8.3} {:>7} {:>9} {:>14}",
            m["uid"].as_u64().unwrap_or_default(),
            m["hotkey"].as_str().unwrap_or_default(),
            m["quality"].as_f64().unwrap_or(0.0),
            m["weight"].as_u64().unwrap_or_default(),
            m["incentive"].as_u64().unwrap_or_default(),
            m["emission"].as_u64().unwrap_or_default()
        );
    }
    for v in out["validators"].as_array().into_iter().flatten() {
        println!(
            "validator UID {} {}: dividends {}, emission {} rao",
            v["uid"],
            v["hotkey"].as_str().unwrap_or_default(),
            v["dividends"],
            v["emission"]
        );
    }
    if let Some(o) = out.get("offline") {
        println!(
            "UID {} went offline: incentive {} → {}",
            o["uid"], o["incentive_before"], o["incentive_after"]
        );
    }
}

/// The `--json` object as docs/neurons.md specifies it: miners `{uid, hotkey, quality,
/// incentive, emission}`, validators `{uid, hotkey, dividends}` (plus `offline` with `--offline`).
fn issue_shape(mut out: Value) -> Value {
    let keep = |rows: &mut Value, keys: &[&str]| {
        for row in rows.as_array_mut().into_iter().flatten() {
            if let Some(map) = row.as_object_mut() {
                map.retain(|k, _| keys.contains(&k.as_str()));
            }
        }
    };
    keep(&mut out["miners"], &["uid", "hotkey", "quality", "incentive", "emission"]);
    keep(&mut out["validators"], &["uid", "hotkey", "dividends"]);
    if let Some(map) = out.as_object_mut() {
        map.remove("height");
    }
    out
}
