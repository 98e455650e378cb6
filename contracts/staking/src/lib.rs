//! Staking and delegation in the coldkey/hotkey model.
//!
//! A coldkey owns funds and stake; a hotkey operates a neuron. Stake is held per
//! (hotkey, netuid) as a *share pool*: stakers own shares, the pool owns the stake, so a reward
//! paid into the pool raises every nominator's stake pro rata without touching each account.
//! Shares are rounded in the pool's favour (down when issued, up when redeemed), so the pool can
//! never owe more than it holds.
//!
//! Stake is denominated per subnet from the start: [`tao_to_stake`] and [`stake_to_tao`] are the
//! one place that converts, 1:1 until the subnet pools (alpha) take over.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod error;

use alloc::vec::Vec;

pub use error::StakeError;
use tao_contract_neurons as neurons;
use tao_contract_subnets::{self as subnets, params::id};
use tao_contract_token::{self as token, SYSTEM};
use tao_sdk::{Address, BorshDeserialize, BorshSerialize, Host, Item, Map};
use tao_types::NetUid;

/// Smallest stake operation, in rao (0.002 τ).
pub const MIN_STAKE: u64 = 2_000_000;
/// Default and largest validator take: 11796 / 65535 ≈ 18%.
pub const MAX_TAKE: u16 = 11_796;
/// Blocks between two take increases of one hotkey.
pub const TAKE_INCREASE_RATE_LIMIT: u64 = 216_000;

/// Stake and shares of one (hotkey, netuid) pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct Pool {
    /// Stake the pool holds.
    pub stake: u64,
    /// Shares issued.
    pub shares: u128,
}

const POOLS: Map<(Address, NetUid), Pool> = Map::new(b"stake/pool/");
/// Shares by (coldkey, hotkey, netuid): coldkey first, so one coldkey's positions are a prefix.
const SHARES: Map<(Address, Address, NetUid), u128> = Map::new(b"stake/shares/");
const TAKES: Map<Address, (u16, u64)> = Map::new(b"stake/take/");
const TOTAL_STAKE: Item<u64> = Item::new(b"stake/total");

/// TAO → stake units of `netuid` (1:1 until subnet pools exist).
pub fn tao_to_stake(_netuid: NetUid, tao: u64) -> u64 {
    tao
}

/// Stake units of `netuid` → TAO (1:1 until subnet pools exist).
pub fn stake_to_tao(_netuid: NetUid, stake: u64) -> u64 {
    stake
}

/// The pool of `hotkey` on `netuid`.
pub fn pool(host: &mut impl Host, hotkey: &Address, netuid: NetUid) -> Result<Pool, StakeError> {
    Ok(POOLS.load(host, &(*hotkey, netuid))?.unwrap_or_default())
}

/// Everything staked, in TAO.
pub fn total_stake(host: &mut impl Host) -> Result<u64, StakeError> {
    Ok(TOTAL_STAKE.load(host)?.unwrap_or(0))
}

/// Storage key of the share pool of (`hotkey`, `netuid`) (a borsh [`Pool`]), for proofs.
pub fn pool_key(hotkey: &Address, netuid: NetUid) -> Vec<u8> {
    POOLS.key(&(*hotkey, netuid))
}

/// Storage key of `coldkey`'s shares in that pool (a borsh `u128`), for proofs.
pub fn shares_key(coldkey: &Address, hotkey: &Address, netuid: NetUid) -> Vec<u8> {
    SHARES.key(&(*coldkey, *hotkey, netuid))
}

/// The stake `coldkey` holds through `hotkey` on `netuid` (rounded down).
pub fn stake_of(
    host: &mut impl Host,
    coldkey: &Address,
    hotkey: &Address,
    netuid: NetUid,
) -> Result<u64, StakeError> {
    let shares = SHARES.load(host, &(*coldkey, *hotkey, netuid))?.unwrap_or(0);
    let pool = pool(host, hotkey, netuid)?;
    value_of(shares, &pool)
}

/// Every position of `coldkey`: `(hotkey, netuid, stake)`.
pub fn positions(host: &mut impl Host, coldkey: &Address) -> Result<Vec<(Address, NetUid, u64)>, StakeError> {
    let mut out = Vec::new();
    for ((_, hotkey, netuid), shares) in SHARES.entries_under(host, coldkey, 4_096)? {
        let pool = pool(host, &hotkey, netuid)?;
        out.push((hotkey, netuid, value_of(shares, &pool)?));
    }
    Ok(out)
}

/// The take of `hotkey` in 65535ths.
pub fn take(host: &mut impl Host, hotkey: &Address) -> Result<u16, StakeError> {
    Ok(TAKES.load(host, hotkey)?.map_or(MAX_TAKE, |(t, _)| t))
}

