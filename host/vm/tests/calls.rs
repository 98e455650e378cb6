//! Basic behaviour of the VM on hand-written modules.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

use std::sync::Arc;

use tao_vm::{CallContext, CodeClass, MemoryStorage, Outcome, Vm, VmConfig};

const PRELUDE: &str = r#"
  (import "env" "input" (func $input (result i32)))
  (import "env" "result_read" (func $result_read (param i32)))
  (import "env" "output" (func $output (param i32 i32)))
  (import "env" "storage_set" (func $storage_set (param i32 i32 i32 i32)))
  (import "env" "storage_get" (func $storage_get (param i32 i32) (result i32)))
  (import "env" "emit" (func $emit (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "tao_abi_v1"))
"#;

fn module(body: &str) -> Vec<u8> {
    wat::parse_str(format!("(module {PRELUDE} {body})")).unwrap()
}

fn run(vm: &Vm, wasm: &[u8], entry: &str, input: &[u8], gas: u64) -> tao_vm::Execution {
    let admitted = vm.admit(wasm, CodeClass::Uploaded).unwrap();
    let prepared = vm.prepare(&admitted).unwrap();
    vm.call(&prepared, entry, input, CallContext::default(), Arc::new(MemoryStorage::default()), gas).unwrap()
}

#[test]
fn echo_writes_and_events() {
    let vm = Vm::new(VmConfig::default()).unwrap();
    let wasm = module(
        r#"
        (data (i32.const 0) "key")
        (func (export "echo") (local $n i32)
          (local.set $n (call $input))
          (call $result_read (i32.const 100))
          (call $storage_set (i32.const 0) (i32.const 3) (i32.const 100) (local.get $n))
          (call $emit (i32.const 0) (i32.const 3) (i32.const 100) (local.get $n))
          (call $output (i32.const 100) (local.get $n)))
        "#,
    );
    let exec = run(&vm, &wasm, "echo", b"hello", 1_000_000);
    assert_eq!(exec.outcome, Outcome::Ok);
    assert_eq!(exec.output, b"hello");
    assert_eq!(exec.writes.get(&b"key"[..]), Some(&Some(b"hello".to_vec())));
    assert_eq!(exec.events.len(), 1);
    assert!(exec.gas_used > vm.gas().call_base);
}

mod common;

use tao_sdk::borsh;

fn float_module() -> Vec<u8> {
    wat::parse_file(common::hostile_dir().join("float_op.wat")).unwrap()
}

#[test]
fn two_fresh_engines_agree_on_results_and_gas() {
    let testkit = common::contract_wasm("tao_contract_testkit");
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let vm = common::vm();
            let kit = common::prepare(&vm, &testkit, CodeClass::Uploaded);
            let floats = common::prepare(&vm, &float_module(), CodeClass::System);
            let storage = Arc::new(MemoryStorage::default());
            let ctx = CallContext::default();
            let mix =
                vm.call(&kit, "mix", &borsh::to_vec(&5_000u32).unwrap(), ctx, storage.clone(), 50_000_000);
            let deep = vm.call(
                &kit,
                "recurse",
                &borsh::to_vec(&1_000u32).unwrap(),
                ctx,
                storage.clone(),
                50_000_000,
            );
            let nan = vm.call(&floats, "nan", &[], ctx, storage, 1_000_000);
            (mix.unwrap(), deep.unwrap(), nan.unwrap())
        })
        .collect();
    assert_eq!(runs[0], runs[1]);
    let (mix, _, nan) = &runs[0];
    assert_eq!(mix.output, borsh::to_vec(&tao_contract_testkit::mix_rounds(5_000)).unwrap());
    // The canonical NaN, whatever the hardware would have produced.
    assert_eq!(nan.output, 0x7ff8_0000_0000_0000u64.to_le_bytes());
}

