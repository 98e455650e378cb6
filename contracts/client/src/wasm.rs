//! The chain's own bytes, run in the wallet: a system module a governance upgrade replaced, or a
//! subnet's incentive module, executed under `wasmi` (a deterministic interpreter that builds
//! for wasm32) over a [`ProvenHost`]. The bytes are believed only if they hash to the proven
//! code hash; fuel bounds every run. The ABI's imports (`tao_abi::imports::ALL`) are linked here
//! and nowhere else in the wallet, with the limits the node's VM enforces, so a run refuses what
//! the chain would refuse.

use tao_abi::{ABSENT, IterEntry, imports, limits};
use tao_sdk::{Host, IterHandle};
use tao_types::{Address, Hash, keccak256};
use wasmi::core::{Trap, TrapCode, ValueType};
use wasmi::{Caller, Config, Engine, Linker, Memory, Module, Store, StoreLimits, StoreLimitsBuilder};

use crate::proven::ProvenHost;

/// Fuel one run may burn (about one unit per instruction): far above what a preview or an epoch
/// of a few hundred UIDs takes, low enough that a looping module stops within seconds.
pub const FUEL: u64 = 400_000_000;
/// Fuel each host call costs on top of one unit per byte it copies, so that code spinning on
/// imports also runs out.
const HOST_CALL_FUEL: u64 = 20;
/// Most linear memory a run may grow to: the chain's own limit.
const MAX_MEMORY_BYTES: usize =
    tao_abi::limits::MAX_MEMORY_PAGES as usize * tao_abi::limits::PAGE_BYTES as usize;

/// Why on-chain code could not be run or did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WasmError {
    /// The bytes do not hash to the proven code hash: whoever served them altered them.
    #[error("code bytes hash to {actual}, not the proven {expected}: refused")]
    Tampered {
        /// The proven hash.
        expected: Hash,
        /// What the served bytes hash to.
        actual: Hash,
    },
    /// The bytes are not a module this wallet can run.
    #[error("the code does not compile: {0}")]
    Invalid(String),
    /// The run used all of its fuel.
    #[error("out of fuel after {0} units: the code ran too long to re-run here")]
    OutOfFuel(u64),
    /// The code refused (its abort message, as the chain reports it).
    #[error("{0}")]
    Abort(String),
    /// A host function refused the code's request.
    #[error("host error: {0}")]
    Host(String),
    /// The code trapped.
    #[error("trap: {0}")]
    Trap(String),
    /// No exported entry point of that name.
    #[error("no entry point `{0}`")]
    NoSuchEntry(String),
}

/// What the running code may touch: the classes the node's VM gives system modules and
/// incentive modules (the wallet runs no uploaded contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A system module: reads everything, writes all but the chain's and contracts' state.
    System,
    /// Reads everything, writes nothing (incentive modules).
    ReadOnly,
}

/// Verified, compiled on-chain code.
pub struct Code {
    hash: Hash,
    engine: Engine,
    module: Module,
    linker: Linker<Guest>,
}

impl core::fmt::Debug for Code {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Code").field("hash", &self.hash).finish_non_exhaustive()
    }
}

/// One call's side of the boundary: the host it reads and writes, and the ABI's buffers.
struct Guest {
    host: ProvenHost,
    access: Access,
    caller: Address,
    self_address: Address,
    input: Vec<u8>,
    result: Vec<u8>,
    output: Vec<u8>,
    events: u32,
    iterators: u32,
    written: u64,
    memory: Option<Memory>,
    stop: Option<WasmError>,
    limits: StoreLimits,
    fuel: u64,
}

/// One call: who calls which entry point with what, and what the code may touch.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    /// Entry point.
    pub entry: &'a str,
    /// The calling account.
    pub caller: Address,
    /// The entry point's input.
    pub input: Vec<u8>,
    /// The code's class.
    pub access: Access,
    /// Fuel for the run: [`FUEL`] unless a test wants less.
    pub fuel: u64,
}

impl Code {
    /// Compiles `bytes` if they hash to `hash`, the proven code hash.
    pub fn verified(hash: Hash, bytes: &[u8]) -> Result<Code, WasmError> {
        let actual = Hash(keccak256(bytes));
        if actual != hash {
            return Err(WasmError::Tampered { expected: hash, actual });
        }
        let mut config = Config::default();
        config.consume_fuel(true);
        let engine = Engine::new(&config);
        let module = Module::new(&engine, bytes).map_err(|e| WasmError::Invalid(e.to_string()))?;
        check_imports(&module)?;
        let linker = link(&engine).map_err(|e| WasmError::Invalid(e.to_string()))?;
        Ok(Code { hash, engine, module, linker })
    }

