//! The neurons contract natively and as compiled Wasm through the VM: identical results.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

mod common;

use common::{Step, addr};
use proptest::prelude::*;
use tao_contract_neurons::{self as neurons, ServeAxonArgs};
use tao_contract_subnets::{self as subnets, RegisterNetworkArgs, SubnetIdentity};
use tao_contract_token::{self as token, SYSTEM};
use tao_sdk::{MemoryHost, NativeOutcome, NativeRun, borsh};
use tao_vm::{CodeClass, Prepared, Vm};

const TAO: u64 = 1_000_000_000;

fn native(host: &mut MemoryHost, step: &Step) -> NativeRun {
    let input = &step.input;
    match step.entry {
        "entry_burned_register" => host.run(input, neurons::entry_burned_register),
        "entry_serve_axon" => host.run(input, neurons::entry_serve_axon),
        "entry_on_block" => host.run(input, neurons::entry_on_block),
        "entry_metagraph" => host.run(input, neurons::entry_metagraph),
        "entry_register_network" => host.run(input, neurons::entry_register_network),
        other => panic!("no entry {other}"),
    }
}

fn module() -> &'static (Vm, Prepared) {
    static MODULE: std::sync::OnceLock<(Vm, Prepared)> = std::sync::OnceLock::new();
    MODULE.get_or_init(|| {
        let vm = common::vm();
        let module =
            common::prepare(&vm, &common::contract_wasm("tao_contract_neurons"), CodeClass::Uploaded);
        (vm, module)
    })
}

/// Coldkeys 1..=3 funded; coldkey 1 owns subnet 1 (hotkey 101) with 64 UIDs at most.
fn setup() -> MemoryHost {
    let mut host = MemoryHost::new();
    host.caller = SYSTEM;
    host.block_height = 1;
    let run = host.run(&[], |h| {
        for who in 1u8..=3 {
            token::mint(h, &addr(who), 100_000 * TAO).map_err(neurons::NeuronError::from)?;
        }
        neurons::register_network(h, &addr(1), &addr(101), SubnetIdentity::default())?;
        subnets::set_hyperparameter(h, &SYSTEM, 1, subnets::params::id::MAX_ALLOWED_UIDS, 64)?;
        subnets::set_hyperparameter(h, &SYSTEM, 1, subnets::params::id::IMMUNITY_PERIOD, 50)?;
        Ok::<(), neurons::NeuronError>(())
    });
    assert_eq!(run.outcome, NativeOutcome::Ok);
    host
}

fn step(entry: &'static str, input: impl borsh::BorshSerialize, caller: u8, height: u64) -> Step {
    Step { entry, input: borsh::to_vec(&input).unwrap(), caller, height }
}

fn register(coldkey: u8, netuid: u16, hotkey: u8, height: u64) -> Step {
    step("entry_burned_register", (netuid, addr(hotkey)), coldkey, height)
}

/// `coldkey` creates a subnet with `hotkey` as its owner's hotkey.
fn create(coldkey: u8, hotkey: u8, height: u64) -> Step {
    let identity = SubnetIdentity { name: "text-prompting".into(), ..SubnetIdentity::default() };
    step("entry_register_network", RegisterNetworkArgs { hotkey: addr(hotkey), identity }, coldkey, height)
}

fn serve(hotkey: u8, ip: u128, port: u16, height: u64) -> Step {
    step(
        "entry_serve_axon",
        ServeAxonArgs { netuid: 1, ip, ip_type: 4, port, protocol: 4, version: 1 },
        hotkey,
        height,
    )
}

#[test]
fn registration_pruning_and_axons_match() {
    let (vm, module) = module();
    // The owner's hotkey already holds UID 0; a second subnet waits for the rate limit.
    let mut steps = vec![register(1, 1, 101, 2), register(2, 0, 9, 2), register(2, 7, 9, 2), create(2, 9, 2)];
    // Fill the subnet, then keep registering: pruning takes over.
    steps.extend((0..70u8).map(|i| register(2 + i % 2, 1, 120 + i, 3 + u64::from(i))));
    steps.extend([
        serve(120, 0x0a00_0001, 8091, 100),
        serve(120, 0x7f00_0001, 8091, 200),
        serve(121, 0x0a00_0002, 0, 200),
        step("entry_on_block", (), 0, 201),
        step("entry_on_block", (), 4, 201),
        step("entry_metagraph", 1u16, 9, 202),
        create(2, 9, 8_000),
        create(3, 8, 8_001),
        register(3, 2, 9, 8_001),
        register(3, 2, 130, 8_002),
        step("entry_metagraph", 2u16, 9, 8_003),
    ]);
    common::differential_from(vm, module, setup(), &steps, native);
}

fn arb_step() -> impl Strategy<Value = Step> {
    let height = 2u64..1_000;
    prop_oneof![
        (1u8..4, 0u16..3, 100u8..140, height.clone()).prop_map(|(c, n, hk, h)| register(c, n, hk, h)),
        (100u8..140, any::<u32>(), any::<u16>(), height.clone()).prop_map(|(hk, ip, port, h)| serve(
            hk,
            u128::from(ip),
            port,
            h
        )),
        (0u8..2, height.clone()).prop_map(|(c, h)| step("entry_on_block", (), c, h)),
        height.clone().prop_map(|h| step("entry_metagraph", 1u16, 9, h)),
        (1u8..4, 100u8..140, height).prop_map(|(c, hk, h)| create(c, hk, h * 10)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn random_neuron_calls_match(mut steps in proptest::collection::vec(arb_step(), 1..40)) {
        steps.sort_by_key(|s| s.height);
        let (vm, module) = module();
        common::differential_from(vm, module, setup(), &steps, native);
    }
}
