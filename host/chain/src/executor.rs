//! Executes a block's begin-block hooks and transactions against a state snapshot, with no I/O:
//! the caller gives the committed state and gets back the block's writes and receipts.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use tao_contract_governance::Action;
use tao_contract_token as token;
use tao_crypto::ChainDomain;
use tao_tx::{SignedTransaction, VerifiedTransaction};
use tao_types::{Address, Hash};
use tao_vm::{
    Access, CallContext, CodeClass, Execution, Layered, Outcome, Prepared, Storage, SystemModules, Vm,
    WriteSet,
};

use crate::keys;
use crate::validators::Slashes;
use tao_light::{Receipt, TxOutcome, merkle_root};

/// Gas of each begin-block hook call: chain work, bounded by its own loops, not by users.
pub const HOOK_GAS: u64 = 20_000_000_000;
/// Gas of a read-only query.
pub const QUERY_GAS: u64 = 2_000_000_000;
pub use tao_abi::access::QUERY_CALLER;
pub use tao_light::MAX_BLOCK_TXS;

/// The system modules every chain installs, by name (`tao_contract_<name>.wasm` when built).
pub const SYSTEM_MODULES: [&str; 7] =
    ["token", "subnets", "neurons", "staking", "weights", "incentive", "governance"];
/// Begin-block hooks, in order: (module, entry point). The incentive hook's output names the
/// epochs the chain then runs with subnets' own modules.
pub const BEGIN_BLOCK: &[(&str, &str)] =
    &[("neurons", "entry_on_block"), ("incentive", "entry_on_block"), ("governance", "entry_on_block")];
/// Gas a subnet's own incentive module may burn on one epoch.
pub const MODULE_EPOCH_GAS: u64 = 2_000_000_000;
/// Most gas one block's transactions may use in all: each runs with its own gas or what the block
/// has left, whichever is less. With the hooks' own work, the slowest allowed block stays well
/// inside the block time (docs/vm.md, "Budgets").
pub const BLOCK_GAS_LIMIT: u64 = 8_000_000_000;
/// Gas to compile uploaded code, per byte of it: paid at deploy, and by the first call of each
/// block that runs it (a node's compiled-module cache is its own business, not consensus).
pub const COMPILE_GAS_PER_BYTE: u64 = 500;
/// Gas to compile uploaded code, per function it defines: Cranelift's cost is mostly per
/// function (about 0.8 ms each on the reference machine, BENCHMARKS.md), so many tiny functions
/// cannot compile for the price of their few bytes.
pub const COMPILE_GAS_PER_FUNCTION: u64 = 1_500_000;
/// Bytes of code whose compiled modules the executor keeps; the least recently used go first.
pub const MODULE_CACHE_BYTES: usize = 64 << 20;
pub use tao_tx::DEPLOY;

/// A call's events: `(topic, data)`.
pub type Events = Vec<(Vec<u8>, Vec<u8>)>;

/// A block the executor cannot apply: a node or protocol fault, never a user's error (those go
/// into receipts).
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// A transaction's signature, chain id or encoding is wrong.
    #[error("transaction {index}: {error}")]
    InvalidTx {
        /// Position in the block.
        index: usize,
        /// Why.
        error: tao_tx::TxError,
    },
    /// A transaction's nonce is not the sender's next one.
    #[error("transaction {index}: nonce {got}, expected {expected}")]
    BadNonce {
        /// Position in the block.
        index: usize,
        /// The sender's next nonce.
        expected: u64,
        /// The nonce given.
        got: u64,
    },
    /// A transaction's sender cannot pay its fee.
    #[error("transaction {index} cannot pay its fee: {reason}")]
    CannotPay {
        /// Position in the block.
        index: usize,
        /// The token module's answer.
        reason: String,
    },
    /// Too many transactions.
    #[error("{0} transactions; at most {MAX_BLOCK_TXS}")]
    TooManyTxs(usize),
    /// A node fault (no instance slot, say) while running transaction `index`: a proposer
    /// leaves the transaction out; nothing is recorded.
    #[error("transaction {index}: node fault: {fault}")]
    TxFault {
        /// Position in the block (or among the candidates).
        index: usize,
        /// The fault.
        fault: String,
    },
    /// A system module is missing or was refused.
    #[error("system module {0}: {1}")]
    Module(String, String),
    /// A begin-block hook failed: the protocol itself is broken.
    #[error("hook {module}::{entry} failed: {outcome}")]
    Hook {
        /// Module.
        module: String,
        /// Entry point.
        entry: String,
        /// How it failed.
        outcome: String,
    },
    /// The staking contract refused to slash an offender of the block's evidence: the block
    /// is invalid, and a proposer leaves that piece out.
    #[error("slashing validator {} failed: {outcome}", offender.address())]
    Slash {
        /// The offender's consensus key (boxed: it would double every `ChainError`'s size).
        offender: Box<tao_crypto::PublicKey>,
        /// How the slash failed.
        outcome: String,
    },
    /// The VM could not run at all.
    #[error("vm: {0}")]
    Vm(#[from] tao_vm::VmFault),
}

