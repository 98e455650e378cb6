//! The validator's client: signs a request for each axon, sends them all at once with a
//! deadline, and keeps only answers signed by the hotkey it asked.

use std::net::SocketAddr;
use std::time::Duration;

use tao_crypto::SecretKey;
use tao_types::{Address, Hash, Uid};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::auth::{self, Envelope, header};
use crate::axon::Protocol;

/// Largest answer read from an axon.
pub const MAX_RESPONSE: usize = 1 << 20;

/// Why one axon gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DendriteError {
    /// No answer within the deadline.
    #[error("timed out")]
    Timeout,
    /// Connecting, sending or reading failed.
    #[error("transport: {0}")]
    Transport(String),
    /// The axon refused: its HTTP status and error `code`.
    #[error("refused ({status}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The axon's error `code` and message.
        message: String,
    },
    /// The answer is not signed by the hotkey asked, or not for this request.
    #[error("the answer is not signed by the axon's hotkey")]
    BadSignature,
    /// The answer is not this protocol's response.
    #[error("malformed answer: {0}")]
    Malformed(String),
}

/// One axon to ask.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Its UID.
    pub uid: Uid,
    /// Its hotkey (the answer must be signed by it).
    pub hotkey: Address,
    /// Where it listens.
    pub addr: SocketAddr,
}

/// One axon's outcome.
#[derive(Debug)]
pub struct Answer<R> {
    /// Who was asked.
    pub target: Target,
    /// What it answered.
    pub result: Result<R, DendriteError>,
    /// Time from sending to the verified answer (or the failure).
    pub latency: Duration,
}

/// A validator's client, signing as its hotkey.
pub struct Dendrite {
    key: SecretKey,
    genesis: Hash,
}

impl Dendrite {
    /// A client for the chain with `genesis`, signing with hotkey `key`.
    pub fn new(key: SecretKey, genesis: Hash) -> Dendrite {
        Dendrite { key, genesis }
    }

    /// Asks every target `request` concurrently; each answer within `timeout` (a slow axon costs
    /// only its own slot).
    pub async fn query<P: Protocol>(
        &self,
        targets: &[Target],
        request: &P::Request,
        timeout: Duration,
    ) -> Vec<Answer<P::Response>> {
        let body = match serde_json::to_vec(request) {
            Ok(b) => b,
            Err(e) => {
                let failed = |t: &Target| Answer {
                    target: *t,
                    result: Err(DendriteError::Malformed(e.to_string())),
                    latency: Duration::ZERO,
                };
                return targets.iter().map(failed).collect();
            }
        };
        let mut set = tokio::task::JoinSet::new();
        for (i, target) in targets.iter().copied().enumerate() {
            let signed = self.sign(&target, &body);
            let body = body.clone();
            let genesis = self.genesis;
            set.spawn(async move {
                let start = Instant::now();
                let result = tokio::time::timeout(timeout, ask::<P>(target, signed, &body, &genesis))
                    .await
                    .unwrap_or(Err(DendriteError::Timeout));
                (i, Answer { target, result, latency: start.elapsed() })
            });
        }
        let mut out: Vec<Option<Answer<P::Response>>> = targets.iter().map(|_| None).collect();
        while let Some(done) = set.join_next().await {
            if let Ok((i, answer)) = done {
                out[i] = Some(answer);
            }
        }
        out.into_iter().flatten().collect()
    }

    /// The envelope, its hash and signature for `body` to `target`.
    fn sign(&self, target: &Target, body: &[u8]) -> Signed {
        let envelope = Envelope {
            caller: self.key.address(),
            target: target.hotkey,
            nonce: auth::random_u64(),
            timestamp_ms: auth::now_ms(),
        };
        let hash = envelope.request_hash(&self.genesis, body);
        Signed { envelope, hash, signature: auth::sign(&self.key, &hash) }
    }
}

/// A signed request's headers.
pub(crate) struct Signed {
    pub(crate) envelope: Envelope,
    pub(crate) hash: [u8; 32],
    pub(crate) signature: String,
}

impl Signed {
    /// The header lines carrying the envelope.
    pub(crate) fn headers(&self) -> String {
        let e = &self.envelope;
        format!(
            "{}: {}\r\n{}: {}\r\n{}: {}\r\n{}: {}\r\n{}: {}\r\n",
            header::CALLER,
            e.caller,
            header::TARGET,
            e.target,
            header::NONCE,
            e.nonce,
            header::TIMESTAMP,
            e.timestamp_ms,
            header::SIGNATURE,
            self.signature
        )
    }
}

/// Sends one signed request and checks the answer's signature.
async fn ask<P: Protocol>(
    target: Target,
    signed: Signed,
    body: &[u8],
    genesis: &Hash,
) -> Result<P::Response, DendriteError> {
    let (status, headers, answer) = post(target.addr, P::NAME, &signed.headers(), body).await?;
    if status != 200 {
        let message = String::from_utf8_lossy(&answer).into_owned();
        return Err(DendriteError::Refused { status, message });
    }
    let signature = header_value(&headers, header::SIGNATURE).ok_or(DendriteError::BadSignature)?;
    let hash = signed.envelope.response_hash(genesis, &signed.hash, &answer);
    auth::verify(&target.hotkey, &hash, signature).map_err(|_| DendriteError::BadSignature)?;
    serde_json::from_slice(&answer).map_err(|e| DendriteError::Malformed(e.to_string()))
}

/// A value of the response's `name` header (case-insensitive).
fn header_value<'a>(headers: &'a str, name: &str) -> Option<&'a str> {
    headers.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

/// `POST /<path>` over one HTTP/1.1 connection (closed after): `(status, headers, body)`, the
/// answer bounded by [`MAX_RESPONSE`].
pub(crate) async fn post(
    addr: SocketAddr,
    path: &str,
    extra_headers: &str,
    body: &[u8],
) -> Result<(u16, String, Vec<u8>), DendriteError> {
    let transport = |e: std::io::Error| DendriteError::Transport(e.to_string());
    let mut stream = TcpStream::connect(addr).await.map_err(transport)?;
    let head = format!(
        "POST /{path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra_headers}\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.map_err(transport)?;
    stream.write_all(body).await.map_err(transport)?;
    let mut raw = Vec::new();
    (&mut stream).take(MAX_RESPONSE as u64 + 4096).read_to_end(&mut raw).await.map_err(transport)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| DendriteError::Malformed("no header end".into()))?;
    let headers = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = headers
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| DendriteError::Malformed("no status".into()))?;
    let body = raw[split + 4..].to_vec();
    if body.len() > MAX_RESPONSE {
        return Err(DendriteError::Malformed("answer too large".into()));
    }
    Ok((status, headers, body))
}
