//! Slashing and unbonding (issue 18).

use tao_types::MAX_EVIDENCE_AGE;

use super::*;

/// The window these tests use: the shortest allowed, so releases come soon.
const WINDOW: u64 = MIN_EVIDENCE_WINDOW;
const FRACTION: u32 = 50_000_000;

fn set_params(h: &mut MemoryHost, fraction_ppb: u32, evidence_window: u64) {
    call(h, SYSTEM, 1, |h| set_slash_params(h, SlashParams { fraction_ppb, evidence_window })).unwrap();
}

/// `setup` with the shortest window; hotkey 1001 (coldkey 1) holds consensus key seed 1 and root
/// stake from coldkeys 1, 2 and 3; hotkey 2001 (coldkey 2) has root stake and no key.
fn keyed() -> (MemoryHost, ConsensusKey) {
    let mut h = setup();
    set_params(&mut h, FRACTION, WINDOW);
    for (c, tao) in [(1, 100), (2, 300), (3, 7)] {
        add(&mut h, c, 1001, 0, tao * TAO + 13, None).unwrap();
    }
    add(&mut h, 2, 2001, 0, 50 * TAO, None).unwrap();
    let key = consensus(1, &addr(1001));
    set_key_(&mut h, 1, 1001, key).unwrap();
    (h, key.0)
}

fn slash(
    h: &mut MemoryHost,
    caller: Address,
    block: u64,
    key: ConsensusKey,
    height: u64,
    in_force: Vec<Member>,
) -> Result<Slashed, String> {
    let mut out = None;
    call(h, caller, block, |h| slash_equivocation(h, &key, height, in_force).map(|s| out = Some(s)))?;
    Ok(out.unwrap())
}

fn release(h: &mut MemoryHost, block: u64) {
    call(h, SYSTEM, block, release_unbonding).unwrap();
}

fn balance(h: &mut MemoryHost, who: u16) -> u64 {
    token::balance(h, &addr(who)).unwrap()
}

fn issuance(h: &mut MemoryHost) -> u64 {
    token::issuance(h).unwrap()
}

fn stored_next_set(h: &mut MemoryHost) -> Option<Vec<Member>> {
    h.get(&next_set_key()).map(|bytes| tao_sdk::borsh::from_slice(&bytes).unwrap())
}

/// Σ balances + pools + unbonding + burned = issuance, for these tests' coldkeys.
fn assert_conserved(h: &mut MemoryHost) {
    let balances: u64 = (1..4u16).map(|c| balance(h, c)).sum();
    let held = pools::total_tao(h).unwrap() + unbonding_total(h).unwrap() + token::burned(h).unwrap();
    assert_eq!(balances + held, issuance(h));
}

/// A slash takes the fraction of the hotkey's pooled root TAO (every nominator's stake follows
/// from its shares, to the rao), recycles it, tombstones the key and drops it from the set in
/// force; a second slash, another caller and any re-registration of the key are refused.
#[test]
fn a_slash_cuts_every_nominator_by_the_fraction_and_tombstones_the_key() {
    let (mut h, key) = keyed();
    let other = consensus(2, &addr(2001)).0;
    let before: Vec<u64> = (1..4u16).map(|c| stake_of_(&mut h, c, 1001, 0)).collect();
    let pooled = pool(&mut h, &addr(1001), 0).unwrap();
    let (supply, root_tao) = (issuance(&mut h), subnet_pool(&mut h, 0).tao);
    let in_force = vec![(key, 5), (other, 7)];
    assert_eq!(slash(&mut h, addr(1), 20, key, 15, in_force.clone()), Err(StakeError::NotSystem.to_string()));
    let slashed = slash(&mut h, SYSTEM, 20, key, 15, in_force.clone()).unwrap();
    let cut = (u128::from(pooled.stake) * u128::from(FRACTION) / 1_000_000_000) as u64;
    assert!(cut > 0);
    assert_eq!(slashed, Slashed { hotkey: Some(addr(1001)), rao: cut });
    let after = pool(&mut h, &addr(1001), 0).unwrap();
    assert_eq!(after, Pool { stake: pooled.stake - cut, shares: pooled.shares });
    for (c, was) in (1..4u16).zip(before) {
        let shares = SHARES.load(&mut h, &(addr(c), addr(1001), 0)).unwrap().unwrap();
        let expected = (shares * u128::from(pooled.stake - cut) / pooled.shares) as u64;
        let now = stake_of_(&mut h, c, 1001, 0);
        assert_eq!(now, expected, "coldkey {c}");
        assert!(now.abs_diff(was - slash_part(was, FRACTION)) <= 1, "coldkey {c}: {was} → {now}");
    }
    assert_eq!(issuance(&mut h), supply - cut, "recycled");
    assert_eq!(subnet_pool(&mut h, 0).tao, root_tao - cut);
    assert_eq!(subnet_pool(&mut h, 0).alpha_out, root_tao - cut);
    assert_conserved(&mut h);
    assert_eq!(h.get(&tombstone_key(&key)), Some(tao_sdk::borsh::to_vec(&15u64).unwrap()));
    assert_eq!(consensus_key(&mut h, &addr(1001)), Ok(None));
    assert_eq!(stored_next_set(&mut h), Some(vec![(other, 7)]), "the set in force without the key");
    assert_eq!(slash(&mut h, SYSTEM, 21, key, 16, in_force), Err(StakeError::AlreadySlashed.to_string()));
    assert_eq!(
        set_key_(&mut h, 1, 1001, consensus(1, &addr(1001))),
        Err(StakeError::ConsensusKeyTombstoned.to_string())
    );
    assert_eq!(
        set_key_(&mut h, 2, 2001, consensus(1, &addr(2001))),
        Err(StakeError::ConsensusKeyTombstoned.to_string())
    );
}

