use super::*;
use proptest::prelude::*;
use tao_sdk::{MemoryHost, NativeOutcome};

const TAO: u64 = RAO_PER_TAO;

fn addr(n: u8) -> Address {
    Address([n; 20])
}

/// Runs `f` as one call by `caller` at `block`, like a transaction; returns the error text.
fn call<T>(
    host: &mut MemoryHost,
    caller: Address,
    block: u64,
    f: impl FnOnce(&mut MemoryHost) -> Result<T, SubnetError>,
) -> Result<(), String> {
    host.caller = caller;
    host.block_height = block;
    match host.run(&[], |h| f(h).map(|_| ())).outcome {
        NativeOutcome::Ok => Ok(()),
        NativeOutcome::Abort(m) | NativeOutcome::HostError(m) => Err(m),
    }
}

fn funded(accounts: &[(u8, u64)]) -> MemoryHost {
    let mut h = MemoryHost::new();
    for (who, amount) in accounts {
        call(&mut h, SYSTEM, 0, |h| Ok(token::mint(h, &addr(*who), *amount)?)).unwrap();
    }
    h
}

fn register(h: &mut MemoryHost, who: u8, block: u64) -> Result<(), String> {
    call(h, addr(who), block, |h| create_network(h, &addr(who), &addr(who + 100), SubnetIdentity::default()))
}

#[test]
fn lock_cost_doubles_then_decays_to_the_minimum() {
    let mut h = funded(&[(1, 10_000 * TAO)]);
    assert_eq!(lock_cost(&mut h, 0), Ok(MIN_LOCK));
    register(&mut h, 1, 10).unwrap();
    assert_eq!(token::balance(&mut h, &addr(1)), Ok(9_000 * TAO));
    assert_eq!(lock_cost(&mut h, 10), Ok(2 * MIN_LOCK));
    // The decay per block is ⌊last_lock / interval⌋ rao.
    let per_block = MIN_LOCK / LOCK_REDUCTION_INTERVAL;
    assert_eq!(per_block, 9_920_634);
    assert_eq!(lock_cost(&mut h, 10 + 50_400), Ok(2 * MIN_LOCK - per_block * 50_400));
    assert_eq!(
        lock_cost(&mut h, 10 + LOCK_REDUCTION_INTERVAL),
        Ok(2 * MIN_LOCK - per_block * LOCK_REDUCTION_INTERVAL)
    );
    assert_eq!(lock_cost(&mut h, 10 + 2 * LOCK_REDUCTION_INTERVAL), Ok(MIN_LOCK));
    assert_eq!(lock_cost(&mut h, 10 + 5 * LOCK_REDUCTION_INTERVAL), Ok(MIN_LOCK));
}

#[test]
fn registration_assigns_netuids_and_enforces_limits() {
    let mut h = funded(&[(1, 10_000 * TAO), (2, 500 * TAO)]);
    register(&mut h, 1, 1).unwrap();
    assert_eq!(subnet(&mut h, 1).unwrap().unwrap().owner_hotkey, addr(101));
    assert_eq!(
        register(&mut h, 1, 2),
        Err(SubnetError::RateLimited { until: 1 + NETWORK_RATE_LIMIT }.to_string())
    );
    let err = register(&mut h, 2, 1 + NETWORK_RATE_LIMIT).unwrap_err();
    assert!(err.starts_with("insufficient balance"), "{err}");
    register(&mut h, 1, 1 + NETWORK_RATE_LIMIT).unwrap();
    assert_eq!(subnets(&mut h).unwrap().iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec![1, 2]);
    let second = 2 * MIN_LOCK - (MIN_LOCK / LOCK_REDUCTION_INTERVAL) * NETWORK_RATE_LIMIT;
    assert_eq!(pools::total_tao(&mut h), Ok(MIN_LOCK + second));
    let long = SubnetIdentity { name: "x".repeat(300), ..SubnetIdentity::default() };
    assert_eq!(
        call(&mut h, addr(1), 100_000, |h| create_network(h, &addr(1), &addr(1), long)),
        Err(SubnetError::IdentityTooLong.to_string())
    );
}

