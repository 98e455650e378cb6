//! Contract code run on proven state. The wallet calls the contracts' own functions (compiled
//! into it) with a [`ProvenHost`]: every read is answered only from values verified against a
//! certified state root; a read of an unknown key is recorded, and the caller fetches the
//! missing proofs and runs again ([`attempt`] → [`Attempt::Need`]). Writes stay in the run's
//! overlay, so a transaction's effect can be previewed without touching anything.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;
use tao_sdk::{Address, Event, Host, IterHandle};

use crate::{Chain, Proven, VerifyError};

/// Most fetch-and-run rounds one computation may take.
pub const MAX_ROUNDS: usize = 12;
/// Most proven values one computation may hold (fewer than the rounds could fetch).
pub const MAX_VALUES: usize = 4_096;

/// Values verified against the root certified at one height (`None`: proven absent). Shared
/// (cheap to clone) so a run can own its view of them, as the Wasm interpreter requires.
#[derive(Debug, Clone, Default)]
pub struct ProvenState {
    height: u64,
    values: Arc<BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
}

impl ProvenState {
    /// Nothing proven yet at `height`.
    pub fn new(height: u64) -> Self {
        ProvenState { height, values: Arc::default() }
    }

    /// The height of the root everything here is proven against.
    pub fn height(&self) -> u64 {
        self.height
    }

    /// How many values are proven.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether nothing is proven yet.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Adds `key`'s value from a `state_get` reply after checking its proof against `chain`'s
    /// certified root at this height. The key is ours: a reply about another key is refused.
    pub fn absorb(&mut self, chain: &Chain, key: &[u8], reply: &Value) -> Result<(), VerifyError> {
        let value = chain.state_value(key, self.height, reply)?;
        if self.values.len() >= MAX_VALUES {
            return Err(VerifyError::Unprovable(format!("more than {MAX_VALUES} values needed")));
        }
        Arc::make_mut(&mut self.values).insert(key.to_vec(), value);
        Ok(())
    }
}

pub use tao_light::keys::describe as describe_key;

/// The context of a run: who calls, at which block, with which input.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The calling account.
    pub caller: Address,
    /// Block height seen by the code (the next block, for a preview).
    pub block_height: u64,
    /// Block time seen by the code.
    pub block_time_ms: u64,
    /// Entry point input.
    pub input: Vec<u8>,
}

/// What a finished run did.
#[derive(Debug, Clone, Default)]
pub struct Effects {
    /// Every write (`None`: removed).
    pub writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// The output bytes.
    pub output: Vec<u8>,
    /// Events emitted.
    pub events: Vec<Event>,
}

/// A host whose state is a [`ProvenState`] plus the run's own writes. It owns what it reads
/// (the state is shared, not copied), so on-chain bytes can run on it under [`crate::wasm`].
#[derive(Debug, Default)]
pub struct ProvenHost {
    state: ProvenState,
    context: Context,
    effects: Effects,
    missing: BTreeSet<Vec<u8>>,
    iterated: bool,
}

impl ProvenHost {
    /// The run's effects so far, to [`ProvenHost::rollback`] to if a call fails.
    pub fn checkpoint(&self) -> Effects {
        self.effects.clone()
    }

    /// Drops what a failed call wrote, emitted or output (the keys it found missing stay).
    pub fn rollback(&mut self, to: Effects) {
        self.effects = to;
    }

    /// Runs `f` as `caller` with `input` (one entry point of several in a run), then restores
    /// the run's own caller and input.
    pub fn with_call<T>(&mut self, caller: Address, input: Vec<u8>, f: impl FnOnce(&mut Self) -> T) -> T {
        let saved = (self.context.caller, std::mem::replace(&mut self.context.input, input));
        self.context.caller = caller;
        let out = f(self);
        (self.context.caller, self.context.input) = saved;
        out
    }

    /// The output the last call set.
    pub fn output(&self) -> &[u8] {
        &self.effects.output
    }

    /// The value under `key` as this run sees it (`None` if absent or not yet proven).
    pub fn read(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        if let Some(written) = self.effects.writes.get(key) {
            return written.clone();
        }
        match self.state.values.get(key) {
            Some(value) => value.clone(),
            None => {
                self.missing.insert(key.to_vec());
                None
            }
        }
    }
}

