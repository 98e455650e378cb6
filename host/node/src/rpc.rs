//! JSON-RPC 2.0 (HTTP and WebSocket): chain info, headers with certificates, state values with
//! proofs, accounts, modules, transaction submission and status, new-head subscriptions.
//! Byte strings are `0x`-hex. Documented in docs/rpc.md.

use std::sync::Arc;

use jsonrpsee::RpcModule;
use jsonrpsee::types::{ErrorObjectOwned, Params};
use serde_json::Value;
use tao_chain::{Certificate, Header, Receipt, keys};
use tao_rpc::{self as schema, Bytes, Proven};
use tao_types::{Address, Hash};

use crate::pool::WorkerPool;
use crate::service::{Node, SubmitError, TxStatus};

pub mod reads;
pub mod server;

/// Largest request body (or WebSocket message) accepted, in bytes.
pub const MAX_REQUEST_BYTES: u32 = 512 * 1024;
/// Largest response body, in bytes.
pub const MAX_RESPONSE_BYTES: u32 = 4 * 1024 * 1024;
/// Most open connections (HTTP and WebSocket), all clients together.
pub const MAX_CONNECTIONS: u32 = 256;
/// Most open connections of one client (an IPv4 address or an IPv6 /64): an eighth of the
/// node, so one client alone can never fill it.
pub const MAX_CONNECTIONS_PER_CLIENT: u32 = 32;
/// Most live subscriptions on one WebSocket connection.
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: u32 = 16;
/// Most live subscriptions of one client over all its connections.
pub const MAX_SUBSCRIPTIONS_PER_CLIENT: u32 = 32;
/// Most calls (or batches) of one client computed at once; the others wait their turn.
pub const MAX_CALLS_PER_CLIENT: usize = 4;
/// Most calls in one batch (refused before any is parsed further).
pub const MAX_BATCH_LEN: u32 = 1024;
/// Most a batch may cost, summed over its calls by [`cost`], before any of them runs. The
/// wallet's batches (≤ 512 `state_get`, ≤ 256 `chain_header`) fit.
pub const MAX_BATCH_COST: u64 = 1024;
/// Messages queued for one WebSocket client before the node stops reading from it.
pub const MAX_QUEUED_MESSAGES: u32 = 64;
/// A connection from which nothing arrives for this long is closed (a keep-alive between
/// requests, a connection that never sends its request, a WebSocket that answers no ping), and
/// so is one whose answer waits this long for the client to read any of it.
pub const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);
/// WebSocket pings go out this often, so a live client always has something to answer.
pub const PING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);
/// An HTTP request's headers must arrive within this.
pub const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// An HTTP request (headers received) must be read and answered within this, or it is answered
/// 408 and its connection closed: a body sent a byte at a time holds a slot no longer.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What one call of `method` costs in a batch, in proofs read (a `state_get` is 1): batches
/// are priced by this before any call runs (at most [`MAX_BATCH_COST`]).
pub fn cost(method: &str) -> u64 {
    match method {
        "chain_info" | "chain_header" | "state_get" | "pool_get" | "pool_quote" | "gov_proposal"
        | "tx_status" => 1,
        "account_get" | "stake_get" | "neuron_get" => 2,
        "chain_block" | "module_list" => 8,
        // Its info and every hyperparameter, each proven.
        "subnet_get" => 1 + tao_contract_subnets::params::PARAMS.len() as u64,
        // One signature check (about two proofs' time, on a worker of its own), two state reads
        // and a mempool update.
        "tx_submit" => 4,
        // A contract run in the VM.
        "contract_query" => 64,
        // Two proofs per neuron: priced as a whole batch, so it is never batched.
        "subnet_metagraph" => MAX_BATCH_COST,
        // Unknown methods and subscriptions answer at once.
        _ => 1,
    }
}

/// Error codes: the schema's (docs/rpc.md "Errors").
pub use tao_rpc::code;

pub(crate) fn error(code: i32, message: impl ToString) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message.to_string(), None::<()>)
}

