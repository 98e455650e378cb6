//! The block pipeline's throughput: `cargo xtask contracts && cargo bench -p tao-chain --bench chain`.
//!
//! Blocks of 256, 1,024 and 4,096 signed transfers, each from its own account, through the real
//! token contract:
//! - `build/N`: a proposer's block from verified transactions (as its mempool holds them), in
//!   memory: begin-block hooks, then per transaction nonce, fee, call, on a checkpoint;
//! - `validate/N`: a received block: every signature checked on all cores, then executed;
//! - `stage/N`: `Store::stage` of that block's writes on a real redb store (its root and tree
//!   batch, reads only);
//! - `commit/N`: `build/N` reading a real redb store, then `Store::stage` and `Store::commit`.
//!
//! and the signature ceilings, 256 checks each: `tao_tx::verify` on one core, k256's plain
//! `VerifyingKey::verify_prehash` on one core and on all cores.
#![allow(clippy::unwrap_used, reason = "benchmark setup: a failure should panic")]
#![allow(missing_docs, reason = "criterion macros generate undocumented items")]

use std::path::PathBuf;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use k256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use k256::ecdsa::{Signature, SigningKey, VerifyingKey};
use rayon::prelude::*;
use tao_chain::{Executor, Genesis, Slashes, TxOutcome, Validator};
use tao_contract_token::TransferArgs;
use tao_crypto::SecretKey;
use tao_store::Store;
use tao_tx::{Call, SignedTransaction, Transaction, VerifiedTransaction};
use tao_types::{Balance, Hash, keccak256};
use tao_vm::{MemoryStorage, Storage, Vm, VmConfig, WriteSet};

/// Block sizes measured.
const SIZES: [usize; 3] = [256, 1_024, 4_096];
/// Signature checks per ceiling sample.
const CHECKS: usize = 256;

fn secret(i: usize) -> [u8; 32] {
    keccak256(&i.to_le_bytes())
}

fn key(i: usize) -> SecretKey {
    SecretKey::from_bytes(&secret(i)).unwrap()
}

fn module_code(name: &str) -> Vec<u8> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let path = target.join(format!("wasm32-unknown-unknown/contract/tao_contract_{name}.wasm"));
    std::fs::read(path).expect("cargo xtask contracts")
}

/// The committed state of a redb store as the executor reads it (what the node's view does).
struct StoreView(tao_store::Snapshot);

impl Storage for StoreView {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.get(key).unwrap()
    }

    fn next_after(&self, prefix: &[u8], after: Option<&[u8]>) -> Option<(Vec<u8>, Vec<u8>)> {
        self.0.next_after(prefix, after).unwrap()
    }
}

/// A chain whose genesis funds the largest block's senders.
struct Fixture {
    executor: Executor,
    genesis: WriteSet,
    state: Arc<MemoryStorage>,
}

impl Fixture {
    fn new() -> Fixture {
        let accounts = SIZES[SIZES.len() - 1];
        let genesis = Genesis {
            chain_id: 1,
            time_ms: 0,
            modules: tao_chain::SYSTEM_MODULES.iter().map(|m| (m.to_string(), module_code(m))).collect(),
            balances: (0..accounts).map(|i| (key(i).address(), 1_000_000_000_000)).collect(),
            validators: vec![Validator { key: key(usize::MAX).public_key(), power: 1 }],
            calls: Vec::new(),
        };
        let (built, _) = genesis.build(Vm::new(VmConfig::default()).unwrap()).unwrap();
        let mut state = MemoryStorage::default();
        state.apply(&built.writes);
        Fixture { executor: built.executor, genesis: built.writes, state: Arc::new(state) }
    }

    /// `n` verified transfers, one from each of accounts `0..n`, at the default fee limit.
    fn transfers(&self, n: usize) -> Vec<VerifiedTransaction> {
        let token = Hash(self.state.0[&tao_chain::keys::module("token")].clone().try_into().unwrap());
        let domain = self.executor.domain();
        (0..n)
            .into_par_iter()
            .map(|i| {
                let args =
                    borsh::to_vec(&TransferArgs { to: key(i + 1).address(), amount: 1_000_000_000 }).unwrap();
                let call = Call {
                    contract: token,
                    method: b"entry_transfer".to_vec().try_into().unwrap(),
                    args: args.try_into().unwrap(),
                };
                let tx = Transaction {
                    chain_id: 1,
                    sender: key(i).address(),
                    nonce: 0,
                    fee_limit: Balance(10_000_000),
                    call,
                };
                tao_tx::decode_and_verify(&tx.sign(domain, &key(i)).encode(), domain).unwrap()
            })
            .collect()
    }

