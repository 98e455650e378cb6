use super::*;
use proptest::prelude::*;
use tao_contract_subnets::{SubnetIdentity, params::PARAMS};
use tao_contract_weights::{WeightError, WeightsArgs};
use tao_sdk::{Address, MemoryHost, NativeOutcome, test_address as addr};

const TAO: u64 = tao_types::RAO_PER_TAO;

fn param_id(name: &str) -> u8 {
    PARAMS.iter().position(|p| p.name == name).unwrap() as u8
}

/// Subnet 1: owner coldkey 1 with hotkey 1000 (UID 0); validator hotkey 2000 of coldkey 2
/// (UID 1) with 100 τ staked; miners 3000..=3003 of coldkey 3 (UIDs 2..=5); commit-reveal off.
fn setup() -> MemoryHost {
    let mut h = MemoryHost::new();
    h.call_as(SYSTEM, 0, |h| {
        for who in [1u16, 2, 3] {
            token::mint(h, &addr(who), 100_000 * TAO)?;
        }
        Ok::<_, token::TokenError>(())
    })
    .unwrap();
    h.call_as(addr(1), 1, |h| {
        neurons::register_network(h, &addr(1), &addr(1000), SubnetIdentity::default())?;
        neurons::burned_register(h, &addr(2), 1, &addr(2000))?;
        for m in 0..4 {
            neurons::burned_register(h, &addr(3), 1, &addr(3000 + m))?;
        }
        staking::add_stake(h, &addr(2), &addr(2000), 1, 100 * TAO, None)?;
        Ok::<_, IncentiveError>(())
    })
    .unwrap();
    h.call_as(SYSTEM, 1, |h| subnets::set_hyperparameter(h, &SYSTEM, 1, param_id("commit_reveal"), 0))
        .unwrap();
    h
}

fn block(h: &mut MemoryHost, at: u64) -> Result<(), String> {
    h.call_as(SYSTEM, at, |h| {
        neurons::on_block(h)?;
        on_block(h)
    })
}

/// Σ balances + pool TAO + burned, and issuance; and per pool, whether its staked alpha is
/// exactly what the share pools of `accounts` (as hotkeys) hold.
fn ledger(h: &mut MemoryHost, accounts: &[Address]) -> (u128, u128, bool) {
    let balances: u128 = accounts.iter().map(|a| u128::from(token::balance(h, a).unwrap())).sum();
    let held = balances + u128::from(pools::total_tao(h).unwrap()) + u128::from(token::burned(h).unwrap());
    let mut alpha_matches = true;
    for (netuid, pool) in pools::pools(h).unwrap() {
        let staked: u64 = accounts.iter().map(|a| staking::pool(h, a, netuid).unwrap().stake).sum();
        alpha_matches &= staked == pool.alpha_out;
    }
    (held, u128::from(token::issuance(h).unwrap()), alpha_matches)
}

fn pool_of(h: &mut MemoryHost, netuid: NetUid) -> pools::SubnetPool {
    pools::pool(h, netuid).unwrap().unwrap()
}

