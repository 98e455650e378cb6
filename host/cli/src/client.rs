//! A blocking JSON-RPC client for the CLI over jsonrpsee's HTTP client (http and https, status
//! codes, chunked replies, a size limit), and the checks that make its answers trustworthy:
//! certificates on headers and proofs on values.

use std::future::Future;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use jsonrpsee_core::ClientError;
use jsonrpsee_core::client::ClientT;
use jsonrpsee_core::params::BatchRequestBuilder;
use jsonrpsee_http_client::{HttpClient, HttpClientBuilder};
use serde_json::{Value, json};
use tao_client::follow;
use tao_client::fresh::Anchor;
use tao_client::{Chain, VerifyError};
use tao_crypto::ChainDomain;

use crate::trust::{self, Pin};
use tao_types::Hash;

/// Largest response read.
const MAX_RESPONSE: u32 = 8 << 20;
/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A node's RPC endpoint. Its own single-threaded runtime drives the async client, so callers
/// stay blocking (and may call it from `spawn_blocking` threads).
pub(crate) struct Client {
    url: String,
    rpc: HttpClient,
    runtime: tokio::runtime::Runtime,
}

/// An error the node returned (as opposed to a transport failure).
#[derive(Debug, thiserror::Error)]
#[error("node refused ({code}): {message}")]
pub(crate) struct RpcError {
    pub(crate) code: i64,
    pub(crate) message: String,
}

