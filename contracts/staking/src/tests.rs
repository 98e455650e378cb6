use super::*;
use proptest::prelude::*;
use tao_contract_subnets::SubnetIdentity;
use tao_sdk::{MemoryHost, NativeOutcome};

const TAO: u64 = tao_types::RAO_PER_TAO;

fn addr(n: u16) -> Address {
    let mut a = [0u8; 20];
    a[..2].copy_from_slice(&n.to_be_bytes());
    a[19] = 1;
    Address(a)
}

fn call<T>(
    host: &mut MemoryHost,
    caller: Address,
    block: u64,
    f: impl FnOnce(&mut MemoryHost) -> Result<T, StakeError>,
) -> Result<(), String> {
    host.caller = caller;
    host.block_height = block;
    match host.run(&[], |h| f(h).map(|_| ())).outcome {
        NativeOutcome::Ok => Ok(()),
        NativeOutcome::Abort(m) | NativeOutcome::HostError(m) => Err(m),
    }
}

/// Coldkeys 1..=3 funded; coldkey 1 owns subnet 1 with hotkey 1001 registered; coldkey 2's
/// hotkey 2001 is registered too.
fn setup() -> MemoryHost {
    let mut h = MemoryHost::new();
    call(&mut h, SYSTEM, 0, |h| {
        for who in [1u16, 2, 3] {
            token::mint(h, &addr(who), 100_000 * TAO)?;
        }
        Ok(())
    })
    .unwrap();
    call(&mut h, addr(1), 1, |h| {
        neurons::register_network(h, &addr(1), &addr(1001), SubnetIdentity::default())?;
        Ok(neurons::burned_register(h, &addr(2), 1, &addr(2001))?)
    })
    .unwrap();
    h
}

fn stake_of_(h: &mut MemoryHost, coldkey: u16, hotkey: u16, netuid: NetUid) -> u64 {
    stake_of(h, &addr(coldkey), &addr(hotkey), netuid).unwrap()
}

fn subnet_pool(h: &mut MemoryHost, netuid: NetUid) -> pools::SubnetPool {
    pools::pool(h, netuid).unwrap().unwrap()
}

fn add(
    h: &mut MemoryHost,
    c: u16,
    k: u16,
    netuid: NetUid,
    tao: u64,
    limit: Option<Limit>,
) -> Result<(), String> {
    call(h, addr(c), 2, |h| add_stake(h, &addr(c), &addr(k), netuid, tao, limit))
}

fn remove(
    h: &mut MemoryHost,
    c: u16,
    k: u16,
    netuid: NetUid,
    alpha: u64,
    limit: Option<Limit>,
) -> Result<(), String> {
    call(h, addr(c), 3, |h| remove_stake(h, &addr(c), &addr(k), netuid, alpha, limit))
}

#[test]
fn add_and_remove_swap_through_the_pool() {
    let mut h = setup();
    let err = |r: Result<(), String>| r.unwrap_err();
    assert_eq!(
        err(add(&mut h, 2, 1001, 1, MIN_STAKE - 1, None)),
        StakeError::BelowMinimum { amount: MIN_STAKE - 1 }.to_string()
    );
    assert_eq!(err(add(&mut h, 2, 1001, 9, TAO, None)), StakeError::NoSuchSubnet(9).to_string());
    assert_eq!(err(add(&mut h, 2, 7777, 1, TAO, None)), StakeError::UnknownHotkey.to_string());
    let before = token::balance(&mut h, &addr(2)).unwrap();
    let pool_before = subnet_pool(&mut h, 1);
    let expected = pools::quote(&pool_before, 1, Side::Buy, 10 * TAO).unwrap();
    add(&mut h, 2, 1001, 1, 10 * TAO, None).unwrap();
    let alpha = stake_of_(&mut h, 2, 1001, 1);
    assert_eq!(alpha, expected.output);
    assert_eq!(token::balance(&mut h, &addr(2)), Ok(before - 10 * TAO));
    let after = subnet_pool(&mut h, 1);
    assert_eq!(
        (after.tao, after.alpha_in, after.alpha_out),
        (pool_before.tao + 10 * TAO, expected.alpha_after, alpha)
    );
    assert_eq!(
        err(remove(&mut h, 2, 1001, 1, alpha + 1, None)),
        StakeError::NotEnoughStake { have: alpha, need: alpha + 1 }.to_string()
    );
    assert_eq!(
        err(remove(&mut h, 2, 1001, 1, 1_000, None)),
        StakeError::BelowMinimum { amount: 1_000 }.to_string()
    );
    remove(&mut h, 2, 1001, 1, alpha / 3, None).unwrap();
    remove(&mut h, 2, 1001, 1, alpha - alpha / 3, None).unwrap();
    let back = token::balance(&mut h, &addr(2)).unwrap();
    assert!(
        back < before && before - back < 10 * TAO / 1_000,
        "a round trip costs the fees: {}",
        before - back
    );
    assert_eq!(pool(&mut h, &addr(1001), 1), Ok(Pool::default()));
    assert_eq!(subnet_pool(&mut h, 1).alpha_out, 0);
}

#[test]
fn limit_orders_fill_within_their_price() {
    let mut h = setup();
    let spot = pools::price_in_rao(subnet_pool(&mut h, 1).spot_price(1));
    let strict = Limit { price: spot, partial: false };
    assert!(matches!(
        StakeError::Pool(PoolError::LimitExceeded { fillable: 0 }).to_string(),
        ref m if *m == add(&mut h, 2, 1001, 1, 10 * TAO, Some(strict)).unwrap_err()
    ));
    // 5% above spot: a partial order fills part of 500 TAO, an all-or-nothing one fails.
    let limit = spot + spot / 20;
    let fok = add(&mut h, 2, 1001, 1, 500 * TAO, Some(Limit { price: limit, partial: false })).unwrap_err();
    assert!(fok.contains("does not fill within its limit"), "{fok}");
    let before = token::balance(&mut h, &addr(2)).unwrap();
    add(&mut h, 2, 1001, 1, 500 * TAO, Some(Limit { price: limit, partial: true })).unwrap();
    let spent = before - token::balance(&mut h, &addr(2)).unwrap();
    assert!(spent > 0 && spent < 500 * TAO, "{spent}");
    let after = subnet_pool(&mut h, 1);
    assert!(u128::from(after.tao) * 1_000_000_000 <= u128::from(limit) * u128::from(after.alpha_in));
    // Selling with a floor above the price fills nothing; at a low floor it all sells.
    let alpha = stake_of_(&mut h, 2, 1001, 1);
    let high = Limit { price: limit * 2, partial: true };
    assert!(remove(&mut h, 2, 1001, 1, alpha, Some(high)).unwrap_err().contains("only 0 would"));
    remove(&mut h, 2, 1001, 1, alpha, Some(Limit { price: spot / 2, partial: false })).unwrap();
    assert_eq!(stake_of_(&mut h, 2, 1001, 1), 0);
}

