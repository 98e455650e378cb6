//! The executor with the real compiled system contracts, real signed transactions and the real
//! store: genesis, fees, nonces, failed calls, proofs against headers, certificates.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

use std::path::PathBuf;
use std::sync::Arc;

use tao_chain::{
    Block, Certificate, CertificateError, ChainError, Executor, Genesis, Header, TxOutcome, Validator, keys,
};
use tao_contract_token::TransferArgs;
use tao_crypto::SecretKey;
use tao_sdk::MemoryHost;
use tao_tx::{Call, SignedTransaction, Transaction};
use tao_types::{Address, Balance, Hash};
use tao_vm::{MemoryStorage, Storage, Vm, VmConfig};

const TAO: u64 = 1_000_000_000;

fn module_code(name: &str) -> Vec<u8> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let path = target.join(format!("wasm32-unknown-unknown/contract/tao_contract_{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run `cargo xtask contracts`", path.display()))
}

fn key(n: u8) -> SecretKey {
    SecretKey::from_bytes(&[n; 32]).unwrap()
}

struct Chain {
    executor: Executor,
    state: MemoryStorage,
    store: tao_store::Store,
    head: Header,
    validators: Vec<Validator>,
    _dir: tempfile::TempDir,
}

fn chain() -> Chain {
    let validators = vec![Validator { key: key(9).public_key(), power: 10 }];
    let genesis = Genesis {
        chain_id: 42,
        time_ms: 1_700_000_000_000,
        modules: tao_chain::SYSTEM_MODULES.iter().map(|m| (m.to_string(), module_code(m))).collect(),
        balances: vec![(key(1).address(), 1_000 * TAO)],
        validators: validators.clone(),
        calls: Vec::new(),
    };
    let dir = tempfile::tempdir().unwrap();
    let store = tao_store::Store::open(&dir.path().join("state.redb"), 64).unwrap();
    let vm = Vm::new(VmConfig::default()).unwrap();
    let (built, head) = genesis.build(vm).unwrap();
    let writes: Vec<_> = built.writes.clone().into_iter().collect();
    let root = store.commit(0, &writes, |_| borsh::to_vec(&head).unwrap()).unwrap();
    assert_eq!(root, head.state_root, "the store and the reference tree agree on the genesis root");
    let mut state = MemoryStorage::default();
    state.apply(&built.writes);
    Chain { executor: built.executor, state, store, head, validators, _dir: dir }
}

impl Chain {
    fn token(&self) -> Hash {
        Hash(self.state.get(&keys::module("token")).unwrap().try_into().unwrap())
    }

    fn transfer(&self, from: u8, nonce: u64, to: Address, amount: u64) -> SignedTransaction {
        let args = borsh::to_vec(&TransferArgs { to, amount }).unwrap();
        let call = Call {
            contract: self.token(),
            method: b"entry_transfer".to_vec().try_into().unwrap(),
            args: args.try_into().unwrap(),
        };
        let tx = Transaction {
            chain_id: 42,
            sender: key(from).address(),
            nonce,
            fee_limit: Balance(TAO / 100),
            call,
        };
        tx.sign(self.executor.domain(), &key(from))
    }

    fn balance(&self, who: &Address) -> u64 {
        let mut host = MemoryHost::new();
        host.storage = self.state.0.clone();
        tao_contract_token::balance(&mut host, who).unwrap()
    }

    /// Executes and commits a block of `txs`.
    fn produce(
        &mut self,
        txs: Vec<SignedTransaction>,
    ) -> Result<(Header, Vec<tao_chain::Receipt>), ChainError> {
        let height = self.head.height + 1;
        let time_ms = self.head.time_ms + 12_000;
        let executed = self.executor.execute(Arc::new(self.state.clone()), height, time_ms, &txs)?;
        let writes: Vec<_> = executed.writes.clone().into_iter().collect();
        let mut header = Header {
            parent: self.head.hash(),
            height,
            time_ms,
            state_root: Hash([0; 32]),
            txs_root: executed.txs_root,
            receipts_root: executed.receipts_root,
            validators_hash: self.head.next_validators_hash,
            next_validators_hash: self.head.next_validators_hash,
            proposer: key(9).address(),
        };
        let root = self
            .store
            .commit(height, &writes, |root| {
                header.state_root = *root;
                borsh::to_vec(&Block { header: header.clone(), txs: txs.clone() }).unwrap()
            })
            .unwrap();
        header.state_root = root;
        self.state.apply(&executed.writes);
        self.head = header.clone();
        Ok((header, executed.receipts))
    }
}