/// The next set stored by an epoch loses the slashed key (and an epoch never brings it back);
/// the last validator is never removed; a key with no hotkey (genesis) is only tombstoned; a
/// fraction of 0 takes nothing.
#[test]
fn the_next_set_loses_the_key_but_is_never_emptied() {
    let (mut h, key) = keyed();
    let params = ValidatorParams { max_validators: 4, min_stake: TAO, epoch: 5, min_validators: 1 };
    call(&mut h, SYSTEM, 2, |h| set_validator_params(h, params)).unwrap();
    let other = consensus(2, &addr(2001));
    set_key_(&mut h, 2, 2001, other).unwrap();
    for (c, k) in [(1, 1001), (2, 2001)] {
        call(&mut h, addr(c), 3, |h| root_register(h, &addr(c), &addr(k))).unwrap();
    }
    call(&mut h, SYSTEM, 5, |h| validator_epoch(h).map(|_| ())).unwrap();
    let set = stored_next_set(&mut h).unwrap();
    assert_eq!(set.len(), 2);
    let kept: Vec<Member> = set.iter().filter(|(k, _)| *k != key).copied().collect();
    slash(&mut h, SYSTEM, 6, key, 5, Vec::new()).unwrap();
    assert_eq!(stored_next_set(&mut h), Some(kept.clone()));
    let hash = tao_types::Hash(tao_types::keccak256(&tao_sdk::borsh::to_vec(&kept).unwrap()));
    assert!(h.get(&set_key(&hash)).is_some(), "stored by its hash");
    call(&mut h, SYSTEM, 10, |h| validator_epoch(h).map(|_| ())).unwrap();
    assert!(stored_next_set(&mut h).unwrap().iter().all(|(k, _)| *k != key), "never chosen again");
    // The last validator stays: a chain with none could not finalize the block fixing it.
    set_params(&mut h, 0, WINDOW);
    let stake = pool(&mut h, &addr(2001), 0).unwrap();
    let last = slash(&mut h, SYSTEM, 11, other.0, 10, Vec::new()).unwrap();
    assert_eq!(last, Slashed { hotkey: Some(addr(2001)), rao: 0 }, "a fraction of 0 takes nothing");
    assert_eq!(pool(&mut h, &addr(2001), 0).unwrap(), stake);
    assert_eq!(stored_next_set(&mut h).unwrap().len(), 1);
    // A genesis key: no hotkey, nothing to take, tombstoned all the same.
    let genesis = consensus(9, &addr(3001)).0;
    assert_eq!(slash(&mut h, SYSTEM, 12, genesis, 11, Vec::new()), Ok(Slashed { hotkey: None, rao: 0 }));
    assert_eq!(is_tombstoned(&mut h, &genesis), Ok(true));
}

