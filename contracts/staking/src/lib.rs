//! Staking and delegation in the coldkey/hotkey model.
//!
//! A coldkey owns funds and stake; a hotkey operates a neuron. Stake is held per
//! (hotkey, netuid) as a *share pool*: stakers own shares, the pool owns the stake, so a reward
//! paid into the pool raises every nominator's stake pro rata without touching each account.
//! Shares are rounded in the pool's favour (down when issued, up when redeemed), so the pool can
//! never owe more than it holds.
//!
//! Stake is the subnet's alpha: staking buys alpha with TAO through the subnet's pool, unstaking
//! sells it back (root, netuid 0, is 1:1 TAO). Limit variants stop at a price and fill partly or
//! not at all; moving stake between subnets sells on one and buys on the other.
//! `dissolve_network` pays a dissolved subnet's pool TAO out pro rata to its alpha holders.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod children;
mod error;
mod root;
mod slashing;
mod swap;
mod unbonding;
mod validators;

use alloc::vec::Vec;

pub use children::{
    CHILDREN_COOLDOWN, CHILDREN_RATE_LIMIT, ChildList, ChildrenArgs, ChildrenView, MAX_CHILDREN, MAX_PARENTS,
    MAX_PENDING, ParentList, PendingChildren, apply_pending_children, childkey_take, children, children_keys,
    children_view, entry_children, entry_set_childkey_take, entry_set_children, epoch_stake, parents,
    pending_children, set_childkey_take, set_children, set_stake_threshold, split_with_parents,
    stake_threshold,
};
pub use error::StakeError;
pub use root::{
    TAO_WEIGHT, distribute_root_dividend, root_list, root_register, root_stake, set_tao_weight, tao_weight,
    weighted,
};
pub use slashing::{
    MAX_EVIDENCE_WINDOW, MAX_SLASHES, MIN_EVIDENCE_WINDOW, PPB, Slash, SlashParams, Slashed,
    entry_set_slash_params, entry_slash_equivocation, is_bonded, is_tombstoned, set_slash_params,
    slash_equivocation, slash_params, slash_params_key, slash_part, slashes, tombstone_key,
};
use swap::move_entry;
pub use swap::{
    HOTKEY_SWAP_COST, HOTKEY_SWAP_RATE_LIMIT, MAX_SWAP_POSITIONS, entry_swap_hotkey, swap_hotkey,
};
use tao_codec::BoundedVec;
use tao_contract_neurons as neurons;
use tao_contract_pools::{self as pools, PoolError, Side, Swap};
use tao_contract_subnets::{self as subnets, params::id};
use tao_contract_token::{self as token, SYSTEM};
use tao_sdk::{Address, BorshDeserialize, BorshSerialize, Host, Map};
use tao_types::NetUid;
pub use unbonding::{
    MAX_RELEASES_PER_BLOCK, MAX_UNBONDING, Unbonding, UnbondingList, entry_unbonding, release_unbonding,
    unbonding, unbonding_key, unbonding_total,
};
pub use validators::{
    ConsensusKey, MAX_SET, Member, ValidatorParams, check_consensus_key_proof, compute_set, consensus_key,
    consensus_key_key, consensus_key_proof_hash, next_set_key, set_consensus_key, set_key,
    set_validator_params, validator_epoch, validator_params,
};

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
/// Every position by (netuid, hotkey, coldkey): the index that lets a dissolution find them.
const HOLDERS: Map<(NetUid, Address, Address), bool> = Map::new(b"stake/holders/");
const TAKES: Map<Address, (u16, u64)> = Map::new(b"stake/take/");
/// Most stake positions one coldkey may hold. A light client shows an account by reading its
/// index and, per position, its shares, the share pool and the subnet's pool: at most
/// 1 + 3 × 64 = 193 proven keys, one round of the wallet's 512-key batches; `unstake_all` sells
/// at most 64 positions in one transaction; the index is at most 64 × 22 = 1,408 bytes. Subtensor
/// users rarely hold more than a handful.
pub const MAX_POSITIONS: u32 = 64;
/// A coldkey's positions, `(hotkey, netuid)` sorted ascending.
pub type PositionList = BoundedVec<(Address, NetUid), MAX_POSITIONS>;
/// Each coldkey's positions where it holds shares: one key a light client proves instead of
/// iterating `SHARES` (which a proof of one key cannot cover).
const POSITIONS: Map<Address, PositionList> = Map::new(b"stake/positions/");
/// Most positions a dissolution pays out in one call.
pub const MAX_DISSOLVE_POSITIONS: usize = 16_384;

