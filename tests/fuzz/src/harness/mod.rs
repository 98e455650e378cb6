//! The harnesses, one per attack surface.

mod admit;
mod codec;
mod node_rpc;
mod tx;
mod vm;
mod wallet_rpc;

use crate::FuzzError;

/// One attack surface under fuzzing.
pub trait Harness {
    /// Its name (`cargo xtask fuzz NAME`, `cases/NAME/`).
    fn name(&self) -> &'static str;
    /// Valid inputs to start mutating from.
    fn seeds(&self) -> Vec<Vec<u8>>;
    /// Runs one input; `Err` names the property it broke.
    fn run(&mut self, input: &[u8]) -> Result<(), String>;
    /// What the inputs reached so far (e.g. how many modules were admitted), for the summary.
    fn stats(&self) -> String {
        String::new()
    }
}

/// Every harness, in the order `all` runs them.
pub const NAMES: &[&str] = &["codec", "tx", "admit", "vm", "wallet_rpc", "node_rpc"];

/// The harness called `name`, set up.
pub fn harness(name: &str) -> Result<Box<dyn Harness>, FuzzError> {
    Ok(match name {
        "codec" => Box::new(codec::Codec::new()),
        "tx" => Box::new(tx::Tx::new()),
        "admit" => Box::new(admit::Admit::new()?),
        "vm" => Box::new(vm::VmHarness::new()?),
        "wallet_rpc" => Box::new(wallet_rpc::WalletRpc::new()),
        "node_rpc" => Box::new(node_rpc::NodeRpc::new()?),
        other => return Err(FuzzError::UnknownHarness(other.to_string())),
    })
}

/// Fixed keys and domain shared by the harnesses' seeds.
pub(crate) mod fixtures {
    use tao_crypto::{ChainDomain, SecretKey};
    use tao_light::{Certificate, Header, Receipt, TxOutcome};
    use tao_tx::{Call, SignedTransaction, Transaction};
    use tao_types::{Balance, Hash};

    /// A fixed signing key (`n` picks one of a few).
    pub fn key(n: u8) -> SecretKey {
        let mut bytes = [7u8; 32];
        bytes[0] = n.max(1);
        SecretKey::from_bytes(&bytes).unwrap_or_else(|_| unreachable_key())
    }

    #[allow(clippy::panic, reason = "a fixed, valid scalar")]
    fn unreachable_key() -> SecretKey {
        panic!("the fixture key is valid")
    }

    /// The chain the seeds are signed for.
    pub fn domain() -> ChainDomain {
        ChainDomain { chain_id: 42, genesis_hash: Hash([9; 32]) }
    }

    /// A transaction of `key` with this nonce, method and args.
    pub fn signed(key: &SecretKey, nonce: u64, method: &str, args: &[u8]) -> SignedTransaction {
        let call = Call {
            contract: Hash([3; 32]),
            method: method.as_bytes().to_vec().try_into().unwrap_or_default(),
            args: args.to_vec().try_into().unwrap_or_default(),
        };
        Transaction {
            chain_id: domain().chain_id,
            sender: key.address(),
            nonce,
            fee_limit: Balance(1_000),
            call,
        }
        .sign(&domain(), key)
    }

    /// A header with some non-zero fields.
    pub fn header(height: u64) -> Header {
        Header {
            chain_id: domain().chain_id,
            parent: Hash([1; 32]),
            height,
            time_ms: 1_700_000_000_000 + height,
            state_root: Hash([2; 32]),
            txs_root: Hash([3; 32]),
            receipts_root: Hash([4; 32]),
            evidence_root: Hash([0; 32]),
            validators_hash: Hash([5; 32]),
            next_validators_hash: Hash([5; 32]),
            proposer: key(1).address(),
        }
    }

    /// A certificate of `header` by the first two fixture keys.
    pub fn certificate(header: &Header) -> Certificate {
        Certificate::sign(&domain(), header, 0, &[(0, &key(1)), (1, &key(2))])
    }

    /// A receipt with events.
    pub fn receipt(failed: bool) -> Receipt {
        Receipt {
            tx: Hash([6; 32]),
            outcome: if failed { TxOutcome::Failed("abort: no".into()) } else { TxOutcome::Ok },
            fee: 12_345,
            gas_used: 678_900,
            events: vec![(b"transfer".to_vec(), vec![1, 2, 3]), (Vec::new(), Vec::new())],
        }
    }
}