/// Slash parameters: a fraction of at most one, a window from the evidence age to the longest
/// window, set by the chain; a refusal names the bounds.
#[test]
fn slash_params_are_checked_and_the_chains_only() {
    let mut h = setup();
    assert_eq!(slash_params(&mut h), Ok(SlashParams { fraction_ppb: 50_000_000, evidence_window: 7_200 }));
    assert!(SlashParams::default().is_valid());
    let good = SlashParams { fraction_ppb: PPB, evidence_window: MIN_EVIDENCE_WINDOW };
    assert_eq!(
        call(&mut h, addr(1), 1, |h| set_slash_params(h, good)),
        Err(StakeError::NotSystem.to_string())
    );
    for bad in [
        SlashParams { fraction_ppb: PPB + 1, ..good },
        SlashParams { evidence_window: 0, ..good },
        SlashParams { evidence_window: MAX_EVIDENCE_AGE, ..good },
        SlashParams { evidence_window: MAX_EVIDENCE_WINDOW + 1, ..good },
        SlashParams { evidence_window: u64::MAX, ..good },
    ] {
        assert!(!bad.is_valid(), "{bad:?}");
        assert_eq!(
            call(&mut h, SYSTEM, 1, |h| set_slash_params(h, bad)),
            Err(StakeError::BadSlashParams.to_string())
        );
    }
    let said = StakeError::BadSlashParams.to_string();
    let shortest =
        format!("{MIN_EVIDENCE_WINDOW} blocks (longer than the {MAX_EVIDENCE_AGE}-block evidence age)");
    assert!(said.contains(&shortest), "{said}");
    assert!(said.contains(&format!("to {MAX_EVIDENCE_WINDOW} blocks")), "{said}");
    for window in [MAX_EVIDENCE_WINDOW, MIN_EVIDENCE_WINDOW] {
        let params = SlashParams { evidence_window: window, ..good };
        call(&mut h, SYSTEM, 1, |h| set_slash_params(h, params)).unwrap();
        assert_eq!(slash_params(&mut h), Ok(params));
    }
    assert!(h.get(&slash_params_key()).is_some());
}

/// Root TAO unstaked from a keyed hotkey is paid at `release`, not before (under the shortest
/// window, not within `MAX_EVIDENCE_AGE` blocks: held while its evidence may still land); an
/// unkeyed hotkey pays at once; root stake of a keyed hotkey moves only by unstaking.
#[test]
fn a_validators_root_stake_unbonds_over_the_window() {
    let (mut h, _) = keyed();
    let stake = stake_of_(&mut h, 2, 1001, 0);
    let cash = balance(&mut h, 2);
    call(&mut h, addr(2), 30, |h| remove_stake(h, &addr(2), &addr(1001), 0, stake / 2, None)).unwrap();
    assert_eq!(balance(&mut h, 2), cash, "not paid at once");
    let entry = Unbonding { hotkey: addr(1001), rao: stake / 2, since: 30, release: 30 + WINDOW };
    assert_eq!(unbonding(&mut h, &addr(2)), Ok(vec![entry]));
    assert_conserved(&mut h);
    for block in 31..30 + WINDOW {
        release(&mut h, block);
        assert_eq!(balance(&mut h, 2), cash, "block {block}");
    }
    release(&mut h, 30 + WINDOW);
    assert_eq!(balance(&mut h, 2), cash + stake / 2);
    assert_eq!(unbonding(&mut h, &addr(2)), Ok(Vec::new()));
    assert_eq!(unbonding_total(&mut h), Ok(0));
    assert_conserved(&mut h);
    // Moving it off the hotkey's root stake is refused; to another coldkey on it is not.
    let from = Position { coldkey: addr(2), hotkey: addr(1001), netuid: 0 };
    for to in [Position { netuid: 1, ..from }, Position { hotkey: addr(2001), ..from }] {
        assert_eq!(
            call(&mut h, addr(2), 31 + WINDOW, |h| relocate_stake(h, &from, &to, TAO)),
            Err(StakeError::RootStakeBonded.to_string())
        );
    }
    call(&mut h, addr(2), 31 + WINDOW, |h| {
        relocate_stake(h, &from, &Position { coldkey: addr(3), ..from }, TAO)
    })
    .unwrap();
    // Unkeyed hotkey 2001: paid at once, by remove_stake and unstake_all alike.
    let cash = balance(&mut h, 2);
    call(&mut h, addr(2), 32 + WINDOW, |h| remove_stake(h, &addr(2), &addr(2001), 0, 10 * TAO, None))
        .unwrap();
    assert_eq!(balance(&mut h, 2), cash + 10 * TAO);
    let (keyed_left, unkeyed_left) = (stake_of_(&mut h, 2, 1001, 0), stake_of_(&mut h, 2, 2001, 0));
    call(&mut h, addr(2), 33 + WINDOW, |h| unstake_all(h, &addr(2))).unwrap();
    assert_eq!(balance(&mut h, 2), cash + 10 * TAO + unkeyed_left);
    let entry =
        Unbonding { hotkey: addr(1001), rao: keyed_left, since: 33 + WINDOW, release: 33 + 2 * WINDOW };
    assert_eq!(unbonding(&mut h, &addr(2)), Ok(vec![entry]));
    assert_conserved(&mut h);
}