fn value_of(shares: u128, pool: &Pool) -> Result<u64, StakeError> {
    if pool.shares == 0 {
        return Ok(0);
    }
    let value = shares.checked_mul(u128::from(pool.stake)).ok_or(StakeError::Overflow)? / pool.shares;
    u64::try_from(value).map_err(|_| StakeError::Overflow)
}

fn adjust_total(host: &mut impl Host, add: u64, sub: u64) -> Result<(), StakeError> {
    let total =
        total_stake(host)?.checked_add(add).and_then(|t| t.checked_sub(sub)).ok_or(StakeError::Overflow)?;
    TOTAL_STAKE.save(host, &total);
    Ok(())
}

/// Adds `stake` to the pool and issues shares to `coldkey` (rounded down).
fn deposit_stake(
    host: &mut impl Host,
    coldkey: &Address,
    hotkey: &Address,
    netuid: NetUid,
    stake: u64,
) -> Result<(), StakeError> {
    let mut pool = pool(host, hotkey, netuid)?;
    let minted = if pool.shares == 0 || pool.stake == 0 {
        u128::from(stake)
    } else {
        u128::from(stake).checked_mul(pool.shares).ok_or(StakeError::Overflow)? / u128::from(pool.stake)
    };
    pool.stake = pool.stake.checked_add(stake).ok_or(StakeError::Overflow)?;
    pool.shares = pool.shares.checked_add(minted).ok_or(StakeError::Overflow)?;
    POOLS.save(host, &(*hotkey, netuid), &pool);
    let key = (*coldkey, *hotkey, netuid);
    let held = SHARES.load(host, &key)?.unwrap_or(0).checked_add(minted).ok_or(StakeError::Overflow)?;
    SHARES.save(host, &key, &held);
    adjust_total(host, stake, 0)
}

/// Redeems `stake` from `coldkey`'s position (burning shares rounded up).
fn withdraw_stake(
    host: &mut impl Host,
    coldkey: &Address,
    hotkey: &Address,
    netuid: NetUid,
    stake: u64,
) -> Result<(), StakeError> {
    let key = (*coldkey, *hotkey, netuid);
    let held = SHARES.load(host, &key)?.unwrap_or(0);
    let mut pool = pool(host, hotkey, netuid)?;
    let have = value_of(held, &pool)?;
    if stake > have {
        return Err(StakeError::NotEnoughStake { have, need: stake });
    }
    let burned = if stake == have {
        held
    } else {
        let numerator = u128::from(stake).checked_mul(pool.shares).ok_or(StakeError::Overflow)?;
        numerator.div_ceil(u128::from(pool.stake)).min(held)
    };
    pool.stake -= stake;
    pool.shares -= burned;
    if pool.shares == 0 {
        POOLS.remove(host, &(*hotkey, netuid));
    } else {
        POOLS.save(host, &(*hotkey, netuid), &pool);
    }
    if held == burned {
        SHARES.remove(host, &key);
    } else {
        SHARES.save(host, &key, &(held - burned));
    }
    adjust_total(host, 0, stake)
}

fn check_target(host: &mut impl Host, hotkey: &Address, netuid: NetUid) -> Result<(), StakeError> {
    if netuid != 0 && subnets::subnet(host, netuid)?.is_none() {
        return Err(StakeError::NoSuchSubnet(netuid));
    }
    if neurons::hotkey_owner(host, hotkey)?.is_none() {
        return Err(StakeError::UnknownHotkey);
    }
    Ok(())
}

/// `coldkey` stakes `tao` to `hotkey` on `netuid`.
pub fn add_stake(
    host: &mut impl Host,
    coldkey: &Address,
    hotkey: &Address,
    netuid: NetUid,
    tao: u64,
) -> Result<(), StakeError> {
    if tao < MIN_STAKE {
        return Err(StakeError::BelowMinimum { amount: tao });
    }
    check_target(host, hotkey, netuid)?;
    token::withdraw(host, coldkey, tao, false)?;
    deposit_stake(host, coldkey, hotkey, netuid, tao_to_stake(netuid, tao))?;
    host.emit(b"stake_added", &tao_sdk::borsh::to_vec(&(coldkey, hotkey, netuid, tao)).unwrap_or_default());
    Ok(())
}

/// Checks that a partial removal is worth at least the minimum.
fn check_removal(
    host: &mut impl Host,
    coldkey: &Address,
    hotkey: &Address,
    netuid: NetUid,
    stake: u64,
) -> Result<(), StakeError> {
    if stake == 0 {
        return Err(StakeError::BelowMinimum { amount: 0 });
    }
    let have = stake_of(host, coldkey, hotkey, netuid)?;
    if stake < have && stake_to_tao(netuid, stake) < MIN_STAKE {
        return Err(StakeError::BelowMinimum { amount: stake });
    }
    Ok(())
}