#[test]
fn root_stake_is_one_to_one() {
    let mut h = setup();
    let before = token::balance(&mut h, &addr(2)).unwrap();
    add(&mut h, 2, 1001, 0, 7 * TAO, None).unwrap();
    assert_eq!(stake_of_(&mut h, 2, 1001, 0), 7 * TAO);
    assert_eq!(subnet_pool(&mut h, 0).tao, 7 * TAO);
    remove(&mut h, 2, 1001, 0, 7 * TAO, None).unwrap();
    assert_eq!(token::balance(&mut h, &addr(2)), Ok(before));
    assert_eq!(subnet_pool(&mut h, 0).tao, 0);
}

#[test]
fn dividends_take_to_owner_and_grow_nominators_pro_rata() {
    let mut h = setup();
    add(&mut h, 1, 1001, 1, 100 * TAO, None).unwrap();
    add(&mut h, 2, 1001, 1, 300 * TAO, None).unwrap();
    let (owner0, nominator0) = (stake_of_(&mut h, 1, 1001, 1), stake_of_(&mut h, 2, 1001, 1));
    call(&mut h, SYSTEM, 3, |h| distribute_dividend(h, &addr(1001), 1, 100 * TAO)).unwrap();
    let take = 100 * TAO * u64::from(MAX_TAKE) / 65_535;
    let rest = u128::from(100 * TAO - take);
    let total = u128::from(owner0 + nominator0);
    let nominator = stake_of_(&mut h, 2, 1001, 1);
    let share = (rest * u128::from(nominator0) / total) as u64;
    assert!(nominator.abs_diff(nominator0 + share) <= 1, "{nominator}");
    let owner = stake_of_(&mut h, 1, 1001, 1);
    assert!(owner.abs_diff(owner0 + (rest as u64 - share) + take) <= 2, "{owner}");
    assert_eq!(subnet_pool(&mut h, 1).alpha_out, pool(&mut h, &addr(1001), 1).unwrap().stake);
    assert_eq!(
        call(&mut h, addr(1), 4, |h| distribute_dividend(h, &addr(1001), 1, 1)),
        Err(StakeError::NotSystem.to_string())
    );
}

#[test]
fn dissolution_pays_the_pool_out_pro_rata() {
    let mut h = setup();
    add(&mut h, 2, 1001, 1, 200 * TAO, None).unwrap();
    add(&mut h, 3, 2001, 1, 100 * TAO, None).unwrap();
    let p = subnet_pool(&mut h, 1);
    let claims = u128::from(p.alpha_in + p.alpha_out);
    let worth = |alpha: u64| (u128::from(p.tao) * u128::from(alpha) / claims) as u64;
    let (a2, a3) = (stake_of_(&mut h, 2, 1001, 1), stake_of_(&mut h, 3, 2001, 1));
    let balances: Vec<u64> =
        [1u16, 2, 3].iter().map(|c| token::balance(&mut h, &addr(*c)).unwrap()).collect();
    assert_eq!(
        call(&mut h, addr(1), 9, |h| dissolve_network(h, &addr(1), 1)),
        Err(StakeError::Subnet(subnets::SubnetError::NotSystem).to_string())
    );
    call(&mut h, SYSTEM, 9, |h| dissolve_network(h, &SYSTEM, 1)).unwrap();
    assert_eq!(token::balance(&mut h, &addr(2)), Ok(balances[1] + worth(a2)));
    assert_eq!(token::balance(&mut h, &addr(3)), Ok(balances[2] + worth(a3)));
    assert_eq!(token::balance(&mut h, &addr(1)), Ok(balances[0] + p.tao - worth(a2) - worth(a3)));
    assert!(
        worth(a2) > worth(a3) && p.tao - worth(a2) - worth(a3) >= worth(p.alpha_in),
        "the owner keeps the reserve's share"
    );
    assert_eq!(pools::pool(&mut h, 1), Ok(None));
    assert_eq!(positions(&mut h, &addr(2)), Ok(Vec::new()));
    assert!(h.storage.keys().all(|k| !k.starts_with(b"stake/pool/") && !k.starts_with(b"stake/holders/")));
}

#[test]
fn stake_swaps_between_subnets() {
    let mut h = setup();
    call(&mut h, addr(3), 20_000, |h| {
        Ok(neurons::register_network(h, &addr(3), &addr(3001), SubnetIdentity::default())?)
    })
    .unwrap();
    add(&mut h, 2, 1001, 1, 50 * TAO, None).unwrap();
    let alpha = stake_of_(&mut h, 2, 1001, 1);
    let sold = pools::quote(&subnet_pool(&mut h, 1), 1, Side::Sell, alpha).unwrap();
    let bought = pools::quote(&subnet_pool(&mut h, 2), 2, Side::Buy, sold.output).unwrap();
    call(&mut h, addr(2), 20_001, |h| {
        let from = Position { coldkey: addr(2), hotkey: addr(1001), netuid: 1 };
        relocate_stake(h, &from, &Position { netuid: 2, ..from }, alpha)
    })
    .unwrap();
    assert_eq!((stake_of_(&mut h, 2, 1001, 1), stake_of_(&mut h, 2, 1001, 2)), (0, bought.output));
    assert_eq!(subnet_pool(&mut h, 2).alpha_out, bought.output);
}

#[test]
fn take_rules() {
    let mut h = setup();
    let set = |h: &mut MemoryHost, who: u16, block: u64, t: u16| {
        call(h, addr(who), block, |h| set_take(h, &addr(who), &addr(1001), t))
    };
    assert_eq!(take(&mut h, &addr(1001)), Ok(MAX_TAKE));
    assert_eq!(set(&mut h, 2, 5, 100), Err(StakeError::NotHotkeyOwner.to_string()));
    assert_eq!(set(&mut h, 1, 5, MAX_TAKE), Err(StakeError::TakeUnchanged.to_string()));
    set(&mut h, 1, 5, 5_000).unwrap();
    set(&mut h, 1, 6, 6_000).unwrap();
    assert_eq!(
        set(&mut h, 1, 7, 7_000),
        Err(StakeError::RateLimited { until: 6 + TAKE_INCREASE_RATE_LIMIT }.to_string())
    );
    set(&mut h, 1, 8, 1_000).unwrap();
    assert_eq!(
        set(&mut h, 1, 6 + TAKE_INCREASE_RATE_LIMIT, MAX_TAKE + 1),
        Err(StakeError::TakeTooHigh.to_string())
    );
    set(&mut h, 1, 6 + TAKE_INCREASE_RATE_LIMIT, MAX_TAKE).unwrap();
}