/// What a block did.
#[derive(Debug, Clone)]
pub struct Executed {
    /// All writes, to commit with the block.
    pub writes: WriteSet,
    /// One receipt per transaction.
    pub receipts: Vec<Receipt>,
    /// Events of the begin-block work (epochs, fallbacks, governance), in order.
    pub events: Events,
    /// Merkle root of the transaction hashes.
    pub txs_root: Hash,
    /// Merkle root of the receipt hashes.
    pub receipts_root: Hash,
}

/// A block a proposer built from candidate transactions.
#[derive(Debug)]
pub struct BuiltBlock {
    /// The transactions included, in order.
    pub txs: Vec<SignedTransaction>,
    /// Their hashes, in the same order.
    pub hashes: Vec<Hash>,
    /// What the block did.
    pub executed: Executed,
    /// Candidates the chain refuses (bad nonce, cannot pay, node fault), with why:
    /// never included, and never re-run. Candidates that did not fit (gas, count) or follow a
    /// refused or left-out one of the same sender are neither included nor refused.
    pub refused: Vec<(Hash, ChainError)>,
}

/// A block being built by a proposer ([`Executor::builder`]): its begin-block work is done;
/// each pushed candidate runs once on a checkpoint of the block's state and is kept, or rolled
/// back (only the keys it touched) and never re-run.
pub struct BlockBuilder<'e> {
    executor: &'e Executor,
    run: BlockRun,
    txs: Vec<SignedTransaction>,
    hashes: Vec<Hash>,
    refused: Vec<(Hash, ChainError)>,
    /// Senders whose next transactions cannot run in this block.
    held: BTreeSet<Address>,
    /// Candidates pushed so far (the index a refusal names).
    pushed: usize,
}

/// What became of a pushed candidate.
#[derive(Debug)]
pub enum Pushed<'b> {
    /// In the block, with its receipt (its call may still have failed: it paid its fee).
    Included(&'b Receipt),
    /// Refused by the chain (nonce, fee, node fault): left out and never re-run.
    Refused(&'b ChainError),
    /// Left for a later block: the block is full (count, or gas for its call), or an earlier
    /// candidate of its sender was refused or held.
    Held,
}

impl BlockBuilder<'_> {
    /// Runs `candidate` (its signature already checked, e.g. at mempool admission) on top of
    /// the block so far. A refusal or a held candidate leaves no trace in the block. An error is
    /// a node or protocol fault that ends the block.
    pub fn push(&mut self, candidate: &VerifiedTransaction) -> Result<Pushed<'_>, ChainError> {
        let (index, signed) = (self.pushed, candidate.signed());
        self.pushed = self.pushed.saturating_add(1);
        let sender = signed.tx.sender;
        if self.held.contains(&sender) || self.txs.len() >= MAX_BLOCK_TXS {
            // Its later nonces cannot run without it: they wait too.
            self.held.insert(sender);
            return Ok(Pushed::Held);
        }
        let run = &mut self.run;
        let (warm, gas) = (run.warm.clone(), run.gas);
        let cut = run.gas_left() < tx_gas(signed);
        run.state.checkpoint();
        match self.executor.apply_tx(run, index, signed, candidate.hash()) {
            Ok(receipt)
                if cut && matches!(&receipt.outcome, TxOutcome::Failed(m) if m.starts_with("out of gas")) =>
            {
                run.state.rollback();
                (run.warm, run.gas) = (warm, gas);
                self.held.insert(sender);
                Ok(Pushed::Held)
            }
            Ok(receipt) => {
                run.state.commit();
                run.receipts.push(receipt);
                self.txs.push(signed.clone());
                self.hashes.push(candidate.hash());
                Ok(run.receipts.last().map_or(Pushed::Held, Pushed::Included))
            }
            Err(
                e @ (ChainError::BadNonce { .. } | ChainError::CannotPay { .. } | ChainError::TxFault { .. }),
            ) => {
                run.state.rollback();
                (run.warm, run.gas) = (warm, gas);
                self.held.insert(sender);
                self.refused.push((candidate.hash(), e));
                Ok(self.refused.last().map_or(Pushed::Held, |(_, e)| Pushed::Refused(e)))
            }
            Err(e) => {
                run.state.rollback();
                Err(e)
            }
        }
    }

    /// The block: the included transactions, what it did, and the refused candidates.
    pub fn finish(self) -> BuiltBlock {
        BuiltBlock {
            executed: self.run.finish(&self.hashes),
            txs: self.txs,
            hashes: self.hashes,
            refused: self.refused,
        }
    }
}

/// One block's execution in progress: its state, system modules, context, gas, receipts and
/// warm code.
struct BlockRun {
    state: Layered,
    systems: Systems,
    context: CallContext,
    /// Uploaded code already compiled for this block (the first call paid for it).
    warm: BTreeSet<Hash>,
    gas: u64,
    receipts: Vec<Receipt>,
    events: Events,
}

impl BlockRun {
    /// Gas the block's transactions may still use.
    fn gas_left(&self) -> u64 {
        BLOCK_GAS_LIMIT.saturating_sub(self.gas)
    }

