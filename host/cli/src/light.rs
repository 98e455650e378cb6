//! `tao light`: a local JSON-RPC server in front of an untrusted node. It follows the node's
//! certified heads with the light client the wallet and the JS package use (`tao_light::Chain`)
//! and answers the read methods of docs/rpc.md with the node's own code
//! (`tao_node::rpc::reads`) over values whose proofs it checked against a certified root, keys
//! derived from the request's params. Whatever it cannot verify it refuses, naming the key and
//! the reason. docs/light-client.md has the trust model.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use jsonrpsee::RpcModule;
use jsonrpsee::types::{ErrorObjectOwned, Params};
use serde_json::{Value, json};
use tao_client::follow;
use tao_light::fresh::{self, Anchor, Freshness};
use tao_light::{Chain, Validator, VerifyError, keys, rpc, validators_hash};
use tao_node::rpc::{self as node_rpc, code, reads};
use tao_types::{Address, Hash};

use crate::client::{Client, RpcError, ready};
use crate::keys::Common;
use crate::trust::{self, Pin};

/// Error code of a value or header that failed a check, or that cannot be proven.
pub(crate) const UNVERIFIED: i32 = tao_rpc::code::UNVERIFIED;
/// Error code when the followed node cannot be reached or answers garbage.
pub(crate) const UNREACHABLE: i32 = tao_rpc::code::UNREACHABLE;
/// Most headers fetched in one batch when walking back from the head.
const HEADER_BATCH: usize = 256;
/// Most modules `module_list` answers (each proven).
const MAX_MODULES: usize = 64;
/// Most calls to the node at once. A batch's calls run concurrently here, each a connection to
/// the node, which allows one client `MAX_CONNECTIONS_PER_CLIENT` (32): a client's batch of
/// proofs must not exceed it and be reset.
const MAX_UPSTREAM: usize = 8;

/// A counting gate: at most [`MAX_UPSTREAM`] holders at once, the others wait their turn.
#[derive(Default)]
struct Gate {
    open: Mutex<usize>,
    freed: Condvar,
}

/// A place in the [`Gate`], given back on drop.
struct Pass<'a>(&'a Gate);

impl Gate {
    fn enter(&self) -> Pass<'_> {
        let mut held = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while *held >= MAX_UPSTREAM {
            held = self.freed.wait(held).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *held += 1;
        Pass(self)
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        let mut held = self.0.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *held = held.saturating_sub(1);
        self.0.freed.notify_one();
    }
}

/// Whether answers carry the proofs (for clients that check them again, like the CLI).
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProofMode {
    /// Answers keep each value's proof.
    Keep,
    /// Answers carry the verified values only.
    Strip,
}

#[derive(Args)]
pub(crate) struct LightArgs {
    /// The node to follow (`http://host:port`); nothing it says is believed unproven.
    #[arg(long)]
    rpc: String,
    /// What to trust: a genesis hash (`0x…`), or a recent certified header (`HEIGHT:0xHASH`, as
    /// `tao light --json` prints it) to start from instead of the genesis. Default: the genesis
    /// pinned for this node, pinned on first use like every CLI command.
    #[arg(long)]
    checkpoint: Option<Anchor>,
    /// Where to serve the verified JSON-RPC (`127.0.0.1:0` picks a free port and prints it).
    #[arg(long, default_value = "127.0.0.1:9945")]
    listen: SocketAddr,
    /// Keep or strip the proofs in answers.
    #[arg(long, value_enum, default_value = "keep")]
    proofs: ProofMode,
    /// Pages of another origin allowed to call it (repeatable), as `tao node --cors-origin`.
    #[arg(long = "cors-origin")]
    cors_origins: Vec<String>,
    #[command(flatten)]
    common: Common,
}

/// The followed chain and how current its head is.
struct Followed {
    chain: Chain,
    /// Local time (Unix ms) the head was believed.
    seen_ms: u64,
    /// Why the last head the node offered was refused, if it was.
    refused: Option<String>,
}