/// What a light client reads at `take_key`: absent means the largest take; after a change, the
/// take and the block of its last increase, as `take` reports it.
#[test]
fn the_take_key_holds_the_take_and_its_last_increase() {
    let mut h = setup();
    assert_eq!(h.storage.get(&take_key(&addr(1001))), None);
    call(&mut h, addr(1), 5, |h| set_take(h, &addr(1), &addr(1001), 5_000)).unwrap();
    call(&mut h, addr(1), 9, |h| set_take(h, &addr(1), &addr(1001), 6_000)).unwrap();
    let stored = h.storage.get(&take_key(&addr(1001))).unwrap();
    assert_eq!(tao_sdk::borsh::from_slice::<(u16, u64)>(stored).unwrap(), (6_000, 9));
    assert_eq!(take(&mut h, &addr(1001)), Ok(6_000));
    assert_eq!(h.storage.get(&take_key(&addr(2001))), None, "one key per hotkey");
}

#[test]
fn move_transfer_and_unstake_all() {
    let mut h = setup();
    add(&mut h, 2, 1001, 1, 50 * TAO, None).unwrap();
    let alpha = stake_of_(&mut h, 2, 1001, 1);
    call(&mut h, addr(2), 3, |h| {
        let from = Position { coldkey: addr(2), hotkey: addr(1001), netuid: 1 };
        relocate_stake(h, &from, &Position { hotkey: addr(2001), ..from }, alpha / 2)
    })
    .unwrap();
    assert_eq!(
        (stake_of_(&mut h, 2, 1001, 1), stake_of_(&mut h, 2, 2001, 1)),
        (alpha - alpha / 2, alpha / 2)
    );
    call(&mut h, addr(1), 4, |h| Ok(subnets::set_hyperparameter(h, &addr(1), 1, id::TRANSFER_TOGGLE, 0)?))
        .unwrap();
    let gift = |h: &mut MemoryHost| {
        let from = Position { coldkey: addr(2), hotkey: addr(2001), netuid: 1 };
        relocate_stake(h, &from, &Position { coldkey: addr(3), ..from }, alpha / 10)
    };
    assert_eq!(call(&mut h, addr(2), 5, gift), Err(StakeError::TransfersDisabled(1).to_string()));
    call(&mut h, SYSTEM, 5, |h| Ok(subnets::set_hyperparameter(h, &SYSTEM, 1, id::TRANSFER_TOGGLE, 1)?))
        .unwrap();
    call(&mut h, addr(2), 6, gift).unwrap();
    assert_eq!(stake_of_(&mut h, 3, 2001, 1), alpha / 10);
    let before = token::balance(&mut h, &addr(2)).unwrap();
    call(&mut h, addr(2), 7, |h| unstake_all(h, &addr(2))).unwrap();
    let received = token::balance(&mut h, &addr(2)).unwrap() - before;
    assert!(received > 40 * TAO && received < 50 * TAO, "{received}");
    assert_eq!(positions(&mut h, &addr(2)), Ok(Vec::new()));
}

/// Coldkey 3 registers `count` hotkeys (4000, 4001, …) on subnet 1.
fn register_hotkeys(h: &mut MemoryHost, count: u16) -> Vec<u16> {
    let hotkeys: Vec<u16> = (4000..4000 + count).collect();
    for (i, &k) in hotkeys.iter().enumerate() {
        call(h, addr(3), 100 + i as u64, |h| Ok(neurons::burned_register(h, &addr(3), 1, &addr(k))?))
            .unwrap();
    }
    hotkeys
}

/// The (hotkey, netuid) pairs where `coldkey` holds shares, found by iterating (natively only).
fn held(h: &mut MemoryHost, coldkey: u16) -> Vec<(Address, NetUid)> {
    let entries = SHARES.entries_under(h, &addr(coldkey), 10_000).unwrap();
    entries.into_iter().filter(|(_, shares)| *shares > 0).map(|((_, k, n), _)| (k, n)).collect()
}

#[test]
fn the_index_lists_every_position_and_is_bounded() {
    let mut h = setup();
    let hotkeys = register_hotkeys(&mut h, 33);
    let pairs: Vec<(u16, NetUid)> = hotkeys.iter().flat_map(|&k| [(k, 0), (k, 1)]).collect();
    for &(k, n) in &pairs[..MAX_POSITIONS as usize] {
        add(&mut h, 2, k, n, TAO / 100, None).unwrap();
    }
    assert_eq!(position_list(&mut h, &addr(2)).unwrap(), held(&mut h, 2));
    assert_eq!(positions(&mut h, &addr(2)).unwrap().len(), MAX_POSITIONS as usize);
    let (k, n) = pairs[MAX_POSITIONS as usize];
    let full = add(&mut h, 2, k, n, TAO / 100, None).unwrap_err();
    assert!(full.contains("already holds 64 stake positions"), "{full}");
    // Topping up a held position still works; emptying one makes room.
    add(&mut h, 2, pairs[0].0, pairs[0].1, TAO / 100, None).unwrap();
    let alpha = stake_of_(&mut h, 2, pairs[1].0, pairs[1].1);
    remove(&mut h, 2, pairs[1].0, pairs[1].1, alpha, None).unwrap();
    add(&mut h, 2, k, n, TAO / 100, None).unwrap();
    assert_eq!(position_list(&mut h, &addr(2)).unwrap(), held(&mut h, 2));
    // Emission that would open a 65th position writes nothing and says why.
    let before = h.storage.clone();
    h.caller = SYSTEM;
    assert_eq!(
        stake_emission(&mut h, &addr(2), &addr(2001), 1, TAO),
        Err(StakeError::PositionsFull { max: MAX_POSITIONS })
    );
    assert_eq!(h.storage, before);
    // A full owner's take stays with the nominators of a pool that has them.
    add(&mut h, 1, 2001, 1, TAO, None).unwrap();
    call(&mut h, SYSTEM, 9, |h| distribute_dividend(h, &addr(2001), 1, TAO).map(|take| assert_eq!(take, 0)))
        .unwrap();
    assert_eq!(position_list(&mut h, &addr(2)).unwrap(), held(&mut h, 2));
}

#[test]
fn unstake_all_and_dissolution_empty_the_index() {
    let mut h = setup();
    add(&mut h, 2, 1001, 0, TAO, None).unwrap();
    add(&mut h, 2, 1001, 1, TAO, None).unwrap();
    add(&mut h, 3, 2001, 1, TAO, None).unwrap();
    let (a, b) = (addr(1001), addr(2001));
    assert_eq!(position_list(&mut h, &addr(2)).unwrap(), vec![(a, 0), (a, 1)]);
    call(&mut h, addr(2), 7, |h| unstake_all(h, &addr(2))).unwrap();
    assert_eq!(position_list(&mut h, &addr(2)).unwrap(), Vec::new());
    assert_eq!(h.storage.get(&positions_key(&addr(2))), None);
    assert_eq!(position_list(&mut h, &addr(3)).unwrap(), vec![(b, 1)]);
    call(&mut h, SYSTEM, 9, |h| dissolve_network(h, &SYSTEM, 1)).unwrap();
    assert_eq!(position_list(&mut h, &addr(3)).unwrap(), Vec::new());
}

