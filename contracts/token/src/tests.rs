use super::*;
use proptest::prelude::*;
use tao_sdk::MemoryHost;

const TAO: u64 = RAO_PER_TAO;

fn addr(n: u8) -> Address {
    Address([n; 20])
}

/// Runs `f` as one call by `caller`, like a transaction.
fn call(
    host: &mut MemoryHost,
    caller: Address,
    f: impl FnOnce(&mut MemoryHost) -> Result<(), TokenError>,
) -> Result<(), String> {
    host.caller = caller;
    let run = host.run(&[], f);
    match run.outcome {
        tao_sdk::NativeOutcome::Ok => Ok(()),
        tao_sdk::NativeOutcome::Abort(m) | tao_sdk::NativeOutcome::HostError(m) => Err(m),
    }
}

#[test]
fn emission_halves_by_issuance() {
    assert_eq!(block_emission(0), TAO);
    assert_eq!(block_emission(10_500_000 * TAO - 1), TAO);
    assert_eq!(block_emission(10_500_000 * TAO), TAO / 2);
    assert_eq!(block_emission(15_750_000 * TAO - 1), TAO / 2);
    assert_eq!(block_emission(15_750_000 * TAO), TAO / 4);
    assert_eq!(block_emission(18_375_000 * TAO), TAO / 8);
    // ⌊10⁹ / 2^k⌋ reaches zero once 2^k > 10⁹, i.e. with under S / 2^30 ≈ 19.6M rao left.
    assert_eq!(block_emission(TOTAL_SUPPLY - 3), 0);
    assert_eq!(block_emission(TOTAL_SUPPLY - TOTAL_SUPPLY / (1 << 29)), 1);
    assert_eq!(block_emission(TOTAL_SUPPLY), 0);
    assert_eq!(block_emission(u64::MAX), 0);
    // 7200 blocks a day at 12 s: 7200 τ/day, then 3600.
    assert_eq!(block_emission(0) * 7200, 7200 * TAO);
    assert_eq!(block_emission(11_000_000 * TAO) * 7200, 3600 * TAO);
}

#[test]
fn existential_deposit_rules() {
    let mut h = MemoryHost::new();
    call(&mut h, SYSTEM, |h| mint(h, &addr(1), 1_000)).unwrap();
    // A new account must receive at least the deposit.
    assert_eq!(
        call(&mut h, addr(1), |h| transfer(h, &addr(1), &addr(2), 499, false)),
        Err(TokenError::BelowExistentialDeposit { amount: 499 }.to_string())
    );
    // Keep-alive refuses to leave dust; a plain transfer recycles it.
    assert_eq!(
        call(&mut h, addr(1), |h| transfer(h, &addr(1), &addr(2), 600, true)),
        Err(TokenError::KeepAlive { left: 400 }.to_string())
    );
    call(&mut h, addr(1), |h| transfer(h, &addr(1), &addr(2), 600, false)).unwrap();
    assert_eq!(balance(&mut h, &addr(1)), Ok(0));
    assert_eq!(balance(&mut h, &addr(2)), Ok(600));
    assert_eq!(issuance(&mut h), Ok(600), "the 400 rao of dust were recycled");
}

#[test]
fn typed_errors() {
    let mut h = MemoryHost::new();
    call(&mut h, SYSTEM, |h| mint(h, &addr(1), 10 * TAO)).unwrap();
    let err = |r: Result<(), String>| r.unwrap_err();
    assert_eq!(
        err(call(&mut h, addr(1), |h| transfer(h, &addr(1), &addr(2), 11 * TAO, false))),
        TokenError::InsufficientBalance { have: 10 * TAO, need: 11 * TAO }.to_string()
    );
    assert_eq!(
        err(call(&mut h, addr(1), |h| transfer(h, &addr(1), &addr(2), 0, false))),
        "amount must be positive"
    );
    assert_eq!(
        err(call(&mut h, addr(1), |h| transfer(h, &addr(1), &addr(1), 5, false))),
        "cannot transfer to yourself"
    );
    assert_eq!(err(call(&mut h, addr(1), entry_issue_block_emission)), "only the chain may call this");
    assert_eq!(
        err(call(&mut h, SYSTEM, |h| mint(h, &addr(3), TOTAL_SUPPLY))),
        "issuance would exceed 21,000,000 TAO"
    );
    // Nothing changed.
    assert_eq!((balance(&mut h, &addr(1)), issuance(&mut h)), (Ok(10 * TAO), Ok(10 * TAO)));
}

