//! Helpers shared by the VM's integration tests.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::PathBuf;
use std::sync::Arc;

use tao_sdk::{Address, MemoryHost, NativeOutcome, NativeRun};
use tao_vm::{CallContext, CodeClass, Execution, MemoryStorage, Outcome, Prepared, Vm, VmConfig};

/// The workspace's target directory.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

/// The compiled bytes of a contract crate (built by `cargo xtask contracts`).
pub fn contract_wasm(name: &str) -> Vec<u8> {
    let path = target_dir().join("wasm32-unknown-unknown/contract").join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{}: {e}. Build the contracts first: `cargo xtask contracts`", path.display())
    })
}

/// Directory of the hostile fixtures.
pub fn hostile_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../contracts/hostile")
}

/// One VM with the testkit contract prepared, shared by every test in a binary: compiling is the
/// slow part, and sharing also exercises the caches across calls.
pub fn testkit() -> &'static (Vm, Prepared) {
    static TESTKIT: std::sync::OnceLock<(Vm, Prepared)> = std::sync::OnceLock::new();
    TESTKIT.get_or_init(|| {
        let vm = vm();
        let module = prepare(&vm, &contract_wasm("tao_contract_testkit"), CodeClass::Uploaded);
        (vm, module)
    })
}

pub fn vm() -> Vm {
    Vm::new(VmConfig::default()).unwrap()
}

pub fn prepare(vm: &Vm, wasm: &[u8], class: CodeClass) -> Prepared {
    let admitted = vm.admit(wasm, class).unwrap();
    vm.prepare(&admitted).unwrap()
}

/// One call against `storage`, applying the writes on success.
pub fn call(
    vm: &Vm,
    module: &Prepared,
    storage: &mut MemoryStorage,
    entry: &str,
    input: &[u8],
    context: CallContext,
    gas: u64,
) -> Execution {
    let exec = vm.call(module, entry, input, context, Arc::new(storage.clone()), gas).unwrap();
    if exec.outcome.is_ok() {
        storage.apply(&exec.writes);
    }
    exec
}

/// One step of a scenario.
#[derive(Debug, Clone)]
pub struct Step {
    pub entry: &'static str,
    pub input: Vec<u8>,
    pub caller: u8,
    pub height: u64,
}

/// A test address made of one repeated byte.
pub fn addr(n: u8) -> Address {
    Address([n; 20])
}

/// Runs `steps` both ways and asserts every result and the final state agree.
pub fn differential(
    vm: &Vm,
    module: &Prepared,
    steps: &[Step],
    native_step: impl Fn(&mut MemoryHost, &Step) -> NativeRun,
) {
    differential_from(vm, module, MemoryHost::new(), steps, native_step)
}

/// [`differential`] starting from the committed state of `initial`.
pub fn differential_from(
    vm: &Vm,
    module: &Prepared,
    initial: MemoryHost,
    steps: &[Step],
    native_step: impl Fn(&mut MemoryHost, &Step) -> NativeRun,
) {
    compare(initial, steps, native_step, |storage, step, context| {
        call(vm, module, storage, step.entry, &step.input, context, 50_000_000)
    });
}

/// [`differential_from`] for an uploaded contract: boxed at `address`, reaching `systems` with
/// `call_system` (natively: the handlers `initial` was given with `MemoryHost::with_system`).
pub fn differential_contract(
    vm: &Vm,
    module: &Prepared,
    systems: &Arc<tao_vm::SystemModules>,
    initial: MemoryHost,
    steps: &[Step],
    native_step: impl Fn(&mut MemoryHost, &Step) -> NativeRun,
) {
    let access = tao_vm::Access::Contract(initial.self_address);
    compare(initial, steps, native_step, |storage, step, context| {
        let context = CallContext { access, ..context };
        let snapshot = Arc::new(storage.clone());
        let exec =
            vm.call_contract(module, step.entry, &step.input, context, snapshot, 50_000_000, systems.clone());
        let exec = exec.unwrap();
        if exec.outcome.is_ok() {
            storage.apply(&exec.writes);
        }
        exec
    });
}

/// Runs each step natively and through `vm_step`, asserting every result and the final state
/// agree.
fn compare(
    initial: MemoryHost,
    steps: &[Step],
    native_step: impl Fn(&mut MemoryHost, &Step) -> NativeRun,
    vm_step: impl Fn(&mut MemoryStorage, &Step, CallContext) -> Execution,
) {
    let mut storage = MemoryStorage(initial.storage.clone());
    let mut native = initial;
    for (i, step) in steps.iter().enumerate() {
        native.caller = addr(step.caller);
        native.block_height = step.height;
        native.block_time_ms = step.height * 12_000;
        let expected: NativeRun = native_step(&mut native, step);
        let context = CallContext {
            caller: addr(step.caller),
            block_height: step.height,
            block_time_ms: step.height * 12_000,
            ..CallContext::default()
        };
        let got = vm_step(&mut storage, step, context);
        let outcome = match &got.outcome {
            Outcome::Ok => NativeOutcome::Ok,
            Outcome::Abort(m) => NativeOutcome::Abort(m.clone()),
            Outcome::HostError(e) => NativeOutcome::HostError(e.to_string()),
            other => panic!("step {i} {step:?}: VM outcome {other:?}, native {:?}", expected.outcome),
        };
        assert_eq!(outcome, expected.outcome, "step {i} {step:?}");
        assert_eq!(got.output, expected.output, "step {i} {step:?}");
        assert_eq!(got.events, expected.events, "step {i} {step:?}");
        assert_eq!(got.writes, expected.writes, "step {i} {step:?}");
    }
    assert_eq!(storage.0, native.storage);
}
