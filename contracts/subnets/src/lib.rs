//! Subnets: competitive markets for one AI task each, with an owner, an identity and
//! hyperparameters.
//!
//! - `create_network` pays the current lock cost (the cost doubles with each registration and
//!   decays linearly back toward the minimum) into the new subnet's pool, assigns the lowest free
//!   netuid (netuid 0 is the root subnet) and records the owner coldkey and hotkey. Its one caller
//!   is the neurons module's `register_network` entry, which then seats the owner's hotkey at
//!   UID 0 (neurons builds on this crate, so the transaction is routed there).
//! - Hyperparameters come from one table ([`params::PARAMS`]): owner-settable ones within their
//!   range and at most once per parameter per two tempos; root-only ones only by the chain
//!   (governance).
//! - `dissolve` (chain only) clears the subnet; staking's `dissolve_network` wraps it and pays
//!   the pool's TAO out to the alpha holders.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod error;
pub mod params;

use alloc::string::String;
use alloc::vec::Vec;

pub use error::SubnetError;
use params::{ORDERED_PAIRS, PARAMS, Setter};
use tao_contract_pools as pools;
use tao_contract_token::{self as token, SYSTEM};
use tao_sdk::{Address, BorshDeserialize, BorshSerialize, Host, Item, Map};
use tao_types::{Hash, NetUid, RAO_PER_TAO};

/// The smallest lock a subnet registration costs.
pub const MIN_LOCK: u64 = 1_000 * RAO_PER_TAO;
/// Blocks over which the lock cost decays from twice the last lock back by one last lock.
pub const LOCK_REDUCTION_INTERVAL: u64 = 100_800;
/// Blocks between two subnet registrations.
pub const NETWORK_RATE_LIMIT: u64 = 7_200;
/// Most subnets besides root.
pub const SUBNET_LIMIT: u16 = 128;

/// Who owns a subnet and what it locked.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct SubnetInfo {
    /// The owner's coldkey: pays the lock, sets parameters, receives the owner cut.
    pub owner_coldkey: Address,
    /// The owner's hotkey, registered on the subnet.
    pub owner_hotkey: Address,
    /// Block of registration.
    pub registered_at: u64,
    /// TAO paid into the subnet's pool at registration.
    pub locked: u64,
    /// Name, URL and description.
    pub identity: SubnetIdentity,
}

/// A subnet's public identity. Each field is at most [`MAX_IDENTITY_FIELD`] bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct SubnetIdentity {
    /// Display name.
    pub name: String,
    /// Project URL.
    pub url: String,
    /// What the subnet does.
    pub description: String,
}

/// Longest identity field in bytes.
pub const MAX_IDENTITY_FIELD: usize = 256;

const SUBNETS: Map<NetUid, SubnetInfo> = Map::new(b"subnet/info/");
const PARAM_VALUES: Map<(NetUid, u8), u64> = Map::new(b"subnet/hp/");
const PARAM_SET_AT: Map<(NetUid, u8), u64> = Map::new(b"subnet/hpset/");
const LAST_LOCK: Item<(u64, u64)> = Item::new(b"subnet/lastlock");
const LAST_REGISTRATION: Item<u64> = Item::new(b"subnet/lastreg");
const LAST_EPOCH: Map<NetUid, u64> = Map::new(b"subnet/last-epoch/");
const NETWORK_RATE_LIMIT_SET: Item<u64> = Item::new(b"subnet/network-rate-limit");
const INCENTIVE_MODULE: Map<NetUid, Hash> = Map::new(b"subnet/incentive-module/");

/// Blocks before an epoch in which owners may not change parameters (subtensor's
/// AdminFreezeWindow): the epoch runs on the parameters everyone saw.
pub const ADMIN_FREEZE_WINDOW: u64 = 10;
/// Tempos between owner changes of one parameter; the weights version key waits longer.
const OWNER_RATE_LIMIT_TEMPOS: u64 = 2;
const VERSION_KEY_RATE_LIMIT_TEMPOS: u64 = 5;