#[test]
fn the_chain_sets_the_network_rate_limit() {
    let mut h = funded(&[(1, 10_000 * TAO), (2, 10_000 * TAO)]);
    assert_eq!(
        call(&mut h, addr(1), 1, |h| set_network_rate_limit(h, &addr(1), 5)),
        Err(SubnetError::NotSystem.to_string())
    );
    call(&mut h, SYSTEM, 1, |h| set_network_rate_limit(h, &SYSTEM, 5)).unwrap();
    register(&mut h, 1, 1).unwrap();
    assert_eq!(register(&mut h, 2, 5), Err(SubnetError::RateLimited { until: 6 }.to_string()));
    register(&mut h, 2, 6).unwrap();
}

#[test]
fn hyperparameters_follow_ranges_owners_and_rate_limits() {
    let mut h = funded(&[(1, 10_000 * TAO)]);
    register(&mut h, 1, 1).unwrap();
    let tempo = params::id::TEMPO;
    let set = |h: &mut MemoryHost, who: Address, block: u64, id: u8, v: u64| {
        call(h, who, block, |h| set_hyperparameter(h, &who, 1, id, v))
    };
    assert_eq!(hyperparameter(&mut h, 1, tempo), Ok(360));
    set(&mut h, addr(1), 5, tempo, 720).unwrap();
    assert_eq!(hyperparameter(&mut h, 1, tempo), Ok(720));
    assert_eq!(
        set(&mut h, addr(1), 6, tempo, 500),
        Err(SubnetError::RateLimited { until: 5 + 1440 }.to_string())
    );
    // The scheduler records epochs; an owner change needs ≥ 10 blocks before the next one.
    let epoch_at = |h: &mut MemoryHost, block: u64| {
        call(h, SYSTEM, block, |h| {
            set_last_epoch(h, 1, block);
            Ok(())
        })
        .unwrap()
    };
    epoch_at(&mut h, 1_440);
    assert_eq!(
        set(&mut h, addr(1), 1_440 + 720 - 9, tempo, 500),
        Err(SubnetError::FreezeWindow { epoch_at: 2_160 }.to_string())
    );
    set(&mut h, addr(1), 1_440 + 720 - 10, tempo, 500).unwrap();
    epoch_at(&mut h, 9_990);
    // The weights version key waits five tempos (500 blocks now), not two.
    set(&mut h, addr(1), 9_991, params::id::WEIGHTS_VERSION_KEY, 7).unwrap();
    assert_eq!(
        set(&mut h, addr(1), 9_991 + 400, params::id::WEIGHTS_VERSION_KEY, 8),
        Err(SubnetError::RateLimited { until: 9_991 + 2_500 }.to_string())
    );
    assert_eq!(
        set(&mut h, addr(1), 9_999, 1, 10),
        Err(SubnetError::OutOfRange { name: "activity_cutoff_factor_milli", min: 1_000, max: 50_000 }
            .to_string())
    );
    assert_eq!(set(&mut h, addr(2), 9_999, 1, 2_000), Err(SubnetError::NotOwner.to_string()));
    assert_eq!(set(&mut h, addr(1), 9_999, 2, 100), Err(SubnetError::RootOnly("kappa").to_string()));
    set(&mut h, SYSTEM, 9_999, 2, 100).unwrap();
    assert_eq!(hyperparameter(&mut h, 1, 2), Ok(100));
    assert_eq!(
        set(&mut h, addr(1), 9_999, params::id::ALPHA_LOW, 60_000),
        Err(SubnetError::Unordered("alpha_low", "alpha_high").to_string())
    );
    assert_eq!(hyperparameter(&mut h, 1, params::id::ALPHA_LOW), Ok(45_875), "a failed call changes nothing");
    assert_eq!(set(&mut h, addr(1), 9_999, 200, 1), Err(SubnetError::UnknownParameter.to_string()));
}