    fn finish(self, tx_hashes: &[Hash]) -> Executed {
        let txs_root = merkle_root(tx_hashes);
        let receipts_root = merkle_root(&self.receipts.iter().map(Receipt::hash).collect::<Vec<_>>());
        Executed {
            writes: self.state.into_writes(),
            receipts: self.receipts,
            events: self.events,
            txs_root,
            receipts_root,
        }
    }
}

/// The system modules of one state by name, resolved once: a block resolves them after its
/// upgrades and uses them for every call. Nothing else in a block changes `sys/module/*`: no code
/// may write under `sys/` (`tao_abi::access::system_may_write`, contracts only their own
/// prefix), and `deploy` writes only code and entry points, addressed by hash.
#[derive(Clone)]
struct Systems(Arc<SystemModules>);

impl Systems {
    /// The module registered as `name`.
    fn get(&self, name: &str) -> Result<&Prepared, ChainError> {
        self.0.get(name).ok_or_else(|| ChainError::Module(name.into(), "not registered".into()))
    }

    /// The code hash registered as `name`, if any.
    fn hash(&self, name: &str) -> Option<Hash> {
        self.0.get(name).map(|m| m.code_hash)
    }

    /// The module whose code is `hash`, if it is registered as a system module.
    fn by_hash(&self, hash: &Hash) -> Option<&Prepared> {
        self.0.values().find(|m| m.code_hash == *hash)
    }
}

/// A compiled module and what compiling it costs in gas.
#[derive(Clone)]
struct Loaded {
    prepared: Prepared,
    compile_gas: u64,
}

/// Compiled modules by code hash and the class they were admitted as (the same bytes may serve
/// as a system module after a governance upgrade and as uploaded code), bounded by code bytes:
/// the least recently used go first.
#[derive(Default)]
struct ModuleCache {
    entries: BTreeMap<(Hash, Class), (Loaded, usize, u64)>,
    bytes: usize,
    tick: u64,
}

impl ModuleCache {
    fn get(&mut self, key: &(Hash, Class)) -> Option<Loaded> {
        self.tick += 1;
        let (loaded, _, used) = self.entries.get_mut(key)?;
        *used = self.tick;
        Some(loaded.clone())
    }

    fn insert(&mut self, key: (Hash, Class), loaded: Loaded, bytes: usize) {
        self.tick += 1;
        if let Some((_, old, _)) = self.entries.insert(key, (loaded, bytes, self.tick)) {
            self.bytes -= old;
        }
        self.bytes += bytes;
        while self.bytes > MODULE_CACHE_BYTES && self.entries.len() > 1 {
            let oldest = self.entries.iter().min_by_key(|(_, (_, _, used))| *used).map(|(k, _)| *k);
            let Some((_, bytes, _)) = oldest.and_then(|k| self.entries.remove(&k)) else { break };
            self.bytes -= bytes;
        }
    }
}

/// The block executor: the VM and the chain's signing domain.
pub struct Executor {
    vm: Vm,
    domain: ChainDomain,
    modules: Mutex<ModuleCache>,
}

/// [`CodeClass`] as a cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    System,
    Uploaded,
}

impl Class {
    fn code_class(self) -> CodeClass {
        match self {
            Class::System => CodeClass::System,
            Class::Uploaded => CodeClass::Uploaded,
        }
    }
}

/// What compiling code costs: by its size and its number of functions.
pub fn compile_gas(report: &tao_vm::AdmissionReport) -> u64 {
    (report.size_bytes as u64)
        .saturating_mul(COMPILE_GAS_PER_BYTE)
        .saturating_add(u64::from(report.functions).saturating_mul(COMPILE_GAS_PER_FUNCTION))
}

/// A failed call's text as receipts record it: an abort's own message, else the outcome.
fn failure(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Abort(message) => message.clone(),
        other => other.to_string(),
    }
}

impl Executor {
    /// An executor for the chain `domain`.
    pub fn new(vm: Vm, domain: ChainDomain) -> Executor {
        Executor { vm, domain, modules: Mutex::new(ModuleCache::default()) }
    }

    /// The same executor (and its compiled modules) for another signing domain: genesis builds
    /// the executor before the genesis hash exists.
    pub fn with_domain(self, domain: ChainDomain) -> Executor {
        Executor { domain, ..self }
    }

    /// The chain's signing domain.
    pub fn domain(&self) -> &ChainDomain {
        &self.domain
    }

    /// The compiled module with code `hash` in `state`, admitted as `class`, if any. Only code
    /// registered under `sys/module/*` runs as `System`; everything else is `Uploaded`.
    fn module(&self, state: &Layered, hash: &Hash, class: Class) -> Result<Option<Prepared>, ChainError> {
        Ok(self.loaded(state, hash, class)?.map(|l| l.prepared))
    }

    fn loaded(&self, state: &Layered, hash: &Hash, class: Class) -> Result<Option<Loaded>, ChainError> {
        if let Some(loaded) = self.modules.lock().map_err(|_| poisoned())?.get(&(*hash, class)) {
            return Ok(Some(loaded));
        }
        let Some(code) = state.get(&keys::code(hash)) else { return Ok(None) };
        let admitted = self
            .vm
            .admit(&code, class.code_class())
            .map_err(|e| ChainError::Module(hash.to_string(), e.to_string()))?;
        let loaded =
            Loaded { prepared: self.vm.prepare(&admitted)?, compile_gas: compile_gas(&admitted.report) };
        self.modules.lock().map_err(|_| poisoned())?.insert((*hash, class), loaded.clone(), code.len());
        Ok(Some(loaded))
    }

