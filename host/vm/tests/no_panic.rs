//! No chain call panics on any input, from any caller: every entry point of every chain module,
//! fed random bytes on a populated state, natively (a panic fails the test) and through the VM
//! (a guest panic would show as the SDK's "contract panicked" abort or a trap).
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

mod common;

use common::addr;
use proptest::prelude::*;
use tao_contract_example_capped_yuma as capped_yuma;
use tao_contract_example_token_burn_fees as token_burn_fees;
use tao_contract_example_top_k as top_k;
use tao_contract_governance as governance;
use tao_contract_incentive as incentive;
use tao_contract_neurons as neurons;
use tao_contract_staking as staking;
use tao_contract_subnets::{self as subnets, SubnetIdentity};
use tao_contract_token::{self as token, SYSTEM};
use tao_contract_weights as weights;
use tao_sdk::{MemoryHost, NativeOutcome, NativeRun};
use tao_vm::{CallContext, CodeClass, MemoryStorage, Outcome, Prepared, Vm};

type Entry = (&'static str, &'static str, fn(&mut MemoryHost, &[u8]) -> NativeRun);

macro_rules! entries {
    ($($module:literal => $krate:ident :: [$($entry:ident),*]),* $(,)?) => {
        &[$($(($module, stringify!($entry), |h: &mut MemoryHost, input: &[u8]| h.run(input, $krate::$entry)),)*)*]
    };
}

const ENTRIES: &[Entry] = entries![
    "tao_contract_token" => token::[entry_transfer, entry_transfer_keep_alive, entry_genesis, entry_issue_block_emission, entry_query, entry_recycle, entry_burn, entry_charge_fee, entry_refund_fee],
    "tao_contract_subnets" => subnets::[entry_set_network_rate_limit, entry_set_hyperparameter, entry_set_identity, entry_set_incentive_module, entry_query, entry_list, entry_lock_cost],
    "tao_contract_neurons" => neurons::[entry_burned_register, entry_serve_axon, entry_on_block, entry_metagraph, entry_register_network],
    "tao_contract_staking" => staking::[entry_add_stake, entry_remove_stake, entry_move_stake, entry_swap_stake, entry_transfer_stake, entry_unstake_all, entry_set_take, entry_distribute_dividend, entry_dissolve_network, entry_positions, entry_quote, entry_set_children, entry_set_childkey_take, entry_children, entry_swap_hotkey, entry_set_consensus_key, entry_set_validator_params, entry_set_slash_params, entry_slash_equivocation, entry_unbonding],
    "tao_contract_weights" => weights::[entry_set_weights, entry_commit_weights, entry_reveal_weights, entry_set_permit, entry_query],
    "tao_contract_incentive" => incentive::[entry_epoch, entry_on_block, entry_epoch_input, entry_apply_module_epoch, entry_query],
    "tao_contract_governance" => governance::[entry_propose, entry_vote, entry_on_block, entry_set_params, entry_list],
    "tao_contract_example_top_k" => top_k::[entry_epoch],
    "tao_contract_example_capped_yuma" => capped_yuma::[entry_epoch],
    "tao_contract_example_token_burn_fees" => token_burn_fees::[entry_charge_fee, entry_refund_fee],
];

/// A subnet with an owner, two neurons and some stake.
fn populated() -> MemoryHost {
    let mut host = MemoryHost::new();
    host.caller = SYSTEM;
    host.block_height = 1;
    let run = host.run(&[], |h| {
        for who in 1u8..=3 {
            token::mint(h, &addr(who), 100_000_000_000_000).map_err(staking::StakeError::from)?;
        }
        neurons::register_network(h, &addr(1), &addr(10), SubnetIdentity::default())?;
        neurons::burned_register(h, &addr(2), 1, &addr(11))?;
        staking::add_stake(h, &addr(2), &addr(11), 1, 5_000_000_000, None).map(|_| ())
    });
    assert_eq!(run.outcome, NativeOutcome::Ok);
    host
}

fn modules() -> &'static (Vm, Vec<(&'static str, Prepared)>) {
    static MODULES: std::sync::OnceLock<(Vm, Vec<(&'static str, Prepared)>)> = std::sync::OnceLock::new();
    MODULES.get_or_init(|| {
        let vm = common::vm();
        let mut names: Vec<&str> = ENTRIES.iter().map(|e| e.0).collect();
        names.dedup();
        let prepared = names
            .into_iter()
            .map(|n| (n, common::prepare(&vm, &common::contract_wasm(n), CodeClass::Uploaded)))
            .collect();
        (vm, prepared)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn no_entry_point_panics_on_any_input(
        which in 0..ENTRIES.len(),
        input in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..12),
            proptest::collection::vec(any::<u8>(), 0..160),
        ],
        caller in 0u8..12,
        height in prop_oneof![Just(2u64), 0u64..1_000_000, Just(u64::MAX)],
    ) {
        let (module_name, entry, run_native) = ENTRIES[which];
        let mut host = populated();
        host.caller = addr(caller);
        host.block_height = height;
        let native = run_native(&mut host, &input);
        prop_assert_ne!(&native.outcome, &NativeOutcome::Abort("contract panicked".into()));

        let (vm, prepared) = modules();
        let module = &prepared.iter().find(|(n, _)| *n == module_name).unwrap().1;
        let storage = std::sync::Arc::new(MemoryStorage(populated().storage));
        let context = CallContext { caller: addr(caller), block_height: height, ..CallContext::default() };
        let exec = vm.call(module, entry, &input, context, storage, 100_000_000).unwrap();
        prop_assert!(
            matches!(&exec.outcome, Outcome::Ok | Outcome::HostError(_)) || matches!(&exec.outcome, Outcome::Abort(m) if m != "contract panicked"),
            "{module_name}::{entry}: {:?}", exec.outcome
        );
    }
}