#[test]
fn transfers_pay_fees_advance_nonces_and_prove_against_the_header() {
    let mut c = chain();
    let (alice, bob) = (key(1).address(), key(2).address());
    assert_eq!(c.balance(&alice), 1_000 * TAO);
    let tx = c.transfer(1, 0, bob, 10 * TAO);
    let fee = tao_contract_token::fee(
        tx.encode().len() as u64,
        tao_contract_token::gas_for(tx.encode().len() as u64, TAO / 100),
    );
    let (header, receipts) = c.produce(vec![tx.clone()]).unwrap();
    assert_eq!(receipts[0].outcome, TxOutcome::Ok);
    assert_eq!(receipts[0].fee, fee);
    assert!(receipts[0].gas_used > 0 && !receipts[0].events.is_empty());
    assert_eq!(c.balance(&bob), 10 * TAO);
    assert_eq!(c.balance(&alice), 990 * TAO - fee);
    assert_eq!(Executor::nonce(&c.state, &alice), 1);
    assert_eq!(header.txs_root, tao_chain::merkle_root(&[tx.hash()]));

    // Every value is provable against the header's root.
    let stored: Block = borsh::from_slice(&c.store.block(1).unwrap()).unwrap();
    assert_eq!(stored.header, header);
    let nonce_key = keys::nonce(&alice);
    let (value, proof) = c.store.get_with_proof(&nonce_key, 1).unwrap();
    assert_eq!(value, Some(1u64.to_be_bytes().to_vec()));
    assert!(tao_state::verify(&header.state_root, &nonce_key, value.as_deref(), &proof).is_ok());

    // A replayed transaction has a spent nonce; a stranger cannot pay; a refused block
    // changes nothing.
    let again = c.produce(vec![tx]);
    assert!(matches!(again, Err(ChainError::BadNonce { index: 0, expected: 1, got: 0 })), "{again:?}");
    let stranger = c.transfer(3, 0, alice, TAO);
    assert!(matches!(c.produce(vec![stranger]), Err(ChainError::CannotPay { index: 0, .. })));
    assert_eq!((c.balance(&bob), c.head.height), (10 * TAO, 1));
    let from_bob = c.transfer(2, 0, alice, TAO);
    let (_, receipts) = c.produce(vec![from_bob]).unwrap();
    assert_eq!(receipts[0].outcome, TxOutcome::Ok, "bob pays from what he received");
}

#[test]
fn a_failed_call_keeps_its_fee_and_nonce_and_nothing_else() {
    let mut c = chain();
    let (alice, bob) = (key(1).address(), key(2).address());
    let tx = c.transfer(1, 0, bob, 5_000 * TAO);
    let (_, receipts) = c.produce(vec![tx]).unwrap();
    let TxOutcome::Failed(reason) = &receipts[0].outcome else { panic!("{:?}", receipts[0]) };
    assert!(reason.contains("insufficient"), "{reason}");
    assert_eq!(c.balance(&alice), 1_000 * TAO - receipts[0].fee);
    assert_eq!(c.balance(&bob), 0);
    assert_eq!(Executor::nonce(&c.state, &alice), 1);
    assert!(receipts[0].events.is_empty());
}

#[test]
fn execution_is_deterministic() {
    let c = chain();
    let txs = vec![c.transfer(1, 0, key(2).address(), TAO), c.transfer(1, 1, key(3).address(), 2 * TAO)];
    let a = c.executor.execute(Arc::new(c.state.clone()), 1, 5, &txs).unwrap();
    let b = c.executor.execute(Arc::new(c.state.clone()), 1, 5, &txs).unwrap();
    assert_eq!(a.writes, b.writes);
    assert_eq!(a.receipts, b.receipts);
    assert_eq!(a.receipts_root, b.receipts_root);
}

#[test]
fn certificates_need_more_than_two_thirds_of_the_power() {
    let mut c = chain();
    let (header, _) = c.produce(vec![]).unwrap();
    let good = Certificate::sign(&header, &[(0, &key(9))]);
    assert_eq!(good.verify(&header, &c.validators), Ok(()));
    let empty = Certificate { header: header.hash(), signatures: vec![] };
    assert_eq!(
        empty.verify(&header, &c.validators),
        Err(CertificateError::NotEnoughPower { signed: 0, total: 10 })
    );
    let impostor = Certificate::sign(&header, &[(0, &key(8))]);
    assert_eq!(impostor.verify(&header, &c.validators), Err(CertificateError::BadSignature(0)));
    let twice =
        Certificate { header: header.hash(), signatures: vec![good.signatures[0], good.signatures[0]] };
    assert_eq!(twice.verify(&header, &c.validators), Err(CertificateError::BadSigner(0)));
    let (next, _) = c.produce(vec![]).unwrap();
    assert_eq!(good.verify(&next, &c.validators), Err(CertificateError::WrongHeader));
    let others = vec![Validator { key: key(8).public_key(), power: 10 }];
    assert_eq!(good.verify(&header, &others), Err(CertificateError::WrongValidators));
}