/// The pool of `hotkey` on `netuid`.
pub fn pool(host: &mut impl Host, hotkey: &Address, netuid: NetUid) -> Result<Pool, StakeError> {
    Ok(POOLS.load(host, &(*hotkey, netuid))?.unwrap_or_default())
}

/// Storage key of the share pool of (`hotkey`, `netuid`) (a borsh [`Pool`]), for proofs.
pub fn pool_key(hotkey: &Address, netuid: NetUid) -> Vec<u8> {
    POOLS.key(&(*hotkey, netuid))
}

/// Storage key of `coldkey`'s shares in that pool (a borsh `u128`), for proofs.
pub fn shares_key(coldkey: &Address, hotkey: &Address, netuid: NetUid) -> Vec<u8> {
    SHARES.key(&(*coldkey, *hotkey, netuid))
}

/// Storage key of `coldkey`'s position index (a borsh [`PositionList`]), for proofs.
pub fn positions_key(coldkey: &Address) -> Vec<u8> {
    POSITIONS.key(coldkey)
}

/// The `(hotkey, netuid)` pairs where `coldkey` holds shares, from the chain's index.
pub fn position_list(host: &mut impl Host, coldkey: &Address) -> Result<Vec<(Address, NetUid)>, StakeError> {
    Ok(POSITIONS.load(host, coldkey)?.map(PositionList::into_inner).unwrap_or_default())
}

/// Whether `coldkey` holds (`hotkey`, `netuid`) already or may open it without passing
/// [`MAX_POSITIONS`].
pub(crate) fn has_room(
    host: &mut impl Host,
    coldkey: &Address,
    hotkey: &Address,
    netuid: NetUid,
) -> Result<bool, StakeError> {
    let list = position_list(host, coldkey)?;
    Ok(list.len() < MAX_POSITIONS as usize || list.binary_search(&(*hotkey, netuid)).is_ok())
}

/// Adds (`hotkey`, `netuid`) to `coldkey`'s index; writes nothing if the index is full.
fn open_position(
    host: &mut impl Host,
    coldkey: &Address,
    hotkey: &Address,
    netuid: NetUid,
) -> Result<(), StakeError> {
    let mut list = position_list(host, coldkey)?;
    if let Err(at) = list.binary_search(&(*hotkey, netuid)) {
        list.insert(at, (*hotkey, netuid));
        let list = PositionList::new(list).map_err(|_| StakeError::PositionsFull { max: MAX_POSITIONS })?;
        POSITIONS.save(host, coldkey, &list);
    }
    Ok(())
}