#[test]
fn epoch_pays_owner_miners_and_validators() {
    let mut h = setup();
    let info = subnets::subnet(&mut h, 1).unwrap().unwrap();
    assert_eq!(
        subnets::last_epoch(&mut h, 1, &info),
        Ok(0),
        "netuid 1 mod 360 blocks before registration at 1"
    );
    let w = WeightsArgs { netuid: 1, uids: vec![2, 3], values: vec![1, 1], version_key: 0 };
    assert_eq!(
        h.call_as(addr(2000), 2, |h| weights::set_weights(h, &addr(2000), &w)),
        Err(WeightError::NoValidatorPermit.to_string()),
        "permits come from the first epoch"
    );
    let owner_cut = (u128::from(TAO) * u128::from(OWNER_CUT) / 65_535) as u64;
    let main = TAO - owner_cut;
    for b in 2..360 {
        block(&mut h, b).unwrap();
    }
    assert_eq!((pool_of(&mut h, 1).pending, pool_of(&mut h, 1).pending_owner), (358 * main, 358 * owner_cut));
    let staked = staking::pool(&mut h, &addr(2000), 1).unwrap().stake;
    // Epoch 1: no weights yet, so the only staked validator takes it all and gets a permit.
    block(&mut h, 360).unwrap();
    assert_eq!(staking::pool(&mut h, &addr(2000), 1).unwrap().stake, staked + 359 * main);
    assert!(weights::permit(&mut h, 1, 1).unwrap());
    assert_eq!(staking::stake_of(&mut h, &addr(1), &addr(1000), 1), Ok(359 * owner_cut));
    h.call_as(addr(2000), 361, |h| weights::set_weights(h, &addr(2000), &w)).unwrap();
    for b in 361..=720 {
        block(&mut h, b).unwrap();
    }
    // Epoch 2: one validator holds all stake and weights miners 2 and 3 equally: each miner
    // gets E/4, the validator E/2, the owner its 18%.
    let e = 360 * main;
    for (m, uid) in [(3000u16, 2u16), (3001, 3)] {
        assert_eq!(staking::stake_of(&mut h, &addr(3), &addr(m), 1), Ok(e / 4), "miner {m}");
        let s = scores(&mut h, 1, uid).unwrap();
        assert_eq!((s.incentive, s.consensus, s.server_emission), (32_767, 32_767, e / 4));
    }
    assert_eq!(staking::stake_of(&mut h, &addr(3), &addr(3002), 1), Ok(0));
    assert_eq!(staking::pool(&mut h, &addr(2000), 1).unwrap().stake, staked + 359 * main + e / 2);
    assert_eq!(scores(&mut h, 1, 1).unwrap().dividends, 65_535);
    assert_eq!(staking::stake_of(&mut h, &addr(1), &addr(1000), 1), Ok(719 * owner_cut));
    assert_eq!((pool_of(&mut h, 1).pending, pool_of(&mut h, 1).pending_owner), (e - 2 * (e / 4) - e / 2, 0));
    assert!(!bonds(&mut h, 1, 1).unwrap().is_empty());
    assert_eq!(subnets::last_epoch(&mut h, 1, &info), Ok(720));
    let accounts: Vec<Address> = [1u16, 2, 3].map(addr).to_vec();
    let accounts: Vec<Address> =
        accounts.into_iter().chain([1000u16, 2000, 3000, 3001, 3002, 3003].map(addr)).collect();
    let (held, issued, alpha_matches) = ledger(&mut h, &accounts);
    assert_eq!((held, alpha_matches), (issued, true));
}

/// Every block's TAO lands in the pools (split by moving price) and the injection keeps each
/// pool's price; the alpha emission halves on the subnet's own alpha issuance.
#[test]
fn coinbase_feeds_the_pools() {
    let mut h = setup();
    let before = pool_of(&mut h, 1);
    block(&mut h, 2).unwrap();
    let after = pool_of(&mut h, 1);
    assert_eq!(after.tao, before.tao + TAO, "the only subnet takes the whole block");
    assert!(after.spot_price(1) >= before.spot_price(1));
    assert!(after.spot_price(1) - before.spot_price(1) <= before.spot_price(1) / u128::from(before.alpha_in));
    assert_eq!(after.pending + after.pending_owner, before.pending + before.pending_owner + TAO);
    assert!(after.moving_price > before.moving_price);
}

#[test]
fn without_weights_or_stake_emission_stays_pending() {
    let mut h = setup();
    h.call_as(addr(2), 2, |h| staking::unstake_all(h, &addr(2))).unwrap();
    for b in 2..=360 {
        block(&mut h, b).unwrap();
    }
    // Nobody holds stake: nothing can be assigned, and it is not lost.
    let owner_cut = (u128::from(TAO) * u128::from(OWNER_CUT) / 65_535) as u64;
    assert_eq!(pool_of(&mut h, 1).pending, 359 * (TAO - owner_cut));
}

#[test]
fn no_subnet_means_no_emission_and_only_the_chain_runs_blocks() {
    let mut h = MemoryHost::new();
    block(&mut h, 5).unwrap();
    assert_eq!(token::issuance(&mut h), Ok(0));
    assert_eq!(h.call_as(addr(1), 5, on_block), Err(IncentiveError::NotSystem.to_string()));
}

