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
        subnets::register_network(h, &addr(1), &addr(1001), SubnetIdentity::default())?;
        neurons::burned_register(h, &addr(1), 1, &addr(1001))?;
        Ok(neurons::burned_register(h, &addr(2), 1, &addr(2001))?)
    })
    .unwrap();
    h
}

fn stake_of_(h: &mut MemoryHost, coldkey: u16, hotkey: u16, netuid: NetUid) -> u64 {
    stake_of(h, &addr(coldkey), &addr(hotkey), netuid).unwrap()
}

#[test]
fn add_and_remove_with_checks() {
    let mut h = setup();
    let err = |r: Result<(), String>| r.unwrap_err();
    assert_eq!(
        err(call(&mut h, addr(2), 2, |h| add_stake(h, &addr(2), &addr(1001), 1, MIN_STAKE - 1))),
        StakeError::BelowMinimum { amount: MIN_STAKE - 1 }.to_string()
    );
    assert_eq!(
        err(call(&mut h, addr(2), 2, |h| add_stake(h, &addr(2), &addr(1001), 9, TAO))),
        StakeError::NoSuchSubnet(9).to_string()
    );
    assert_eq!(
        err(call(&mut h, addr(2), 2, |h| add_stake(h, &addr(2), &addr(7777), 1, TAO))),
        StakeError::UnknownHotkey.to_string()
    );
    let before = token::balance(&mut h, &addr(2)).unwrap();
    call(&mut h, addr(2), 2, |h| add_stake(h, &addr(2), &addr(1001), 1, 10 * TAO)).unwrap();
    assert_eq!(stake_of_(&mut h, 2, 1001, 1), 10 * TAO);
    assert_eq!(token::balance(&mut h, &addr(2)), Ok(before - 10 * TAO));
    assert_eq!(
        err(call(&mut h, addr(2), 3, |h| remove_stake(h, &addr(2), &addr(1001), 1, 11 * TAO))),
        StakeError::NotEnoughStake { have: 10 * TAO, need: 11 * TAO }.to_string()
    );
    assert_eq!(
        err(call(&mut h, addr(2), 3, |h| remove_stake(h, &addr(2), &addr(1001), 1, 1_000))),
        StakeError::BelowMinimum { amount: 1_000 }.to_string()
    );
    call(&mut h, addr(2), 3, |h| remove_stake(h, &addr(2), &addr(1001), 1, 4 * TAO)).unwrap();
    call(&mut h, addr(2), 3, |h| remove_stake(h, &addr(2), &addr(1001), 1, 6 * TAO)).unwrap();
    assert_eq!(token::balance(&mut h, &addr(2)), Ok(before));
    assert_eq!(total_stake(&mut h), Ok(0));
    assert_eq!(pool(&mut h, &addr(1001), 1), Ok(Pool::default()));
}