/// Drops (`hotkey`, `netuid`) from `coldkey`'s index, and the index once empty.
fn close_position(
    host: &mut impl Host,
    coldkey: &Address,
    hotkey: &Address,
    netuid: NetUid,
) -> Result<(), StakeError> {
    let mut list = position_list(host, coldkey)?;
    if let Ok(at) = list.binary_search(&(*hotkey, netuid)) {
        list.remove(at);
    }
    match PositionList::new(list) {
        Ok(list) if !list.is_empty() => POSITIONS.save(host, coldkey, &list),
        _ => {
            POSITIONS.remove(host, coldkey);
        }
    }
    Ok(())
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

/// Every position of `coldkey`: `(hotkey, netuid, stake)`, read through the index (no
/// iteration, so a light client can run it on proven state).
pub fn positions(host: &mut impl Host, coldkey: &Address) -> Result<Vec<(Address, NetUid, u64)>, StakeError> {
    let mut out = Vec::new();
    for (hotkey, netuid) in position_list(host, coldkey)? {
        out.push((hotkey, netuid, stake_of(host, coldkey, &hotkey, netuid)?));
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

/// Adds `stake` to the pool and issues shares to `coldkey` (rounded down). Fails with
/// [`StakeError::PositionsFull`] before writing anything if it would open a position past the
/// bound.
pub(crate) fn deposit_stake(
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
    let key = (*coldkey, *hotkey, netuid);
    let held = SHARES.load(host, &key)?.unwrap_or(0);
    if held == 0 && minted > 0 {
        open_position(host, coldkey, hotkey, netuid)?;
    }
    pool.stake = pool.stake.checked_add(stake).ok_or(StakeError::Overflow)?;
    pool.shares = pool.shares.checked_add(minted).ok_or(StakeError::Overflow)?;
    POOLS.save(host, &(*hotkey, netuid), &pool);
    if minted > 0 {
        SHARES.save(host, &key, &held.checked_add(minted).ok_or(StakeError::Overflow)?);
        HOLDERS.save(host, &(netuid, *hotkey, *coldkey), &true);
    }
    Ok(pools::adjust_staked(host, netuid, stake, 0)?)
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
        HOLDERS.remove(host, &(netuid, *hotkey, *coldkey));
        close_position(host, coldkey, hotkey, netuid)?;
    } else {
        SHARES.save(host, &key, &(held - burned));
    }
    Ok(pools::adjust_staked(host, netuid, 0, stake)?)
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

/// A limit price for a stake order, in rao per alpha: the pool's price after the swap is at
/// most it when staking and at least it when unstaking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct Limit {
    /// Limit price, rao per alpha.
    pub price: u64,
    /// Fill what fits within the limit (otherwise all or nothing).
    pub partial: bool,
}

/// How much of `amount` to swap: all of it without a limit; under a limit, all of it if it fits,
/// else what fits when partial fills are allowed.
fn fill(
    host: &mut impl Host,
    netuid: NetUid,
    side: Side,
    amount: u64,
    limit: Option<Limit>,
) -> Result<u64, StakeError> {
    let Some(limit) = limit else { return Ok(amount) };
    let pool = pools::pool(host, netuid)?.ok_or(StakeError::NoSuchSubnet(netuid))?;
    let fillable = pools::fillable(&pool, netuid, side, amount, limit.price);
    if fillable == amount || (limit.partial && fillable > 0) {
        Ok(fillable)
    } else {
        Err(PoolError::LimitExceeded { fillable }.into())
    }
}

/// `coldkey` stakes `tao` to `hotkey` on `netuid`: the TAO buys alpha through the subnet's pool
/// (within `limit` if given). Returns the swap.
pub fn add_stake(
    host: &mut impl Host,
    coldkey: &Address,
    hotkey: &Address,
    netuid: NetUid,
    tao: u64,
    limit: Option<Limit>,
) -> Result<Swap, StakeError> {
    check_target(host, hotkey, netuid)?;
    let tao = fill(host, netuid, Side::Buy, tao, limit)?;
    if tao < MIN_STAKE {
        return Err(StakeError::BelowMinimum { amount: tao });
    }
    token::withdraw(host, coldkey, tao, false)?;
    let bought = pools::swap(host, netuid, Side::Buy, tao)?;
    deposit_stake(host, coldkey, hotkey, netuid, bought.output)?;
    host.emit(
        b"stake_added",
        &tao_sdk::borsh::to_vec(&(coldkey, hotkey, netuid, tao, bought.output)).unwrap_or_default(),
    );
    Ok(bought)
}

/// What `alpha` of `netuid` sells for now (None if the pool would refuse the swap).
fn tao_value(host: &mut impl Host, netuid: NetUid, alpha: u64) -> Result<Option<u64>, StakeError> {
    let pool = pools::pool(host, netuid)?.ok_or(StakeError::NoSuchSubnet(netuid))?;
    Ok(pools::quote(&pool, netuid, Side::Sell, alpha).ok().map(|s| s.output))
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
    if stake < have && tao_value(host, netuid, stake)?.is_some_and(|tao| tao < MIN_STAKE) {
        return Err(StakeError::BelowMinimum { amount: stake });
    }
    Ok(())
}

/// Takes `alpha` out of `coldkey`'s position and sells it through the pool. Returns the swap.
fn sell_stake(host: &mut impl Host, from: &Position, alpha: u64) -> Result<Swap, StakeError> {
    withdraw_stake(host, &from.coldkey, &from.hotkey, from.netuid, alpha)?;
    Ok(pools::swap(host, from.netuid, Side::Sell, alpha)?)
}

/// Pays `tao` sold from position `from` to its coldkey: root TAO of a bonded hotkey unbonds first
/// ([`unbonding`]), everything else at once.
fn pay_out(host: &mut impl Host, from: &Position, tao: u64) -> Result<(), StakeError> {
    if from.netuid == pools::ROOT {
        unbonding::pay_root(host, &from.coldkey, &from.hotkey, tao)
    } else {
        Ok(token::deposit(host, &from.coldkey, tao)?)
    }
}

/// `coldkey` unstakes `stake` alpha from `hotkey` on `netuid` (within `limit` if given), receiving
/// the TAO it sells for (root TAO of a bonded hotkey after the evidence window). Returns the swap.
pub fn remove_stake(
    host: &mut impl Host,
    coldkey: &Address,
    hotkey: &Address,
    netuid: NetUid,
    stake: u64,
    limit: Option<Limit>,
) -> Result<Swap, StakeError> {
    let stake = fill(host, netuid, Side::Sell, stake, limit)?;
    check_removal(host, coldkey, hotkey, netuid, stake)?;
    let from = Position { coldkey: *coldkey, hotkey: *hotkey, netuid };
    let sold = sell_stake(host, &from, stake)?;
    pay_out(host, &from, sold.output)?;
    host.emit(
        b"stake_removed",
        &tao_sdk::borsh::to_vec(&(coldkey, hotkey, netuid, stake, sold.output)).unwrap_or_default(),
    );
    Ok(sold)
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

/// Moves `stake` alpha between positions: `move_stake` (same coldkey), `swap_stake` (same
/// hotkey, another subnet) and `transfer_stake` (another coldkey, only where transfers are
/// allowed). Within a subnet the alpha moves as is; across subnets it is sold on one pool and the
/// TAO buys alpha on the other (both swaps pay the fee). Root stake of a bonded hotkey
/// ([`is_bonded`]) leaves that hotkey only by unstaking, which unbonds. Returns the alpha credited.
pub fn relocate_stake(
    host: &mut impl Host,
    from: &Position,
    to: &Position,
    stake: u64,
) -> Result<u64, StakeError> {
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
    let leaves_root_of_hotkey = to.netuid != pools::ROOT || to.hotkey != from.hotkey;
    if from.netuid == pools::ROOT && leaves_root_of_hotkey && is_bonded(host, &from.hotkey)? {
        return Err(StakeError::RootStakeBonded);
    }
    check_removal(host, &from.coldkey, &from.hotkey, from.netuid, stake)?;
    let credited = if from.netuid == to.netuid {
        withdraw_stake(host, &from.coldkey, &from.hotkey, from.netuid, stake)?;
        stake
    } else {
        let sold = sell_stake(host, from, stake)?;
        pools::swap(host, to.netuid, Side::Buy, sold.output)?.output
    };
    deposit_stake(host, &to.coldkey, &to.hotkey, to.netuid, credited)?;
    host.emit(b"stake_moved", &tao_sdk::borsh::to_vec(&(from, to, stake, credited)).unwrap_or_default());
    Ok(credited)
}

/// Sells every position of `coldkey` for TAO (root TAO of a bonded hotkey unbonds). Returns the
/// TAO sold for.
pub fn unstake_all(host: &mut impl Host, coldkey: &Address) -> Result<u64, StakeError> {
    let mut received = 0u64;
    for (hotkey, netuid, stake) in positions(host, coldkey)? {
        if stake == 0 {
            continue;
        }
        let from = Position { coldkey: *coldkey, hotkey, netuid };
        let sold = sell_stake(host, &from, stake)?;
        pay_out(host, &from, sold.output)?;
        received = received.checked_add(sold.output).ok_or(StakeError::Overflow)?;
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
    let current = TAKES.load(host, hotkey)?.unwrap_or((MAX_TAKE, 0));
    let now = host.block_height();
    TAKES.save(host, hotkey, &next_take(current, new, now)?);
    Ok(())
}

/// A take's next stored `(take, block of its last increase)` from `current` when set to `new`
/// at block `now`: it must change, at most [`MAX_TAKE`], increases at most once per
/// [`TAKE_INCREASE_RATE_LIMIT`] blocks (the delegate take and the childkey take alike).
pub(crate) fn next_take(current: (u16, u64), new: u16, now: u64) -> Result<(u16, u64), StakeError> {
    let (take, last_increase) = current;
    if new == take {
        return Err(StakeError::TakeUnchanged);
    }
    if new > MAX_TAKE {
        return Err(StakeError::TakeTooHigh);
    }
    if new < take {
        return Ok((new, last_increase));
    }
    let until = last_increase.saturating_add(TAKE_INCREASE_RATE_LIMIT);
    if last_increase != 0 && now < until {
        return Err(StakeError::RateLimited { until });
    }
    Ok((new, now.max(1)))
}

/// Pays `amount` of stake emission to the validator `hotkey` on `netuid`: its take goes to the
/// hotkey's owner as stake, the rest raises the pool so every nominator gains pro rata. With no
/// nominators the whole amount goes to the owner. An owner whose index is full gets no take (it
/// stays with the nominators); with no nominators either, it fails with
/// [`StakeError::PositionsFull`] having written nothing. Returns the take paid. Chain only.
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
    let take_part = if pool(host, hotkey, netuid)?.shares == 0 {
        amount
    } else if !has_room(host, &owner, hotkey, netuid)? {
        0
    } else {
        (u128::from(amount) * u128::from(take(host, hotkey)?) / u128::from(u16::MAX)) as u64
    };
    raise_pool(host, hotkey, netuid, amount.saturating_sub(take_part))?;
    if take_part > 0 {
        deposit_stake(host, &owner, hotkey, netuid, take_part)?;
    }
    Ok(take_part)
}

/// Adds `amount` to the (`hotkey`, `netuid`) share pool without issuing shares: every holder
/// gains pro rata.
pub(crate) fn raise_pool(
    host: &mut impl Host,
    hotkey: &Address,
    netuid: NetUid,
    amount: u64,
) -> Result<(), StakeError> {
    if amount == 0 {
        return Ok(());
    }
    let mut pool = pool(host, hotkey, netuid)?;
    pool.stake = pool.stake.checked_add(amount).ok_or(StakeError::Overflow)?;
    POOLS.save(host, &(*hotkey, netuid), &pool);
    Ok(pools::adjust_staked(host, netuid, amount, 0)?)
}

/// Stakes `amount` of emission to `coldkey`'s position on `hotkey` (miner incentive, owner
/// cut). Fails with [`StakeError::PositionsFull`], having written nothing, if that would open a
/// position past the bound: the epoch leaves it undistributed. Chain only (the epoch).
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

/// Dissolves `netuid` (chain only): clears the subnet and pays its pool's TAO out pro rata over
/// all its alpha — staked alpha to its holders, the reserve's alpha to the owner, who provided
/// the pool's liquidity with the lock. Pending emission is never issued. Rounding dust, and any
/// payout too small to open an account, goes to the owner. Returns the TAO paid to stakers.
pub fn dissolve_network(host: &mut impl Host, caller: &Address, netuid: NetUid) -> Result<u64, StakeError> {
    let info = subnets::subnet(host, netuid)?.ok_or(StakeError::NoSuchSubnet(netuid))?;
    subnets::dissolve(host, caller, netuid)?;
    let pool = pools::close(host, netuid)?;
    let holders = HOLDERS.entries_under(host, &netuid, MAX_DISSOLVE_POSITIONS + 1)?;
    if holders.len() > MAX_DISSOLVE_POSITIONS {
        return Err(StakeError::TooManyPositions);
    }
    let claims = u128::from(pool.alpha_in) + u128::from(pool.alpha_out);
    let mut positions = Vec::with_capacity(holders.len());
    for ((_, hotkey, coldkey), _) in holders {
        positions.push((coldkey, hotkey, stake_of(host, &coldkey, &hotkey, netuid)?));
    }
    let mut paid = 0u64;
    for (coldkey, hotkey, alpha) in positions {
        SHARES.remove(host, &(coldkey, hotkey, netuid));
        HOLDERS.remove(host, &(netuid, hotkey, coldkey));
        close_position(host, &coldkey, &hotkey, netuid)?;
        POOLS.remove(host, &(hotkey, netuid));
        let tao = (u128::from(pool.tao) * u128::from(alpha) / claims.max(1)) as u64;
        if tao > 0 && token::deposit(host, &coldkey, tao).is_ok() {
            paid += tao;
        }
    }
    let rest = pool.tao - paid;
    if rest > 0 {
        token::deposit(host, &info.owner_coldkey, rest)?;
    }
    host.emit(b"network_dissolved", &tao_sdk::borsh::to_vec(&(netuid, paid, rest)).unwrap_or_default());
    Ok(paid)
}

/// Arguments of add/remove stake.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct StakeArgs {
    /// Hotkey staked to.
    pub hotkey: Address,
    /// Subnet.
    pub netuid: NetUid,
    /// TAO to add, or alpha to remove.
    pub amount: u64,
    /// Optional limit price.
    pub limit: Option<Limit>,
}

/// Entry point: the caller (coldkey) stakes; outputs the [`Swap`].
pub fn entry_add_stake(host: &mut impl Host) -> Result<(), StakeError> {
    let a: StakeArgs = host.input_as()?;
    let caller = host.caller();
    let swap = add_stake(host, &caller, &a.hotkey, a.netuid, a.amount, a.limit)?;
    host.output_as(&swap);
    Ok(())
}

/// Entry point: the caller (coldkey) unstakes; outputs the [`Swap`].
pub fn entry_remove_stake(host: &mut impl Host) -> Result<(), StakeError> {
    let a: StakeArgs = host.input_as()?;
    let caller = host.caller();
    let swap = remove_stake(host, &caller, &a.hotkey, a.netuid, a.amount, a.limit)?;
    host.output_as(&swap);
    Ok(())
}

/// Entry point: `(from hotkey, from netuid, to hotkey, to netuid, stake)` for the caller's stake;
/// outputs the alpha credited.
pub fn entry_move_stake(host: &mut impl Host) -> Result<(), StakeError> {
    let (fh, fnet, th, tnet, amount): (Address, NetUid, Address, NetUid, u64) = host.input_as()?;
    let c = host.caller();
    let credited = relocate_stake(
        host,
        &Position { coldkey: c, hotkey: fh, netuid: fnet },
        &Position { coldkey: c, hotkey: th, netuid: tnet },
        amount,
    )?;
    host.output_as(&credited);
    Ok(())
}

/// Entry point (subtensor's `swap_stake`): `(hotkey, from netuid, to netuid, alpha)` of the
/// caller's stake, sold on one subnet and bought on the other; outputs the alpha credited.
pub fn entry_swap_stake(host: &mut impl Host) -> Result<(), StakeError> {
    let (hotkey, from, to, amount): (Address, NetUid, NetUid, u64) = host.input_as()?;
    let c = host.caller();
    let from = Position { coldkey: c, hotkey, netuid: from };
    let credited = relocate_stake(host, &from, &Position { netuid: to, ..from }, amount)?;
    host.output_as(&credited);
    Ok(())
}

/// Entry point: `(destination coldkey, hotkey, from netuid, to netuid, stake)`; outputs the
/// alpha credited.
pub fn entry_transfer_stake(host: &mut impl Host) -> Result<(), StakeError> {
    let (dest, hotkey, fnet, tnet, amount): (Address, Address, NetUid, NetUid, u64) = host.input_as()?;
    let c = host.caller();
    let credited = relocate_stake(
        host,
        &Position { coldkey: c, hotkey, netuid: fnet },
        &Position { coldkey: dest, hotkey, netuid: tnet },
        amount,
    )?;
    host.output_as(&credited);
    Ok(())
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

/// Entry point (chain only): `netuid`; outputs the TAO paid to stakers.
pub fn entry_dissolve_network(host: &mut impl Host) -> Result<(), StakeError> {
    let netuid: NetUid = host.input_as()?;
    let caller = host.caller();
    let paid = dissolve_network(host, &caller, netuid)?;
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

/// Entry point: `(netuid, side, amount)`; outputs the [`Swap`] it would make now, or fails with
/// the pool's error.
pub fn entry_quote(host: &mut impl Host) -> Result<(), StakeError> {
    let (netuid, side, amount): (NetUid, Side, u64) = host.input_as()?;
    let pool = pools::pool(host, netuid)?.ok_or(StakeError::NoSuchSubnet(netuid))?;
    let swap = pools::quote(&pool, netuid, side, amount)?;
    host.output_as(&swap);
    Ok(())
}

/// Entry point: the caller (a coldkey) registers `hotkey` on root; outputs the UID.
pub fn entry_root_register(host: &mut impl Host) -> Result<(), StakeError> {
    let hotkey: Address = host.input_as()?;
    let caller = host.caller();
    let uid = root_register(host, &caller, &hotkey)?;
    host.output_as(&uid);
    Ok(())
}

/// Entry point: outputs the root UIDs, `[(uid, hotkey, root stake)]`.
pub fn entry_root_list(host: &mut impl Host) -> Result<(), StakeError> {
    let list = root_list(host)?;
    host.output_as(&list);
    Ok(())
}

/// Entry point: the caller (the hotkey's owner coldkey) sets `(hotkey, consensus key, proof r ‖ s)`.
pub fn entry_set_consensus_key(host: &mut impl Host) -> Result<(), StakeError> {
    let (hotkey, key, proof): (Address, ConsensusKey, [u8; 64]) = host.input_as()?;
    let caller = host.caller();
    set_consensus_key(host, &caller, &hotkey, &key, &proof)
}

/// Entry point (chain only): sets the [`ValidatorParams`].
pub fn entry_set_validator_params(host: &mut impl Host) -> Result<(), StakeError> {
    let params: ValidatorParams = host.input_as()?;
    set_validator_params(host, params)
}

tao_sdk::entry_points!(
    entry_set_consensus_key,
    entry_set_validator_params,
    entry_set_slash_params,
    entry_slash_equivocation,
    entry_unbonding,
    entry_add_stake,
    entry_remove_stake,
    entry_move_stake,
    entry_swap_stake,
    entry_transfer_stake,
    entry_unstake_all,
    entry_set_take,
    entry_distribute_dividend,
    entry_dissolve_network,
    entry_positions,
    entry_quote,
    entry_root_register,
    entry_root_list,
    entry_set_children,
    entry_set_childkey_take,
    entry_children,
    entry_swap_hotkey
);

/// Storage key of `hotkey`'s take (a borsh `(u16 take, u64 block of its last increase)`; absent
/// means [`MAX_TAKE`]), for proofs (kept last: code above keeps its line numbers, so the module's
/// bytes do not change).
pub fn take_key(hotkey: &Address) -> Vec<u8> {
    TAKES.key(hotkey)
}

#[cfg(test)]
mod tests;
