//! The host functions of ABI v1, linked by name from [`tao_abi::imports`].
//!
//! Every function charges gas before it works, checks lengths before it copies, and never
//! panics: a refusal is recorded as a typed [`HostError`] in the store and ends the call.

use std::sync::Arc;

use tao_abi::{ABSENT, Event, IterEntry, access, imports, limits};
use tao_types::Address;
use wasmtime::{Caller, Linker, Memory, StoreLimits};

use crate::gas::GasSchedule;
use crate::outcome::{HostError, Outcome, VmFault};
use crate::storage::Overlay;
use crate::{SystemModules, instrument};

/// Who is calling, in which block, and what the running code may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallContext {
    /// The account that made the call.
    pub caller: Address,
    /// Height of the block being executed.
    pub block_height: u64,
    /// Its timestamp in unix milliseconds (from the header, never the clock).
    pub block_time_ms: u64,
    /// The state the running code may read and write (`tao_abi::access`).
    pub access: Access,
}

/// The capability of the running code over state, enforced on every storage call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Access {
    /// A system module: reads everything, writes all but the chain's and contracts' state.
    #[default]
    System,
    /// An uploaded contract at this address: touches only its own namespace, and reaches the
    /// rest through `call_system`.
    Contract(Address),
    /// Reads everything, writes nothing (incentive modules, queries).
    ReadOnly,
}

/// A storage operation, as access refusals name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageOp {
    /// `storage_get`.
    Read,
    /// `storage_set`.
    Write,
    /// `storage_remove`.
    Remove,
    /// `storage_iter`.
    Iterate,
}

impl Access {
    /// Whether code with this access may do `op` on `key` (for iteration: on every key under
    /// the prefix `key`).
    pub fn allows(&self, op: StorageOp, key: &[u8]) -> bool {
        let writes = matches!(op, StorageOp::Write | StorageOp::Remove);
        match self {
            Access::System => !writes || access::system_may_write(key),
            Access::Contract(address) => key.starts_with(&access::contract_prefix(address)),
            Access::ReadOnly => !writes,
        }
    }
}

/// Why a host function ended the call.
#[derive(Debug)]
pub(crate) enum Stop {
    OutOfGas,
    Abort(String),
    Host(HostError),
    /// A nested `call_system` ended this way; the whole call ends with it.
    Nested(Outcome),
    /// The node could not run a nested call (no instance slot, say): a node fault.
    Fault(VmFault),
}

struct Cursor {
    prefix: Vec<u8>,
    last: Option<Vec<u8>>,
    done: bool,
}

/// The store's data for one call.
pub(crate) struct HostState {
    pub(crate) gas: Arc<GasSchedule>,
    pub(crate) context: CallContext,
    pub(crate) input: Vec<u8>,
    pub(crate) result: Vec<u8>,
    pub(crate) output: Vec<u8>,
    pub(crate) events: Vec<Event>,
    pub(crate) overlay: Overlay,
    cursors: Vec<Cursor>,
    pub(crate) memory: Option<Memory>,
    pub(crate) stop: Option<Stop>,
    pub(crate) limits: StoreLimits,
    /// The account of the running code (`self_address`).
    pub(crate) self_address: Address,
    /// The system modules a contract may call, by name; `None` outside transactions.
    pub(crate) systems: Option<Arc<SystemModules>>,
}

impl HostState {
    pub(crate) fn new(
        gas: Arc<GasSchedule>,
        context: CallContext,
        input: Vec<u8>,
        overlay: Overlay,
        limits: StoreLimits,
        self_address: Address,
        systems: Option<Arc<SystemModules>>,
    ) -> Self {
        HostState {
            gas,
            context,
            input,
            result: Vec::new(),
            output: Vec::new(),
            events: Vec::new(),
            overlay,
            cursors: Vec::new(),
            memory: None,
            stop: None,
            limits,
            self_address,
            systems,
        }
    }
}

type Ctx<'a> = Caller<'a, HostState>;
type HostResult<T> = wasmtime::Result<T>;

/// Records why the call stops and returns the error that unwinds the guest.
fn stop<T>(caller: &mut Ctx<'_>, why: Stop) -> HostResult<T> {
    caller.data_mut().stop = Some(why);
    Err(wasmtime::Error::msg("host stopped the call"))
}

