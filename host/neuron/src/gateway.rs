//! Paying for intelligence: a validator's gateway answers a client's query from the subnet's
//! best miners once the client has paid for it on chain. The request is signed by the client's
//! coldkey (the envelope of [`crate::auth`], addressed to the gateway's hotkey) and carries a
//! signed TAO transfer from that coldkey to the gateway's payee; the gateway checks it, submits
//! it, waits until it is finalized, and only then asks the miners. A payment pays for one
//! request: its hash is spent at first use (and a transaction already on chain is refused).

use std::collections::BTreeSet;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tao_contract_token::TransferArgs;
use tao_crypto::SecretKey;
use tao_types::{Address, Hash, NetUid, Uid};

use crate::auth::{self, header};
use crate::axon::{AxonError, Protocol, envelope, read_body};
use crate::chain::Chain;
use crate::dendrite::{Dendrite, Target};
use crate::metagraph::Metagraph;

/// Spent payments remembered (beyond it the oldest are forgotten: the chain refuses a
/// transaction it already holds, which the gateway checks first).
const MAX_SPENT: usize = 1 << 16;

/// A paid query: the protocol's request and the payment, a signed transfer (hex).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaidRequest<R> {
    /// What to ask the miners.
    pub query: R,
    /// A signed `token.entry_transfer` from the caller's coldkey to the gateway's payee.
    pub payment: String,
}

/// The gateway's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaidAnswer<R> {
    /// The miner's answer.
    pub answer: R,
    /// The UID that answered.
    pub miner: Uid,
    /// The payment's transaction hash.
    pub payment: Hash,
    /// The block that holds it.
    pub paid_at: u64,
}

/// A gateway's protocol over `P`: paid requests in, signed paid answers out, at `P`'s path. So a
/// client asks a gateway with the same [`Dendrite`] a validator asks miners with, and its answer
/// is checked against the gateway's hotkey the same way.
pub struct Paid<P>(PhantomData<P>);

impl<P: Protocol> Protocol for Paid<P> {
    const NAME: &'static str = P::NAME;
    type Request = PaidRequest<P::Request>;
    type Response = PaidAnswer<P::Response>;
}

/// A client's paid query: pays `amount` rao from `coldkey` to `payee` with a transfer signed at
/// the coldkey's next nonce, sends it with `query` to the gateway `target` signed by the
/// coldkey, and returns the answer once it checks against the gateway's hotkey.
pub async fn ask<P: Protocol>(
    chain: &Chain,
    coldkey: &SecretKey,
    target: Target,
    payee: Address,
    amount: u64,
    query: P::Request,
    timeout: Duration,
) -> Result<PaidAnswer<P::Response>, crate::NeuronError> {
    let token = chain.module("token").await?;
    let args = borsh::to_vec(&TransferArgs { to: payee, amount })
        .map_err(|e| crate::NeuronError::Malformed(e.to_string()))?;
    let payment = chain.sign(coldkey, token, "entry_transfer", args, crate::chain::FEE_LIMIT).await?;
    let request = PaidRequest { query, payment: hex::encode(payment.encode()) };
    let genesis = chain.domain().await.genesis_hash;
    let answers =
        Dendrite::new(coldkey.clone(), genesis).query::<Paid<P>>(&[target], &request, timeout).await;
    match answers.into_iter().next().map(|a| a.result) {
        Some(Ok(answer)) => Ok(answer),
        Some(Err(e)) => Err(crate::NeuronError::Refused(format!("the gateway: {e}"))),
        None => Err(crate::NeuronError::Refused("the gateway gave no answer".into())),
    }
}

/// What a gateway charges and where it looks for answers.
#[derive(Debug, Clone, Copy)]
pub struct GatewayConfig {
    /// The subnet served.
    pub netuid: NetUid,
    /// Least payment per request, rao.
    pub price: u64,
    /// Who must be paid.
    pub payee: Address,
    /// Miners asked, best first by proven incentive.
    pub top: usize,
    /// Time each miner has.
    pub timeout: Duration,
    /// Largest request body.
    pub max_body: usize,
    /// How far a request's timestamp may be from the gateway's clock.
    pub freshness: Duration,
}

