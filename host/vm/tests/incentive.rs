//! The incentive contract natively and as compiled Wasm through the VM: the epoch gives
//! bit-identical outputs on random graphs, and the chain's coinbase and payout agree.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

mod common;

use common::{Step, addr};
use proptest::prelude::*;
use tao_contract_incentive::{
    self as incentive,
    epoch::{EpochInput, EpochParams, NeuronInput},
};
use tao_contract_neurons as neurons;
use tao_contract_staking as staking;
use tao_contract_subnets::{self as subnets, SubnetIdentity, params};
use tao_contract_token::{self as token, SYSTEM};
use tao_sdk::{MemoryHost, NativeOutcome, NativeRun, borsh};
use tao_vm::{CodeClass, Prepared, Vm};

const TAO: u64 = 1_000_000_000;

fn native(host: &mut MemoryHost, step: &Step) -> NativeRun {
    let input = &step.input;
    match step.entry {
        "entry_epoch" => host.run(input, incentive::entry_epoch),
        "entry_on_block" => host.run(input, incentive::entry_on_block),
        "entry_query" => host.run(input, incentive::entry_query),
        other => panic!("no entry {other}"),
    }
}

fn module() -> &'static (Vm, Prepared) {
    static MODULE: std::sync::OnceLock<(Vm, Prepared)> = std::sync::OnceLock::new();
    MODULE.get_or_init(|| {
        let vm = common::vm();
        let wasm = common::contract_wasm("tao_contract_incentive");
        let module = common::prepare(&vm, &wasm, CodeClass::Uploaded);
        (vm, module)
    })
}