#[test]
fn recycle_lowers_issuance_and_burn_does_not() {
    let mut h = MemoryHost::new();
    call(&mut h, SYSTEM, |h| mint(h, &addr(1), 10 * TAO)).unwrap();
    call(&mut h, addr(1), |h| recycle(h, &addr(1), TAO)).unwrap();
    assert_eq!(issuance(&mut h), Ok(9 * TAO));
    call(&mut h, addr(1), |h| burn(h, &addr(1), TAO)).unwrap();
    assert_eq!(
        (issuance(&mut h), burned(&mut h), balance(&mut h, &addr(1))),
        (Ok(9 * TAO), Ok(TAO), Ok(8 * TAO))
    );
}

#[test]
fn fees_follow_the_schedule_and_holds_are_recycled() {
    assert_eq!(fee(200, 50_000), 200 * FEE_PER_BYTE + 50);
    assert_eq!(fee(0, 1), 1, "gas rounds up");
    assert_eq!(gas_for(200, fee(200, 50_000)), 50_000);
    assert_eq!(gas_for(200, 1), 0);
    assert_eq!(max_fee(200, fee(200, 50_000)), fee(200, 50_000));
    assert_eq!(max_fee(200, 1), 200 * FEE_PER_BYTE, "the bytes are charged even above the limit");
    assert_eq!(max_fee(200, u64::MAX), fee(200, MAX_TX_GAS), "never more than MAX_TX_GAS buys");
    let mut h = MemoryHost::new();
    call(&mut h, SYSTEM, |h| mint(h, &addr(1), TAO)).unwrap();
    assert_eq!(
        call(&mut h, addr(1), |h| charge_fee(h, &addr(1), 1_000)),
        Err("only the chain may call this".into())
    );
    call(&mut h, SYSTEM, |h| charge_fee(h, &addr(1), 1_000)).unwrap();
    assert_eq!((balance(&mut h, &addr(1)), issuance(&mut h)), (Ok(TAO - 1_000), Ok(TAO - 1_000)));
    assert_eq!(
        call(&mut h, SYSTEM, |h| charge_fee(h, &addr(2), 1)),
        Err(TokenError::InsufficientBalance { have: 0, need: 1 }.to_string())
    );
}

/// A hold refunded down to the fee of the gas used: the payer ends charged exactly the fee,
/// issuance falls by exactly the fee, and a refund above the hold, by anyone but the chain, or
/// one the closed account cannot take is refused or kept.
#[test]
fn a_refund_returns_the_unused_hold_and_never_more() {
    let mut h = MemoryHost::new();
    call(&mut h, SYSTEM, |h| mint(h, &addr(1), TAO)).unwrap();
    let (held, used) = (10_000_000, 2_500_000);
    call(&mut h, SYSTEM, |h| charge_fee(h, &addr(1), held)).unwrap();
    assert_eq!(
        call(&mut h, SYSTEM, |h| refund_fee(h, &addr(1), held, held + 1).map(drop)),
        Err(TokenError::RefundAboveHold { held, fee: held + 1 }.to_string())
    );
    assert_eq!(
        call(&mut h, addr(1), |h| refund_fee(h, &addr(1), held, 0).map(drop)),
        Err("only the chain may call this".into())
    );
    let mut refunded = 0;
    call(&mut h, SYSTEM, |h| {
        refunded = refund_fee(h, &addr(1), held, used)?;
        Ok(())
    })
    .unwrap();
    assert_eq!(refunded, held - used);
    assert_eq!((balance(&mut h, &addr(1)), issuance(&mut h)), (Ok(TAO - used), Ok(TAO - used)));

    // The hold closed the account (its dust recycled) and the refund is dust: it stays taken.
    call(&mut h, SYSTEM, |h| mint(h, &addr(2), 1_000)).unwrap();
    call(&mut h, SYSTEM, |h| charge_fee(h, &addr(2), 600)).unwrap();
    call(&mut h, SYSTEM, |h| {
        refunded = refund_fee(h, &addr(2), 600, 300)?;
        Ok(())
    })
    .unwrap();
    assert_eq!((refunded, balance(&mut h, &addr(2))), (0, Ok(0)));
    assert_eq!(issuance(&mut h), Ok(TAO - used), "the closed account's 1,000 rao all recycled");
}