#[derive(Debug, Clone)]
enum Op {
    Add(u16, u16, u64),
    Remove(u16, u16, u64),
    Move(u16, u16, u16, u64),
    Transfer(u16, u16, u16, u64),
    UnstakeAll(u16),
    Dividend(u16, u64),
    /// Coldkey, hotkey, from and to netuid, alpha.
    Swap(u16, u16, NetUid, NetUid, u64),
    /// Emission staked to (coldkey, hotkey, netuid).
    Emission(u16, u16, NetUid, u64),
    /// Limit orders, partial fills allowed: add (true) or remove, at spot ± 1%.
    Limit(bool, u16, u16, NetUid, u64),
    Dissolve,
}

/// Applies `op` at block `b` (subnet 1 unless it says otherwise).
fn apply(h: &mut MemoryHost, op: Op, b: u64) -> Result<(), String> {
    match op {
        Op::Add(c, k, a) => call(h, addr(c), b, |h| add_stake(h, &addr(c), &addr(k), 1, a, None)),
        Op::Remove(c, k, a) => call(h, addr(c), b, |h| remove_stake(h, &addr(c), &addr(k), 1, a, None)),
        Op::Move(c, f, t, a) => call(h, addr(c), b, |h| {
            let from = Position { coldkey: addr(c), hotkey: addr(f), netuid: 1 };
            relocate_stake(h, &from, &Position { hotkey: addr(t), ..from }, a)
        }),
        Op::Transfer(c, d, k, a) => call(h, addr(c), b, |h| {
            let from = Position { coldkey: addr(c), hotkey: addr(k), netuid: 1 };
            relocate_stake(h, &from, &Position { coldkey: addr(d), ..from }, a)
        }),
        Op::UnstakeAll(c) => call(h, addr(c), b, |h| unstake_all(h, &addr(c))),
        Op::Dividend(k, a) => call(h, SYSTEM, b, |h| distribute_dividend(h, &addr(k), 1, a)),
        Op::Swap(c, k, from, to, a) => call(h, addr(c), b, |h| {
            let from = Position { coldkey: addr(c), hotkey: addr(k), netuid: from };
            relocate_stake(h, &from, &Position { netuid: to, ..from }, a)
        }),
        Op::Emission(c, k, n, a) => call(h, SYSTEM, b, |h| stake_emission(h, &addr(c), &addr(k), n, a)),
        Op::Limit(buy, c, k, n, a) => call(h, addr(c), b, |h| {
            let spot = pools::price_in_rao(pools::pool(h, n)?.unwrap_or_default().spot_price(n));
            let price = if buy { spot + spot / 100 } else { spot - spot / 100 };
            let limit = Some(Limit { price, partial: true });
            if buy {
                add_stake(h, &addr(c), &addr(k), n, a, limit)
            } else {
                remove_stake(h, &addr(c), &addr(k), n, a, limit)
            }
        }),
        Op::Dissolve => call(h, SYSTEM, b, |h| dissolve_network(h, &SYSTEM, 1)),
    }
}

fn arb_op() -> impl Strategy<Value = Op> {
    let cold = 1u16..4;
    let hot = prop_oneof![Just(1001u16), Just(2001u16)];
    let amount = prop_oneof![0u64..10_000_000, 0u64..1_000 * TAO, any::<u64>()];
    prop_oneof![
        (cold.clone(), hot.clone(), amount.clone()).prop_map(|(c, k, a)| Op::Add(c, k, a)),
        (cold.clone(), hot.clone(), amount.clone()).prop_map(|(c, k, a)| Op::Remove(c, k, a)),
        (cold.clone(), hot.clone(), hot.clone(), amount.clone())
            .prop_map(|(c, f, t, a)| Op::Move(c, f, t, a)),
        (cold.clone(), cold.clone(), hot.clone(), amount.clone())
            .prop_map(|(c, d, k, a)| Op::Transfer(c, d, k, a)),
        cold.prop_map(Op::UnstakeAll),
        (hot, 0u64..100 * TAO).prop_map(|(k, a)| Op::Dividend(k, a)),
    ]
}

/// [`arb_op`] plus what only the index test covers: root, swaps, emission, limits, dissolution.
fn arb_index_op() -> impl Strategy<Value = Op> {
    let cold = 1u16..4;
    let hot = prop_oneof![Just(1001u16), Just(2001u16)];
    let net = 0u16..2;
    let amount = prop_oneof![0u64..10_000_000, 0u64..1_000 * TAO];
    prop_oneof![
        6 => arb_op(),
        2 => (cold.clone(), hot.clone(), net.clone(), net.clone(), amount.clone())
            .prop_map(|(c, k, f, t, a)| Op::Swap(c, k, f, t, a)),
        2 => (cold.clone(), hot.clone(), net.clone(), 0u64..10 * TAO).prop_map(|(c, k, n, a)| Op::Emission(c, k, n, a)),
        2 => (any::<bool>(), cold, hot, net, amount).prop_map(|(b, c, k, n, a)| Op::Limit(b, c, k, n, a)),
        1 => Just(Op::Dissolve),
    ]
}

proptest! {
    /// After any sequence: Σ balances + pool TAO + burned = issuance; staked alpha is what the
    /// share pools hold, which never owe more than they hold; alpha only grows by dividends paid
    /// in; nothing panics.
    #[test]
    fn conservation(ops in proptest::collection::vec(arb_op(), 1..40)) {
        let mut h = setup();
        let mut paid_in = 0u128;
        let alpha_start = u128::from(subnet_pool(&mut h, 1).alpha_issued());
        for (i, op) in ops.into_iter().enumerate() {
            let dividend = match op { Op::Dividend(_, a) => u128::from(a), _ => 0 };
            if apply(&mut h, op, 10 + i as u64).is_ok() {
                paid_in += dividend;
            }
            let balances: u128 = (1..4u16).map(|c| u128::from(token::balance(&mut h, &addr(c)).unwrap())).sum();
            let in_pools = u128::from(pools::total_tao(&mut h).unwrap());
            let burned = u128::from(token::burned(&mut h).unwrap());
            let issued = u128::from(token::issuance(&mut h).unwrap());
            prop_assert_eq!(balances + in_pools + burned, issued);
            let subnet = subnet_pool(&mut h, 1);
            prop_assert_eq!(u128::from(subnet.alpha_issued()), alpha_start + paid_in);
            let staked = u128::from(subnet.alpha_out);
            let mut pools = 0u128;
            for k in [1001u16, 2001] {
                let p = pool(&mut h, &addr(k), 1).unwrap();
                pools += u128::from(p.stake);
                let owed: u128 = (1..4u16).map(|c| u128::from(stake_of_(&mut h, c, k, 1))).sum();
                prop_assert!(owed <= u128::from(p.stake), "pool {k} owes {owed} > {}", p.stake);
            }
            prop_assert_eq!(pools, staked);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, rng_seed: proptest::test_runner::RngSeed::Fixed(17), ..ProptestConfig::default() })]

    /// After any sequence of stake operations, every coldkey's index is exactly the sorted set
    /// of positions where it holds shares.
    #[test]
    fn the_index_is_the_set_of_nonzero_positions(ops in proptest::collection::vec(arb_index_op(), 1..40)) {
        let mut h = setup();
        for (i, op) in ops.into_iter().enumerate() {
            let _ = apply(&mut h, op, 10 + i as u64);
            for c in 1..4u16 {
                prop_assert_eq!(position_list(&mut h, &addr(c)).unwrap(), held(&mut h, c));
            }
        }
    }
}

