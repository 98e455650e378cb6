//! Signatures made before timing: the verify ceiling's and the load's transfers.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use k256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use tao_crypto::{ChainDomain, SecretKey};
use tao_tx::{Call, Transaction};
use tao_types::{Hash, RAO_PER_TAO, keccak256};

/// Rao moved by each transfer (above the existential deposit; every recipient is funded).
const TRANSFER_RAO: u64 = 1_000;

/// Fee limit of each transfer: ample for a transfer, small against the per-sender pending-fee check.
const FEE_LIMIT: u64 = RAO_PER_TAO / 1_000;

/// Distinct signatures each verify-ceiling thread cycles through.
const CEILING_SIGNATURES: usize = 256;

/// How long each verify-ceiling thread verifies.
const CEILING_TIME: Duration = Duration::from_secs(1);

/// Verifications done by all threads, and the longest thread's time.
pub(super) struct Ceiling {
    pub(super) verifies: u64,
    pub(super) elapsed: Duration,
    pub(super) threads: usize,
}

impl Ceiling {
    pub(super) fn tps(&self) -> f64 {
        self.verifies as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// The raw k256 `verify_prehash` rate of every core: one thread per core, each verifying its
/// own pre-made distinct signatures for [`CEILING_TIME`], all starting together.
pub(super) fn verify_ceiling() -> Result<Ceiling> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let start = Barrier::new(threads);
    let results: Vec<Result<(u64, Duration)>> = std::thread::scope(|scope| {
        let start = &start;
        let handles: Vec<_> = (0..threads).map(|t| scope.spawn(move || verify_for(t, start))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow!("a verify thread panicked"))))
            .collect()
    });
    let mut ceiling = Ceiling { verifies: 0, elapsed: Duration::ZERO, threads };
    for result in results {
        let (verifies, elapsed) = result?;
        ceiling.verifies += verifies;
        ceiling.elapsed = ceiling.elapsed.max(elapsed);
    }
    Ok(ceiling)
}

/// One ceiling thread: signs [`CEILING_SIGNATURES`] distinct hashes, then (with the others)
/// verifies them in turn until [`CEILING_TIME`] has passed.
fn verify_for(thread: usize, start: &Barrier) -> Result<(u64, Duration)> {
    let signed = distinct_signatures(thread);
    // Every thread reaches the barrier, even one that failed, so none waits forever.
    start.wait();
    let signed = signed.map_err(|e| anyhow!("signing for the verify ceiling: {e}"))?;
    let begun = Instant::now();
    let mut verifies = 0u64;
    while begun.elapsed() < CEILING_TIME {
        for (key, prehash, signature) in &signed {
            key.verify_prehash(prehash, signature).map_err(|e| anyhow!("a ceiling signature: {e}"))?;
        }
        verifies += signed.len() as u64;
    }
    Ok((verifies, begun.elapsed()))
}

type Verifiable = (k256::ecdsa::VerifyingKey, [u8; 32], k256::ecdsa::Signature);

/// [`CEILING_SIGNATURES`] signatures of distinct hashes by distinct keys, for `thread` alone.
fn distinct_signatures(thread: usize) -> Result<Vec<Verifiable>, k256::ecdsa::Error> {
    (0..CEILING_SIGNATURES)
        .map(|i| {
            let key = k256::ecdsa::SigningKey::from_slice(&keccak256(
                format!("bench/key/{thread}/{i}").as_bytes(),
            ))?;
            let prehash = keccak256(format!("bench/message/{thread}/{i}").as_bytes());
            let signature = key.sign_prehash(&prehash)?;
            Ok((*key.verifying_key(), prehash, signature))
        })
        .collect()
}

/// A pre-signed transfer: its hash and its encoding as `tx_submit` takes it.
pub(super) struct Signed {
    pub(super) hash: Hash,
    pub(super) hex: String,
}

/// Every account's transfers, nonces `0..per_account`, to the next account; at index
/// `account · per_account + nonce`. Signed on every core.
pub(super) fn presign(
    keys: &[SecretKey],
    domain: &ChainDomain,
    token: Hash,
    per_account: u64,
) -> Vec<Signed> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = keys.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..keys.len())
            .step_by(chunk)
            .map(|first| {
                scope.spawn(move || {
                    (first..keys.len().min(first + chunk))
                        .flat_map(|a| (0..per_account).map(move |nonce| (a, nonce)))
                        .map(|(a, nonce)| {
                            transfer(domain, token, &keys[a], &keys[(a + 1) % keys.len()], nonce)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

fn transfer(domain: &ChainDomain, token: Hash, from: &SecretKey, to: &SecretKey, nonce: u64) -> Signed {
    let args = tao_contract_token::TransferArgs { to: to.address(), amount: TRANSFER_RAO };
    let call = Call {
        contract: token,
        method: b"entry_transfer".to_vec().try_into().unwrap_or_default(),
        args: borsh::to_vec(&args).unwrap_or_default().try_into().unwrap_or_default(),
    };
    let tx = Transaction {
        chain_id: domain.chain_id,
        sender: from.address(),
        nonce,
        fee_limit: tao_types::Balance(FEE_LIMIT),
        call,
    }
    .sign(domain, from);
    Signed { hash: tx.hash(), hex: format!("0x{}", hex::encode(tx.encode())) }
}
