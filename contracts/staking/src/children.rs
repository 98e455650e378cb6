//! Child hotkeys (subtensor's `set_children`, `set_childkey_take`).
//!
//! A parent hotkey lends each child a proportion (of `u64::MAX`) of its stake weight on one
//! subnet: the epoch counts a hotkey's *inherited* stake, own·(1 − Σ child proportions) +
//! Σ parent·proportion, and a child's dividends are shared back with the parents in proportion to
//! what each contributed, less the child's take. A new set of children is pending until the
//! subnet's first epoch at least [`CHILDREN_COOLDOWN`] blocks later, so stake weight cannot be
//! moved around within an epoch.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use tao_codec::BoundedVec;
use tao_contract_neurons as neurons;
use tao_contract_pools::ROOT;
use tao_contract_subnets as subnets;
use tao_contract_token::SYSTEM;
use tao_sdk::{Address, BorshDeserialize, BorshSerialize, Host, Item, Map};
use tao_types::NetUid;

use crate::{StakeError, move_entry, next_take, pool, root_stake, tao_weight, weighted};

/// Most children of one parent on one subnet (subtensor's bound).
pub const MAX_CHILDREN: u32 = 5;
/// Most parents of one child on one subnet: bounds each UID's reads in the epoch.
pub const MAX_PARENTS: u32 = 16;
/// Blocks between two `set_children` of one parent on one subnet (subtensor's 150).
pub const CHILDREN_RATE_LIMIT: u64 = 150;
/// Blocks a new set of children waits before the subnet's next epoch applies it. Subtensor waits
/// 7200 (a day); this chain waits one default tempo, a deliberate dev-friendly difference
/// (docs/protocol.md "Child hotkeys").
pub const CHILDREN_COOLDOWN: u64 = 360;
/// Most pending child sets per subnet, applied at its epochs.
pub const MAX_PENDING: u32 = 64;

/// A parent's children: `(proportion of u64::MAX, child hotkey)`.
pub type ChildList = BoundedVec<(u64, Address), MAX_CHILDREN>;
/// A child's parents: `(proportion of u64::MAX, parent hotkey)`, by parent ascending.
pub type ParentList = BoundedVec<(u64, Address), MAX_PARENTS>;
type PendingList = BoundedVec<Address, MAX_PENDING>;

/// A set of children waiting for its cooldown.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct PendingChildren {
    /// The new children (empty: revoke all).
    pub children: ChildList,
    /// First block at which an epoch of the subnet applies them.
    pub due: u64,
}

const CHILDREN: Map<(Address, NetUid), ChildList> = Map::new(b"stake/children/");
const PARENTS: Map<(Address, NetUid), ParentList> = Map::new(b"stake/parents/");
const PENDING: Map<(Address, NetUid), PendingChildren> = Map::new(b"stake/children-pending/");
/// Parents with a pending set, per subnet: what an epoch applies without iterating.
const PENDING_BY_SUBNET: Map<NetUid, PendingList> = Map::new(b"stake/children-due/");
const LAST_SET: Map<(Address, NetUid), u64> = Map::new(b"stake/children-set/");
const CHILDKEY_TAKES: Map<(Address, NetUid), (u16, u64)> = Map::new(b"stake/childkey-take/");
/// Kept under its first name (the weights module defined it): the stake a validator needs to
/// set weights and a parent needs to have children.
const STAKE_THRESHOLD: Item<u64> = Item::new(b"weights/threshold");

/// The stake threshold (stake weight, rao).
pub fn stake_threshold(host: &mut impl Host) -> Result<u64, StakeError> {
    Ok(STAKE_THRESHOLD.load(host)?.unwrap_or(0))
}

/// Chain only (governance): sets the stake threshold.
pub fn set_stake_threshold(host: &mut impl Host, threshold: u64) -> Result<(), StakeError> {
    if host.caller() != SYSTEM {
        return Err(StakeError::NotSystem);
    }
    STAKE_THRESHOLD.save(host, &threshold);
    Ok(())
}

