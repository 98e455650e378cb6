//! Weights: how validators score miners.
//!
//! `set_weights` runs subtensor's checks in subtensor's order and stores the normalized
//! `(uid, u16)` pairs. With commit-reveal on, a validator first commits
//! keccak256(borsh(hotkey, netuid, uids, values, salt, version_key)) and reveals the weights
//! `reveal_period_epochs` epochs later, so nobody can copy weights before they are public.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod error;

use alloc::vec::Vec;

pub use error::WeightError;
use tao_contract_neurons as neurons;
use tao_contract_staking as staking;
use tao_contract_subnets::{self as subnets, params::PARAMS};
use tao_contract_token::SYSTEM;
use tao_sdk::{Address, BorshDeserialize, BorshSerialize, Host, Map};
use tao_types::{NetUid, Uid, keccak256};

/// Most unrevealed commits per hotkey and subnet.
pub const MAX_COMMITS: usize = 10;

const WEIGHTS: Map<(NetUid, Uid), Vec<(Uid, u16)>> = Map::new(b"weights/w/");
const LAST_UPDATE: Map<(NetUid, Uid), u64> = Map::new(b"weights/last/");
const PERMITS: Map<(NetUid, Uid), bool> = Map::new(b"weights/permit/");
const COMMITS: Map<(NetUid, Address), Vec<Commit>> = Map::new(b"weights/commit/");

/// A weight commitment.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct Commit {
    /// keccak256 of the borsh-encoded reveal (with the hotkey and netuid).
    pub hash: [u8; 32],
    /// Block of the commit.
    pub block: u64,
    /// Epoch of the commit.
    pub epoch: u64,
}

/// What a validator submits.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct WeightsArgs {
    /// Subnet.
    pub netuid: NetUid,
    /// Target UIDs.
    pub uids: Vec<Uid>,
    /// Raw weights, scaled so the largest becomes 65535.
    pub values: Vec<u16>,
    /// Must be at least the subnet's `weights_version_key` (unless that is 0).
    pub version_key: u64,
}

fn param(host: &mut impl Host, netuid: NetUid, name: &str) -> Result<u64, WeightError> {
    let id = PARAMS.iter().position(|p| p.name == name).ok_or(WeightError::Decode("parameter"))?;
    Ok(subnets::hyperparameter(host, netuid, id as u8)?)
}

/// The weights of `uid` on `netuid`. A row set before the UID's current registration belonged to
/// a pruned neuron and reads as empty, and so do entries on targets registered after the row was
/// set (they scored someone else): replacing a UID clears its row and its column without a scan.
pub fn weights(host: &mut impl Host, netuid: NetUid, uid: Uid) -> Result<Vec<(Uid, u16)>, WeightError> {
    let Some(row) = WEIGHTS.load(host, &(netuid, uid))? else { return Ok(Vec::new()) };
    let set_at = last_update(host, netuid, uid)?;
    if registered_at(host, netuid, uid)? > set_at {
        return Ok(Vec::new());
    }
    let mut live = Vec::with_capacity(row.len());
    for (target, value) in row {
        if registered_at(host, netuid, target)? <= set_at {
            live.push((target, value));
        }
    }
    Ok(live)
}

fn registered_at(host: &mut impl Host, netuid: NetUid, uid: Uid) -> Result<u64, WeightError> {
    Ok(neurons::neuron(host, netuid, uid)?.map_or(u64::MAX, |n| n.registered_at))
}

/// Block of `uid`'s last weights (0 = never).
pub fn last_update(host: &mut impl Host, netuid: NetUid, uid: Uid) -> Result<u64, WeightError> {
    Ok(LAST_UPDATE.load(host, &(netuid, uid))?.unwrap_or(0))
}

/// Whether `uid` holds a validator permit (set by the epoch).
pub fn permit(host: &mut impl Host, netuid: NetUid, uid: Uid) -> Result<bool, WeightError> {
    Ok(PERMITS.load(host, &(netuid, uid))?.unwrap_or(false))
}