#[test]
fn at_most_two_epochs_per_block_the_rest_wait() {
    let mut h = setup();
    for (i, owner) in [4u16, 5, 6].into_iter().enumerate() {
        let at = 7_201 + i as u64 * 7_200;
        h.call_as(SYSTEM, at, |h| token::mint(h, &addr(owner), 100_000 * TAO)).unwrap();
        h.call_as(addr(owner), at, |h| {
            neurons::register_network(h, &addr(owner), &addr(owner * 1000), SubnetIdentity::default())
        })
        .unwrap();
    }
    // Subnets 1..=4 are all due at this height.
    let now = 40_000;
    h.caller = SYSTEM;
    h.block_height = now;
    let mut first = Vec::new();
    let run = h.run(&[], |h| {
        first = on_block(h)?.ran;
        Ok::<_, IncentiveError>(())
    });
    assert_eq!(run.outcome, NativeOutcome::Ok);
    assert_eq!(first, vec![1, 2]);
    h.block_height = now + 1;
    let mut second = Vec::new();
    h.run(&[], |h| {
        second = on_block(h)?.ran;
        Ok::<_, IncentiveError>(())
    });
    assert_eq!(second, vec![3, 4]);
}

#[derive(Debug, Clone)]
enum Op {
    Transfer(u16, u16, u64),
    RegisterNetwork(u16),
    Register(u16, u16, u16),
    AddStake(u16, u16, u16, u64),
    RemoveStake(u16, u16, u16, u64),
    SwapStake(u16, u16, u16, u16, u64),
    Weights(u16, u16, Vec<u16>),
    Blocks(u64),
    Fee(u16, u64),
    Burn(u16, u64),
    Dissolve(u16),
}

const COLDKEYS: [u16; 4] = [1, 2, 3, 4];

fn hotkey(cold: u16, k: u16) -> u16 {
    1000 * cold + k
}

fn arb_op() -> impl Strategy<Value = Op> {
    let cold = 1u16..5;
    let k = 0u16..3;
    let net = 1u16..4;
    let amount = prop_oneof![0u64..10_000_000, 0u64..1_000 * TAO, any::<u64>()];
    prop_oneof![
        1 => (cold.clone(), cold.clone(), amount.clone()).prop_map(|(a, b, x)| Op::Transfer(a, b, x)),
        1 => cold.clone().prop_map(Op::RegisterNetwork),
        4 => (cold.clone(), net.clone(), k.clone()).prop_map(|(c, n, k)| Op::Register(c, n, k)),
        4 => (cold.clone(), k.clone(), net.clone(), amount.clone()).prop_map(|(c, k, n, x)| Op::AddStake(c, k, n, x)),
        1 => (cold.clone(), k.clone(), net.clone(), amount.clone()).prop_map(|(c, k, n, x)| Op::RemoveStake(c, k, n, x)),
        1 => (cold.clone(), k.clone(), net.clone(), net.clone(), amount.clone())
            .prop_map(|(c, k, f, t, x)| Op::SwapStake(c, k, f, t, x)),
        4 => (cold.clone(), net.clone(), proptest::collection::vec(0u16..6, 1..4))
            .prop_map(|(c, n, u)| Op::Weights(c, n, u)),
        4 => (1u64..400).prop_map(Op::Blocks),
        1 => (cold.clone(), amount.clone()).prop_map(|(c, x)| Op::Fee(c, x)),
        1 => (cold, 0u64..10 * TAO).prop_map(|(c, x)| Op::Burn(c, x)),
        1 => net.prop_map(Op::Dissolve),
    ]
}

