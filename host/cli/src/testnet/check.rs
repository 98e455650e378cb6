//! `tao testnet check`: a bounded check of a running local network, as `cargo xtask testnet
//! --check` runs it in CI. Every node must serve one chain whose genesis names exactly the
//! spec's validators, agree on every header up to a height, each certificate accepted by a light
//! client starting from that set and following every set change the headers name; and a signed transfer submitted through one node must be proven through
//! another. Nothing is pinned in the user's `networks.json`: the trust anchor is the spec.
#![allow(clippy::disallowed_methods, reason = "a deadline bounds the check; not consensus code")]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::{Value, json};
use tao_client::tx::Draft;
use tao_light::{Header, LightClient};
use tao_node::spec::ChainSpec;
use tao_types::RAO_PER_TAO;

use crate::client::Client;
use crate::keys::Common;

#[derive(Args)]
pub(crate) struct CheckArgs {
    /// The directory `tao testnet init --out` wrote, its `commands.txt` running.
    #[arg(long)]
    dir: PathBuf,
    /// The height every node must reach with the same headers.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    height: u64,
    /// How long the whole check may take: `90s`, `500ms`.
    #[arg(long, default_value = "90s", value_parser = crate::node::parse_duration)]
    timeout: Duration,
    #[command(flatten)]
    common: Common,
}

/// Amount the check transfers: 1 τ.
const AMOUNT: u64 = RAO_PER_TAO;
/// Between two polls of the nodes.
const POLL: Duration = Duration::from_millis(200);

/// One node of the network: its RPC and a light client following what it serves.
struct Node {
    url: String,
    client: Client,
    light: LightClient,
}

impl Node {
    /// Believes `header`, the one above the head, signed by the set the head names: when that
    /// is a new set (a stake change at an epoch), it is taken from the node first, checked
    /// against the hash the head names.
    fn accept(&mut self, header: Header, certificate: &tao_light::Certificate) -> Result<()> {
        let height = header.height;
        if self.light.needs_next_set() {
            let set = self.client.call("chain_validators", json!([height]))?;
            self.light
                .adopt_next_set(tao_light::rpc::validator_set(&set)?)
                .with_context(|| format!("{} serves a set for #{height} its head does not name", self.url))?;
        }
        self.light
            .accept(header, certificate)
            .with_context(|| format!("{}'s certificate at #{height} is not accepted", self.url))
    }
}

pub(crate) fn run(args: &CheckArgs) -> Result<ExitCode> {
    let deadline = Instant::now() + args.timeout;
    let urls = rpc_urls(&args.dir.join("commands.txt"))?;
    let spec = read_spec(&args.dir.join("spec.json"))?;
    let progress = if args.common.json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new_spinner()
    };
    progress.enable_steady_tick(Duration::from_millis(100));
    progress.set_message(format!("waiting for {} nodes to serve RPC", urls.len()));
    let mut nodes = urls.iter().map(|url| connect(url, &spec, deadline)).collect::<Result<Vec<_>>>()?;
    let genesis = *nodes[0].light.domain();
    if let Some(other) = nodes.iter().find(|n| *n.light.domain() != genesis) {
        bail!(
            "{} serves another chain (genesis {}) than {}",
            other.url,
            other.light.domain().genesis_hash,
            urls[0]
        );
    }
    progress.set_message(format!("waiting for height {} on every node", args.height));
    for node in &nodes {
        wait(deadline, &format!("{} to reach height {}", node.url, args.height), || {
            Ok(head_height(&node.client)? >= args.height)
        })?;
    }
    progress.set_message("checking every header and certificate");
    agree_up_to(&mut nodes, args.height)?;
    progress.set_message("a transfer through one node, proven through another");
    let transfer = transfer(&mut nodes, deadline)?;
    progress.finish_and_clear();
    let head = nodes[0].light.head().clone();
    let report = json!({
        "nodes": urls,
        "genesis_hash": genesis.genesis_hash,
        "chain_id": genesis.chain_id,
        "height": head.height,
        "head_hash": head.hash(),
        "certificates_verified": nodes.iter().map(|n| n.light.head().height).sum::<u64>(),
        "transfer": transfer,
    });
    let text = format!(
        "{} nodes agree on #{} ({}), every certificate verified from the spec's {} validators on; \
         a transfer sent through {} was proven through {} at #{}",
        nodes.len(),
        head.height,
        head.hash(),
        spec.validators.len(),
        transfer["submitted_to"].as_str().unwrap_or_default(),
        transfer["proven_through"].as_str().unwrap_or_default(),
        transfer["height"],
    );
    crate::output::print(&report, args.common.json, &text);
    Ok(ExitCode::SUCCESS)
}

/// The `http://` RPC address of each line of `commands.txt` (its `--rpc-addr`).
fn rpc_urls(commands: &Path) -> Result<Vec<String>> {
    let text =
        std::fs::read_to_string(commands).with_context(|| format!("reading {}", commands.display()))?;
    let urls = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let mut words = line.split_whitespace().skip_while(|w| *w != "--rpc-addr").skip(1);
            words
                .next()
                .map(|addr| format!("http://{addr}"))
                .with_context(|| format!("no --rpc-addr in {line}"))
        })
        .collect::<Result<Vec<_>>>()?;
    if urls.is_empty() {
        bail!("{} names no node", commands.display());
    }
    Ok(urls)
}

fn read_spec(path: &Path) -> Result<ChainSpec> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a chain spec", path.display()))
}

