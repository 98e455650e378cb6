//! `tao_codec::decode` of the wire types: never panics, and a value that decodes re-encodes to
//! exactly the bytes it came from (one encoding per value, so hashes and signatures cannot be
//! malleated through the encoding). Input: a type tag byte, then the bytes to decode.

use borsh::{BorshDeserialize, BorshSerialize};
use tao_light::{
    Block, Certificate, Header, MAX_CERTIFICATE_BYTES, MAX_HEADER_BYTES, MAX_RECEIPT_BYTES, Receipt,
    Validator,
};
use tao_tx::{MAX_TX_BYTES, SignedTransaction, Transaction};

use super::Harness;
use super::fixtures;

/// Largest block the harness decodes (a block is node-internal; the bound just keeps inputs small).
const MAX_BLOCK_BYTES: usize = 4 * MAX_TX_BYTES;

/// The harness.
pub struct Codec;

impl Codec {
    pub fn new() -> Codec {
        Codec
    }
}

fn round_trip<T: BorshDeserialize + BorshSerialize>(bytes: &[u8], limit: usize) -> Result<(), String> {
    if let Ok(value) = tao_codec::decode::<T>(bytes, limit) {
        let again = tao_codec::encode(&value);
        if again != bytes {
            let at =
                again.iter().zip(bytes).position(|(a, b)| a != b).unwrap_or(again.len().min(bytes.len()));
            let window = |b: &[u8]| hex::encode(&b[at.saturating_sub(4)..(at + 40).min(b.len())]);
            return Err(format!(
                "{} decodes from {} bytes but re-encodes to {} bytes, first differing at {at}: {} became {}",
                std::any::type_name::<T>(),
                bytes.len(),
                again.len(),
                window(bytes),
                window(&again),
            ));
        }
    }
    Ok(())
}

/// The types, by tag.
const TYPES: u8 = 8;

impl Harness for Codec {
    fn name(&self) -> &'static str {
        "codec"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        let tx = fixtures::signed(&fixtures::key(1), 7, "entry_transfer", &[1; 40]);
        let header = fixtures::header(9);
        let validators = vec![
            Validator { key: fixtures::key(1).public_key(), power: 10 },
            Validator { key: fixtures::key(2).public_key(), power: 20 },
        ];
        let block = Block { header: header.clone(), txs: vec![tx.clone(), tx.clone()], evidence: Vec::new() };
        let mut tree = tao_state::MemoryTree::new();
        let proofs: Vec<Vec<u8>> =
            match tree.apply(0, [(b"a".to_vec(), Some(vec![1])), (b"b".to_vec(), Some(vec![2]))]) {
                Ok(_) => [&b"a"[..], b"c"]
                    .iter()
                    .filter_map(|k| tree.get_with_proof(k, 0).ok())
                    .map(|(_, p)| p.encode())
                    .collect(),
                Err(_) => Vec::new(),
            };
        let mut seeds = vec![
            (0, tx.encode()),
            (1, tao_codec::encode(&tx.tx)),
            (2, tao_codec::encode(&header)),
            (3, tao_codec::encode(&fixtures::certificate(&header))),
            (4, tao_codec::encode(&fixtures::receipt(false))),
            (4, tao_codec::encode(&fixtures::receipt(true))),
            (5, tao_codec::encode(&validators)),
            (7, tao_codec::encode(&block)),
        ];
        seeds.extend(proofs.into_iter().map(|p| (6, p)));
        seeds
            .into_iter()
            .map(|(tag, bytes)| {
                let mut input = vec![tag];
                input.extend(bytes);
                input
            })
            .collect()
    }

    fn run(&mut self, input: &[u8]) -> Result<(), String> {
        let Some((&tag, bytes)) = input.split_first() else { return Ok(()) };
        match tag % TYPES {
            0 => round_trip::<SignedTransaction>(bytes, MAX_TX_BYTES),
            1 => round_trip::<Transaction>(bytes, MAX_TX_BYTES),
            2 => round_trip::<Header>(bytes, MAX_HEADER_BYTES),
            3 => round_trip::<Certificate>(bytes, MAX_CERTIFICATE_BYTES),
            4 => round_trip::<Receipt>(bytes, MAX_RECEIPT_BYTES),
            5 => round_trip::<Vec<Validator>>(bytes, MAX_CERTIFICATE_BYTES),
            6 => match tao_state::StateProof::decode(bytes) {
                Ok(proof) if proof.encode() != bytes => {
                    Err(format!("a proof decodes from {} bytes but re-encodes differently", bytes.len()))
                }
                _ => Ok(()),
            },
            _ => round_trip::<Block>(bytes, MAX_BLOCK_BYTES),
        }
    }
}
