//! The weights contract natively and as compiled Wasm through the VM: identical results,
//! including every check's error and the commit-reveal flow.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

mod common;

use common::{Step, addr};
use proptest::prelude::*;
use tao_contract_neurons as neurons;
use tao_contract_subnets::{self as subnets, SubnetIdentity, params::PARAMS};
use tao_contract_token::{self as token, SYSTEM};
use tao_contract_weights::{self as weights, WeightsArgs};
use tao_sdk::{MemoryHost, NativeOutcome, NativeRun, borsh};
use tao_vm::{CodeClass, Prepared, Vm};

const TAO: u64 = 1_000_000_000;

fn native(host: &mut MemoryHost, step: &Step) -> NativeRun {
    let input = &step.input;
    match step.entry {
        "entry_set_weights" => host.run(input, weights::entry_set_weights),
        "entry_commit_weights" => host.run(input, weights::entry_commit_weights),
        "entry_reveal_weights" => host.run(input, weights::entry_reveal_weights),
        "entry_set_permit" => host.run(input, weights::entry_set_permit),
        "entry_query" => host.run(input, weights::entry_query),
        other => panic!("no entry {other}"),
    }
}

fn module() -> &'static (Vm, Prepared) {
    static MODULE: std::sync::OnceLock<(Vm, Prepared)> = std::sync::OnceLock::new();
    MODULE.get_or_init(|| {
        let vm = common::vm();
        let module =
            common::prepare(&vm, &common::contract_wasm("tao_contract_weights"), CodeClass::Uploaded);
        (vm, module)
    })
}

fn param_id(name: &str) -> u8 {
    PARAMS.iter().position(|p| p.name == name).unwrap() as u8
}

/// Subnet 1 owned by coldkey 1 (hotkey 10 at UID 0); hotkeys 11..=15 at UIDs 1..=5;
/// commit-reveal as given.
fn setup(commit_reveal: u64) -> MemoryHost {
    let mut host = MemoryHost::new();
    host.caller = SYSTEM;
    host.block_height = 1;
    let run = host.run(&[], |h| {
        token::mint(h, &addr(1), 100_000 * TAO).map_err(neurons::NeuronError::from)?;
        neurons::register_network(h, &addr(1), &addr(10), SubnetIdentity::default())?;
        for hk in 11u8..=15 {
            neurons::burned_register(h, &addr(1), 1, &addr(hk))?;
        }
        subnets::set_hyperparameter(h, &SYSTEM, 1, param_id("commit_reveal"), commit_reveal)?;
        Ok::<(), neurons::NeuronError>(())
    });
    assert_eq!(run.outcome, NativeOutcome::Ok);
    host
}

fn step(entry: &'static str, input: impl borsh::BorshSerialize, caller: u8, height: u64) -> Step {
    Step { entry, input: borsh::to_vec(&input).unwrap(), caller, height }
}

fn set(caller: u8, uids: &[u16], values: &[u16], height: u64) -> Step {
    let args = WeightsArgs { netuid: 1, uids: uids.to_vec(), values: values.to_vec(), version_key: 0 };
    step("entry_set_weights", args, caller, height)
}

#[test]
fn set_weights_checks_match() {
    let (vm, module) = module();
    let steps = vec![
        set(11, &[2, 3], &[1, 2], 10),
        step("entry_set_permit", (1u16, 1u16, true), 0, 10),
        set(11, &[2, 3], &[1, 2], 11),
        set(11, &[2, 3], &[1, 2], 12),
        set(11, &[2, 2], &[1, 2], 200),
        set(11, &[2, 30], &[1, 2], 200),
        set(12, &[2], &[7], 200),
        set(10, &[1, 2, 3], &[3, 2, 1], 200),
        step("entry_query", (1u16, 1u16), 9, 201),
        step("entry_query", (1u16, 0u16), 9, 201),
    ];
    common::differential_from(vm, module, setup(0), &steps, native);
}

#[test]
fn commit_reveal_matches() {
    let (vm, module) = module();
    let args = WeightsArgs { netuid: 1, uids: vec![2, 3], values: vec![5, 10], version_key: 0 };
    let hash = weights::commit_hash(&addr(10), &args, b"salt");
    let steps = vec![
        set(10, &[2], &[1], 400),
        step("entry_commit_weights", (1u16, hash), 10, 400),
        step("entry_reveal_weights", (args.clone(), b"salt".to_vec()), 10, 700),
        step("entry_reveal_weights", (args.clone(), b"pepper".to_vec()), 10, 800),
        step("entry_reveal_weights", (args.clone(), b"salt".to_vec()), 10, 800),
        step("entry_query", (1u16, 0u16), 9, 801),
    ];
    common::differential_from(vm, module, setup(1), &steps, native);
}

fn arb_step() -> impl Strategy<Value = Step> {
    let uids = proptest::collection::vec(0u16..8, 0..7);
    prop_oneof![
        (10u8..16, uids.clone(), any::<u16>(), 2u64..2_000).prop_map(|(c, u, v, h)| {
            let values: Vec<u16> = u.iter().map(|x| v.wrapping_mul(*x + 1)).collect();
            set(c, &u, &values, h)
        }),
        (0u16..6, any::<bool>(), 0u8..2).prop_map(|(uid, g, c)| step(
            "entry_set_permit",
            (1u16, uid, g),
            c * 10,
            2
        )),
        (0u16..6).prop_map(|uid| step("entry_query", (1u16, uid), 9, 2)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn random_weight_calls_match(mut steps in proptest::collection::vec(arb_step(), 1..30)) {
        steps.sort_by_key(|s| s.height);
        let (vm, module) = module();
        common::differential_from(vm, module, setup(0), &steps, native);
    }
}
