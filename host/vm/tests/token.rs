//! The token contract natively and as compiled Wasm through the VM: identical receipts, events,
//! write sets and final state, for a fixed scenario and for random call sequences.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

mod common;

use common::{Step, addr};
use proptest::prelude::*;
use tao_contract_token::{self as token, SYSTEM, TransferArgs};
use tao_sdk::{MemoryHost, NativeRun, borsh};
use tao_vm::{CodeClass, Prepared, Vm};

const TAO: u64 = 1_000_000_000;

fn native(host: &mut MemoryHost, step: &Step) -> NativeRun {
    let input = &step.input;
    match step.entry {
        "entry_transfer" => host.run(input, token::entry_transfer),
        "entry_transfer_keep_alive" => host.run(input, token::entry_transfer_keep_alive),
        "entry_genesis" => host.run(input, token::entry_genesis),
        "entry_issue_block_emission" => host.run(input, token::entry_issue_block_emission),
        "entry_query" => host.run(input, token::entry_query),
        "entry_recycle" => host.run(input, token::entry_recycle),
        "entry_burn" => host.run(input, token::entry_burn),
        "entry_charge_fee" => host.run(input, token::entry_charge_fee),
        "entry_refund_fee" => host.run(input, token::entry_refund_fee),
        other => panic!("no entry {other}"),
    }
}

fn token() -> &'static (Vm, Prepared) {
    static TOKEN: std::sync::OnceLock<(Vm, Prepared)> = std::sync::OnceLock::new();
    TOKEN.get_or_init(|| {
        let vm = common::vm();
        let module = common::prepare(&vm, &common::contract_wasm("tao_contract_token"), CodeClass::Uploaded);
        (vm, module)
    })
}

fn step(entry: &'static str, input: impl borsh::BorshSerialize, caller: u8) -> Step {
    Step { entry, input: borsh::to_vec(&input).unwrap(), caller, height: 1 }
}

fn transfer(from: u8, to: u8, amount: u64) -> Step {
    step("entry_transfer", TransferArgs { to: addr(to), amount }, from)
}

#[test]
fn genesis_transfers_and_errors_match() {
    let (vm, module) = token();
    assert_eq!(SYSTEM, addr(0));
    common::differential(
        vm,
        module,
        &[
            step("entry_genesis", vec![(addr(1), 100 * TAO), (addr(2), 5 * TAO)], 0),
            step("entry_genesis", vec![(addr(9), TAO)], 1),
            transfer(1, 3, 10 * TAO),
            transfer(3, 1, 11 * TAO),
            transfer(1, 4, 499),
            step("entry_transfer_keep_alive", TransferArgs { to: addr(1), amount: 5 * TAO }, 2),
            transfer(2, 1, 5 * TAO - 100),
            step("entry_recycle", 2 * TAO, 1),
            step("entry_burn", TAO, 1),
            step("entry_issue_block_emission", (), 0),
            step("entry_issue_block_emission", (), 5),
            step("entry_query", addr(1), 7),
            step("entry_query", addr(2), 7),
            step("entry_charge_fee", (addr(1), 5_000u64), 0),
            step("entry_charge_fee", (addr(1), 5_000u64), 1),
            step("entry_charge_fee", (addr(8), 1u64), 0),
            step("entry_refund_fee", (addr(1), 5_000u64, 1_200u64), 0),
            step("entry_refund_fee", (addr(1), 5_000u64, 1_200u64), 1),
            step("entry_refund_fee", (addr(1), 5_000u64, 5_001u64), 0),
        ],
        native,
    );
}

fn arb_step() -> impl Strategy<Value = Step> {
    let who = 0u8..4;
    let amount = prop_oneof![0u64..2_000, 0u64..200 * TAO, any::<u64>()];
    prop_oneof![
        (who.clone(), who.clone(), amount.clone()).prop_map(|(f, t, a)| transfer(f, t, a)),
        (who.clone(), who.clone(), amount.clone()).prop_map(|(f, t, a)| step(
            "entry_transfer_keep_alive",
            TransferArgs { to: addr(t), amount: a },
            f
        )),
        (who.clone(), amount.clone()).prop_map(|(w, a)| step("entry_genesis", vec![(addr(w), a)], 0)),
        (who.clone(), amount.clone()).prop_map(|(w, a)| step("entry_recycle", a, w)),
        (who.clone(), amount).prop_map(|(w, a)| step("entry_burn", a, w)),
        Just(step("entry_issue_block_emission", (), 0)),
        who.prop_map(|w| step("entry_query", addr(w), 1)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_token_calls_match(steps in proptest::collection::vec(arb_step(), 1..30)) {
        let (vm, module) = token();
        common::differential(vm, module, &steps, native);
    }
}
