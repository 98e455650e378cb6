//! VM benchmarks: `cargo bench -p tao-vm --bench vm`. Figures go to BENCHMARKS.md.
//!
//! - `call/empty_module`: store + instantiate + one empty entry point (the fixed cost of a call).
//! - `call/testkit_noop`: the same on a real 29 KB contract built with the SDK.
//! - `host_call/*`: 10,000 `block_height` host calls in a loop vs the same loop without them.
//! - `kernel/*`: an integer hash kernel, natively vs in Wasm with fuel metering.
//! - `prepare/*`: getting a runnable module from the disk artifact cache vs compiling it.
//! - `epoch/{native,wasm}/<n>_<dense|sparse>`: one Yuma epoch on a synthetic graph of n UIDs
//!   (64 validators; dense: every server weighted, sparse: 32 each), natively vs in Wasm.
//! - `stake/{native,wasm}/add_stake_limit`: one limit-priced stake through a subnet's pool (the
//!   swap, the limit bisection, the share pool), natively vs the compiled staking module.
#![allow(clippy::unwrap_used, reason = "benchmark setup: a failure should panic")]
#![allow(missing_docs, reason = "criterion macros generate undocumented items")]

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use tao_vm::{CallContext, CodeClass, MemoryStorage, Vm, VmConfig};

const EMPTY: &str =
    r#"(module (memory (export "memory") 1) (func (export "tao_abi_v1")) (func (export "run")))"#;

const HOST_LOOP: &str = r#"(module
  (import "env" "block_height" (func $h (result i64)))
  (memory (export "memory") 1)
  (func (export "tao_abi_v1"))
  (func (export "with_calls") (local $i i32)
    (loop $l (drop (call $h)) (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 10000)))))
  (func (export "without_calls") (local $i i32)
    (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 10000))))))"#;

fn testkit() -> Vec<u8> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    std::fs::read(target.join("wasm32-unknown-unknown/contract/tao_contract_testkit.wasm"))
        .expect("build the contracts first: cargo xtask contracts")
}

fn benches(c: &mut Criterion) {
    let vm = Vm::new(VmConfig::default()).unwrap();
    let storage: Arc<MemoryStorage> = Arc::new(MemoryStorage::default());
    let ctx = CallContext::default();
    let prepare = |bytes: &[u8]| vm.prepare(&vm.admit(bytes, CodeClass::Uploaded).unwrap()).unwrap();

    let empty = prepare(&wat::parse_str(EMPTY).unwrap());
    c.bench_function("call/empty_module", |b| {
        b.iter(|| vm.call(&empty, "run", &[], ctx, storage.clone(), 1_000_000).unwrap())
    });
    let kit_bytes = testkit();
    let kit = prepare(&kit_bytes);
    c.bench_function("call/testkit_noop", |b| {
        b.iter(|| vm.call(&kit, "noop", &[], ctx, storage.clone(), 1_000_000).unwrap())
    });

    let host_loop = prepare(&wat::parse_str(HOST_LOOP).unwrap());
    let mut group = c.benchmark_group("host_call");
    for entry in ["with_calls", "without_calls"] {
        group.bench_function(entry, |b| {
            b.iter(|| vm.call(&host_loop, entry, &[], ctx, storage.clone(), 100_000_000).unwrap())
        });
    }
    group.finish();

    const ROUNDS: u32 = 100_000;
    let input = ROUNDS.to_le_bytes();
    let mut group = c.benchmark_group("kernel");
    group.bench_function("native", |b| b.iter(|| tao_contract_testkit::mix_rounds(black_box(ROUNDS))));
    group.bench_function("wasm_fuel", |b| {
        b.iter(|| vm.call(&kit, "mix", &input, ctx, storage.clone(), 1 << 40).unwrap())
    });
    group.finish();

    let mut group = c.benchmark_group("epoch");
    group.sample_size(10);
    for n in [256u16, 1024, 4096] {
        for (shape, per_validator) in [("dense", n), ("sparse", 32)] {
            let input = borsh::to_vec(&(n, 64u16, per_validator)).unwrap();
            let native = tao_contract_testkit::epoch_graph(n, 64, per_validator);
            let wasm = vm.call(&kit, "epoch", &input, ctx, storage.clone(), 1 << 40).unwrap();
            let id = format!("{n}_{shape}");
            group.bench_function(format!("native/{id}"), |b| {
                b.iter(|| tao_contract_testkit::epoch_graph(black_box(n), 64, per_validator))
            });
            if !wasm.outcome.is_ok() {
                eprintln!("epoch/wasm/{id}: {:?} within the VM's limits; not benchmarked", wasm.outcome);
                continue;
            }
            assert_eq!(wasm.output, borsh::to_vec(&native).unwrap(), "{n} {shape}: Wasm and native differ");
            group.bench_function(format!("wasm/{id}"), |b| {
                b.iter(|| vm.call(&kit, "epoch", &input, ctx, storage.clone(), 1 << 40).unwrap())
            });
        }
    }
    group.finish();

    stake_benches(c, &vm);

    let dir = tempfile::tempdir().unwrap();
    let cached = Vm::new(VmConfig { artifact_dir: Some(dir.path().into()), ..VmConfig::default() }).unwrap();
    let admitted = cached.admit(&kit_bytes, CodeClass::Uploaded).unwrap();
    cached.prepare(&admitted).unwrap();
    let mut group = c.benchmark_group("prepare");
    group.bench_function("disk_cache_load", |b| {
        b.iter(|| {
            cached.clear_memory_cache();
            cached.prepare(&admitted).unwrap()
        })
    });
    group.sample_size(10);
    group.bench_function("compile", |b| {
        b.iter(|| {
            let fresh = Vm::new(VmConfig::default()).unwrap();
            fresh.prepare(&admitted).unwrap()
        })
    });
    group.finish();
}

