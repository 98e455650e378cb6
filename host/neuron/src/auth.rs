//! What an axon request and its answer sign: a domain of their own (never a transaction's or a
//! wallet message's), the chain's genesis hash, both hotkeys, a nonce, a timestamp and the body.

use tao_crypto::{SecretKey, Signature};
use tao_types::{Address, Hash, keccak256};

use crate::NeuronError;

/// Domain tag of a request preimage.
const REQUEST_DOMAIN: &[u8] = b"wasmtensor/axon-request/v1";
/// Domain tag of a response preimage.
const RESPONSE_DOMAIN: &[u8] = b"wasmtensor/axon-response/v1";

/// HTTP headers carrying the envelope.
pub mod header {
    /// The caller's hotkey (EIP-55 address).
    pub const CALLER: &str = "x-tao-caller";
    /// The hotkey the request is meant for.
    pub const TARGET: &str = "x-tao-target";
    /// A number the caller never repeats to this target within the freshness window.
    pub const NONCE: &str = "x-tao-nonce";
    /// Caller's clock, milliseconds since the Unix epoch.
    pub const TIMESTAMP: &str = "x-tao-timestamp";
    /// 65-byte recoverable signature, hex.
    pub const SIGNATURE: &str = "x-tao-signature";
}

/// The signed fields of a request, besides its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope {
    /// The caller's hotkey.
    pub caller: Address,
    /// The axon's hotkey.
    pub target: Address,
    /// Unique per (caller, target) within the freshness window.
    pub nonce: u64,
    /// Caller's clock (ms since the Unix epoch).
    pub timestamp_ms: u64,
}

impl Envelope {
    /// The hash the caller signs for `body` on the chain with `genesis`.
    pub fn request_hash(&self, genesis: &Hash, body: &[u8]) -> [u8; 32] {
        let mut pre = Vec::with_capacity(REQUEST_DOMAIN.len() + 32 + 20 + 20 + 16 + 32);
        pre.extend_from_slice(REQUEST_DOMAIN);
        pre.extend_from_slice(&genesis.0);
        pre.extend_from_slice(&self.caller.0);
        pre.extend_from_slice(&self.target.0);
        pre.extend_from_slice(&self.nonce.to_le_bytes());
        pre.extend_from_slice(&self.timestamp_ms.to_le_bytes());
        pre.extend_from_slice(&keccak256(body));
        keccak256(&pre)
    }

    /// The hash the responder signs for its answer `body` to this request (so an answer is
    /// bound to the question and cannot be replayed to another).
    pub fn response_hash(&self, genesis: &Hash, request: &[u8; 32], body: &[u8]) -> [u8; 32] {
        let mut pre = Vec::with_capacity(RESPONSE_DOMAIN.len() + 32 + 20 + 32 + 32);
        pre.extend_from_slice(RESPONSE_DOMAIN);
        pre.extend_from_slice(&genesis.0);
        pre.extend_from_slice(&self.target.0);
        pre.extend_from_slice(request);
        pre.extend_from_slice(&keccak256(body));
        keccak256(&pre)
    }
}

/// Signs `hash` with `key`, as hex.
pub fn sign(key: &SecretKey, hash: &[u8; 32]) -> String {
    hex::encode(key.sign_hash(hash).0)
}

/// Checks that `signature` (hex) over `hash` was made by `signer`.
pub fn verify(signer: &Address, hash: &[u8; 32], signature: &str) -> Result<(), NeuronError> {
    let bytes: [u8; 65] =
        hex::decode(signature).ok().and_then(|b| b.try_into().ok()).ok_or(NeuronError::BadSignature)?;
    let key = Signature(bytes).recover(hash).map_err(|_| NeuronError::BadSignature)?;
    if key.address() != *signer {
        return Err(NeuronError::BadSignature);
    }
    key.verify_hash(hash, &Signature(bytes)).map_err(|_| NeuronError::BadSignature)
}

/// Milliseconds since the Unix epoch (neurons are not consensus code: the freshness window is
/// wall-clock time).
#[allow(clippy::disallowed_methods, reason = "the freshness of a request is wall-clock time")]
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A fresh random nonce.
pub fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    // The OS generator failing is not recoverable; a zero nonce is then refused as a replay at worst.
    let _ = getrandom::getrandom(&mut bytes);
    u64::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use super::*;

    fn key(b: u8) -> SecretKey {
        SecretKey::from_bytes(&[b; 32]).unwrap()
    }

    #[test]
    fn a_request_signature_binds_every_field_and_is_no_transaction_signature() {
        let (caller, target) = (key(1), key(2));
        let env =
            Envelope { caller: caller.address(), target: target.address(), nonce: 7, timestamp_ms: 1000 };
        let genesis = Hash([9; 32]);
        let hash = env.request_hash(&genesis, b"body");
        let sig = sign(&caller, &hash);
        verify(&caller.address(), &hash, &sig).unwrap();
        let changed = [
            Envelope { nonce: 8, ..env }.request_hash(&genesis, b"body"),
            Envelope { timestamp_ms: 1001, ..env }.request_hash(&genesis, b"body"),
            Envelope { target: caller.address(), ..env }.request_hash(&genesis, b"body"),
            env.request_hash(&Hash([8; 32]), b"body"),
            env.request_hash(&genesis, b"bodz"),
        ];
        for other in changed {
            assert_eq!(verify(&caller.address(), &other, &sig), Err(NeuronError::BadSignature));
        }
        assert_eq!(verify(&target.address(), &hash, &sig), Err(NeuronError::BadSignature));
        assert_eq!(verify(&caller.address(), &hash, "00"), Err(NeuronError::BadSignature));
        // Another domain: the same fields never hash like a transaction or a wallet message.
        let domain = tao_crypto::ChainDomain { chain_id: 1, genesis_hash: genesis };
        assert_ne!(hash, domain.signing_hash(b"body"));
        assert_ne!(hash, tao_crypto::message_hash(b"body"));
        assert_ne!(env.response_hash(&genesis, &hash, b"body"), hash);
    }
}