/// Storage key of `netuid`'s [`SubnetInfo`], for proofs.
pub fn info_key(netuid: NetUid) -> Vec<u8> {
    SUBNETS.key(&netuid)
}

/// Storage key of hyperparameter `id` of `netuid` (a borsh `u64`; absent means the default).
pub fn param_key(netuid: NetUid, id: u8) -> Vec<u8> {
    PARAM_VALUES.key(&(netuid, id))
}

/// The lock cost at block `now`: max(MIN_LOCK, 2·last − (last / interval)·(now − last_block)),
/// or MIN_LOCK before any registration.
pub fn lock_cost(host: &mut impl Host, now: u64) -> Result<u64, SubnetError> {
    let Some((last, at)) = LAST_LOCK.load(host)? else { return Ok(MIN_LOCK) };
    let decay = (last / LOCK_REDUCTION_INTERVAL).saturating_mul(now.saturating_sub(at));
    Ok(last.saturating_mul(2).saturating_sub(decay).max(MIN_LOCK))
}

/// The subnet `netuid`, if it exists.
pub fn subnet(host: &mut impl Host, netuid: NetUid) -> Result<Option<SubnetInfo>, SubnetError> {
    Ok(SUBNETS.load(host, &netuid)?)
}

/// Every subnet, ascending by netuid.
pub fn subnets(host: &mut impl Host) -> Result<Vec<(NetUid, SubnetInfo)>, SubnetError> {
    Ok(SUBNETS.entries(host, usize::from(SUBNET_LIMIT) + 1)?)
}

/// The value of hyperparameter `id` on `netuid`.
pub fn hyperparameter(host: &mut impl Host, netuid: NetUid, id: u8) -> Result<u64, SubnetError> {
    let spec = PARAMS.get(usize::from(id)).ok_or(SubnetError::UnknownParameter)?;
    Ok(PARAM_VALUES.load(host, &(netuid, id))?.unwrap_or(spec.default))
}

fn check_identity(identity: &SubnetIdentity) -> Result<(), SubnetError> {
    let fields = [&identity.name, &identity.url, &identity.description];
    if fields.iter().any(|f| f.len() > MAX_IDENTITY_FIELD) {
        return Err(SubnetError::IdentityTooLong);
    }
    Ok(())
}

/// Blocks between two subnet registrations: [`NETWORK_RATE_LIMIT`] unless the chain set
/// another value (governance, or a dev chain's genesis).
pub fn network_rate_limit(host: &mut impl Host) -> Result<u64, SubnetError> {
    Ok(NETWORK_RATE_LIMIT_SET.load(host)?.unwrap_or(NETWORK_RATE_LIMIT))
}

/// Chain only: sets the blocks between two subnet registrations.
pub fn set_network_rate_limit(
    host: &mut impl Host,
    caller: &Address,
    blocks: u64,
) -> Result<(), SubnetError> {
    if *caller != SYSTEM {
        return Err(SubnetError::NotSystem);
    }
    NETWORK_RATE_LIMIT_SET.save(host, &blocks);
    Ok(())
}

/// Entry point (chain only): `blocks` between subnet registrations.
pub fn entry_set_network_rate_limit(host: &mut impl Host) -> Result<(), SubnetError> {
    let blocks: u64 = host.input_as()?;
    let caller = host.caller();
    set_network_rate_limit(host, &caller, blocks)
}

