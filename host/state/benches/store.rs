//! State proofs at scale: `cargo bench -p tao-store --bench store`.
//!
//! Builds a store holding 1,000,000 accounts (balance-sized values, 10 blocks of 100,000 writes)
//! once, then measures `get_with_proof` of random accounts and reports the proof size.
#![allow(clippy::unwrap_used, reason = "benchmark setup: a failure should panic")]
#![allow(missing_docs, reason = "criterion macros generate undocumented items")]

use criterion::{Criterion, criterion_group, criterion_main};
use tao_store::Store;
use tao_types::keccak256;

const ACCOUNTS: u64 = 1_000_000;
const PER_BLOCK: u64 = 100_000;

fn account_key(i: u64) -> Vec<u8> {
    [b"token/bal/".as_slice(), &keccak256(&i.to_le_bytes())[..20]].concat()
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("bench.redb"), 100).unwrap();
    for block in 0..ACCOUNTS / PER_BLOCK {
        let writes: Vec<_> = (block * PER_BLOCK..(block + 1) * PER_BLOCK)
            .map(|i| (account_key(i), Some(i.to_le_bytes().to_vec())))
            .collect();
        let staged = store.stage(block, writes).unwrap();
        store.commit(staged, &[], &[]).unwrap();
    }
    let version = ACCOUNTS / PER_BLOCK - 1;
    let root = store.root(version).unwrap();
    let sizes: Vec<usize> = (0..1_000u64)
        .map(|i| {
            let key = account_key(i * 997 % ACCOUNTS);
            let (value, proof) = store.get_with_proof(&key, version).unwrap();
            tao_state::verify(&root, &key, value.as_deref(), &proof).unwrap();
            proof.encode().len()
        })
        .collect();
    let mean = sizes.iter().sum::<usize>() / sizes.len();
    println!(
        "proof size over 1,000 accounts at {ACCOUNTS} accounts: mean {mean} B, max {} B",
        sizes.iter().max().unwrap()
    );
    let mut i = 0u64;
    c.bench_function("store/get_with_proof_1m", |b| {
        b.iter(|| {
            i = (i + 7_919) % ACCOUNTS;
            store.get_with_proof(&account_key(i), version).unwrap()
        })
    });
}

criterion_group!(store_benches, benches);
criterion_main!(store_benches);