    /// The code hash registered as system module `name`, if any.
    fn system_hash(state: &Layered, name: &str) -> Option<Hash> {
        state.get(&keys::module(name)).and_then(|h| <[u8; 32]>::try_from(h.as_slice()).ok()).map(Hash)
    }

    /// Every registered system module of `state`, by name: what its calls run, and what a
    /// contract may reach with `call_system`.
    fn systems(&self, state: &Layered) -> Result<Systems, ChainError> {
        let mut modules = SystemModules::new();
        for name in SYSTEM_MODULES {
            if Self::system_hash(state, name).is_some() {
                modules.insert(name.to_string(), self.system_module(state, name)?);
            }
        }
        Ok(Systems(Arc::new(modules)))
    }

    /// The system module registered as `name`.
    fn system_module(&self, state: &Layered, name: &str) -> Result<Prepared, ChainError> {
        let hash = Self::system_hash(state, name)
            .ok_or_else(|| ChainError::Module(name.into(), "not registered".into()))?;
        self.module(state, &hash, Class::System)?
            .ok_or_else(|| ChainError::Module(name.into(), "code missing".into()))
    }

    /// Runs `entry` of `module` on a frozen snapshot of `state` (shared, not copied).
    fn call(
        &self,
        state: &Layered,
        module: &Prepared,
        entry: &str,
        input: &[u8],
        context: CallContext,
        gas: u64,
    ) -> Result<Execution, ChainError> {
        Ok(self.vm.call(module, entry, input, context, state.snapshot(), gas)?)
    }

    /// Runs `entry` of system module `name` as the chain; its failure is a [`ChainError`].
    pub fn system_call(
        &self,
        state: &mut Layered,
        name: &str,
        entry: &str,
        input: &[u8],
        context: CallContext,
    ) -> Result<Execution, ChainError> {
        self.call_as(state, name, entry, input, CallContext { caller: token::SYSTEM, ..context })
    }

    /// Runs `entry` of system module `name` as `context.caller` with the hooks' gas and applies
    /// its writes; its failure is a [`ChainError`] (genesis and hooks must not fail).
    pub fn call_as(
        &self,
        state: &mut Layered,
        name: &str,
        entry: &str,
        input: &[u8],
        context: CallContext,
    ) -> Result<Execution, ChainError> {
        let systems = self.systems(state)?;
        self.hook(state, &systems, name, entry, input, context)
    }

    /// [`Executor::call_as`] with the system modules already resolved.
    fn hook(
        &self,
        state: &mut Layered,
        systems: &Systems,
        name: &str,
        entry: &str,
        input: &[u8],
        context: CallContext,
    ) -> Result<Execution, ChainError> {
        let exec = self.call(state, systems.get(name)?, entry, input, context, HOOK_GAS)?;
        if !exec.outcome.is_ok() {
            let outcome = failure(&exec.outcome);
            return Err(ChainError::Hook { module: name.into(), entry: entry.into(), outcome });
        }
        state.apply(&exec.writes);
        Ok(exec)
    }

    /// [`Executor::hook`] as the chain.
    fn chain_hook(
        &self,
        state: &mut Layered,
        systems: &Systems,
        name: &str,
        entry: &str,
        input: &[u8],
        context: CallContext,
    ) -> Result<Execution, ChainError> {
        self.hook(state, systems, name, entry, input, CallContext { caller: token::SYSTEM, ..context })
    }

    /// Runs entry point `entry` of system module `name` read-only on `state` (a query: the
    /// writes are returned, never applied), as an account that is not the chain.
    pub fn query(
        &self,
        state: Arc<dyn Storage + Send + Sync>,
        name: &str,
        entry: &str,
        input: &[u8],
        context: CallContext,
    ) -> Result<Execution, ChainError> {
        let layered = Layered::new(state);
        let module = self.system_module(&layered, name)?;
        // System access: a query may compute through writes (a quote simulates its swap); they
        // are returned, never applied.
        let context = CallContext { caller: QUERY_CALLER, access: Access::System, ..context };
        self.call(&layered, &module, entry, input, context, QUERY_GAS)
    }

    /// Validates a received block at `height` and `time_ms` on `state`: every signature first,
    /// in parallel (the first invalid one by index is the error, whatever the threads did), then
    /// the begin-block hooks and each transaction in order, without verifying again (the most
    /// its fee limit can be charged held first; nonce; call, with its gas or what is left of
    /// [`BLOCK_GAS_LIMIT`], whichever is less; the hold beyond its bytes and gas used
    /// refunded). A failed call leaves only its fee and nonce; an invalid transaction
    /// makes the whole block invalid. A block [`Executor::build`] made gives the same result.
    pub fn validate(
        &self,
        state: Arc<dyn Storage + Send + Sync>,
        height: u64,
        time_ms: u64,
        txs: &[SignedTransaction],
        slashes: &Slashes,
    ) -> Result<Executed, ChainError> {
        if txs.len() > MAX_BLOCK_TXS {
            return Err(ChainError::TooManyTxs(txs.len()));
        }
        let hashes = self.verify_all(txs)?;
        let mut run = self.begin(state, height, time_ms, slashes)?;
        for (index, (signed, hash)) in txs.iter().zip(&hashes).enumerate() {
            let receipt = self.apply_tx(&mut run, index, signed, *hash)?;
            run.receipts.push(receipt);
        }
        Ok(run.finish(&hashes))
    }

