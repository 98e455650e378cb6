#![allow(clippy::unwrap_used, reason = "tests")]

use proptest::prelude::*;
use tao_sdk::MemoryHost;

use super::*;

const TAO: u64 = 1_000_000_000;

fn subnet(tao: u64, alpha_in: u64) -> SubnetPool {
    SubnetPool { tao, alpha_in, ..SubnetPool::default() }
}

/// Q64.64 of `num / den`.
fn q(num: u128, den: u128) -> u128 {
    (num << 64) / den
}

/// subtensor `swap/tests.rs::test_swap_basic`: 1e9 TAO against 4e9 alpha, output
/// x·Δnet/(y + Δnet) with the fee taken from the input first.
#[test]
fn swap_basic() {
    let pool = subnet(TAO, 4 * TAO);
    let swap = quote(&pool, 1, Side::Buy, TAO / 10).unwrap();
    assert_eq!(swap.fee, 50_355, "⌈1e8 · 33 / 65535⌉");
    let net = u128::from(TAO / 10 - swap.fee);
    assert_eq!(u128::from(swap.output), 4 * u128::from(TAO) * net / (u128::from(TAO) + net));
    assert_eq!((swap.tao_after, swap.alpha_after), (TAO + TAO / 10, 4 * TAO - swap.output));
    let back = quote(&pool, 1, Side::Sell, swap.output).unwrap();
    assert!(back.output < TAO / 10, "a round trip at the same state loses the fees");
}

#[test]
fn swap_bounds_are_typed_errors() {
    let pool = subnet(10 * TAO, 10 * TAO);
    assert_eq!(quote(&pool, 1, Side::Buy, 0), Err(PoolError::ZeroAmount));
    assert_eq!(
        quote(&pool, 1, Side::Buy, 10_000 * TAO + 1),
        Err(PoolError::InputTooLarge { amount: 10_000 * TAO + 1, max: 10_000 * TAO })
    );
    assert_eq!(quote(&subnet(10 * TAO, 1_000_500), 1, Side::Buy, 10 * TAO), Err(PoolError::ReserveDrained));
    assert_eq!(quote(&pool, 1, Side::Buy, 1), Err(PoolError::NothingOut));
}

#[test]
fn root_is_one_to_one_without_fee() {
    let root = SubnetPool { tao: 5 * TAO, ..SubnetPool::default() };
    let buy = quote(&root, ROOT, Side::Buy, 3 * TAO).unwrap();
    assert_eq!((buy.output, buy.fee, buy.tao_after), (3 * TAO, 0, 8 * TAO));
    let sell = quote(&root, ROOT, Side::Sell, 5 * TAO).unwrap();
    assert_eq!((sell.output, sell.tao_after), (5 * TAO, 0));
    assert_eq!(root.spot_price(ROOT), ONE);
}

/// subtensor `coinbase.rs`: moving prices 0.1 and 0.2 receive 1/3 and 2/3 of the injected TAO.
#[test]
fn emission_split_follows_moving_prices() {
    let shares = split_by_price(100_000_000, &[q(1, 10), q(2, 10)]);
    assert_eq!(shares, vec![33_333_334, 66_666_666]);
    assert_eq!(split_by_price(10, &[0, 0, 0]), vec![4, 3, 3], "no prices yet: equal shares");
    assert!(split_by_price(10, &[]).is_empty());
}

/// subtensor `coinbase.rs::test_update_moving_price_after_time`: with a moving alpha of 0.1 at
/// 201,600 blocks (step 0.05), 14 updates towards a spot of 1 from 0 give 1 − 0.95¹⁴ = 0.512325.
#[test]
fn moving_price_warm_up() {
    let step = moving_step(q(1, 10), 201_600);
    assert!(step.abs_diff(q(5, 100)) <= 1);
    let moving = (0..14).fold(0, |p, _| next_moving_price(p, ONE, step));
    let expected = q(512_325, 1_000_000);
    assert!(moving.abs_diff(expected) < q(1, 1_000_000), "{moving} vs {expected}");
    assert_eq!(moving_step(MOVING_ALPHA, 0), 0, "a new subnet's price does not move at once");
    assert_eq!(next_moving_price(ONE, 50 * ONE, step), ONE, "spot is capped at 1");
}