/// Chain only (the epoch, governance): grants or revokes a validator permit.
pub fn set_permit(host: &mut impl Host, netuid: NetUid, uid: Uid, granted: bool) -> Result<(), WeightError> {
    only_system(host)?;
    PERMITS.save(host, &(netuid, uid), &granted);
    Ok(())
}

/// The stake a validator needs to set weights.
pub fn stake_threshold(host: &mut impl Host) -> Result<u64, WeightError> {
    Ok(staking::stake_threshold(host)?)
}

/// Block of `hotkey`'s earliest commit on `netuid` that can still be revealed, if any.
pub fn earliest_commit_block(
    host: &mut impl Host,
    netuid: NetUid,
    hotkey: &Address,
) -> Result<Option<u64>, WeightError> {
    let now = host.block_height();
    let epoch = epoch_of(host, netuid, now)?;
    let period = param(host, netuid, "reveal_period_epochs")?;
    let commits = COMMITS.load(host, &(netuid, *hotkey))?.unwrap_or_default();
    Ok(commits.iter().filter(|c| c.epoch + period >= epoch).map(|c| c.block).min())
}

/// Chain only (governance): the stake a validator needs to set weights.
pub fn set_stake_threshold(host: &mut impl Host, threshold: u64) -> Result<(), WeightError> {
    only_system(host)?;
    Ok(staking::set_stake_threshold(host, threshold)?)
}

fn only_system(host: &mut impl Host) -> Result<(), WeightError> {
    if host.caller() != SYSTEM {
        return Err(WeightError::NotSystem);
    }
    Ok(())
}

/// The epoch number of `block` on `netuid`: ⌊block / tempo⌋ (the epoch scheduler refines this).
pub fn epoch_of(host: &mut impl Host, netuid: NetUid, block: u64) -> Result<u64, WeightError> {
    Ok(block / param(host, netuid, "tempo")?.max(1))
}

/// Stake behind `hotkey` on `netuid` (all of its pool).
fn hotkey_stake(host: &mut impl Host, hotkey: &Address, netuid: NetUid) -> Result<u64, WeightError> {
    Ok(staking::pool(host, hotkey, netuid)?.stake)
}

/// How weights arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// `set_weights`: refused when commit-reveal is on.
    Direct,
    /// A reveal: commit-reveal is the point, and the commit already took the rate-limit slot.
    Reveal,
}

