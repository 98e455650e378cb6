//! Slashing for equivocation (issue 18): a consensus key that signed two different votes for
//! one height, round and type is tombstoned for good, leaves the validator set, and the hotkey it
//! served loses [`SlashParams::fraction_ppb`] of its root stake (every nominator alike) and of the
//! TAO still unbonding from it since the infraction ([`crate::unbonding`]). Slashed TAO is
//! recycled, as the chain's fees and swap costs are.
//!
//! The node verifies the evidence (two votes signed by a member of the set of that height) and
//! calls [`slash_equivocation`] before the block's transactions; this module trusts that check
//! and keeps each key's slash to one.

use alloc::vec::Vec;

use tao_codec::BoundedVec;
use tao_contract_pools::{self as pools, ROOT, Side};
use tao_contract_token::{self as token, SYSTEM};
use tao_sdk::{Address, BorshDeserialize, BorshSerialize, Host, Item, Map};
use tao_types::MAX_EVIDENCE_AGE;

use crate::validators::{ConsensusKey, Member, key_owner, next_set, store_next_set, unbind_key};
use crate::{HOTKEY_SWAP_RATE_LIMIT, POOLS, StakeError, pool};

/// Parts per billion: a fraction of 1 is `PPB`.
pub const PPB: u32 = 1_000_000_000;
/// Most recent slashes remembered per hotkey (each needs its own consensus key, so a hotkey
/// rarely has more than one); the oldest is forgotten first.
pub const MAX_SLASHES: u32 = 16;
/// Longest evidence window (two days at 12 s, twice the default): a mistaken huge window would
/// hold validators' unstaked root TAO for good, and a hotkey swapped more often than the
/// successors a release follows while its TAO unbonds would shield that TAO from a slash.
pub const MAX_EVIDENCE_WINDOW: u64 = 14_400;
/// Shortest evidence window: longer than the evidence age. Evidence of height `h` still lands
/// in block `h + MAX_EVIDENCE_AGE`, whose begin-block hooks pay due unbonding before its slashes
/// run, so TAO unstaked at `h` must still be held through that block.
pub const MIN_EVIDENCE_WINDOW: u64 = MAX_EVIDENCE_AGE + 1;

/// The slashing parameters, settable by governance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct SlashParams {
    /// Part of the root stake (and of the TAO unbonding since the infraction) an equivocation
    /// costs, in parts per billion.
    pub fraction_ppb: u32,
    /// How long unstaked root TAO of a validator stays slashable before it is paid, and how long
    /// a slashed hotkey stays bonded; from [`MIN_EVIDENCE_WINDOW`] to [`MAX_EVIDENCE_WINDOW`].
    pub evidence_window: u64,
}

impl SlashParams {
    /// Whether the fraction is at most 1 and the window in [`MIN_EVIDENCE_WINDOW`]..=
    /// [`MAX_EVIDENCE_WINDOW`]: a shorter window would pay an equivocator who unstaked before
    /// the node stops accepting its evidence. The one rule for genesis, governance and the CLI.
    pub fn is_valid(&self) -> bool {
        self.fraction_ppb <= PPB
            && (MIN_EVIDENCE_WINDOW..=MAX_EVIDENCE_WINDOW).contains(&self.evidence_window)
    }
}

impl Default for SlashParams {
    /// 5% and 7,200 blocks (a day at 12 s).
    fn default() -> Self {
        SlashParams { fraction_ppb: 50_000_000, evidence_window: 7_200 }
    }
}

/// What a slash took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct Slashed {
    /// The hotkey the key served (None: a genesis key never registered to one).
    pub hotkey: Option<Address>,
    /// Root stake recycled, in rao (unbonding TAO is cut as it is released).
    pub rao: u64,
}

/// One slash of a hotkey, remembered while TAO unbonding from it may still be cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct Slash {
    /// The infraction height.
    pub height: u64,
    /// The block that applied the slash.
    pub at: u64,
    /// The fraction taken, in parts per billion.
    pub fraction_ppb: u32,
}

type SlashList = BoundedVec<Slash, MAX_SLASHES>;

const SLASH_PARAMS_KEY: &[u8] = b"stake/slash-params";
const SLASH_PARAMS: Item<SlashParams> = Item::new(SLASH_PARAMS_KEY);
/// Each tombstoned consensus key's infraction height.
const TOMBSTONES: Map<ConsensusKey, u64> = Map::new(b"stake/tombstone/");
/// Each slashed hotkey's recent slashes.
const SLASHES: Map<Address, SlashList> = Map::new(b"stake/slashes/");