pub(crate) fn unhex(s: &str) -> Result<Vec<u8>, ErrorObjectOwned> {
    hex::decode(s.trim_start_matches("0x")).map_err(|e| error(code::INVALID_PARAMS, format!("bad hex: {e}")))
}

/// A header as the schema serves it.
pub fn header_view(h: &Header) -> schema::HeaderView {
    schema::HeaderView {
        hash: h.hash(),
        chain_id: h.chain_id,
        parent: h.parent,
        height: h.height,
        time_ms: h.time_ms,
        state_root: h.state_root,
        txs_root: h.txs_root,
        receipts_root: h.receipts_root,
        evidence_root: h.evidence_root,
        validators_hash: h.validators_hash,
        next_validators_hash: h.next_validators_hash,
        proposer: h.proposer,
        encoded: Bytes(borsh::to_vec(h).unwrap_or_default()),
    }
}

/// A certificate as the schema serves it.
pub fn certificate_view(c: &Certificate) -> schema::CertificateView {
    schema::CertificateView {
        header: c.header,
        height: c.height,
        round: c.round,
        signatures: c.signatures.iter().map(|(i, s)| (*i, Bytes(s.0.to_vec()))).collect(),
        encoded: Bytes(borsh::to_vec(c).unwrap_or_default()),
    }
}

/// A header and its certificate: `chain_header`'s reply.
pub fn chain_header_reply(header: &Header, certificate: &Certificate) -> schema::ChainHeader {
    schema::ChainHeader { header: header_view(header), certificate: certificate_view(certificate) }
}

/// Events (topic, data) as the schema serves them.
fn events(list: &[(Vec<u8>, Vec<u8>)]) -> Vec<schema::Event> {
    list.iter().map(|(t, d)| (Bytes(t.clone()), Bytes(d.clone()))).collect()
}

/// A receipt's outcome as the schema serves it.
fn outcome(o: &tao_chain::TxOutcome) -> schema::Outcome {
    match o {
        tao_chain::TxOutcome::Ok => schema::Outcome::Ok,
        tao_chain::TxOutcome::Failed(why) => schema::Outcome::Failed(why.clone()),
    }
}

/// A receipt as `tx_status` serves it.
pub fn receipt_summary(r: &Receipt) -> schema::ReceiptSummary {
    schema::ReceiptSummary {
        outcome: outcome(&r.outcome),
        fee: r.fee,
        gas_used: r.gas_used,
        events: events(&r.events),
    }
}

pub(crate) type RpcResult = Result<Value, ErrorObjectOwned>;

/// A typed reply or the error to answer.
type Reply<T> = Result<T, ErrorObjectOwned>;

pub(crate) fn node_error(e: impl ToString) -> ErrorObjectOwned {
    error(code::NODE, e)
}

/// The height to answer at: the given one, or the head.
fn height_or_head(node: &Node, height: Option<u64>) -> Result<u64, ErrorObjectOwned> {
    match height {
        Some(h) => Ok(h),
        None => Ok(node.head().map_err(node_error)?.0.height),
    }
}

/// The node's own store as the source of the proven reads.
struct Store<'a>(&'a Node);

impl reads::Proofs for Store<'_> {
    fn height(&mut self, asked: Option<u64>) -> Result<u64, ErrorObjectOwned> {
        height_or_head(self.0, asked)
    }

    fn proven(&mut self, key: &[u8], height: u64) -> Reply<Proven> {
        proven(self.0, key, height)
    }

    fn pending_nonce(&mut self, address: &Address, _proven: u64) -> Result<u64, ErrorObjectOwned> {
        Ok(self.0.nonce(address))
    }
}

/// A value with its proof at `height`.
fn proven(node: &Node, key: &[u8], height: u64) -> Reply<Proven> {
    let root = node.store().root(height).map_err(|e| error(code::NO_STATE, e))?;
    let (value, proof) = node.store().get_with_proof(key, height).map_err(|e| error(code::NO_STATE, e))?;
    Ok(Proven {
        height,
        root: Some(root),
        key: key.into(),
        value: value.map(Bytes),
        proof: Some(Bytes(proof.encode())),
    })
}