/// Unbonding TAO that began at or after the infraction is cut by the fraction (recycled when
/// released); what began before it, or after the slash, is not.
#[test]
fn a_slash_cuts_unbonding_that_began_at_or_after_the_infraction() {
    let (mut h, key) = keyed();
    let unstake = |h: &mut MemoryHost, block: u64| {
        call(h, addr(2), block, |h| remove_stake(h, &addr(2), &addr(1001), 0, 10 * TAO, None)).unwrap();
    };
    unstake(&mut h, 14);
    unstake(&mut h, 15);
    slash(&mut h, SYSTEM, 17, key, 15, Vec::new()).unwrap();
    unstake(&mut h, 17);
    let cut = slash_part(10 * TAO, FRACTION);
    let owed: Vec<u64> = unbonding(&mut h, &addr(2)).unwrap().iter().map(|e| e.rao).collect();
    assert_eq!(owed, vec![10 * TAO, 10 * TAO - cut, 10 * TAO]);
    let (cash, supply) = (balance(&mut h, 2), issuance(&mut h));
    release(&mut h, 14 + WINDOW);
    assert_eq!(balance(&mut h, 2), cash + 10 * TAO, "before the infraction: whole");
    release(&mut h, 15 + WINDOW);
    assert_eq!(balance(&mut h, 2), cash + 20 * TAO - cut);
    assert_eq!(issuance(&mut h), supply - cut, "the cut is recycled");
    assert_conserved(&mut h);
    // Slashed a window ago at most: 1001 (no key now) still unbonds until 15 + WINDOW.
    h.block_height = 14 + WINDOW;
    assert_eq!(is_bonded(&mut h, &addr(1001)), Ok(true));
    h.block_height = 15 + WINDOW;
    assert_eq!(is_bonded(&mut h, &addr(1001)), Ok(false));
    release(&mut h, 17 + WINDOW);
    assert_eq!(balance(&mut h, 2), cash + 30 * TAO - cut);
    assert_eq!(unbonding_total(&mut h), Ok(0));
}

/// A coldkey holds at most 32 entries (a second unstake in one block joins its entry); the
/// 33rd is refused until one is released.
#[test]
fn the_33rd_unbonding_entry_is_refused() {
    let (mut h, _) = keyed();
    let unstake = |h: &mut MemoryHost, block: u64| {
        call(h, addr(2), block, |h| remove_stake(h, &addr(2), &addr(1001), 0, TAO, None))
    };
    for block in 100..100 + u64::from(MAX_UNBONDING) {
        unstake(&mut h, block).unwrap();
    }
    unstake(&mut h, 131).unwrap();
    let list = unbonding(&mut h, &addr(2)).unwrap();
    assert_eq!((list.len(), list[31].rao), (32, 2 * TAO), "joined the block's entry");
    assert_eq!(unstake(&mut h, 132), Err(StakeError::UnbondingFull { max: MAX_UNBONDING }.to_string()));
    release(&mut h, 100 + WINDOW);
    unstake(&mut h, 132).unwrap();
}

/// At most 256 coldkeys are paid per block; the rest the block after.
#[test]
fn releases_are_bounded_per_block() {
    let (mut h, _) = keyed();
    let count = MAX_RELEASES_PER_BLOCK as u16 + 3;
    for c in 10..10 + count {
        call(&mut h, SYSTEM, 2, |h| Ok(token::mint(h, &addr(c), 10 * TAO)?)).unwrap();
        add(&mut h, c, 1001, 0, TAO, None).unwrap();
        call(&mut h, addr(c), 50, |h| remove_stake(h, &addr(c), &addr(1001), 0, TAO, None)).unwrap();
    }
    let paid = |h: &mut MemoryHost| (10..10 + count).filter(|c| balance(h, *c) == 10 * TAO).count();
    let mut released = 0;
    call(&mut h, SYSTEM, 50 + WINDOW, |h| release_unbonding(h).map(|n| released = n)).unwrap();
    assert_eq!((released, paid(&mut h)), (MAX_RELEASES_PER_BLOCK, MAX_RELEASES_PER_BLOCK));
    release(&mut h, 51 + WINDOW);
    assert_eq!(paid(&mut h), usize::from(count));
    assert_eq!(unbonding_total(&mut h), Ok(0));
}