#[test]
fn recursion_traps_at_the_same_depth_on_every_engine() {
    let testkit = common::contract_wasm("tao_contract_testkit");
    let deepest_ok = |vm: &Vm| {
        let kit = common::prepare(vm, &testkit, CodeClass::Uploaded);
        let run = |n: u32| {
            let input = borsh::to_vec(&n).unwrap();
            vm.call(
                &kit,
                "recurse",
                &input,
                CallContext::default(),
                Arc::new(MemoryStorage::default()),
                1 << 40,
            )
            .unwrap()
        };
        // Binary search for the deepest recursion that still succeeds.
        let (mut lo, mut hi) = (0u32, 100_000u32);
        while lo + 1 < hi {
            let mid = (lo + hi) / 2;
            if run(mid).outcome == Outcome::Ok { lo = mid } else { hi = mid }
        }
        let past = run(hi);
        assert_eq!(past.outcome, Outcome::StackLimit);
        (lo, past.gas_used)
    };
    let first = deepest_ok(&common::vm());
    let second = deepest_ok(&common::vm());
    assert_eq!(first, second);
    assert!(first.0 > 500, "the stack budget allows useful recursion, got {}", first.0);
}

#[test]
fn artifacts_are_cached_on_disk_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let config = || VmConfig { artifact_dir: Some(dir.path().to_path_buf()), ..VmConfig::default() };
    let testkit = common::contract_wasm("tao_contract_testkit");
    let expected = {
        let vm = Vm::new(config()).unwrap();
        let admitted = vm.admit(&testkit, CodeClass::Uploaded).unwrap();
        let module = vm.prepare(&admitted).unwrap();
        assert!(vm.artifact_path(&admitted.code_hash).unwrap().exists());
        run(&vm, &testkit, "context", &[], 1_000_000);
        vm.call(&module, "noop", &[], CallContext::default(), Arc::new(MemoryStorage::default()), 1_000_000)
            .unwrap()
    };
    // A new VM loads the artifact, and gets the same gas as the VM that compiled it.
    let vm = Vm::new(config()).unwrap();
    let admitted = vm.admit(&testkit, CodeClass::Uploaded).unwrap();
    let path = vm.artifact_path(&admitted.code_hash).unwrap();
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let module = vm.prepare(&admitted).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), modified, "loaded, not recompiled");
    let again = vm
        .call(&module, "noop", &[], CallContext::default(), Arc::new(MemoryStorage::default()), 1_000_000)
        .unwrap();
    assert_eq!(again, expected);
    // A corrupted artifact is detected by its checksum and replaced by a fresh compile.
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let vm = Vm::new(config()).unwrap();
    let module = vm.prepare(&admitted).unwrap();
    let fresh = vm
        .call(&module, "noop", &[], CallContext::default(), Arc::new(MemoryStorage::default()), 1_000_000)
        .unwrap();
    assert_eq!(fresh, expected);
    assert_ne!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn failed_calls_keep_nothing_but_pay_gas() {
    let (vm, kit) = common::testkit();
    let mut storage = MemoryStorage::default();
    let exec =
        common::call(vm, kit, &mut storage, "fail_after_write", &[], CallContext::default(), 1_000_000);
    assert_eq!(exec.outcome, Outcome::Abort("failed on purpose".into()));
    assert!(exec.writes.is_empty() && exec.events.is_empty() && storage.0.is_empty());
    assert!(exec.gas_used > vm.gas().call_base);
    let short = common::call(vm, kit, &mut storage, "noop", &[], CallContext::default(), 10);
    assert_eq!((short.outcome, short.gas_used), (Outcome::OutOfGas, 10));
    let missing = common::call(vm, kit, &mut storage, "nope", &[], CallContext::default(), 1_000_000);
    assert_eq!(missing.outcome, Outcome::NoSuchEntry("nope".into()));
}

/// A module at every admission limit at once must compile and run: admission may never accept
/// what the engine then refuses (that would be a node fault, not an outcome).
#[test]
fn a_module_at_every_limit_compiles_and_runs() {
    let limits = tao_vm::Limits::V1;
    let mut wat = String::from("(module\n");
    for f in tao_abi::imports::ALL {
        let params =
            f.params.iter().map(|p| format!(" {}", if *p == tao_abi::ValType::I32 { "i32" } else { "i64" }));
        let results =
            f.results.iter().map(|p| format!(" {}", if *p == tao_abi::ValType::I32 { "i32" } else { "i64" }));
        wat += &format!(
            "(import \"env\" \"{}\" (func (param{}) (result{})))\n",
            f.name,
            params.collect::<String>(),
            results.collect::<String>()
        );
    }
    wat += &format!("(memory (export \"memory\") {})\n", limits.max_initial_pages);
    wat += &format!("(table {} funcref)\n", limits.max_table_elements);
    for g in 0..limits.max_globals {
        wat += &format!("(global $g{g} (mut i64) (i64.const {g}))\n");
    }
    wat += "(func (export \"tao_abi_v1\"))\n";
    let functions = limits.max_functions - 2;
    for f in 0..functions {
        wat += &format!("(func $f{f} (result i64) (global.get $g{}))\n", f % limits.max_globals);
    }
    wat += "(func (export \"run\") (drop (call $f0)))\n";
    for d in 0..limits.max_data_segments {
        wat += &format!("(data (i32.const {}) \"x\")\n", d * 64);
    }
    wat += &format!(
        "(elem (i32.const 0) func {})\n",
        (0..limits.max_table_elements)
            .map(|i| format!(" $f{}", i % u64::from(functions)))
            .collect::<String>()
    );
    wat += ")";
    let vm = common::vm();
    let wasm = wat::parse_str(&wat).unwrap();
    let exec = run(&vm, &wasm, "run", &[], 1_000_000);
    assert_eq!(exec.outcome, Outcome::Ok);
}

