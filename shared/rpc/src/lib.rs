//! The node's JSON-RPC schema (docs/rpc.md), spelled once: what each method answers, as serde
//! types, and the error codes. The node (`tao_node::rpc`, `tao light`) builds these values, and
//! every client (the CLI, `tao_light::rpc` for the wallet and the JS package) decodes replies
//! into them, so the three can no longer drift apart.
//!
//! A decoded reply is still only the node's word: its `encoded` bytes and proofs are checked by
//! `tao_light` before anything in it is believed. Decoding itself treats every byte as
//! adversarial: [`decode`] names the field that failed, and sizes are bounded by the callers'
//! response limits and by `tao_codec::decode` on the `encoded` bytes.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tao_types::Hash;

mod methods;
pub use methods::*;

/// Error codes (JSON-RPC reserves −32768..−32000 for the protocol itself).
pub mod code {
    /// Parameters did not parse (bad hex, bad address, wrong count).
    pub const INVALID_PARAMS: i32 = -32602;
    /// The transaction was refused (bad signature, nonce, mempool limits…).
    pub const TX_REFUSED: i32 = 1;
    /// The height is pruned or in the future, or the asked thing does not exist there.
    pub const NO_STATE: i32 = 2;
    /// The node itself failed.
    pub const NODE: i32 = 3;
    /// A query's entry point (or a swap quote) refused; its message is the error.
    pub const QUERY_FAILED: i32 = 4;
    /// The node is busy (its signature-checking queue is full): nothing was done; retry.
    pub const BUSY: i32 = 5;
    /// `tao light` could not prove a value (the key and the reason in the message).
    pub const UNVERIFIED: i32 = 6;
    /// `tao light`'s upstream node is unreachable, or answers garbage.
    pub const UNREACHABLE: i32 = 7;
    /// Too many subscriptions (per connection, or per client).
    pub const TOO_MANY_SUBSCRIPTIONS: i32 = -32006;
    /// A batch refused before any call ran: too many calls, or costing too much.
    pub const BATCH_REFUSED: i32 = -32010;
}

/// Why a reply did not decode into its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {path}: {why}")]
pub struct DecodeError {
    /// What was being decoded (a method's reply, a field).
    pub what: String,
    /// The path of the field that failed inside it (`validators[0].power`; `.` for the whole).
    pub path: String,
    /// Why.
    pub why: String,
}

/// Decodes `value` (a reply's `result`, untrusted) as `T`, naming the field that failed.
pub fn decode<T: DeserializeOwned>(value: &serde_json::Value, what: &str) -> Result<T, DecodeError> {
    serde_path_to_error::deserialize(value).map_err(|e| DecodeError {
        what: what.to_string(),
        path: e.path().to_string(),
        why: e.into_inner().to_string(),
    })
}

/// Encodes a reply as JSON (infallible for these types: string keys, no maps of other keys).
pub fn encode<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// A method of docs/rpc.md: its name and the type of its `result`.
pub trait Method {
    /// The JSON-RPC method name.
    const NAME: &'static str;
    /// What it answers.
    type Reply: Serialize + DeserializeOwned;
}

/// A byte string on the wire: `0x`-prefixed lowercase hex (accepted without the prefix too).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    /// `0x`-prefixed hex of `bytes`.
    pub fn hex(bytes: &[u8]) -> String {
        format!("0x{}", hex::encode(bytes))
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(bytes: Vec<u8>) -> Bytes {
        Bytes(bytes)
    }
}

impl From<&[u8]> for Bytes {
    fn from(bytes: &[u8]) -> Bytes {
        Bytes(bytes.to_vec())
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&Bytes::hex(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let digits = s.strip_prefix("0x").unwrap_or(&s);
        hex::decode(digits).map(Bytes).map_err(|e| serde::de::Error::custom(format!("bad hex: {e}")))
    }
}

/// A `u128` on the wire: a decimal string (JSON numbers lose precision past 2⁵³ in browsers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Decimal(pub u128);

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map(Decimal).map_err(|e| serde::de::Error::custom(format!("not a decimal u128: {e}")))
    }
}

/// A value under a key at a height with its proof (`state_get`, and inside every proven read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proven {
    /// The height whose state root it is proven against.
    pub height: u64,
    /// That state root (the node's word; clients take the root from the certified header).
    pub root: Option<Hash>,
    /// The key.
    pub key: Bytes,
    /// The value, or none (an absent key is proven absent).
    pub value: Option<Bytes>,
    /// A `tao_state::StateProof`, encoded; left out by `tao light` when it serves no proofs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Bytes>,
}

/// A proven value with its borsh decoding beside it (null when absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenAs<T> {
    /// The value and its proof.
    #[serde(flatten)]
    pub proven: Proven,
    /// The value decoded.
    pub decoded: Option<T>,
}

#[cfg(test)]
mod tests;