fn apply(h: &mut MemoryHost, op: Op, at: &mut u64) {
    *at += 1;
    let now = *at;
    let _ = match op {
        Op::Transfer(a, b, x) => h.call_as(addr(a), now, |h| token::transfer(h, &addr(a), &addr(b), x, true)),
        Op::RegisterNetwork(c) => h.call_as(addr(c), now, |h| {
            neurons::register_network(h, &addr(c), &addr(hotkey(c, 0)), SubnetIdentity::default())
        }),
        Op::Register(c, n, k) => {
            h.call_as(addr(c), now, |h| neurons::burned_register(h, &addr(c), n, &addr(hotkey(c, k))))
        }
        Op::AddStake(c, k, n, x) => {
            h.call_as(addr(c), now, |h| staking::add_stake(h, &addr(c), &addr(hotkey(c, k)), n, x, None))
        }
        Op::RemoveStake(c, k, n, x) => {
            h.call_as(addr(c), now, |h| staking::remove_stake(h, &addr(c), &addr(hotkey(c, k)), n, x, None))
        }
        Op::SwapStake(c, k, from, to, x) => h.call_as(addr(c), now, |h| {
            let from = staking::Position { coldkey: addr(c), hotkey: addr(hotkey(c, k)), netuid: from };
            staking::relocate_stake(h, &from, &staking::Position { netuid: to, ..from }, x)
        }),
        Op::Weights(c, n, uids) => {
            let mut uids = uids;
            uids.sort_unstable();
            uids.dedup();
            let values = vec![1; uids.len()];
            let args = WeightsArgs { netuid: n, uids, values, version_key: 0 };
            h.call_as(addr(hotkey(c, 0)), now, |h| weights::set_weights(h, &addr(hotkey(c, 0)), &args))
        }
        Op::Blocks(k) => {
            *at += k;
            block(h, *at)
        }
        Op::Fee(c, x) => h.call_as(SYSTEM, now, |h| token::charge_fee(h, &addr(c), x)),
        Op::Burn(c, x) => h.call_as(SYSTEM, now, |h| token::burn(h, &addr(c), x)),
        Op::Dissolve(n) => h.call_as(SYSTEM, now, |h| staking::dissolve_network(h, &SYSTEM, n)),
    };
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// The ledger across every module: after any sequence of calls and blocks,
    /// Σ balances + pool TAO + burned = issuance ≤ 21M τ, every pool's staked alpha is what its
    /// share pools hold, and nothing panics.
    #[test]
    fn ledger_balances_after_any_calls(ops in proptest::collection::vec(arb_op(), 1..60)) {
        let mut h = MemoryHost::new();
        h.call_as(SYSTEM, 0, |h| {
            for c in COLDKEYS {
                token::mint(h, &addr(c), 50_000 * TAO)?;
            }
            Ok::<_, token::TokenError>(())
        }).unwrap();
        h.call_as(addr(1), 0, |h| neurons::register_network(h, &addr(1), &addr(hotkey(1, 0)), SubnetIdentity::default())).unwrap();
        h.call_as(SYSTEM, 0, |h| subnets::set_hyperparameter(h, &SYSTEM, 1, param_id("commit_reveal"), 0)).unwrap();
        let accounts: Vec<Address> =
            COLDKEYS.iter().flat_map(|c| [addr(*c), addr(hotkey(*c, 0)), addr(hotkey(*c, 1)), addr(hotkey(*c, 2))]).collect();
        let mut at = 0;
        for op in ops {
            apply(&mut h, op.clone(), &mut at);
            let (held, issued, alpha_matches) = ledger(&mut h, &accounts);
            prop_assert_eq!(held, issued, "after {:?}", op);
            prop_assert!(alpha_matches, "alpha after {:?}", op);
            prop_assert!(issued <= u128::from(token::TOTAL_SUPPLY));
        }
    }
}