/// Why a gateway refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The envelope failed (unsigned, stale, wrong target, bad signature, too large).
    #[error(transparent)]
    Request(#[from] AxonError),
    /// No payment, or one that is not a valid transfer on this chain.
    #[error("payment required: {0}")]
    Unpaid(String),
    /// The transfer pays less than the price.
    #[error("underpaid: {paid} rao, the price is {price}")]
    Underpaid {
        /// Paid.
        paid: u64,
        /// Asked.
        price: u64,
    },
    /// The payment was already used for a request.
    #[error("payment {0} already spent")]
    Spent(Hash),
    /// The chain did not take the payment.
    #[error("payment failed on chain: {0}")]
    PaymentFailed(String),
    /// No miner answered (the payment stands: see docs/neurons.md, trust model).
    #[error("no miner answered: {0}")]
    NoAnswer(String),
}

impl GatewayError {
    fn code(&self) -> &'static str {
        match self {
            GatewayError::Request(e) => e.code(),
            GatewayError::Unpaid(_) => "unpaid",
            GatewayError::Underpaid { .. } => "underpaid",
            GatewayError::Spent(_) => "spent",
            GatewayError::PaymentFailed(_) => "payment_failed",
            GatewayError::NoAnswer(_) => "no_answer",
        }
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let status = match &self {
            GatewayError::Request(e) => return e.clone().into_response(),
            GatewayError::Unpaid(_) | GatewayError::Underpaid { .. } | GatewayError::PaymentFailed(_) => {
                StatusCode::PAYMENT_REQUIRED
            }
            GatewayError::Spent(_) => StatusCode::CONFLICT,
            GatewayError::NoAnswer(_) => StatusCode::BAD_GATEWAY,
        };
        (status, axum::Json(serde_json::json!({"code": self.code(), "error": self.to_string()})))
            .into_response()
    }
}

/// A running gateway's state.
struct Inner {
    chain: Arc<Chain>,
    key: SecretKey,
    genesis: Hash,
    token: Hash,
    config: GatewayConfig,
    dendrite: Dendrite,
    spent: Mutex<BTreeSet<Hash>>,
}

/// Serves `POST /<P::NAME>` on `listener`: paid queries answered by the subnet's best miners.
/// `key` is the validator's hotkey: it queries the miners and signs the answers.
pub async fn serve<P: Protocol>(
    chain: Arc<Chain>,
    key: SecretKey,
    config: GatewayConfig,
    listener: tokio::net::TcpListener,
) -> Result<(), crate::NeuronError> {
    let genesis = chain.domain().await.genesis_hash;
    let token = chain.module("token").await?;
    let dendrite = Dendrite::new(key.clone(), genesis);
    let inner = Arc::new(Inner { chain, key, genesis, token, config, dendrite, spent: Mutex::default() });
    let router = axum::Router::new()
        .route(&format!("/{}", P::NAME), axum::routing::post(answer::<P>))
        .with_state(inner);
    axum::serve(listener, router).await.map_err(|e| crate::NeuronError::Rpc(e.to_string()))
}

async fn answer<P: Protocol>(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    let (env, signature) = envelope(&headers)?;
    if env.target != inner.key.address() {
        return Err(AxonError::WrongTarget(env.target).into());
    }
    let freshness = u64::try_from(inner.config.freshness.as_millis()).unwrap_or(u64::MAX);
    if auth::now_ms().abs_diff(env.timestamp_ms) > freshness {
        return Err(AxonError::Stale(env.timestamp_ms).into());
    }
    let body = read_body(&headers, body, inner.config.max_body).await?;
    let request_hash = env.request_hash(&inner.genesis, &body);
    auth::verify(&env.caller, &request_hash, &signature).map_err(|_| AxonError::BadSignature)?;
    let request: PaidRequest<P::Request> =
        serde_json::from_slice(&body).map_err(|e| AxonError::BadRequest(e.to_string()))?;
    let (payment, paid_at) = pay(&inner, &env.caller, &request.payment).await?;
    let (miner, answer) = ask_best::<P>(&inner, &request.query).await?;
    let out = serde_json::to_vec(&PaidAnswer { answer, miner, payment, paid_at })
        .map_err(|e| AxonError::BadRequest(e.to_string()))?;
    let signature = auth::sign(&inner.key, &env.response_hash(&inner.genesis, &request_hash, &out));
    let mut response = (StatusCode::OK, Bytes::from(out)).into_response();
    response
        .headers_mut()
        .insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&signature) {
        response.headers_mut().insert(header::SIGNATURE, v);
    }
    Ok(response)
}

