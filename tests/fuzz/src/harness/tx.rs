//! `tao_tx::decode_and_verify`: never panics; mutated bytes of signed transactions are never
//! accepted (no second encoding or signature of the same transaction); a transaction built from
//! arbitrary fields and signed is accepted exactly when its chain id is the domain's, with the
//! hash of its bytes. Input: a mode byte (a multiple of 4: build from the rest through
//! `Unstructured`; else the rest are wire bytes).

use std::collections::BTreeSet;

use arbitrary::Unstructured;
use tao_tx::{Call, Transaction, TxError, decode_and_verify};
use tao_types::{Balance, Hash};

use super::Harness;
use super::fixtures;

/// The harness.
pub struct Tx {
    signed: BTreeSet<Vec<u8>>,
}

impl Tx {
    pub fn new() -> Tx {
        let signed = [
            fixtures::signed(&fixtures::key(1), 0, "entry_transfer", &[0; 40]),
            fixtures::signed(&fixtures::key(2), u64::MAX, "", &[]),
            fixtures::signed(&fixtures::key(3), 1, "entry_set_weights", &[0xff; 300]),
        ];
        Tx { signed: signed.iter().map(|s| s.encode()).collect() }
    }

    fn structured(&self, u: &mut Unstructured<'_>) -> arbitrary::Result<Result<(), String>> {
        let key = fixtures::key(u.int_in_range(1..=3)?);
        let domain = fixtures::domain();
        let chain_id = if u.ratio(1, 8)? { u.arbitrary()? } else { domain.chain_id };
        let method_len = u.int_in_range(0..=tao_tx::MAX_METHOD_BYTES as usize)?;
        let method = u.bytes(method_len)?.to_vec();
        let args_len = u.arbitrary_len::<u8>()?;
        let args = u.bytes(args_len)?.to_vec();
        let call = Call {
            contract: Hash(u.arbitrary()?),
            method: method.try_into().map_err(|_| arbitrary::Error::IncorrectFormat)?,
            args: args.try_into().map_err(|_| arbitrary::Error::IncorrectFormat)?,
        };
        let tx = Transaction {
            chain_id,
            sender: key.address(),
            nonce: u.arbitrary()?,
            fee_limit: Balance(u.arbitrary()?),
            call,
        };
        let signed = tx.sign(&domain, &key);
        let bytes = signed.encode();
        Ok(match decode_and_verify(&bytes, &domain) {
            Ok(v) if chain_id != domain.chain_id => Err(format!("accepted chain id {chain_id}: {v:?}")),
            Ok(v) if *v.signed() != signed || v.hash() != Hash::of(&bytes) => {
                Err("accepted a transaction as something else".into())
            }
            Err(TxError::WrongChainId { .. }) if chain_id != domain.chain_id => Ok(()),
            Err(e) if chain_id == domain.chain_id => Err(format!("refused a well-signed transaction: {e}")),
            _ => Ok(()),
        })
    }
}

impl Harness for Tx {
    fn name(&self) -> &'static str {
        "tx"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        let structured = (0..4u8).map(|s| (0..200u8).map(|i| i.wrapping_mul(73) ^ s).collect::<Vec<u8>>());
        self.signed
            .iter()
            .map(|bytes| [&[1][..], bytes].concat())
            .chain(structured.map(|b| [&[0][..], &b].concat()))
            .collect()
    }

    fn run(&mut self, input: &[u8]) -> Result<(), String> {
        let Some((&mode, rest)) = input.split_first() else { return Ok(()) };
        if mode % 4 == 0 {
            return self.structured(&mut Unstructured::new(rest)).unwrap_or(Ok(()));
        }
        match decode_and_verify(rest, &fixtures::domain()) {
            Ok(v) if !self.signed.contains(rest) => {
                Err(format!("accepted bytes nobody signed as they are: {:?}", v.signed()))
            }
            _ => Ok(()),
        }
    }
}