fn fail<T>(caller: &mut Ctx<'_>, e: HostError) -> HostResult<T> {
    stop(caller, Stop::Host(e))
}

/// Takes `amount` gas from the store's fuel, or ends the call out of gas.
fn charge(caller: &mut Ctx<'_>, amount: u64) -> HostResult<()> {
    let left = caller.get_fuel()?;
    match left.checked_sub(amount) {
        Some(rest) => caller.set_fuel(rest),
        None => {
            caller.set_fuel(0)?;
            stop(caller, Stop::OutOfGas)
        }
    }
}

/// Checks a guest length against a limit and makes it a usize.
fn length(caller: &mut Ctx<'_>, len: i32, limit: u32, what: &'static str) -> HostResult<usize> {
    if len < 0 {
        return fail(caller, HostError::Negative);
    }
    if len as u32 > limit {
        return fail(caller, HostError::TooLong { what, len: len as u64, limit });
    }
    Ok(len as usize)
}

/// Copies `len` bytes at `ptr` out of guest memory (the length is already checked and charged).
fn read(caller: &mut Ctx<'_>, ptr: i32, len: usize) -> HostResult<Vec<u8>> {
    if ptr < 0 {
        return fail(caller, HostError::Negative);
    }
    let Some(memory) = caller.data().memory else { return fail(caller, HostError::OutOfBounds) };
    let mut buf = vec![0u8; len];
    if memory.read(&*caller, ptr as usize, &mut buf).is_err() {
        return fail(caller, HostError::OutOfBounds);
    }
    Ok(buf)
}

fn write(caller: &mut Ctx<'_>, ptr: i32, data: &[u8]) -> HostResult<()> {
    if ptr < 0 {
        return fail(caller, HostError::Negative);
    }
    let Some(memory) = caller.data().memory else { return fail(caller, HostError::OutOfBounds) };
    if memory.write(&mut *caller, ptr as usize, data).is_err() {
        return fail(caller, HostError::OutOfBounds);
    }
    Ok(())
}

/// Charges the base plus per-byte price and reads a bounded buffer.
fn read_bounded(
    caller: &mut Ctx<'_>,
    ptr: i32,
    len: i32,
    limit: u32,
    what: &'static str,
) -> HostResult<Vec<u8>> {
    let len = length(caller, len, limit, what)?;
    let cost = caller.data().gas.copy(len);
    charge(caller, cost)?;
    read(caller, ptr, len)
}

/// Puts `data` in the result buffer and returns its length.
fn set_result(caller: &mut Ctx<'_>, data: Vec<u8>) -> i32 {
    let len = data.len() as i32;
    caller.data_mut().result = data;
    len
}

fn gas(caller: &Ctx<'_>) -> Arc<GasSchedule> {
    caller.data().gas.clone()
}

/// Charges the flat host-call price plus `extra`.
fn enter(caller: &mut Ctx<'_>, extra: u64) -> HostResult<()> {
    let cost = caller.data().gas.host_call.saturating_add(extra);
    charge(caller, cost)
}