/// Every check of `set_weights` in subtensor's order; returns the caller's UID and the
/// normalized pairs.
fn check(
    host: &mut impl Host,
    hotkey: &Address,
    args: &WeightsArgs,
    path: Path,
) -> Result<(Uid, Vec<(Uid, u16)>), WeightError> {
    let netuid = args.netuid;
    // 1. Not root; lengths equal; subnet exists; no more weights than UIDs.
    if netuid == 0 {
        return Err(WeightError::RootSubnet);
    }
    if args.uids.len() != args.values.len() {
        return Err(WeightError::LengthMismatch);
    }
    let info = subnets::subnet(host, netuid)?.ok_or(WeightError::NoSuchSubnet(netuid))?;
    let n = neurons::count(host, netuid)?;
    if args.uids.len() > usize::from(n) {
        return Err(WeightError::TooManyWeights);
    }
    if path == Path::Direct && param(host, netuid, "commit_reveal")? == 1 {
        return Err(WeightError::CommitRevealEnabled);
    }
    // 2. Registered; enough stake (the owner's hotkey is exempt).
    let uid = neurons::uid_of(host, netuid, hotkey)?.ok_or(WeightError::NotRegistered)?;
    let is_owner = *hotkey == info.owner_hotkey;
    let threshold = stake_threshold(host)?;
    if !is_owner && hotkey_stake(host, hotkey, netuid)? < threshold {
        return Err(WeightError::StakeTooLow);
    }
    // 3. Version key.
    let required = param(host, netuid, "weights_version_key")?;
    if required != 0 && args.version_key < required {
        return Err(WeightError::IncorrectVersionKey { required });
    }
    // 4. Rate limit.
    let now = host.block_height();
    let last = last_update(host, netuid, uid)?;
    let limit = param(host, netuid, "weights_rate_limit")?;
    if path == Path::Direct && last != 0 && now.saturating_sub(last) < limit {
        return Err(WeightError::RateLimited { until: last + limit });
    }
    // 5. Validator permit, unless a lone self-weight or the owner.
    let self_weight = args.uids.len() == 1 && args.uids[0] == uid;
    if !self_weight && !is_owner && !permit(host, netuid, uid)? {
        return Err(WeightError::NoValidatorPermit);
    }
    // 6. No duplicates; valid UIDs; enough weights.
    let mut seen = args.uids.clone();
    seen.sort_unstable();
    if seen.windows(2).any(|w| w[0] == w[1]) {
        return Err(WeightError::DuplicateUids);
    }
    if args.uids.iter().any(|u| *u >= n) {
        return Err(WeightError::InvalidUid);
    }
    let min = param(host, netuid, "min_allowed_weights")?.min(u64::from(n));
    if !self_weight && (args.uids.len() as u64) < min {
        return Err(WeightError::TooFewWeights { min });
    }
    // 7. Scale so the largest is 65535 (rounded), then the max-weight limit on the normalized row.
    let max = args.values.iter().copied().max().unwrap_or(0);
    let scaled: Vec<u16> = args
        .values
        .iter()
        .map(|v| {
            if max == 0 { 0 } else { ((u64::from(*v) * 65_535 + u64::from(max) / 2) / u64::from(max)) as u16 }
        })
        .collect();
    let limit = param(host, netuid, "max_weights_limit")?;
    let sum: u64 = scaled.iter().map(|v| u64::from(*v)).sum();
    if limit < 65_535 && !self_weight && sum > 0 {
        let largest = u64::from(scaled.iter().copied().max().unwrap_or(0));
        // largest / sum ≤ limit / 65535, without division.
        if u128::from(largest) * 65_535 > u128::from(limit) * u128::from(sum) {
            return Err(WeightError::MaxWeightExceeded);
        }
    }
    Ok((uid, args.uids.iter().copied().zip(scaled).collect()))
}

/// Stores checked weights (zeros included) and the update block.
fn store(host: &mut impl Host, netuid: NetUid, uid: Uid, pairs: &[(Uid, u16)]) {
    let now = host.block_height();
    WEIGHTS.save(host, &(netuid, uid), &pairs.to_vec());
    LAST_UPDATE.save(host, &(netuid, uid), &now);
    host.emit(b"weights_set", &tao_sdk::borsh::to_vec(&(netuid, uid)).unwrap_or_default());
}

/// `set_weights` for `hotkey`.
pub fn set_weights(host: &mut impl Host, hotkey: &Address, args: &WeightsArgs) -> Result<(), WeightError> {
    let (uid, pairs) = check(host, hotkey, args, Path::Direct)?;
    store(host, args.netuid, uid, &pairs);
    Ok(())
}

/// The commitment hash of a reveal.
pub fn commit_hash(hotkey: &Address, args: &WeightsArgs, salt: &[u8]) -> [u8; 32] {
    let preimage =
        tao_sdk::borsh::to_vec(&(hotkey, args.netuid, &args.uids, &args.values, salt, args.version_key))
            .unwrap_or_default();
    keccak256(&preimage)
}

