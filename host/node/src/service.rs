//! The node: the store, the executor and the mempool, producing blocks as the dev authority.
//! Networking lives in `rpc`; this module does no I/O of its own beyond the store.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use borsh::{BorshDeserialize, BorshSerialize};
use tao_chain::{
    Block, Certificate, ChainError, Equivocation, Executor, Genesis, Header, Receipt, Validator,
};
use tao_crypto::SecretKey;
use tao_store::Store;
use tao_tx::{DecodedTransaction, VerifiedTransaction};
use tao_types::{Address, Hash};
use tao_vm::{Storage, Vm, VmConfig};

use crate::evidence::{self, EvidenceRefused};
use crate::mempool::{Admission, Mempool, MempoolError};
use crate::pool::{PoolError, WorkerPool};

/// Most transactions put in one block: all the protocol allows. Execution keeps up: a block of
/// 4,096 transfers builds, stages and commits in about a third of a second on the 2-core
/// reference machine (BENCHMARKS.md, "Block execution"), and the gas limit bounds heavier ones.
pub const BLOCK_TXS: usize = tao_chain::MAX_BLOCK_TXS;
/// Default number of recent blocks whose state is kept for proofs (and whose transactions
/// `tx_status` finds: the store indexes them with their block, so across restarts too).
pub const RETAIN_BLOCKS: u64 = 4096;
/// Dropped transactions remembered with their reason.
const MAX_DROPPED: usize = 4096;

/// What the store keeps at each height.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct StoredBlock {
    /// The block.
    pub block: Block,
    /// Its receipts.
    pub receipts: Vec<Receipt>,
    /// Its finality certificate.
    pub certificate: Certificate,
    /// Events of its begin-block work (epochs, incentive-module fallbacks, governance): recorded
    /// by the node, not covered by the header; their effects are in the proven state.
    pub events: tao_chain::Events,
}

/// Submitted transactions waiting to be relayed to the other validators.
pub const RELAY_QUEUE: usize = 4096;

/// Most blocks kept staged for the next height at once (one per round seen).
pub const MAX_PENDING: usize = 16;

/// How far ahead of the local clock a proposed block's time may be.
pub const MAX_CLOCK_DRIFT_MS: u64 = 10_000;

/// A block for the next height, executed and staged, awaiting its certificate.
struct Pending {
    hash: Hash,
    stored: StoredBlock,
    staged: tao_store::Staged,
    hashes: Vec<Hash>,
}

/// Why a proposed or decided block is not taken.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// Not the next height.
    #[error("block {got} is not the next height {expected}")]
    WrongHeight {
        /// The next height.
        expected: u64,
        /// The block's.
        got: u64,
    },
    /// The next height, but another parent.
    #[error("block {0} does not extend the head")]
    WrongParent(u64),
    /// Another chain id.
    #[error("block of chain {got}, this is chain {expected}")]
    WrongChain {
        /// This chain's id.
        expected: u64,
        /// The block's.
        got: u64,
    },
    /// Signed by another validator set than the head names.
    #[error("block names another validator set than its parent")]
    WrongValidators,
    /// Not after its parent's time.
    #[error("block time {got} ms is not after its parent's {parent} ms")]
    TimeNotAfterParent {
        /// The parent's time.
        parent: u64,
        /// The block's.
        got: u64,
    },
    /// Too far ahead of this node's clock.
    #[error("block time {got} ms is more than {MAX_CLOCK_DRIFT_MS} ms ahead of the local clock {now} ms")]
    TimeInFuture {
        /// The local clock.
        now: u64,
        /// The block's.
        got: u64,
    },
    /// Its transactions do not execute (bad signature, nonce, fee, too many).
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// Its equivocation evidence is forged, stale, repeated or out of order.
    #[error(transparent)]
    Evidence(#[from] EvidenceRefused),
    /// Re-execution gives another root than the header claims.
    #[error("{root} is {claimed} in the header but {computed} on execution")]
    WrongRoot {
        /// Which root.
        root: &'static str,
        /// What execution gives.
        computed: Hash,
        /// What the header says.
        claimed: Hash,
    },
    /// No block with this header hash was built or checked here.
    #[error("no staged block {0}")]
    Unknown(Hash),
    /// The certificate does not finalize it.
    #[error(transparent)]
    Certificate(#[from] tao_chain::CertificateError),
    /// A node fault.
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// The checks of a proposed header against its parent that need no execution.
fn check_succession(parent: &Header, header: &Header, now_ms: u64) -> Result<(), BlockError> {
    let expected = parent.height + 1;
    if header.height != expected {
        return Err(BlockError::WrongHeight { expected, got: header.height });
    }
    if header.chain_id != parent.chain_id {
        return Err(BlockError::WrongChain { expected: parent.chain_id, got: header.chain_id });
    }
    if header.parent != parent.hash() {
        return Err(BlockError::WrongParent(header.height));
    }
    if header.validators_hash != parent.next_validators_hash {
        return Err(BlockError::WrongValidators);
    }
    if header.time_ms <= parent.time_ms {
        return Err(BlockError::TimeNotAfterParent { parent: parent.time_ms, got: header.time_ms });
    }
    if header.time_ms > now_ms.saturating_add(MAX_CLOCK_DRIFT_MS) {
        return Err(BlockError::TimeInFuture { now: now_ms, got: header.time_ms });
    }
    Ok(())
}

/// A node fault: the node cannot go on (never a user's error).
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] tao_store::StoreError),
    /// The chain refused a block the node built.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The VM could not start.
    #[error(transparent)]
    Vm(#[from] tao_vm::VmFault),
    /// Stored bytes did not decode.
    #[error("corrupt block at {0}")]
    Corrupt(u64),
    /// A lock was poisoned by a panic elsewhere.
    #[error("node state poisoned")]
    Poisoned,
    /// Every query slot is taken; retry (block production keeps its own VM instances and a core).
    #[error("the node is running as many queries as it allows at once; retry shortly")]
    Busy,
    /// The validator set a height's parent names is not in this node's state.
    #[error("the validator set of height {0} is not known here")]
    UnknownSet(u64),
    /// The node's key cannot finalize blocks of this chain on its own.
    #[error(
        "the validator key is not in the chain's validator set, or holds two thirds of the power or less: join the validator network with `--p2p-addr` (docs/network.md)"
    )]
    NotAuthority,
}