/// `chain_info`'s validator list for `validators`.
pub fn validator_keys(validators: &[tao_chain::Validator]) -> Vec<schema::ValidatorKey> {
    validators
        .iter()
        .map(|v| schema::ValidatorKey { key: v.key.to_compressed()[..].into(), power: v.power })
        .collect()
}

fn chain_info(node: &Node) -> Reply<schema::ChainInfo> {
    let (head, _) = node.head().map_err(node_error)?;
    let domain = node.executor().domain();
    Ok(schema::ChainInfo {
        chain_id: domain.chain_id,
        genesis_hash: domain.genesis_hash,
        height: head.height,
        head: head.hash(),
        validators: validator_keys(node.validators()),
        checkpoint: None,
    })
}

/// The validator set that signs the header at `height` (≥ 1, at most one above the head): the
/// set the header below names. A light client takes it only if it hashes to that name.
fn chain_validators(node: &Node, params: Params<'_>) -> Reply<schema::ChainValidators> {
    let height: u64 = params.one()?;
    if height == 0 {
        return Err(error(code::NO_STATE, "the genesis header has no signers"));
    }
    let set = node.validators_at(height).map_err(|e| error(code::NO_STATE, e))?;
    Ok(schema::ChainValidators { height, validators: validator_keys(&set) })
}

fn chain_header(node: &Node, params: Params<'_>) -> Reply<schema::ChainHeader> {
    let height: Option<u64> = params.sequence().optional_next()?;
    let height = height_or_head(node, height)?;
    let stored = node.stored(height).map_err(|e| error(code::NO_STATE, e))?;
    Ok(chain_header_reply(&stored.block.header, &stored.certificate))
}

/// The block at `height` (default: the head) with its certificate, transaction hashes,
/// receipts and begin-block events.
fn chain_block(node: &Node, params: Params<'_>) -> Reply<schema::ChainBlock> {
    let height: Option<u64> = params.sequence().optional_next()?;
    let height = height_or_head(node, height)?;
    let stored = node.stored(height).map_err(|e| error(code::NO_STATE, e))?;
    let receipts = stored
        .receipts
        .iter()
        .map(|r| schema::ReceiptView {
            tx: r.tx,
            outcome: outcome(&r.outcome),
            fee: r.fee,
            gas_used: r.gas_used,
            events: events(&r.events),
            encoded: Bytes(borsh::to_vec(r).unwrap_or_default()),
        })
        .collect();
    Ok(schema::ChainBlock {
        header: header_view(&stored.block.header),
        certificate: certificate_view(&stored.certificate),
        transactions: stored.block.txs.iter().map(|t| t.hash()).collect(),
        receipts,
        evidence: stored.block.evidence.iter().map(|e| Bytes(borsh::to_vec(e).unwrap_or_default())).collect(),
        events: events(&stored.events),
    })
}

fn modules(node: &Node) -> Reply<Vec<schema::ModuleEntry>> {
    let mut out = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    let prefix = keys::module("");
    while let Some((k, v)) = node.store().next_after(&prefix, after.as_deref()).map_err(node_error)? {
        let name = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
        let code_hash = <[u8; 32]>::try_from(v.as_slice())
            .map_err(|_| node_error(format!("module {name}: stored hash is not 32 bytes")))?;
        out.push(schema::ModuleEntry { name, code_hash: Hash(code_hash) });
        after = Some(k);
    }
    Ok(out)
}