#[test]
fn dividends_take_to_owner_and_grow_nominators_pro_rata() {
    let mut h = setup();
    call(&mut h, addr(1), 2, |h| add_stake(h, &addr(1), &addr(1001), 1, 100 * TAO)).unwrap();
    call(&mut h, addr(2), 2, |h| add_stake(h, &addr(2), &addr(1001), 1, 300 * TAO)).unwrap();
    call(&mut h, SYSTEM, 3, |h| distribute_dividend(h, &addr(1001), 1, 100 * TAO)).unwrap();
    let take = 100 * TAO * u64::from(MAX_TAKE) / 65_535;
    let rest = 100 * TAO - take;
    // The nominator's 300 of 400 gains three quarters of the rest.
    let nominator = stake_of_(&mut h, 2, 1001, 1);
    assert!(nominator.abs_diff(300 * TAO + rest * 3 / 4) <= 1, "{nominator}");
    let owner = stake_of_(&mut h, 1, 1001, 1);
    assert!(owner.abs_diff(100 * TAO + rest / 4 + take) <= 2, "{owner}");
    assert_eq!(total_stake(&mut h), Ok(500 * TAO));
    assert_eq!(
        call(&mut h, addr(1), 4, |h| distribute_dividend(h, &addr(1001), 1, 1)),
        Err(StakeError::NotSystem.to_string())
    );
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

#[test]
fn move_transfer_and_unstake_all() {
    let mut h = setup();
    call(&mut h, addr(2), 2, |h| add_stake(h, &addr(2), &addr(1001), 1, 50 * TAO)).unwrap();
    call(&mut h, addr(2), 3, |h| {
        let from = Position { coldkey: addr(2), hotkey: addr(1001), netuid: 1 };
        relocate_stake(h, &from, &Position { hotkey: addr(2001), ..from }, 20 * TAO)
    })
    .unwrap();
    assert_eq!((stake_of_(&mut h, 2, 1001, 1), stake_of_(&mut h, 2, 2001, 1)), (30 * TAO, 20 * TAO));
    call(&mut h, addr(1), 4, |h| Ok(subnets::set_hyperparameter(h, &addr(1), 1, id::TRANSFER_TOGGLE, 0)?))
        .unwrap();
    let gift = |h: &mut MemoryHost| {
        let from = Position { coldkey: addr(2), hotkey: addr(2001), netuid: 1 };
        relocate_stake(h, &from, &Position { coldkey: addr(3), ..from }, 5 * TAO)
    };
    assert_eq!(call(&mut h, addr(2), 5, gift), Err(StakeError::TransfersDisabled(1).to_string()));
    call(&mut h, SYSTEM, 5, |h| Ok(subnets::set_hyperparameter(h, &SYSTEM, 1, id::TRANSFER_TOGGLE, 1)?))
        .unwrap();
    call(&mut h, addr(2), 6, gift).unwrap();
    assert_eq!(stake_of_(&mut h, 3, 2001, 1), 5 * TAO);
    let before = token::balance(&mut h, &addr(2)).unwrap();
    call(&mut h, addr(2), 7, |h| unstake_all(h, &addr(2))).unwrap();
    assert_eq!(token::balance(&mut h, &addr(2)), Ok(before + 45 * TAO));
    assert_eq!(positions(&mut h, &addr(2)), Ok(Vec::new()));
}

#[derive(Debug, Clone)]
enum Op {
    Add(u16, u16, u64),
    Remove(u16, u16, u64),
    Move(u16, u16, u16, u64),
    Transfer(u16, u16, u16, u64),
    UnstakeAll(u16),
    Dividend(u16, u64),
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

proptest! {
    /// After any sequence: Σ balances + Σ stake + subnet locks + burned = issuance + dividends paid
    /// in, the pools never owe more than they hold, and nothing panics.
    #[test]
    fn conservation(ops in proptest::collection::vec(arb_op(), 1..40)) {
        let mut h = setup();
        let mut paid_in = 0u128;
        for (i, op) in ops.into_iter().enumerate() {
            let b = 10 + i as u64;
            let _ = match op {
                Op::Add(c, k, a) => call(&mut h, addr(c), b, |h| add_stake(h, &addr(c), &addr(k), 1, a)),
                Op::Remove(c, k, a) => call(&mut h, addr(c), b, |h| remove_stake(h, &addr(c), &addr(k), 1, a)),
                Op::Move(c, f, t, a) => call(&mut h, addr(c), b, |h| {
                    let from = Position { coldkey: addr(c), hotkey: addr(f), netuid: 1 };
                    relocate_stake(h, &from, &Position { hotkey: addr(t), ..from }, a)
                }),
                Op::Transfer(c, d, k, a) => call(&mut h, addr(c), b, |h| {
                    let from = Position { coldkey: addr(c), hotkey: addr(k), netuid: 1 };
                    relocate_stake(h, &from, &Position { coldkey: addr(d), ..from }, a)
                }),
                Op::UnstakeAll(c) => call(&mut h, addr(c), b, |h| unstake_all(h, &addr(c))),
                Op::Dividend(k, a) => {
                    let r = call(&mut h, SYSTEM, b, |h| distribute_dividend(h, &addr(k), 1, a));
                    if r.is_ok() { paid_in += u128::from(a); }
                    r
                }
            };
            let balances: u128 = (1..4u16).map(|c| u128::from(token::balance(&mut h, &addr(c)).unwrap())).sum();
            let staked = u128::from(total_stake(&mut h).unwrap());
            let locked = u128::from(subnets::total_locked(&mut h).unwrap());
            let burned = u128::from(token::burned(&mut h).unwrap());
            let issued = u128::from(token::issuance(&mut h).unwrap());
            prop_assert_eq!(balances + staked + locked + burned, issued + paid_in);
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