/// Commits a hash of future weights.
pub fn commit_weights(
    host: &mut impl Host,
    hotkey: &Address,
    netuid: NetUid,
    hash: [u8; 32],
) -> Result<(), WeightError> {
    subnets::subnet(host, netuid)?.ok_or(WeightError::NoSuchSubnet(netuid))?;
    if param(host, netuid, "commit_reveal")? == 0 {
        return Err(WeightError::CommitRevealDisabled);
    }
    let uid = neurons::uid_of(host, netuid, hotkey)?.ok_or(WeightError::NotRegistered)?;
    let now = host.block_height();
    let epoch = epoch_of(host, netuid, now)?;
    let period = param(host, netuid, "reveal_period_epochs")?;
    let mut commits = COMMITS.load(host, &(netuid, *hotkey))?.unwrap_or_default();
    commits.retain(|c| c.epoch + period >= epoch);
    if commits.len() >= MAX_COMMITS {
        return Err(WeightError::TooManyCommits);
    }
    commits.push(Commit { hash, block: now, epoch });
    COMMITS.save(host, &(netuid, *hotkey), &commits);
    LAST_UPDATE.save(host, &(netuid, uid), &now);
    Ok(())
}

/// Reveals committed weights: the matching commit must be exactly `reveal_period_epochs` old.
pub fn reveal_weights(
    host: &mut impl Host,
    hotkey: &Address,
    args: &WeightsArgs,
    salt: &[u8],
) -> Result<(), WeightError> {
    let netuid = args.netuid;
    let mut commits = COMMITS.load(host, &(netuid, *hotkey))?.unwrap_or_default();
    if commits.is_empty() {
        return Err(WeightError::NoCommit);
    }
    let hash = commit_hash(hotkey, args, salt);
    let index = commits.iter().position(|c| c.hash == hash).ok_or(WeightError::NoMatchingCommit)?;
    let now = host.block_height();
    let epoch = epoch_of(host, netuid, now)?;
    let due = commits[index].epoch + param(host, netuid, "reveal_period_epochs")?;
    if epoch < due {
        return Err(WeightError::RevealTooEarly { epoch: due });
    }
    if epoch > due {
        return Err(WeightError::RevealExpired);
    }
    let (uid, pairs) = check(host, hotkey, args, Path::Reveal)?;
    commits.remove(index);
    if commits.is_empty() {
        COMMITS.remove(host, &(netuid, *hotkey));
    } else {
        COMMITS.save(host, &(netuid, *hotkey), &commits);
    }
    store(host, netuid, uid, &pairs);
    Ok(())
}

/// Entry point: the caller (a hotkey) sets weights.
pub fn entry_set_weights(host: &mut impl Host) -> Result<(), WeightError> {
    let args: WeightsArgs = host.input_as()?;
    let caller = host.caller();
    set_weights(host, &caller, &args)
}

/// Entry point: `(netuid, hash)` from the caller (a hotkey).
pub fn entry_commit_weights(host: &mut impl Host) -> Result<(), WeightError> {
    let (netuid, hash): (NetUid, [u8; 32]) = host.input_as()?;
    let caller = host.caller();
    commit_weights(host, &caller, netuid, hash)
}

/// Entry point: `(WeightsArgs, salt)` from the caller (a hotkey).
pub fn entry_reveal_weights(host: &mut impl Host) -> Result<(), WeightError> {
    let (args, salt): (WeightsArgs, Vec<u8>) = host.input_as()?;
    let caller = host.caller();
    reveal_weights(host, &caller, &args, &salt)
}

/// Entry point (chain only): `(netuid, uid, granted)`.
pub fn entry_set_permit(host: &mut impl Host) -> Result<(), WeightError> {
    let (netuid, uid, granted): (NetUid, Uid, bool) = host.input_as()?;
    set_permit(host, netuid, uid, granted)
}

/// Entry point: outputs `(weights, last update)` of `(netuid, uid)`.
pub fn entry_query(host: &mut impl Host) -> Result<(), WeightError> {
    let (netuid, uid): (NetUid, Uid) = host.input_as()?;
    let out = (weights(host, netuid, uid)?, last_update(host, netuid, uid)?);
    host.output_as(&out);
    Ok(())
}

tao_sdk::entry_points!(
    entry_set_weights,
    entry_commit_weights,
    entry_reveal_weights,
    entry_set_permit,
    entry_query
);

#[cfg(test)]
mod tests;