/// `hotkey`'s children on `netuid` now in force.
pub fn children(
    host: &mut impl Host,
    hotkey: &Address,
    netuid: NetUid,
) -> Result<Vec<(u64, Address)>, StakeError> {
    Ok(CHILDREN.load(host, &(*hotkey, netuid))?.map(ChildList::into_inner).unwrap_or_default())
}

/// `hotkey`'s parents on `netuid` now in force.
pub fn parents(
    host: &mut impl Host,
    hotkey: &Address,
    netuid: NetUid,
) -> Result<Vec<(u64, Address)>, StakeError> {
    Ok(PARENTS.load(host, &(*hotkey, netuid))?.map(ParentList::into_inner).unwrap_or_default())
}

/// `hotkey`'s pending set of children on `netuid`, if any.
pub fn pending_children(
    host: &mut impl Host,
    hotkey: &Address,
    netuid: NetUid,
) -> Result<Option<PendingChildren>, StakeError> {
    Ok(PENDING.load(host, &(*hotkey, netuid))?)
}

/// `hotkey`'s childkey take on `netuid` in 65535ths (default 0).
pub fn childkey_take(host: &mut impl Host, hotkey: &Address, netuid: NetUid) -> Result<u16, StakeError> {
    Ok(CHILDKEY_TAKES.load(host, &(*hotkey, netuid))?.map_or(0, |(t, _)| t))
}

/// Storage keys of what [`children`], [`parents`], [`pending_children`] and [`childkey_take`]
/// read, for proofs.
pub fn children_keys(hotkey: &Address, netuid: NetUid) -> [Vec<u8>; 4] {
    let key = (*hotkey, netuid);
    [CHILDREN.key(&key), PARENTS.key(&key), PENDING.key(&key), CHILDKEY_TAKES.key(&key)]
}

/// `hotkey`'s own stake weight on `netuid`: its alpha there and its root TAO, weighted.
fn own_weight(host: &mut impl Host, hotkey: &Address, netuid: NetUid, w: u64) -> Result<u64, StakeError> {
    let alpha = pool(host, hotkey, netuid)?.stake;
    Ok(alpha.saturating_add(weighted(root_stake(host, hotkey)?, w)))
}

/// `amount · proportion / u64::MAX`, rounded down.
fn part(amount: u64, proportion: u64) -> u64 {
    (u128::from(amount) * u128::from(proportion) / u128::from(u64::MAX)) as u64
}

/// What `hotkey` lends its children of `amount`: Σ ⌊amount·prop_c/u64::MAX⌋.
fn lent(host: &mut impl Host, hotkey: &Address, netuid: NetUid, amount: u64) -> Result<u64, StakeError> {
    let mut lent = 0u64;
    for (proportion, _) in children(host, hotkey, netuid)? {
        lent = lent.saturating_add(part(amount, proportion));
    }
    Ok(lent)
}

/// What `hotkey` inherits of a per-hotkey stake `own` on `netuid`: own − Σ own·prop_c (each
/// child's part rounded down) + Σ own(parent)·prop (each rounded down).
fn inherit<H: Host>(
    host: &mut H,
    hotkey: &Address,
    netuid: NetUid,
    own: impl Fn(&mut H, &Address) -> Result<u64, StakeError>,
) -> Result<u64, StakeError> {
    let mine = own(host, hotkey)?;
    let mut total = mine.saturating_sub(lent(host, hotkey, netuid, mine)?);
    for (proportion, parent) in parents(host, hotkey, netuid)? {
        total = total.saturating_add(part(own(host, &parent)?, proportion));
    }
    Ok(total)
}

/// `hotkey`'s stake in `netuid`'s epoch (subtensor's): α_inherited + w·τ_inherited, α its alpha
/// on `netuid`, τ its root stake, w TaoWeight.
pub fn epoch_stake(host: &mut impl Host, hotkey: &Address, netuid: NetUid) -> Result<u64, StakeError> {
    let alpha = inherit(host, hotkey, netuid, |h, k| Ok(pool(h, k, netuid)?.stake))?;
    let tao = inherit(host, hotkey, netuid, |h, k| root_stake(h, k))?;
    Ok(alpha.saturating_add(weighted(tao, tao_weight(host)?)))
}