/// The subnet half of a registration for `owner_coldkey`, paying the lock. Returns its netuid.
/// `tao_contract_neurons::register_network` calls it and seats the owner's hotkey at UID 0.
pub fn create_network(
    host: &mut impl Host,
    owner_coldkey: &Address,
    owner_hotkey: &Address,
    identity: SubnetIdentity,
) -> Result<NetUid, SubnetError> {
    check_identity(&identity)?;
    let now = host.block_height();
    if let Some(last) = LAST_REGISTRATION.load(host)? {
        let allowed_at = last.saturating_add(network_rate_limit(host)?);
        if now < allowed_at {
            return Err(SubnetError::RateLimited { until: allowed_at });
        }
    }
    let taken = subnets(host)?;
    if taken.len() >= usize::from(SUBNET_LIMIT) {
        return Err(SubnetError::SubnetLimitReached);
    }
    // Lowest free netuid from 1: the entries are sorted by their borsh (little-endian) key, so
    // collect and search rather than assume order.
    let used: alloc::collections::BTreeSet<NetUid> = taken.iter().map(|(n, _)| *n).collect();
    let netuid = (1..=NetUid::MAX).find(|n| !used.contains(n)).ok_or(SubnetError::SubnetLimitReached)?;
    let cost = lock_cost(host, now)?;
    token::withdraw(host, owner_coldkey, cost, false)?;
    pools::create(host, netuid, cost, now)?;
    LAST_LOCK.save(host, &(cost, now));
    LAST_REGISTRATION.save(host, &now);
    let info = SubnetInfo {
        owner_coldkey: *owner_coldkey,
        owner_hotkey: *owner_hotkey,
        registered_at: now,
        locked: cost,
        identity,
    };
    SUBNETS.save(host, &netuid, &info);
    host.emit(
        b"network_registered",
        &tao_sdk::borsh::to_vec(&(netuid, owner_coldkey, cost)).unwrap_or_default(),
    );
    Ok(netuid)
}

/// Block of `netuid`'s last epoch. A new subnet starts `netuid mod tempo` blocks before its
/// registration, so subnets created together do not all fire on the same block.
pub fn last_epoch(host: &mut impl Host, netuid: NetUid, info: &SubnetInfo) -> Result<u64, SubnetError> {
    if let Some(block) = LAST_EPOCH.load(host, &netuid)? {
        return Ok(block);
    }
    let tempo = hyperparameter(host, netuid, params::id::TEMPO)?.max(1);
    Ok(info.registered_at.saturating_sub(u64::from(netuid) % tempo))
}

/// Records that `netuid`'s epoch ran at `block` (the epoch scheduler).
pub fn set_last_epoch(host: &mut impl Host, netuid: NetUid, block: u64) {
    LAST_EPOCH.save(host, &netuid, &block);
}

/// Blocks until `netuid`'s next epoch is due (0 when due now).
pub fn blocks_until_epoch(
    host: &mut impl Host,
    netuid: NetUid,
    info: &SubnetInfo,
) -> Result<u64, SubnetError> {
    let tempo = hyperparameter(host, netuid, params::id::TEMPO)?;
    Ok(last_epoch(host, netuid, info)?.saturating_add(tempo).saturating_sub(host.block_height()))
}

/// Owners may not change what the next epoch runs on in the blocks just before it.
fn check_freeze_window(host: &mut impl Host, netuid: NetUid, info: &SubnetInfo) -> Result<(), SubnetError> {
    let until_epoch = blocks_until_epoch(host, netuid, info)?;
    if until_epoch < ADMIN_FREEZE_WINDOW {
        return Err(SubnetError::FreezeWindow { epoch_at: host.block_height() + until_epoch });
    }
    Ok(())
}

