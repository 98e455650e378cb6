//! The deterministic Wasm VM, and the only crate that names wasmtime.
//!
//! Flow: [`Vm::admit`] checks uploaded bytes ([`admission`]) and instruments them; [`Vm::prepare`]
//! compiles an admitted module, or loads its artifact from the cache; [`Vm::call`] runs one entry
//! point on a fresh instance against an overlay of the committed [`Storage`], and returns an
//! [`Execution`] whose writes the caller merges only if the outcome is `Ok`. Determinism: fuel
//! metering with a versioned [`GasSchedule`], NaN canonicalization, a fixed feature set, a
//! deterministic stack limit, and no clock or randomness anywhere. See docs/vm.md.

pub mod admission;
mod cache;
pub mod gas;
mod host;
pub mod instrument;
mod outcome;
mod storage;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;

use tao_types::Hash;
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, InstancePre, Linker, OptLevel, PoolingAllocationConfig,
    Store, StoreLimitsBuilder, Trap,
};

pub use admission::{AdmissionError, AdmissionReport, Admitted, CodeClass, Limits};
pub use gas::GasSchedule;
pub use host::{Access, CallContext, StorageOp};
pub use outcome::{Execution, HostError, Outcome, TrapKind, VmFault};
pub use storage::{Layered, MemoryStorage, Storage, WriteSet};

use host::{HostState, Stop};

/// Bytes in one Wasm page.
const PAGE_BYTES: u64 = tao_abi::limits::PAGE_BYTES as u64;
/// Memory a pool slot keeps resident (zeroed) between calls; a call that grew beyond gives the
/// rest back to the OS, so a rare large call (an epoch) does not keep every slot that large.
const KEEP_RESIDENT_BYTES: usize = 32 << 20;
/// Native stack wasmtime may use: twice `MAX_STACK_UNITS` × 16 bytes, so the deterministic limit
/// fires first, and below the 2 MiB of a default spawned thread, leaving room for host frames.
const NATIVE_STACK_BYTES: usize = 1024 * 1024;

/// How to build a [`Vm`].
#[derive(Debug, Clone)]
pub struct VmConfig {
    /// Prices.
    pub gas: GasSchedule,
    /// Admission limits.
    pub limits: Limits,
    /// Where compiled artifacts are cached (the node's data directory); `None` keeps them in memory.
    pub artifact_dir: Option<PathBuf>,
    /// Most instances alive at once (pool size).
    pub max_instances: u32,
}

impl Default for VmConfig {
    fn default() -> Self {
        VmConfig { gas: GasSchedule::V1, limits: Limits::V1, artifact_dir: None, max_instances: 16 }
    }
}

/// A compiled, linked module ready to instantiate.
#[derive(Clone)]
pub struct Prepared {
    /// Keccak-256 of the uploaded bytes.
    pub code_hash: Hash,
    pre: InstancePre<HostState>,
}

/// The system modules a contract may reach with `call_system`, by registered name.
pub type SystemModules = BTreeMap<String, Prepared>;

/// Instances one call may hold at once: the called code and one system module it calls.
const INSTANCES_PER_CALL: usize = 2;

/// One engine configured for determinism, with its linker and caches.
pub struct Vm {
    engine: Engine,
    linker: Linker<HostState>,
    gas: Arc<GasSchedule>,
    limits: Limits,
    cache: cache::Cache,
}

/// Virtual address space reserved per linear memory: all of a 32-bit memory's index space.
const RESERVATION_BYTES: u64 = 1 << 32;
/// Guard region after each memory, covering static offsets of loads and stores.
const GUARD_BYTES: u64 = 32 << 20;

fn engine_config(config: &VmConfig) -> Config {
    let max_memory = config.limits.max_memory_pages * PAGE_BYTES;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(config.max_instances)
        .total_memories(config.max_instances)
        .total_tables(config.max_instances)
        .total_component_instances(0)
        .max_memories_per_module(1)
        .max_tables_per_module(1)
        .max_memory_size(max_memory as usize)
        .table_elements(config.limits.max_table_elements as usize)
        // Reset memory by zeroing, not by unmapping: no page faults on the next call.
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES.min(max_memory as usize));
    let mut c = Config::new();
    c.consume_fuel(true)
        .operator_cost(config.gas.operator_cost())
        .cranelift_nan_canonicalization(true)
        .cranelift_opt_level(OptLevel::Speed)
        .wasm_simd(false)
        .wasm_relaxed_simd(false)
        .wasm_multi_memory(false)
        .wasm_memory64(false)
        .wasm_tail_call(false)
        .wasm_extended_const(false)
        .wasm_wide_arithmetic(false)
        .wasm_custom_page_sizes(false)
        .wasm_bulk_memory(true)
        .wasm_multi_value(true)
        .max_wasm_stack(NATIVE_STACK_BYTES)
        .generate_address_map(false)
        // A 4 GiB reservation plus guard lets Cranelift drop explicit bounds checks (guard pages
        // trap instead); growth is still capped at `max_memory` by the pool.
        .memory_reservation(RESERVATION_BYTES)
        .memory_reservation_for_growth(0)
        .memory_guard_size(GUARD_BYTES)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    c
}

