//! Block execution throughput: `cargo xtask contracts && cargo bench -p tao-chain --bench chain`.
//!
//! - `execute/transfers_256`: a block of 256 signed transfers from 256 accounts through the real
//!   token contract (signature check, nonce, fee, call), against the raw ceiling:
//! - `verify/k256_256`: the same 256 signature checks alone (`tao_tx::verify`).
#![allow(clippy::unwrap_used, reason = "benchmark setup: a failure should panic")]
#![allow(missing_docs, reason = "criterion macros generate undocumented items")]

use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use tao_chain::{Genesis, Validator};
use tao_contract_token::TransferArgs;
use tao_crypto::SecretKey;
use tao_tx::{Call, SignedTransaction, Transaction};
use tao_types::{Balance, Hash, keccak256};
use tao_vm::{MemoryStorage, Vm, VmConfig};

const TXS: usize = 256;

fn key(i: usize) -> SecretKey {
    SecretKey::from_bytes(&keccak256(&i.to_le_bytes())).unwrap()
}

fn benches(c: &mut Criterion) {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let modules = tao_chain::SYSTEM_MODULES
        .iter()
        .map(|m| {
            let path = target.join(format!("wasm32-unknown-unknown/contract/tao_contract_{m}.wasm"));
            (m.to_string(), std::fs::read(path).expect("cargo xtask contracts"))
        })
        .collect();
    let genesis = Genesis {
        chain_id: 1,
        time_ms: 0,
        modules,
        balances: (0..TXS).map(|i| (key(i).address(), 1_000_000_000_000)).collect(),
        validators: vec![Validator { key: key(9_999).public_key(), power: 1 }],
        calls: Vec::new(),
    };
    let (built, _) = genesis.build(Vm::new(VmConfig::default()).unwrap()).unwrap();
    let mut state = MemoryStorage::default();
    state.apply(&built.writes);
    let executor = built.executor;
    let token = Hash(state.0[&tao_chain::keys::module("token")].clone().try_into().unwrap());
    let txs: Vec<SignedTransaction> = (0..TXS)
        .map(|i| {
            let args =
                borsh::to_vec(&TransferArgs { to: key(i + 1).address(), amount: 1_000_000_000 }).unwrap();
            let call = Call {
                contract: token,
                method: b"entry_transfer".to_vec().try_into().unwrap(),
                args: args.try_into().unwrap(),
            };
            Transaction {
                chain_id: 1,
                sender: key(i).address(),
                nonce: 0,
                fee_limit: Balance(10_000_000),
                call,
            }
            .sign(executor.domain(), &key(i))
        })
        .collect();
    let base = Arc::new(state);
    let check = executor.execute(base.clone(), 1, 12_000, &txs).unwrap();
    assert!(check.receipts.iter().all(|r| r.outcome == tao_chain::TxOutcome::Ok));

    let mut group = c.benchmark_group("chain");
    group.sample_size(10);
    group.bench_function("execute/transfers_256", |b| {
        b.iter(|| executor.execute(base.clone(), 1, 12_000, &txs).unwrap())
    });
    group.bench_function("verify/k256_256", |b| {
        b.iter(|| txs.iter().for_each(|t| tao_tx::verify(t, executor.domain()).unwrap()))
    });
    group.finish();
}

criterion_group!(chain_benches, benches);
criterion_main!(chain_benches);