    /// Checks every signature of `txs` on all cores; their hashes, or the first invalid one by
    /// index.
    fn verify_all(&self, txs: &[SignedTransaction]) -> Result<Vec<Hash>, ChainError> {
        let checked: Vec<Result<Hash, tao_tx::TxError>> = txs
            .par_iter()
            .map(|signed| tao_tx::verify(signed, &self.domain).map(|()| signed.hash()))
            .collect();
        checked
            .into_iter()
            .enumerate()
            .map(|(index, result)| result.map_err(|error| ChainError::InvalidTx { index, error }))
            .collect()
    }

    /// Builds a block at `height` and `time_ms` from verified `candidates` (in the order a
    /// proposer prefers), each pushed once through a [`BlockBuilder`]. The result passes
    /// [`Executor::validate`].
    pub fn build(
        &self,
        state: Arc<dyn Storage + Send + Sync>,
        height: u64,
        time_ms: u64,
        candidates: &[VerifiedTransaction],
        slashes: &Slashes,
    ) -> Result<BuiltBlock, ChainError> {
        let mut builder = self.builder(state, height, time_ms, slashes)?;
        for candidate in candidates {
            builder.push(candidate)?;
        }
        Ok(builder.finish())
    }

    /// Starts a block at `height` and `time_ms` on `state` for a proposer: due upgrades, the
    /// begin-block hooks and the slashes run now, then candidates are pushed one at a time.
    pub fn builder(
        &self,
        state: Arc<dyn Storage + Send + Sync>,
        height: u64,
        time_ms: u64,
        slashes: &Slashes,
    ) -> Result<BlockBuilder<'_>, ChainError> {
        Ok(BlockBuilder {
            executor: self,
            run: self.begin(state, height, time_ms, slashes)?,
            txs: Vec::new(),
            hashes: Vec::new(),
            refused: Vec::new(),
            held: BTreeSet::new(),
            pushed: 0,
        })
    }

    /// A block's start: due upgrades, then the system modules they leave (resolved once for the
    /// block), then the begin-block hooks, then the slashes of the block's evidence (after the
    /// hooks, so an epoch's new set loses its offenders too).
    fn begin(
        &self,
        state: Arc<dyn Storage + Send + Sync>,
        height: u64,
        time_ms: u64,
        slashes: &Slashes,
    ) -> Result<BlockRun, ChainError> {
        let context = CallContext {
            caller: token::SYSTEM,
            block_height: height,
            block_time_ms: time_ms,
            access: Access::System,
        };
        let mut state = Layered::new(state);
        let mut events = self.activate_upgrades(&mut state, context)?;
        let systems = self.systems(&state)?;
        let mut warm = BTreeSet::new();
        events.extend(self.begin_block(&mut state, &systems, &mut warm, context)?);
        for (offender, entry, input) in slashes.calls() {
            let exec = self.chain_hook(&mut state, &systems, "staking", entry, &input, context).map_err(
                |e| match e {
                    ChainError::Hook { outcome, .. } => {
                        ChainError::Slash { offender: Box::new(offender), outcome }
                    }
                    fault => fault,
                },
            )?;
            events.extend(exec.events.iter().map(|e| (e.topic.clone(), e.data.clone())));
        }
        Ok(BlockRun { state, systems, context, warm, gas: 0, receipts: Vec::new(), events })
    }

    /// Applies the module upgrades governance scheduled for `height` before anything else runs
    /// in that block, so the new code serves the whole block and every one after it. Each is
    /// checked again first ([`Executor::check_upgrade`]); one that fails leaves the old code in
    /// place and an `upgrade_refused` event `(name, code, reason)` in the block.
    fn activate_upgrades(&self, state: &mut Layered, context: CallContext) -> Result<Events, ChainError> {
        let key = tao_contract_governance::upgrades_key(context.block_height);
        let Some(bytes) = state.get(&key) else { return Ok(Events::new()) };
        let due: Vec<(String, Hash)> = tao_codec::decode(&bytes, tao_abi::limits::MAX_VALUE_BYTES as usize)
            .map_err(|e| ChainError::Hook {
            module: "governance".into(),
            entry: "upgrades".into(),
            outcome: e.to_string(),
        })?;
        let mut events = Events::new();
        for (name, code) in due {
            match self.check_upgrade(state, &name, &code, context) {
                Ok(()) => {
                    if let Some(old) = Self::system_hash(state, &name) {
                        state.set(keys::retired(&old), Some(name.as_bytes().to_vec()));
                    }
                    if state.get(&keys::retired(&code)).is_some() {
                        state.set(keys::retired(&code), None);
                    }
                    state.set(keys::module(&name), Some(code.0.to_vec()));
                }
                Err(reason) => {
                    let data = borsh::to_vec(&(name, code, reason)).unwrap_or_default();
                    events.push((b"upgrade_refused".to_vec(), data));
                }
            }
        }
        Ok(events)
    }

    /// Whether system module `name` may become code `code`: the code is deployed, passes
    /// admission as system code, exports every entry point of the module's interface
    /// (`tao_abi::interfaces`), and a dry run — this block's begin-block hooks, a fee charge and a
    /// refund, on a throwaway overlay over `state` with the new code — succeeds. Otherwise, why not.
    pub fn check_upgrade(
        &self,
        state: &Layered,
        name: &str,
        code: &Hash,
        context: CallContext,
    ) -> Result<(), String> {
        let interface =
            tao_abi::interfaces::of(name).ok_or_else(|| format!("`{name}` is not a system module"))?;
        let bytes = state.get(&keys::code(code)).ok_or_else(|| format!("code {code} is not deployed"))?;
        let admitted =
            self.vm.admit(&bytes, CodeClass::System).map_err(|e| format!("code {code} is refused: {e}"))?;
        if let Some(entry) = tao_abi::interfaces::missing(interface, &admitted.report.entry_points) {
            return Err(format!("code {code} lacks `{entry}` of the {name} interface"));
        }
        let dry_run = |e: ChainError| format!("dry run: {e}");
        let mut trial = Layered::new(state.snapshot());
        trial.set(keys::module(name), Some(code.0.to_vec()));
        let systems = self.systems(&trial).map_err(dry_run)?;
        self.begin_block(&mut trial, &systems, &mut BTreeSet::new(), context).map_err(dry_run)?;
        let zero_fee = borsh::to_vec(&(token::SYSTEM, 0u64)).unwrap_or_default();
        self.chain_hook(&mut trial, &systems, "token", "entry_charge_fee", &zero_fee, context)
            .map_err(dry_run)?;
        let zero_refund = borsh::to_vec(&(token::SYSTEM, 0u64, 0u64)).unwrap_or_default();
        self.chain_hook(&mut trial, &systems, "token", "entry_refund_fee", &zero_refund, context)
            .map_err(dry_run)?;
        Ok(())
    }

    /// The begin-block hooks in order, then the epochs of subnets' own modules; their events.
    fn begin_block(
        &self,
        state: &mut Layered,
        systems: &Systems,
        warm: &mut BTreeSet<Hash>,
        context: CallContext,
    ) -> Result<Events, ChainError> {
        let mut events = Events::new();
        for (module, entry) in BEGIN_BLOCK {
            let exec = self.chain_hook(state, systems, module, entry, &[], context)?;
            events.extend(exec.events.iter().map(|e| (e.topic.clone(), e.data.clone())));
            if *module == "incentive" {
                events.extend(self.module_epochs(state, systems, warm, &exec.output, context)?);
            }
        }
        Ok(events)
    }

    /// Runs the epochs the incentive hook left to subnets' own modules: each module gets the
    /// epoch's input, and whatever it returns — or why it failed — goes back to the incentive
    /// module, which validates it and falls back to Yuma.
    fn module_epochs(
        &self,
        state: &mut Layered,
        systems: &Systems,
        warm: &mut BTreeSet<Hash>,
        hook_output: &[u8],
        context: CallContext,
    ) -> Result<Events, ChainError> {
        let epochs: tao_contract_incentive::BlockEpochs =
            borsh::from_slice(hook_output).map_err(|e| ChainError::Hook {
                module: "incentive".into(),
                entry: "entry_on_block".into(),
                outcome: e.to_string(),
            })?;
        let mut events = Events::new();
        for (netuid, hash) in epochs.custom {
            let netuid_bytes = borsh::to_vec(&netuid).unwrap_or_default();
            let input = self
                .chain_hook(state, systems, "incentive", "entry_epoch_input", &netuid_bytes, context)?
                .output;
            let result = self.run_incentive_module(state, warm, &hash, &input, context);
            let args = borsh::to_vec(&(netuid, hash, result)).unwrap_or_default();
            let applied =
                self.chain_hook(state, systems, "incentive", "entry_apply_module_epoch", &args, context)?;
            events.extend(applied.events.iter().map(|e| (e.topic.clone(), e.data.clone())));
        }
        Ok(events)
    }

    /// Runs a subnet's module on its epoch `input` with [`MODULE_EPOCH_GAS`] (less its compile
    /// gas, if this block has not run it yet), read-only: its output, or why it failed.
    fn run_incentive_module(
        &self,
        state: &Layered,
        warm: &mut BTreeSet<Hash>,
        hash: &Hash,
        input: &[u8],
        context: CallContext,
    ) -> Result<Vec<u8>, String> {
        let loaded =
            self.loaded(state, hash, Class::Uploaded).map_err(|e| e.to_string())?.ok_or("code missing")?;
        let gas = warm_up(warm, hash, loaded.compile_gas, MODULE_EPOCH_GAS)
            .ok_or("out of gas compiling the module")?;
        let context = CallContext { caller: QUERY_CALLER, access: Access::ReadOnly, ..context };
        let exec = self
            .call(state, &loaded.prepared, "entry_epoch", input, context, gas)
            .map_err(|e| e.to_string())?;
        if exec.outcome.is_ok() { Ok(exec.output) } else { Err(exec.outcome.to_string()) }
    }

    /// Deploys `code` (a transaction to [`DEPLOY`]) with `gas`: admitted as uploaded code, its
    /// compile gas paid, stored under its hash with its entry points. Returns the outcome, the
    /// gas used and the `code_deployed` event.
    fn deploy(&self, run: &mut BlockRun, method: &[u8], code: &[u8], gas: u64) -> (TxOutcome, u64, Events) {
        if method != b"deploy" {
            return (TxOutcome::Failed("the deploy target only has the method deploy".into()), 0, Vec::new());
        }
        let admitted = match self.vm.admit(code, CodeClass::Uploaded) {
            Ok(admitted) => admitted,
            Err(e) => return (TxOutcome::Failed(format!("module refused: {e}")), 0, Vec::new()),
        };
        let cost = compile_gas(&admitted.report);
        let hash = admitted.code_hash;
        if warm_up(&mut run.warm, &hash, cost, gas).is_none() {
            let why =
                format!("out of gas: compiling {} bytes costs {cost} gas, the limit is {gas}", code.len());
            return (TxOutcome::Failed(why), gas, Vec::new());
        }
        run.state.set(keys::code(&hash), Some(code.to_vec()));
        let entries = borsh::to_vec(&admitted.report.entry_points).unwrap_or_default();
        run.state.set(keys::entries(&hash), Some(entries));
        (TxOutcome::Ok, cost, vec![(b"code_deployed".to_vec(), hash.0.to_vec())])
    }

    /// The sender's next nonce in `state`.
    pub fn nonce(state: &dyn Storage, sender: &Address) -> u64 {
        keys::nonce_value(state.get(&keys::nonce(sender)).as_deref())
    }

    /// Runs transaction `index` of the block, whose signature was already checked and whose hash
    /// is `hash`: nonce, fee, call. Its receipt, or why the chain refuses it.
    fn apply_tx(
        &self,
        run: &mut BlockRun,
        index: usize,
        signed: &SignedTransaction,
        hash: Hash,
    ) -> Result<Receipt, ChainError> {
        let fault = |e: ChainError| match e {
            ChainError::Vm(fault) => ChainError::TxFault { index, fault: fault.to_string() },
            other => other,
        };
        let tx = &signed.tx;
        let expected = Self::nonce(&run.state, &tx.sender);
        if tx.nonce != expected {
            return Err(ChainError::BadNonce { index, expected, got: tx.nonce });
        }
        let bytes = signed.encode().len() as u64;
        let held = token::max_fee(bytes, tx.fee_limit.0);
        let gas = token::gas_for(bytes, tx.fee_limit.0).min(run.gas_left());
        let payer = crate::fee_payer(&run.state, tx);
        let charge = borsh::to_vec(&(payer, held)).unwrap_or_default();
        self.chain_hook(&mut run.state, &run.systems, "token", "entry_charge_fee", &charge, run.context)
            .map_err(|e| match e {
                ChainError::Vm(_) => fault(e),
                other => ChainError::CannotPay { index, reason: other.to_string() },
            })?;
        run.state.set(keys::nonce(&tx.sender), Some((expected + 1).to_be_bytes().to_vec()));
        let receipt = self.run_tx(run, signed, hash, gas).map_err(fault)?;
        run.gas = run.gas.saturating_add(receipt.gas_used);
        let fee = self.settle_fee(run, &payer, held, token::fee(bytes, receipt.gas_used)).map_err(fault)?;
        Ok(Receipt { fee, ..receipt })
    }

    /// Settles a transaction's hold of `held` rao after its call at `fee` (its bytes and gas
    /// used): the token module refunds the rest to `payer` (`entry_refund_fee`). Returns the rao
    /// charged, between `fee` and `held`. A refund the module refuses or answers oddly is not
    /// applied and the whole hold stays charged, so it cannot lose the block; only a VM fault
    /// is an error.
    fn settle_fee(
        &self,
        run: &mut BlockRun,
        payer: &Address,
        held: u64,
        fee: u64,
    ) -> Result<u64, ChainError> {
        let fee = fee.min(held);
        let args = borsh::to_vec(&(payer, held, fee)).unwrap_or_default();
        let context = CallContext { caller: token::SYSTEM, ..run.context };
        let token = run.systems.get("token")?;
        let exec = self.call(&run.state, token, "entry_refund_fee", &args, context, HOOK_GAS)?;
        let refunded = match borsh::from_slice::<u64>(&exec.output) {
            Ok(refunded) if exec.outcome.is_ok() && refunded <= held - fee => refunded,
            _ => return Ok(held),
        };
        run.state.apply(&exec.writes);
        Ok(held - refunded)
    }

    /// A valid, paid transaction's call with `gas`: its receipt (fee not yet filled in).
    fn run_tx(
        &self,
        run: &mut BlockRun,
        signed: &SignedTransaction,
        hash: Hash,
        gas: u64,
    ) -> Result<Receipt, ChainError> {
        let tx = &signed.tx;
        let receipt =
            |outcome, gas_used, events: Events| Receipt { tx: hash, outcome, fee: 0, gas_used, events };
        if tx.call.contract == DEPLOY {
            let (outcome, gas_used, events) = self.deploy(run, &tx.call.method, &tx.call.args, gas);
            return Ok(receipt(outcome, gas_used, events));
        }
        let context = CallContext { caller: tx.sender, ..run.context };
        let Some(exec) = self.call_code(&run.state, &run.systems, &mut run.warm, &tx.call, context, gas)?
        else {
            let reason = format!("no contract {}", tx.call.contract);
            return Ok(receipt(TxOutcome::Failed(reason), 0, Vec::new()));
        };
        if !exec.outcome.is_ok() {
            return Ok(receipt(TxOutcome::Failed(failure(&exec.outcome)), exec.gas_used, Vec::new()));
        }
        let next = CallContext { block_height: context.block_height.saturating_add(1), ..context };
        if let Err(reason) =
            self.check_proposed_upgrade(&run.state, &run.systems, &exec.writes, &tx.call, next)
        {
            return Ok(receipt(TxOutcome::Failed(reason), exec.gas_used, Vec::new()));
        }
        run.state.apply(&exec.writes);
        let events = exec.events.iter().map(|e| (e.topic.clone(), e.data.clone())).collect();
        Ok(receipt(TxOutcome::Ok, exec.gas_used, events))
    }
}

