//! The root subnet (netuid 0): 64 root UIDs, TaoWeight, and root dividends.
//!
//! Root stake is TAO staked 1:1 on netuid 0. It counts on every subnet's epoch as TaoWeight × the
//! hotkey's root stake, and the coinbase sets aside RootProp of each subnet's validator emission
//! for it (`tao_contract_pools::root_part`); [`distribute_root_dividend`] pays that part to the
//! hotkey's root stakers.

use alloc::vec::Vec;

use tao_contract_neurons::{self as neurons, ROOT_SLOTS};
use tao_contract_pools::{self as pools, PoolError, ROOT, Side};
use tao_contract_token::SYSTEM;
use tao_sdk::{Address, Host, Item};
use tao_types::{NetUid, Uid};

use crate::{StakeError, has_room, pool, raise_pool, take};

/// Subtensor's default TaoWeight, as a fraction of `u64::MAX` (≈ 0.05268): how much one TAO of
/// root stake weighs against one alpha in a subnet's epoch and in RootProp.
pub const TAO_WEIGHT: u64 = 971_718_665_099_567_868;

const TAO_WEIGHT_ITEM: Item<u64> = Item::new(b"stake/tao-weight");

/// The chain's TaoWeight (a fraction of `u64::MAX`).
pub fn tao_weight(host: &mut impl Host) -> Result<u64, StakeError> {
    Ok(TAO_WEIGHT_ITEM.load(host)?.unwrap_or(TAO_WEIGHT))
}

/// Chain only (governance): sets TaoWeight.
pub fn set_tao_weight(host: &mut impl Host, weight: u64) -> Result<(), StakeError> {
    if host.caller() != SYSTEM {
        return Err(StakeError::NotSystem);
    }
    TAO_WEIGHT_ITEM.save(host, &weight);
    Ok(())
}

/// `amount` of root TAO weighted by TaoWeight `weight` (rounded down).
pub fn weighted(amount: u64, weight: u64) -> u64 {
    (u128::from(amount) * u128::from(weight) / u128::from(u64::MAX)) as u64
}

/// The TAO staked on root through `hotkey`.
pub fn root_stake(host: &mut impl Host, hotkey: &Address) -> Result<u64, StakeError> {
    Ok(pool(host, hotkey, ROOT)?.stake)
}

/// The root UIDs: `(uid, hotkey, root stake)` in UID order.
pub fn root_list(host: &mut impl Host) -> Result<Vec<(Uid, Address, u64)>, StakeError> {
    let mut out = Vec::new();
    for uid in 0..neurons::count(host, ROOT)? {
        if let Some(n) = neurons::neuron(host, ROOT, uid)? {
            let stake = root_stake(host, &n.hotkey)?;
            out.push((uid, n.hotkey, stake));
        }
    }
    Ok(out)
}

/// `coldkey` registers `hotkey` on root (subtensor's `root_register`): a free slot of the
/// [`ROOT_SLOTS`], else the slot of the lowest root stake (ties to the higher UID), only if
/// `hotkey` has more root stake than it. Returns the UID.
pub fn root_register(host: &mut impl Host, coldkey: &Address, hotkey: &Address) -> Result<Uid, StakeError> {
    if neurons::uid_of(host, ROOT, hotkey)?.is_some() {
        return Err(neurons::NeuronError::AlreadyRegistered.into());
    }
    let seated = root_list(host)?;
    let uid = if seated.len() < usize::from(ROOT_SLOTS) {
        neurons::count(host, ROOT)?
    } else {
        let (uid, _, lowest) = seated
            .iter()
            .min_by_key(|(uid, _, stake)| (*stake, core::cmp::Reverse(*uid)))
            .copied()
            .ok_or(StakeError::Overflow)?;
        let have = root_stake(host, hotkey)?;
        if have <= lowest {
            return Err(StakeError::StakeTooLowForRoot { have, need: lowest.saturating_add(1) });
        }
        uid
    };
    neurons::seat_root(host, coldkey, hotkey, uid)?;
    Ok(uid)
}

/// Pays `alpha` of root dividends that root validator `hotkey` earned on `netuid` (chain only,
/// the epoch): its take as alpha stake to its owner, the rest sold through the subnet's pool and
/// the TAO staked on root to `hotkey`'s share pool, so every root staker of `hotkey` gains pro
/// rata (subtensor's root claim of type Swap, paid at once). Returns what could not be paid
/// (no root stakers, or the pool refused the sale): it stays pending.
pub fn distribute_root_dividend(
    host: &mut impl Host,
    hotkey: &Address,
    netuid: NetUid,
    alpha: u64,
) -> Result<u64, StakeError> {
    if host.caller() != SYSTEM {
        return Err(StakeError::NotSystem);
    }
    let owner = neurons::hotkey_owner(host, hotkey)?.ok_or(StakeError::UnknownHotkey)?;
    if alpha == 0 || pool(host, hotkey, ROOT)?.shares == 0 {
        return Ok(alpha);
    }
    let take_part = if has_room(host, &owner, hotkey, netuid)? {
        (u128::from(alpha) * u128::from(take(host, hotkey)?) / u128::from(u16::MAX)) as u64
    } else {
        0
    };
    let rest = alpha - take_part;
    let unpaid = match pools::swap(host, netuid, Side::Sell, rest) {
        Ok(sold) => {
            pools::swap(host, ROOT, Side::Buy, sold.output)?;
            raise_pool(host, hotkey, ROOT, sold.output)?;
            host.emit(
                b"root_dividend",
                &tao_sdk::borsh::to_vec(&(hotkey, netuid, rest, sold.output)).unwrap_or_default(),
            );
            0
        }
        Err(PoolError::ZeroAmount | PoolError::NothingOut | PoolError::ReserveDrained) => rest,
        Err(e) => return Err(e.into()),
    };
    if take_part > 0 {
        crate::deposit_stake(host, &owner, hotkey, netuid, take_part)?;
    }
    Ok(unpaid)
}
