//! One signature check three ways, on one core: `cargo bench -p tao-crypto --bench verify`.
//!
//! - `verify/one_step`: `PublicKey::verify_hash` (one linear combination, recovery id bound);
//! - `verify/k256_verify_prehash`: k256's plain ECDSA verification, the physical ceiling;
//! - `verify/verify_then_recover`: what `verify_hash` did before issue 20: k256's verification,
//!   then key recovery (which verifies again) and a comparison of keys;
//! - `verify_256/one_core` and `verify_256/all_cores`: 256 `verify_hash` checks of 256 keys, on
//!   one thread and split over one thread per core (the node's admission pool has one per core).
#![allow(clippy::unwrap_used, reason = "benchmark setup: a failure should panic")]
#![allow(missing_docs, reason = "criterion macros generate undocumented items")]

use criterion::{Criterion, criterion_group, criterion_main};
use k256::ecdsa::signature::hazmat::PrehashVerifier;
use k256::ecdsa::{Signature as K256Signature, VerifyingKey};
use tao_crypto::{PublicKey, SecretKey, Signature};
use tao_types::keccak256;

fn benches(c: &mut Criterion) {
    let key = SecretKey::from_bytes(&keccak256(b"bench")).unwrap();
    let public = key.public_key();
    let hash = keccak256(b"a transfer");
    let signature = key.sign_hash(&hash);
    let k256_key = VerifyingKey::from_sec1_bytes(&public.to_compressed()).unwrap();
    let k256_signature = K256Signature::from_slice(&signature.0[..64]).unwrap();

    let mut group = c.benchmark_group("verify");
    group.bench_function("one_step", |b| b.iter(|| public.verify_hash(&hash, &signature).unwrap()));
    group.bench_function("k256_verify_prehash", |b| {
        b.iter(|| k256_key.verify_prehash(&hash, &k256_signature).unwrap())
    });
    group.bench_function("verify_then_recover", |b| {
        b.iter(|| {
            k256_key.verify_prehash(&hash, &k256_signature).unwrap();
            assert_eq!(signature.recover(&hash).unwrap(), public);
        })
    });
    group.finish();

    let signed: Vec<_> = (0..256u32)
        .map(|i| {
            let key = SecretKey::from_bytes(&keccak256(&i.to_le_bytes())).unwrap();
            let hash = keccak256(&i.to_be_bytes());
            (key.public_key(), hash, key.sign_hash(&hash))
        })
        .collect();
    let check = |chunk: &[(PublicKey, [u8; 32], Signature)]| {
        chunk.iter().for_each(|(key, hash, signature)| key.verify_hash(hash, signature).unwrap())
    };
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let mut group = c.benchmark_group("verify_256");
    group.bench_function("one_core", |b| b.iter(|| check(&signed)));
    group.bench_function("all_cores", |b| {
        b.iter(|| {
            std::thread::scope(|scope| {
                for chunk in signed.chunks(signed.len().div_ceil(cores)) {
                    scope.spawn(|| check(chunk));
                }
            })
        })
    });
    group.finish();
}

criterion_group!(verify, benches);
criterion_main!(verify);