fn arb_params() -> impl Strategy<Value = EpochParams> {
    (
        any::<u16>(),
        any::<u16>(),
        0u64..=1_000_000,
        1u16..70,
        0u64..2_000,
        0u64..1_000,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_flat_map(|(kappa, bonds_penalty, bma, k, cutoff, threshold, yuma3, liquid)| {
            (any::<u16>(), any::<u16>(), any::<u16>(), 1u64..1_000).prop_map(move |(lo, hi, steep, tempo)| {
                EpochParams {
                    kappa,
                    bonds_penalty,
                    bonds_moving_average: bma,
                    max_allowed_validators: k,
                    activity_cutoff: cutoff,
                    stake_threshold: threshold,
                    yuma3,
                    liquid_alpha: liquid,
                    alpha_low: lo.min(hi),
                    alpha_high: hi.max(lo),
                    alpha_sigmoid_steepness: steep,
                    tempo,
                }
            })
        })
}

fn arb_row(n: usize) -> impl Strategy<Value = Vec<(u16, u16)>> {
    proptest::collection::btree_map(0..n as u16, any::<u16>(), 0..n.min(12))
        .prop_map(|m| m.into_iter().collect())
}

fn arb_neuron(n: usize) -> impl Strategy<Value = NeuronInput> {
    (
        0u64..10_000,
        0u64..1_000,
        0u64..1_000,
        any::<bool>(),
        arb_row(n),
        arb_row(n),
        proptest::option::of(0u64..1_000),
    )
        .prop_map(|(stake, registered_at, last_update, permit, weights, bonds, commit_block)| {
            NeuronInput {
                stake: stake * 1_000_000,
                registered_at,
                last_update,
                permit,
                weights,
                bonds,
                commit_block,
            }
        })
}

fn arb_input() -> impl Strategy<Value = EpochInput> {
    (1usize..48).prop_flat_map(|n| {
        (
            500u64..2_000,
            0u64..1_000,
            0u64..10 * TAO,
            proptest::option::of(0..n as u16),
            arb_params(),
            proptest::collection::vec(arb_neuron(n), n),
        )
            .prop_map(|(block, last_epoch_block, emission, owner, params, neurons)| EpochInput {
                block,
                last_epoch_block,
                emission,
                owner,
                params,
                neurons,
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Random graphs: the compiled epoch and the native one agree bit for bit, and the
    /// emission is fully accounted for.
    #[test]
    fn epoch_is_bit_identical_in_wasm(input in arb_input()) {
        let (vm, module) = module();
        let bytes = borsh::to_vec(&input).unwrap();
        let step = Step { entry: "entry_epoch", input: bytes, caller: 1, height: 1 };
        common::differential(vm, module, std::slice::from_ref(&step), native);
        let out = incentive::epoch::run(&input).unwrap();
        let paid: u64 = out.neurons.iter().map(|o| o.server_emission + o.validator_emission).sum();
        prop_assert_eq!(paid + out.undistributed, input.emission);
    }
}

#[test]
fn bad_epoch_input_is_a_typed_abort() {
    let (vm, module) = module();
    let mut input = EpochInput {
        block: 1,
        last_epoch_block: 0,
        emission: 0,
        owner: None,
        params: EpochParams {
            kappa: 0,
            bonds_penalty: 0,
            bonds_moving_average: 0,
            max_allowed_validators: 1,
            activity_cutoff: 0,
            stake_threshold: 0,
            yuma3: true,
            liquid_alpha: false,
            alpha_low: 0,
            alpha_high: 0,
            alpha_sigmoid_steepness: 0,
            tempo: 360,
        },
        neurons: vec![NeuronInput { weights: vec![(3, 1)], ..NeuronInput::default() }],
    };
    let step = |input: &EpochInput| Step {
        entry: "entry_epoch",
        input: borsh::to_vec(input).unwrap(),
        caller: 1,
        height: 1,
    };
    let mut h = MemoryHost::new();
    let run = native(&mut h, &step(&input));
    assert_eq!(
        run.outcome,
        NativeOutcome::Abort("epoch input: row 0 names UID 3, which does not exist".into())
    );
    common::differential(vm, module, &[step(&input)], native);
    input.neurons[0].weights = vec![(0, 1), (0, 2)];
    common::differential(vm, module, &[step(&input)], native);
    input.neurons[0].weights = Vec::new();
    input.params.bonds_moving_average = 1_000_001;
    let run = native(&mut h, &step(&input));
    assert_eq!(
        run.outcome,
        NativeOutcome::Abort(
            "epoch input: bonds_moving_average 1000001 is above 1000000 (α = 1 − value/10⁶ < 0)".into()
        )
    );
    common::differential(vm, module, &[step(&input)], native);
}

/// A subnet with a staked validator (hotkey 20, UID 1, also staked on root) and two miners
/// (UIDs 2, 3).
fn chain() -> MemoryHost {
    let mut host = MemoryHost::new();
    host.caller = SYSTEM;
    host.block_height = 1;
    let id = |name| params::id_of(name).unwrap();
    let run = host.run(&[], |h| {
        token::mint(h, &addr(1), 100_000 * TAO).map_err(staking::StakeError::from)?;
        token::mint(h, &addr(2), 100_000 * TAO).map_err(staking::StakeError::from)?;
        neurons::register_network(h, &addr(1), &addr(10), SubnetIdentity::default())?;
        subnets::set_hyperparameter(h, &SYSTEM, 1, id("commit_reveal"), 0)?;
        for (cold, hot) in [(2u8, 20u8), (2, 30), (2, 31)] {
            neurons::burned_register(h, &addr(cold), 1, &addr(hot))?;
        }
        staking::add_stake(h, &addr(2), &addr(20), 1, 100 * TAO, None)?;
        // Root stake on the validator: TaoWeight in the epoch and root dividends.
        staking::root_register(h, &addr(2), &addr(20))?;
        staking::add_stake(h, &addr(2), &addr(20), 0, 1_000 * TAO, None).map(|_| ())
    });
    assert_eq!(run.outcome, NativeOutcome::Ok);
    host
}

#[test]
fn coinbase_and_epochs_agree_in_wasm() {
    let (vm, module) = module();
    let mut steps: Vec<Step> = (2..=362)
        .map(|height| Step { entry: "entry_on_block", input: Vec::new(), caller: 0, height })
        .collect();
    steps.push(Step {
        entry: "entry_query",
        input: borsh::to_vec(&(1u16, 1u16)).unwrap(),
        caller: 0,
        height: 362,
    });
    // Only the chain (the all-zero address) runs blocks.
    assert_eq!(addr(0), SYSTEM);
    let refused = Step { entry: "entry_on_block", input: Vec::new(), caller: 7, height: 2 };
    common::differential_from(vm, module, chain(), &[refused], native);
    common::differential_from(vm, module, chain(), &steps, native);
}

#[test]
fn large_synthetic_epochs_agree_in_wasm() {
    let vm = common::vm();
    let kit = common::prepare(&vm, &common::contract_wasm("tao_contract_testkit"), CodeClass::Uploaded);
    // The dense 4,096-UID graph peaks above 32 MiB: it runs only within `MAX_MEMORY_PAGES`.
    for (n, per_validator) in [(256u16, 256u16), (1024, 32), (4096, 4096)] {
        let input = borsh::to_vec(&(n, 64u16, per_validator)).unwrap();
        let storage = std::sync::Arc::new(tao_vm::MemoryStorage::default());
        let exec = vm.call(&kit, "epoch", &input, tao_vm::CallContext::default(), storage, 1 << 40).unwrap();
        let native = tao_contract_testkit::epoch_graph(n, 64, per_validator);
        assert_eq!(exec.output, borsh::to_vec(&native).unwrap(), "n = {n}");
        assert!(native.0 > 999_000_000 && native.0 <= 1_000_000_000, "paid {}", native.0);
    }
}