/// Why a submitted transaction was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// Bad bytes, signature or chain id.
    #[error(transparent)]
    Invalid(#[from] tao_tx::TxError),
    /// The mempool refused it.
    #[error(transparent)]
    Mempool(#[from] MempoolError),
    /// The payer's balance does not cover the fee: the sender's, or for a hotkey's weights and
    /// axon calls its owner coldkey's (`tao_chain::fee_payer`).
    #[error("balance {balance} rao cannot pay the fee of {fee} rao; {payer} pays it: fund {payer}")]
    CannotPayFee {
        /// Who pays.
        payer: Address,
        /// The payer's balance.
        balance: u64,
        /// The fee this transaction would be charged.
        fee: u64,
    },
    /// Every place in the signature-checking queue is taken (`pool::MAX_QUEUED`): nothing
    /// was checked; send it again shortly.
    #[error(transparent)]
    Busy(crate::pool::PoolError),
    /// The node is shutting down after a fault.
    #[error("node unavailable")]
    Unavailable,
}

/// Where a transaction is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TxStatus {
    /// Waiting in the mempool.
    Pending,
    /// In a finalized block (dev blocks are final when produced).
    Finalized {
        /// Block height.
        height: u64,
        /// Position in the block.
        index: u32,
    },
    /// Removed from the mempool without being included.
    Dropped {
        /// Why.
        reason: String,
    },
    /// Never seen, or forgotten.
    Unknown,
}

/// The committed state as the VM sees it: one consistent version (a block or query reads
/// through one database read transaction).
pub struct StoreView(pub tao_store::Snapshot);

impl Storage for StoreView {
    // A failing database leaves the node unable to agree with anyone: stop it (a node fault,
    // never a recorded outcome).
    #[allow(clippy::panic, reason = "a database read failure is a node fault")]
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.get(key).unwrap_or_else(|e| panic!("state database read failed: {e}"))
    }

    #[allow(clippy::panic, reason = "a database read failure is a node fault")]
    fn next_after(&self, prefix: &[u8], after: Option<&[u8]>) -> Option<(Vec<u8>, Vec<u8>)> {
        self.0.next_after(prefix, after).unwrap_or_else(|e| panic!("state database read failed: {e}"))
    }
}

/// The running node.
pub struct Node {
    store: Arc<Store>,
    executor: Executor,
    /// The dev authority's key, when this node finalizes blocks alone.
    authority: Option<SecretKey>,
    /// The genesis set.
    validators: Vec<Validator>,
    /// Blocks built or checked for the next height, awaiting the engine's decision.
    pending: Mutex<Vec<Pending>>,
    mempool: Mutex<Mempool>,
    head: Mutex<(Header, Certificate)>,
    dropped: Mutex<BTreeMap<Hash, String>>,
    heads: tokio::sync::broadcast::Sender<Header>,
    /// Transactions submitted here and queued, for relaying to the other validators.
    submitted: tokio::sync::broadcast::Sender<Vec<u8>>,
    /// The BFT engine's figures, when this node is a network member.
    consensus: Mutex<Option<ConsensusGauges>>,
    counters: Mutex<Counters>,
    /// Queries running now, at most [`max_queries`].
    queries: Mutex<usize>,
    /// Equivocation evidence checked and waiting for a block this node proposes.
    evidence: Mutex<Vec<Equivocation>>,
    /// Evidence newly kept here, for relaying to the other validators.
    evidence_kept: tokio::sync::broadcast::Sender<Equivocation>,
}

/// Most queries that could ever run at once: each holds one VM instance of the pool's 16, and a
/// block needs at most two at a time (a contract and the system module it calls), so production
/// always has instances whatever the RPC does.
pub const MAX_QUERIES: usize = 8;

/// Queries allowed at once on this machine: one core is left to block production (at most
/// [`MAX_QUERIES`], at least one).
pub fn max_queries() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    cores.saturating_sub(1).clamp(1, MAX_QUERIES)
}

/// A running query's slot, given back when dropped.
struct QuerySlot<'a>(&'a Mutex<usize>);

impl Drop for QuerySlot<'_> {
    fn drop(&mut self) {
        let mut running = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *running = running.saturating_sub(1);
    }
}

/// What the BFT engine reports, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConsensusGauges {
    /// The height the engine is deciding (the finalized head + 1 once caught up).
    pub height: u64,
    /// The round the engine is in at that height.
    pub round: u64,
    /// Peers connected.
    pub peers: u64,
    /// Of them, validators of the current set (by a verified peer proof of their key).
    pub validator_peers: u64,
    /// Votes received from peers since start (before their signatures are checked).
    pub votes_received: u64,
    /// Votes this validator signed and published since start.
    pub votes_signed: u64,
    /// Relay messages from peers dropped unchecked since start (the peer was caught forging,
    /// or too many of its messages waited).
    pub relays_dropped: u64,
}