/// A subnet's module output is checked: wrong lengths, bonds to missing UIDs and overpayment are
/// refused with their reason; a valid one keeps only what it pays.
#[test]
fn module_outputs_are_validated() {
    let mut h = setup();
    for b in 2..10 {
        block(&mut h, b).unwrap();
    }
    let info = subnets::subnet(&mut h, 1).unwrap().unwrap();
    let input = gather(&mut h, 1, &info).unwrap();
    let mut output = epoch::run(&input).unwrap();
    assert!(
        validate(&input, EpochOutput { neurons: vec![], undistributed: 0 })
            .unwrap_err()
            .contains("0 results for 6")
    );
    output.neurons[2].bonds = vec![(9, 1)];
    assert!(validate(&input, output.clone()).unwrap_err().contains("uid 2: bonds"));
    output.neurons[2].bonds = vec![(3, 1), (1, 1)];
    assert!(validate(&input, output.clone()).unwrap_err().contains("ascending"));
    output.neurons[2].bonds.clear();
    output.neurons[2].server_emission = input.emission + 1;
    assert!(validate(&input, output.clone()).unwrap_err().contains("more than the epoch's"));
    for n in &mut output.neurons {
        (n.server_emission, n.validator_emission) = (0, 0);
    }
    output.neurons[2].server_emission = 7;
    output.undistributed = 0;
    let kept = validate(&input, output.clone()).unwrap();
    let paid: u64 = kept.neurons.iter().map(|n| n.server_emission + n.validator_emission).sum();
    assert_eq!(paid + kept.undistributed, input.emission, "the rest stays pending, whatever the module says");
}

/// The chain's path for a subnet module: a valid output is paid as given and recorded; a failed
/// module is replaced by Yuma with the reason recorded; only the chain may do either.
#[test]
fn module_epochs_pay_or_fall_back() {
    let mut h = setup();
    let module = Hash([7; 32]);
    for b in 2..=300 {
        block(&mut h, b).unwrap();
    }
    let info = subnets::subnet(&mut h, 1).unwrap().unwrap();
    let input = gather(&mut h, 1, &info).unwrap();
    let mut chosen = EpochOutput { neurons: vec![epoch::NeuronOutput::default(); 6], undistributed: 0 };
    chosen.neurons[3].server_emission = 1_000;
    let bytes = tao_sdk::borsh::to_vec(&chosen).unwrap();
    assert_eq!(
        h.call_as(addr(1), 301, |h| apply_module_epoch(h, 1, module, Ok(bytes.clone()))),
        Err(IncentiveError::NotSystem.to_string())
    );
    h.call_as(SYSTEM, 301, |h| apply_module_epoch(h, 1, module, Ok(bytes))).unwrap();
    assert_eq!(scores(&mut h, 1, 3).unwrap().server_emission, 1_000);
    assert_eq!(staking::stake_of(&mut h, &addr(3), &addr(3001), 1), Ok(1_000));
    assert_eq!(
        epoch_record(&mut h, 1).unwrap(),
        Some(EpochRecord { block: 301, module: Some(module), fallback: None })
    );
    assert_eq!(
        pool_of(&mut h, 1).pending,
        input.emission - 1_000,
        "what the module did not pay stays pending"
    );
    h.call_as(SYSTEM, 302, |h| apply_module_epoch(h, 1, module, Err("out of gas".into()))).unwrap();
    let record = epoch_record(&mut h, 1).unwrap().unwrap();
    assert_eq!((record.block, record.fallback.as_deref()), (302, Some("out of gas")));
    let dividends: u64 = (0..6).map(|u| scores(&mut h, 1, u).unwrap().validator_emission).sum();
    assert!(dividends > 0 && pool_of(&mut h, 1).pending == 0, "Yuma paid the validators instead");
    h.call_as(SYSTEM, 303, |h| apply_module_epoch(h, 1, module, Ok(vec![1, 2, 3]))).unwrap();
    assert_eq!(epoch_record(&mut h, 1).unwrap().unwrap().fallback.as_deref(), Some("output does not decode"));
}