/// The gas transaction `signed` may use: what its fee limit buys, at most `token::MAX_TX_GAS`.
pub fn tx_gas(signed: &SignedTransaction) -> u64 {
    token::gas_for(signed.encode().len() as u64, signed.tx.fee_limit.0)
}

/// The gas left of `gas` once code `hash` is compiled for this block: `compile_gas` the first
/// time a block runs it, nothing after; `None` when `gas` does not cover it.
fn warm_up(warm: &mut BTreeSet<Hash>, hash: &Hash, compile_gas: u64, gas: u64) -> Option<u64> {
    if warm.contains(hash) {
        return Some(gas);
    }
    let left = gas.checked_sub(compile_gas)?;
    warm.insert(*hash);
    Some(left)
}

impl Executor {
    /// A transaction proposing a module upgrade is refused at once when the upgrade would be
    /// refused at activation (the same [`Executor::check_upgrade`], dry run on the next block,
    /// on `state` with the proposal's `writes`).
    fn check_proposed_upgrade(
        &self,
        state: &Layered,
        systems: &Systems,
        writes: &WriteSet,
        call: &tao_tx::Call,
        next: CallContext,
    ) -> Result<(), String> {
        let Some(governance) = systems.hash("governance") else { return Ok(()) };
        if call.contract != governance || call.method[..] != b"entry_propose"[..] {
            return Ok(());
        }
        let limit = tao_abi::limits::MAX_INPUT_BYTES as usize;
        let Ok(Action::UpgradeModule { name, code }) = tao_codec::decode::<Action>(&call.args, limit) else {
            return Ok(());
        };
        let mut after = Layered::new(state.snapshot());
        after.apply(writes);
        self.check_upgrade(&after, &name, &code, next).map_err(|reason| format!("upgrade refused: {reason}"))
    }