/// The verifying server's state: the node, and what is believed of it.
struct Light {
    upstream: Client,
    /// Bounds the calls to the node in flight.
    gate: Gate,
    url: String,
    followed: Mutex<Followed>,
    proofs: ProofMode,
}

#[allow(clippy::disallowed_methods, reason = "freshness compares the head's time with the local clock")]
fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn rpc_error(code: i32, message: impl ToString) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message.to_string(), None::<()>)
}

fn unverified(e: impl std::fmt::Display) -> ErrorObjectOwned {
    rpc_error(UNVERIFIED, format!("not verified: {e}"))
}

impl Light {
    /// Trusts `checkpoint` (else the genesis pinned as the CLI pins) with the code every client
    /// follows with (`tao_client::follow`), then believes the node's current head.
    fn connect(url: &str, checkpoint: Option<Anchor>, proofs: ProofMode) -> Result<Light> {
        let upstream = Client::new(url)?;
        let anchor = match checkpoint {
            Some(anchor) => anchor,
            None => {
                let (genesis, _) = rpc::header(&upstream.call("chain_header", json!([0]))?)?;
                let served = Pin { genesis_hash: genesis.hash(), chain_id: genesis.chain_id };
                Anchor::Genesis(trust::check(url, served)?.genesis_hash)
            }
        };
        let chain = ready(follow::start(anchor, &upstream.fetch()))?.context("the checkpoint")?;
        let followed = Mutex::new(Followed { chain, seen_ms: now_ms(), refused: None });
        let light = Light { upstream, gate: Gate::default(), url: url.to_string(), followed, proofs };
        let refused = |e: ErrorObjectOwned| anyhow::anyhow!(e.message().to_string());
        light.follow_once().map_err(refused)?;
        // The head's parent too, so the chain's block time (how soon a head is stale) is known.
        let head = light.lock().chain.head().height;
        light.believe(head.saturating_sub(1)).map_err(refused)?;
        Ok(light)
    }

    fn lock(&self) -> MutexGuard<'_, Followed> {
        self.followed.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Calls the node; its errors keep their code, a transport failure is [`UNREACHABLE`].
    fn upstream(&self, method: &str, params: Value) -> Result<Value, ErrorObjectOwned> {
        let _pass = self.gate.enter();
        self.upstream.call(method, params).map_err(|e| match e.downcast_ref::<RpcError>() {
            Some(refused) => rpc_error(refused.code as i32, format!("the node refused: {}", refused.message)),
            None => rpc_error(UNREACHABLE, format!("the node at {} cannot be reached: {e:#}", self.url)),
        })
    }

    /// Believes the node's current head if it is certified and newer (across validator-set
    /// changes); a replayed older head, or another at the believed height, is refused and
    /// remembered (the head then goes stale).
    fn follow_once(&self) -> Result<(), ErrorObjectOwned> {
        let mut followed = self.lock();
        let kept = followed.chain.head().height;
        let outcome = {
            let _pass = self.gate.enter();
            ready(follow::follow(&mut followed.chain, None, &self.upstream.fetch())).map_err(|e| {
                rpc_error(UNREACHABLE, format!("the node at {} cannot be reached: {e:#}", self.url))
            })?
        };
        if outcome.as_ref().is_ok_and(|header| header.height > kept) {
            followed.seen_ms = now_ms();
        }
        followed.refused = outcome.as_ref().err().map(ToString::to_string);
        outcome.map(drop).map_err(unverified)
    }

    /// The believed head's height, refused when stale: no newer certified head for a few
    /// blocks, or a head far behind the local clock (a node withholding or replaying heads).
    fn fresh_head(&self) -> Result<u64, ErrorObjectOwned> {
        let followed = self.lock();
        let (chain, head) = (&followed.chain, followed.chain.head());
        match fresh::freshness(head.time_ms, followed.seen_ms, now_ms(), chain.block_interval_ms()) {
            Freshness::Fresh { .. } => Ok(head.height),
            Freshness::Stale { why, .. } => {
                let refused = followed.refused.as_deref().map(|r| format!("; the node's last head: {r}"));
                Err(unverified(format!(
                    "the trusted head #{} is stale: {why}{}",
                    head.height,
                    refused.unwrap_or_default()
                )))
            }
        }
    }