/// Splits `dividend` earned by `hotkey` on `netuid` between it and its parents (subtensor's
/// parent/child split): contributions self = own·(1 − Σ child proportions), parent p =
/// own(p)·prop_p (own = α + w·τ, each rounded down); p gets ⌊d·c_p/Σc⌋ less the childkey take
/// (⌊·take/65535⌋, to the child) when p's coldkey differs from the child's; the child keeps the
/// rest. Returns `(hotkey, amount)` with the child first, parents in ascending order, zeros left
/// out.
pub fn split_with_parents(
    host: &mut impl Host,
    hotkey: &Address,
    netuid: NetUid,
    dividend: u64,
) -> Result<Vec<(Address, u64)>, StakeError> {
    let parents = parents(host, hotkey, netuid)?;
    if parents.is_empty() || dividend == 0 {
        return Ok(alloc::vec![(*hotkey, dividend)]);
    }
    let w = tao_weight(host)?;
    let mine = own_weight(host, hotkey, netuid, w)?;
    let mut contributions = Vec::with_capacity(parents.len());
    let mut total = u128::from(mine.saturating_sub(lent(host, hotkey, netuid, mine)?));
    for (proportion, parent) in parents {
        let c = part(own_weight(host, &parent, netuid, w)?, proportion);
        total += u128::from(c);
        contributions.push((parent, c));
    }
    if total == 0 {
        return Ok(alloc::vec![(*hotkey, dividend)]);
    }
    let take = u128::from(childkey_take(host, hotkey, netuid)?);
    let child_owner = neurons::hotkey_owner(host, hotkey)?;
    let mut out = alloc::vec![(*hotkey, dividend)];
    for (parent, c) in contributions {
        let share = (u128::from(dividend) * u128::from(c) / total) as u64;
        let to_child = if neurons::hotkey_owner(host, &parent)? == child_owner {
            0
        } else {
            (u128::from(share) * take / u128::from(u16::MAX)) as u64
        };
        let paid = share - to_child;
        if paid > 0 {
            out[0].1 -= paid;
            out.push((parent, paid));
        }
    }
    Ok(out)
}

/// Most ancestors a hotkey may have on one subnet: a family larger than this is refused as a
/// possible loop (`ChildLoop`), so the loop check stays exact and bounded.
pub const MAX_ANCESTORS: usize = 256;

/// The hotkeys `hotkey` descends from on `netuid` (at most [`MAX_ANCESTORS`] of them, each read
/// once); more is `ChildLoop`.
fn ancestors(
    host: &mut impl Host,
    hotkey: &Address,
    netuid: NetUid,
) -> Result<BTreeSet<Address>, StakeError> {
    let mut seen = BTreeSet::new();
    let mut todo = alloc::vec![*hotkey];
    while let Some(next) = todo.pop() {
        for (_, parent) in parents(host, &next, netuid)? {
            if seen.contains(&parent) {
                continue;
            }
            if seen.len() >= MAX_ANCESTORS {
                return Err(StakeError::ChildLoop);
            }
            seen.insert(parent);
            todo.push(parent);
        }
    }
    Ok(seen)
}

/// Checks a proposed child list of `hotkey` on `netuid` against the relations now in force.
fn check_children(
    host: &mut impl Host,
    hotkey: &Address,
    netuid: NetUid,
    list: &[(u64, Address)],
) -> Result<(), StakeError> {
    let mut sum = 0u64;
    let mut seen = BTreeSet::new();
    for (proportion, child) in list {
        if child == hotkey || *proportion == 0 || !seen.insert(*child) {
            return Err(StakeError::InvalidChild);
        }
        sum = sum.checked_add(*proportion).ok_or(StakeError::ProportionsTooLarge)?;
        // A child is a hotkey someone owns: an unowned one could later be taken by a hotkey swap
        // while relations already name it.
        if neurons::hotkey_owner(host, child)?.is_none() {
            return Err(StakeError::UnknownHotkey);
        }
    }
    let ancestors = ancestors(host, hotkey, netuid)?;
    if list.iter().any(|(_, child)| ancestors.contains(child)) {
        return Err(StakeError::ChildLoop);
    }
    for (_, child) in list {
        let theirs = parents(host, child, netuid)?;
        if theirs.len() >= MAX_PARENTS as usize && !theirs.iter().any(|(_, p)| p == hotkey) {
            return Err(StakeError::TooManyParents { max: MAX_PARENTS });
        }
    }
    Ok(())
}