/// Running totals since the node started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Blocks produced.
    pub blocks: u64,
    /// Transactions included.
    pub txs_included: u64,
    /// Transactions dropped at block time.
    pub txs_dropped: u64,
    /// Submitted signatures checked (a duplicate of a pending or included transaction is
    /// answered without one).
    pub txs_verified: u64,
    /// Submissions refused because the signature-checking queue was full.
    pub txs_busy: u64,
    /// Pieces of equivocation evidence the engine reported that checked out.
    pub evidence_reported: u64,
    /// Pieces of evidence peers relayed that checked out and were new here.
    pub evidence_received: u64,
    /// Pieces of evidence peers relayed that were refused (forged, stale, already slashed).
    pub evidence_refused: u64,
}

/// The position of `key` in `validators`, if it alone holds more than two thirds of the power
/// (one authority: its signature finalizes).
fn authority_index(validators: &[Validator], key: &SecretKey) -> Option<u32> {
    let total: u128 = validators.iter().map(|v| u128::from(v.power)).sum();
    let public = key.public_key();
    let index = validators.iter().position(|v| v.key == public)?;
    (u128::from(validators[index].power) * 3 > total * 2).then(|| u32::try_from(index).ok()).flatten()
}

fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, NodeError> {
    m.lock().map_err(|_| NodeError::Poisoned)
}

impl Node {
    /// Opens the chain in `dir`, creating it from `genesis` when the directory is new. The
    /// authority signs every block (dev mode: one validator).
    /// `retain` recent blocks keep their state for proofs; older ones are pruned.
    pub fn open(dir: &Path, genesis: &Genesis, authority: SecretKey, retain: u64) -> Result<Node, NodeError> {
        let index = authority_index(&genesis.validators, &authority).ok_or(NodeError::NotAuthority)?;
        Node::open_with(dir, genesis, Some((authority, index)), retain)
    }

    /// Opens the chain in `dir` as a member of a validator network: blocks are final only
    /// through [`Node::commit_decided`] with a certificate of the set, never by this node alone
    /// ([`Node::produce`] answers [`NodeError::NotAuthority`]). The genesis block is stored
    /// with no signatures: clients pin it by hash.
    pub fn open_member(dir: &Path, genesis: &Genesis, retain: u64) -> Result<Node, NodeError> {
        Node::open_with(dir, genesis, None, retain)
    }

    fn open_with(
        dir: &Path,
        genesis: &Genesis,
        authority: Option<(SecretKey, u32)>,
        retain: u64,
    ) -> Result<Node, NodeError> {
        std::fs::create_dir_all(dir).map_err(|e| tao_store::StoreError::Db(e.to_string()))?;
        let store = Arc::new(Store::open(&dir.join("state.redb"), retain)?);
        let vm = Vm::new(VmConfig { artifact_dir: Some(dir.join("artifacts")), ..VmConfig::default() })?;
        let validators = genesis.validators.clone();
        let (built, genesis_header) = genesis.build(vm)?;
        let unsigned =
            Certificate { header: genesis_header.hash(), height: 0, round: 0, signatures: Vec::new() };
        if store.latest()?.is_none() {
            let staged = store.stage(0, built.writes)?;
            if staged.root() != genesis_header.state_root {
                return Err(NodeError::Corrupt(0));
            }
            let domain = built.executor.domain();
            let keys: Vec<(u32, &SecretKey)> = authority.iter().map(|(key, index)| (*index, key)).collect();
            let certificate = Certificate::sign(domain, &genesis_header, 0, &keys);
            let block = Block { header: genesis_header.clone(), txs: Vec::new(), evidence: Vec::new() };
            let stored = StoredBlock { block, receipts: Vec::new(), certificate, events: Vec::new() };
            store.commit(staged, &borsh::to_vec(&stored).unwrap_or_default(), &[])?;
        }
        let node = Node {
            store,
            executor: built.executor,
            authority: authority.map(|(key, _)| key),
            validators,
            pending: Mutex::new(Vec::new()),
            mempool: Mutex::new(Mempool::new()),
            head: Mutex::new((genesis_header.clone(), unsigned)),
            dropped: Mutex::new(BTreeMap::new()),
            heads: tokio::sync::broadcast::channel(64).0,
            submitted: tokio::sync::broadcast::channel(RELAY_QUEUE).0,
            consensus: Mutex::new(None),
            counters: Mutex::new(Counters::default()),
            queries: Mutex::new(0),
            evidence: Mutex::new(Vec::new()),
            evidence_kept: tokio::sync::broadcast::channel(evidence::MAX_PENDING_EVIDENCE).0,
        };
        let latest = node.store.latest()?.unwrap_or(0);
        let stored = node.stored(latest)?;
        if stored.block.header.height == 0 && stored.block.header != genesis_header {
            return Err(NodeError::Corrupt(0));
        }
        *lock(&node.head)? = (stored.block.header, stored.certificate);
        Ok(node)
    }

    /// The block stored at `height`.
    pub fn stored(&self, height: u64) -> Result<StoredBlock, NodeError> {
        let bytes = self.store.block(height)?;
        StoredBlock::try_from_slice(&bytes).map_err(|_| NodeError::Corrupt(height))
    }