    /// Believes the headers from the head down to `height` by their parent hashes.
    fn believe(&self, height: u64) -> Result<(), ErrorObjectOwned> {
        let mut head = self.lock().chain.head().height;
        if height > head {
            // Heads are polled: the node may already have the next one certified.
            let _ = self.follow_once();
            head = self.lock().chain.head().height;
        }
        if height > head {
            return Err(rpc_error(
                code::NO_STATE,
                format!("#{height} is not certified yet (trusted head #{head})"),
            ));
        }
        let missing = self.lock().chain.missing(height).map_err(unverified)?;
        for heights in missing.chunks(HEADER_BATCH) {
            let batch =
                heights.iter().enumerate().map(|(i, h)| rpc::request(i as u64, "chain_header", json!([h])));
            let _pass = self.gate.enter();
            let reply = self.upstream.post(&Value::Array(batch.collect())).map_err(|e| {
                rpc_error(UNREACHABLE, format!("the node at {} cannot be reached: {e:#}", self.url))
            })?;
            let answers = rpc::batch_results(&reply, heights.len()).map_err(unverified)?;
            let mut followed = self.lock();
            for answer in answers {
                let (header, _) = rpc::header(&answer).map_err(unverified)?;
                followed.chain.accept_ancestor(header).map_err(unverified)?;
            }
        }
        Ok(())
    }

    /// `chain_info` from what is believed: the pinned chain, the believed head (and the
    /// checkpoint naming it, for other clients to start from) and the set that signs after it.
    fn chain_info(&self) -> tao_rpc::ChainInfo {
        let followed = self.lock();
        let (domain, head) = (followed.chain.domain(), followed.chain.head());
        tao_rpc::ChainInfo {
            chain_id: domain.chain_id,
            genesis_hash: domain.genesis_hash,
            height: head.height,
            head: head.hash(),
            validators: node_rpc::validator_keys(followed.chain.validators()),
            checkpoint: Some(Anchor::of(head).to_string()),
        }
    }

    /// The believed header at `height` (default: the head) with its certificate, checked
    /// against the validator set that header commits to on this chain.
    fn chain_header(&self, params: Params<'_>) -> Result<tao_rpc::ChainHeader, ErrorObjectOwned> {
        let asked: Option<u64> = params.sequence().optional_next()?;
        let height = match asked {
            Some(height) => height,
            None => self.fresh_head()?,
        };
        self.believe(height)?;
        let (header, certificate) =
            rpc::header(&self.upstream("chain_header", json!([height]))?).map_err(unverified)?;
        let believed = self.believed(height)?;
        if header.hash() != believed.hash() {
            return Err(unverified(format!("header #{height} is not the one believed at that height")));
        }
        if height > 0 {
            let signers = self.signers(height, believed.validators_hash)?;
            certificate
                .verify(self.lock().chain.domain(), &header, &signers)
                .map_err(|e| unverified(format!("the certificate of header #{height}: {e}")))?;
        }
        Ok(node_rpc::chain_header_reply(&header, &certificate))
    }

    /// The set that signs header `height`: the one the believed header below it names.
    fn chain_validators(&self, params: Params<'_>) -> Result<tao_rpc::ChainValidators, ErrorObjectOwned> {
        let height: u64 = params.one()?;
        let below = height.checked_sub(1).ok_or_else(|| unverified("the genesis header has no signers"))?;
        self.believe(below)?;
        let named = self.believed(below)?.next_validators_hash;
        Ok(tao_rpc::ChainValidators {
            height,
            validators: node_rpc::validator_keys(&self.signers(height, named)?),
        })
    }

    /// The header believed at `height`.
    fn believed(&self, height: u64) -> Result<tao_light::Header, ErrorObjectOwned> {
        let followed = self.lock();
        followed.chain.header(height).cloned().ok_or_else(|| unverified(VerifyError::UnknownHeight(height)))
    }