/// `coldkey` sets `hotkey`'s children on `netuid` (subtensor's `set_children`): the hotkey's
/// owner, not on root, at most [`MAX_CHILDREN`] with proportions above 0 summing to at most
/// `u64::MAX`, no self, duplicate or loop, the parent's stake weight at least the stake
/// threshold, once per [`CHILDREN_RATE_LIMIT`] blocks. The set is pending until the subnet's
/// first epoch from [`CHILDREN_COOLDOWN`] blocks on; an empty list revokes every child. Returns
/// that block.
pub fn set_children(
    host: &mut impl Host,
    coldkey: &Address,
    hotkey: &Address,
    netuid: NetUid,
    list: Vec<(u64, Address)>,
) -> Result<u64, StakeError> {
    if netuid == ROOT {
        return Err(StakeError::ChildrenOnRoot);
    }
    subnets::subnet(host, netuid)?.ok_or(StakeError::NoSuchSubnet(netuid))?;
    if neurons::hotkey_owner(host, hotkey)? != Some(*coldkey) {
        return Err(StakeError::NotHotkeyOwner);
    }
    let children = ChildList::new(list).map_err(|_| StakeError::TooManyChildren { max: MAX_CHILDREN })?;
    check_children(host, hotkey, netuid, &children)?;
    let now = host.block_height();
    if let Some(last) = LAST_SET.load(host, &(*hotkey, netuid))? {
        let until = last.saturating_add(CHILDREN_RATE_LIMIT);
        if now < until {
            return Err(StakeError::RateLimited { until });
        }
    }
    let w = tao_weight(host)?;
    let (have, need) = (own_weight(host, hotkey, netuid, w)?, stake_threshold(host)?);
    if have < need {
        return Err(StakeError::ParentStakeTooLow { have, need });
    }
    let mut due_list =
        PENDING_BY_SUBNET.load(host, &netuid)?.map(PendingList::into_inner).unwrap_or_default();
    if !due_list.contains(hotkey) {
        due_list.push(*hotkey);
    }
    let due_list = PendingList::new(due_list).map_err(|_| StakeError::PendingChildrenFull)?;
    // A replaced pending set keeps its due block: renewing cannot hold a pending slot forever.
    let due = match PENDING.load(host, &(*hotkey, netuid))? {
        Some(pending) => pending.due,
        None => now.saturating_add(CHILDREN_COOLDOWN),
    };
    host.emit(
        b"children_pending",
        &tao_sdk::borsh::to_vec(&(hotkey, netuid, &children, due)).unwrap_or_default(),
    );
    PENDING.save(host, &(*hotkey, netuid), &PendingChildren { children, due });
    PENDING_BY_SUBNET.save(host, &netuid, &due_list);
    LAST_SET.save(host, &(*hotkey, netuid), &now);
    Ok(due)
}

/// Chain only (after each epoch of `netuid`): puts in force every pending set whose cooldown has
/// passed, checked again against the relations then in force (a set that would now loop or
/// overfill a child's parents is dropped, with a `children_refused` event).
pub fn apply_pending_children(host: &mut impl Host, netuid: NetUid) -> Result<(), StakeError> {
    if host.caller() != SYSTEM {
        return Err(StakeError::NotSystem);
    }
    let Some(waiting) = PENDING_BY_SUBNET.load(host, &netuid)? else { return Ok(()) };
    let now = host.block_height();
    let mut still = Vec::new();
    for parent in waiting.into_inner() {
        let Some(pending) = PENDING.load(host, &(parent, netuid))? else { continue };
        if pending.due > now {
            still.push(parent);
            continue;
        }
        PENDING.remove(host, &(parent, netuid));
        match check_children(host, &parent, netuid, &pending.children) {
            Ok(()) => put_in_force(host, &parent, netuid, pending.children)?,
            Err(e) => host.emit(
                b"children_refused",
                &tao_sdk::borsh::to_vec(&(parent, netuid, alloc::format!("{e}"))).unwrap_or_default(),
            ),
        }
    }
    match PendingList::new(still) {
        Ok(list) if !list.is_empty() => PENDING_BY_SUBNET.save(host, &netuid, &list),
        _ => {
            PENDING_BY_SUBNET.remove(host, &netuid);
        }
    }
    Ok(())
}