    /// The code hash the bytes were checked against.
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// Runs `call` on `host`, in a fresh instance with the call's fuel. Returns the output; a failed
    /// call leaves none of its writes or events (as on chain), while the keys it found missing
    /// stay recorded for fetching.
    pub fn call(&self, host: &mut ProvenHost, call: Call<'_>) -> Result<Vec<u8>, WasmError> {
        let before = host.checkpoint();
        let guest = Guest {
            host: std::mem::take(host),
            access: call.access,
            caller: call.caller,
            self_address: tao_abi::access::contract_address(&self.hash),
            input: call.input,
            result: Vec::new(),
            output: Vec::new(),
            events: 0,
            iterators: 0,
            written: 0,
            memory: None,
            stop: None,
            limits: StoreLimitsBuilder::new().memory_size(MAX_MEMORY_BYTES).build(),
            fuel: call.fuel,
        };
        let mut store = Store::new(&self.engine, guest);
        store.limiter(|guest| &mut guest.limits);
        let result = store.add_fuel(call.fuel).map_err(|e| WasmError::Trap(e.to_string())).and_then(|()| {
            let instance = self
                .linker
                .instantiate(&mut store, &self.module)
                .and_then(|pre| pre.start(&mut store))
                .map_err(|e| classify(e, call.fuel))?;
            store.data_mut().memory = instance.get_memory(&store, tao_abi::MEMORY_EXPORT);
            let func = instance
                .get_typed_func::<(), ()>(&store, call.entry)
                .ok()
                .filter(|_| !call.entry.starts_with("__"))
                .ok_or_else(|| WasmError::NoSuchEntry(call.entry.into()))?;
            func.call(&mut store, ()).map_err(|e| classify(wasmi::Error::Trap(e), call.fuel))
        });
        let guest = store.into_data();
        *host = guest.host;
        match result {
            Ok(()) => Ok(guest.output),
            Err(error) => {
                host.rollback(before);
                Err(guest.stop.unwrap_or(error))
            }
        }
    }
}

/// Refuses a module importing anything but the ABI's functions with their exact signatures.
fn check_imports(module: &Module) -> Result<(), WasmError> {
    let lowered = |types: &[tao_abi::ValType]| -> Vec<ValueType> {
        types
            .iter()
            .map(|t| match t {
                tao_abi::ValType::I32 => ValueType::I32,
                tao_abi::ValType::I64 => ValueType::I64,
            })
            .collect()
    };
    for import in module.imports() {
        let abi = (import.module() == tao_abi::IMPORT_MODULE).then(|| imports::find(import.name())).flatten();
        let matches = match (abi, import.ty()) {
            (Some(abi), wasmi::ExternType::Func(ty)) => {
                ty.params() == lowered(abi.params).as_slice()
                    && ty.results() == lowered(abi.results).as_slice()
            }
            _ => false,
        };
        if !matches {
            let why = format!("imports {}.{}, which is not in the ABI", import.module(), import.name());
            return Err(WasmError::Invalid(why));
        }
    }
    Ok(())
}

/// A trap as the wallet reports it.
fn classify(error: wasmi::Error, fuel: u64) -> WasmError {
    let code = match &error {
        wasmi::Error::Trap(trap) => trap.trap_code(),
        _ => None,
    };
    match code {
        Some(TrapCode::OutOfFuel) => WasmError::OutOfFuel(fuel),
        Some(code) => WasmError::Trap(code.to_string()),
        None => WasmError::Trap(error.to_string()),
    }
}

type Ctx<'a> = Caller<'a, Guest>;
type Res<T> = Result<T, Trap>;

/// Records why the call stops and returns the error that unwinds the guest.
fn stop<T>(c: &mut Ctx<'_>, why: WasmError) -> Res<T> {
    c.data_mut().stop = Some(why);
    Err(Trap::new("host stopped the call"))
}

fn refuse<T>(c: &mut Ctx<'_>, why: impl Into<String>) -> Res<T> {
    stop(c, WasmError::Host(why.into()))
}

/// Takes a host call's fuel plus one unit per byte, or ends the call out of fuel.
fn charge(c: &mut Ctx<'_>, bytes: usize) -> Res<()> {
    let cost = HOST_CALL_FUEL.saturating_add(bytes as u64);
    match c.consume_fuel(cost) {
        Ok(_) => Ok(()),
        Err(_) => {
            let fuel = c.data().fuel;
            stop(c, WasmError::OutOfFuel(fuel))
        }
    }
}