/// Most hotkey swaps followed from an unbonding entry's hotkey to the hotkey its slashes moved to
/// by its release (swaps are rate limited to one per 1,000 blocks per coldkey: 15 fit in the
/// longest window, and one more covers a release up to 1,600 blocks late behind a busy queue).
const MAX_SUCCESSORS: usize = 16;
const _: () = assert!(MAX_EVIDENCE_WINDOW / HOTKEY_SWAP_RATE_LIMIT + 1 < MAX_SUCCESSORS as u64);
/// What a bonded hotkey was swapped for and at which block: a slash of the new hotkey still cuts
/// what was unbonding from the old one.
const SUCCESSORS: Map<Address, (Address, u64)> = Map::new(b"stake/hotkey-successor/");

/// Storage key of the [`SlashParams`] (borsh; absent means the default), read by the node.
pub fn slash_params_key() -> Vec<u8> {
    SLASH_PARAMS_KEY.to_vec()
}

/// Storage key of `key`'s tombstone (a borsh `u64`, the infraction height).
pub fn tombstone_key(key: &ConsensusKey) -> Vec<u8> {
    TOMBSTONES.key(key)
}

/// The slashing parameters.
pub fn slash_params(host: &mut impl Host) -> Result<SlashParams, StakeError> {
    Ok(SLASH_PARAMS.load(host)?.unwrap_or_default())
}

/// Chain only (governance, genesis): sets the slashing parameters.
pub fn set_slash_params(host: &mut impl Host, params: SlashParams) -> Result<(), StakeError> {
    if host.caller() != SYSTEM {
        return Err(StakeError::NotSystem);
    }
    if !params.is_valid() {
        return Err(StakeError::BadSlashParams);
    }
    SLASH_PARAMS.save(host, &params);
    Ok(())
}

/// Whether `key` was slashed: it can never serve again.
pub fn is_tombstoned(host: &mut impl Host, key: &ConsensusKey) -> Result<bool, StakeError> {
    Ok(TOMBSTONES.load(host, key)?.is_some())
}

/// `fraction_ppb` of `amount`, rounded down (never more than `amount`).
pub fn slash_part(amount: u64, fraction_ppb: u32) -> u64 {
    let part = u128::from(amount) * u128::from(fraction_ppb.min(PPB)) / u128::from(PPB);
    u64::try_from(part).unwrap_or(amount)
}

/// Chain only: slashes consensus key `key` for an equivocation at `height` (the node checked the
/// evidence against the set of that height; `in_force` is the set the chain runs under when no
/// set was ever computed — the genesis set). Tombstones the key, cuts its hotkey's root stake,
/// and removes it from the next set.
pub fn slash_equivocation(
    host: &mut impl Host,
    key: &ConsensusKey,
    height: u64,
    in_force: Vec<Member>,
) -> Result<Slashed, StakeError> {
    if host.caller() != SYSTEM {
        return Err(StakeError::NotSystem);
    }
    if is_tombstoned(host, key)? {
        return Err(StakeError::AlreadySlashed);
    }
    TOMBSTONES.save(host, key, &height);
    let params = slash_params(host)?;
    let owner = key_owner(host, key)?;
    let mut rao = 0;
    let mut hotkey = None;
    if let Some(owner) = owner {
        unbind_key(host, &owner, key)?;
        // A replaced key may still sign while its hotkey is swapped away: the stake it left
        // with is what the slash takes.
        let holder = holder(host, &owner)?;
        hotkey = Some(holder);
        rao = cut_root_stake(host, &holder, params.fraction_ppb)?;
        let at = host.block_height();
        remember(host, &holder, Slash { height, at, fraction_ppb: params.fraction_ppb })?;
    }
    drop_from_next_set(host, key, in_force)?;
    host.emit(b"slashed", &tao_sdk::borsh::to_vec(&(key, hotkey, rao, height)).unwrap_or_default());
    Ok(Slashed { hotkey, rao })
}

/// Takes `fraction_ppb` of `hotkey`'s pooled root TAO (shares stay, so every nominator loses the
/// same fraction) out of the root pool and recycles it. Returns the rao taken.
fn cut_root_stake(host: &mut impl Host, hotkey: &Address, fraction_ppb: u32) -> Result<u64, StakeError> {
    let mut stake = pool(host, hotkey, ROOT)?;
    let cut = slash_part(stake.stake, fraction_ppb);
    if cut == 0 {
        return Ok(0);
    }
    stake.stake -= cut;
    POOLS.save(host, &(*hotkey, ROOT), &stake);
    pools::adjust_staked(host, ROOT, 0, cut)?;
    pools::swap(host, ROOT, Side::Sell, cut)?;
    token::recycle_held(host, cut)?;
    Ok(cut)
}