/// Replaces `parent`'s children with `children`, keeping every child's parent list in step.
fn put_in_force(
    host: &mut impl Host,
    parent: &Address,
    netuid: NetUid,
    children: ChildList,
) -> Result<(), StakeError> {
    for (_, old) in self::children(host, parent, netuid)? {
        let kept: Vec<_> = parents(host, &old, netuid)?.into_iter().filter(|(_, p)| p != parent).collect();
        save_parents(host, &old, netuid, kept)?;
    }
    for (proportion, child) in children.iter() {
        let mut list = parents(host, child, netuid)?;
        let at = list.binary_search_by(|(_, p)| p.cmp(parent)).unwrap_or_else(|at| at);
        list.insert(at, (*proportion, *parent));
        save_parents(host, child, netuid, list)?;
    }
    host.emit(b"children_set", &tao_sdk::borsh::to_vec(&(parent, netuid, &children)).unwrap_or_default());
    if children.is_empty() {
        CHILDREN.remove(host, &(*parent, netuid));
    } else {
        CHILDREN.save(host, &(*parent, netuid), &children);
    }
    Ok(())
}

fn save_parents(
    host: &mut impl Host,
    child: &Address,
    netuid: NetUid,
    list: Vec<(u64, Address)>,
) -> Result<(), StakeError> {
    if list.is_empty() {
        PARENTS.remove(host, &(*child, netuid));
        return Ok(());
    }
    let list = ParentList::new(list).map_err(|_| StakeError::TooManyParents { max: MAX_PARENTS })?;
    PARENTS.save(host, &(*child, netuid), &list);
    Ok(())
}

/// `coldkey` sets its `hotkey`'s childkey take on `netuid` (subtensor's `set_childkey_take`): at
/// most [`crate::MAX_TAKE`], increases at most once per [`crate::TAKE_INCREASE_RATE_LIMIT`] blocks.
pub fn set_childkey_take(
    host: &mut impl Host,
    coldkey: &Address,
    hotkey: &Address,
    netuid: NetUid,
    new: u16,
) -> Result<(), StakeError> {
    if neurons::hotkey_owner(host, hotkey)? != Some(*coldkey) {
        return Err(StakeError::NotHotkeyOwner);
    }
    let current = CHILDKEY_TAKES.load(host, &(*hotkey, netuid))?.unwrap_or((0, 0));
    let now = host.block_height();
    CHILDKEY_TAKES.save(host, &(*hotkey, netuid), &next_take(current, new, now)?);
    Ok(())
}

/// Arguments of `set_children`.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct ChildrenArgs {
    /// The parent hotkey.
    pub hotkey: Address,
    /// Subnet.
    pub netuid: NetUid,
    /// `(proportion of u64::MAX, child hotkey)`.
    pub children: Vec<(u64, Address)>,
}

/// What `tao stake children` shows of one hotkey on one subnet.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct ChildrenView {
    /// Children in force.
    pub children: Vec<(u64, Address)>,
    /// Parents in force.
    pub parents: Vec<(u64, Address)>,
    /// A pending set, if any.
    pub pending: Option<PendingChildren>,
    /// The hotkey's childkey take (65535ths).
    pub childkey_take: u16,
    /// Its stake in the subnet's epoch (inherited).
    pub epoch_stake: u64,
}