#[test]
fn new_pools_start_at_the_median_price() {
    let mut h = MemoryHost::new();
    let first = create(&mut h, 1, 100 * TAO, 0).unwrap();
    assert_eq!(first.alpha_in, 100 * TAO, "no other subnet: 1 TAO per alpha");
    POOLS.save(&mut h, &2, &subnet(200 * TAO, 100 * TAO));
    POOLS.save(&mut h, &3, &subnet(400 * TAO, 100 * TAO));
    let fourth = create(&mut h, 4, 100 * TAO, 7).unwrap();
    assert_eq!((fourth.tao, fourth.alpha_in, fourth.created_at), (100 * TAO, 50 * TAO, 7));
    assert_eq!(create(&mut h, 4, TAO, 8), Err(PoolError::PoolExists(4)));
    assert_eq!(total_tao(&mut h), Ok(800 * TAO));
    assert_eq!(close(&mut h, 4).unwrap().tao, 100 * TAO);
    assert_eq!(pool(&mut h, 4), Ok(None));
    assert_eq!(pool(&mut h, ROOT), Ok(Some(SubnetPool::default())), "root always has a pool");
}

#[test]
fn coinbase_caps_alpha_at_the_emission_and_keeps_the_ledger() {
    let mut h = MemoryHost::new();
    create(&mut h, 1, 1_000 * TAO, 0).unwrap();
    // Price 1: 0.4 TAO buys 0.4 alpha of reserve, below the 1 alpha emission.
    let e = emit_block(&mut h, 1, 4 * TAO / 10, 11_796, 0, 1).unwrap();
    assert_eq!((e.tao_in, e.alpha_in, e.excess_tao, e.alpha_out), (4 * TAO / 10, 4 * TAO / 10, 0, TAO));
    let p = pool(&mut h, 1).unwrap().unwrap();
    assert_eq!(p.spot_price(1), ONE, "injection keeps the price");
    assert_eq!(p.pending + p.pending_owner, TAO);
    assert_eq!(e.owner, (u128::from(TAO) * 11_796 / 65_535) as u64);
    assert!(p.moving_price > 0);
    // A cheap pool: 2 TAO would need more alpha than one block emits; the rest is excess.
    POOLS.save(&mut h, &1, &subnet(TAO, 10 * TAO));
    let e = emit_block(&mut h, 1, 2 * TAO, 0, 0, 2).unwrap();
    assert_eq!((e.alpha_in, e.tao_in, e.excess_tao), (TAO, TAO / 10, 2 * TAO - TAO / 10));
    assert_eq!(e.owner, 0);
}

#[test]
fn root_stakers_take_root_prop_of_the_validators_half() {
    let mut h = MemoryHost::new();
    create(&mut h, 1, 1_000 * TAO, 0).unwrap();
    let before = pool(&mut h, 1).unwrap().unwrap();
    // w·τ = 1,000 τ against 1,000 α of issuance: RootProp ½ of the non-owner half.
    let e = emit_block(&mut h, 1, 0, 11_796, 1_000 * TAO, 1).unwrap();
    let rest = e.alpha_out - e.owner;
    let p = pool(&mut h, 1).unwrap().unwrap();
    assert_eq!(p.pending_root, rest / 2 / 2);
    assert_eq!(root_part(&before, rest, 1_000 * TAO), rest / 4);
    assert_eq!(root_part(&before, rest, 0), 0, "no root stake, no root part");
    assert_eq!(root_part(&SubnetPool::default(), rest, 0), 0);
    settle_epoch(&mut h, 1, 7).unwrap();
    assert_eq!(pool(&mut h, 1).unwrap().unwrap().pending_root, 0, "an epoch pays or releases it");
}