/// Subtensor's `root_register`: 64 slots; when full, the lowest root stake is replaced only by a
/// hotkey with more, which must not be on root already and must be the caller's or unowned.
#[test]
fn root_register_fills_64_slots_then_replaces_only_the_lowest_stake() {
    let mut h = setup();
    call(&mut h, addr(2), 2, |h| root_register(h, &addr(2), &addr(2001))).unwrap();
    assert_eq!(
        call(&mut h, addr(2), 2, |h| root_register(h, &addr(2), &addr(2001))),
        Err(neurons::NeuronError::AlreadyRegistered.to_string())
    );
    assert_eq!(
        call(&mut h, addr(3), 2, |h| root_register(h, &addr(3), &addr(1001))),
        Err(neurons::NeuronError::HotkeyOwnedByOther.to_string()),
        "coldkey 1 owns hotkey 1001"
    );
    // Fill the other 63 slots, hotkey 5000 + i staking 10 + i τ on root.
    for i in 0..63u16 {
        let hotkey = addr(5000 + i);
        call(&mut h, addr(3), 3, |h| {
            root_register(h, &addr(3), &hotkey)?;
            add_stake(h, &addr(3), &hotkey, 0, u64::from(10 + i) * TAO, None)
        })
        .unwrap();
    }
    call(&mut h, addr(2), 3, |h| add_stake(h, &addr(2), &addr(2001), 0, 5 * TAO, None)).unwrap();
    let list = root_list(&mut h).unwrap();
    assert_eq!(list.len(), 64);
    assert_eq!(list[0], (0, addr(2001), 5 * TAO));
    // Full: a newcomer with no more than the lowest (5 τ, UID 0) is refused, changing nothing.
    let newcomer = addr(7000);
    call(&mut h, addr(3), 4, |h| root_register(h, &addr(3), &addr(5000))).unwrap_err();
    assert_eq!(
        call(&mut h, addr(3), 4, |h| root_register(h, &addr(3), &newcomer)),
        Err(StakeError::StakeTooLowForRoot { have: 0, need: 5 * TAO + 1 }.to_string())
    );
    assert_eq!(root_list(&mut h).unwrap(), list);
    // With more root stake it takes UID 0; 2001 leaves the root and keeps its stake.
    call(&mut h, addr(3), 5, |h| {
        neurons::burned_register(h, &addr(3), 1, &newcomer)?;
        add_stake(h, &addr(3), &newcomer, 0, 6 * TAO, None)?;
        root_register(h, &addr(3), &newcomer)
    })
    .unwrap();
    let after = root_list(&mut h).unwrap();
    assert_eq!((after.len(), after[0]), (64, (0, newcomer, 6 * TAO)));
    assert_eq!(neurons::uid_of(&mut h, 0, &addr(2001)), Ok(None));
    assert_eq!(root_stake(&mut h, &addr(2001)), Ok(5 * TAO));
}

#[test]
fn tao_weight_is_subtensors_default_and_only_the_chain_sets_it() {
    let mut h = setup();
    assert_eq!(tao_weight(&mut h), Ok(TAO_WEIGHT));
    assert_eq!(weighted(1_000 * TAO, TAO_WEIGHT), 52_676_974_387, "≈ 0.05268 of 1,000 τ");
    assert_eq!(call(&mut h, addr(1), 2, |h| set_tao_weight(h, 7)), Err(StakeError::NotSystem.to_string()));
    call(&mut h, SYSTEM, 2, |h| set_tao_weight(h, u64::MAX)).unwrap();
    assert_eq!(tao_weight(&mut h), Ok(u64::MAX));
    assert_eq!(weighted(1_000 * TAO, u64::MAX), 1_000 * TAO);
}

/// A consensus key from `seed` and its proof for `hotkey` owned by `coldkey`.
fn consensus_for(seed: u8, coldkey: &Address, hotkey: &Address) -> (ConsensusKey, [u8; 64]) {
    use k256::ecdsa::signature::hazmat::PrehashSigner;
    let key = k256::ecdsa::SigningKey::from_bytes(&[seed; 32].into()).unwrap();
    let public: ConsensusKey = key.verifying_key().to_encoded_point(true).as_bytes().try_into().unwrap();
    let signature: k256::ecdsa::Signature =
        key.sign_prehash(&consensus_key_proof_hash(coldkey, hotkey)).unwrap();
    (public, signature.to_bytes().into())
}

/// A consensus key from `seed` and its proof for `hotkey` as its owner signs it (these tests'
/// hotkey `addr(n)` belongs to coldkey `addr(n / 1000)`).
fn consensus(seed: u8, hotkey: &Address) -> (ConsensusKey, [u8; 64]) {
    let n = u16::from_be_bytes([hotkey.0[0], hotkey.0[1]]);
    consensus_for(seed, &addr(n / 1000), hotkey)
}
fn set_key_(
    h: &mut MemoryHost,
    coldkey: u16,
    hotkey: u16,
    key: (ConsensusKey, [u8; 64]),
) -> Result<(), String> {
    call(h, addr(coldkey), 3, |h| set_consensus_key(h, &addr(coldkey), &addr(hotkey), &key.0, &key.1))
}