/// A subnet with a pool (subnet 1, owner 1, hotkey 10 registered) and a funded coldkey 2.
fn staking_state() -> tao_sdk::MemoryHost {
    use tao_contract_subnets::SubnetIdentity;
    let addr = |n: u8| tao_sdk::Address([n; 20]);
    let mut host = tao_sdk::MemoryHost::new();
    host.caller = tao_contract_token::SYSTEM;
    host.block_height = 1;
    let run = host.run(&[], |h| {
        for who in [1u8, 2] {
            tao_contract_token::mint(h, &addr(who), 1_000_000_000_000_000)
                .map_err(tao_contract_staking::StakeError::from)?;
        }
        tao_contract_neurons::register_network(h, &addr(1), &addr(10), SubnetIdentity::default())
            .map(|_| ())
            .map_err(tao_contract_staking::StakeError::from)
    });
    assert_eq!(run.outcome, tao_sdk::NativeOutcome::Ok);
    host
}

fn stake_benches(c: &mut Criterion, vm: &Vm) {
    use tao_contract_staking::{Limit, StakeArgs, entry_add_stake};
    let state = staking_state();
    let limit = Limit { price: 2_000_000_000, partial: true };
    let args = borsh::to_vec(&StakeArgs {
        hotkey: tao_sdk::Address([10; 20]),
        netuid: 1,
        amount: 500_000_000_000,
        limit: Some(limit),
    })
    .unwrap();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let code =
        std::fs::read(target.join("wasm32-unknown-unknown/contract/tao_contract_staking.wasm")).unwrap();
    let module = vm.prepare(&vm.admit(&code, CodeClass::Uploaded).unwrap()).unwrap();
    let storage = Arc::new(MemoryStorage(state.storage.clone()));
    let ctx = CallContext { caller: tao_sdk::Address([2; 20]), block_height: 2, ..CallContext::default() };
    let wasm = vm.call(&module, "entry_add_stake", &args, ctx, storage.clone(), 1 << 32).unwrap();
    assert!(wasm.outcome.is_ok(), "{:?}", wasm.outcome);
    let mut group = c.benchmark_group("stake");
    group.bench_function("native/add_stake_limit", |b| {
        b.iter_batched(
            || state.clone(),
            |mut h| {
                h.caller = ctx.caller;
                h.block_height = 2;
                h.run(&args, entry_add_stake)
            },
            criterion::BatchSize::SmallInput,
        )
    });
    group.bench_function("wasm/add_stake_limit", |b| {
        b.iter(|| vm.call(&module, "entry_add_stake", &args, ctx, storage.clone(), 1 << 32).unwrap())
    });
    group.finish();
}

criterion_group!(vm_benches, benches);
criterion_main!(vm_benches);