    /// The newest finalized header and its certificate.
    pub fn head(&self) -> Result<(Header, Certificate), NodeError> {
        Ok(lock(&self.head)?.clone())
    }

    /// The store (for proofs).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The executor (for the chain's signing domain).
    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    /// The genesis validator set (light clients start from it).
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// The validator set that signs the block at `height` (at most one above the head): the
    /// set the block below names in `next_validators_hash`, served from this node's state.
    pub fn validators_at(&self, height: u64) -> Result<Vec<Validator>, NodeError> {
        let Some(below) = height.checked_sub(1) else { return Ok(self.validators.clone()) };
        let (head, _) = self.head()?;
        let named = if below == head.height {
            head.next_validators_hash
        } else {
            self.stored(below)?.block.header.next_validators_hash
        };
        tao_chain::validator_set(&self.view(), &self.validators, named).ok_or(NodeError::UnknownSet(height))
    }

    /// Checks equivocation evidence the engine reported against the set of its height and keeps
    /// it for a block this node proposes; whether it was new (one piece per validator waits).
    /// A new piece is relayed ([`Node::subscribe_evidence`]).
    pub fn report_equivocation(&self, evidence: Equivocation) -> Result<bool, BlockError> {
        let added = self.keep_evidence(evidence)?;
        if added {
            lock(&self.counters)?.evidence_reported += 1;
        }
        Ok(added)
    }

    /// [`Node::report_equivocation`] of a piece a peer relayed: adversarial input, checked the
    /// same way, and relayed again only if new here (so a piece crosses each link at most
    /// once per node that keeps it, and what is refused goes nowhere).
    pub fn receive_equivocation(&self, evidence: Equivocation) -> Result<bool, BlockError> {
        let kept = self.keep_evidence(evidence);
        let mut counters = lock(&self.counters)?;
        match kept {
            Ok(true) => counters.evidence_received += 1,
            Ok(false) => {}
            Err(_) => counters.evidence_refused += 1,
        }
        kept
    }

    /// Checks `evidence` for the next block and keeps it; a new piece goes to the relay. A piece
    /// that adds nothing to what waits (a peer relaying back what it got from here) is not
    /// checked at all.
    fn keep_evidence(&self, evidence: Equivocation) -> Result<bool, BlockError> {
        if evidence::covered(&lock(&self.evidence)?, &evidence) {
            return Ok(false);
        }
        let view = StoreView(self.store.snapshot().map_err(NodeError::from)?);
        let next = self.head()?.0.height + 1;
        // A piece of the height being decided (a peer finalized it first and relayed it at
        // once) is kept for the block after it: it is relayed only once, so refusing it here
        // would lose it for good.
        let block = if evidence.height == next { next + 1 } else { next };
        self.evidence_context(&view).check(&evidence, block)?;
        let added = evidence::keep(&mut *lock(&self.evidence)?, evidence.clone());
        // Nobody relaying (a dev node) is fine.
        if added && self.evidence_kept.receiver_count() > 0 {
            let _ = self.evidence_kept.send(evidence);
        }
        Ok(added)
    }

    /// Evidence newly kept here (reported by the engine or relayed by a peer), as it comes: a
    /// validator network relays it so that every validator can carry it in a block it proposes,
    /// not only those that saw both votes. A receiver that falls more than
    /// [`evidence::MAX_PENDING_EVIDENCE`] behind misses some (it stays pending here).
    pub fn subscribe_evidence(&self) -> tokio::sync::broadcast::Receiver<Equivocation> {
        self.evidence_kept.subscribe()
    }

    /// The evidence waiting here for a block this node proposes.
    pub fn pending_evidence(&self) -> Result<Vec<Equivocation>, NodeError> {
        Ok(lock(&self.evidence)?.clone())
    }