/// A consensus key is registered by the hotkey's owner with a proof the key signed for that
/// hotkey; a key serves one hotkey forever; anything else is refused and writes nothing.
#[test]
fn a_consensus_key_needs_its_owner_and_its_own_proof_and_serves_one_hotkey() {
    let mut h = setup();
    let key = consensus(7, &addr(1001));
    assert_eq!(set_key_(&mut h, 2, 1001, key), Err(StakeError::NotHotkeyOwner.to_string()));
    assert_eq!(set_key_(&mut h, 1, 1005, key), Err(StakeError::UnknownHotkey.to_string()));
    let for_other = consensus(7, &addr(2001));
    assert_eq!(set_key_(&mut h, 1, 1001, for_other), Err(StakeError::BadConsensusKey.to_string()));
    // A proof made for the same hotkey under another owner (another chain, or before a swap
    // freed the hotkey) does not count here.
    let other_owner = consensus_for(7, &addr(2), &addr(1001));
    assert_eq!(set_key_(&mut h, 1, 1001, other_owner), Err(StakeError::BadConsensusKey.to_string()));
    let mut not_a_point = key;
    not_a_point.0[0] = 0x05;
    assert_eq!(set_key_(&mut h, 1, 1001, not_a_point), Err(StakeError::BadConsensusKey.to_string()));
    assert_eq!(consensus_key(&mut h, &addr(1001)), Ok(None));
    set_key_(&mut h, 1, 1001, key).unwrap();
    assert_eq!(consensus_key(&mut h, &addr(1001)), Ok(Some(key.0)));
    assert_eq!(set_key_(&mut h, 1, 1001, key), Err(StakeError::ConsensusKeyUnchanged.to_string()));
    // Another hotkey cannot take it, even with a proof the key made for it.
    assert_eq!(
        set_key_(&mut h, 2, 2001, consensus(7, &addr(2001))),
        Err(StakeError::ConsensusKeyTaken.to_string())
    );
    // Replaced by a new key; the old one stays bound to 1001.
    set_key_(&mut h, 1, 1001, consensus(8, &addr(1001))).unwrap();
    assert_eq!(
        set_key_(&mut h, 2, 2001, consensus(7, &addr(2001))),
        Err(StakeError::ConsensusKeyTaken.to_string())
    );
}

/// At an epoch the set is the top K root stakes with a consensus key and the minimum stake
/// (ties to the lower hotkey), power = root stake; an empty result, or a block off the epoch,
/// stores nothing; parameters are the chain's only and checked.
#[test]
fn the_set_is_the_top_root_stakes_with_a_key_at_each_epoch() {
    let mut h = setup();
    let params = ValidatorParams { max_validators: 2, min_stake: 10 * TAO, epoch: 5, min_validators: 1 };
    assert_eq!(
        call(&mut h, addr(1), 2, |h| set_validator_params(h, params)),
        Err(StakeError::NotSystem.to_string())
    );
    let bad = ValidatorParams { max_validators: 0, ..params };
    assert_eq!(
        call(&mut h, SYSTEM, 2, |h| set_validator_params(h, bad)),
        Err(StakeError::BadValidatorParams.to_string())
    );
    call(&mut h, SYSTEM, 2, |h| set_validator_params(h, params)).unwrap();
    // Three root hotkeys: 1001 and 2001 with 20 τ each (a tie), 3001 with 5 τ (below the minimum).
    call(&mut h, addr(3), 2, |h| Ok(neurons::burned_register(h, &addr(3), 1, &addr(3001))?)).unwrap();
    for (c, k, tao) in [(1, 1001, 20), (2, 2001, 20), (3, 3001, 5)] {
        add(&mut h, c, k, 0, tao * TAO, None).unwrap();
        call(&mut h, addr(c), 2, |h| root_register(h, &addr(c), &addr(k))).unwrap();
    }
    let epoch = |h: &mut MemoryHost, block: u64| {
        h.caller = SYSTEM;
        h.block_height = block;
        validator_epoch(h).unwrap()
    };
    assert_eq!(epoch(&mut h, 5), None, "no consensus keys: the set stays");
    assert!(h.get(&next_set_key()).is_none());
    let keys: Vec<_> = [(1, 1001, 1), (2, 2001, 2), (3, 3001, 3)]
        .into_iter()
        .map(|(c, k, seed)| {
            let key = consensus(seed, &addr(k));
            set_key_(&mut h, c, k, key).unwrap();
            key.0
        })
        .collect();
    assert_eq!(epoch(&mut h, 7), None, "not an epoch");
    let set = epoch(&mut h, 10).unwrap();
    let (low, high) = if addr(1001) < addr(2001) { (keys[0], keys[1]) } else { (keys[1], keys[0]) };
    assert_eq!(set, vec![(low, 20 * TAO), (high, 20 * TAO)]);
    let stored: Vec<Member> = tao_sdk::borsh::from_slice(&h.get(&next_set_key()).unwrap()).unwrap();
    assert_eq!(stored, set);
    let hash = tao_types::Hash(tao_types::keccak256(&tao_sdk::borsh::to_vec(&set).unwrap()));
    assert!(h.get(&set_key(&hash)).is_some(), "kept by its hash");
    // More stake on 2001 puts it first; K = 1 keeps only it.
    add(&mut h, 2, 2001, 0, 5 * TAO, None).unwrap();
    let one = ValidatorParams { max_validators: 1, ..params };
    call(&mut h, SYSTEM, 11, |h| set_validator_params(h, one)).unwrap();
    assert_eq!(epoch(&mut h, 15), Some(vec![(keys[1], 25 * TAO)]));
}

/// The minimum set size is checked with the other parameters (1..=K), and an epoch where fewer
/// root hotkeys qualify keeps the current set: nothing stored, an event saying how many
/// qualified and how many were needed.
#[test]
fn an_epoch_with_fewer_than_the_minimum_validators_keeps_the_set() {
    let mut h = setup();
    let params = ValidatorParams { max_validators: 3, min_stake: 10 * TAO, epoch: 5, min_validators: 2 };
    for min_validators in [0, 4] {
        assert_eq!(
            call(&mut h, SYSTEM, 2, |h| set_validator_params(
                h,
                ValidatorParams { min_validators, ..params }
            )),
            Err(StakeError::BadValidatorParams.to_string()),
            "min_validators {min_validators} with K 3"
        );
    }
    assert!(ValidatorParams { min_validators: 3, ..params }.is_valid(), "min_validators = K");
    call(&mut h, SYSTEM, 2, |h| set_validator_params(h, params)).unwrap();
    let seat = |h: &mut MemoryHost, c: u16, k: u16| {
        add(h, c, k, 0, 20 * TAO, None).unwrap();
        call(h, addr(c), 2, |h| root_register(h, &addr(c), &addr(k))).unwrap();
        set_key_(h, c, k, consensus(u8::try_from(c).unwrap(), &addr(k))).unwrap();
    };
    seat(&mut h, 1, 1001);
    let epoch = |h: &mut MemoryHost, block: u64| {
        h.caller = SYSTEM;
        h.block_height = block;
        h.run(&[], |h| validator_epoch(h).map(|set| h.output_as(&set)))
    };
    let kept = epoch(&mut h, 5);
    assert_eq!(kept.outcome, NativeOutcome::Ok);
    assert!(kept.writes.is_empty(), "nothing stored: {:?}", kept.writes.keys());
    assert_eq!(
        kept.events,
        vec![tao_sdk::Event {
            topic: b"validator_set_kept".to_vec(),
            data: tao_sdk::borsh::to_vec(&(1u16, 2u16)).unwrap()
        }]
    );
    seat(&mut h, 2, 2001);
    let taken = epoch(&mut h, 10);
    let set: Option<Vec<Member>> = tao_sdk::borsh::from_slice(&taken.output).unwrap();
    assert_eq!(set.map(|s| s.len()), Some(2), "two qualify: the set is taken");
    assert_eq!(taken.events.len(), 1);
    assert_eq!(taken.events[0].topic, b"validator_set".to_vec());
}

