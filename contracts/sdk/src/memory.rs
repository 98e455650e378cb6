//! A native, in-memory [`Host`]: how contract logic runs in unit tests, property tests and the
//! native half of the differential harness. It follows the VM's semantics: writes are recorded as a
//! write set, an `Err` discards them, iterators step to the first key after the previous one in the
//! current state, and the ABI limits (sizes, events, iterators, write set) end the call with the
//! same host error the VM reports. Gas is not modelled: it is tested in Wasm only.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::ops::Bound;

use tao_abi::{Event, limits};
use tao_types::Address;

use crate::{Contract, Host, IterHandle};

/// A system module's entry point as native tests provide it to a contract's `call_system`.
pub type SystemEntry = fn(&mut MemoryHost) -> Result<(), String>;

/// How a native run ended (the subset of VM outcomes that logic can produce).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NativeOutcome {
    /// The handler returned `Ok`.
    Ok,
    /// The handler returned `Err` with this message.
    Abort(String),
    /// The handler broke an ABI limit; the message is the VM's host error text.
    HostError(String),
}

/// Everything a native run produced, shaped like the VM's execution result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeRun {
    /// How it ended.
    pub outcome: NativeOutcome,
    /// Output bytes (empty on abort).
    pub output: Vec<u8>,
    /// Events (empty on abort).
    pub events: Vec<Event>,
    /// Writes (empty on abort).
    pub writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

/// Committed state plus the context of the next call.
#[derive(Debug, Clone, Default)]
pub struct MemoryHost {
    /// Committed storage.
    pub storage: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Caller of the next call.
    pub caller: Address,
    /// Block height of the next call.
    pub block_height: u64,
    /// Block time of the next call.
    pub block_time_ms: u64,
    /// The account of the code under test (`self_address`).
    pub self_address: Address,
    /// The system entry points a contract under test may call, by (module, entry).
    pub systems: BTreeMap<(String, String), SystemEntry>,
    call: Call,
}

#[derive(Debug, Clone, Default)]
struct Call {
    input: Vec<u8>,
    output: Vec<u8>,
    events: Vec<Event>,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    cursors: Vec<(Vec<u8>, Option<Vec<u8>>, bool)>,
    written_bytes: u64,
    violation: Option<String>,
    /// A nested system call failed with this message: the whole call fails with it.
    nested_failure: Option<String>,
}

impl Call {
    /// Records the first limit broken; every later host operation is a no-op, as the VM would
    /// have stopped the call here.
    fn broken(&mut self, message: String) -> bool {
        if self.violation.is_none() {
            self.violation = Some(message);
        }
        true
    }

    fn too_long(&mut self, what: &str, len: usize, limit: u32) -> bool {
        if self.violation.is_some() {
            return true;
        }
        if len > limit as usize {
            return self.broken(alloc::format!("{what} is {len} bytes, limit is {limit}"));
        }
        false
    }

    fn record_write(&mut self, key: &[u8], value: Option<&[u8]>) {
        self.written_bytes += (key.len() + value.map_or(0, <[u8]>::len)) as u64;
        self.writes.insert(key.to_vec(), value.map(<[u8]>::to_vec));
        if self.written_bytes > u64::from(limits::MAX_WRITE_SET_BYTES) {
            self.broken("write set above the limit".into());
        }
    }
}

impl MemoryHost {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `handler` with `input` as one call; commits its writes only if it returns `Ok`.
    pub fn run<E: core::fmt::Display>(
        &mut self,
        input: &[u8],
        handler: impl FnOnce(&mut Self) -> Result<(), E>,
    ) -> NativeRun {
        let before = self.storage.clone();
        self.call = Call { input: input.to_vec(), ..Call::default() };
        if input.len() > limits::MAX_INPUT_BYTES as usize {
            let message =
                alloc::format!("input is {} bytes, limit is {}", input.len(), limits::MAX_INPUT_BYTES);
            return NativeRun::failed(NativeOutcome::HostError(message));
        }
        let result = handler(self);
        let call = core::mem::take(&mut self.call);
        if let Some(message) = call.violation {
            self.storage = before;
            return NativeRun::failed(NativeOutcome::HostError(message));
        }
        if let Some(message) = call.nested_failure {
            self.storage = before;
            return NativeRun::failed(NativeOutcome::Abort(message));
        }
        match result {
            Ok(()) => NativeRun {
                outcome: NativeOutcome::Ok,
                output: call.output,
                events: call.events,
                writes: call.writes,
            },
            Err(e) => {
                self.storage = before;
                NativeRun::failed(NativeOutcome::Abort(e.to_string()))
            }
        }
    }
}

impl MemoryHost {
    /// Lets contracts under test call `module`'s `entry` natively (`call_system`).
    pub fn with_system(mut self, module: &str, entry: &str, handler: SystemEntry) -> Self {
        self.systems.insert((module.into(), entry.into()), handler);
        self
    }
}

impl Contract for MemoryHost {
    fn self_address(&mut self) -> Address {
        self.self_address
    }