/// Checks a guest length against a limit.
fn length(c: &mut Ctx<'_>, len: i32, limit: u32, what: &str) -> Res<usize> {
    match u32::try_from(len) {
        Ok(n) if n <= limit => Ok(n as usize),
        Ok(n) => refuse(c, format!("{what} is {n} bytes, limit is {limit}")),
        Err(_) => refuse(c, "negative pointer or length"),
    }
}

fn memory(c: &mut Ctx<'_>, ptr: i32) -> Res<(Memory, usize)> {
    let Ok(offset) = usize::try_from(ptr) else { return refuse(c, "negative pointer or length") };
    match c.data().memory {
        Some(memory) => Ok((memory, offset)),
        None => refuse(c, "pointer/length outside guest memory"),
    }
}

/// Copies `len` bytes at `ptr` out of guest memory, within `limit`, charging for them.
fn read(c: &mut Ctx<'_>, ptr: i32, len: i32, limit: u32, what: &str) -> Res<Vec<u8>> {
    let len = length(c, len, limit, what)?;
    charge(c, len)?;
    let (memory, offset) = memory(c, ptr)?;
    let mut buf = vec![0; len];
    match memory.read(&*c, offset, &mut buf) {
        Ok(()) => Ok(buf),
        Err(_) => refuse(c, "pointer/length outside guest memory"),
    }
}

fn write(c: &mut Ctx<'_>, ptr: i32, data: &[u8]) -> Res<()> {
    charge(c, data.len())?;
    let (memory, offset) = memory(c, ptr)?;
    match memory.write(&mut *c, offset, data) {
        Ok(()) => Ok(()),
        Err(_) => refuse(c, "pointer/length outside guest memory"),
    }
}

/// Puts `data` in the result buffer and returns its length.
fn set_result(c: &mut Ctx<'_>, data: Vec<u8>) -> Res<i32> {
    charge(c, data.len())?;
    let len = data.len() as i32;
    c.data_mut().result = data;
    Ok(len)
}

/// Refuses a write the running code's [`Access`] does not allow, and counts its bytes
/// against the write-set limit.
fn may_write(c: &mut Ctx<'_>, key: &[u8], bytes: usize) -> Res<()> {
    let allowed = c.data().access == Access::System && tao_abi::access::system_may_write(key);
    if !allowed {
        return refuse(c, format!("access denied: write {}", crate::proven::describe_key(key)));
    }
    let written = c.data().written.saturating_add(bytes as u64);
    c.data_mut().written = written;
    if written > u64::from(limits::MAX_WRITE_SET_BYTES) {
        return refuse(c, "write set above the limit");
    }
    Ok(())
}