/// `coldkey` unstakes `stake` from `hotkey` on `netuid`, receiving TAO.
pub fn remove_stake(
    host: &mut impl Host,
    coldkey: &Address,
    hotkey: &Address,
    netuid: NetUid,
    stake: u64,
) -> Result<(), StakeError> {
    check_removal(host, coldkey, hotkey, netuid, stake)?;
    withdraw_stake(host, coldkey, hotkey, netuid, stake)?;
    token::deposit(host, coldkey, stake_to_tao(netuid, stake))?;
    host.emit(
        b"stake_removed",
        &tao_sdk::borsh::to_vec(&(coldkey, hotkey, netuid, stake)).unwrap_or_default(),
    );
    Ok(())
}

/// Where stake goes in a move or transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct Position {
    /// Owning coldkey.
    pub coldkey: Address,
    /// Hotkey staked to.
    pub hotkey: Address,
    /// Subnet.
    pub netuid: NetUid,
}

/// Moves `stake` between positions: `move_stake` (same coldkey) and `transfer_stake` (same hotkey,
/// another coldkey, only where transfers are allowed). No fee.
pub fn relocate_stake(
    host: &mut impl Host,
    from: &Position,
    to: &Position,
    stake: u64,
) -> Result<(), StakeError> {
    if from == to {
        return Err(StakeError::SamePosition);
    }
    if from.coldkey != to.coldkey {
        for netuid in [from.netuid, to.netuid] {
            if netuid != 0 && subnets::hyperparameter(host, netuid, id::TRANSFER_TOGGLE)? == 0 {
                return Err(StakeError::TransfersDisabled(netuid));
            }
        }
    }
    check_target(host, &to.hotkey, to.netuid)?;
    check_removal(host, &from.coldkey, &from.hotkey, from.netuid, stake)?;
    withdraw_stake(host, &from.coldkey, &from.hotkey, from.netuid, stake)?;
    let tao = stake_to_tao(from.netuid, stake);
    deposit_stake(host, &to.coldkey, &to.hotkey, to.netuid, tao_to_stake(to.netuid, tao))?;
    host.emit(b"stake_moved", &tao_sdk::borsh::to_vec(&(from, to, stake)).unwrap_or_default());
    Ok(())
}

/// Unstakes every position of `coldkey` to TAO. Returns the TAO received.
pub fn unstake_all(host: &mut impl Host, coldkey: &Address) -> Result<u64, StakeError> {
    let mut received = 0u64;
    for (hotkey, netuid, stake) in positions(host, coldkey)? {
        if stake == 0 {
            continue;
        }
        withdraw_stake(host, coldkey, &hotkey, netuid, stake)?;
        let tao = stake_to_tao(netuid, stake);
        token::deposit(host, coldkey, tao)?;
        received = received.checked_add(tao).ok_or(StakeError::Overflow)?;
    }
    Ok(received)
}

/// Sets the take of `hotkey` (its owner only): decreases any time, increases at most once per
/// [`TAKE_INCREASE_RATE_LIMIT`] blocks, never above [`MAX_TAKE`]; it must change.
pub fn set_take(
    host: &mut impl Host,
    coldkey: &Address,
    hotkey: &Address,
    new: u16,
) -> Result<(), StakeError> {
    if neurons::hotkey_owner(host, hotkey)? != Some(*coldkey) {
        return Err(StakeError::NotHotkeyOwner);
    }
    let (current, last_increase) = TAKES.load(host, hotkey)?.unwrap_or((MAX_TAKE, 0));
    if new == current {
        return Err(StakeError::TakeUnchanged);
    }
    if new > MAX_TAKE {
        return Err(StakeError::TakeTooHigh);
    }
    let now = host.block_height();
    let mut increased_at = last_increase;
    if new > current {
        let until = last_increase.saturating_add(TAKE_INCREASE_RATE_LIMIT);
        if last_increase != 0 && now < until {
            return Err(StakeError::RateLimited { until });
        }
        increased_at = now.max(1);
    }
    TAKES.save(host, hotkey, &(new, increased_at));
    Ok(())
}