/// Connects to the node at `url` once it answers, trusting its genesis only if the set it
/// commits to is exactly the spec's validators.
fn connect(url: &str, spec: &ChainSpec, deadline: Instant) -> Result<Node> {
    let client = Client::new(url)?;
    let mut genesis = None;
    wait(deadline, &format!("{url} to serve its genesis"), || {
        genesis = Some(header_at(&client, 0)?);
        Ok(true)
    })?;
    let (genesis, _) = genesis.context("no genesis")?;
    let (_, validators) = tao_light::rpc::chain_info(&client.call("chain_info", json!([]))?)?;
    let named: Vec<(String, u64)> =
        validators.iter().map(|v| (format!("0x{}", hex::encode(v.key.to_compressed())), v.power)).collect();
    let expected: Vec<(String, u64)> =
        spec.validators.iter().map(|v| (v.key.to_lowercase(), v.power)).collect();
    if named != expected {
        bail!("{url} names validators {named:?}, not the spec's {expected:?}");
    }
    let light = LightClient::new(genesis.hash(), genesis, validators)
        .with_context(|| format!("{url}'s genesis does not commit to its validator set"))?;
    Ok(Node { url: url.to_string(), client, light })
}

/// The header at `height` and its certificate, as the node serves them (unverified).
fn header_at(client: &Client, height: u64) -> Result<(Header, tao_light::Certificate)> {
    Ok(tao_light::rpc::header(&client.call("chain_header", json!([height]))?)?)
}

fn head_height(client: &Client) -> Result<u64> {
    Ok(tao_light::rpc::header(&client.call("chain_header", json!([]))?)?.0.height)
}

/// Checks that every node serves the same header at each height up to `height`, each node's
/// light client accepting its certificates in order across validator-set changes (a height it
/// believed already is compared only).
fn agree_up_to(nodes: &mut [Node], height: u64) -> Result<()> {
    let from = nodes.iter().map(|n| n.light.head().height).min().unwrap_or(0);
    for h in from.saturating_add(1)..=height {
        let mut first: Option<(tao_types::Hash, String)> = None;
        for node in nodes.iter_mut() {
            let (header, certificate) = header_at(&node.client, h)?;
            let hash = header.hash();
            if node.light.head().height < h {
                node.accept(header, &certificate)?;
            }
            match first {
                Some((seen, ref at)) if seen != hash => {
                    bail!("fork at #{h}: {at} has {seen}, {} has {hash}", node.url)
                }
                Some(_) => {}
                None => first = Some((hash, node.url.clone())),
            }
        }
    }
    Ok(())
}

/// Alice (a dev account of the spec) sends 1 τ to a fresh address through the second node;
/// the recipient's balance must be proven through the third, and the block holding it be the
/// same on every node.
fn transfer(nodes: &mut [Node], deadline: Instant) -> Result<Value> {
    let (via, through) = (1 % nodes.len(), 2 % nodes.len());
    let alice = tao_node::spec::dev_key("alice");
    let to = super::new_key()?.address();
    let sender = &nodes[via];
    let nonce = sender.client.request::<tao_rpc::AccountGetMethod>(json!([alice.address()]))?.pending_nonce;
    let token = sender.client.module("token")?;
    let tx = Draft::transfer(to, AMOUNT, false)
        .sign(sender.light.domain(), token, nonce, &alice)
        .map_err(|e| anyhow::anyhow!("signing the transfer: {e}"))?;
    let hash =
        sender.client.request::<tao_rpc::TxSubmitMethod>(json!([tao_rpc::Bytes::hex(&tx.encode())]))?;
    let mut proven_at = 0;
    wait(deadline, &format!("the transfer {hash} to be proven through {}", nodes[through].url), || {
        let (height, rao) = proven_balance(&mut nodes[through], &to)?;
        proven_at = height;
        Ok(rao == AMOUNT)
    })?;
    for node in nodes.iter() {
        wait(deadline, &format!("{} to reach #{proven_at}", node.url), || {
            Ok(head_height(&node.client)? >= proven_at)
        })?;
    }
    agree_up_to(nodes, proven_at)?;
    Ok(json!({
        "tx": hash,
        "from": alice.address(),
        "to": to,
        "amount_rao": AMOUNT,
        "submitted_to": nodes[via].url,
        "proven_through": nodes[through].url,
        "height": proven_at,
    }))
}

/// `address`'s balance at the node's newest proof, its header followed (certificates checked)
/// from the last one the node's light client believed.
fn proven_balance(node: &mut Node, address: &tao_types::Address) -> Result<(u64, u64)> {
    let account = node.client.request::<tao_rpc::AccountGetMethod>(json!([address]))?;
    let height = account.proofs.balance.height;
    while node.light.head().height < height {
        let next = node.light.head().height + 1;
        let (header, certificate) = header_at(&node.client, next)?;
        node.accept(header, &certificate)?;
    }
    if node.light.head().height != height {
        bail!("{} proves at #{height}, behind #{} it certified before", node.url, node.light.head().height);
    }
    let key = tao_contract_token::balance_key(address);
    let value = tao_neuron::chain::check_proof(&node.light, &account.proofs.balance, &key)
        .with_context(|| format!("{}'s balance proof", node.url))?;
    let rao = value.map_or(Ok(0), |v| {
        v.try_into().map(u64::from_le_bytes).map_err(|_| anyhow::anyhow!("a balance is 8 bytes"))
    })?;
    Ok((height, rao))
}

/// Polls `done` until it holds; an error is "not yet" until `deadline`, then it is the failure.
fn wait(deadline: Instant, what: &str, mut done: impl FnMut() -> Result<bool>) -> Result<()> {
    loop {
        let last = match done() {
            Ok(true) => return Ok(()),
            Ok(false) => None,
            Err(e) => Some(e),
        };
        if Instant::now() >= deadline {
            let why = last.map(|e| format!(": {e:#}")).unwrap_or_default();
            bail!("timed out waiting for {what}{why}");
        }
        std::thread::sleep(POLL);
    }
}