/// A contract in wat that forwards to the testkit (registered as system module `kit`) with
/// `call_system`, and writes or reads the raw key it is given.
fn boxed_contract() -> Vec<u8> {
    let imports = r#"
        (import "env" "call_system" (func $call_system (param i32 i32 i32 i32 i32 i32) (result i32)))
        (import "env" "storage_remove" (func $storage_remove (param i32 i32) (result i32)))
        (import "env" "storage_iter" (func $storage_iter (param i32 i32) (result i32)))
    "#;
    let body = r#"
        (data (i32.const 0) "kit")
        (data (i32.const 8) "recurse")
        (data (i32.const 16) "put")
        (data (i32.const 24) "fail_after_write")
        (data (i32.const 48) "context")
        (data (i32.const 64) "nope")
        (func $in (result i32) (local $n i32)
          (local.set $n (call $input)) (call $result_read (i32.const 1024)) (local.get $n))
        (func $forward (param $module i32) (param $module_len i32) (param $entry i32) (param $entry_len i32) (local $n i32)
          (local.set $n (call $call_system (local.get $module) (local.get $module_len)
            (local.get $entry) (local.get $entry_len) (i32.const 1024) (call $in)))
          (call $result_read (i32.const 4096))
          (call $output (i32.const 4096) (local.get $n)))
        (func (export "put") (call $forward (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 3)))
        (func (export "fail") (call $forward (i32.const 0) (i32.const 3) (i32.const 24) (i32.const 16)))
        (func (export "context") (call $forward (i32.const 0) (i32.const 3) (i32.const 48) (i32.const 7)))
        (func (export "nope") (call $forward (i32.const 64) (i32.const 4) (i32.const 48) (i32.const 7)))
        (func (export "set") (call $storage_set (i32.const 1024) (call $in) (i32.const 0) (i32.const 3)))
        (func (export "get") (drop (call $storage_get (i32.const 1024) (call $in))))
        (func (export "remove") (drop (call $storage_remove (i32.const 1024) (call $in))))
        (func (export "iter") (drop (call $storage_iter (i32.const 1024) (call $in))))
        ;; Recurses as deep as the input's first u32 says, then calls kit.recurse with the next u32.
        (func $deep (param $n i32) (result i32)
          (if (result i32) (i32.eqz (local.get $n))
            (then (call $call_system (i32.const 0) (i32.const 3) (i32.const 8) (i32.const 7) (i32.const 1028) (i32.const 4)))
            (else (call $deep (i32.sub (local.get $n) (i32.const 1))))))
        (func (export "deep") (drop (call $in)) (drop (call $deep (i32.load (i32.const 1024)))))
    "#;
    wat::parse_str(format!("(module {imports} {PRELUDE} {body})")).unwrap()
}

fn boxed_call(entry: &str, input: &[u8], access: tao_vm::Access) -> tao_vm::Execution {
    let (vm, kit) = common::testkit();
    let contract = common::prepare(vm, &boxed_contract(), CodeClass::Uploaded);
    let systems = Arc::new(tao_vm::SystemModules::from([("kit".to_string(), kit.clone())]));
    let context = CallContext { access, ..CallContext::default() };
    let storage =
        Arc::new(MemoryStorage(std::collections::BTreeMap::from([(b"token/x".to_vec(), b"1".to_vec())])));
    vm.call_contract(&contract, entry, input, context, storage, 50_000_000, systems).unwrap()
}

