//! The staking contract natively and as compiled Wasm through the VM: identical results.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

mod common;

use common::{Step, addr};
use proptest::prelude::*;
use tao_contract_neurons as neurons;
use tao_contract_pools::Side;
use tao_contract_staking::MIN_EVIDENCE_WINDOW;
use tao_contract_staking::{self as staking, ChildrenArgs, Limit, StakeArgs};
use tao_contract_subnets::SubnetIdentity;
use tao_contract_token::{self as token, SYSTEM};
use tao_sdk::{MemoryHost, NativeOutcome, NativeRun, borsh};
use tao_types::MAX_EVIDENCE_AGE;
use tao_vm::{CodeClass, Prepared, Vm};

const TAO: u64 = 1_000_000_000;

fn native(host: &mut MemoryHost, step: &Step) -> NativeRun {
    let input = &step.input;
    match step.entry {
        "entry_add_stake" => host.run(input, staking::entry_add_stake),
        "entry_remove_stake" => host.run(input, staking::entry_remove_stake),
        "entry_move_stake" => host.run(input, staking::entry_move_stake),
        "entry_swap_stake" => host.run(input, staking::entry_swap_stake),
        "entry_transfer_stake" => host.run(input, staking::entry_transfer_stake),
        "entry_unstake_all" => host.run(input, staking::entry_unstake_all),
        "entry_set_take" => host.run(input, staking::entry_set_take),
        "entry_distribute_dividend" => host.run(input, staking::entry_distribute_dividend),
        "entry_positions" => host.run(input, staking::entry_positions),
        "entry_quote" => host.run(input, staking::entry_quote),
        "entry_dissolve_network" => host.run(input, staking::entry_dissolve_network),
        "entry_root_register" => host.run(input, staking::entry_root_register),
        "entry_root_list" => host.run(input, staking::entry_root_list),
        "entry_set_children" => host.run(input, staking::entry_set_children),
        "entry_set_childkey_take" => host.run(input, staking::entry_set_childkey_take),
        "entry_children" => host.run(input, staking::entry_children),
        "entry_swap_hotkey" => host.run(input, staking::entry_swap_hotkey),
        "entry_set_consensus_key" => host.run(input, staking::entry_set_consensus_key),
        "entry_set_slash_params" => host.run(input, staking::entry_set_slash_params),
        "entry_slash_equivocation" => host.run(input, staking::entry_slash_equivocation),
        "entry_unbonding" => host.run(input, staking::entry_unbonding),
        other => panic!("no entry {other}"),
    }
}

fn module() -> &'static (Vm, Prepared) {
    static MODULE: std::sync::OnceLock<(Vm, Prepared)> = std::sync::OnceLock::new();
    MODULE.get_or_init(|| {
        let vm = common::vm();
        let module =
            common::prepare(&vm, &common::contract_wasm("tao_contract_staking"), CodeClass::Uploaded);
        (vm, module)
    })
}

/// Coldkeys 1..=3 funded; subnet 1 owned by coldkey 1; hotkeys 101 (coldkey 1), 102 (coldkey 2).
fn setup() -> MemoryHost {
    let mut host = MemoryHost::new();
    host.caller = SYSTEM;
    host.block_height = 1;
    let run = host.run(&[], |h| {
        for who in 1u8..=3 {
            token::mint(h, &addr(who), 100_000 * TAO).map_err(neurons::NeuronError::from)?;
        }
        neurons::register_network(h, &addr(1), &addr(101), SubnetIdentity::default())?;
        neurons::burned_register(h, &addr(2), 1, &addr(102)).map(|_| ())
    });
    assert_eq!(run.outcome, NativeOutcome::Ok);
    host
}

fn step(entry: &'static str, input: impl borsh::BorshSerialize, caller: u8, height: u64) -> Step {
    Step { entry, input: borsh::to_vec(&input).unwrap(), caller, height }
}

fn add(coldkey: u8, hotkey: u8, amount: u64) -> Step {
    step("entry_add_stake", StakeArgs { hotkey: addr(hotkey), netuid: 1, amount, limit: None }, coldkey, 2)
}

fn remove(coldkey: u8, hotkey: u8, amount: u64, limit: Option<Limit>) -> Step {
    step("entry_remove_stake", StakeArgs { hotkey: addr(hotkey), netuid: 1, amount, limit }, coldkey, 3)
}