/// Links every ABI v1 function into `linker`.
pub(crate) fn link(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    let m = tao_abi::IMPORT_MODULE;
    linker.func_wrap(m, imports::INPUT.name, |mut c: Ctx<'_>| -> HostResult<i32> {
        let cost = gas(&c).copy(c.data().input.len());
        enter(&mut c, cost)?;
        let input = c.data().input.clone();
        Ok(set_result(&mut c, input))
    })?;
    linker.func_wrap(m, imports::RESULT_READ.name, |mut c: Ctx<'_>, ptr: i32| -> HostResult<()> {
        let cost = gas(&c).copy(c.data().result.len());
        enter(&mut c, cost)?;
        let result = std::mem::take(&mut c.data_mut().result);
        write(&mut c, ptr, &result)
    })?;
    linker.func_wrap(m, imports::OUTPUT.name, |mut c: Ctx<'_>, ptr: i32, len: i32| -> HostResult<()> {
        enter(&mut c, 0)?;
        let data = read_bounded(&mut c, ptr, len, limits::MAX_OUTPUT_BYTES, "output")?;
        c.data_mut().output = data;
        Ok(())
    })?;
    linker.func_wrap(
        m,
        imports::STORAGE_GET.name,
        |mut c: Ctx<'_>, kp: i32, kl: i32| -> HostResult<i32> {
            let g = gas(&c);
            charge(&mut c, g.host_call + g.storage_read)?;
            let key = read_bounded(&mut c, kp, kl, limits::MAX_KEY_BYTES, "key")?;
            charge(&mut c, g.storage_read_per_byte.saturating_mul(key.len() as u64))?;
            guard(&mut c, StorageOp::Read, &key)?;
            match c.data().overlay.get(&key) {
                Some(value) => {
                    charge(&mut c, g.storage_read_per_byte.saturating_mul(value.len() as u64))?;
                    Ok(set_result(&mut c, value))
                }
                None => Ok(ABSENT),
            }
        },
    )?;
    linker.func_wrap(
        m,
        imports::STORAGE_SET.name,
        |mut c: Ctx<'_>, kp: i32, kl: i32, vp: i32, vl: i32| -> HostResult<()> {
            let g = gas(&c);
            charge(&mut c, g.host_call + g.storage_write)?;
            let key_len = length(&mut c, kl, limits::MAX_KEY_BYTES, "key")?;
            let value_len = length(&mut c, vl, limits::MAX_VALUE_BYTES, "value")?;
            charge(&mut c, g.storage_write_per_byte.saturating_mul((key_len + value_len) as u64))?;
            let key = read_bounded(&mut c, kp, kl, limits::MAX_KEY_BYTES, "key")?;
            guard(&mut c, StorageOp::Write, &key)?;
            let value = read_bounded(&mut c, vp, vl, limits::MAX_VALUE_BYTES, "value")?;
            put(&mut c, key, Some(value))
        },
    )?;
    linker.func_wrap(
        m,
        imports::STORAGE_REMOVE.name,
        |mut c: Ctx<'_>, kp: i32, kl: i32| -> HostResult<i32> {
            let g = gas(&c);
            charge(&mut c, g.host_call + g.storage_remove)?;
            let key = read_bounded(&mut c, kp, kl, limits::MAX_KEY_BYTES, "key")?;
            guard(&mut c, StorageOp::Remove, &key)?;
            let existed = c.data().overlay.get(&key).is_some();
            put(&mut c, key, None)?;
            Ok(i32::from(existed))
        },
    )?;
    linker.func_wrap(
        m,
        imports::STORAGE_ITER.name,
        |mut c: Ctx<'_>, pp: i32, pl: i32| -> HostResult<i32> {
            let g = gas(&c);
            charge(&mut c, g.host_call + g.iter_open)?;
            if c.data().cursors.len() >= limits::MAX_ITERATORS as usize {
                return fail(&mut c, HostError::TooManyIterators);
            }
            let prefix = read_bounded(&mut c, pp, pl, limits::MAX_KEY_BYTES, "prefix")?;
            guard(&mut c, StorageOp::Iterate, &prefix)?;
            let cursors = &mut c.data_mut().cursors;
            cursors.push(Cursor { prefix, last: None, done: false });
            Ok(cursors.len() as i32 - 1)
        },
    )?;
    linker.func_wrap(m, imports::STORAGE_NEXT.name, |mut c: Ctx<'_>, handle: i32| -> HostResult<i32> {
        let g = gas(&c);
        charge(&mut c, g.host_call + g.iter_next)?;
        let Some(cursor) = usize::try_from(handle).ok().and_then(|h| c.data().cursors.get(h)) else {
            return fail(&mut c, HostError::UnknownIterator(handle));
        };
        if cursor.done {
            return Ok(ABSENT);
        }
        let next = c.data().overlay.next_after(&cursor.prefix, cursor.last.as_deref());
        let cursor = &mut c.data_mut().cursors[handle as usize];
        let Some((key, value)) = next else {
            cursor.done = true;
            return Ok(ABSENT);
        };
        cursor.last = Some(key.clone());
        charge(&mut c, g.storage_read_per_byte.saturating_mul((key.len() + value.len()) as u64))?;
        let entry = borsh::to_vec(&IterEntry { key, value }).unwrap_or_default();
        Ok(set_result(&mut c, entry))
    })?;
    linker.func_wrap(
        m,
        imports::EMIT.name,
        |mut c: Ctx<'_>, tp: i32, tl: i32, dp: i32, dl: i32| -> HostResult<()> {
            let g = gas(&c);
            charge(&mut c, g.host_call + g.emit)?;
            if c.data().events.len() >= limits::MAX_EVENTS as usize {
                return fail(&mut c, HostError::TooManyEvents);
            }
            let topic_len = length(&mut c, tl, limits::MAX_TOPIC_BYTES, "topic")?;
            let data_len = length(&mut c, dl, limits::MAX_EVENT_DATA_BYTES, "event data")?;
            charge(&mut c, g.emit_per_byte.saturating_mul((topic_len + data_len) as u64))?;
            let topic = read(&mut c, tp, topic_len)?;
            let data = read(&mut c, dp, data_len)?;
            c.data_mut().events.push(Event { topic, data });
            Ok(())
        },
    )?;
    linker.func_wrap(m, imports::CALLER.name, |mut c: Ctx<'_>, ptr: i32| -> HostResult<()> {
        let g = gas(&c);
        charge(&mut c, g.host_call + g.copy(20))?;
        let caller = c.data().context.caller;
        write(&mut c, ptr, &caller.0)
    })?;
    linker.func_wrap(m, imports::BLOCK_HEIGHT.name, |mut c: Ctx<'_>| -> HostResult<i64> {
        enter(&mut c, 0)?;
        Ok(c.data().context.block_height as i64)
    })?;
    linker.func_wrap(m, imports::BLOCK_TIME.name, |mut c: Ctx<'_>| -> HostResult<i64> {
        enter(&mut c, 0)?;
        Ok(c.data().context.block_time_ms as i64)
    })?;
    linker.func_wrap(m, imports::GAS_LEFT.name, |mut c: Ctx<'_>| -> HostResult<i64> {
        enter(&mut c, 0)?;
        Ok(c.get_fuel()? as i64)
    })?;
    linker.func_wrap(m, imports::ABORT.name, |mut c: Ctx<'_>, ptr: i32, len: i32| -> HostResult<()> {
        enter(&mut c, 0)?;
        // Over-long messages are cut rather than refused: the abort still happens.
        let len = len.clamp(0, limits::MAX_ABORT_BYTES as i32);
        let bytes = read_bounded(&mut c, ptr, len, limits::MAX_ABORT_BYTES, "abort message")?;
        stop(&mut c, Stop::Abort(String::from_utf8_lossy(&bytes).into_owned()))
    })?;
    linker.func_wrap(m, imports::SELF_ADDRESS.name, |mut c: Ctx<'_>, ptr: i32| -> HostResult<()> {
        let g = gas(&c);
        charge(&mut c, g.host_call + g.copy(20))?;
        let own = c.data().self_address;
        write(&mut c, ptr, &own.0)
    })?;
    linker.func_wrap(
        m,
        imports::CALL_SYSTEM.name,
        |mut c: Ctx<'_>, mp: i32, ml: i32, ep: i32, el: i32, ip: i32, il: i32| -> HostResult<i32> {
            let g = gas(&c);
            charge(&mut c, g.host_call.saturating_add(g.call_base))?;
            let module = read_bounded(&mut c, mp, ml, limits::MAX_MODULE_NAME_BYTES, "module name")?;
            let entry = read_bounded(&mut c, ep, el, limits::MAX_ENTRY_NAME_BYTES, "entry name")?;
            let input = read_bounded(&mut c, ip, il, limits::MAX_INPUT_BYTES, "input")?;
            let module = String::from_utf8_lossy(&module).into_owned();
            let entry = String::from_utf8_lossy(&entry).into_owned();
            let output = call_system(&mut c, &module, &entry, input)?;
            Ok(set_result(&mut c, output))
        },
    )?;
    Ok(())
}