/// An owner whose coldkey already holds the most stake positions it may still lets the epoch
/// run: its cut, which would open a new position, stays pending instead of failing the block.
#[test]
fn emission_to_a_full_coldkey_stays_pending() {
    let mut h = setup();
    let full = staking::MAX_POSITIONS as u16;
    for k in 0..full {
        h.call_as(addr(1), 1, |h| neurons::burned_register(h, &addr(1), 1, &addr(5000 + k))).unwrap();
        h.call_as(addr(1), 1, |h| staking::add_stake(h, &addr(1), &addr(5000 + k), 0, TAO, None)).unwrap();
    }
    assert_eq!(staking::position_list(&mut h, &addr(1)).unwrap().len(), usize::from(full));
    for b in 2..=360 {
        block(&mut h, b).unwrap();
    }
    assert_eq!(staking::stake_of(&mut h, &addr(1), &addr(1000), 1), Ok(0), "no 65th position");
    assert_eq!(staking::position_list(&mut h, &addr(1)).unwrap().len(), usize::from(full));
    let owner_cut = (u128::from(TAO) * u128::from(OWNER_CUT) / 65_535) as u64;
    let pool = pool_of(&mut h, 1);
    assert_eq!(pool.pending_owner, 0);
    assert!(pool.pending >= 359 * owner_cut, "the owner's cut is kept for later: {}", pool.pending);
    let mut accounts: Vec<Address> = [1u16, 2, 3, 1000, 2000, 3000, 3001, 3002, 3003].map(addr).to_vec();
    accounts.extend((0..full).map(|k| addr(5000 + k)));
    let (held, issued, alpha_matches) = ledger(&mut h, &accounts);
    assert_eq!(held, issued);
    assert!(alpha_matches, "staked alpha is what the share pools hold");
}

/// Root dividends (docs/protocol.md, "Root"): the validator's hotkey 2000 also holds 1,000 τ of
/// root stake. Each block sets aside RootProp of the validators' half; the first epoch gives the
/// lone validator all of E, of which that root part is sold for TAO and staked on root to 2000
/// (minus the take, kept as alpha). Everything is recomputed here from the formula.
#[test]
fn root_stake_counts_in_the_epoch_and_earns_root_dividends() {
    let mut h = setup();
    let root = 1_000 * TAO;
    h.call_as(addr(2), 1, |h| {
        staking::root_register(h, &addr(2), &addr(2000))?;
        staking::add_stake(h, &addr(2), &addr(2000), 0, root, None).map(|_| ())
    })
    .unwrap();
    let info = subnets::subnet(&mut h, 1).unwrap().unwrap();
    let weighted = (u128::from(root) * u128::from(staking::TAO_WEIGHT) / u128::from(u64::MAX)) as u64;
    let alpha = staking::pool(&mut h, &addr(2000), 1).unwrap().stake;
    let input = gather(&mut h, 1, &info).unwrap();
    assert_eq!(input.neurons[1].stake, alpha + weighted, "alpha + TaoWeight × root stake");
    let owner_cut = (u128::from(TAO) * u128::from(OWNER_CUT) / 65_535) as u64;
    let main = TAO - owner_cut;
    let mut pending_root = 0u64;
    let mut before = pool_of(&mut h, 1);
    for b in 2..=360 {
        let issuance = u128::from(before.alpha_in) + u128::from(before.alpha_out);
        let root_part = u128::from(main / 2) * u128::from(weighted) / (u128::from(weighted) + issuance);
        pending_root += root_part as u64;
        if b == 360 {
            break;
        }
        block(&mut h, b).unwrap();
        before = pool_of(&mut h, 1);
        assert_eq!(before.pending_root, pending_root, "block {b}");
    }
    assert!(pending_root > 0);
    // Block 360: the coinbase injects 1 τ (and its alpha), then the epoch pays E = 359 blocks.
    let (y, x) = (u128::from(before.tao) + u128::from(TAO), u128::from(before.alpha_in));
    let x = x + (u128::from(TAO) * x / u128::from(before.tao)).min(u128::from(TAO));
    let take = (u128::from(pending_root) * u128::from(staking::MAX_TAKE) / 65_535) as u64;
    let sold = u128::from(pending_root - take);
    let net = sold - (sold * 33).div_ceil(65_535);
    let tao_out = (y * net / (x + net)) as u64;
    let e = 359 * main;
    block(&mut h, 360).unwrap();
    assert_eq!(staking::root_stake(&mut h, &addr(2000)), Ok(root + tao_out), "root stakers gain the sale");
    assert_eq!(staking::stake_of(&mut h, &addr(2), &addr(2000), 0), Ok(root + tao_out));
    assert_eq!(
        staking::pool(&mut h, &addr(2000), 1).unwrap().stake,
        alpha + (e - pending_root) + take,
        "the alpha part and the root part's take stay alpha"
    );
    let after = pool_of(&mut h, 1);
    assert_eq!((after.pending, after.pending_root), (0, 0));
    assert_eq!(pool_of(&mut h, 0).tao, root + tao_out, "the TAO moved into the root pool");
    let accounts: Vec<Address> = [1u16, 2, 3, 1000, 2000, 3000, 3001, 3002, 3003].map(addr).to_vec();
    let (held, issued, alpha_matches) = ledger(&mut h, &accounts);
    assert_eq!((held, alpha_matches), (issued, true));
}