impl Vm {
    /// Builds the engine and links the ABI.
    pub fn new(config: VmConfig) -> Result<Vm, VmFault> {
        let engine = Engine::new(&engine_config(&config)).map_err(|e| VmFault::Config(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        host::link(&mut linker).map_err(|e| VmFault::Config(format!("{e:#}")))?;
        let cache = cache::Cache::new(&engine, &config.gas, config.artifact_dir.clone())?;
        Ok(Vm { engine, linker, gas: Arc::new(config.gas), limits: config.limits, cache })
    }

    /// The gas schedule in force.
    pub fn gas(&self) -> &GasSchedule {
        &self.gas
    }

    /// Runs admission on uploaded bytes.
    pub fn admit(&self, bytes: &[u8], class: CodeClass) -> Result<Admitted, AdmissionError> {
        admission::admit(bytes, class, &self.limits)
    }

    /// Compiles an admitted module (or loads it from the cache) and links it.
    pub fn prepare(&self, admitted: &Admitted) -> Result<Prepared, VmFault> {
        let pre = self.cache.prepared(&self.engine, admitted, |module| {
            self.linker.instantiate_pre(module).map_err(|e| VmFault::Compile(format!("{e:#}")))
        })?;
        Ok(Prepared { code_hash: admitted.code_hash, pre })
    }

    /// Runs `entry` with `input` on a fresh instance. The call sees `storage` plus its own writes;
    /// the returned writes are to be merged by the caller only when the outcome is `Ok`. The
    /// code may touch only what `context.access` allows; no system module is reachable.
    pub fn call(
        &self,
        module: &Prepared,
        entry: &str,
        input: &[u8],
        context: CallContext,
        storage: Arc<dyn Storage + Send + Sync>,
        gas_limit: u64,
    ) -> Result<Execution, VmFault> {
        self.run(module, entry, input, context, storage, gas_limit, None)
    }

    /// [`Vm::call`] of an uploaded contract that may call the entry points of `systems`
    /// (`call_system`), as its own account.
    #[allow(clippy::too_many_arguments, reason = "one call's whole description, passed through")]
    pub fn call_contract(
        &self,
        module: &Prepared,
        entry: &str,
        input: &[u8],
        context: CallContext,
        storage: Arc<dyn Storage + Send + Sync>,
        gas_limit: u64,
        systems: Arc<SystemModules>,
    ) -> Result<Execution, VmFault> {
        self.run(module, entry, input, context, storage, gas_limit, Some(systems))
    }

    #[allow(clippy::too_many_arguments, reason = "one call's whole description, passed through")]
    fn run(
        &self,
        module: &Prepared,
        entry: &str,
        input: &[u8],
        context: CallContext,
        storage: Arc<dyn Storage + Send + Sync>,
        gas_limit: u64,
        systems: Option<Arc<SystemModules>>,
    ) -> Result<Execution, VmFault> {
        if gas_limit < self.gas.call_base {
            return Ok(Execution::failed(Outcome::OutOfGas, gas_limit));
        }
        if input.len() > tao_abi::limits::MAX_INPUT_BYTES as usize {
            let too_long = HostError::TooLong {
                what: "input",
                len: input.len() as u64,
                limit: tao_abi::limits::MAX_INPUT_BYTES,
            };
            return Ok(Execution::failed(Outcome::HostError(too_long), self.gas.call_base));
        }
        let limits = StoreLimitsBuilder::new()
            .memory_size((self.limits.max_memory_pages * PAGE_BYTES) as usize)
            .table_elements(self.limits.max_table_elements as usize)
            .instances(INSTANCES_PER_CALL)
            .tables(INSTANCES_PER_CALL)
            .memories(INSTANCES_PER_CALL)
            .trap_on_grow_failure(false)
            .build();
        let self_address = tao_abi::access::contract_address(&module.code_hash);
        let overlay = storage::Overlay::new(storage);
        let state =
            HostState::new(self.gas.clone(), context, input.to_vec(), overlay, limits, self_address, systems);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_fuel(gas_limit - self.gas.call_base).map_err(|e| VmFault::Config(e.to_string()))?;
        let instance =
            module.pre.instantiate(&mut store).map_err(|e| VmFault::Instantiate(format!("{e:#}")))?;
        let memory = instance.get_memory(&mut store, tao_abi::MEMORY_EXPORT);
        store.data_mut().memory = memory;
        let func = match instance.get_typed_func::<(), ()>(&mut store, entry) {
            Ok(f) if !entry.starts_with("__") => f,
            _ => return Ok(Execution::failed(Outcome::NoSuchEntry(entry.into()), self.gas.call_base)),
        };
        let result = catch_unwind(AssertUnwindSafe(|| func.call(&mut store, ())))
            .map_err(|p| VmFault::HostPanic(panic_message(&p)))?;
        let outcome = match result {
            Ok(()) => Outcome::Ok,
            Err(error) => classify(&mut store, &instance, error)?,
        };
        let gas_used = match &outcome {
            // wasmtime writes fuel back only at calls, returns and `unreachable`, not at other
            // trapping instructions: charge the whole limit so a trap can never hide work.
            Outcome::Trap(kind) if *kind != TrapKind::Unreachable => gas_limit,
            _ => gas_limit - store.get_fuel().unwrap_or(0),
        };
        if !outcome.is_ok() {
            return Ok(Execution::failed(outcome, gas_used));
        }
        let state = store.into_data();
        Ok(Execution {
            outcome,
            gas_used,
            output: state.output,
            events: state.events,
            writes: state.overlay.layered.into_writes(),
        })
    }
}

/// Turns an error out of the guest into a deterministic outcome, or a node fault.
fn classify(
    store: &mut Store<HostState>,
    instance: &wasmtime::Instance,
    error: wasmtime::Error,
) -> Result<Outcome, VmFault> {
    if let Some(stop) = store.data_mut().stop.take() {
        return match stop {
            Stop::OutOfGas => Ok(Outcome::OutOfGas),
            Stop::Abort(message) => Ok(Outcome::Abort(message)),
            Stop::Host(e) => Ok(Outcome::HostError(e)),
            Stop::Nested(outcome) => Ok(outcome),
            Stop::Fault(fault) => Err(fault),
        };
    }
    let units =
        instance.get_global(&mut *store, instrument::STACK_EXPORT).and_then(|g| g.get(&mut *store).i32());
    classify_trap(&error, units.unwrap_or(0))
}

/// The outcome of a trap out of an instance whose stack counter reads `stack_units`, or the
/// node fault it reveals.
pub(crate) fn classify_trap(error: &wasmtime::Error, stack_units: i32) -> Result<Outcome, VmFault> {
    let Some(trap) = error.downcast_ref::<Trap>() else {
        return Err(VmFault::Instantiate(format!("{error:#}")));
    };
    Ok(match trap {
        Trap::OutOfFuel => Outcome::OutOfGas,
        Trap::UnreachableCodeReached if stack_units as u32 > instrument::MAX_STACK_UNITS => {
            Outcome::StackLimit
        }
        Trap::UnreachableCodeReached => Outcome::Trap(TrapKind::Unreachable),
        Trap::MemoryOutOfBounds => Outcome::Trap(TrapKind::MemoryOutOfBounds),
        Trap::IntegerDivisionByZero => Outcome::Trap(TrapKind::DivisionByZero),
        Trap::IntegerOverflow => Outcome::Trap(TrapKind::IntegerOverflow),
        Trap::BadConversionToInteger => Outcome::Trap(TrapKind::BadConversionToInteger),
        Trap::IndirectCallToNull | Trap::BadSignature | Trap::TableOutOfBounds => {
            Outcome::Trap(TrapKind::BadIndirectCall)
        }
        Trap::StackOverflow => return Err(VmFault::NativeStackOverflow),
        other => Outcome::Trap(TrapKind::Other(other.to_string())),
    })
}

fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

impl Vm {
    /// Where the artifact for `code_hash` lives on disk, if there is a disk cache.
    pub fn artifact_path(&self, code_hash: &Hash) -> Option<PathBuf> {
        self.cache.artifact_path(code_hash)
    }

    /// Forgets compiled modules held in memory (the disk cache stays), e.g. to measure disk loads.
    pub fn clear_memory_cache(&self) {
        self.cache.clear_memory()
    }
}