    /// What checking evidence reads: this chain, `state`, and each height's set from this node.
    fn evidence_context<'a>(
        &'a self,
        state: &'a dyn Storage,
    ) -> evidence::Context<'a, impl Fn(u64) -> Option<Vec<Validator>> + 'a> {
        evidence::Context {
            domain: self.executor.domain(),
            state,
            set_at: move |h| self.validators_at(h).ok(),
        }
    }

    /// New finalized headers, as they are produced.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Header> {
        self.heads.subscribe()
    }

    #[allow(clippy::panic, reason = "a database read failure is a node fault")]
    fn view(&self) -> StoreView {
        StoreView(self.store.snapshot().unwrap_or_else(|e| panic!("state database read failed: {e}")))
    }

    /// The next nonce of `account` in the committed state.
    pub fn nonce(&self, account: &Address) -> u64 {
        Executor::nonce(&self.view(), account)
    }

    /// The balance of `account` in the committed state, in rao.
    pub fn balance(&self, account: &Address) -> u64 {
        let bytes = self.view().get(&tao_contract_token::balance_key(account));
        bytes.and_then(|b| borsh::from_slice(&b).ok()).unwrap_or(0)
    }

    /// Checks and queues a transaction; returns its hash. The signature is checked on the
    /// caller's thread: the RPC uses [`Node::submit_on`] instead.
    pub fn submit(&self, bytes: &[u8]) -> Result<Hash, SubmitError> {
        let decoded = self.precheck(bytes)?;
        let hash = self.admit(self.verify(decoded)?)?;
        self.relay(bytes);
        Ok(hash)
    }

    /// [`Node::submit`] of a transaction another validator relayed: queued here, not relayed
    /// again (the network's gossip already reaches every validator). A peer's bytes are
    /// adversarial: one whose payer cannot cover its fee is refused before its signature is
    /// checked, so unpayable transactions cost a peer's victims no signature check.
    pub fn submit_relayed(&self, bytes: &[u8]) -> Result<Hash, SubmitError> {
        let decoded = self.precheck(bytes)?;
        self.fee_covered(&decoded.signed().tx, bytes.len() as u64)?;
        self.admit(self.verify(decoded)?)
    }

    /// Transactions submitted to this node and queued, as they come: a validator network
    /// relays them so that whoever proposes next can include them. A receiver that falls more
    /// than [`RELAY_QUEUE`] behind misses some (they stay in this node's mempool).
    pub fn subscribe_submitted(&self) -> tokio::sync::broadcast::Receiver<Vec<u8>> {
        self.submitted.subscribe()
    }

    fn relay(&self, bytes: &[u8]) {
        // Nobody relaying (a dev node) is fine.
        if self.submitted.receiver_count() > 0 {
            let _ = self.submitted.send(bytes.to_vec());
        }
    }

    /// [`Node::submit`] with the signature checked (and the transaction queued) on `pool`, so
    /// that many submissions, of one batch or of many clients, are checked on every core; a full
    /// pool answers [`SubmitError::Busy`] at once.
    pub async fn submit_on(self: &Arc<Self>, pool: &WorkerPool, bytes: &[u8]) -> Result<Hash, SubmitError> {
        let decoded = self.precheck(bytes)?;
        let node = self.clone();
        // Checked in parallel; queued in the order submitted (a batch's nonces of one sender).
        let admit = node.clone();
        let verify = move || node.verify(decoded);
        match pool.run(verify, move |verified| verified.and_then(|v| admit.admit(v))).await {
            Ok(answer) => {
                if answer.is_ok() {
                    self.relay(bytes);
                }
                answer
            }
            Err(busy @ PoolError::Busy(_)) => {
                lock(&self.counters).map_err(|_| SubmitError::Unavailable)?.txs_busy += 1;
                Err(SubmitError::Busy(busy))
            }
            Err(PoolError::Failed) => Err(SubmitError::Unavailable),
        }
    }

    /// Decodes a submission, and answers what is already known without checking its signature
    /// again: pending (`already pending`), or included (its nonce is used).
    fn precheck(&self, bytes: &[u8]) -> Result<DecodedTransaction, SubmitError> {
        let decoded = tao_tx::decode(bytes)?;
        if lock(&self.mempool).map_err(|_| SubmitError::Unavailable)?.contains(&decoded.hash()) {
            return Err(MempoolError::Duplicate.into());
        }
        if self.store.tx_location(&decoded.hash()).map_err(|_| SubmitError::Unavailable)?.is_some() {
            let tx = &decoded.signed().tx;
            return Err(MempoolError::StaleNonce { next: self.nonce(&tx.sender), got: tx.nonce }.into());
        }
        Ok(decoded)
    }

    /// Checks the chain id and the signature: the one expensive step of a submission.
    fn verify(&self, decoded: DecodedTransaction) -> Result<VerifiedTransaction, SubmitError> {
        lock(&self.counters).map_err(|_| SubmitError::Unavailable)?.txs_verified += 1;
        Ok(decoded.verify(self.executor.domain())?)
    }

    /// Queues a verified transaction if its sender can pay its fee and the mempool takes it.
    fn admit(&self, verified: VerifiedTransaction) -> Result<Hash, SubmitError> {
        let hash = verified.hash();
        let sender = verified.signed().tx.sender;
        let balance = self.fee_covered(&verified.signed().tx, verified.size() as u64)?;
        let height = self.head().map_err(|_| SubmitError::Unavailable)?.0.height;
        let at = Admission { next_nonce: self.nonce(&sender), balance, height };
        let mut pool = self.mempool.lock().map_err(|_| SubmitError::Unavailable)?;
        for gone in pool.insert(verified, at)? {
            self.drop_tx(gone, "replaced or displaced by a higher fee per byte".into());
        }
        Ok(hash)
    }

    /// The balance of `tx`'s fee payer (the sender, or for a hotkey's weights and axon calls its
    /// owner coldkey), if it covers the most `tx` of `size` encoded bytes can cost.
    fn fee_covered(&self, tx: &tao_tx::Transaction, size: u64) -> Result<u64, SubmitError> {
        let fee = tao_contract_token::max_fee(size, tx.fee_limit.0);
        let payer = tao_chain::fee_payer(&self.view(), tx);
        let balance = self.balance(&payer);
        if balance < fee {
            return Err(SubmitError::CannotPayFee { payer, balance, fee });
        }
        Ok(balance)
    }

    /// Runs a read-only entry point of system module `module` on the head state; returns the
    /// height and the output bytes. Not proven: for convenience views (metagraph, positions).
    pub fn query(
        &self,
        module: &str,
        entry: &str,
        input: &[u8],
    ) -> Result<(u64, Result<Vec<u8>, String>), NodeError> {
        let _slot = self.query_slot()?;
        let (head, _) = self.head()?;
        let context = tao_vm::CallContext {
            caller: tao_chain::QUERY_CALLER,
            block_height: head.height,
            block_time_ms: head.time_ms,
            ..Default::default()
        };
        let view = StoreView(self.store.snapshot()?);
        let exec = self.executor.query(Arc::new(view), module, entry, input, context)?;
        let result = match exec.outcome {
            tao_vm::Outcome::Ok => Ok(exec.output),
            tao_vm::Outcome::Abort(message) => Err(message),
            other => Err(other.to_string()),
        };
        Ok((head.height, result))
    }

    fn query_slot(&self) -> Result<QuerySlot<'_>, NodeError> {
        let mut running = lock(&self.queries)?;
        if *running >= max_queries() {
            return Err(NodeError::Busy);
        }
        *running += 1;
        Ok(QuerySlot(&self.queries))
    }

    /// Records the engine's figures (a validator network's app loop calls it as they change).
    pub fn set_consensus(&self, update: impl FnOnce(&mut ConsensusGauges)) -> Result<(), NodeError> {
        update(lock(&self.consensus)?.get_or_insert_with(ConsensusGauges::default));
        Ok(())
    }

    /// The node's gauges and counters for `/metrics`, in the OpenMetrics text format.
    pub fn metrics(&self) -> Result<String, NodeError> {
        use Kind::{Counter, Gauge};
        let (head, _) = self.head()?;
        let (pending, pending_bytes, gapped) = {
            let pool = lock(&self.mempool)?;
            (pool.len() as u64, pool.bytes(), pool.gapped() as u64)
        };
        let c = *lock(&self.counters)?;
        let mut metrics = vec![
            ("tao_block_height", Gauge, "Height of the newest finalized block.", head.height),
            ("tao_mempool_transactions", Gauge, "Transactions waiting in the mempool.", pending),
            ("tao_mempool_bytes", Gauge, "Encoded bytes waiting in the mempool.", pending_bytes),
            ("tao_mempool_gapped_transactions", Gauge, "Mempool transactions behind a nonce gap.", gapped),
            ("tao_blocks_produced", Counter, "Blocks produced since start.", c.blocks),
            ("tao_transactions_included", Counter, "Transactions included since start.", c.txs_included),
            (
                "tao_transactions_dropped",
                Counter,
                "Transactions dropped at block time since start.",
                c.txs_dropped,
            ),
            (
                "tao_signatures_verified",
                Counter,
                "Submitted transactions whose signature was checked since start.",
                c.txs_verified,
            ),
            (
                "tao_submissions_busy",
                Counter,
                "Submissions refused since start because the signature-checking queue was full.",
                c.txs_busy,
            ),
        ];
        if let Some(g) = *lock(&self.consensus)? {
            metrics.extend([
                ("tao_consensus_height", Gauge, "The height the BFT engine is deciding.", g.height),
                ("tao_consensus_round", Gauge, "The BFT engine's round at that height.", g.round),
                ("tao_consensus_peers", Gauge, "Peers connected to the BFT engine.", g.peers),
                (
                    "tao_consensus_validator_peers",
                    Gauge,
                    "Connected peers proven to be validators of the current set.",
                    g.validator_peers,
                ),
                (
                    "tao_consensus_votes_received",
                    Counter,
                    "Votes received from peers since start.",
                    g.votes_received,
                ),
                (
                    "tao_consensus_votes_signed",
                    Counter,
                    "Votes this validator signed and published since start.",
                    g.votes_signed,
                ),
                (
                    "tao_consensus_relays_dropped",
                    Counter,
                    "Relay messages from peers dropped unchecked (the peer was caught forging, or too many waited), since start.",
                    g.relays_dropped,
                ),
                (
                    "tao_consensus_equivocations_reported",
                    Counter,
                    "Equivocations the engine reported that checked out, since start.",
                    c.evidence_reported,
                ),
                (
                    "tao_consensus_equivocations_received",
                    Counter,
                    "Equivocation evidence peers relayed that checked out and was new here, since start.",
                    c.evidence_received,
                ),
                (
                    "tao_consensus_equivocations_refused",
                    Counter,
                    "Equivocation evidence peers relayed that was refused (forged, stale, slashed), since start.",
                    c.evidence_refused,
                ),
            ]);
        }
        Ok(openmetrics(&metrics))
    }

    fn drop_tx(&self, hash: Hash, reason: String) {
        if let Ok(mut dropped) = self.dropped.lock() {
            if dropped.len() >= MAX_DROPPED {
                dropped.pop_first();
            }
            dropped.insert(hash, reason);
        }
    }

    /// Where transaction `hash` is.
    pub fn status(&self, hash: &Hash) -> Result<TxStatus, NodeError> {
        if lock(&self.mempool)?.contains(hash) {
            return Ok(TxStatus::Pending);
        }
        if let Some((height, index)) = self.store.tx_location(hash)? {
            return Ok(TxStatus::Finalized { height, index });
        }
        if let Some(reason) = lock(&self.dropped)?.get(hash) {
            return Ok(TxStatus::Dropped { reason: reason.clone() });
        }
        Ok(TxStatus::Unknown)
    }

    /// Builds and executes the next block at `time_ms` (at least 1 ms after the parent), stages
    /// its state for the root, signs its header and commits it all in one write. Each ready
    /// transaction runs once (its signature checked at admission, not again): those the chain
    /// refuses are dropped with the reason, and the block goes on without them.
    pub fn produce(&self, time_ms: u64) -> Result<Header, NodeError> {
        let key = self.authority.as_ref().ok_or(NodeError::NotAuthority)?;
        let height = self.head()?.0.height + 1;
        // The set may have changed from stake: this key must still finalize alone.
        let index = authority_index(&self.validators_at(height)?, key).ok_or(NodeError::NotAuthority)?;
        let next = self.build_next(time_ms, key.address())?;
        // Signed with no database transaction open: the store only reads until the commit.
        let certificate =
            Certificate::sign(self.executor.domain(), &next.stored.block.header, 0, &[(index, key)]);
        self.commit_pending(next, certificate)
    }

    /// Builds the next block at `time_ms` (at least 1 ms after the parent) as `proposer`, from
    /// the mempool like [`Node::produce`], and keeps it staged until the engine decides
    /// ([`Node::commit_decided`]). Nothing is committed.
    pub fn propose(&self, time_ms: u64, proposer: Address) -> Result<Block, NodeError> {
        let next = self.build_next(time_ms, proposer)?;
        let block = next.stored.block.clone();
        self.keep(next)?;
        Ok(block)
    }

    /// Checks a proposed block for the next height as a validator must before voting for it:
    /// it extends the head of this chain under the same validator set, its time is after its
    /// parent's and at most [`MAX_CLOCK_DRIFT_MS`] ahead of `now_ms` (the local clock), and
    /// re-executing its transactions gives exactly its roots. A checked block stays staged
    /// until decided; checking the same block again answers at once.
    pub fn check_proposal(&self, block: &Block, now_ms: u64) -> Result<Hash, BlockError> {
        let header = &block.header;
        let hash = header.hash();
        if lock(&self.pending)?.iter().any(|p| p.hash == hash) {
            return Ok(hash);
        }
        let (parent, _) = self.head()?;
        check_succession(&parent, header, now_ms)?;
        if block.txs.len() > BLOCK_TXS {
            return Err(BlockError::Chain(ChainError::TooManyTxs(block.txs.len())));
        }
        let view = StoreView(self.store.snapshot().map_err(NodeError::from)?);
        let in_force = self.validators_at(header.height)?;
        let slashes = self.evidence_context(&view).check_block(&block.evidence, header.height, in_force)?;
        let executed = self
            .executor
            .validate(Arc::new(view), header.height, header.time_ms, &block.txs, &slashes)
            .map_err(|e| match e {
                // The VM failing is this node's fault, not the block's.
                ChainError::Vm(fault) => BlockError::Node(NodeError::Vm(fault)),
                invalid => BlockError::Chain(invalid),
            })?;
        let hashes: Vec<Hash> = block.txs.iter().map(tao_tx::SignedTransaction::hash).collect();
        let next_set = tao_chain::next_validators_hash(parent.next_validators_hash, &executed.writes);
        let staged = self.store.stage(header.height, executed.writes).map_err(NodeError::from)?;
        let roots = [
            ("state_root", staged.root(), header.state_root),
            ("txs_root", executed.txs_root, header.txs_root),
            ("receipts_root", executed.receipts_root, header.receipts_root),
            ("evidence_root", tao_chain::evidence_root(&block.evidence), header.evidence_root),
            ("next_validators_hash", next_set, header.next_validators_hash),
        ];
        if let Some((root, computed, claimed)) =
            roots.into_iter().find(|(_, computed, claimed)| computed != claimed)
        {
            return Err(BlockError::WrongRoot { root, computed, claimed });
        }
        let stored = StoredBlock {
            block: block.clone(),
            receipts: executed.receipts,
            certificate: Certificate {
                header: hash,
                height: header.height,
                round: 0,
                signatures: Vec::new(),
            },
            events: executed.events,
        };
        self.keep(Pending { hash, stored, staged, hashes })?;
        Ok(hash)
    }

    /// Commits the staged block `header` (built by [`Node::propose`] or checked by
    /// [`Node::check_proposal`]) with `certificate`, which must finalize it under the validator
    /// set exactly as a light client checks it (> ⅔ of the power, this chain's votes). A block
    /// already committed at that height with that hash is answered again (the engine may
    /// repeat a decision after a restart).
    pub fn commit_decided(&self, header: &Hash, certificate: Certificate) -> Result<Header, BlockError> {
        let (head, _) = self.head()?;
        if head.height == certificate.height && head.hash() == *header {
            return Ok(head);
        }
        let taken = {
            let mut pending = lock(&self.pending)?;
            let at = pending.iter().position(|p| p.hash == *header);
            at.map(|i| pending.remove(i))
        };
        let next = taken.ok_or(BlockError::Unknown(*header))?;
        let set = self.validators_at(certificate.height)?;
        let checked = certificate.verify(self.executor.domain(), &next.stored.block.header, &set);
        if let Err(error) = checked {
            // Not final: keep it for a valid certificate.
            self.keep(next)?;
            return Err(BlockError::Certificate(error));
        }
        Ok(self.commit_pending(next, certificate)?)
    }

    /// The next block built from the mempool, staged.
    fn build_next(&self, time_ms: u64, proposer: Address) -> Result<Pending, NodeError> {
        let (parent, _) = self.head()?;
        let (height, time_ms) = (parent.height + 1, time_ms.max(parent.time_ms + 1));
        let view = StoreView(self.store.snapshot()?);
        let candidates = lock(&self.mempool)?.ready(|a| Executor::nonce(&view, a), BLOCK_TXS);
        let selected = self.evidence_context(&view).select(&mut *lock(&self.evidence)?, height);
        let in_force = self.validators_at(height)?;
        let view: Arc<dyn Storage + Send + Sync> = Arc::new(view);
        // Evidence the chain will not apply must not stop this node proposing, nor the rest
        // of the evidence being slashed: only the refused pieces are dropped.
        let carried = evidence::build_leaving_out_refused(selected, |pieces| {
            let slashes = evidence::slashes(pieces, in_force.clone());
            self.executor.build(view.clone(), height, time_ms, &candidates, &slashes)
        })?;
        if !carried.refused.is_empty() {
            lock(&self.evidence)?.retain(|e| !carried.refused.contains(&e.validator));
        }
        let (built, evidence) = (carried.built, carried.evidence);
        for (hash, reason) in built.refused {
            // Its account's later transactions could no longer run: they go with it.
            let gone = lock(&self.mempool)?.remove(&hash);
            for dropped in gone {
                let why = if dropped == hash {
                    reason.to_string()
                } else {
                    format!("an earlier nonce was refused: {reason}")
                };
                self.drop_tx(dropped, why);
                lock(&self.counters)?.txs_dropped += 1;
            }
        }
        let (txs, hashes, executed) = (built.txs, built.hashes, built.executed);
        let next_set = tao_chain::next_validators_hash(parent.next_validators_hash, &executed.writes);
        let staged = self.store.stage(height, executed.writes)?;
        let header = Header {
            chain_id: parent.chain_id,
            parent: parent.hash(),
            height,
            time_ms,
            state_root: staged.root(),
            txs_root: executed.txs_root,
            receipts_root: executed.receipts_root,
            evidence_root: tao_chain::evidence_root(&evidence),
            validators_hash: parent.next_validators_hash,
            next_validators_hash: next_set,
            proposer,
        };
        let hash = header.hash();
        let stored = StoredBlock {
            block: Block { header, txs, evidence },
            receipts: executed.receipts,
            certificate: Certificate { header: hash, height, round: 0, signatures: Vec::new() },
            events: executed.events,
        };
        Ok(Pending { hash, stored, staged, hashes })
    }

    /// Keeps a staged block for the next height, forgetting blocks of passed heights and, past
    /// [`MAX_PENDING`], the oldest.
    fn keep(&self, next: Pending) -> Result<(), NodeError> {
        let height = next.stored.block.header.height;
        let mut pending = lock(&self.pending)?;
        pending.retain(|p| p.stored.block.header.height == height && p.hash != next.hash);
        if pending.len() >= MAX_PENDING {
            pending.remove(0);
        }
        pending.push(next);
        Ok(())
    }

    /// Writes a staged block with its certificate and makes it the head.
    fn commit_pending(&self, next: Pending, certificate: Certificate) -> Result<Header, NodeError> {
        let Pending { stored, staged, hashes, .. } = next;
        let stored = StoredBlock { certificate, ..stored };
        let header = stored.block.header.clone();
        self.store.commit(staged, &borsh::to_vec(&stored).unwrap_or_default(), &hashes)?;
        lock(&self.pending)?.clear();
        self.finish(&stored.block, stored.certificate, &hashes)?;
        Ok(header)
    }

    fn finish(&self, block: &Block, certificate: Certificate, txs: &[Hash]) -> Result<(), NodeError> {
        let header = &block.header;
        lock(&self.evidence)?
            .retain(|e| block.evidence.iter().all(|carried| carried.validator != e.validator));
        let mut pool = lock(&self.mempool)?;
        for hash in txs {
            pool.forget(hash);
        }
        let expired = pool.expire(header.height);
        drop(pool);
        for hash in expired {
            self.drop_tx(hash, "expired: it waited too long unexecutable or unincluded".into());
        }
        let mut counters = lock(&self.counters)?;
        counters.blocks += 1;
        counters.txs_included += txs.len() as u64;
        drop(counters);
        *lock(&self.head)? = (header.clone(), certificate);
        // Nobody listening is fine.
        let _ = self.heads.send(header.clone());
        Ok(())
    }
}

