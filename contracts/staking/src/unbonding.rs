//! Unbonding: root TAO unstaked from a validator's hotkey ([`crate::is_bonded`]) is held for the
//! evidence window before it is paid, so a validator cannot escape a slash by unstaking right
//! after equivocating (subtensor has no slashing and pays at once; so does this chain for every
//! other hotkey). Each coldkey holds at most [`MAX_UNBONDING`] entries; the begin-block hook
//! ([`release_unbonding`]) pays the due ones through a per-height queue, at most
//! [`MAX_RELEASES_PER_BLOCK`] coldkeys per block, the rest in the blocks after.

use alloc::vec::Vec;

use tao_codec::BoundedVec;
use tao_contract_token::{self as token, SYSTEM};
use tao_sdk::{Address, BorshDeserialize, BorshSerialize, Host, Item, Map};

use crate::StakeError;
use crate::slashing::{after_slashes, slash_params};

/// Most unbonding entries one coldkey holds (one per hotkey and block).
pub const MAX_UNBONDING: u32 = 32;
/// Most coldkeys whose due entries one block pays.
pub const MAX_RELEASES_PER_BLOCK: usize = 256;
/// Most queue heights one block walks: after blocks without the hook the queue catches up.
const MAX_DUE_HEIGHTS_PER_BLOCK: u64 = 256;

/// Root TAO on its way back to a coldkey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct Unbonding {
    /// The hotkey it was staked to (its slashes until `release` cut it).
    pub hotkey: Address,
    /// Rao unstaked.
    pub rao: u64,
    /// The block it was unstaked in.
    pub since: u64,
    /// The block that pays it: `since` + the evidence window.
    pub release: u64,
}

/// A coldkey's unbonding entries, in the order they began.
pub type UnbondingList = BoundedVec<Unbonding, MAX_UNBONDING>;

const UNBONDING: Map<Address, UnbondingList> = Map::new(b"stake/unbonding/");
/// The coldkeys with an entry due at each height (each once).
const DUE: Map<u64, Vec<Address>> = Map::new(b"stake/unbonding-due/");
/// The first queue height not yet paid in full; absent while nothing is unbonding.
const CURSOR: Item<u64> = Item::new(b"stake/unbonding-cursor");
/// Rao held in all entries: with balances, pools and the burned total it makes the issuance.
const TOTAL: Item<u64> = Item::new(b"stake/unbonding-total");

/// Storage key of `coldkey`'s entries (a borsh [`UnbondingList`]), for proofs.
pub fn unbonding_key(coldkey: &Address) -> Vec<u8> {
    UNBONDING.key(coldkey)
}

fn entries(host: &mut impl Host, coldkey: &Address) -> Result<Vec<Unbonding>, StakeError> {
    Ok(UNBONDING.load(host, coldkey)?.map(UnbondingList::into_inner).unwrap_or_default())
}

fn save_entries(host: &mut impl Host, coldkey: &Address, list: Vec<Unbonding>) -> Result<(), StakeError> {
    if list.is_empty() {
        UNBONDING.remove(host, coldkey);
        return Ok(());
    }
    let list = UnbondingList::new(list).map_err(|_| StakeError::UnbondingFull { max: MAX_UNBONDING })?;
    UNBONDING.save(host, coldkey, &list);
    Ok(())
}

/// `coldkey`'s unbonding entries, each `rao` what its release will pay (slashes applied).
pub fn unbonding(host: &mut impl Host, coldkey: &Address) -> Result<Vec<Unbonding>, StakeError> {
    let mut list = entries(host, coldkey)?;
    for entry in &mut list {
        entry.rao = after_slashes(host, &entry.hotkey, entry.since, entry.rao)?;
    }
    Ok(list)
}

/// Rao held in unbonding entries.
pub fn unbonding_total(host: &mut impl Host) -> Result<u64, StakeError> {
    Ok(TOTAL.load(host)?.unwrap_or(0))
}

/// Pays `rao` of root TAO unstaked from `hotkey` to `coldkey`: at once, or after the evidence
/// window if `hotkey` is bonded.
pub(crate) fn pay_root(
    host: &mut impl Host,
    coldkey: &Address,
    hotkey: &Address,
    rao: u64,
) -> Result<(), StakeError> {
    if crate::is_bonded(host, hotkey)? {
        unbond(host, coldkey, hotkey, rao)
    } else {
        Ok(token::deposit(host, coldkey, rao)?)
    }
}