    /// Runs the registered handler as the contract's account on the same state, as the VM does;
    /// its failure fails the whole call.
    fn call_system(&mut self, module: &str, entry: &str, input: &[u8]) -> Vec<u8> {
        if self.call.violation.is_some() || self.call.nested_failure.is_some() {
            return Vec::new();
        }
        let Some(handler) = self.systems.get(&(module.to_string(), entry.to_string())).copied() else {
            self.call.broken(alloc::format!("no system module `{module}` with entry `{entry}`"));
            return Vec::new();
        };
        let caller = core::mem::replace(&mut self.caller, self.self_address);
        let input = core::mem::replace(&mut self.call.input, input.to_vec());
        let output = core::mem::take(&mut self.call.output);
        let result = handler(self);
        self.caller = caller;
        self.call.input = input;
        let inner = core::mem::replace(&mut self.call.output, output);
        if let Err(message) = result {
            self.call.nested_failure = Some(message);
        }
        inner
    }
}

/// Test account `n`: its big-endian bytes, then a nonzero last byte, so never the chain's all-zero
/// address.
pub fn test_address(n: u16) -> Address {
    let mut a = [0u8; 20];
    a[..2].copy_from_slice(&n.to_be_bytes());
    a[19] = 1;
    Address(a)
}

impl MemoryHost {
    /// Runs `f` as one call by `caller` at `block`, like a transaction: its writes stay only on
    /// success, and a failure comes back as the text a receipt would record.
    pub fn call_as<T, E: core::fmt::Display>(
        &mut self,
        caller: Address,
        block: u64,
        f: impl FnOnce(&mut Self) -> Result<T, E>,
    ) -> Result<(), String> {
        self.caller = caller;
        self.block_height = block;
        match self.run(&[], |h| f(h).map(|_| ())).outcome {
            NativeOutcome::Ok => Ok(()),
            NativeOutcome::Abort(m) | NativeOutcome::HostError(m) => Err(m),
        }
    }
}

impl NativeRun {
    fn failed(outcome: NativeOutcome) -> Self {
        NativeRun { outcome, output: Vec::new(), events: Vec::new(), writes: BTreeMap::new() }
    }
}

impl Host for MemoryHost {
    fn input(&mut self) -> Vec<u8> {
        self.call.input.clone()
    }

    fn set_output(&mut self, data: &[u8]) {
        if !self.call.too_long("output", data.len(), limits::MAX_OUTPUT_BYTES) {
            self.call.output = data.to_vec();
        }
    }

    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        if self.call.too_long("key", key.len(), limits::MAX_KEY_BYTES) {
            return None;
        }
        self.storage.get(key).cloned()
    }

    fn set(&mut self, key: &[u8], value: &[u8]) {
        if self.call.too_long("key", key.len(), limits::MAX_KEY_BYTES)
            || self.call.too_long("value", value.len(), limits::MAX_VALUE_BYTES)
        {
            return;
        }
        self.storage.insert(key.to_vec(), value.to_vec());
        self.call.record_write(key, Some(value));
    }

    fn remove(&mut self, key: &[u8]) -> bool {
        if self.call.too_long("key", key.len(), limits::MAX_KEY_BYTES) {
            return false;
        }
        self.call.record_write(key, None);
        self.storage.remove(key).is_some()
    }

    fn iter_open(&mut self, prefix: &[u8]) -> IterHandle {
        if self.call.violation.is_none() && self.call.cursors.len() >= limits::MAX_ITERATORS as usize {
            self.call.broken("too many iterators".into());
        }
        if self.call.too_long("prefix", prefix.len(), limits::MAX_KEY_BYTES) {
            return IterHandle(-1);
        }
        self.call.cursors.push((prefix.to_vec(), None, false));
        IterHandle(self.call.cursors.len() as i32 - 1)
    }

    fn iter_next(&mut self, iter: IterHandle) -> Option<(Vec<u8>, Vec<u8>)> {
        if self.call.violation.is_some() {
            return None;
        }
        let (prefix, last, done) = self.call.cursors.get(usize::try_from(iter.0).ok()?)?.clone();
        if done {
            return None;
        }
        let lower = match &last {
            Some(l) => Bound::Excluded(l.clone()),
            None => Bound::Included(prefix.clone()),
        };
        let next = self
            .storage
            .range((lower, Bound::Unbounded))
            .next()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(k, v)| (k.clone(), v.clone()));
        let cursor = &mut self.call.cursors[iter.0 as usize];
        match &next {
            Some((k, _)) => cursor.1 = Some(k.clone()),
            None => cursor.2 = true,
        }
        next
    }

    fn emit(&mut self, topic: &[u8], data: &[u8]) {
        if self.call.violation.is_none() && self.call.events.len() >= limits::MAX_EVENTS as usize {
            self.call.broken("too many events".into());
        }
        if self.call.too_long("topic", topic.len(), limits::MAX_TOPIC_BYTES)
            || self.call.too_long("event data", data.len(), limits::MAX_EVENT_DATA_BYTES)
        {
            return;
        }
        self.call.events.push(Event { topic: topic.to_vec(), data: data.to_vec() });
    }

    fn caller(&mut self) -> Address {
        self.caller
    }

    fn block_height(&mut self) -> u64 {
        self.block_height
    }

    fn block_time_ms(&mut self) -> u64 {
        self.block_time_ms
    }
}