/// Sets hyperparameter `id` of `netuid` to `value` on behalf of `caller`: the owner (for
/// owner-settable parameters, rate limited) or the chain (any parameter, no rate limit).
pub fn set_hyperparameter(
    host: &mut impl Host,
    caller: &Address,
    netuid: NetUid,
    id: u8,
    value: u64,
) -> Result<(), SubnetError> {
    let info = subnet(host, netuid)?.ok_or(SubnetError::NoSuchSubnet(netuid))?;
    let spec = PARAMS.get(usize::from(id)).ok_or(SubnetError::UnknownParameter)?;
    let by_chain = *caller == SYSTEM;
    if !by_chain {
        if *caller != info.owner_coldkey {
            return Err(SubnetError::NotOwner);
        }
        if spec.setter == Setter::Root {
            return Err(SubnetError::RootOnly(spec.name));
        }
        check_freeze_window(host, netuid, &info)?;
        let now = host.block_height();
        if let Some(at) = PARAM_SET_AT.load(host, &(netuid, id))? {
            let tempo = hyperparameter(host, netuid, params::id::TEMPO)?;
            let tempos = if id == params::id::WEIGHTS_VERSION_KEY {
                VERSION_KEY_RATE_LIMIT_TEMPOS
            } else {
                OWNER_RATE_LIMIT_TEMPOS
            };
            let allowed_at = at.saturating_add(tempo.saturating_mul(tempos));
            if now < allowed_at {
                return Err(SubnetError::RateLimited { until: allowed_at });
            }
        }
        PARAM_SET_AT.save(host, &(netuid, id), &now);
    }
    if value < spec.min || value > spec.max {
        return Err(SubnetError::OutOfRange { name: spec.name, min: spec.min, max: spec.max });
    }
    PARAM_VALUES.save(host, &(netuid, id), &value);
    for &(low, high) in ORDERED_PAIRS {
        if hyperparameter(host, netuid, low)? > hyperparameter(host, netuid, high)? {
            return Err(SubnetError::Unordered(
                PARAMS[usize::from(low)].name,
                PARAMS[usize::from(high)].name,
            ));
        }
    }
    host.emit(b"hyperparameter_set", &tao_sdk::borsh::to_vec(&(netuid, id, value)).unwrap_or_default());
    Ok(())
}

/// Replaces the identity of `netuid` (owner only).
pub fn set_identity(
    host: &mut impl Host,
    caller: &Address,
    netuid: NetUid,
    identity: SubnetIdentity,
) -> Result<(), SubnetError> {
    check_identity(&identity)?;
    let mut info = subnet(host, netuid)?.ok_or(SubnetError::NoSuchSubnet(netuid))?;
    if *caller != info.owner_coldkey {
        return Err(SubnetError::NotOwner);
    }
    info.identity = identity;
    SUBNETS.save(host, &netuid, &info);
    Ok(())
}

/// The code hash of `netuid`'s own incentive module, if its owner set one (otherwise Yuma).
pub fn incentive_module(host: &mut impl Host, netuid: NetUid) -> Result<Option<Hash>, SubnetError> {
    Ok(INCENTIVE_MODULE.load(host, &netuid)?)
}

/// Storage key of `netuid`'s incentive module hash, for proofs.
pub fn incentive_module_key(netuid: NetUid) -> Vec<u8> {
    INCENTIVE_MODULE.key(&netuid)
}

/// Sets (`Some`, code that has been deployed) or clears (`None`: back to Yuma) `netuid`'s
/// incentive module; owner only, outside the freeze window before an epoch.
pub fn set_incentive_module(
    host: &mut impl Host,
    caller: &Address,
    netuid: NetUid,
    module: Option<Hash>,
) -> Result<(), SubnetError> {
    let info = subnet(host, netuid)?.ok_or(SubnetError::NoSuchSubnet(netuid))?;
    if *caller != info.owner_coldkey {
        return Err(SubnetError::NotOwner);
    }
    check_freeze_window(host, netuid, &info)?;
    match module {
        Some(hash) => {
            if host.get(&[tao_abi::CODE_KEY_PREFIX, &hash.0].concat()).is_none() {
                return Err(SubnetError::NoSuchCode(hash));
            }
            INCENTIVE_MODULE.save(host, &netuid, &hash);
        }
        None => {
            INCENTIVE_MODULE.remove(host, &netuid);
        }
    }
    host.emit(b"incentive_module_set", &tao_sdk::borsh::to_vec(&(netuid, module)).unwrap_or_default());
    Ok(())
}

/// Clears `netuid`'s subnet state (chain only). Its pool is staking's to pay out and close.
pub fn dissolve(host: &mut impl Host, caller: &Address, netuid: NetUid) -> Result<(), SubnetError> {
    if *caller != SYSTEM {
        return Err(SubnetError::NotSystem);
    }
    subnet(host, netuid)?.ok_or(SubnetError::NoSuchSubnet(netuid))?;
    SUBNETS.remove(host, &netuid);
    LAST_EPOCH.remove(host, &netuid);
    INCENTIVE_MODULE.remove(host, &netuid);
    for id in 0..PARAMS.len() as u8 {
        PARAM_VALUES.remove(host, &(netuid, id));
        PARAM_SET_AT.remove(host, &(netuid, id));
    }
    host.emit(b"network_dissolved", &tao_sdk::borsh::to_vec(&netuid).unwrap_or_default());
    Ok(())
}