/// Links every ABI v1 import ([`imports::ALL`]); `every_abi_import_is_linked` checks the list
/// and each signature.
fn link(engine: &Engine) -> Result<Linker<Guest>, wasmi::errors::LinkerError> {
    let m = tao_abi::IMPORT_MODULE;
    let mut l = Linker::<Guest>::new(engine);
    l.func_wrap(m, imports::INPUT.name, |mut c: Ctx<'_>| -> Res<i32> {
        let input = c.data().input.clone();
        set_result(&mut c, input)
    })?;
    l.func_wrap(m, imports::RESULT_READ.name, |mut c: Ctx<'_>, ptr: i32| -> Res<()> {
        let result = std::mem::take(&mut c.data_mut().result);
        write(&mut c, ptr, &result)
    })?;
    l.func_wrap(m, imports::OUTPUT.name, |mut c: Ctx<'_>, ptr: i32, len: i32| -> Res<()> {
        let data = read(&mut c, ptr, len, limits::MAX_OUTPUT_BYTES, "output")?;
        c.data_mut().host.set_output(&data);
        c.data_mut().output = data;
        Ok(())
    })?;
    l.func_wrap(m, imports::STORAGE_GET.name, |mut c: Ctx<'_>, kp: i32, kl: i32| -> Res<i32> {
        let key = read(&mut c, kp, kl, limits::MAX_KEY_BYTES, "key")?;
        match c.data_mut().host.get(&key) {
            Some(value) => set_result(&mut c, value),
            None => Ok(ABSENT),
        }
    })?;
    l.func_wrap(
        m,
        imports::STORAGE_SET.name,
        |mut c: Ctx<'_>, kp: i32, kl: i32, vp: i32, vl: i32| -> Res<()> {
            let key = read(&mut c, kp, kl, limits::MAX_KEY_BYTES, "key")?;
            let value = read(&mut c, vp, vl, limits::MAX_VALUE_BYTES, "value")?;
            may_write(&mut c, &key, key.len() + value.len())?;
            c.data_mut().host.set(&key, &value);
            Ok(())
        },
    )?;
    l.func_wrap(m, imports::STORAGE_REMOVE.name, |mut c: Ctx<'_>, kp: i32, kl: i32| -> Res<i32> {
        let key = read(&mut c, kp, kl, limits::MAX_KEY_BYTES, "key")?;
        may_write(&mut c, &key, key.len())?;
        Ok(i32::from(c.data_mut().host.remove(&key)))
    })?;
    l.func_wrap(m, imports::STORAGE_ITER.name, |mut c: Ctx<'_>, pp: i32, pl: i32| -> Res<i32> {
        if c.data().iterators >= limits::MAX_ITERATORS {
            return refuse(&mut c, "too many iterators");
        }
        let prefix = read(&mut c, pp, pl, limits::MAX_KEY_BYTES, "prefix")?;
        c.data_mut().iterators += 1;
        Ok(c.data_mut().host.iter_open(&prefix).0)
    })?;
    l.func_wrap(m, imports::STORAGE_NEXT.name, |mut c: Ctx<'_>, handle: i32| -> Res<i32> {
        charge(&mut c, 0)?;
        match c.data_mut().host.iter_next(IterHandle(handle)) {
            Some((key, value)) => {
                set_result(&mut c, borsh::to_vec(&IterEntry { key, value }).unwrap_or_default())
            }
            None => Ok(ABSENT),
        }
    })?;
    l.func_wrap(m, imports::EMIT.name, |mut c: Ctx<'_>, tp: i32, tl: i32, dp: i32, dl: i32| -> Res<()> {
        if c.data().events >= limits::MAX_EVENTS {
            return refuse(&mut c, "too many events");
        }
        let topic = read(&mut c, tp, tl, limits::MAX_TOPIC_BYTES, "topic")?;
        let data = read(&mut c, dp, dl, limits::MAX_EVENT_DATA_BYTES, "event data")?;
        c.data_mut().events += 1;
        c.data_mut().host.emit(&topic, &data);
        Ok(())
    })?;
    l.func_wrap(m, imports::CALLER.name, |mut c: Ctx<'_>, ptr: i32| -> Res<()> {
        let caller = c.data().caller;
        write(&mut c, ptr, &caller.0)
    })?;
    l.func_wrap(m, imports::BLOCK_HEIGHT.name, |mut c: Ctx<'_>| -> Res<i64> {
        charge(&mut c, 0)?;
        Ok(c.data_mut().host.block_height() as i64)
    })?;
    l.func_wrap(m, imports::BLOCK_TIME.name, |mut c: Ctx<'_>| -> Res<i64> {
        charge(&mut c, 0)?;
        Ok(c.data_mut().host.block_time_ms() as i64)
    })?;
    l.func_wrap(m, imports::GAS_LEFT.name, |mut c: Ctx<'_>| -> Res<i64> {
        // Consuming the call's price reports what is left.
        match c.consume_fuel(HOST_CALL_FUEL) {
            Ok(left) => Ok(left as i64),
            Err(_) => charge(&mut c, 0).map(|()| 0),
        }
    })?;
    l.func_wrap(m, imports::ABORT.name, |mut c: Ctx<'_>, ptr: i32, len: i32| -> Res<()> {
        // Over-long messages are cut rather than refused, as on chain: the abort still happens.
        let len = len.clamp(0, limits::MAX_ABORT_BYTES as i32);
        let message = read(&mut c, ptr, len, limits::MAX_ABORT_BYTES, "abort message")?;
        stop(&mut c, WasmError::Abort(String::from_utf8_lossy(&message).into_owned()))
    })?;
    l.func_wrap(m, imports::SELF_ADDRESS.name, |mut c: Ctx<'_>, ptr: i32| -> Res<()> {
        let own = c.data().self_address;
        write(&mut c, ptr, &own.0)
    })?;
    l.func_wrap(
        m,
        imports::CALL_SYSTEM.name,
        |mut c: Ctx<'_>, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32| -> Res<i32> {
            // As on chain: only uploaded contracts may, and the wallet runs none.
            refuse(&mut c, "only uploaded contracts may call system modules")
        },
    )?;
    Ok(l)
}

#[cfg(test)]
mod tests;
