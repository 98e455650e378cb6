//! The wallet's parsing of node replies (`tao_wallet::rpc`), which are untrusted: no reply makes
//! it panic, and what it accepts respects its bounds. Input: a mode byte (top bit set: a JSON
//! tree built from the rest through `Unstructured`, with hex fields from valid encodings; else
//! the rest is reply text), whose low three bits also give the batch length expected.

use arbitrary::Unstructured;
use serde_json::{Value, json};
use tao_light::MAX_VALIDATORS;
use tao_wallet::rpc;

use super::Harness;
use super::fixtures;

/// The harness.
pub struct WalletRpc {
    /// Valid encodings the structured mode puts in hex fields.
    encodings: Vec<Vec<u8>>,
}

impl WalletRpc {
    pub fn new() -> WalletRpc {
        let header = fixtures::header(3);
        WalletRpc {
            encodings: vec![
                tao_codec::encode(&header),
                tao_codec::encode(&fixtures::certificate(&header)),
                fixtures::key(1).public_key().to_compressed().to_vec(),
                vec![9; 32],
            ],
        }
    }

    fn header_reply(&self) -> Value {
        let header = fixtures::header(3);
        json!({
            "header": { "encoded": rpc::hex0x(&tao_codec::encode(&header)), "height": 3 },
            "certificate": { "encoded": rpc::hex0x(&tao_codec::encode(&fixtures::certificate(&header))) },
        })
    }

    fn chain_info_reply(&self) -> Value {
        let validators: Vec<Value> = (1..=3)
            .map(|n| json!({"key": rpc::hex0x(&fixtures::key(n).public_key().to_compressed()), "power": n}))
            .collect();
        json!({ "chain_id": 42, "genesis_hash": rpc::hex0x(&[9; 32]), "height": 3, "validators": validators })
    }

    /// A JSON value from `u`, at most `depth` levels deep.
    fn value(&self, u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<Value> {
        const KEYS: &[&str] = &[
            "result",
            "error",
            "message",
            "id",
            "header",
            "certificate",
            "encoded",
            "chain_id",
            "genesis_hash",
            "validators",
            "key",
            "power",
            "jsonrpc",
        ];
        Ok(match u.int_in_range(0..=if depth == 0 { 5 } else { 7 })? {
            0 => Value::Null,
            1 => json!(u.arbitrary::<bool>()?),
            2 => json!(u.arbitrary::<u64>()?),
            3 => json!(u.arbitrary::<i64>()?),
            4 => {
                let mut bytes = u.choose(&self.encodings)?.clone();
                if u.ratio(1, 2)? && !bytes.is_empty() {
                    let i = u.choose_index(bytes.len())?;
                    bytes[i] ^= u.arbitrary::<u8>()?.max(1);
                }
                json!(if u.arbitrary()? { rpc::hex0x(&bytes) } else { hex::encode(&bytes) })
            }
            5 => json!(u.arbitrary::<String>()?),
            6 => {
                let n = u.int_in_range(0..=4)?;
                Value::Array((0..n).map(|_| self.value(u, depth - 1)).collect::<arbitrary::Result<_>>()?)
            }
            _ => {
                let mut map = serde_json::Map::new();
                for _ in 0..u.int_in_range(0..=5)? {
                    map.insert(u.choose(KEYS)?.to_string(), self.value(u, depth - 1)?);
                }
                Value::Object(map)
            }
        })
    }
}

/// Every parser on `reply`, checking what they accept.
fn parse(reply: &Value, batch: usize) -> Result<(), String> {
    let inner = rpc::result(reply).ok();
    for v in [Some(reply), inner].into_iter().flatten() {
        let _ = rpc::header(v);
        let _ = rpc::unhex(v, "value");
        let _ = rpc::unhex(&v["encoded"], "value");
        if let Ok((_, validators)) = rpc::chain_info(v)
            && validators.len() > MAX_VALIDATORS
        {
            return Err(format!("chain_info accepted {} validators", validators.len()));
        }
    }
    if let Ok(results) = rpc::batch_results(reply, batch) {
        if results.len() != batch || results.iter().any(Value::is_null) {
            return Err(format!("a batch of {batch} parsed as {results:?}"));
        }
        for r in &results {
            let _ = rpc::header(r);
            let _ = rpc::chain_info(r);
        }
    }
    Ok(())
}

impl Harness for WalletRpc {
    fn name(&self) -> &'static str {
        "wallet_rpc"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        let header = self.header_reply();
        let info = self.chain_info_reply();
        let replies = [
            (1u8, json!({"jsonrpc": "2.0", "id": 1, "result": header})),
            (1, json!({"jsonrpc": "2.0", "id": 1, "result": info})),
            (1, json!({"jsonrpc": "2.0", "id": 1, "error": {"code": 2, "message": "pruned"}})),
            (
                2,
                json!([
                    {"jsonrpc": "2.0", "id": 1, "result": {"value": "0x0102", "height": 3}},
                    {"jsonrpc": "2.0", "id": 0, "result": header},
                ]),
            ),
            (
                3,
                json!([{"id": 0, "result": 1}, {"id": 2, "result": info}, {"id": 1, "error": {"message": "no"}}]),
            ),
        ];
        replies
            .iter()
            .map(|(batch, reply)| [vec![*batch], reply.to_string().into_bytes()].concat())
            .chain(
                (0x80..0x88u8)
                    .map(|m| [m].into_iter().chain((0..255u8).map(|i| i.wrapping_mul(m))).collect()),
            )
            .collect()
    }

    fn run(&mut self, input: &[u8]) -> Result<(), String> {
        let Some((&mode, rest)) = input.split_first() else { return Ok(()) };
        let batch = usize::from(mode % 8);
        if mode & 0x80 != 0 {
            return match self.value(&mut Unstructured::new(rest), 4) {
                Ok(reply) => parse(&reply, batch),
                Err(_) => Ok(()),
            };
        }
        match serde_json::from_slice::<Value>(rest) {
            Ok(reply) => parse(&reply, batch),
            Err(_) => Ok(()),
        }
    }
}
