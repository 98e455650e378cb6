//! The miner's server: one typed endpoint per subnet protocol over HTTP. A request is answered
//! only if it is signed by a hotkey registered on the subnet (with enough stake) for this axon's
//! hotkey on this chain, fresh and never seen before; under load the callers with more stake go
//! first; bodies, concurrency and time are bounded; every answer is signed by the axon's hotkey.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tao_crypto::SecretKey;
use tao_types::{Address, Hash};
use tokio::sync::{oneshot, watch};

use crate::auth::{self, Envelope, header};
use crate::metagraph::Metagraph;

/// A subnet's request/response pair, served at `POST /<NAME>`.
pub trait Protocol: Send + Sync + 'static {
    /// The route and the protocol's name.
    const NAME: &'static str;
    /// What a validator asks.
    type Request: Serialize + DeserializeOwned + Send + Sync + 'static;
    /// What a miner answers.
    type Response: Serialize + DeserializeOwned + Send + Sync + 'static;
}

/// An axon's limits.
#[derive(Debug, Clone, Copy)]
pub struct AxonLimits {
    /// Largest request body, bytes.
    pub max_body: usize,
    /// Requests answered at once.
    pub max_concurrent: usize,
    /// Requests waiting for a slot (beyond it the one with the least stake is refused).
    pub max_queued: usize,
    /// Time from arrival to answer, queueing included.
    pub timeout: Duration,
    /// How far a request's timestamp may be from this axon's clock.
    pub freshness: Duration,
    /// Least stake (alpha on the subnet) a caller needs.
    pub min_stake: u64,
    /// Nonces remembered (within the freshness window) to refuse replays.
    pub max_remembered: usize,
}

impl Default for AxonLimits {
    fn default() -> Self {
        AxonLimits {
            max_body: 64 << 10,
            max_concurrent: 8,
            max_queued: 64,
            timeout: Duration::from_secs(10),
            freshness: Duration::from_secs(30),
            min_stake: 0,
            max_remembered: 1 << 16,
        }
    }
}

/// Why an axon refused a request; the HTTP status and the `code` of the JSON error body say which.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AxonError {
    /// A signature header is missing or malformed.
    #[error("unsigned request: missing or malformed {0}")]
    Unsigned(&'static str),
    /// The signature is not the caller's over this request.
    #[error("the signature is not the caller's over this request")]
    BadSignature,
    /// The request was signed for another axon's hotkey.
    #[error("request signed for {0}, not this axon")]
    WrongTarget(Address),
    /// The timestamp is outside the freshness window.
    #[error("stale request: timestamp {0} ms is outside the freshness window")]
    Stale(u64),
    /// This (caller, nonce) was already answered.
    #[error("replayed request: nonce {0} already used")]
    Replayed(u64),
    /// The caller's hotkey is not registered on the subnet.
    #[error("caller {0} is not registered on the subnet")]
    Unregistered(Address),
    /// The caller's stake is under the axon's threshold.
    #[error("caller stake {stake} is below the threshold {min}")]
    StakeTooLow {
        /// The caller's stake.
        stake: u64,
        /// What the axon asks.
        min: u64,
    },
    /// The body is larger than the axon takes.
    #[error("request body over {0} bytes")]
    TooLarge(usize),
    /// Every slot is taken by callers with at least as much stake.
    #[error("busy: try later")]
    Busy,
    /// The body is not this protocol's request.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The miner did not answer in time.
    #[error("timed out")]
    Timeout,
}

impl AxonError {
    /// A stable machine-readable name.
    pub fn code(&self) -> &'static str {
        match self {
            AxonError::Unsigned(_) => "unsigned",
            AxonError::BadSignature => "bad_signature",
            AxonError::WrongTarget(_) => "wrong_target",
            AxonError::Stale(_) => "stale",
            AxonError::Replayed(_) => "replayed",
            AxonError::Unregistered(_) => "unregistered",
            AxonError::StakeTooLow { .. } => "stake_too_low",
            AxonError::TooLarge(_) => "too_large",
            AxonError::Busy => "busy",
            AxonError::BadRequest(_) => "bad_request",
            AxonError::Timeout => "timeout",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            AxonError::Unsigned(_) | AxonError::BadSignature | AxonError::Stale(_) => {
                StatusCode::UNAUTHORIZED
            }
            AxonError::WrongTarget(_) => StatusCode::MISDIRECTED_REQUEST,
            AxonError::Replayed(_) => StatusCode::CONFLICT,
            AxonError::Unregistered(_) | AxonError::StakeTooLow { .. } => StatusCode::FORBIDDEN,
            AxonError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AxonError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AxonError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AxonError::Timeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }
}

impl IntoResponse for AxonError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"code": self.code(), "error": self.to_string()});
        (self.status(), axum::Json(body)).into_response()
    }
}