/// Pays `amount` of stake emission to the validator `hotkey` on `netuid`: its take goes to the
/// hotkey's owner as stake, the rest raises the pool so every nominator gains pro rata. With no
/// nominators the whole amount goes to the owner. Returns the take paid. Chain only (the epoch).
pub fn distribute_dividend(
    host: &mut impl Host,
    hotkey: &Address,
    netuid: NetUid,
    amount: u64,
) -> Result<u64, StakeError> {
    if host.caller() != SYSTEM {
        return Err(StakeError::NotSystem);
    }
    let owner = neurons::hotkey_owner(host, hotkey)?.ok_or(StakeError::UnknownHotkey)?;
    let mut pool = pool(host, hotkey, netuid)?;
    let take_part = if pool.shares == 0 {
        amount
    } else {
        (u128::from(amount) * u128::from(take(host, hotkey)?) / u128::from(u16::MAX)) as u64
    };
    let rest = amount.saturating_sub(take_part);
    if rest > 0 {
        pool.stake = pool.stake.checked_add(rest).ok_or(StakeError::Overflow)?;
        POOLS.save(host, &(*hotkey, netuid), &pool);
        adjust_total(host, rest, 0)?;
    }
    if take_part > 0 {
        deposit_stake(host, &owner, hotkey, netuid, take_part)?;
    }
    Ok(take_part)
}

/// Stakes `amount` of emission to `coldkey`'s position on `hotkey` (miner incentive, owner
/// cut). Chain only (the epoch).
pub fn stake_emission(
    host: &mut impl Host,
    coldkey: &Address,
    hotkey: &Address,
    netuid: NetUid,
    amount: u64,
) -> Result<(), StakeError> {
    if host.caller() != SYSTEM {
        return Err(StakeError::NotSystem);
    }
    if amount == 0 {
        return Ok(());
    }
    deposit_stake(host, coldkey, hotkey, netuid, amount)
}

/// Arguments of add/remove stake.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct StakeArgs {
    /// Hotkey staked to.
    pub hotkey: Address,
    /// Subnet.
    pub netuid: NetUid,
    /// TAO to add, or stake to remove.
    pub amount: u64,
}

/// Entry point: the caller (coldkey) stakes.
pub fn entry_add_stake(host: &mut impl Host) -> Result<(), StakeError> {
    let a: StakeArgs = host.input_as()?;
    let caller = host.caller();
    add_stake(host, &caller, &a.hotkey, a.netuid, a.amount)
}

/// Entry point: the caller (coldkey) unstakes.
pub fn entry_remove_stake(host: &mut impl Host) -> Result<(), StakeError> {
    let a: StakeArgs = host.input_as()?;
    let caller = host.caller();
    remove_stake(host, &caller, &a.hotkey, a.netuid, a.amount)
}

/// Entry point: `(from hotkey, from netuid, to hotkey, to netuid, stake)` for the caller's stake.
pub fn entry_move_stake(host: &mut impl Host) -> Result<(), StakeError> {
    let (fh, fnet, th, tnet, amount): (Address, NetUid, Address, NetUid, u64) = host.input_as()?;
    let c = host.caller();
    relocate_stake(
        host,
        &Position { coldkey: c, hotkey: fh, netuid: fnet },
        &Position { coldkey: c, hotkey: th, netuid: tnet },
        amount,
    )
}

/// Entry point: `(destination coldkey, hotkey, from netuid, to netuid, stake)`.
pub fn entry_transfer_stake(host: &mut impl Host) -> Result<(), StakeError> {
    let (dest, hotkey, fnet, tnet, amount): (Address, Address, NetUid, NetUid, u64) = host.input_as()?;
    let c = host.caller();
    relocate_stake(
        host,
        &Position { coldkey: c, hotkey, netuid: fnet },
        &Position { coldkey: dest, hotkey, netuid: tnet },
        amount,
    )
}

/// Entry point: unstakes everything of the caller; outputs the TAO received.
pub fn entry_unstake_all(host: &mut impl Host) -> Result<(), StakeError> {
    let caller = host.caller();
    let received = unstake_all(host, &caller)?;
    host.output_as(&received);
    Ok(())
}

/// Entry point: `(hotkey, take)` by the hotkey's owner.
pub fn entry_set_take(host: &mut impl Host) -> Result<(), StakeError> {
    let (hotkey, new): (Address, u16) = host.input_as()?;
    let caller = host.caller();
    set_take(host, &caller, &hotkey, new)
}

/// Entry point (chain only): `(hotkey, netuid, amount)`; outputs the take paid.
pub fn entry_distribute_dividend(host: &mut impl Host) -> Result<(), StakeError> {
    let (hotkey, netuid, amount): (Address, NetUid, u64) = host.input_as()?;
    let paid = distribute_dividend(host, &hotkey, netuid, amount)?;
    host.output_as(&paid);
    Ok(())
}

/// Entry point: outputs the positions of a coldkey.
pub fn entry_positions(host: &mut impl Host) -> Result<(), StakeError> {
    let coldkey: Address = host.input_as()?;
    let out = positions(host, &coldkey)?;
    host.output_as(&out);
    Ok(())
}

tao_sdk::entry_points!(
    entry_add_stake,
    entry_remove_stake,
    entry_move_stake,
    entry_transfer_stake,
    entry_unstake_all,
    entry_set_take,
    entry_distribute_dividend,
    entry_positions
);

#[cfg(test)]
mod tests;