/// Nothing unbonding: the hook writes nothing. A window shortened by governance still pays an
/// entry due before those queued earlier.
#[test]
fn the_queue_writes_nothing_when_idle_and_follows_a_shorter_window() {
    let (mut h, _) = keyed();
    let before = h.storage.clone();
    release(&mut h, 5);
    assert_eq!(h.storage, before);
    let unstake = |h: &mut MemoryHost, block: u64| {
        call(h, addr(2), block, |h| remove_stake(h, &addr(2), &addr(1001), 0, TAO, None)).unwrap();
    };
    let long = WINDOW + 10;
    set_params(&mut h, FRACTION, long);
    unstake(&mut h, 20);
    set_params(&mut h, FRACTION, WINDOW);
    unstake(&mut h, 21);
    let cash = balance(&mut h, 2);
    for block in 21..21 + WINDOW {
        release(&mut h, block);
    }
    assert_eq!(balance(&mut h, 2), cash, "held for the whole shorter window");
    release(&mut h, 21 + WINDOW);
    assert_eq!(balance(&mut h, 2), cash + TAO, "the later, shorter one first");
    release(&mut h, 20 + long);
    assert_eq!(balance(&mut h, 2), cash + 2 * TAO);
    let idle = h.storage.clone();
    release(&mut h, 21 + long);
    assert_eq!(h.storage, idle, "idle again");
}

/// A hotkey swap does not shield what was unbonding from the old hotkey: a slash of the key on
/// the new hotkey cuts it too.
#[test]
fn a_hotkey_swap_does_not_shield_unbonding_from_a_slash() {
    let (mut h, key) = keyed();
    call(&mut h, addr(2), 14, |h| remove_stake(h, &addr(2), &addr(1001), 0, 10 * TAO, None)).unwrap();
    call(&mut h, addr(1), 15, |h| swap_hotkey(h, &addr(1), &addr(1001), &addr(1002))).unwrap();
    assert_eq!(consensus_key(&mut h, &addr(1002)), Ok(Some(key)));
    let slashed = slash(&mut h, SYSTEM, 16, key, 13, Vec::new()).unwrap();
    assert_eq!(slashed.hotkey, Some(addr(1002)));
    let owed: Vec<u64> = unbonding(&mut h, &addr(2)).unwrap().iter().map(|e| e.rao).collect();
    assert_eq!(owed, vec![10 * TAO - slash_part(10 * TAO, FRACTION)]);
    assert_eq!(slashes(&mut h, &addr(1001)), Ok(Vec::new()));
    assert_eq!(slashes(&mut h, &addr(1002)).unwrap().len(), 1);
}

/// A key replaced and its hotkey swapped away still signs until the next epoch: its slash
/// takes the stake where the swap moved it, not the emptied old hotkey's nothing.
#[test]
fn a_replaced_key_of_a_swapped_hotkey_slashes_the_stake_where_it_went() {
    let (mut h, old_key) = keyed();
    set_key_(&mut h, 1, 1001, consensus(2, &addr(1001))).unwrap();
    call(&mut h, addr(1), 15, |h| swap_hotkey(h, &addr(1), &addr(1001), &addr(1002))).unwrap();
    let staked = root_stake(&mut h, &addr(1002)).unwrap();
    assert_eq!(root_stake(&mut h, &addr(1001)), Ok(0));
    let slashed = slash(&mut h, SYSTEM, 16, old_key, 14, Vec::new()).unwrap();
    assert_eq!(slashed.hotkey, Some(addr(1002)));
    assert_eq!(slashed.rao, slash_part(staked, FRACTION));
    assert_eq!(root_stake(&mut h, &addr(1002)), Ok(staked - slashed.rao));
    assert_conserved(&mut h);
}