#[test]
fn staking_scenario_matches() {
    let (vm, module) = module();
    let steps = vec![
        add(1, 101, 100 * TAO),
        add(2, 101, 300 * TAO),
        add(3, 101, 1),
        step("entry_distribute_dividend", (addr(101), 1u16, 100 * TAO), 0, 3),
        step("entry_distribute_dividend", (addr(101), 1u16, 100 * TAO), 2, 3),
        remove(2, 101, 50 * TAO, None),
        remove(2, 101, 50 * TAO, Some(Limit { price: 2_000_000_000, partial: false })),
        remove(2, 101, 50 * TAO, Some(Limit { price: 900_000_000, partial: true })),
        step(
            "entry_add_stake",
            StakeArgs {
                hotkey: addr(101),
                netuid: 1,
                amount: 500 * TAO,
                limit: Some(Limit { price: 1_050_000_000, partial: true }),
            },
            3,
            4,
        ),
        step("entry_quote", (1u16, Side::Buy, 10 * TAO), 9, 4),
        step("entry_quote", (1u16, Side::Sell, u64::MAX), 9, 4),
        step("entry_move_stake", (addr(101), 1u16, addr(102), 1u16, 10 * TAO), 2, 5),
        step("entry_swap_stake", (addr(101), 1u16, 0u16, 5 * TAO), 2, 5),
        step("entry_transfer_stake", (addr(3), addr(102), 1u16, 1u16, 5 * TAO), 2, 6),
        step("entry_set_take", (addr(101), 1_000u16), 1, 7),
        step("entry_set_take", (addr(101), 2_000u16), 2, 7),
        step("entry_positions", addr(2), 9, 8),
        step("entry_root_register", addr(102), 2, 8),
        step("entry_root_register", addr(102), 2, 8),
        step("entry_root_register", addr(101), 2, 8),
        step(
            "entry_add_stake",
            StakeArgs { hotkey: addr(102), netuid: 0, amount: 7 * TAO, limit: None },
            2,
            8,
        ),
        step("entry_root_list", (), 9, 8),
        step("entry_unstake_all", (), 2, 9),
        step("entry_positions", addr(2), 9, 10),
        step("entry_dissolve_network", 1u16, 1, 11),
        step("entry_dissolve_network", 1u16, 0, 11),
        step("entry_positions", addr(1), 9, 12),
    ];
    common::differential_from(vm, module, setup(), &steps, native);
}

/// Child hotkeys: refusals (owner, self, loop-free sums, rate limit), a pending set, the
/// childkey take and the view, natively and as Wasm.
#[test]
fn children_scenario_matches() {
    let (vm, module) = module();
    let kids = |parent: u8, list: Vec<(u64, u8)>| ChildrenArgs {
        hotkey: addr(parent),
        netuid: 1,
        children: list.into_iter().map(|(p, k)| (p, addr(k))).collect(),
    };
    let steps = vec![
        add(1, 101, 100 * TAO),
        step("entry_set_children", kids(101, vec![(u64::MAX / 2, 102)]), 2, 3),
        step("entry_set_children", kids(101, vec![(u64::MAX / 2, 101)]), 1, 3),
        step("entry_set_children", kids(101, vec![(u64::MAX, 102), (1, 103)]), 1, 3),
        step("entry_set_children", ChildrenArgs { netuid: 0, ..kids(101, vec![(1, 102)]) }, 1, 3),
        step("entry_set_children", kids(101, vec![(u64::MAX / 2, 102)]), 1, 3),
        step("entry_set_children", kids(101, vec![(u64::MAX / 3, 102)]), 1, 4),
        step("entry_set_childkey_take", (addr(102), 1u16, 5_898u16), 2, 4),
        step("entry_set_childkey_take", (addr(102), 1u16, 11_797u16), 2, 5),
        step("entry_set_childkey_take", (addr(102), 1u16, 100u16), 1, 5),
        step("entry_children", (addr(101), 1u16), 9, 6),
        step("entry_children", (addr(102), 1u16), 9, 6),
        step("entry_swap_hotkey", (addr(101), addr(102)), 1, 7),
        step("entry_swap_hotkey", (addr(101), addr(109)), 2, 7),
        step("entry_swap_hotkey", (addr(101), addr(109)), 1, 7),
        step("entry_swap_hotkey", (addr(109), addr(110)), 1, 8),
        step("entry_children", (addr(109), 1u16), 9, 9),
        step("entry_positions", addr(1), 9, 9),
    ];
    common::differential_from(vm, module, setup(), &steps, native);
}

/// Consensus key `seed` and its proof for `hotkey` owned by `coldkey`.
fn consensus_key(seed: u8, coldkey: u8, hotkey: u8) -> ([u8; 33], [u8; 64]) {
    let secret = tao_crypto::SecretKey::from_bytes(&[seed; 32]).unwrap();
    let signed = secret.sign_hash(&staking::consensus_key_proof_hash(&addr(coldkey), &addr(hotkey)));
    (secret.public_key().to_compressed(), signed.0[..64].try_into().unwrap())
}