    /// Runs a transaction's call: a registered system module with system access, any other
    /// deployed code as an uploaded contract boxed into its own namespace (it reaches the
    /// protocol only through the system modules' entry points, as its own account). `None`
    /// when no code has that hash.
    fn call_code(
        &self,
        state: &Layered,
        systems: &Systems,
        warm: &mut BTreeSet<Hash>,
        call: &tao_tx::Call,
        context: CallContext,
        gas: u64,
    ) -> Result<Option<Execution>, ChainError> {
        let hash = call.contract;
        let entry = String::from_utf8_lossy(&call.method).into_owned();
        if let Some(module) = systems.by_hash(&hash) {
            let context = CallContext { access: Access::System, ..context };
            return self.call(state, module, &entry, &call.args, context, gas).map(Some);
        }
        if let Some(name) = state.get(&keys::retired(&hash)) {
            let name = String::from_utf8_lossy(&name).into_owned();
            let current = systems.hash(&name).map(|h| h.to_string()).unwrap_or_default();
            let why = format!("code {hash} is a retired version of system module `{name}`; call {current}");
            return Ok(Some(Execution::failed(Outcome::Abort(why), 0)));
        }
        let Some(loaded) = self.loaded(state, &hash, Class::Uploaded)? else { return Ok(None) };
        let Some(left) = warm_up(warm, &hash, loaded.compile_gas, gas) else {
            return Ok(Some(Execution::failed(Outcome::OutOfGas, gas)));
        };
        let own = tao_abi::access::contract_address(&hash);
        let context = CallContext { access: Access::Contract(own), ..context };
        let (snapshot, systems) = (state.snapshot(), systems.0.clone());
        let mut exec =
            self.vm.call_contract(&loaded.prepared, &entry, &call.args, context, snapshot, left, systems)?;
        exec.gas_used += gas - left;
        Ok(Some(exec))
    }
}

fn poisoned() -> ChainError {
    ChainError::Module("cache".into(), "lock poisoned".into())
}
