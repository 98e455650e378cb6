//! The neuron's view of the chain: an async JSON-RPC client whose every state read is checked
//! against a certified header, followed with the clients' one code (`tao_client::follow`), and the signed transactions a
//! neuron sends (serve its axon, set or commit/reveal weights, register, stake, transfer).

use std::time::Duration;

use jsonrpsee_core::client::ClientT;
use jsonrpsee_core::params::ArrayParams;
use jsonrpsee_http_client::{HttpClient, HttpClientBuilder};
use serde_json::{Value, json};
use tao_crypto::{ChainDomain, SecretKey};
use tao_light::fresh::Anchor;
use tao_light::{Chain as Followed, LightClient, VerifyError};
use tao_tx::{Call, Transaction};
use tao_types::{Balance, Hash};
use tokio::sync::Mutex;

use crate::NeuronError;

/// Fee limit of a neuron's transactions: 0.01 τ.
pub const FEE_LIMIT: Balance = Balance(10_000_000);
/// How long a submitted transaction may take to be finalized.
const FINALITY_WAIT: Duration = Duration::from_secs(60);
/// How often its status is polled meanwhile.
const POLL: Duration = Duration::from_millis(100);
/// Largest RPC answer taken (a metagraph of 256 UIDs with proofs fits).
const MAX_RESPONSE: u32 = 16 << 20;

/// A finalized transaction's outcome.
#[derive(Debug, Clone)]
pub struct Finalized {
    /// Its hash.
    pub hash: Hash,
    /// The block that holds it.
    pub height: u64,
    /// Its events, `(topic, data)`.
    pub events: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A node reached over JSON-RPC and believed only through certificates and proofs.
pub struct Chain {
    rpc: HttpClient,
    followed: Mutex<Followed>,
}

/// `0x`-hex bytes of a JSON string.
pub(crate) fn unhex(v: &Value) -> Result<Vec<u8>, NeuronError> {
    let s = v.as_str().ok_or_else(|| NeuronError::Malformed("expected a hex string".into()))?;
    hex::decode(s.trim_start_matches("0x")).map_err(|e| NeuronError::Malformed(format!("hex: {e}")))
}

fn malformed(what: &str) -> NeuronError {
    NeuronError::Malformed(what.to_string())
}

impl Chain {
    /// Connects to `url` (`http://host:port`) and trusts only the chain whose genesis hashes to
    /// `pinned` (the caller pins it: `tao`'s `networks.json`, or a checkpoint).
    pub async fn connect(url: &str, pinned: Hash) -> Result<Chain, NeuronError> {
        let rpc = HttpClientBuilder::default()
            .max_response_size(MAX_RESPONSE)
            .request_timeout(Duration::from_secs(30))
            .build(url)
            .map_err(|e| NeuronError::Rpc(e.to_string()))?;
        let followed =
            tao_client::follow::start(Anchor::Genesis(pinned), &|batch| fetch(&rpc, batch)).await?;
        Ok(Chain { rpc, followed: Mutex::new(followed) })
    }

    /// Calls `method`; node errors and transport failures are [`NeuronError::Rpc`].
    pub async fn call(&self, method: &str, params: Vec<Value>) -> Result<Value, NeuronError> {
        call(&self.rpc, method, params).await
    }

    /// The pinned chain's signing domain.
    pub async fn domain(&self) -> ChainDomain {
        *self.followed.lock().await.domain()
    }

    /// Follows the chain to the node's newest certified header (never back) and returns a view
    /// at it: every read through the view is proven at that one height, whatever other tasks
    /// sharing this client do meanwhile.
    pub async fn view(&self) -> Result<View<'_>, NeuronError> {
        let mut followed = self.followed.lock().await;
        tao_client::follow::follow(&mut followed, None, &|batch| fetch(&self.rpc, batch)).await?;
        Ok(View { chain: self, light: followed.light().clone() })
    }

    /// The code hash of system module `name`.
    pub async fn module(&self, name: &str) -> Result<Hash, NeuronError> {
        let list = self.call("module_list", vec![]).await?;
        let entry = list
            .as_array()
            .and_then(|l| l.iter().find(|m| m["name"] == name))
            .ok_or_else(|| malformed("module_list lacks the module"))?;
        serde_json::from_value(entry["code_hash"].clone()).map_err(|e| NeuronError::Malformed(e.to_string()))
    }

    /// Signs `tx` for the next nonce of `key`, submits it and waits for its block; a call the
    /// chain refused is [`NeuronError::Refused`].
    pub async fn submit(
        &self,
        key: &SecretKey,
        module: &str,
        method: &str,
        args: Vec<u8>,
    ) -> Result<Finalized, NeuronError> {
        let tx = self.sign(key, self.module(module).await?, method, args, FEE_LIMIT).await?;
        self.submit_signed(&tx.encode()).await
    }

    /// A signed call of `method` on `contract` by `key` at its next nonce.
    pub async fn sign(
        &self,
        key: &SecretKey,
        contract: Hash,
        method: &str,
        args: Vec<u8>,
        fee_limit: Balance,
    ) -> Result<tao_tx::SignedTransaction, NeuronError> {
        let domain = self.domain().await;
        let account =
            self.call("account_get", vec![serde_json::to_value(key.address()).unwrap_or_default()]).await?;
        let nonce = account["pending_nonce"].as_u64().ok_or_else(|| malformed("pending_nonce"))?;
        let call = Call {
            contract,
            method: method.as_bytes().to_vec().try_into().map_err(|_| malformed("method name too long"))?,
            args: args.try_into().map_err(|_| malformed("arguments too long"))?,
        };
        Ok(Transaction { chain_id: domain.chain_id, sender: key.address(), nonce, fee_limit, call }
            .sign(&domain, key))
    }