/// Hotkeys 2001..=2007 of coldkey 2 registered on subnet 1 (2001 by `setup`).
fn family() -> MemoryHost {
    let mut h = setup();
    call(&mut h, addr(2), 1, |h| {
        for k in 2002..=2007 {
            neurons::burned_register(h, &addr(2), 1, &addr(k))?;
        }
        Ok(())
    })
    .unwrap();
    h
}

fn set_kids(
    h: &mut MemoryHost,
    caller: u16,
    parent: u16,
    netuid: NetUid,
    block: u64,
    kids: &[(u64, u16)],
) -> Result<(), String> {
    let list: Vec<(u64, Address)> = kids.iter().map(|(p, k)| (*p, addr(*k))).collect();
    call(h, addr(caller), block, |h| set_children(h, &addr(caller), &addr(parent), netuid, list))
}

fn apply_due(h: &mut MemoryHost, netuid: NetUid, block: u64) {
    call(h, SYSTEM, block, |h| apply_pending_children(h, netuid)).unwrap();
}

#[test]
fn set_children_follows_subtensors_rules() {
    let mut h = family();
    let half = u64::MAX / 2;
    let refused = |h: &mut MemoryHost, caller, parent, netuid, kids: &[(u64, u16)], e: StakeError| {
        assert_eq!(set_kids(h, caller, parent, netuid, 10, kids), Err(e.to_string()), "{kids:?}");
    };
    refused(&mut h, 2, 2001, 0, &[(half, 2002)], StakeError::ChildrenOnRoot);
    refused(&mut h, 2, 2001, 9, &[(half, 2002)], StakeError::NoSuchSubnet(9));
    refused(&mut h, 1, 2001, 1, &[(half, 2002)], StakeError::NotHotkeyOwner);
    let six: Vec<(u64, u16)> = (2002..=2007).map(|k| (1, k)).collect();
    refused(&mut h, 2, 2001, 1, &six, StakeError::TooManyChildren { max: MAX_CHILDREN });
    refused(&mut h, 2, 2001, 1, &[(half, 2001)], StakeError::InvalidChild);
    refused(&mut h, 2, 2001, 1, &[(half, 2002), (1, 2002)], StakeError::InvalidChild);
    refused(&mut h, 2, 2001, 1, &[(0, 2002)], StakeError::InvalidChild);
    refused(&mut h, 2, 2001, 1, &[(u64::MAX, 2002), (1, 2003)], StakeError::ProportionsTooLarge);
    refused(&mut h, 2, 2001, 1, &[(half, 2999)], StakeError::UnknownHotkey);
    call(&mut h, SYSTEM, 10, |h| set_stake_threshold(h, TAO)).unwrap();
    refused(&mut h, 2, 2001, 1, &[(half, 2002)], StakeError::ParentStakeTooLow { have: 0, need: TAO });
    call(&mut h, SYSTEM, 10, |h| set_stake_threshold(h, 0)).unwrap();
    assert_eq!(pending_children(&mut h, &addr(2001), 1), Ok(None), "nothing written by a refusal");

    // Accepted: pending until an epoch at or after the cooldown, then in force both ways.
    set_kids(&mut h, 2, 2001, 1, 10, &[(half, 2002), (u64::MAX - half, 2003)]).unwrap();
    let due = 10 + CHILDREN_COOLDOWN;
    assert_eq!(pending_children(&mut h, &addr(2001), 1).unwrap().unwrap().due, due);
    refused(&mut h, 2, 2001, 1, &[(half, 2002)], StakeError::RateLimited { until: 10 + CHILDREN_RATE_LIMIT });
    // Renewed after the rate limit, the set keeps its due block (no pending slot held forever).
    let kids = [(half, 2002), (u64::MAX - half, 2003)];
    set_kids(&mut h, 2, 2001, 1, 10 + CHILDREN_RATE_LIMIT, &kids).unwrap();
    assert_eq!(pending_children(&mut h, &addr(2001), 1).unwrap().unwrap().due, due);
    assert_eq!(
        call(&mut h, addr(2), due, |h| apply_pending_children(h, 1)),
        Err(StakeError::NotSystem.to_string())
    );
    apply_due(&mut h, 1, due - 1);
    assert_eq!(children(&mut h, &addr(2001), 1), Ok(vec![]), "not before the cooldown");
    apply_due(&mut h, 1, due);
    assert_eq!(children(&mut h, &addr(2001), 1), Ok(vec![(half, addr(2002)), (u64::MAX - half, addr(2003))]));
    assert_eq!(parents(&mut h, &addr(2002), 1), Ok(vec![(half, addr(2001))]));
    assert_eq!(pending_children(&mut h, &addr(2001), 1), Ok(None));

    // Loops are refused, directly and through a grandchild.
    refused(&mut h, 2, 2002, 1, &[(half, 2001)], StakeError::ChildLoop);
    set_kids(&mut h, 2, 2002, 1, 10, &[(half, 2004)]).unwrap();
    apply_due(&mut h, 1, due + 1);
    refused(&mut h, 2, 2004, 1, &[(half, 2001)], StakeError::ChildLoop);

    // An empty list revokes every child, and the children's parent lists follow.
    set_kids(&mut h, 2, 2001, 1, due, &[]).unwrap();
    apply_due(&mut h, 1, due + CHILDREN_COOLDOWN);
    assert_eq!(children(&mut h, &addr(2001), 1), Ok(vec![]));
    assert_eq!(parents(&mut h, &addr(2002), 1), Ok(vec![]));
    assert_eq!(parents(&mut h, &addr(2004), 1), Ok(vec![(half, addr(2002))]), "others' relations stay");
}

#[test]
fn inherited_stake_is_own_less_lent_plus_borrowed() {
    let mut h = family();
    add(&mut h, 2, 2001, 1, 100 * TAO, None).unwrap();
    add(&mut h, 3, 2002, 1, 40 * TAO, None).unwrap();
    let quarter = u64::MAX / 4;
    set_kids(&mut h, 2, 2001, 1, 10, &[(quarter, 2002)]).unwrap();
    apply_due(&mut h, 1, 10 + CHILDREN_COOLDOWN);
    let (a, b) = (pool(&mut h, &addr(2001), 1).unwrap().stake, pool(&mut h, &addr(2002), 1).unwrap().stake);
    let lent = (u128::from(a) * u128::from(quarter) / u128::from(u64::MAX)) as u64;
    assert_eq!(epoch_stake(&mut h, &addr(2001), 1), Ok(a - lent));
    assert_eq!(epoch_stake(&mut h, &addr(2002), 1), Ok(b + lent));
    assert_eq!(epoch_stake(&mut h, &addr(2003), 1), Ok(0));
}

