//! The host functions of ABI v1, linked by name from [`tao_abi::imports`].
//!
//! Every function charges gas before it works, checks lengths before it copies, and never
//! panics: a refusal is recorded as a typed [`HostError`] in the store and ends the call.

use std::sync::Arc;

use tao_abi::{ABSENT, Event, IterEntry, imports, limits};
use tao_types::Address;
use wasmtime::{Caller, Linker, Memory, StoreLimits};

use crate::gas::GasSchedule;
use crate::outcome::HostError;
use crate::storage::Overlay;

/// Who is calling and in which block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallContext {
    /// The account that made the call.
    pub caller: Address,
    /// Height of the block being executed.
    pub block_height: u64,
    /// Its timestamp in unix milliseconds (from the header, never the clock).
    pub block_time_ms: u64,
}

/// Why a host function ended the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    OutOfGas,
    Abort(String),
    Host(HostError),
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
}

impl HostState {
    pub(crate) fn new(
        gas: Arc<GasSchedule>,
        context: CallContext,
        input: Vec<u8>,
        overlay: Overlay,
        limits: StoreLimits,
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
    Ok(())
}

/// Records a write, enforcing the write-set limit.
fn put(caller: &mut Ctx<'_>, key: Vec<u8>, value: Option<Vec<u8>>) -> HostResult<()> {
    caller.data_mut().overlay.set(key, value);
    if caller.data().overlay.written_bytes > u64::from(limits::MAX_WRITE_SET_BYTES) {
        return fail(caller, HostError::WriteSetTooLarge);
    }
    Ok(())
}