    /// Submits signed transaction bytes and waits until it is finalized.
    pub async fn submit_signed(&self, tx: &[u8]) -> Result<Finalized, NeuronError> {
        let hash = self.call("tx_submit", vec![format!("0x{}", hex::encode(tx)).into()]).await?;
        self.wait(hash).await
    }

    /// Waits for transaction `hash` (JSON) to leave the mempool.
    async fn wait(&self, hash: Value) -> Result<Finalized, NeuronError> {
        let deadline = tokio::time::Instant::now() + FINALITY_WAIT;
        loop {
            let status = self.call("tx_status", vec![hash.clone()]).await?;
            match status["status"].as_str() {
                Some("pending") | Some("unknown") if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(POLL).await
                }
                Some("finalized") => return finalized(&hash, &status),
                _ => return Err(NeuronError::Refused(format!("{}: {}", status["status"], status["reason"]))),
            }
        }
    }
}

/// The chain at one certified header.
pub struct View<'a> {
    chain: &'a Chain,
    light: LightClient,
}

impl View<'_> {
    /// The certified height.
    pub fn height(&self) -> u64 {
        self.light.head().height
    }

    /// Checks a `state_get`-style proof object for `key` at this height (the key is ours,
    /// never the server's, so a proof of another key does not verify).
    pub fn check(&self, proof: &Value, key: &[u8]) -> Result<Option<Vec<u8>>, NeuronError> {
        let proof = tao_rpc::decode(proof, "proof").map_err(|e| NeuronError::Malformed(e.to_string()))?;
        check_proof(&self.light, &proof, key)
    }

    /// The value at `key`, proven at this height, decoded as borsh `T`.
    pub async fn read<T: borsh::BorshDeserialize>(&self, key: &[u8]) -> Result<Option<T>, NeuronError> {
        let params = vec![Value::from(format!("0x{}", hex::encode(key))), self.height().into()];
        let proof = self.chain.call("state_get", params).await?;
        self.check(&proof, key)?.map(|bytes| decode(&bytes)).transpose()
    }
}

/// A finalized status as [`Finalized`], or the call's failure.
fn finalized(hash: &Value, status: &Value) -> Result<Finalized, NeuronError> {
    let receipt = &status["receipt"];
    if receipt["outcome"] != "Ok" {
        return Err(NeuronError::Refused(receipt["outcome"].to_string()));
    }
    let mut events = Vec::new();
    for e in receipt["events"].as_array().into_iter().flatten() {
        events.push((unhex(&e[0])?, unhex(&e[1])?));
    }
    Ok(Finalized {
        hash: serde_json::from_value(hash.clone()).map_err(|e| NeuronError::Malformed(e.to_string()))?,
        height: status["height"].as_u64().ok_or_else(|| malformed("height"))?,
        events,
    })
}

/// Checks a proven value for `key` against `light`'s head: the one place a client turns a
/// node's answer into a believed value.
pub fn check_proof(
    light: &LightClient,
    proof: &tao_rpc::Proven,
    key: &[u8],
) -> Result<Option<Vec<u8>>, NeuronError> {
    let height = proof.height;
    if height != light.head().height {
        return Err(NeuronError::Unproven(format!(
            "proof at #{height}, the trusted head is #{}",
            light.head().height
        )));
    }
    let value = proof.value.as_ref().map(|v| v.0.clone());
    let bytes = proof.proof.as_ref().ok_or_else(|| NeuronError::Unproven("no proof".into()))?;
    let state_proof = tao_state::StateProof::decode(&bytes.0)
        .map_err(|e| NeuronError::Unproven(format!("proof does not decode: {e}")))?;
    light.verify(key, value.as_deref(), &state_proof)?;
    Ok(value)
}

/// Borsh bytes from the chain as `T` (bounded, no trailing bytes).
pub(crate) fn decode<T: borsh::BorshDeserialize>(bytes: &[u8]) -> Result<T, NeuronError> {
    tao_codec::decode(bytes, tao_abi::limits::MAX_VALUE_BYTES as usize)
        .map_err(|e| NeuronError::Malformed(format!("stored value: {e}")))
}

async fn call(rpc: &HttpClient, method: &str, params: Vec<Value>) -> Result<Value, NeuronError> {
    let mut array = ArrayParams::new();
    for p in params {
        array.insert(p).map_err(|e| NeuronError::Rpc(e.to_string()))?;
    }
    rpc.request(method, array).await.map_err(|e| NeuronError::Rpc(format!("{method}: {e}")))
}

/// A JSON-RPC request or batch (as `tao_light::rpc` builds them) answered call by call, for
/// the shared client code (`tao_client::follow`); a refused call comes back as the node's error.
async fn fetch(rpc: &HttpClient, body: Value) -> Result<Value, VerifyError> {
    let Some(batch) = body.as_array() else { return Ok(answer(rpc, &body).await) };
    let mut replies = Vec::with_capacity(batch.len());
    for request in batch {
        replies.push(answer(rpc, request).await);
    }
    Ok(Value::Array(replies))
}

/// One request's JSON-RPC reply.
async fn answer(rpc: &HttpClient, request: &Value) -> Value {
    let method = request["method"].as_str().unwrap_or_default();
    let params = request["params"].as_array().cloned().unwrap_or_default();
    match call(rpc, method, params).await {
        Ok(result) => json!({"jsonrpc": "2.0", "id": request["id"], "result": result}),
        Err(e) => json!({"jsonrpc": "2.0", "id": request["id"], "error": {"message": e.to_string()}}),
    }
}