/// The longest window leaves room for a swap every rate-limit period while TAO unbonds: a slash
/// still follows every swap to cut it at its release.
#[test]
fn a_slash_follows_every_swap_the_longest_window_allows() {
    let (mut h, key) = keyed();
    set_params(&mut h, FRACTION, MAX_EVIDENCE_WINDOW);
    call(&mut h, addr(2), 14, |h| remove_stake(h, &addr(2), &addr(1001), 0, 10 * TAO, None)).unwrap();
    slash(&mut h, SYSTEM, 15, key, 14, Vec::new()).unwrap();
    let release_at = 14 + MAX_EVIDENCE_WINDOW;
    let swaps: Vec<u64> = (16..release_at).step_by(HOTKEY_SWAP_RATE_LIMIT as usize).collect();
    assert_eq!(swaps.len() as u64, MAX_EVIDENCE_WINDOW / HOTKEY_SWAP_RATE_LIMIT + 1, "every swap allowed");
    let mut hotkey = 1001;
    for block in swaps {
        call(&mut h, addr(1), block, |h| swap_hotkey(h, &addr(1), &addr(hotkey), &addr(hotkey + 1))).unwrap();
        hotkey += 1;
    }
    assert_eq!(slashes(&mut h, &addr(hotkey)).unwrap().len(), 1, "the slash moved with every swap");
    let owed = 10 * TAO - slash_part(10 * TAO, FRACTION);
    assert_eq!(unbonding(&mut h, &addr(2)).unwrap()[0].rao, owed);
    let cash = balance(&mut h, 2);
    release(&mut h, release_at);
    assert_eq!(balance(&mut h, 2), cash + owed);
    assert_conserved(&mut h);
}

/// A swap in the block its hotkey's TAO began unbonding does not shield that TAO.
#[test]
fn a_swap_in_the_unbonding_block_does_not_shield_it() {
    let (mut h, key) = keyed();
    call(&mut h, addr(2), 14, |h| remove_stake(h, &addr(2), &addr(1001), 0, 10 * TAO, None)).unwrap();
    call(&mut h, addr(1), 14, |h| swap_hotkey(h, &addr(1), &addr(1001), &addr(1002))).unwrap();
    slash(&mut h, SYSTEM, 15, key, 13, Vec::new()).unwrap();
    let owed = 10 * TAO - slash_part(10 * TAO, FRACTION);
    assert_eq!(unbonding(&mut h, &addr(2)).unwrap()[0].rao, owed);
}

/// Evidence at its oldest still cuts TAO unstaked at the infraction: the block carrying it
/// releases due unbonding in its begin-block hooks before its slashes run, and the shortest
/// window keeps that TAO through it.
#[test]
fn evidence_at_its_oldest_still_cuts_tao_unstaked_at_the_infraction() {
    let (mut h, key) = keyed();
    call(&mut h, addr(2), 14, |h| remove_stake(h, &addr(2), &addr(1001), 0, 10 * TAO, None)).unwrap();
    let cash = balance(&mut h, 2);
    let carrier = 14 + MAX_EVIDENCE_AGE;
    release(&mut h, carrier);
    assert_eq!(balance(&mut h, 2), cash, "paid before the evidence's last block");
    slash(&mut h, SYSTEM, carrier, key, 14, Vec::new()).unwrap();
    let owed = 10 * TAO - slash_part(10 * TAO, FRACTION);
    release(&mut h, 14 + WINDOW);
    assert_eq!(balance(&mut h, 2), cash + owed);
    assert_conserved(&mut h);
}

/// A hotkey swapped once its slash's window has passed, while TAO unstaked after the infraction
/// still unbonds from it, does not shield that TAO: the swap keeps its successor.
#[test]
fn a_swap_after_the_slash_window_does_not_shield_later_unbonding() {
    let (mut h, key) = keyed();
    call(&mut h, addr(2), 20, |h| remove_stake(h, &addr(2), &addr(1001), 0, 10 * TAO, None)).unwrap();
    slash(&mut h, SYSTEM, 30, key, 14, Vec::new()).unwrap();
    h.block_height = 14 + WINDOW;
    assert_eq!(is_bonded(&mut h, &addr(1001)), Ok(false), "the slash's window has passed");
    call(&mut h, addr(1), 14 + WINDOW, |h| swap_hotkey(h, &addr(1), &addr(1001), &addr(1002))).unwrap();
    let owed = 10 * TAO - slash_part(10 * TAO, FRACTION);
    assert_eq!(unbonding(&mut h, &addr(2)).unwrap()[0].rao, owed);
    let cash = balance(&mut h, 2);
    release(&mut h, 20 + WINDOW);
    assert_eq!(balance(&mut h, 2), cash + owed);
    assert_conserved(&mut h);
}