const BOXED: tao_sdk::Address = tao_sdk::Address([0xab; 20]);

fn denied(exec: &tao_vm::Execution) -> bool {
    matches!(&exec.outcome, Outcome::HostError(tao_vm::HostError::AccessDenied { .. }))
}

/// A contract touches its own namespace only; read-only code writes nothing; system code never
/// writes the chain's `sys/` or a contract's state. Refused attempts are typed and charged.
#[test]
fn access_is_enforced_on_every_storage_call() {
    use tao_vm::Access::{Contract, ReadOnly, System};
    let own = [tao_sdk::contract_prefix(&BOXED), b"x".to_vec()].concat();
    for entry in ["set", "get", "remove", "iter"] {
        let outside = boxed_call(entry, b"token/x", Contract(BOXED));
        assert!(denied(&outside), "{entry}: {:?}", outside.outcome);
        assert!(outside.gas_used > 0 && outside.writes.is_empty());
        assert_eq!(boxed_call(entry, &own, Contract(BOXED)).outcome, Outcome::Ok, "{entry} of its own key");
        let read_only = boxed_call(entry, b"token/x", ReadOnly);
        assert_eq!(denied(&read_only), matches!(entry, "set" | "remove"), "{entry}: {:?}", read_only.outcome);
    }
    assert!(denied(&boxed_call("set", b"sys/module/token", System)));
    assert!(denied(&boxed_call("set", &own, System)));
    assert_eq!(boxed_call("set", b"token/x", System).outcome, Outcome::Ok);
}

/// `call_system` runs the system module as the contract's account, with system access, on the
/// same writes; its failure fails the whole call; only contracts may use it.
#[test]
fn contracts_reach_system_modules_as_their_own_account() {
    let put = boxed_call(
        "put",
        &borsh::to_vec(&(b"k".to_vec(), b"v".to_vec())).unwrap(),
        tao_vm::Access::Contract(BOXED),
    );
    assert_eq!(put.outcome, Outcome::Ok);
    assert_eq!(
        put.writes.get(&b"raw/k"[..]),
        Some(&Some(b"v".to_vec())),
        "the module wrote with its own access"
    );
    let context = boxed_call("context", &[], tao_vm::Access::Contract(BOXED));
    let (caller, _, _): (tao_sdk::Address, u64, u64) = borsh::from_slice(&context.output).unwrap();
    assert_eq!(caller, BOXED, "the module sees the contract, not the transaction's sender");
    let fail = boxed_call(
        "fail",
        &borsh::to_vec(&(b"k".to_vec(), b"v".to_vec())).unwrap(),
        tao_vm::Access::Contract(BOXED),
    );
    assert!(matches!(fail.outcome, Outcome::Abort(_)), "{:?}", fail.outcome);
    assert!(fail.writes.is_empty());
    let nope = boxed_call("nope", &[], tao_vm::Access::Contract(BOXED));
    assert_eq!(nope.outcome, Outcome::HostError(tao_vm::HostError::NoSuchModule("nope".into())));
    for access in [tao_vm::Access::System, tao_vm::Access::ReadOnly] {
        assert_eq!(
            boxed_call("context", &[], access).outcome,
            Outcome::HostError(tao_vm::HostError::NotAContract)
        );
    }
}

/// The system module continues the contract's stack budget: depth that fits in each alone
/// does not fit together, and ends in the deterministic `StackLimit`, never a node fault.
#[test]
fn a_nested_call_shares_the_stack_budget() {
    let input = |depth: u32, n: u32| [depth.to_le_bytes(), n.to_le_bytes()].concat();
    let (vm, kit) = common::testkit();
    let alone = vm
        .call(
            kit,
            "recurse",
            &borsh::to_vec(&1_500u32).unwrap(),
            CallContext::default(),
            Arc::new(MemoryStorage::default()),
            1 << 32,
        )
        .unwrap();
    assert_eq!(alone.outcome, Outcome::Ok);
    assert_eq!(boxed_call("deep", &input(1_500, 10), tao_vm::Access::Contract(BOXED)).outcome, Outcome::Ok);
    assert_eq!(
        boxed_call("deep", &input(1_500, 1_500), tao_vm::Access::Contract(BOXED)).outcome,
        Outcome::StackLimit
    );
}