/// A metric's type.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A value that goes up and down.
    Gauge,
    /// A count since start (the encoder names it `<name>_total`).
    Counter,
}

/// `metrics` (name, type, help, value) in the OpenMetrics text format, by `prometheus-client`.
fn openmetrics(metrics: &[(&str, Kind, &str, u64)]) -> String {
    use prometheus_client::metrics::{counter::Counter, gauge::Gauge};
    let mut registry = prometheus_client::registry::Registry::default();
    for &(name, kind, help, value) in metrics {
        match kind {
            Kind::Gauge => {
                let gauge = Gauge::<u64, std::sync::atomic::AtomicU64>::default();
                gauge.set(value);
                registry.register(name, help, gauge);
            }
            Kind::Counter => {
                let counter = Counter::<u64>::default();
                counter.inc_by(value);
                registry.register(name, help, counter);
            }
        }
    }
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
    out
}

#[cfg(test)]
mod tests {
    use super::{Kind, openmetrics};

    /// The names, types and values Prometheus and the tests read: a counter gains `_total`.
    #[test]
    fn metrics_are_openmetrics_text_under_their_names() {
        let text = openmetrics(&[
            ("tao_block_height", Kind::Gauge, "Height.", 7),
            ("tao_blocks_produced", Kind::Counter, "Blocks.", 3),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines.contains(&"# TYPE tao_block_height gauge") && lines.contains(&"tao_block_height 7"),
            "{text}"
        );
        assert!(lines.contains(&"# TYPE tao_blocks_produced counter"), "{text}");
        assert!(lines.contains(&"tao_blocks_produced_total 3"), "{text}");
        assert_eq!(lines.last(), Some(&"# EOF"));
    }
}