/// Why the RPC methods could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// A method name was registered twice.
    #[error(transparent)]
    Register(#[from] jsonrpsee::core::RegisterMethodError),
    /// The signature-checking threads did not start.
    #[error("starting the signature-checking threads: {0}")]
    Workers(#[from] std::io::Error),
}

/// The RPC methods over `node`, with their own signature-checking threads (one per core).
pub fn module(node: Arc<Node>) -> Result<RpcModule<Arc<Node>>, ModuleError> {
    let mut m = RpcModule::new(node);
    m.register_method("chain_info", |_, node, _| chain_info(node))?;
    m.register_method("chain_header", |params, node, _| chain_header(node, params))?;
    m.register_method("chain_validators", |params, node, _| chain_validators(node, params))?;
    for &method in reads::METHODS {
        m.register_method(method, move |params, node, _| reads::call(method, params, &mut Store(node)))?;
    }
    m.register_method("module_list", |_, node, _| modules(node))?;
    m.register_method("contract_query", |params, node, _| -> Reply<schema::QueryOutput> {
        let mut seq = params.sequence();
        let (module, entry, input): (String, String, String) = (seq.next()?, seq.next()?, seq.next()?);
        let (height, result) = node.query(&module, &entry, &unhex(&input)?).map_err(node_error)?;
        let output = result.map_err(|m| error(code::QUERY_FAILED, m))?;
        Ok(schema::QueryOutput { height, output: Bytes(output) })
    })?;
    // Signatures are checked on a pool of one worker per core, so the calls of a batch (run
    // concurrently by `server::Metered`) and of many clients are checked in parallel.
    let verifiers = WorkerPool::per_core()?;
    m.register_async_method("tx_submit", move |params, node, _| {
        let verifiers = verifiers.clone();
        async move {
            let bytes: String = params.one()?;
            match node.submit_on(&verifiers, &unhex(&bytes)?).await {
                Ok(hash) => Ok(hash),
                Err(busy @ SubmitError::Busy(_)) => Err(error(code::BUSY, busy)),
                Err(refused) => Err(error(code::TX_REFUSED, refused)),
            }
        }
    })?;
    m.register_method("chain_block", |params, node, _| chain_block(node, params))?;
    m.register_method("tx_status", |params, node, _| -> Reply<schema::TxStatus> {
        let hash: Hash = params.one()?;
        Ok(match node.status(&hash).map_err(node_error)? {
            TxStatus::Pending => schema::TxStatus::Pending,
            TxStatus::Finalized { height, index } => {
                let stored = node.stored(height).map_err(|e| error(code::NO_STATE, e))?;
                let receipt = stored.receipts.get(index as usize).map(receipt_summary);
                schema::TxStatus::Finalized { height, index: Some(index), receipt }
            }
            TxStatus::Dropped { reason } => schema::TxStatus::Dropped { reason },
            TxStatus::Unknown => schema::TxStatus::Unknown,
        })
    })?;
    // One authority finalizes each block as it produces it, so new and finalized heads are the
    // same stream; both names exist so clients written for a BFT chain need no change.
    for (subscribe, notification, unsubscribe) in [schema::SUBSCRIBE_HEADS, schema::SUBSCRIBE_FINALIZED_HEADS]
    {
        m.register_subscription(
            subscribe,
            notification,
            unsubscribe,
            |_, pending, node, extensions| async move {
                // Through the node's server a subscription holds one of its client's slots.
                let client = extensions.get::<server::Client>();
                let _slot = match client.map(server::Client::subscription) {
                    Some(None) => {
                        let why = format!(
                            "too many subscriptions from this client (at most {MAX_SUBSCRIPTIONS_PER_CLIENT})"
                        );
                        pending.reject(error(server::TOO_MANY_SUBSCRIPTIONS, why)).await;
                        return Ok(());
                    }
                    Some(slot) => slot,
                    None => None,
                };
                let mut heads = node.subscribe();
                let sink = pending.accept().await?;
                loop {
                    let header = tokio::select! {
                        header = heads.recv() => header,
                        // A client that left frees its slot now, not at the next head.
                        () = sink.closed() => break,
                    };
                    let Ok(header) = header else { break };
                    let message = serde_json::value::to_raw_value(&header_view(&header))?;
                    sink.send(message).await?;
                }
                jsonrpsee::core::SubscriptionResult::Ok(())
            },
        )?;
    }
    Ok(m)
}