/// Holds `rao` for `coldkey` until the evidence window has passed (one entry per hotkey and
/// block: a second unstake in the same block joins it).
fn unbond(host: &mut impl Host, coldkey: &Address, hotkey: &Address, rao: u64) -> Result<(), StakeError> {
    let since = host.block_height();
    let release = since.checked_add(slash_params(host)?.evidence_window).ok_or(StakeError::Overflow)?;
    let mut list = entries(host, coldkey)?;
    match list.iter_mut().find(|e| e.hotkey == *hotkey && e.since == since) {
        Some(entry) => entry.rao = entry.rao.checked_add(rao).ok_or(StakeError::Overflow)?,
        None => list.push(Unbonding { hotkey: *hotkey, rao, since, release }),
    }
    save_entries(host, coldkey, list)?;
    // The queue is walked from the cursor on: it must not be past this entry (the first entry
    // sets it; a shorter window since may put a release before it).
    if CURSOR.load(host)?.is_none_or(|cursor| cursor > release) {
        CURSOR.save(host, &release);
    }
    let mut due = DUE.load(host, &release)?.unwrap_or_default();
    if !due.contains(coldkey) {
        due.push(*coldkey);
        DUE.save(host, &release, &due);
    }
    let total = unbonding_total(host)?.checked_add(rao).ok_or(StakeError::Overflow)?;
    TOTAL.save(host, &total);
    host.emit(b"unbonding", &tao_sdk::borsh::to_vec(&(coldkey, hotkey, rao, release)).unwrap_or_default());
    Ok(())
}

/// The begin-block work (chain only): pays the entries due by now, walking the queue from the
/// first height not yet paid, at most [`MAX_RELEASES_PER_BLOCK`] coldkeys. Returns how many
/// coldkeys were paid.
pub fn release_unbonding(host: &mut impl Host) -> Result<usize, StakeError> {
    if host.caller() != SYSTEM {
        return Err(StakeError::NotSystem);
    }
    // No cursor: nothing is unbonding (the first entry sets it), and the block writes nothing.
    let Some(start) = CURSOR.load(host)? else { return Ok(0) };
    let now = host.block_height();
    let mut height = start;
    let last = now.min(height.saturating_add(MAX_DUE_HEIGHTS_PER_BLOCK - 1));
    let mut paid = 0;
    while height <= last && paid < MAX_RELEASES_PER_BLOCK {
        let mut due = DUE.load(host, &height)?.unwrap_or_default();
        let take = due.len().min(MAX_RELEASES_PER_BLOCK - paid);
        for coldkey in due.drain(..take) {
            release_due(host, &coldkey, now)?;
        }
        paid += take;
        if !due.is_empty() {
            DUE.save(host, &height, &due);
            break;
        }
        DUE.remove(host, &height);
        height += 1;
    }
    if unbonding_total(host)? == 0 {
        CURSOR.remove(host);
    } else if height != start {
        CURSOR.save(host, &height);
    }
    Ok(paid)
}

/// Pays `coldkey`'s entries due by `now`: what the slashes left to the coldkey (recycled if too
/// small to open an account), the cut recycled.
fn release_due(host: &mut impl Host, coldkey: &Address, now: u64) -> Result<(), StakeError> {
    let (due, waiting): (Vec<Unbonding>, Vec<Unbonding>) =
        entries(host, coldkey)?.into_iter().partition(|e| e.release <= now);
    if due.is_empty() {
        return Ok(());
    }
    let mut held = 0u64;
    let mut paid = 0u64;
    for entry in &due {
        held = held.checked_add(entry.rao).ok_or(StakeError::Overflow)?;
        let left = after_slashes(host, &entry.hotkey, entry.since, entry.rao)?;
        paid = paid.checked_add(left).ok_or(StakeError::Overflow)?;
    }
    save_entries(host, coldkey, waiting)?;
    let total = unbonding_total(host)?.checked_sub(held).ok_or(StakeError::Overflow)?;
    TOTAL.save(host, &total);
    if token::deposit(host, coldkey, paid).is_err() {
        token::recycle_held(host, paid)?;
    }
    token::recycle_held(host, held - paid)?;
    host.emit(b"unbonded", &tao_sdk::borsh::to_vec(&(coldkey, paid)).unwrap_or_default());
    Ok(())
}

/// Entry point: outputs `coldkey`'s unbonding entries ([`unbonding`]).
pub fn entry_unbonding(host: &mut impl Host) -> Result<(), StakeError> {
    let coldkey: Address = host.input_as()?;
    let list = unbonding(host, &coldkey)?;
    host.output_as(&list);
    Ok(())
}