impl Host for ProvenHost {
    fn input(&mut self) -> Vec<u8> {
        self.context.input.clone()
    }
    fn set_output(&mut self, data: &[u8]) {
        self.effects.output = data.to_vec();
    }
    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        self.read(key)
    }
    fn set(&mut self, key: &[u8], value: &[u8]) {
        self.effects.writes.insert(key.to_vec(), Some(value.to_vec()));
    }
    fn remove(&mut self, key: &[u8]) -> bool {
        let existed = self.read(key).is_some();
        self.effects.writes.insert(key.to_vec(), None);
        existed
    }
    fn iter_open(&mut self, _prefix: &[u8]) -> IterHandle {
        // A proof of one key says nothing of the keys beside it: iteration is not provable.
        self.iterated = true;
        IterHandle(0)
    }
    fn iter_next(&mut self, _iter: IterHandle) -> Option<(Vec<u8>, Vec<u8>)> {
        None
    }
    fn emit(&mut self, topic: &[u8], data: &[u8]) {
        self.effects.events.push(Event { topic: topic.to_vec(), data: data.to_vec() });
    }
    fn caller(&mut self) -> Address {
        self.context.caller
    }
    fn block_height(&mut self) -> u64 {
        self.context.block_height
    }
    fn block_time_ms(&mut self) -> u64 {
        self.context.block_time_ms
    }
}

/// One run's outcome: done, or the keys whose proofs it still needs.
#[derive(Debug)]
pub enum Attempt<T> {
    /// Every read was proven; the result and the run's effects.
    Done(T, Effects),
    /// Fetch and absorb these keys' proofs, then run again.
    Need(Vec<Vec<u8>>),
}

/// Runs `f` (contract code) on state proven at `height`: fetches what it reads with `fetch`
/// (a `state_get` batch in, the batch reply out: the only I/O, the caller's), checks every
/// value against `chain` and runs again, at most [`MAX_ROUNDS`] times. The wallet and the JS
/// package read through this one loop.
pub async fn read<T, Fut>(
    chain: &Chain,
    height: u64,
    context: Context,
    f: impl Fn(&mut ProvenHost) -> T,
    mut fetch: impl FnMut(serde_json::Value) -> Fut,
) -> Result<Proven<T>, VerifyError>
where
    Fut: core::future::Future<Output = Result<serde_json::Value, VerifyError>>,
{
    let mut state = ProvenState::new(height);
    for _ in 0..MAX_ROUNDS {
        match attempt(&state, &context, &f)? {
            Attempt::Done(value, _) => return Ok(Proven { value, height }),
            Attempt::Need(keys) => {
                let reply = fetch(crate::rpc::state_batch(&keys, height)).await?;
                for (key, answer) in keys.iter().zip(crate::rpc::batch_results(&reply, keys.len())?) {
                    state.absorb(chain, key, &answer)?;
                }
            }
        }
    }
    Err(VerifyError::Unprovable(format!("needed more than {MAX_ROUNDS} rounds of proofs")))
}

/// Runs `f` on `state`. Code that iterates over keys is refused: its answer could leave out
/// entries no proof accounts for.
pub fn attempt<T>(
    state: &ProvenState,
    context: &Context,
    f: impl FnOnce(&mut ProvenHost) -> T,
) -> Result<Attempt<T>, VerifyError> {
    let mut host = ProvenHost { state: state.clone(), context: context.clone(), ..ProvenHost::default() };
    let out = f(&mut host);
    // Keys still missing first: code that read a missing key as absent may have taken a path
    // (to an iteration) it would not take on the whole state.
    if !host.missing.is_empty() {
        return Ok(Attempt::Need(host.missing.into_iter().take(crate::rpc::MAX_BATCH).collect()));
    }
    if host.iterated {
        return Err(VerifyError::Unprovable(
            "this view iterates over keys, which proofs cannot cover".into(),
        ));
    }
    Ok(Attempt::Done(out, host.effects))
}