    /// The node's set for header `height`, believed only if it hashes to `named`.
    fn signers(&self, height: u64, named: Hash) -> Result<Vec<Validator>, ErrorObjectOwned> {
        let set =
            rpc::validator_set(&self.upstream("chain_validators", json!([height]))?).map_err(unverified)?;
        if validators_hash(&set) != named {
            return Err(unverified(format!(
                "the validator set of header #{height} is not the one it commits to"
            )));
        }
        Ok(set)
    }

    /// The node's modules, each name's code hash proven at the head (a node may leave some
    /// out: a list cannot be proven complete).
    fn module_list(&self) -> Result<Vec<tao_rpc::ModuleEntry>, ErrorObjectOwned> {
        let listed = self.upstream("module_list", json!([]))?;
        let height = self.fresh_head()?;
        let mut out = Vec::new();
        for entry in listed.as_array().map(Vec::as_slice).unwrap_or_default().iter().take(MAX_MODULES) {
            let name = entry["name"].as_str().ok_or_else(|| unverified("module_list: a name is missing"))?;
            let proven = Source(self).value(&keys::module(name), height)?;
            let hash: Hash = proven
                .and_then(|bytes| bytes.try_into().ok().map(Hash))
                .ok_or_else(|| unverified(format!("module {name}: no such module proven at #{height}")))?;
            out.push(tao_rpc::ModuleEntry { name: name.to_string(), code_hash: hash });
        }
        Ok(out)
    }

    /// A transaction's status: a finalized one only with its receipt proven by the receipts
    /// root of the certified header at its height; any other status is the node's word.
    fn tx_status(&self, params: Params<'_>) -> Result<tao_rpc::TxStatus, ErrorObjectOwned> {
        let hash: Hash = params.one()?;
        let status = tao_rpc::decode(&self.upstream("tx_status", json!([hash]))?, "tx_status")
            .map_err(|e| rpc_error(UNREACHABLE, e))?;
        let tao_rpc::TxStatus::Finalized { height, .. } = status else { return Ok(status) };
        self.believe(height)?;
        let block = self.upstream("chain_block", json!([height]))?;
        let proven = self.lock().chain.receipt(&block, &hash).map_err(unverified)?;
        let receipt = proven.value.ok_or_else(|| {
            unverified(format!("transaction {hash}: block #{height} is proven not to hold it"))
        })?;
        Ok(tao_rpc::TxStatus::Finalized {
            height,
            index: None,
            receipt: Some(node_rpc::receipt_summary(&receipt)),
        })
    }
}

/// The proven reads' source: values fetched from the node and checked before use.
struct Source<'a>(&'a Light);

impl Source<'_> {
    /// The value under `key` at `height`, its proof checked against the certified root.
    fn value(&self, key: &[u8], height: u64) -> Result<Option<Vec<u8>>, ErrorObjectOwned> {
        let reply = self.0.upstream("state_get", json!([rpc::hex0x(key), height]))?;
        self.0.lock().chain.state_value(key, height, &reply).map_err(unverified)
    }
}

impl reads::Proofs for Source<'_> {
    fn height(&mut self, asked: Option<u64>) -> Result<u64, ErrorObjectOwned> {
        match asked {
            None => self.0.fresh_head(),
            Some(height) => self.0.believe(height).map(|()| height),
        }
    }

    fn proven(&mut self, key: &[u8], height: u64) -> Result<tao_rpc::Proven, ErrorObjectOwned> {
        let reply = self.0.upstream("state_get", json!([rpc::hex0x(key), height]))?;
        let followed = self.0.lock();
        let value = followed.chain.state_value(key, height, &reply).map_err(unverified)?;
        // The proof just checked, passed on as the node sent it.
        let proof = (self.0.proofs == ProofMode::Keep)
            .then(|| tao_rpc::decode(&reply["proof"], "proof"))
            .transpose()
            .map_err(unverified)?;
        Ok(tao_rpc::Proven {
            height,
            root: followed.chain.header(height).map(|h| h.state_root),
            key: key.into(),
            value: value.map(tao_rpc::Bytes),
            proof,
        })
    }

    /// No mempool to ask that could be believed: the committed nonce.
    fn pending_nonce(&mut self, _address: &Address, proven: u64) -> Result<u64, ErrorObjectOwned> {
        Ok(proven)
    }
}