/// Refuses a storage operation the running code's [`Access`] does not allow. The operation's
/// gas is already charged: a refused attempt is not free.
fn guard(caller: &mut Ctx<'_>, op: StorageOp, key: &[u8]) -> HostResult<()> {
    if caller.data().context.access.allows(op, key) {
        return Ok(());
    }
    fail(caller, HostError::AccessDenied { op, key: readable_key(key) })
}

/// A key as text: its printable ASCII start as is, the rest in hex (`token/bal/0x1a64…`).
fn readable_key(key: &[u8]) -> String {
    let text = key.iter().take_while(|b| b.is_ascii_graphic()).count();
    let (start, rest) = key.split_at(text);
    let mut shown = String::from_utf8_lossy(start).into_owned();
    if !rest.is_empty() {
        shown.push_str("0x");
        shown.extend(rest.iter().map(|b| format!("{b:02x}")));
    }
    shown
}

/// What a call frame owns; swapped out while a nested system call runs on the same store.
struct Frame {
    context: CallContext,
    self_address: Address,
    input: Vec<u8>,
    output: Vec<u8>,
    cursors: Vec<Cursor>,
    memory: Option<Memory>,
}

impl Frame {
    fn swap(self, state: &mut HostState) -> Frame {
        Frame {
            context: std::mem::replace(&mut state.context, self.context),
            self_address: std::mem::replace(&mut state.self_address, self.self_address),
            input: std::mem::replace(&mut state.input, self.input),
            output: std::mem::replace(&mut state.output, self.output),
            cursors: std::mem::replace(&mut state.cursors, self.cursors),
            memory: std::mem::replace(&mut state.memory, self.memory),
        }
    }
}