#[test]
fn dissolve_clears_state_and_leaves_the_pool_to_staking() {
    let mut h = funded(&[(1, 10_000 * TAO)]);
    register(&mut h, 1, 1).unwrap();
    call(&mut h, addr(1), 2, |h| set_hyperparameter(h, &addr(1), 1, 6, 3)).unwrap();
    assert_eq!(
        call(&mut h, addr(1), 3, |h| dissolve(h, &addr(1), 1)),
        Err(SubnetError::NotSystem.to_string())
    );
    call(&mut h, SYSTEM, 3, |h| dissolve(h, &SYSTEM, 1)).unwrap();
    assert_eq!(token::balance(&mut h, &addr(1)), Ok(10_000 * TAO - MIN_LOCK));
    assert_eq!(subnet(&mut h, 1), Ok(None));
    assert_eq!(pools::pool(&mut h, 1).unwrap().map(|p| p.tao), Some(MIN_LOCK), "paid out by staking");
    assert!(h.storage.keys().all(|k| !k.starts_with(b"subnet/hp")), "parameters cleared");
    assert_eq!(
        call(&mut h, SYSTEM, 4, |h| dissolve(h, &SYSTEM, 1)),
        Err(SubnetError::NoSuchSubnet(1).to_string())
    );
}

#[derive(Debug, Clone)]
enum Op {
    Register(u8),
    Dissolve(u16),
    Transfer(u8, u8, u64),
    SetParam(u8, u16, u8, u64),
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1u8..4).prop_map(Op::Register),
        (0u16..5).prop_map(Op::Dissolve),
        (1u8..4, 1u8..4, 0u64..5_000 * TAO).prop_map(|(f, t, a)| Op::Transfer(f, t, a)),
        (0u8..4, 0u16..5, 0u8..32, any::<u64>()).prop_map(|(w, n, i, v)| Op::SetParam(w, n, i, v)),
    ]
}

proptest! {
    /// Σ balances + pool TAO = issuance after any sequence, every parameter stays in range, and no
    /// call panics.
    #[test]
    fn conservation_and_ranges(ops in proptest::collection::vec(arb_op(), 1..40)) {
        let mut h = funded(&[(1, 20_000 * TAO), (2, 3_000 * TAO), (3, 700)]);
        for (i, op) in ops.into_iter().enumerate() {
            let block = (i as u64) * 4_000;
            let _ = match op {
                Op::Register(w) => register(&mut h, w, block),
                Op::Dissolve(n) => call(&mut h, SYSTEM, block, |h| dissolve(h, &SYSTEM, n)),
                Op::Transfer(f, t, a) => call(&mut h, addr(f), block, |h| Ok(token::transfer(h, &addr(f), &addr(t), a, false)?)),
                Op::SetParam(w, n, id, v) => {
                    let who = if w == 0 { SYSTEM } else { addr(w) };
                    call(&mut h, who, block, |h| set_hyperparameter(h, &who, n, id, v))
                }
            };
            let balances: u128 = (0..4u8).map(|w| u128::from(token::balance(&mut h, &addr(w)).unwrap())).sum();
            let locked = u128::from(pools::total_tao(&mut h).unwrap());
            let issued = u128::from(token::issuance(&mut h).unwrap());
            let burned = u128::from(token::burned(&mut h).unwrap());
            prop_assert_eq!(balances + locked + burned, issued);
            let listed: u128 = subnets(&mut h).unwrap().iter().map(|(_, s)| u128::from(s.locked)).sum();
            prop_assert!(listed <= locked, "every live subnet's lock is in its pool");
            for (netuid, _) in subnets(&mut h).unwrap() {
                for (id, spec) in PARAMS.iter().enumerate() {
                    let v = hyperparameter(&mut h, netuid, id as u8).unwrap();
                    prop_assert!(spec.min <= v && v <= spec.max);
                }
            }
        }
    }
}

#[test]
fn owners_set_and_clear_their_incentive_module() {
    let mut h = funded(&[(1, 10_000 * TAO)]);
    register(&mut h, 1, 1).unwrap();
    let code = Hash([5; 32]);
    let set = |h: &mut MemoryHost, who: u8, module: Option<Hash>| {
        call(h, addr(who), 2, |h| set_incentive_module(h, &addr(who), 1, module))
    };
    assert_eq!(set(&mut h, 1, Some(code)), Err(SubnetError::NoSuchCode(code).to_string()));
    h.storage.insert([tao_abi::CODE_KEY_PREFIX, &code.0].concat(), vec![0, 97, 115, 109]);
    assert_eq!(set(&mut h, 2, Some(code)), Err(SubnetError::NotOwner.to_string()));
    set(&mut h, 1, Some(code)).unwrap();
    assert_eq!(incentive_module(&mut h, 1), Ok(Some(code)));
    set(&mut h, 1, None).unwrap();
    assert_eq!(incentive_module(&mut h, 1), Ok(None));
}
