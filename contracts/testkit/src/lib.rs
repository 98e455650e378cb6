//! The testkit contract: a small ledger plus raw storage, iteration, events, context and
//! recursion entry points, written once against [`tao_sdk::Host`]. The VM tests run it natively
//! and as compiled Wasm and require identical results.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

use tao_sdk::{Address, Error, Host, Map};

/// Balances of the toy ledger.
const BALANCES: Map<Address, u64> = Map::new(b"bal/");

/// Stores `(key, value)` under `raw/ ‖ key` and emits `put`.
pub fn put(host: &mut impl Host) -> Result<(), Error> {
    let (key, value): (Vec<u8>, Vec<u8>) = host.input_as()?;
    let full = raw_key(&key);
    host.set(&full, &value);
    host.emit(b"put", &full);
    Ok(())
}

/// Outputs the value under `raw/ ‖ key`, if any.
pub fn get(host: &mut impl Host) -> Result<(), Error> {
    let key: Vec<u8> = host.input_as()?;
    let value = host.get(&raw_key(&key));
    host.output_as(&value);
    Ok(())
}

/// Removes `raw/ ‖ key`; outputs whether it existed.
pub fn remove(host: &mut impl Host) -> Result<(), Error> {
    let key: Vec<u8> = host.input_as()?;
    let existed = host.remove(&raw_key(&key));
    host.output_as(&existed);
    Ok(())
}

/// Outputs `(count, total value bytes, keys)` of raw entries with the given prefix.
pub fn scan(host: &mut impl Host) -> Result<(), Error> {
    let prefix: Vec<u8> = host.input_as()?;
    let iter = host.iter_open(&raw_key(&prefix));
    let mut keys = Vec::new();
    let mut bytes = 0u64;
    while let Some((key, value)) = host.iter_next(iter) {
        bytes += value.len() as u64;
        keys.push(key);
    }
    host.output_as(&(keys.len() as u64, bytes, keys));
    Ok(())
}

/// Credits `amount` to the caller.
pub fn mint(host: &mut impl Host) -> Result<(), Error> {
    let amount: u64 = host.input_as()?;
    let who = host.caller();
    let balance = BALANCES.load(host, &who)?.unwrap_or(0);
    let new = balance.checked_add(amount).ok_or_else(|| Error::Custom("balance overflow".into()))?;
    BALANCES.save(host, &who, &new);
    host.emit(b"mint", &amount.to_le_bytes());
    Ok(())
}

/// Moves `amount` from the caller to `to`; fails without writing if the caller has too little.
pub fn transfer(host: &mut impl Host) -> Result<(), Error> {
    let (to, amount): (Address, u64) = host.input_as()?;
    let from = host.caller();
    let from_balance = BALANCES.load(host, &from)?.unwrap_or(0);
    let left = from_balance
        .checked_sub(amount)
        .ok_or_else(|| Error::Custom(alloc::format!("insufficient balance: {from_balance} < {amount}")))?;
    BALANCES.save(host, &from, &left);
    let to_balance = BALANCES.load(host, &to)?.unwrap_or(0);
    let credited = to_balance.checked_add(amount).ok_or_else(|| Error::Custom("balance overflow".into()))?;
    BALANCES.save(host, &to, &credited);
    host.emit(b"transfer", &amount.to_le_bytes());
    Ok(())
}

/// Outputs every balance, ascending by address.
pub fn balances(host: &mut impl Host) -> Result<(), Error> {
    let all = BALANCES.entries(host, 1_000)?;
    host.output_as(&all);
    Ok(())
}

/// Writes, then fails: the write must not survive.
pub fn fail_after_write(host: &mut impl Host) -> Result<(), Error> {
    host.set(b"raw/doomed", b"x");
    host.emit(b"doomed", b"");
    Err(Error::Custom(String::from("failed on purpose")))
}

/// Outputs `(caller, height, time)`.
pub fn context(host: &mut impl Host) -> Result<(), Error> {
    let ctx = (host.caller(), host.block_height(), host.block_time_ms());
    host.output_as(&ctx);
    Ok(())
}

/// Recurses `n` levels deep and outputs the sum 1 + … + n.
pub fn recurse(host: &mut impl Host) -> Result<(), Error> {
    let n: u32 = host.input_as()?;
    host.output_as(&sum_to(n));
    Ok(())
}

#[inline(never)]
fn sum_to(n: u32) -> u64 {
    if n == 0 { 0 } else { u64::from(n) + core::hint::black_box(sum_to(n - 1)) }
}