/// The verified methods over `light`; `contract_query` and `chain_block` are refused by name.
fn module(light: Arc<Light>) -> Result<RpcModule<Arc<Light>>> {
    let mut m = RpcModule::new(light);
    for &method in reads::METHODS {
        m.register_blocking_method(method, move |params, light, _| {
            reads::call(method, params, &mut Source(&light))
        })?;
    }
    m.register_blocking_method(
        "chain_info",
        |_, light, _| -> Result<tao_rpc::ChainInfo, ErrorObjectOwned> { Ok(light.chain_info()) },
    )?;
    m.register_blocking_method("chain_header", |params, light, _| light.chain_header(params))?;
    m.register_blocking_method("chain_validators", |params, light, _| light.chain_validators(params))?;
    m.register_blocking_method("module_list", |_, light, _| light.module_list())?;
    m.register_blocking_method("tx_status", |params, light, _| light.tx_status(params))?;
    m.register_blocking_method("tx_submit", |params, light, _| {
        let bytes: String = params.one()?;
        light.upstream("tx_submit", json!([bytes]))
    })?;
    for (method, why) in [
        (
            "contract_query",
            "contract_query runs on the node's word, unproven; ask a proven read method instead",
        ),
        (
            "chain_block",
            "chain_block's transactions and events are not checked here; ask tx_status for a proven receipt",
        ),
    ] {
        m.register_method(method, move |_, _, _| -> Result<Value, ErrorObjectOwned> {
            Err(unverified(why))
        })?;
    }
    Ok(m)
}

pub(crate) fn run(args: LightArgs) -> Result<ExitCode> {
    let light = Arc::new(Light::connect(&args.rpc, args.checkpoint, args.proofs)?);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(serve(light, args))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(light: Arc<Light>, args: LightArgs) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen).await.context("binding --listen")?;
    let addr = listener.local_addr()?;
    let cors = tao_node::cors::Cors::new(args.cors_origins.clone());
    // The node's own hardened server: per-client limits, timeouts, priced batches.
    let _handle = node_rpc::server::start(listener, module(light.clone())?, Default::default(), cors);
    let (domain, head) = {
        let followed = light.lock();
        (*followed.chain.domain(), followed.chain.head().clone())
    };
    if args.common.json {
        println!(
            "{}",
            json!({"event": "started", "rpc": format!("http://{addr}"), "upstream": args.rpc,
                "chain_id": domain.chain_id, "genesis_hash": domain.genesis_hash, "height": head.height,
                "checkpoint": Anchor::of(&head).to_string()})
        );
    } else {
        println!(
            "following {} (chain {}, genesis {}) from #{} (checkpoint {})",
            args.rpc,
            domain.chain_id,
            domain.genesis_hash,
            head.height,
            Anchor::of(&head)
        );
        println!("verified rpc listening on http://{addr}");
    }
    follow(light, args.common.json).await
}

/// Polls the node's head a few times per block, believing each certified newer one; a refused
/// head is reported once and leaves the believed head to go stale.
async fn follow(light: Arc<Light>, json: bool) -> Result<()> {
    let mut reported: Option<String> = None;
    loop {
        let interval = light.lock().chain.block_interval_ms();
        tokio::time::sleep(Duration::from_millis((interval / 4).clamp(100, 2_000))).await;
        let polled = light.clone();
        let outcome = tokio::task::spawn_blocking(move || polled.follow_once()).await?;
        let why = outcome.err().map(|e| e.message().to_string());
        if why.is_some() && why != reported {
            let text = why.clone().unwrap_or_default();
            if json {
                println!("{}", json!({"event": "refused", "why": text}));
            } else {
                eprintln!("head refused: {text}");
            }
        }
        reported = why;
    }
}