#[test]
fn childkey_take_is_the_owners_within_bounds_and_rate_limited() {
    let mut h = family();
    let set = |h: &mut MemoryHost, c: u16, block, take| {
        call(h, addr(c), block, |h| set_childkey_take(h, &addr(c), &addr(2002), 1, take))
    };
    assert_eq!(childkey_take(&mut h, &addr(2002), 1), Ok(0), "subtensor's default");
    assert_eq!(set(&mut h, 1, 5, 100), Err(StakeError::NotHotkeyOwner.to_string()));
    assert_eq!(set(&mut h, 2, 5, MAX_TAKE + 1), Err(StakeError::TakeTooHigh.to_string()));
    set(&mut h, 2, 5, 5_898).unwrap();
    assert_eq!(childkey_take(&mut h, &addr(2002), 1), Ok(5_898));
    set(&mut h, 2, 6, 1_000).unwrap();
    assert_eq!(
        set(&mut h, 2, 7, 2_000),
        Err(StakeError::RateLimited { until: 5 + TAKE_INCREASE_RATE_LIMIT }.to_string())
    );
    assert_eq!(childkey_take(&mut h, &addr(2002), 2), Ok(0), "per subnet");
}

#[test]
fn a_hotkey_swap_moves_everything_and_leaves_the_old_key_nothing() {
    let mut h = family();
    add(&mut h, 2, 2001, 1, 100 * TAO, None).unwrap();
    add(&mut h, 3, 2001, 1, 50 * TAO, None).unwrap();
    call(&mut h, addr(2), 5, |h| {
        root_register(h, &addr(2), &addr(2001))?;
        add_stake(h, &addr(2), &addr(2001), 0, 10 * TAO, None)?;
        set_take(h, &addr(2), &addr(2001), 1_000)?;
        set_childkey_take(h, &addr(2), &addr(2001), 1, 2_000)
    })
    .unwrap();
    set_kids(&mut h, 2, 2001, 1, 6, &[(u64::MAX / 2, 2002)]).unwrap();
    apply_due(&mut h, 1, 6 + CHILDREN_COOLDOWN);
    set_kids(&mut h, 2, 2003, 1, 7, &[(u64::MAX / 3, 2001)]).unwrap();
    let (old, new) = (addr(2001), addr(2999));
    let key = consensus(9, &old);
    set_key_(&mut h, 2, 2001, key).unwrap();
    let before: Vec<u64> = [2u16, 3].iter().map(|c| stake_of_(&mut h, *c, 2001, 1)).collect();
    let root_before = stake_of_(&mut h, 2, 2001, 0);
    let uid = neurons::uid_of(&mut h, 1, &old).unwrap().unwrap();
    let (balance, issuance) = (token::balance(&mut h, &addr(2)).unwrap(), token::issuance(&mut h).unwrap());
    let swap = |h: &mut MemoryHost, c: u16, to: Address, block| {
        call(h, addr(c), block, |h| swap_hotkey(h, &addr(c), &old, &to))
    };

    // Refused, nothing changed: another coldkey, a hotkey in use.
    assert_eq!(swap(&mut h, 3, new, 400), Err(StakeError::NotHotkeyOwner.to_string()));
    assert_eq!(swap(&mut h, 2, addr(2002), 400), Err(StakeError::HotkeyInUse.to_string()));
    assert_eq!(swap(&mut h, 2, old, 400), Err(StakeError::HotkeyInUse.to_string()));
    assert_eq!(stake_of_(&mut h, 3, 2001, 1), before[1]);

    swap(&mut h, 2, new, 400).unwrap();
    assert_eq!(token::balance(&mut h, &addr(2)), Ok(balance - HOTKEY_SWAP_COST));
    assert_eq!(token::issuance(&mut h), Ok(issuance - HOTKEY_SWAP_COST), "recycled");
    for (c, had) in [2u16, 3].iter().zip(&before) {
        assert_eq!(stake_of_(&mut h, *c, 2999, 1), *had);
        assert_eq!(stake_of_(&mut h, *c, 2001, 1), 0);
    }
    assert_eq!(stake_of_(&mut h, 2, 2999, 0), root_before);
    assert_eq!(pool(&mut h, &old, 1), Ok(Pool::default()));
    assert_eq!(position_list(&mut h, &addr(3)), Ok(vec![(new, 1)]));
    assert_eq!(neurons::uid_of(&mut h, 1, &new), Ok(Some(uid)));
    assert_eq!(neurons::uid_of(&mut h, 1, &old), Ok(None));
    assert_eq!(neurons::neuron(&mut h, 1, uid).unwrap().unwrap().hotkey, new);
    assert_eq!(root_list(&mut h).unwrap()[0].1, new, "the root seat follows");
    assert_eq!(
        (neurons::hotkey_owner(&mut h, &new), neurons::hotkey_owner(&mut h, &old)),
        (Ok(Some(addr(2))), Ok(None))
    );
    assert_eq!((take(&mut h, &new), take(&mut h, &old)), (Ok(1_000), Ok(MAX_TAKE)));
    assert_eq!((consensus_key(&mut h, &new), consensus_key(&mut h, &old)), (Ok(Some(key.0)), Ok(None)));
    let (_, proof) = consensus(9, &new);
    assert_eq!(
        set_key_(&mut h, 2, 2999, (key.0, proof)),
        Err(StakeError::ConsensusKeyUnchanged.to_string()),
        "the key now serves the new hotkey"
    );
    assert_eq!((childkey_take(&mut h, &new, 1), childkey_take(&mut h, &old, 1)), (Ok(2_000), Ok(0)));
    assert_eq!(children(&mut h, &new, 1), Ok(vec![(u64::MAX / 2, addr(2002))]));
    assert_eq!(parents(&mut h, &addr(2002), 1), Ok(vec![(u64::MAX / 2, new)]));
    assert_eq!(children(&mut h, &old, 1), Ok(vec![]));
    let pending = pending_children(&mut h, &addr(2003), 1).unwrap().unwrap();
    assert_eq!(pending.children.into_inner(), vec![(u64::MAX / 3, new)], "pending sets name the new key");
    assert_eq!(
        swap(&mut h, 2, addr(2998), 1_400),
        Err(StakeError::NotHotkeyOwner.to_string()),
        "old is gone"
    );
    assert_eq!(
        call(&mut h, addr(2), 401, |h| swap_hotkey(h, &addr(2), &new, &addr(2998))),
        Err(StakeError::RateLimited { until: 400 + HOTKEY_SWAP_RATE_LIMIT }.to_string())
    );
}

mod slashing;