fn arb_pool() -> impl Strategy<Value = SubnetPool> {
    (MIN_RESERVE * 2..1_000_000 * TAO, MIN_RESERVE * 2..1_000_000 * TAO).prop_map(|(t, a)| subnet(t, a))
}

/// (y', x') does not lower y/x, and one more alpha would.
fn price_neutral(before: &SubnetPool, tao_in: u64, alpha_in: u64) -> bool {
    let (y, x) = (u128::from(before.tao), u128::from(before.alpha_in));
    let (y1, x1) = (y + u128::from(tao_in), x + u128::from(alpha_in));
    y1 * x >= y * x1 && (y1 * x < y * (x1 + 1) || (y1 - 1) * x < y * x1)
}

proptest! {
    /// No sequence of swaps creates value: x·y never falls, and a trader who ends by selling all
    /// the alpha bought never ends with more TAO than at the start.
    #[test]
    fn swaps_never_create_value(
        start in arb_pool(),
        trades in proptest::collection::vec((any::<bool>(), 1u64..u64::MAX), 1..40),
    ) {
        let mut pool = start;
        let (budget, mut tao, mut alpha) = (1_000 * TAO, 1_000 * TAO, 0u64);
        for (buy, pick) in trades {
            let k = u128::from(pool.tao) * u128::from(pool.alpha_in);
            let (side, held) = if buy { (Side::Buy, tao) } else { (Side::Sell, alpha) };
            let Some(swap) = quote(&pool, 1, side, pick % held.max(1) + 1).ok().filter(|s| s.input <= held) else {
                continue;
            };
            let (tao_total, alpha_total) = (pool.tao + tao, pool.alpha_in + alpha);
            if buy { tao -= swap.input; alpha += swap.output } else { alpha -= swap.input; tao += swap.output }
            prop_assert_eq!((swap.tao_after + tao, swap.alpha_after + alpha), (tao_total, alpha_total));
            pool.tao = swap.tao_after;
            pool.alpha_in = swap.alpha_after;
            prop_assert!(u128::from(pool.tao) * u128::from(pool.alpha_in) >= k);
        }
        if alpha > 0 {
            if let Ok(swap) = quote(&pool, 1, Side::Sell, alpha) { tao += swap.output } else { return Ok(()) }
        }
        prop_assert!(tao <= budget, "{} > {}", tao, budget);
    }

    /// A limit order never fills past its limit, and fills as much as the limit allows.
    #[test]
    fn limits_are_never_passed(pool in arb_pool(), amount in 1u64..100_000 * TAO, limit in 1u64..10 * TAO, buy: bool) {
        let side = if buy { Side::Buy } else { Side::Sell };
        let fill = fillable(&pool, 1, side, amount, limit);
        prop_assert!(fill <= amount);
        if let Ok(swap) = quote(&pool, 1, side, fill) {
            prop_assert!(within_limit(side, swap.tao_after, swap.alpha_after, 1, limit));
        }
        if let Some(more) = quote(&pool, 1, side, fill + 1).ok().filter(|_| fill < amount) {
            prop_assert!(!within_limit(side, more.tao_after, more.alpha_after, 1, limit));
        }
    }

    /// Injection does not move the price beyond one rao of reserve.
    #[test]
    fn injection_is_price_neutral(pool in arb_pool(), tao in 0u64..10 * TAO, cap in 0u64..10 * TAO) {
        let mut after = pool;
        let e = inject(&mut after, tao, cap).unwrap();
        prop_assert!(e.alpha_in <= cap);
        prop_assert_eq!(e.tao_in + e.excess_tao, tao);
        prop_assert!(price_neutral(&pool, e.tao_in, e.alpha_in));
        prop_assert_eq!(after.tao, pool.tao + tao);
    }
}
