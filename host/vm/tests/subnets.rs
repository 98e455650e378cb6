//! The subnets contract natively and as compiled Wasm through the VM: identical results.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

mod common;

use common::{Step, addr};
use proptest::prelude::*;
use tao_contract_neurons as neurons;
use tao_contract_subnets::{self as subnets, SubnetIdentity};
use tao_contract_token::{self as token, SYSTEM};
use tao_sdk::{MemoryHost, NativeRun, borsh};
use tao_vm::{CodeClass, Prepared, Vm};

const TAO: u64 = 1_000_000_000;

fn native(host: &mut MemoryHost, step: &Step) -> NativeRun {
    let input = &step.input;
    match step.entry {
        "entry_set_hyperparameter" => host.run(input, subnets::entry_set_hyperparameter),
        "entry_set_identity" => host.run(input, subnets::entry_set_identity),
        "entry_query" => host.run(input, subnets::entry_query),
        "entry_lock_cost" => host.run(input, subnets::entry_lock_cost),
        other => panic!("no entry {other}"),
    }
}

fn module() -> &'static (Vm, Prepared) {
    static MODULE: std::sync::OnceLock<(Vm, Prepared)> = std::sync::OnceLock::new();
    MODULE.get_or_init(|| {
        let vm = common::vm();
        let module =
            common::prepare(&vm, &common::contract_wasm("tao_contract_subnets"), CodeClass::Uploaded);
        (vm, module)
    })
}

/// Accounts 1..=3 hold TAO; 1 owns subnet 1 (block 1), 2 owns subnet 2 (block 8,000). Creating a
/// subnet is the neurons module's entry (`host/vm/tests/neurons.rs`).
fn funded() -> MemoryHost {
    let mut host = MemoryHost::new();
    host.caller = SYSTEM;
    let run = host.run(&[], |h| {
        for (who, amount) in [(1u8, 50_000 * TAO), (2, 3_000 * TAO), (3, 600)] {
            token::mint(h, &addr(who), amount)?;
        }
        Ok::<(), token::TokenError>(())
    });
    assert_eq!(run.outcome, tao_sdk::NativeOutcome::Ok);
    for (who, height) in [(1u8, 1), (2, 8_000)] {
        (host.caller, host.block_height) = (addr(who), height);
        let identity = SubnetIdentity { name: "text-prompting".into(), ..SubnetIdentity::default() };
        let run = host
            .run(&[], |h| neurons::register_network(h, &addr(who), &addr(who + 100), identity).map(|_| ()));
        assert_eq!(run.outcome, tao_sdk::NativeOutcome::Ok);
    }
    host
}

fn step(entry: &'static str, input: impl borsh::BorshSerialize, caller: u8, height: u64) -> Step {
    Step { entry, input: borsh::to_vec(&input).unwrap(), caller, height }
}

#[test]
fn subnet_lifecycle_matches() {
    let (vm, module) = module();
    common::differential_from(
        vm,
        module,
        funded(),
        &[
            step("entry_lock_cost", (), 9, 8_001),
            step("entry_set_hyperparameter", (1u16, 0u8, 720u64), 1, 20_000),
            step("entry_set_hyperparameter", (1u16, 0u8, 800u64), 1, 20_001),
            step("entry_set_hyperparameter", (1u16, 2u8, 1u64), 1, 20_002),
            step("entry_set_hyperparameter", (1u16, 2u8, 1u64), 0, 20_002),
            step("entry_set_identity", (1u16, SubnetIdentity::default()), 2, 20_003),
            step("entry_set_identity", (2u16, SubnetIdentity::default()), 2, 20_003),
            step("entry_query", 1u16, 9, 20_004),
            step("entry_query", 2u16, 9, 20_006),
            step("entry_lock_cost", (), 9, 20_007),
        ],
        native,
    );
}

fn arb_step() -> impl Strategy<Value = Step> {
    let height = 0u64..100_000;
    prop_oneof![
        (0u8..4, 0u16..4, 0u8..32, any::<u64>(), height.clone()).prop_map(|(c, n, id, v, h)| step(
            "entry_set_hyperparameter",
            (n, id, v),
            c,
            h
        )),
        (0u16..4, height.clone()).prop_map(|(n, h)| step("entry_query", n, 9, h)),
        height.prop_map(|h| step("entry_lock_cost", (), 9, h)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn random_subnet_calls_match(mut steps in proptest::collection::vec(arb_step(), 1..20)) {
        steps.sort_by_key(|s| s.height);
        let (vm, module) = module();
        common::differential_from(vm, module, funded(), &steps, native);
    }
}