/// Adds `slash` to `hotkey`'s recent slashes, forgetting the oldest beyond [`MAX_SLASHES`].
fn remember(host: &mut impl Host, hotkey: &Address, slash: Slash) -> Result<(), StakeError> {
    let mut list = slashes(host, hotkey)?;
    if list.len() >= MAX_SLASHES as usize {
        list.remove(0);
    }
    list.push(slash);
    let list = SlashList::new(list).map_err(|_| StakeError::Overflow)?;
    SLASHES.save(host, hotkey, &list);
    Ok(())
}

/// `hotkey`'s recent slashes, oldest first.
pub fn slashes(host: &mut impl Host, hotkey: &Address) -> Result<Vec<Slash>, StakeError> {
    Ok(SLASHES.load(host, hotkey)?.map(SlashList::into_inner).unwrap_or_default())
}

/// Whether root stake unstaked from `hotkey` now must unbond: it has a consensus key (it may be
/// or have been in a set), or was slashed less than a window ago.
pub fn is_bonded(host: &mut impl Host, hotkey: &Address) -> Result<bool, StakeError> {
    if crate::consensus_key(host, hotkey)?.is_some() {
        return Ok(true);
    }
    let window = slash_params(host)?.evidence_window;
    let now = host.block_height();
    Ok(slashes(host, hotkey)?.iter().any(|s| s.height.saturating_add(window) > now))
}

/// What `rao` unbonding from `hotkey` since block `since` is worth after the slashes that apply
/// to it: those of the hotkey, or of what it was swapped for from `since` on (a swap in the
/// unstake's own block must not shield it), whose infraction was at or before `since` and that
/// were applied after it (TAO unstaked after a slash left an already cut pool).
pub(crate) fn after_slashes(
    host: &mut impl Host,
    hotkey: &Address,
    since: u64,
    rao: u64,
) -> Result<u64, StakeError> {
    let mut left = rao;
    let mut hotkey = *hotkey;
    for _ in 0..=MAX_SUCCESSORS {
        for slash in slashes(host, &hotkey)? {
            if slash.height <= since && since < slash.at {
                left -= slash_part(left, slash.fraction_ppb);
            }
        }
        match SUCCESSORS.load(host, &hotkey)? {
            Some((next, swapped_at)) if since <= swapped_at => hotkey = next,
            _ => break,
        }
    }
    Ok(left)
}

/// The hotkey that holds what `hotkey` held: `hotkey`, or what it was swapped for (at most
/// [`MAX_SUCCESSORS`] swaps followed).
fn holder(host: &mut impl Host, hotkey: &Address) -> Result<Address, StakeError> {
    let mut holder = *hotkey;
    for _ in 0..MAX_SUCCESSORS {
        match SUCCESSORS.load(host, &holder)? {
            Some((next, _)) => holder = next,
            None => break,
        }
    }
    Ok(holder)
}

/// A hotkey swap: `new` takes `old`'s recent slashes, and if `old` is bonded, TAO unbonding from
/// it stays subject to `new`'s slashes (else swapping would shield it).
pub(crate) fn swap_slashes(host: &mut impl Host, old: &Address, new: &Address) -> Result<(), StakeError> {
    // Remembered slashes count even when no longer bonding: TAO unstaked from `old` after an
    // infraction is released up to a window after the unstake, which may be later than a
    // window after the infraction.
    if is_bonded(host, old)? || !slashes(host, old)?.is_empty() {
        let now = host.block_height();
        SUCCESSORS.save(host, old, &(*new, now));
    }
    crate::move_entry(host, &SLASHES, old, new)?;
    Ok(())
}

/// Removes `key` from the next set: the stored one, else `in_force`. Stores the result only if
/// it changed and is not empty: a chain with no validator could not finalize the block that
/// would give it new ones, so the last validator stays (tombstoned, it is never chosen again).
fn drop_from_next_set(
    host: &mut impl Host,
    key: &ConsensusKey,
    in_force: Vec<Member>,
) -> Result<(), StakeError> {
    let base = next_set(host)?.unwrap_or(in_force);
    let rest: Vec<Member> = base.iter().filter(|(k, _)| k != key).copied().collect();
    if !rest.is_empty() && rest.len() != base.len() {
        store_next_set(host, rest);
    }
    Ok(())
}

/// Entry point (chain only): sets the [`SlashParams`].
pub fn entry_set_slash_params(host: &mut impl Host) -> Result<(), StakeError> {
    let params: SlashParams = host.input_as()?;
    set_slash_params(host, params)
}

/// Entry point (chain only): `(consensus key, infraction height, set in force)`; outputs the
/// [`Slashed`].
pub fn entry_slash_equivocation(host: &mut impl Host) -> Result<(), StakeError> {
    let (key, height, in_force): (ConsensusKey, u64, Vec<Member>) = host.input_as()?;
    let slashed = slash_equivocation(host, &key, height, in_force)?;
    host.output_as(&slashed);
    Ok(())
}