#[derive(Debug, Clone)]
enum Op {
    Mint(u8, u64),
    Transfer(u8, u8, u64, bool),
    Recycle(u8, u64),
    Burn(u8, u64),
    Emit,
    /// A transaction's fee: `held` taken before the call, refunded down to `fee` after it.
    Fee(u8, u64, u64),
}

fn arb_op() -> impl Strategy<Value = Op> {
    let who = 0u8..4;
    let amount = prop_oneof![0u64..2_000, 0u64..100 * TAO, any::<u64>()];
    prop_oneof![
        (who.clone(), amount.clone()).prop_map(|(w, a)| Op::Mint(w, a)),
        (who.clone(), who.clone(), amount.clone(), any::<bool>())
            .prop_map(|(f, t, a, k)| Op::Transfer(f, t, a, k)),
        (who.clone(), amount.clone()).prop_map(|(w, a)| Op::Recycle(w, a)),
        (who.clone(), amount.clone()).prop_map(|(w, a)| Op::Burn(w, a)),
        (who, amount.clone(), amount).prop_map(|(w, h, f)| Op::Fee(w, h, f)),
        Just(Op::Emit),
    ]
}

proptest! {
    /// After any sequence of calls: issuance ≤ 21M τ, Σ balances = issuance − burned − emitted but
    /// undistributed, every balance is 0 or ≥ the deposit, and nothing panics.
    #[test]
    fn conservation_and_cap(ops in proptest::collection::vec(arb_op(), 1..60), start in prop_oneof![Just(0u64), Just(TOTAL_SUPPLY - 5 * TAO)]) {
        let mut h = MemoryHost::new();
        if start > 0 {
            ISSUANCE.save(&mut h, &start);
        }
        let mut undistributed = start;
        for op in ops {
            match op {
                Op::Mint(w, a) => { let _ = call(&mut h, SYSTEM, |h| mint(h, &addr(w), a)); }
                Op::Transfer(f, t, a, k) => { let _ = call(&mut h, addr(f), |h| transfer(h, &addr(f), &addr(t), a, k)); }
                Op::Recycle(w, a) => { let _ = call(&mut h, addr(w), |h| recycle(h, &addr(w), a)); }
                Op::Burn(w, a) => { let _ = call(&mut h, addr(w), |h| burn(h, &addr(w), a)); }
                Op::Fee(w, held, fee) => {
                    let before = balance(&mut h, &addr(w)).unwrap();
                    if call(&mut h, SYSTEM, |h| charge_fee(h, &addr(w), held)).is_ok() {
                        let _ = call(&mut h, SYSTEM, |h| refund_fee(h, &addr(w), held, fee).map(drop));
                        let after = balance(&mut h, &addr(w)).unwrap();
                        prop_assert!(before - after >= fee.min(held), "never charged less than the fee");
                        prop_assert!(before - after <= held || after == 0, "never more than the hold, but dust");
                    }
                }
                Op::Emit => {
                    let mut emitted = 0;
                    if call(&mut h, SYSTEM, |h| { emitted = issue_block_emission(h)?; Ok(()) }).is_ok() {
                        undistributed += emitted;
                    }
                }
            }
            let issued = issuance(&mut h).unwrap();
            prop_assert!(issued <= TOTAL_SUPPLY);
            let balances: u128 = (0..4u8).map(|w| u128::from(balance(&mut h, &addr(w)).unwrap())).sum();
            for w in 0..4u8 {
                let b = balance(&mut h, &addr(w)).unwrap();
                prop_assert!(b == 0 || b >= EXISTENTIAL_DEPOSIT);
            }
            let burned = u128::from(burned(&mut h).unwrap());
            prop_assert_eq!(balances + burned + u128::from(undistributed), u128::from(issued));
        }
    }

    #[test]
    fn emission_never_passes_the_cap(issued in 0..=TOTAL_SUPPLY) {
        let e = block_emission(issued);
        prop_assert!(issued + e <= TOTAL_SUPPLY);
        prop_assert!(e <= BASE_EMISSION);
        // e = ⌊10⁹ / 2^k⌋ for the k with 2^k ≤ S / remaining < 2^(k+1).
        let (s, r) = (u128::from(TOTAL_SUPPLY), u128::from(TOTAL_SUPPLY - issued));
        let k = (0..64u32).find(|k| (r << k) <= s && (r << (k + 1)) > s);
        prop_assert_eq!(e, k.map_or(0, |k| BASE_EMISSION.checked_shr(k).unwrap_or(0)));
    }
}