impl Client {
    /// `url` is `http://host:port` or `https://host[:port]` (certificates checked against the
    /// system's roots; `SSL_CERT_FILE` adds one).
    pub(crate) fn new(url: &str) -> Result<Client> {
        let url = url.trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("--url must start with http:// or https://, not {url}");
        }
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let rpc = {
            let _inside = runtime.enter();
            HttpClientBuilder::default()
                .max_response_size(MAX_RESPONSE)
                .request_timeout(REQUEST_TIMEOUT)
                .build(url)
                .with_context(|| format!("--url {url}"))?
        };
        Ok(Client { url: url.to_string(), rpc, runtime })
    }

    /// Calls `method` with `params` (a JSON array or object); a node error comes back as
    /// [`RpcError`].
    pub(crate) fn call(&self, method: &str, params: Value) -> Result<Value> {
        let reply = match params {
            Value::Object(named) => self.runtime.block_on(self.rpc.request(method, named)),
            Value::Array(positional) => self.runtime.block_on(self.rpc.request(method, positional)),
            other => bail!("the parameters of {method} must be an array or object, not {other}"),
        };
        reply.map_err(|e| self.failure(e))
    }

    /// Calls method `M` with `params` and decodes its reply into the schema's type (an error
    /// names the field that did not decode).
    pub(crate) fn request<M: tao_rpc::Method>(&self, params: Value) -> Result<M::Reply> {
        Ok(tao_rpc::decode(&self.call(M::NAME, params)?, M::NAME)?)
    }

    /// Sends a JSON-RPC request or batch (as [`tao_light::rpc::request`] builds them) and returns
    /// the replies in JSON-RPC's own shape, each under its request's id, for the parsers of
    /// untrusted replies in [`tao_light::rpc`].
    pub(crate) fn post(&self, body: &Value) -> Result<Value> {
        let Some(requests) = body.as_array() else {
            let method = body["method"].as_str().context("a request without a method")?;
            let answer = self.call(method, body["params"].clone());
            return match answer.map_err(|e| e.downcast::<RpcError>()) {
                Ok(result) => Ok(reply(&body["id"], Ok(result))),
                Err(Ok(refused)) => Ok(reply(&body["id"], Err(refused))),
                Err(Err(failed)) => Err(failed),
            };
        };
        let mut batch = BatchRequestBuilder::new();
        for r in requests {
            let method = r["method"].as_str().context("a request without a method")?;
            let params = r["params"].as_array().cloned().unwrap_or_default();
            batch.insert(method, params)?;
        }
        let answers =
            self.runtime.block_on(self.rpc.batch_request::<Value>(batch)).map_err(|e| self.failure(e))?;
        let replies = requests.iter().zip(answers).map(|(r, answer)| {
            reply(
                &r["id"],
                answer.map_err(|e| RpcError { code: e.code().into(), message: e.message().into() }),
            )
        });
        Ok(Value::Array(replies.collect()))
    }

    /// A node's refusal stays an [`RpcError`]; anything else says which node failed.
    fn failure(&self, error: ClientError) -> anyhow::Error {
        match error {
            ClientError::Call(e) => RpcError { code: e.code().into(), message: e.message().into() }.into(),
            other => anyhow::Error::new(other).context(format!("the node at {} failed", self.url)),
        }
    }

    /// The chain's signing domain: its genesis hash and the chain id its genesis header
    /// commits, as pinned for this network.
    pub(crate) fn domain(&self) -> Result<ChainDomain> {
        Ok(*self.follow_to(Some(0))?.domain())
    }

    /// The code hash of system module `name`.
    pub(crate) fn module(&self, name: &str) -> Result<Hash> {
        let list = self.request::<tao_rpc::ModuleListMethod>(json!([]))?;
        let entry = list.into_iter().find(|m| m.name == name).with_context(|| format!("no module {name}"))?;
        Ok(entry.code_hash)
    }

    /// Checks a `state_get` proof for `key` against the header certified at its height;
    /// returns the height and the value. The key is ours, never the server's: a proof of another
    /// key does not verify.
    pub(crate) fn verified_value(
        &self,
        proof: &tao_rpc::Proven,
        key: &[u8],
    ) -> Result<(u64, Option<Vec<u8>>)> {
        let height = proof.height;
        let chain = self.follow_to(Some(height)).context("the proof's header is not certified")?;
        let value = tao_neuron::chain::check_proof(chain.light(), proof, key)
            .context("the value's proof does not match the certified header")?;
        Ok((height, value))
    }

    /// The value at storage `key`, verified against a certified header: `(height, value)`.
    pub(crate) fn verified_state(&self, key: &[u8]) -> Result<(u64, Option<Vec<u8>>)> {
        let proof = self.request::<tao_rpc::StateGetMethod>(json!([tao_rpc::Bytes::hex(key)]))?;
        self.verified_value(&proof, key)
    }

    /// The chain as the wallet follows it (`tao_client::follow`): the pinned genesis, bound to
    /// the validator set it commits to, and the node's current head, believed only with its
    /// certificate, across validator-set changes. Proven reads ([`crate::proven`]) check every
    /// value against its roots.
    pub(crate) fn follow(&self) -> Result<Chain> {
        self.follow_to(None)
    }

    /// [`Client::follow`] to the header at `height` (the head if `None`).
    fn follow_to(&self, height: Option<u64>) -> Result<Chain> {
        let (genesis, _) = tao_light::rpc::header(&self.call("chain_header", json!([0]))?)?;
        let served = Pin { genesis_hash: genesis.hash(), chain_id: genesis.chain_id };
        let pin = trust::check(&self.url, served)?;
        let fetch = self.fetch();
        let mut chain = ready(follow::start(Anchor::Genesis(pin.genesis_hash), &fetch))??;
        ready(follow::follow(&mut chain, height, &fetch))?.context("the node's head is not certified")?;
        Ok(chain)
    }

    /// The fetch the shared client code runs with: one JSON-RPC batch posted to the node.
    pub(crate) fn fetch(&self) -> impl Fn(Value) -> std::future::Ready<Result<Value, VerifyError>> + '_ {
        |batch: Value| std::future::ready(self.post(&batch).map_err(|e| VerifyError::Node(format!("{e:#}"))))
    }
}

/// The output of `future`, whose every fetch answers at once (the CLI's I/O is blocking): one
/// poll finishes it.
pub(crate) fn ready<T>(future: impl Future<Output = T>) -> Result<T> {
    match pin!(future).poll(&mut TaskContext::from_waker(Waker::noop())) {
        Poll::Ready(out) => Ok(out),
        Poll::Pending => Err(anyhow::anyhow!("a read of the chain did not finish")),
    }
}

/// One JSON-RPC reply object.
fn reply(id: &Value, answer: Result<Value, RpcError>) -> Value {
    match answer {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(e) => json!({"jsonrpc": "2.0", "id": id, "error": {"code": e.code, "message": e.message}}),
    }
}

/// Bytes from a JSON `0x`-hex string.
pub(crate) fn unhex(v: &Value) -> Result<Vec<u8>> {
    Ok(hex::decode(v.as_str().context("expected a hex string")?.trim_start_matches("0x"))?)
}