/// The miner's answer to one request (runs on a blocking thread: models compute).
pub type Handler<P> =
    Arc<dyn Fn(<P as Protocol>::Request) -> <P as Protocol>::Response + Send + Sync + 'static>;

/// A running axon's shared state.
struct Inner<P: Protocol> {
    key: SecretKey,
    genesis: Hash,
    limits: AxonLimits,
    metagraph: watch::Receiver<Arc<Metagraph>>,
    handler: Handler<P>,
    seen: std::sync::Mutex<Seen>,
    gate: Gate,
}

/// The axon: serve it on a listener with [`Axon::serve`].
pub struct Axon<P: Protocol> {
    inner: Arc<Inner<P>>,
}

impl<P: Protocol> Axon<P> {
    /// An axon for hotkey `key` on the chain with `genesis`, admitting the callers `metagraph`
    /// lists (kept current by [`crate::follow`]).
    pub fn new(
        key: SecretKey,
        genesis: Hash,
        limits: AxonLimits,
        metagraph: watch::Receiver<Arc<Metagraph>>,
        handler: Handler<P>,
    ) -> Axon<P> {
        let gate = Gate::new(limits.max_concurrent, limits.max_queued);
        Axon {
            inner: Arc::new(Inner {
                key,
                genesis,
                limits,
                metagraph,
                handler,
                seen: std::sync::Mutex::new(Seen::default()),
                gate,
            }),
        }
    }

    /// Serves `POST /<P::NAME>` on `listener` until the task is dropped.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        let router = axum::Router::new()
            .route(&format!("/{}", P::NAME), axum::routing::post(answer::<P>))
            .with_state(self.inner);
        axum::serve(listener, router).await
    }
}

/// One request, checked in order: signed, for us, fresh, small enough, by a registered and
/// staked caller, never seen; then queued by stake, answered within the time limit, and signed.
async fn answer<P: Protocol>(
    State(inner): State<Arc<Inner<P>>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AxonError> {
    let deadline = tokio::time::Instant::now() + inner.limits.timeout;
    let (envelope, signature) = envelope(&headers)?;
    let us = inner.key.address();
    if envelope.target != us {
        return Err(AxonError::WrongTarget(envelope.target));
    }
    let freshness = u64::try_from(inner.limits.freshness.as_millis()).unwrap_or(u64::MAX);
    if auth::now_ms().abs_diff(envelope.timestamp_ms) > freshness {
        return Err(AxonError::Stale(envelope.timestamp_ms));
    }
    let body = read_body(&headers, body, inner.limits.max_body).await?;
    let request_hash = envelope.request_hash(&inner.genesis, &body);
    auth::verify(&envelope.caller, &request_hash, &signature).map_err(|_| AxonError::BadSignature)?;
    let stake = caller_stake(&inner, &envelope.caller)?;
    remember(&inner, &envelope, freshness)?;
    let _permit = tokio::time::timeout_at(deadline, inner.gate.enter(stake))
        .await
        .map_err(|_| AxonError::Timeout)??;
    let request: P::Request =
        serde_json::from_slice(&body).map_err(|e| AxonError::BadRequest(e.to_string()))?;
    let handler = inner.handler.clone();
    let response = tokio::time::timeout_at(deadline, tokio::task::spawn_blocking(move || handler(request)))
        .await
        .map_err(|_| AxonError::Timeout)?
        .map_err(|_| AxonError::Timeout)?;
    let out = serde_json::to_vec(&response).map_err(|e| AxonError::BadRequest(e.to_string()))?;
    let signature = auth::sign(&inner.key, &envelope.response_hash(&inner.genesis, &request_hash, &out));
    let mut response = (StatusCode::OK, Bytes::from(out)).into_response();
    let headers = response.headers_mut();
    headers.insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&signature) {
        headers.insert(header::SIGNATURE, v);
    }
    Ok(response)
}

/// The signed envelope and signature from the headers.
pub(crate) fn envelope(headers: &HeaderMap) -> Result<(Envelope, String), AxonError> {
    let get =
        |name: &'static str| headers.get(name).and_then(|v| v.to_str().ok()).ok_or(AxonError::Unsigned(name));
    let parse_u64 = |name: &'static str| get(name)?.parse::<u64>().map_err(|_| AxonError::Unsigned(name));
    let address = |name: &'static str| get(name)?.parse::<Address>().map_err(|_| AxonError::Unsigned(name));
    let envelope = Envelope {
        caller: address(header::CALLER)?,
        target: address(header::TARGET)?,
        nonce: parse_u64(header::NONCE)?,
        timestamp_ms: parse_u64(header::TIMESTAMP)?,
    };
    Ok((envelope, get(header::SIGNATURE)?.to_string()))
}