/// Checks that `payment` is `caller`'s transfer of at least the price to the payee on this
/// chain, spends it, submits it and waits until it is finalized: `(hash, block)`.
async fn pay(inner: &Inner, caller: &Address, payment: &str) -> Result<(Hash, u64), GatewayError> {
    let bytes =
        hex::decode(payment.trim_start_matches("0x")).map_err(|_| GatewayError::Unpaid("not hex".into()))?;
    let domain = inner.chain.domain().await;
    let tx = tao_tx::decode_and_verify(&bytes, &domain).map_err(|e| GatewayError::Unpaid(e.to_string()))?;
    let signed = tx.signed();
    if signed.tx.sender != *caller {
        return Err(GatewayError::Unpaid("the transfer is not from the request's signer".into()));
    }
    let call = &signed.tx.call;
    let method: &[u8] = &call.method;
    if call.contract != inner.token || !matches!(method, b"entry_transfer" | b"entry_transfer_keep_alive") {
        return Err(GatewayError::Unpaid("not a TAO transfer".into()));
    }
    let args: TransferArgs = tao_codec::decode(&call.args, tao_abi::limits::MAX_INPUT_BYTES as usize)
        .map_err(|e| GatewayError::Unpaid(e.to_string()))?;
    if args.to != inner.config.payee {
        return Err(GatewayError::Unpaid(format!(
            "the transfer pays {}, not {}",
            args.to, inner.config.payee
        )));
    }
    if args.amount < inner.config.price {
        return Err(GatewayError::Underpaid { paid: args.amount, price: inner.config.price });
    }
    spend(inner, tx.hash())?;
    let status = inner
        .chain
        .call("tx_status", vec![serde_json::to_value(tx.hash()).unwrap_or_default()])
        .await
        .map_err(|e| GatewayError::PaymentFailed(e.to_string()))?;
    if status["status"] == "finalized" {
        return Err(GatewayError::Spent(tx.hash()));
    }
    let done =
        inner.chain.submit_signed(&bytes).await.map_err(|e| GatewayError::PaymentFailed(e.to_string()))?;
    Ok((done.hash, done.height))
}

/// Marks `hash` spent, refusing one already spent.
fn spend(inner: &Inner, hash: Hash) -> Result<(), GatewayError> {
    let mut spent = inner.spent.lock().map_err(|_| GatewayError::PaymentFailed("gateway state".into()))?;
    if spent.len() >= MAX_SPENT {
        spent.pop_first();
    }
    if !spent.insert(hash) {
        return Err(GatewayError::Spent(hash));
    }
    Ok(())
}

/// The first answer among the `top` served miners by proven incentive (best first).
async fn ask_best<P: Protocol>(
    inner: &Inner,
    query: &P::Request,
) -> Result<(Uid, P::Response), GatewayError> {
    let metagraph = Metagraph::sync(&inner.chain, inner.config.netuid)
        .await
        .map_err(|e| GatewayError::NoAnswer(e.to_string()))?;
    let me = inner.key.address();
    let mut ranked: Vec<_> =
        metagraph.neurons.iter().filter(|n| n.hotkey != me && n.axon.is_some()).collect();
    ranked.sort_by_key(|n| (std::cmp::Reverse(n.scores.incentive), n.uid));
    let targets: Vec<Target> = ranked
        .iter()
        .take(inner.config.top)
        .filter_map(|n| n.axon.map(|addr| Target { uid: n.uid, hotkey: n.hotkey, addr }))
        .collect();
    let answers = inner.dendrite.query::<P>(&targets, query, inner.config.timeout).await;
    let mut why = String::from("no miner serves");
    for a in answers {
        match a.result {
            Ok(r) => return Ok((a.target.uid, r)),
            Err(e) => why = format!("UID {}: {e}", a.target.uid),
        }
    }
    Err(GatewayError::NoAnswer(why))
}

/// A client's side: the body and signed headers of a paid request from `coldkey` to the
/// gateway with hotkey `gateway`, paying with the signed transfer `payment`.
pub fn paid_request<R: Serialize>(
    coldkey: &SecretKey,
    gateway: Address,
    genesis: &Hash,
    query: R,
    payment: &tao_tx::SignedTransaction,
) -> (Vec<u8>, Vec<(&'static str, String)>) {
    let body = serde_json::to_vec(&PaidRequest { query, payment: hex::encode(payment.encode()) })
        .unwrap_or_default();
    let env = auth::Envelope {
        caller: coldkey.address(),
        target: gateway,
        nonce: auth::random_u64(),
        timestamp_ms: auth::now_ms(),
    };
    let headers = vec![
        (header::CALLER, env.caller.to_string()),
        (header::TARGET, env.target.to_string()),
        (header::NONCE, env.nonce.to_string()),
        (header::TIMESTAMP, env.timestamp_ms.to_string()),
        (header::SIGNATURE, auth::sign(coldkey, &env.request_hash(genesis, &body))),
    ];
    (body, headers)
}