/// Child hotkeys: hotkey 4000 (coldkey 3, UID 6) stakes 100 τ and lends a quarter of its stake
/// weight to validator 2000 (coldkey 2), whose childkey take is 9%. Set at block 2, the set is
/// pending through the epoch at 360 (due 362) and put in force after the epoch at 720; the epoch
/// at 1080 counts the inherited stakes and splits 2000's dividends with its parent. Both are
/// recomputed here from the formula, to the rao.
#[test]
fn an_epoch_counts_inherited_stake_and_shares_a_childs_dividends_with_its_parent() {
    let mut h = setup();
    let quarter = u64::MAX / 4;
    let take = 5_898u16;
    h.call_as(addr(3), 1, |h| {
        neurons::burned_register(h, &addr(3), 1, &addr(4000))?;
        staking::add_stake(h, &addr(3), &addr(4000), 1, 100 * TAO, None)?;
        Ok::<_, IncentiveError>(())
    })
    .unwrap();
    h.call_as(addr(2), 2, |h| staking::set_childkey_take(h, &addr(2), &addr(2000), 1, take)).unwrap();
    h.call_as(addr(3), 2, |h| {
        staking::set_children(h, &addr(3), &addr(4000), 1, vec![(quarter, addr(2000))])
    })
    .unwrap();
    for b in 2..=360 {
        block(&mut h, b).unwrap();
    }
    assert!(staking::children(&mut h, &addr(4000), 1).unwrap().is_empty(), "pending at 360");
    let w = WeightsArgs { netuid: 1, uids: vec![2, 3], values: vec![1, 1], version_key: 0 };
    h.call_as(addr(2000), 361, |h| weights::set_weights(h, &addr(2000), &w)).unwrap();
    for b in 361..=720 {
        block(&mut h, b).unwrap();
    }
    assert_eq!(staking::children(&mut h, &addr(4000), 1), Ok(vec![(quarter, addr(2000))]));
    assert_eq!(staking::parents(&mut h, &addr(2000), 1), Ok(vec![(quarter, addr(4000))]));
    for b in 721..1080 {
        block(&mut h, b).unwrap();
    }
    let part = |x: u64| (u128::from(x) * u128::from(quarter) / u128::from(u64::MAX)) as u64;
    let (child, parent) = (
        staking::pool(&mut h, &addr(2000), 1).unwrap().stake,
        staking::pool(&mut h, &addr(4000), 1).unwrap().stake,
    );
    let info = subnets::subnet(&mut h, 1).unwrap().unwrap();
    let input = gather(&mut h, 1, &info).unwrap();
    assert_eq!(input.neurons[1].stake, child + part(parent), "own + parent · proportion");
    assert_eq!(input.neurons[6].stake, parent - part(parent), "own · (1 − Σ child proportions)");
    block(&mut h, 1080).unwrap();
    let d = scores(&mut h, 1, 1).unwrap().validator_emission;
    assert!(d > 0);
    let share =
        (u128::from(d) * u128::from(part(parent)) / (u128::from(child) + u128::from(part(parent)))) as u64;
    let to_child = (u128::from(share) * u128::from(take) / 65_535) as u64;
    assert_eq!(
        staking::pool(&mut h, &addr(4000), 1).unwrap().stake,
        parent + share - to_child,
        "parent's part"
    );
    assert_eq!(
        staking::pool(&mut h, &addr(2000), 1).unwrap().stake,
        child + d - share + to_child,
        "child keeps the rest"
    );
    let accounts: Vec<Address> = [1u16, 2, 3, 1000, 2000, 3000, 3001, 3002, 3003, 4000].map(addr).to_vec();
    let (held, issued, alpha_matches) = ledger(&mut h, &accounts);
    assert_eq!((held, alpha_matches), (issued, true));
}