fn raw_key(key: &[u8]) -> Vec<u8> {
    let mut full = b"raw/".to_vec();
    full.extend_from_slice(key);
    full
}

/// Does nothing: the cost floor of a call.
pub fn noop(_host: &mut impl Host) -> Result<(), Error> {
    Ok(())
}

/// Burns compute: `n` rounds of an integer hash mix, output as the final state. The benchmark
/// kernel for fuel overhead.
pub fn mix(host: &mut impl Host) -> Result<(), Error> {
    let n: u32 = host.input_as()?;
    host.output_as(&mix_rounds(n));
    Ok(())
}

/// The kernel of [`mix`], callable natively for the benchmark baseline.
pub fn mix_rounds(n: u32) -> u64 {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..n {
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd).wrapping_add(u64::from(i));
        x ^= x >> 29;
    }
    x
}

/// One round of an integer hash: pseudo-random weight values for the synthetic graph.
fn scramble(x: u32) -> u64 {
    let x = u64::from(x).wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^ x >> 29
}

/// Runs one Yuma epoch on a synthetic graph and outputs its [`epoch_graph`] digest: the
/// benchmark of the epoch in Wasm (inputs built inside the guest, so the call's I/O limits do
/// not cap the graph size). Input: `(n, validators, weights_per_validator)`.
pub fn epoch(host: &mut impl Host) -> Result<(), Error> {
    let (n, validators, per_validator): (u16, u16, u16) = host.input_as()?;
    host.output_as(&epoch_graph(n, validators, per_validator));
    Ok(())
}

/// The kernel of [`epoch`], callable natively: builds a graph of `n` UIDs whose first
/// `validators` hold stake and each weight (and hold bonds on) `weights_per_validator`
/// consecutive servers, runs one epoch and returns `(Σ emission paid, a checksum of every
/// output)`.
pub fn epoch_graph(n: u16, validators: u16, per_validator: u16) -> (u64, u64) {
    use tao_contract_incentive::epoch::{self, EpochInput, EpochParams, NeuronInput};
    let servers = n.saturating_sub(validators).max(1);
    let per_validator = per_validator.min(servers);
    let neurons = (0..n)
        .map(|i| {
            let row: Vec<(u16, u16)> = if i < validators {
                let start = (u32::from(i) * 37) % u32::from(servers);
                let mut row: Vec<(u16, u16)> = (0..u32::from(per_validator))
                    .map(|t| {
                        let j = validators as u32 + (start + t) % u32::from(servers);
                        (j as u16, (scramble(j ^ u32::from(i) << 16) as u16) | 1)
                    })
                    .collect();
                row.sort_unstable();
                row
            } else {
                Vec::new()
            };
            NeuronInput {
                stake: if i < validators { (u64::from(i) + 1) * 1_000_000_000_000 } else { 0 },
                registered_at: 0,
                last_update: 1,
                permit: i < validators,
                bonds: row.clone(),
                weights: row,
                commit_block: None,
            }
        })
        .collect();
    let input = EpochInput {
        block: 2,
        last_epoch_block: 1,
        emission: 1_000_000_000,
        owner: None,
        params: EpochParams {
            kappa: 32_767,
            bonds_penalty: 65_535,
            bonds_moving_average: 900_000,
            max_allowed_validators: validators,
            activity_cutoff: 5_000,
            stake_threshold: 0,
            yuma3: true,
            liquid_alpha: false,
            alpha_low: 45_875,
            alpha_high: 58_982,
            alpha_sigmoid_steepness: 1_000,
            tempo: 360,
        },
        neurons,
    };
    let Ok(out) = epoch::run(&input) else { return (0, 0) };
    let paid = out.neurons.iter().map(|o| o.server_emission + o.validator_emission).sum();
    let checksum = out.neurons.iter().fold(0u64, |acc, o| {
        let bonds =
            o.bonds.iter().fold(0u64, |b, (j, v)| b.rotate_left(5) ^ u64::from(*j) << 16 ^ u64::from(*v));
        (acc.rotate_left(7)
            ^ u64::from(o.consensus)
            ^ u64::from(o.dividends) << 16
            ^ o.server_emission
            ^ bonds)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
    });
    (paid, checksum)
}

tao_sdk::entry_points!(
    put,
    get,
    remove,
    scan,
    mint,
    transfer,
    balances,
    fail_after_write,
    context,
    recurse,
    noop,
    mix,
    epoch
);