/// Runs `entry` of system module `module` for the contract that is running: a fresh instance in
/// the same store (same gas, same overlay, same events), as the contract's own account, with
/// system access; the contract's stack budget carries over so the nesting stays within one
/// deterministic stack limit. Only contracts may call, so nesting is one level deep and there is
/// no re-entrancy. Returns the inner call's output; any failure ends the whole call.
fn call_system(caller: &mut Ctx<'_>, module: &str, entry: &str, input: Vec<u8>) -> HostResult<Vec<u8>> {
    let Access::Contract(contract) = caller.data().context.access else {
        return fail(caller, HostError::NotAContract);
    };
    let prepared = caller.data().systems.as_ref().and_then(|systems| systems.get(module).cloned());
    let Some(prepared) = prepared else { return fail(caller, HostError::NoSuchModule(module.into())) };
    let used = stack_units(caller);
    let instance = match prepared.pre.instantiate(&mut *caller) {
        Ok(instance) => instance,
        Err(e) => return stop(caller, Stop::Fault(VmFault::Instantiate(format!("{e:#}")))),
    };
    let func = match instance.get_typed_func::<(), ()>(&mut *caller, entry) {
        Ok(func) if !entry.starts_with("__") => func,
        _ => return stop(caller, Stop::Nested(Outcome::NoSuchEntry(entry.into()))),
    };
    if let Some(counter) = instance.get_global(&mut *caller, instrument::STACK_EXPORT) {
        counter.set(&mut *caller, wasmtime::Val::I32(used))?;
    }
    let inner = Frame {
        context: CallContext { caller: contract, access: Access::System, ..caller.data().context },
        self_address: tao_abi::access::contract_address(&prepared.code_hash),
        input,
        output: Vec::new(),
        cursors: Vec::new(),
        memory: instance.get_memory(&mut *caller, tao_abi::MEMORY_EXPORT),
    };
    let outer = inner.swap(caller.data_mut());
    let result = func.call(&mut *caller, ());
    let inner = outer.swap(caller.data_mut());
    match result {
        Ok(()) => Ok(inner.output),
        Err(error) => {
            if caller.data().stop.is_none() {
                let units = stack_units_of(caller, &instance);
                let why = crate::classify_trap(&error, units).map_or_else(Stop::Fault, Stop::Nested);
                caller.data_mut().stop = Some(why);
            }
            Err(error)
        }
    }
}

/// The stack units the running instance has used (its injected counter).
fn stack_units(caller: &mut Ctx<'_>) -> i32 {
    caller
        .get_export(instrument::STACK_EXPORT)
        .and_then(|e| e.into_global())
        .and_then(|g| g.get(&mut *caller).i32())
        .unwrap_or(0)
}

fn stack_units_of(caller: &mut Ctx<'_>, instance: &wasmtime::Instance) -> i32 {
    instance
        .get_global(&mut *caller, instrument::STACK_EXPORT)
        .and_then(|g| g.get(&mut *caller).i32())
        .unwrap_or(0)
}

/// Records a write, enforcing the write-set limit.
fn put(caller: &mut Ctx<'_>, key: Vec<u8>, value: Option<Vec<u8>>) -> HostResult<()> {
    caller.data_mut().overlay.set(key, value);
    if caller.data().overlay.written_bytes > u64::from(limits::MAX_WRITE_SET_BYTES) {
        return fail(caller, HostError::WriteSetTooLarge);
    }
    Ok(())
}
