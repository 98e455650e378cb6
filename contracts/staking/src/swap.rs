//! Hotkey swap (subtensor's `swap_hotkey`): the owner coldkey moves everything keyed by one of
//! its hotkeys to an unused one, atomically, paying [`HOTKEY_SWAP_COST`] (recycled).

use alloc::vec::Vec;

use tao_contract_neurons as neurons;
use tao_contract_pools::ROOT;
use tao_contract_subnets as subnets;
use tao_contract_token as token;
use tao_sdk::{Address, Host, Map};
use tao_types::{NetUid, RAO_PER_TAO};

use crate::{
    HOLDERS, MAX_POSITIONS, POOLS, POSITIONS, PositionList, SHARES, StakeError, TAKES, position_list,
};

/// What a swap costs, recycled (subtensor's 0.1 τ).
pub const HOTKEY_SWAP_COST: u64 = RAO_PER_TAO / 10;
/// Blocks between two swaps by one coldkey (subtensor's transaction rate limit, 1000 blocks).
pub const HOTKEY_SWAP_RATE_LIMIT: u64 = 1_000;
/// Most stake positions (holders of the hotkey's share pools, over all subnets) one swap moves.
pub const MAX_SWAP_POSITIONS: usize = 4_096;

const LAST_SWAP: Map<Address, u64> = Map::new(b"stake/hotkey-swap/");

/// Checks a swap of `old` to `new` by `coldkey` at block `now`, reading single keys only (so a
/// light client previews the refusals): the owner, an unused `new`, the rate limit.
fn check_swap(
    host: &mut impl Host,
    coldkey: &Address,
    old: &Address,
    new: &Address,
    now: u64,
) -> Result<(), StakeError> {
    if neurons::hotkey_owner(host, old)? != Some(*coldkey) {
        return Err(StakeError::NotHotkeyOwner);
    }
    if old == new || neurons::hotkey_owner(host, new)?.is_some() {
        return Err(StakeError::HotkeyInUse);
    }
    if let Some(last) = LAST_SWAP.load(host, coldkey)? {
        let until = last.saturating_add(HOTKEY_SWAP_RATE_LIMIT);
        if now < until {
            return Err(StakeError::RateLimited { until });
        }
    }
    Ok(())
}

/// `coldkey` swaps its hotkey `old` for the unused `new`: stake and share pools on every subnet
/// (each holder's shares and position index), UIDs and axons, the root seat, child relations,
/// the consensus key, the delegate and childkey takes, subnet ownership and the hotkey's owner all move to `new`;
/// `old` keeps nothing. Costs [`HOTKEY_SWAP_COST`], recycled; once per
/// [`HOTKEY_SWAP_RATE_LIMIT`] blocks per coldkey. Unrevealed weight commits do not move.
pub fn swap_hotkey(
    host: &mut impl Host,
    coldkey: &Address,
    old: &Address,
    new: &Address,
) -> Result<(), StakeError> {
    let now = host.block_height();
    check_swap(host, coldkey, old, new, now)?;
    token::recycle(host, coldkey, HOTKEY_SWAP_COST)?;
    let mut netuids: Vec<NetUid> = alloc::vec![ROOT];
    netuids.extend(subnets::subnets(host)?.into_iter().map(|(n, _)| n));
    let mut holders = Vec::new();
    for &netuid in &netuids {
        for ((_, _, holder), _) in HOLDERS.entries_under(host, &(netuid, *old), MAX_SWAP_POSITIONS + 1)? {
            holders.push((netuid, holder));
        }
        if holders.len() > MAX_SWAP_POSITIONS {
            return Err(StakeError::TooManyPositions);
        }
    }
    for (netuid, holder) in holders {
        move_entry(host, &SHARES, &(holder, *old, netuid), &(holder, *new, netuid))?;
        move_entry(host, &HOLDERS, &(netuid, *old, holder), &(netuid, *new, holder))?;
        let mut list: Vec<_> = position_list(host, &holder)?
            .into_iter()
            .map(|(k, n)| if k == *old && n == netuid { (*new, n) } else { (k, n) })
            .collect();
        list.sort();
        let list = PositionList::new(list).map_err(|_| StakeError::PositionsFull { max: MAX_POSITIONS })?;
        POSITIONS.save(host, &holder, &list);
    }
    for &netuid in &netuids {
        move_entry(host, &POOLS, &(*old, netuid), &(*new, netuid))?;
    }
    move_entry(host, &TAKES, old, new)?;
    crate::slashing::swap_slashes(host, old, new)?;
    crate::validators::swap_consensus_key(host, old, new)?;
    crate::children::swap_hotkey(host, old, new, &netuids)?;
    neurons::swap_hotkey(host, old, new, &netuids)?;
    subnets::swap_owner_hotkey(host, old, new)?;
    LAST_SWAP.save(host, coldkey, &now);
    host.emit(b"hotkey_swapped", &tao_sdk::borsh::to_vec(&(coldkey, old, new)).unwrap_or_default());
    Ok(())
}

/// Moves the value under `from` to `to` in `map`; returns it.
pub(crate) fn move_entry<K, V>(
    host: &mut impl Host,
    map: &Map<K, V>,
    from: &K,
    to: &K,
) -> Result<Option<V>, StakeError>
where
    K: tao_sdk::BorshSerialize + tao_sdk::BorshDeserialize,
    V: tao_sdk::BorshSerialize + tao_sdk::BorshDeserialize,
{
    let value = map.load(host, from)?;
    if let Some(v) = &value {
        map.remove(host, from);
        map.save(host, to, v);
    }
    Ok(value)
}

/// Entry point: `(old hotkey, new hotkey)` by the old hotkey's owner.
pub fn entry_swap_hotkey(host: &mut impl Host) -> Result<(), StakeError> {
    let (old, new): (Address, Address) = host.input_as()?;
    let caller = host.caller();
    swap_hotkey(host, &caller, &old, &new)
}
