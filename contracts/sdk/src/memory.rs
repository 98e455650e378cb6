//! A native, in-memory [`Host`]: how contract logic runs in unit tests, property tests and the
//! native half of the differential harness. It follows the VM's semantics exactly: writes are
//! recorded as a write set, an `Err` discards them, iterators step to the first key after the
//! previous one in the current state.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::ops::Bound;

use tao_abi::Event;
use tao_types::Address;

use crate::{Host, IterHandle};

/// How a native run ended (the subset of VM outcomes that logic can produce).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NativeOutcome {
    /// The handler returned `Ok`.
    Ok,
    /// The handler returned `Err` with this message.
    Abort(String),
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
    call: Call,
}

#[derive(Debug, Clone, Default)]
struct Call {
    input: Vec<u8>,
    output: Vec<u8>,
    events: Vec<Event>,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    cursors: Vec<(Vec<u8>, Option<Vec<u8>>, bool)>,
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
        let result = handler(self);
        let call = core::mem::take(&mut self.call);
        match result {
            Ok(()) => NativeRun {
                outcome: NativeOutcome::Ok,
                output: call.output,
                events: call.events,
                writes: call.writes,
            },
            Err(e) => {
                self.storage = before;
                NativeRun {
                    outcome: NativeOutcome::Abort(e.to_string()),
                    output: Vec::new(),
                    events: Vec::new(),
                    writes: BTreeMap::new(),
                }
            }
        }
    }
}

impl Host for MemoryHost {
    fn input(&mut self) -> Vec<u8> {
        self.call.input.clone()
    }

    fn set_output(&mut self, data: &[u8]) {
        self.call.output = data.to_vec();
    }

    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        self.storage.get(key).cloned()
    }

    fn set(&mut self, key: &[u8], value: &[u8]) {
        self.storage.insert(key.to_vec(), value.to_vec());
        self.call.writes.insert(key.to_vec(), Some(value.to_vec()));
    }

    fn remove(&mut self, key: &[u8]) -> bool {
        self.call.writes.insert(key.to_vec(), None);
        self.storage.remove(key).is_some()
    }

    fn iter_open(&mut self, prefix: &[u8]) -> IterHandle {
        self.call.cursors.push((prefix.to_vec(), None, false));
        IterHandle(self.call.cursors.len() as i32 - 1)
    }

    fn iter_next(&mut self, iter: IterHandle) -> Option<(Vec<u8>, Vec<u8>)> {
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