    /// A fresh store holding the genesis state (version 0).
    fn store(&self) -> (tempfile::TempDir, Arc<Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.redb"), 64).unwrap();
        store.commit(store.stage(0, self.genesis.clone()).unwrap(), &[], &[]).unwrap();
        (dir, Arc::new(store))
    }
}

/// Builds block 1 from `txs` on `store`, stages and commits it.
fn build_and_commit(executor: &Executor, store: &Arc<Store>, txs: &[VerifiedTransaction]) {
    let built = executor
        .build(Arc::new(StoreView(store.snapshot().unwrap())), 1, 12_000, txs, &Slashes::default())
        .unwrap();
    let staged = store.stage(1, built.executed.writes).unwrap();
    store.commit(staged, &borsh::to_vec(&built.txs).unwrap(), &built.hashes).unwrap();
}

fn pipeline(c: &mut Criterion, fixture: &Fixture) {
    let executor = &fixture.executor;
    let mut group = c.benchmark_group("chain");
    group.sample_size(10);
    for n in SIZES {
        let verified = fixture.transfers(n);
        let built = executor.build(fixture.state.clone(), 1, 12_000, &verified, &Slashes::default()).unwrap();
        assert_eq!(built.txs.len(), n, "a block of {n} default-fee transfers fits the block's limits");
        assert!(built.executed.receipts.iter().all(|r| r.outcome == TxOutcome::Ok));
        let gas: u64 = built.executed.receipts.iter().map(|r| r.gas_used).sum();
        println!(
            "{n} transfers: {gas} gas of {} ({} per transfer)",
            tao_chain::BLOCK_GAS_LIMIT,
            gas / n as u64
        );
        let txs: Vec<SignedTransaction> = verified.iter().map(|v| v.signed().clone()).collect();
        let check = executor.validate(fixture.state.clone(), 1, 12_000, &txs, &Slashes::default()).unwrap();
        assert_eq!(check.writes, built.executed.writes, "the built block validates");

        group.bench_function(format!("build/{n}"), |b| {
            b.iter(|| {
                executor.build(fixture.state.clone(), 1, 12_000, &verified, &Slashes::default()).unwrap()
            })
        });
        group.bench_function(format!("validate/{n}"), |b| {
            b.iter(|| executor.validate(fixture.state.clone(), 1, 12_000, &txs, &Slashes::default()).unwrap())
        });
        let (_dir, store) = fixture.store();
        group.bench_function(format!("stage/{n}"), |b| {
            b.iter(|| store.stage(1, built.executed.writes.clone()).unwrap().root())
        });
        group.bench_function(format!("commit/{n}"), |b| {
            b.iter_batched(
                || fixture.store(),
                |(_dir, store)| build_and_commit(executor, &store, &verified),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

/// 256 signature checks: the chain's own on one core, and k256's plain verification of the
/// same keys on one core and on all of them.
fn ceilings(c: &mut Criterion, fixture: &Fixture) {
    let domain = *fixture.executor.domain();
    let txs: Vec<SignedTransaction> =
        fixture.transfers(CHECKS).into_iter().map(|v| v.into_signed()).collect();
    let raw: Vec<(VerifyingKey, [u8; 32], Signature)> = (0..CHECKS)
        .map(|i| {
            let signing = SigningKey::from_slice(&secret(i)).unwrap();
            let hash = keccak256(&i.to_be_bytes());
            let signature: Signature = signing.sign_prehash(&hash).unwrap();
            (*signing.verifying_key(), hash, signature)
        })
        .collect();
    let verify_raw = |(key, hash, signature): &(VerifyingKey, [u8; 32], Signature)| {
        key.verify_prehash(hash, signature).unwrap()
    };
    let mut group = c.benchmark_group("chain");
    group.sample_size(10);
    group.bench_function("verify/tao_tx_256", |b| {
        b.iter(|| txs.iter().for_each(|t| tao_tx::verify(t, &domain).unwrap()))
    });
    group.bench_function("verify/k256_prehash_256", |b| b.iter(|| raw.iter().for_each(verify_raw)));
    group.bench_function("verify/k256_prehash_256_all_cores", |b| {
        b.iter(|| raw.par_iter().for_each(verify_raw))
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let fixture = Fixture::new();
    println!("cores: {}", rayon::current_num_threads());
    ceilings(c, &fixture);
    pipeline(c, &fixture);
}

criterion_group!(chain_benches, benches);
criterion_main!(chain_benches);