/// The body, refused as soon as it (or its announced length) passes `max`.
pub(crate) async fn read_body(headers: &HeaderMap, body: Body, max: usize) -> Result<Bytes, AxonError> {
    let announced = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > max as u64) {
        return Err(AxonError::TooLarge(max));
    }
    axum::body::to_bytes(body, max).await.map_err(|_| AxonError::TooLarge(max))
}

/// The caller's stake, if it is registered with at least the axon's threshold.
fn caller_stake<P: Protocol>(inner: &Inner<P>, caller: &Address) -> Result<u64, AxonError> {
    let metagraph = inner.metagraph.borrow().clone();
    let neuron = metagraph.by_hotkey(caller).ok_or(AxonError::Unregistered(*caller))?;
    if neuron.stake < inner.limits.min_stake {
        return Err(AxonError::StakeTooLow { stake: neuron.stake, min: inner.limits.min_stake });
    }
    Ok(neuron.stake)
}

/// Nonces answered within the freshness window, by (caller, nonce), with their timestamps.
#[derive(Default)]
struct Seen {
    nonces: BTreeMap<(Address, u64), u64>,
}

/// Records the request's nonce, refusing one already recorded (old ones are forgotten once
/// outside the window, when their timestamps would be refused anyway).
fn remember<P: Protocol>(inner: &Inner<P>, envelope: &Envelope, freshness: u64) -> Result<(), AxonError> {
    let mut seen = inner.seen.lock().map_err(|_| AxonError::Busy)?;
    let oldest = auth::now_ms().saturating_sub(freshness);
    if seen.nonces.len() >= inner.limits.max_remembered {
        seen.nonces.retain(|_, t| *t >= oldest);
    }
    if seen.nonces.len() >= inner.limits.max_remembered {
        return Err(AxonError::Busy);
    }
    let key = (envelope.caller, envelope.nonce);
    if seen.nonces.contains_key(&key) {
        return Err(AxonError::Replayed(envelope.nonce));
    }
    seen.nonces.insert(key, envelope.timestamp_ms);
    Ok(())
}

/// Admission by stake: `max_concurrent` run, `max_queued` wait; a free slot goes to the waiter
/// with the most stake (the earliest among equals); a full queue refuses the one with the least.
struct Gate {
    max_running: usize,
    max_waiting: usize,
    state: std::sync::Mutex<GateState>,
}

#[derive(Default)]
struct GateState {
    running: usize,
    next: u64,
    waiting: BTreeMap<(u64, Reverse<u64>), oneshot::Sender<()>>,
}

/// A running slot; dropping it hands the slot on.
struct Permit<'a>(&'a Gate);

impl Gate {
    fn new(max_running: usize, max_waiting: usize) -> Gate {
        Gate { max_running, max_waiting, state: std::sync::Mutex::new(GateState::default()) }
    }

    async fn enter(&self, stake: u64) -> Result<Permit<'_>, AxonError> {
        let rx = {
            let mut state = self.state.lock().map_err(|_| AxonError::Busy)?;
            if state.running < self.max_running {
                state.running += 1;
                return Ok(Permit(self));
            }
            if state.waiting.len() >= self.max_waiting {
                match state.waiting.first_key_value() {
                    Some((&(least, _), _)) if least < stake => {
                        state.waiting.pop_first(); // its receiver learns it was refused
                    }
                    _ => return Err(AxonError::Busy),
                }
            }
            let (tx, rx) = oneshot::channel();
            let seq = state.next;
            state.next = state.next.wrapping_add(1);
            state.waiting.insert((stake, Reverse(seq)), tx);
            rx
        };
        rx.await.map_err(|_| AxonError::Busy)?;
        Ok(Permit(self))
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let Ok(mut state) = self.0.state.lock() else { return };
        while let Some((_, waiter)) = state.waiting.pop_last() {
            if waiter.send(()).is_ok() {
                return; // the slot passes on
            }
        }
        state.running = state.running.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use super::*;

    #[tokio::test]
    async fn a_free_slot_goes_to_the_most_stake_and_a_full_queue_drops_the_least() {
        let gate = Arc::new(Gate::new(1, 2));
        let first = gate.enter(0).await.unwrap();
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for stake in [5u64, 50] {
            let (gate, order) = (gate.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let r = gate.enter(stake).await.map(|_| ());
                order.lock().unwrap().push((stake, r.is_ok()));
            }));
            tokio::task::yield_now().await;
        }
        // The queue is full (5 and 50 wait): 1 is refused at once, 9 evicts 5.
        assert_eq!(gate.enter(1).await.err(), Some(AxonError::Busy));
        let g = gate.clone();
        let nine = tokio::spawn(async move { g.enter(9).await.map(|_| ()) });
        tokio::task::yield_now().await;
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        assert!(nine.await.unwrap().is_ok());
        assert_eq!(*order.lock().unwrap(), vec![(5, false), (50, true)]);
        assert_eq!(gate.state.lock().unwrap().running, 0);
    }
}
