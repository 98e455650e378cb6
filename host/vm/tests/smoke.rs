//! Basic behaviour of the VM on hand-written modules.

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
    assert_eq!(exec.writes.get(&b"key"[..].to_vec()), Some(&Some(b"hello".to_vec())));
    assert_eq!(exec.events.len(), 1);
    assert!(exec.gas_used > vm.gas().call_base);
}