/// Arguments of the neurons module's `entry_register_network`.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct RegisterNetworkArgs {
    /// The owner's hotkey.
    pub hotkey: Address,
    /// Public identity.
    pub identity: SubnetIdentity,
}

/// Entry point: `(netuid, parameter id, value)`.
pub fn entry_set_hyperparameter(host: &mut impl Host) -> Result<(), SubnetError> {
    let (netuid, id, value): (NetUid, u8, u64) = host.input_as()?;
    let caller = host.caller();
    set_hyperparameter(host, &caller, netuid, id, value)
}

/// Entry point: `(netuid, identity)`.
pub fn entry_set_identity(host: &mut impl Host) -> Result<(), SubnetError> {
    let (netuid, identity): (NetUid, SubnetIdentity) = host.input_as()?;
    let caller = host.caller();
    set_identity(host, &caller, netuid, identity)
}

/// Entry point: `(netuid, Option<code hash>)` by the owner.
pub fn entry_set_incentive_module(host: &mut impl Host) -> Result<(), SubnetError> {
    let (netuid, module): (NetUid, Option<Hash>) = host.input_as()?;
    let caller = host.caller();
    set_incentive_module(host, &caller, netuid, module)
}

/// Entry point: outputs `(info, every hyperparameter value)` of `netuid`.
pub fn entry_query(host: &mut impl Host) -> Result<(), SubnetError> {
    let netuid: NetUid = host.input_as()?;
    let info = subnet(host, netuid)?.ok_or(SubnetError::NoSuchSubnet(netuid))?;
    let mut values = Vec::with_capacity(PARAMS.len());
    for id in 0..PARAMS.len() as u8 {
        values.push(hyperparameter(host, netuid, id)?);
    }
    host.output_as(&(info, values));
    Ok(())
}

/// One subnet as `entry_list` outputs it.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct Listed {
    /// Netuid.
    pub netuid: NetUid,
    /// Owner, lock and identity.
    pub info: SubnetInfo,
    /// TAO in its pool.
    pub pool_tao: u64,
    /// Spot price of its alpha, rao per alpha.
    pub price: u64,
}

/// Entry point: outputs every subnet as [`Listed`], by netuid.
pub fn entry_list(host: &mut impl Host) -> Result<(), SubnetError> {
    let mut out = Vec::new();
    for (netuid, info) in subnets(host)? {
        let pool = pools::pool(host, netuid)?.unwrap_or_default();
        let price = pools::price_in_rao(pool.spot_price(netuid));
        out.push(Listed { netuid, info, pool_tao: pool.tao, price });
    }
    out.sort_by_key(|l| l.netuid);
    host.output_as(&out);
    Ok(())
}

/// Entry point: outputs the lock cost at this block.
pub fn entry_lock_cost(host: &mut impl Host) -> Result<(), SubnetError> {
    let now = host.block_height();
    let cost = lock_cost(host, now)?;
    host.output_as(&cost);
    Ok(())
}

tao_sdk::entry_points!(
    entry_set_network_rate_limit,
    entry_set_hyperparameter,
    entry_set_identity,
    entry_set_incentive_module,
    entry_query,
    entry_list,
    entry_lock_cost
);

/// Makes `new` the owner hotkey of every subnet whose owner hotkey is `old` (a hotkey swap; the
/// caller checked ownership). Returns those subnets.
pub fn swap_owner_hotkey(
    host: &mut impl Host,
    old: &Address,
    new: &Address,
) -> Result<Vec<NetUid>, SubnetError> {
    let mut swapped = Vec::new();
    for (netuid, mut info) in subnets(host)? {
        if info.owner_hotkey == *old {
            info.owner_hotkey = *new;
            SUBNETS.save(host, &netuid, &info);
            swapped.push(netuid);
        }
    }
    Ok(swapped)
}

#[cfg(test)]
mod tests;
