//! The same scenarios run natively (contract logic on `MemoryHost`) and through the VM (the
//! compiled `.wasm`): outcomes, outputs, events and write sets must be identical.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

mod common;

use common::{Step, addr};
use proptest::prelude::*;
use tao_contract_testkit as kit;
use tao_sdk::{MemoryHost, borsh};
use tao_vm::Vm;

type Handler = fn(&mut MemoryHost) -> Result<(), tao_sdk::Error>;

fn handler(entry: &str) -> Handler {
    match entry {
        "put" => kit::put,
        "get" => kit::get,
        "remove" => kit::remove,
        "scan" => kit::scan,
        "mint" => kit::mint,
        "transfer" => kit::transfer,
        "balances" => kit::balances,
        "fail_after_write" => kit::fail_after_write,
        "context" => kit::context,
        "recurse" => kit::recurse,
        other => panic!("no handler {other}"),
    }
}

fn check(vm: &Vm, module: &tao_vm::Prepared, steps: &[Step]) {
    common::differential(vm, module, steps, |host, step| host.run(&step.input, handler(step.entry)));
}

fn step(entry: &'static str, input: impl borsh::BorshSerialize, caller: u8) -> Step {
    Step { entry, input: borsh::to_vec(&input).unwrap(), caller, height: 7 }
}

#[test]
fn ledger_scenario_matches() {
    let (vm, module) = common::testkit();
    check(
        vm,
        module,
        &[
            step("mint", 100u64, 1),
            step("transfer", (addr(2), 30u64), 1),
            step("transfer", (addr(3), 500u64), 2),
            step("balances", (), 9),
            step("put", (b"a".to_vec(), b"1".to_vec()), 1),
            step("put", (b"ab".to_vec(), b"22".to_vec()), 1),
            step("put", (b"b".to_vec(), b"333".to_vec()), 1),
            step("scan", b"a".to_vec(), 1),
            step("remove", b"ab".to_vec(), 1),
            step("remove", b"zz".to_vec(), 1),
            step("scan", Vec::<u8>::new(), 1),
            step("get", b"b".to_vec(), 1),
            step("fail_after_write", (), 1),
            step("get", b"doomed".to_vec(), 1),
            step("context", (), 4),
            step("recurse", 200u32, 1),
            // ABI limits end the call with the same host error on both sides.
            step("put", (vec![7u8; 300], b"v".to_vec()), 1),
            step("put", (b"big".to_vec(), vec![7u8; 70_000]), 1),
            step("get", vec![1u8; 300], 1),
        ],
    );
}

fn arb_step() -> impl Strategy<Value = Step> {
    let key = proptest::collection::vec(0u8..4, 0..3);
    prop_oneof![
        (key.clone(), proptest::collection::vec(any::<u8>(), 0..8), 0u8..3).prop_map(|(k, v, c)| step(
            "put",
            (k, v),
            c
        )),
        (key.clone(), 0u8..3).prop_map(|(k, c)| step("get", k, c)),
        (key.clone(), 0u8..3).prop_map(|(k, c)| step("remove", k, c)),
        (key, 0u8..3).prop_map(|(k, c)| step("scan", k, c)),
        (0u64..1000, 0u8..3).prop_map(|(a, c)| step("mint", a, c)),
        (0u8..3, 0u64..600, 0u8..3).prop_map(|(to, a, c)| step("transfer", (addr(to), a), c)),
        (0u8..3).prop_map(|c| step("balances", (), c)),
        Just(step("fail_after_write", (), 0)),
        // Malformed input: both sides must fail to decode identically.
        proptest::collection::vec(any::<u8>(), 0..5).prop_map(|bytes| Step {
            entry: "transfer",
            input: bytes,
            caller: 1,
            height: 1
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_scenarios_match(steps in proptest::collection::vec(arb_step(), 1..24)) {
        let (vm, module) = common::testkit();
        check(vm, module, &steps);
    }
}

/// The deposit-box contract natively (its `call_system`s answered by the token's own entry
/// points) and compiled, boxed, calling the compiled token module: identical outcomes,
/// outputs, events and write sets, including the token's writes made on its behalf.
#[test]
fn a_contract_calling_a_system_module_matches() {
    use tao_contract_example_deposit_box as deposit_box;
    use tao_contract_token as token;
    let (vm, _) = common::testkit();
    let code = common::contract_wasm("tao_contract_example_deposit_box");
    let module = common::prepare(vm, &code, tao_vm::CodeClass::Uploaded);
    let token_module =
        common::prepare(vm, &common::contract_wasm("tao_contract_token"), tao_vm::CodeClass::System);
    let systems = std::sync::Arc::new(tao_vm::SystemModules::from([("token".to_string(), token_module)]));
    let mut initial = MemoryHost::new()
        .with_system("token", "entry_transfer_from", |h| {
            token::entry_transfer_from(h).map_err(|e| e.to_string())
        })
        .with_system("token", "entry_transfer", |h| token::entry_transfer(h).map_err(|e| e.to_string()));
    initial.self_address = tao_sdk::contract_address(&tao_types::Hash(tao_types::keccak256(&code)));
    let own = initial.self_address;
    initial.caller = token::SYSTEM;
    initial.run(&[], |h| token::mint(h, &addr(1), 10_000));
    initial.caller = addr(1);
    initial.run(&[], |h| token::approve(h, &addr(1), &own, 3_000));
    let handler = |entry: &str| -> fn(&mut MemoryHost) -> Result<(), String> {
        match entry {
            "entry_deposit" => deposit_box::entry_deposit,
            "entry_withdraw" => deposit_box::entry_withdraw,
            "entry_deposit_of" => deposit_box::entry_deposit_of,
            other => panic!("no handler {other}"),
        }
    };
    let steps = [
        step("entry_deposit", 2_000u64, 1),
        step("entry_deposit", 2_000u64, 1),
        step("entry_withdraw", 500u64, 1),
        step("entry_withdraw", 5_000u64, 1),
        step("entry_deposit_of", addr(1), 9),
        step("entry_deposit", 100u64, 2),
    ];
    common::differential_contract(vm, &module, &systems, initial, &steps, |host, step| {
        host.run(&step.input, handler(step.entry))
    });
}