/// Slashing and unbonding: parameters (refused from anyone but the chain, or out of range: a
/// window one block shorter than the evidence age; exactly the evidence age is accepted), root
/// stake of a keyed hotkey unbonding (and not movable), a slash (refused from a coldkey and a
/// second time) cutting root stake and the unbonding since the infraction, the tombstoned key
/// refused, a genesis key with no hotkey, natively and as Wasm.
#[test]
fn slashing_scenario_matches() {
    let (vm, module) = module();
    let (key, proof) = consensus_key(7, 1, 101);
    let other = consensus_key(8, 2, 102).0;
    let root = |hotkey: u8, amount: u64| StakeArgs { hotkey: addr(hotkey), netuid: 0, amount, limit: None };
    let params =
        |fraction_ppb: u32, evidence_window: u64| staking::SlashParams { fraction_ppb, evidence_window };
    let in_force = vec![(key, 1u64), (other, 1u64)];
    let steps = vec![
        step("entry_set_slash_params", params(100_000_000, MIN_EVIDENCE_WINDOW), 2, 2),
        step("entry_set_slash_params", params(100_000_000, MAX_EVIDENCE_AGE), 0, 2),
        step("entry_set_slash_params", params(1_000_000_001, MIN_EVIDENCE_WINDOW), 0, 2),
        step("entry_set_slash_params", params(100_000_000, MIN_EVIDENCE_WINDOW), 0, 2),
        step("entry_set_consensus_key", (addr(101), key, proof), 1, 2),
        step("entry_add_stake", root(101, 100 * TAO), 1, 2),
        step("entry_add_stake", root(101, 30 * TAO), 2, 2),
        step("entry_remove_stake", root(101, 10 * TAO), 2, 3),
        step("entry_move_stake", (addr(101), 0u16, addr(101), 1u16, TAO), 2, 3),
        step("entry_unbonding", addr(2), 9, 3),
        step("entry_slash_equivocation", (key, 3u64, in_force.clone()), 1, 4),
        step("entry_slash_equivocation", (key, 3u64, in_force.clone()), 0, 4),
        step("entry_slash_equivocation", (key, 3u64, in_force), 0, 5),
        step("entry_unbonding", addr(2), 9, 5),
        step("entry_set_consensus_key", (addr(101), key, proof), 1, 5),
        step("entry_remove_stake", root(101, 10 * TAO), 1, 5),
        step("entry_unbonding", addr(1), 9, 5),
        step(
            "entry_slash_equivocation",
            (consensus_key(9, 3, 3).0, 4u64, Vec::<([u8; 33], u64)>::new()),
            0,
            6,
        ),
        step("entry_root_list", (), 9, 6),
    ];
    common::differential_from(vm, module, setup(), &steps, native);
    // The steps did what they say (the comparison above holds for refusals too).
    let mut host = setup();
    let outcomes: Vec<bool> = steps
        .iter()
        .map(|s| {
            host.caller = addr(s.caller);
            host.block_height = s.height;
            native(&mut host, s).outcome == NativeOutcome::Ok
        })
        .collect();
    let ok = [3, 4, 5, 6, 7, 9, 11, 13, 15, 16, 17, 18];
    assert_eq!(outcomes, (0..steps.len()).map(|i| ok.contains(&i)).collect::<Vec<_>>());
    let cut = 10 * TAO - staking::slash_part(10 * TAO, 100_000_000);
    let run = host.run(&[], |h| {
        assert_eq!(staking::unbonding(h, &addr(2))?.iter().map(|e| e.rao).collect::<Vec<_>>(), vec![cut]);
        assert_eq!(staking::unbonding(h, &addr(1))?.len(), 1, "tombstoned a window ago: still unbonding");
        for coldkey in [addr(1), addr(2)] {
            let entries = staking::unbonding(h, &coldkey)?;
            assert!(entries.iter().all(|e| e.release == e.since + MIN_EVIDENCE_WINDOW), "{entries:?}");
        }
        assert!(staking::is_tombstoned(h, &key)?);
        Ok::<_, staking::StakeError>(())
    });
    assert_eq!(run.outcome, NativeOutcome::Ok);
}

fn arb_step() -> impl Strategy<Value = Step> {
    let cold = 1u8..4;
    let hot = prop_oneof![Just(101u8), Just(102u8)];
    let amount = prop_oneof![0u64..10_000_000, 0u64..1_000 * TAO];
    prop_oneof![
        (cold.clone(), hot.clone(), amount.clone()).prop_map(|(c, k, a)| add(c, k, a)),
        (cold.clone(), hot.clone(), amount.clone(), proptest::option::of((1u64..3 * TAO, any::<bool>())))
            .prop_map(|(c, k, a, l)| remove(c, k, a, l.map(|(price, partial)| Limit { price, partial }))),
        (cold.clone(), hot.clone(), hot.clone(), amount.clone()).prop_map(|(c, f, t, a)| step(
            "entry_move_stake",
            (addr(f), 1u16, addr(t), 1u16, a),
            c,
            4
        )),
        (hot.clone(), amount).prop_map(|(k, a)| step("entry_distribute_dividend", (addr(k), 1u16, a), 0, 5)),
        cold.prop_map(|c| step("entry_unstake_all", (), c, 6)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn random_staking_calls_match(steps in proptest::collection::vec(arb_step(), 1..30)) {
        let (vm, module) = module();
        common::differential_from(vm, module, setup(), &steps, native);
    }
}
