//! The staking contract natively and as compiled Wasm through the VM: identical results.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

mod common;

use common::{Step, addr};
use proptest::prelude::*;
use tao_contract_neurons as neurons;
use tao_contract_pools::Side;
use tao_contract_staking::{self as staking, ChildrenArgs, Limit, StakeArgs};
use tao_contract_subnets::SubnetIdentity;
use tao_contract_token::{self as token, SYSTEM};
use tao_sdk::{MemoryHost, NativeOutcome, NativeRun, borsh};
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