/// Everything about `hotkey`'s children and parents on `netuid`.
pub fn children_view(
    host: &mut impl Host,
    hotkey: &Address,
    netuid: NetUid,
) -> Result<ChildrenView, StakeError> {
    Ok(ChildrenView {
        children: children(host, hotkey, netuid)?,
        parents: parents(host, hotkey, netuid)?,
        pending: pending_children(host, hotkey, netuid)?,
        childkey_take: childkey_take(host, hotkey, netuid)?,
        epoch_stake: epoch_stake(host, hotkey, netuid)?,
    })
}

/// Entry point: [`ChildrenArgs`] by the parent's coldkey; outputs the block from which an epoch
/// applies them.
pub fn entry_set_children(host: &mut impl Host) -> Result<(), StakeError> {
    let a: ChildrenArgs = host.input_as()?;
    let caller = host.caller();
    let due = set_children(host, &caller, &a.hotkey, a.netuid, a.children)?;
    host.output_as(&due);
    Ok(())
}

/// Entry point: `(hotkey, netuid, take)` by the hotkey's owner.
pub fn entry_set_childkey_take(host: &mut impl Host) -> Result<(), StakeError> {
    let (hotkey, netuid, take): (Address, NetUid, u16) = host.input_as()?;
    let caller = host.caller();
    set_childkey_take(host, &caller, &hotkey, netuid, take)
}

/// Entry point: `(hotkey, netuid)`; outputs its [`ChildrenView`].
pub fn entry_children(host: &mut impl Host) -> Result<(), StakeError> {
    let (hotkey, netuid): (Address, NetUid) = host.input_as()?;
    let view = children_view(host, &hotkey, netuid)?;
    host.output_as(&view);
    Ok(())
}

/// `list` with `old` renamed `new`.
fn renamed(list: &[(u64, Address)], old: &Address, new: &Address) -> Vec<(u64, Address)> {
    list.iter().map(|(p, k)| (*p, if k == old { *new } else { *k })).collect()
}

/// Moves every child relation of `old` to `new` on `netuids` (a hotkey swap): its children,
/// parents, pending set, rate-limit block and childkey take, and its name in its relatives'
/// lists and in other parents' pending sets.
pub(crate) fn swap_hotkey(
    host: &mut impl Host,
    old: &Address,
    new: &Address,
    netuids: &[NetUid],
) -> Result<(), StakeError> {
    for &netuid in netuids {
        if let Some(kids) = move_entry(host, &CHILDREN, &(*old, netuid), &(*new, netuid))? {
            for (_, child) in kids.iter() {
                let mut list = renamed(&parents(host, child, netuid)?, old, new);
                list.sort_by_key(|(_, parent)| *parent);
                save_parents(host, child, netuid, list)?;
            }
        }
        if let Some(ups) = move_entry(host, &PARENTS, &(*old, netuid), &(*new, netuid))? {
            for (_, parent) in ups.iter() {
                let list = renamed(&children(host, parent, netuid)?, old, new);
                let list =
                    ChildList::new(list).map_err(|_| StakeError::TooManyChildren { max: MAX_CHILDREN })?;
                CHILDREN.save(host, &(*parent, netuid), &list);
            }
        }
        move_entry(host, &PENDING, &(*old, netuid), &(*new, netuid))?;
        move_entry(host, &LAST_SET, &(*old, netuid), &(*new, netuid))?;
        move_entry(host, &CHILDKEY_TAKES, &(*old, netuid), &(*new, netuid))?;
        let Some(waiting) = PENDING_BY_SUBNET.load(host, &netuid)? else { continue };
        let waiting: Vec<Address> = waiting.iter().map(|p| if p == old { *new } else { *p }).collect();
        for parent in &waiting {
            if let Some(mut pending) = PENDING.load(host, &(*parent, netuid))? {
                let list = renamed(&pending.children, old, new);
                pending.children =
                    ChildList::new(list).map_err(|_| StakeError::TooManyChildren { max: MAX_CHILDREN })?;
                PENDING.save(host, &(*parent, netuid), &pending);
            }
        }
        let waiting = PendingList::new(waiting).map_err(|_| StakeError::PendingChildrenFull)?;
        PENDING_BY_SUBNET.save(host, &netuid, &waiting);
    }
    Ok(())
}
