//! JSON-RPC 2.0 messages to and from the node. Replies are untrusted: they are decoded here into
//! the schema's types (`tao_rpc`) with errors naming the field, and nothing in them is believed
//! until [`crate::chain`] checks it.

use crate::{Certificate, Header, MAX_CERTIFICATE_BYTES, MAX_HEADER_BYTES, MAX_VALIDATORS, Validator};
use serde_json::{Value, json};
use tao_types::Hash;

use crate::VerifyError;

/// Most keys read in one batch (one round trip).
pub const MAX_BATCH: usize = 512;

/// A request body for `method` with positional `params`.
pub fn request(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// A batch of `state_get` requests for `keys` at `height` (ids are the keys' positions).
pub fn state_batch(keys: &[Vec<u8>], height: u64) -> Value {
    Value::Array(
        keys.iter()
            .enumerate()
            .map(|(i, k)| request(i as u64, "state_get", json!([hex0x(k), height])))
            .collect(),
    )
}

/// The `result` of one reply, or the node's error as text.
pub fn result(reply: &Value) -> Result<&Value, VerifyError> {
    if let Some(error) = reply.get("error") {
        let message = error.get("message").and_then(Value::as_str).unwrap_or("no message");
        return Err(VerifyError::Node(message.to_string()));
    }
    reply.get("result").ok_or_else(|| malformed("reply", "no result"))
}

/// The results of a batch reply in request order (ids `0..len`).
pub fn batch_results(reply: &Value, len: usize) -> Result<Vec<Value>, VerifyError> {
    let items = reply.as_array().ok_or_else(|| malformed("batch reply", "not an array"))?;
    let mut out = vec![Value::Null; len];
    for item in items {
        let id = item.get("id").and_then(Value::as_u64).ok_or_else(|| malformed("batch reply", "no id"))?;
        let slot = out.get_mut(id as usize).ok_or_else(|| malformed("batch reply", "unknown id"))?;
        *slot = result(item)?.clone();
    }
    if out.iter().any(Value::is_null) {
        return Err(malformed("batch reply", "an answer is missing"));
    }
    Ok(out)
}

/// A [`VerifyError::Malformed`] for `what`.
pub fn malformed(what: &str, why: impl ToString) -> VerifyError {
    VerifyError::Malformed { what: what.to_string(), why: why.to_string() }
}

/// `0x`-prefixed hex.
pub fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// Bytes of a JSON `0x`-hex string field.
pub fn unhex(v: &Value, what: &str) -> Result<Vec<u8>, VerifyError> {
    let s = v.as_str().ok_or_else(|| malformed(what, "expected a hex string"))?;
    hex::decode(s.trim_start_matches("0x")).map_err(|e| malformed(what, e))
}

/// The value encoded in a JSON `0x`-hex string field, at most `limit` bytes and nothing after it.
pub fn decoded<T: borsh::BorshDeserialize>(v: &Value, what: &str, limit: usize) -> Result<T, VerifyError> {
    tao_codec::decode(&unhex(v, what)?, limit).map_err(|e| malformed(what, e))
}

/// `reply` decoded as the schema's `T`; a failure names the field.
pub fn typed<T: serde::de::DeserializeOwned>(reply: &Value, what: &str) -> Result<T, VerifyError> {
    tao_rpc::decode(reply, what).map_err(|e| malformed(what, format!("{}: {}", e.path, e.why)))
}

/// The value of schema bytes, at most `limit` bytes and nothing after it.
pub fn borsh_of<T: borsh::BorshDeserialize>(
    bytes: &tao_rpc::Bytes,
    what: &str,
    limit: usize,
) -> Result<T, VerifyError> {
    tao_codec::decode(&bytes.0, limit).map_err(|e| malformed(what, e))
}

/// A header and its certificate from a `chain_header` reply (not yet believed): only their
/// encoded bytes are read (`tao_rpc::HeaderBytes`).
pub fn header(reply: &Value) -> Result<(Header, Certificate), VerifyError> {
    let got: tao_rpc::HeaderBytes = typed(reply, "chain_header")?;
    let header = borsh_of(&got.header.encoded, "header", MAX_HEADER_BYTES)?;
    let certificate = borsh_of(&got.certificate.encoded, "certificate", MAX_CERTIFICATE_BYTES)?;
    Ok((header, certificate))
}

/// What `chain_info` announces: the genesis hash and the validator set (both checked later
/// against the genesis header). Its `chain_id` is never read: the chain id is the pinned
/// genesis header's.
pub fn chain_info(reply: &Value) -> Result<(Hash, Vec<Validator>), VerifyError> {
    let info: tao_rpc::ChainInfo = typed(reply, "chain_info")?;
    Ok((info.genesis_hash, validators(&info.validators)?))
}

/// The validator set of a `chain_validators` reply (believed only if it hashes to what a
/// believed header names).
pub fn validator_set(reply: &Value) -> Result<Vec<Validator>, VerifyError> {
    let set: tao_rpc::ChainValidators = typed(reply, "chain_validators")?;
    validators(&set.validators)
}

/// Listed validators, at most [`MAX_VALIDATORS`].
fn validators(list: &[tao_rpc::ValidatorKey]) -> Result<Vec<Validator>, VerifyError> {
    if list.len() > MAX_VALIDATORS {
        return Err(malformed("validators", format!("more than {MAX_VALIDATORS}")));
    }
    list.iter().map(validator).collect()
}

/// A listed validator's key, checked to be a compressed secp256k1 point.
fn validator(v: &tao_rpc::ValidatorKey) -> Result<Validator, VerifyError> {
    let key: [u8; 33] =
        v.key.0.as_slice().try_into().map_err(|_| malformed("validator key", "not 33 bytes"))?;
    Ok(Validator {
        key: tao_crypto::PublicKey::from_compressed(&key).map_err(|e| malformed("validator key", e))?,
        power: v.power,
    })
}
