//! The engine started for a node, and the loop that answers it: the proposer builds and
//! streams a block (`Node::propose`), the others reassemble, authenticate and re-execute it
//! (`Node::check_proposal`: a wrong root is invalid, so it gets no vote), and a decision is
//! committed with its certificate converted to ours (`Node::commit_decided`). Lagging nodes
//! catch up by the engine's sync, served from the stored blocks and their certificates.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use malachitebft_app::config::{ConsensusConfig, NodeConfig, PubSubProtocol, ValueSyncConfig};
use malachitebft_app::engine::host::{HeightParams, Next, SyncedValueOutcome};
use malachitebft_app::types::LocallyProposedValue;
use malachitebft_app::types::MisbehaviorEvidence;
use malachitebft_app::types::ProposedValue;
use malachitebft_app::types::sync::RawDecidedValue;
/// A libp2p address, e.g. `/ip4/127.0.0.1/tcp/30333`.
pub use malachitebft_app_channel::app::net::Multiaddr;
use malachitebft_app_channel::{
    AppMsg, ByzantineContext, Channels, ConsensusContext, ConsensusRequestError, EngineBuilder,
    NetworkContext, NetworkIdentity, NetworkMsg, NetworkRequest, RequestContext, SyncContext, WalContext,
};
use malachitebft_core_types::{
    CommitCertificate, Context, LinearTimeouts, NilOrVal, Round, SignedVote, Validity,
};
use malachitebft_engine_byzantine::{ByzantineConfig, Trigger};
use tao_chain::{Block, Equivocation, MAX_BLOCK_EVIDENCE};
use tao_crypto::SecretKey;
use tao_node::Node;
use tao_types::keccak256;

use crate::certificate::{from_certificate, to_certificate};
use crate::codec::BorshCodec;
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};

use crate::context::{BlockHash, Height, ProposalPart, TaoContext, ValidatorAddress, ValidatorSet};
use crate::inbound::{self, Check, IGNORE_FOR, Inbound, Recent, Relayed, ValidatorPeers, Verdict};
use crate::signing::{KeySigner, KeyVerifier};
use crate::stream::{self, MAX_BLOCK_BYTES, Streams};
pub use crate::watch::{SeenVote, VoteKind};
use crate::watch::{VOTES_QUEUE, watch_events};

/// How often the peer count for `/metrics` is refreshed.
const PEERS_EVERY: Duration = Duration::from_secs(1);

/// Keeps the node's peer gauges and the set of validator peers current until the network stops.
async fn watch_peers(
    node: Arc<Node>,
    requests: tokio::sync::mpsc::Sender<NetworkRequest>,
    validators: ValidatorPeers,
) {
    loop {
        match NetworkRequest::dump_state(&requests).await {
            Ok(Some(dump)) => {
                // Named only for a verified peer proof of a key in the current set.
                let proven = dump.peers.iter().filter(|(_, info)| info.consensus_address.is_some());
                let proven: std::collections::BTreeSet<Vec<u8>> =
                    proven.map(|(id, _)| id.to_bytes()).collect();
                let _ = node.set_consensus(|g| {
                    g.peers = dump.peers.len() as u64;
                    g.validator_peers = proven.len() as u64;
                });
                *inbound::lock(&validators) = proven;
            }
            Ok(None) | Err(ConsensusRequestError::Full | ConsensusRequestError::Recv) => {}
            Err(ConsensusRequestError::Closed) => return,
        }
        tokio::time::sleep(PEERS_EVERY).await;
    }
}

/// Most decided blocks served in one sync answer.
const MAX_SYNC_BATCH: u64 = 16;

/// How a validator joins the network.
#[derive(Clone)]
pub struct EngineConfig {
    /// Where the engine keeps its write-ahead log (`<base>/consensus/wal`).
    pub base_path: PathBuf,
    /// The validator's consensus key. While it is not in a height's set, the node follows the
    /// network without voting (the set changes with stake, docs/network.md).
    pub key: SecretKey,
    /// The libp2p address to listen on, e.g. `/ip4/127.0.0.1/tcp/30333`.
    pub listen: Multiaddr,
    /// Peers to stay connected to.
    pub peers: Vec<Multiaddr>,
    /// Round timeouts (propose, prevote, precommit).
    pub timeouts: LinearTimeouts,
    /// The block time: the engine waits after a decision until it has passed.
    pub block_time: Duration,
    /// Test only: makes this validator misbehave (the network's fault tests). `tao node`
    /// always passes `None`.
    pub byzantine: Option<Byzantine>,
}

/// Ways a test validator lies (`EngineConfig::byzantine`); never set outside tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Byzantine {
    /// Proposes its blocks with a wrong state root (signed and streamed as honest ones are).
    WrongStateRoot,
    /// From this height on (for [`EQUIVOCATING_HEIGHTS`]), signs and publishes a second vote
    /// (nil) beside each of its votes for a header: the engine's own byzantine network proxy.
    Equivocate {
        /// The first height it equivocates at.
        from: u64,
    },
    /// Proposes its blocks with forged equivocation evidence against the first validator of the
    /// set that is not itself (the evidence root matches; the signatures are its own), and
    /// relays that evidence to the others as if it had kept it.
    ForgedEvidence,
    /// Relays a badly signed transaction (signed, then its nonce changed) at every relay tick:
    /// a peer flooding the others with forgeries that each cost a signature check.
    ForgedTxs,
}

/// Heights a [`Byzantine::Equivocate`] validator equivocates at.
pub const EQUIVOCATING_HEIGHTS: u64 = 1_000;

impl EngineConfig {
    /// Timeouts that suit a local network: a dead proposer costs about a second.
    pub fn local_timeouts() -> LinearTimeouts {
        LinearTimeouts {
            propose: Duration::from_millis(1_500),
            propose_delta: Duration::from_millis(250),
            prevote: Duration::from_millis(500),
            prevote_delta: Duration::from_millis(250),
            precommit: Duration::from_millis(500),
            precommit_delta: Duration::from_millis(250),
            rebroadcast: Duration::from_millis(2_500),
            max_timeout: Duration::from_secs(30),
        }
    }
}

/// Why the engine stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The chain's validator set is unusable.
    #[error(transparent)]
    Set(#[from] crate::context::SetError),
    /// The engine failed to start or stopped.
    #[error("consensus engine: {0}")]
    Engine(String),
    /// The node failed.
    #[error(transparent)]
    Node(#[from] tao_node::NodeError),
    /// The peer-to-peer listen address cannot be bound.
    #[error("cannot listen for peers on {address}: {reason}")]
    Listen {
        /// The address asked for.
        address: String,
        /// Why binding it failed.
        reason: String,
    },
    /// A reply could not be sent: the engine went away.
    #[error("the consensus engine stopped")]
    Stopped,
    /// The write-ahead log holds what this validator did at a height its store has not
    /// reached: the store was wiped or restored from an older copy.
    #[error(
        "the engine's write-ahead log holds votes at height {log}, but the chain's store is only at height {head}: it was wiped or restored from an older copy, and starting now could sign a vote conflicting with one already signed. Once the network has finalized height {log}, remove <base-path>/consensus/wal and start again (the node syncs its store from the others)"
    )]
    LogAhead {
        /// The log's height.
        log: u64,
        /// The store's head.
        head: u64,
    },
}

/// The engine's configuration trait, filled from [`EngineConfig`].
struct Config {
    moniker: String,
    consensus: ConsensusConfig,
    value_sync: ValueSyncConfig,
}

impl NodeConfig for Config {
    fn moniker(&self) -> &str {
        &self.moniker
    }

    fn consensus(&self) -> &ConsensusConfig {
        &self.consensus
    }

    fn consensus_mut(&mut self) -> &mut ConsensusConfig {
        &mut self.consensus
    }

    fn value_sync(&self) -> &ValueSyncConfig {
        &self.value_sync
    }

    fn value_sync_mut(&mut self) -> &mut ValueSyncConfig {
        &mut self.value_sync
    }
}

/// A running engine and its app loop.
pub struct Running {
    /// The app loop: ends with the engine.
    pub app: tokio::task::JoinHandle<Result<(), EngineError>>,
    engine: malachitebft_app_channel::EngineHandle,
    watcher: tokio::task::JoinHandle<()>,
    votes: tokio::sync::broadcast::Sender<SeenVote>,
    /// The write-ahead log's path.
    wal: PathBuf,
    /// The peer-to-peer listen address.
    listen: Multiaddr,
}

/// How long a stopping engine may take to close its network and write-ahead log.
const STOP_WITHIN: Duration = Duration::from_secs(5);

impl Running {
    /// Stops the engine (its actors, network and WAL) and the loop, and waits (at most
    /// [`STOP_WITHIN`]) until the engine is gone, so its address and WAL can be reused.
    pub async fn stop(self) {
        self.app.abort();
        self.watcher.abort();
        // The engine's actors (consensus, network, sync, WAL) are the node actor's children.
        let actor = &self.engine.actor;
        actor.stop_children_and_wait(None, Some(STOP_WITHIN)).await;
        let _ = actor.stop_and_wait(None, Some(STOP_WITHIN)).await;
        let mut handle = self.engine.handle;
        if tokio::time::timeout(STOP_WITHIN, &mut handle).await.is_err() {
            handle.abort();
        }
        // The WAL's own thread closes the log (and its file lock), and the network its
        // listener, just after their actors stop: a restart must find both free.
        let until = tokio::time::Instant::now() + STOP_WITHIN;
        let held =
            || malachitebft_app::wal::Log::open(&self.wal).is_err() || check_listen(&self.listen).is_err();
        while held() && tokio::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Every vote this validator signs or receives from now on (a lagging receiver misses
    /// the oldest beyond a queue of 4,096).
    pub fn votes(&self) -> tokio::sync::broadcast::Receiver<SeenVote> {
        self.votes.subscribe()
    }
}

/// Starts the engine for `node` as the validator `config.key`, and the loop answering it.
pub async fn start(node: Arc<Node>, config: EngineConfig) -> Result<Running, EngineError> {
    let address = ValidatorAddress(config.key.address());
    let wal = config.base_path.join("consensus").join("wal");
    check_log(&wal, node.head()?.0.height)?;
    check_listen(&config.listen)?;
    let domain = *node.executor().domain();
    let mut consensus = ConsensusConfig::default();
    consensus.p2p.listen_addr = config.listen.clone();
    consensus.p2p.persistent_peers = config.peers.clone();
    // Every message to every peer: a validator set is small, and a proposal must reach all of
    // them within the propose timeout (GossipSub's lazy mesh repair delayed some by seconds).
    consensus.p2p.protocol = PubSubProtocol::Broadcast;
    // Whole blocks travel as parts; sync answers carry a batch of them.
    consensus.p2p.pubsub_max_size = bytesize(2 * stream::CHUNK_BYTES);
    consensus.p2p.rpc_max_size = bytesize(2 * MAX_BLOCK_BYTES);
    let value_sync = ValueSyncConfig {
        status_update_interval: Duration::from_millis(500),
        request_timeout: Duration::from_secs(5),
        max_response_size: bytesize(2 * MAX_BLOCK_BYTES),
        ..ValueSyncConfig::default()
    };
    let cfg = Config { moniker: address.to_string(), consensus, value_sync };
    let verifier = KeyVerifier::new(domain);
    let signer = KeySigner::new(config.key.clone(), domain);
    let identity = validator_identity(&config.key, &address, &signer).await?;
    let builder =
        EngineBuilder::new(TaoContext, cfg).with_default_wal(WalContext::new(wal.clone(), BorshCodec));
    // The rest of the engine, the same whichever network it talks through.
    macro_rules! finish {
        ($builder:expr) => {
            $builder
                .with_default_sync(SyncContext::new(BorshCodec))
                .with_default_consensus(ConsensusContext::new_validator(
                    address,
                    Box::new(verifier.clone()),
                    Box::new(signer.clone()),
                ))
                .with_default_request(RequestContext::new(64))
                .build()
                .await
                .map_err(engine_error)?
        };
    }
    let (channels, engine) = match config.byzantine {
        Some(Byzantine::Equivocate { from }) => {
            let heights = (from..from.saturating_add(EQUIVOCATING_HEIGHTS)).collect();
            let lie = ByzantineContext {
                identity,
                codec: BorshCodec,
                config: ByzantineConfig::default().with_equivocate_votes(Trigger::AtHeights { heights }),
                signer: Box::new(signer.clone()),
                address,
                conflicting_value_fn: None,
                conflicting_vote_value_fn: None,
            };
            finish!(builder.with_byzantine_network(lie).await.map_err(engine_error)?)
        }
        _ => finish!(builder.with_default_network(NetworkContext::new(identity, BorshCodec))),
    };
    let validator_peers = ValidatorPeers::default();
    tokio::spawn(watch_peers(node.clone(), channels.net_requests.clone(), validator_peers.clone()));
    let votes = tokio::sync::broadcast::channel(VOTES_QUEUE).0;
    let watcher = tokio::spawn(watch_events(node.clone(), channels.events.subscribe(), votes.clone()));
    let state = State {
        inbound: Inbound::new(check_relayed(node.clone()), validator_peers),
        node,
        address,
        signer,
        verifier,
        timeouts: config.timeouts,
        block_time: config.block_time,
        streams: Streams::default(),
        blocks: Vec::new(),
        seen: Vec::new(),
        relay: Relay::default(),
        byzantine: config.byzantine,
    };
    let app = tokio::spawn(run(state, channels));
    Ok(Running { app, engine, watcher, votes, wal, listen: config.listen })
}

/// Refuses to start when the write-ahead log at `path` holds entries of a height after the
/// store's `head` + 1. The engine would reset that log at the store's next height and, once
/// synced to the log's height, could sign a vote conflicting with one it signed before.
fn check_log(path: &std::path::Path, head: u64) -> Result<(), EngineError> {
    if !path.exists() {
        return Ok(());
    }
    let log = malachitebft_app::wal::Log::open(path)
        .map_err(|e| EngineError::Engine(format!("opening the write-ahead log {}: {e}", path.display())))?;
    if !log.is_empty() && log.sequence() > head.saturating_add(1) {
        return Err(EngineError::LogAhead { log: log.sequence(), head });
    }
    Ok(())
}

/// Refuses a TCP listen address that cannot be bound (another process holds the port, or the
/// address is not this machine's): the engine's network would only log the failure and run
/// with no listener, a validator cut off from every peer while it looked started.
fn check_listen(address: &Multiaddr) -> Result<(), EngineError> {
    let Some(socket) = tcp_socket(address) else { return Ok(()) };
    std::net::TcpListener::bind(socket)
        .map(drop)
        .map_err(|e| EngineError::Listen { address: address.to_string(), reason: e.to_string() })
}

/// The socket of an `/ip4/…/tcp/…` or `/ip6/…/tcp/…` address (others are left to the engine).
fn tcp_socket(address: &Multiaddr) -> Option<std::net::SocketAddr> {
    let text = address.to_string();
    match text.split('/').collect::<Vec<_>>().as_slice() {
        ["", "ip4" | "ip6", ip, "tcp", port, ..] => {
            Some(std::net::SocketAddr::new(ip.parse().ok()?, port.parse().ok()?))
        }
        _ => None,
    }
}

/// The engine failing to start, with its causes.
fn engine_error(e: impl std::fmt::Display) -> EngineError {
    EngineError::Engine(format!("{e:#}"))
}

fn bytesize(bytes: usize) -> bytesize::ByteSize {
    bytesize::ByteSize::b(bytes as u64)
}

/// The validator's network identity with its peer proof (its consensus key signs its libp2p
/// peer id): peers that see the key in the current set treat its relays as a validator's.
async fn validator_identity(
    key: &SecretKey,
    address: &ValidatorAddress,
    signer: &KeySigner,
) -> Result<NetworkIdentity, EngineError> {
    use malachitebft_codec::Codec;
    use malachitebft_signing::Signer;
    let keypair = peer_keypair(key)?;
    let peer_id = keypair.public().to_peer_id().to_bytes();
    let public_key = key.public_key().to_compressed().to_vec();
    let proof = signer.sign_validator_proof(public_key, peer_id).await.map_err(engine_error)?;
    let proof = BorshCodec.encode(&proof).map_err(engine_error)?;
    Ok(NetworkIdentity::new_validator(address.to_string(), keypair, address.to_string(), proof))
}

/// The validator's libp2p identity, derived from its consensus key so one key file is all a
/// validator needs (the derivation is one-way: the peer key reveals nothing of the other).
fn peer_keypair(key: &SecretKey) -> Result<malachitebft_app::types::Keypair, EngineError> {
    let mut seed = Vec::with_capacity(64);
    seed.extend_from_slice(b"wasmtensor/p2p-identity/v1");
    seed.extend_from_slice(&key.to_bytes());
    malachitebft_app::types::Keypair::ed25519_from_bytes(keccak256(&seed))
        .map_err(|e| EngineError::Engine(format!("peer key: {e}")))
}

/// What the loop keeps between messages: blocks of the current height (built or received) and
/// the proposals seen, for re-streaming and for the engine's crash recovery.
struct State {
    node: Arc<Node>,
    address: ValidatorAddress,
    signer: KeySigner,
    verifier: KeyVerifier,
    timeouts: LinearTimeouts,
    block_time: Duration,
    streams: Streams,
    /// Blocks of the next height by (round built, block), at most `tao_node::MAX_PENDING`.
    blocks: Vec<(Round, Block)>,
    /// Proposed values of the next height, with their validity.
    seen: Vec<ProposedValue<TaoContext>>,
    /// What this validator relays to the others: submitted transactions, kept evidence.
    relay: Relay,
    /// What the others relay here, waiting to be checked.
    inbound: Inbound,
    /// Test only: how this validator lies.
    byzantine: Option<Byzantine>,
}

#[allow(
    clippy::disallowed_methods,
    reason = "the proposer's clock stamps blocks; the node bounds it, consensus never reads it"
)]
fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl State {
    /// The engine's parameters of `height`: the set the chain names for it.
    fn params(&self, height: Height) -> Result<HeightParams<TaoContext>, EngineError> {
        Ok(HeightParams::new(self.set(height)?, self.timeouts, Some(self.block_time)))
    }

    /// The validator set that signs `height` (at most one above the head), from the chain's
    /// own state: what the header below names.
    fn set(&self, height: Height) -> Result<ValidatorSet, EngineError> {
        Ok(ValidatorSet::new(&self.node.validators_at(height.0)?)?)
    }

    fn next_height(&self) -> Result<Height, EngineError> {
        Ok(Height(self.node.head()?.0.height + 1))
    }

    /// Forgets what belonged to heights now committed.
    fn prune(&mut self, next: Height) {
        self.blocks.retain(|(_, b)| b.header.height >= next.0);
        self.seen.retain(|v| v.height >= next);
    }

    /// Keeps a block built or received, at most `tao_node::MAX_PENDING` (the oldest goes).
    fn remember(&mut self, round: Round, block: Block) {
        let hash = block.header.hash();
        self.blocks.retain(|(_, b)| b.header.hash() != hash);
        self.blocks.push((round, block));
        let excess = self.blocks.len().saturating_sub(tao_node::service::MAX_PENDING);
        self.blocks.drain(..excess);
    }

    fn block(&self, hash: &BlockHash) -> Option<&Block> {
        self.blocks.iter().map(|(_, b)| b).find(|b| b.header.hash() == hash.0)
    }

    /// The parts streaming `block` as this validator's proposal at `height` and `round`.
    fn parts(
        &self,
        height: Height,
        round: Round,
        pol_round: Round,
        block: &Block,
    ) -> Option<Vec<StreamMessage<ProposalPart>>> {
        let signature = self.signer.sign_block(height, round, &block.header.hash()).ok()?;
        let bytes = borsh::to_vec(block).ok()?;
        Some(stream::parts(height, round, pol_round, self.address, &bytes, signature))
    }

    /// Checks a block (proposed or synced) on a blocking thread: its validity for a vote.
    async fn check(&self, block: Block) -> Validity {
        let node = self.node.clone();
        let checked = tokio::task::spawn_blocking(move || node.check_proposal(&block, now_ms())).await;
        match checked {
            Ok(Ok(_)) => Validity::Valid,
            Ok(Err(e)) => {
                log(&format!("refusing a proposed block: {e}"));
                Validity::Invalid
            }
            Err(e) => {
                log(&format!("checking a proposed block panicked: {e}"));
                Validity::Invalid
            }
        }
    }
}

/// One line for the operator (stderr: stdout belongs to the node's own log).
fn log(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "consensus: {line}");
}

fn send<T>(reply: tokio::sync::oneshot::Sender<T>, value: T) -> Result<(), EngineError> {
    reply.send(value).map_err(|_| EngineError::Stopped)
}

async fn run(mut state: State, mut channels: Channels<TaoContext>) -> Result<(), EngineError> {
    let mut submitted = state.node.subscribe_submitted();
    let mut kept = state.node.subscribe_evidence();
    let mut tick = tokio::time::interval(RELAY_EVERY);
    loop {
        tokio::select! {
            msg = channels.consensus.recv() => match msg {
                Some(msg) => handle(&mut state, &mut channels, msg).await?,
                None => return Err(EngineError::Stopped),
            },
            tx = submitted.recv() => match tx {
                Ok(tx) => {
                    if let Some(batch) = state.relay.push(tx) {
                        publish(&channels, batch).await?;
                    }
                }
                // Missed ones stay in this node's mempool.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return Err(EngineError::Stopped),
            },
            // Evidence is rare and urgent (it expires): relayed at once.
            piece = kept.recv() => match piece {
                Ok(piece) => {
                    let batch = evidence_batch(piece, &mut kept);
                    publish(&channels, state.relay.message(ProposalPart::Evidence(batch))).await?;
                }
                // Missed ones stay pending here.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return Err(EngineError::Stopped),
            },
            _ = tick.tick() => {
                if let Some(batch) = state.relay.take() {
                    publish(&channels, batch).await?;
                }
                if state.byzantine == Some(Byzantine::ForgedTxs) {
                    let forged = state.forged_transaction().into_iter().collect();
                    let lie = state.relay.message(ProposalPart::Txs(forged));
                    publish(&channels, lie).await?;
                }
            }
        }
    }
}

/// A relay message (transactions or evidence), or the proposal part it is not.
fn relay_of(part: StreamMessage<ProposalPart>) -> Result<Relayed, StreamMessage<ProposalPart>> {
    match part.content {
        StreamContent::Data(ProposalPart::Txs(txs)) => Ok(Relayed::Txs(txs)),
        StreamContent::Data(ProposalPart::Evidence(pieces)) => Ok(Relayed::Evidence(pieces)),
        content => Err(StreamMessage::new(part.stream_id, part.sequence, content)),
    }
}

/// How often submitted transactions are relayed.
const RELAY_EVERY: Duration = Duration::from_millis(50);
/// Most transactions in one relayed message.
pub const MAX_RELAY_TXS: usize = 1024;

/// Most pieces of evidence in one relayed message: a block's worth.
pub const MAX_RELAY_EVIDENCE: usize = MAX_BLOCK_EVIDENCE;

/// Submitted transactions waiting to be relayed, at most one message's worth, and the count of
/// relay messages sent (each its own stream id).
#[derive(Default)]
struct Relay {
    txs: Vec<Vec<u8>>,
    bytes: usize,
    sent: u64,
}

impl Relay {
    /// Adds one; a full message when this one fills it.
    fn push(&mut self, tx: Vec<u8>) -> Option<StreamMessage<ProposalPart>> {
        self.bytes = self.bytes.saturating_add(tx.len());
        self.txs.push(tx);
        (self.txs.len() >= MAX_RELAY_TXS || self.bytes >= stream::CHUNK_BYTES).then(|| self.take()).flatten()
    }

    /// The waiting transactions as one message.
    fn take(&mut self) -> Option<StreamMessage<ProposalPart>> {
        if self.txs.is_empty() {
            return None;
        }
        self.bytes = 0;
        let txs = std::mem::take(&mut self.txs);
        Some(self.message(ProposalPart::Txs(txs)))
    }

    /// `part` as a relay message of its own: a stream id no proposal uses.
    fn message(&mut self, part: ProposalPart) -> StreamMessage<ProposalPart> {
        self.sent = self.sent.wrapping_add(1);
        let id = StreamId::new(Bytes::from(borsh::to_vec(&(u64::MAX, self.sent)).unwrap_or_default()));
        StreamMessage::new(id, 0, StreamContent::Data(part))
    }
}

/// Evidence kept here as one relay message: `first` and whatever else is waiting, at most
/// [`MAX_RELAY_EVIDENCE`] pieces (the rest follows in the next).
fn evidence_batch(
    first: Equivocation,
    kept: &mut tokio::sync::broadcast::Receiver<Equivocation>,
) -> Vec<Equivocation> {
    let mut batch = vec![first];
    while batch.len() < MAX_RELAY_EVIDENCE {
        match kept.try_recv() {
            Ok(piece) => batch.push(piece),
            // Missed ones stay pending here; nothing more waiting ends the batch.
            Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => {}
            Err(_) => break,
        }
    }
    batch
}

async fn publish(
    channels: &Channels<TaoContext>,
    part: StreamMessage<ProposalPart>,
) -> Result<(), EngineError> {
    channels.network.send(NetworkMsg::PublishProposalPart(part)).await.map_err(|_| EngineError::Stopped)
}

/// How a relay message from a peer is checked: each transaction like any submission, each
/// piece of evidence like the engine's own report (the node relays on only what it newly
/// keeps). What only a liar sends (more than a message's worth, a bad signature, evidence that
/// proves nothing) condemns the sender.
fn check_relayed(node: Arc<Node>) -> Check {
    let refused = Mutex::new(Recent::new(MAX_REFUSED_RELAYS, IGNORE_FOR));
    Arc::new(move |peer, relayed| match relayed {
        Relayed::Txs(txs) if txs.len() > MAX_RELAY_TXS => Verdict::Forged,
        Relayed::Txs(txs) => check_txs(&node, &refused, peer, txs),
        Relayed::Evidence(pieces) if pieces.len() > MAX_RELAY_EVIDENCE => Verdict::Forged,
        Relayed::Evidence(pieces) => keep_pieces(&node, pieces, Source::Relayed),
    })
}

/// Queues relayed transactions; a malformed or badly signed one is forged (the relayer
/// checked each before relaying it), while stale, duplicate or unpayable ones are not (the
/// chain moved on meanwhile). One refused here is not checked again if the same peer relays it
/// again: an honest validator relays a transaction once, so only a replay repeats it (another
/// peer's relay of it, after the sender is funded say, is checked).
fn check_txs(node: &Node, refused: &Mutex<Recent>, peer: &[u8], txs: Vec<Vec<u8>>) -> Verdict {
    for tx in txs {
        let key = [peer, &keccak256(&tx)[..]].concat();
        if inbound::lock(refused).contains(&key) {
            continue;
        }
        match node.submit_relayed(&tx) {
            Ok(_) => {}
            Err(tao_node::SubmitError::Invalid(e)) => {
                log(&format!("a peer relayed a transaction no validator admits ({e}): ignoring the peer"));
                return Verdict::Forged;
            }
            Err(_) => inbound::lock(refused).add(&key),
        }
    }
    Verdict::Honest
}

/// Relayed transactions remembered as refused.
const MAX_REFUSED_RELAYS: usize = 4_096;

/// Where evidence handed to the node comes from.
#[derive(Clone, Copy)]
enum Source {
    /// This engine's own report of votes it received.
    Engine,
    /// A peer's relay: adversarial input.
    Relayed,
}

/// Hands `pieces` to the node, which checks and keeps them, and logs what it kept or refused.
/// A relayed piece that proves nothing is forged: the rest of its message is not checked.
fn keep_pieces(node: &Node, pieces: Vec<Equivocation>, source: Source) -> Verdict {
    let from = match source {
        Source::Engine => "",
        Source::Relayed => "relayed ",
    };
    for piece in pieces {
        let (offender, at) = (piece.validator.address(), piece.height);
        let kept = match source {
            Source::Engine => node.report_equivocation(piece),
            Source::Relayed => node.receive_equivocation(piece),
        };
        match kept {
            Ok(true) => log(&format!(
                "validator {offender} equivocated at height {at}: {from}evidence kept for a block"
            )),
            Ok(false) => {}
            Err(e) => {
                log(&format!("{from}evidence against {offender} at height {at} refused: {e}"));
                if matches!(
                    e,
                    tao_node::BlockError::Evidence(tao_node::evidence::EvidenceRefused::Invalid(_))
                ) {
                    return Verdict::Forged;
                }
            }
        }
    }
    Verdict::Honest
}

async fn handle(
    state: &mut State,
    channels: &mut Channels<TaoContext>,
    msg: AppMsg<TaoContext>,
) -> Result<(), EngineError> {
    match msg {
        AppMsg::ConsensusReady { reply } => {
            let next = state.next_height()?;
            send(reply, (next, state.params(next)?))
        }
        AppMsg::StartedRound { height, round, reply_value, .. } => {
            state.node.set_consensus(|g| g.round = u64::from(round.as_u32().unwrap_or(0)))?;
            let values =
                state.seen.iter().filter(|v| v.height == height && v.round == round).cloned().collect();
            send(reply_value, values)
        }
        AppMsg::GetValue { height, round, reply, .. } => propose(state, channels, height, round, reply).await,
        AppMsg::ReceivedProposalPart { from, published_by, part, reply } => {
            let publisher = published_by.unwrap_or(from).to_bytes();
            let value = match relay_of(part) {
                // Relays are our own messages, never forwarded: the peer that delivered one
                // answers for it (and bears its cost).
                Ok(relayed) => {
                    state.inbound.offer(&from.to_bytes(), relayed);
                    let dropped = state.inbound.dropped();
                    state.node.set_consensus(|g| g.relays_dropped = dropped)?;
                    None
                }
                Err(part) => match state.streams.insert(&publisher, part) {
                    Ok(Some(assembled)) => received(state, assembled).await,
                    Ok(None) => None,
                    Err(e) => {
                        log(&format!("dropping a proposal stream: {e}"));
                        None
                    }
                },
            };
            send(reply, value)
        }
        AppMsg::RestreamProposal { height, round, valid_round, value_id, .. } => {
            let parts = state.block(&value_id).and_then(|b| state.parts(height, round, valid_round, b));
            for part in parts.unwrap_or_default() {
                publish(channels, part).await?;
            }
            Ok(())
        }
        AppMsg::Decided { certificate, reply, .. } => {
            decided(state, &certificate).await;
            send(reply, ())
        }
        AppMsg::Finalized { certificate, evidence, reply, .. } => {
            report(state, certificate.height, &evidence).await;
            let next = state.next_height()?;
            state.prune(next);
            let params = state.params(next)?;
            let next = if next > certificate.height {
                Next::Start(next, params)
            } else {
                Next::Restart(next, params)
            };
            send(reply, next)
        }
        AppMsg::GetHistoryMinHeight { reply } => {
            let oldest = state.node.store().oldest().map_err(tao_node::NodeError::from)?;
            send(reply, Height(oldest.max(1)))
        }
        AppMsg::GetDecidedValues { range, reply } => {
            let values = decided_values(state, range.start().0, range.end().0);
            send(reply, values)
        }
        AppMsg::ProcessSyncedValue { height, round, proposer, value_bytes, reply } => {
            let outcome = match decode_block(&value_bytes) {
                Some(block) => {
                    let value = BlockHash(block.header.hash());
                    let validity = state.check(block.clone()).await;
                    state.remember(round, block);
                    SyncedValueOutcome::Verdict(ProposedValue {
                        height,
                        round,
                        valid_round: Round::Nil,
                        proposer,
                        value,
                        validity,
                    })
                }
                None => SyncedValueOutcome::PeerFault,
            };
            send(reply, outcome)
        }
        AppMsg::ExtendVote { reply, .. } => send(reply, None),
        // Extensions are disabled, so none is ever valid.
        AppMsg::VerifyVoteExtensions { extensions, reply, .. } => {
            let verdicts = extensions
                .into_iter()
                .map(|(address, _)| {
                    (address, Err(malachitebft_app::consensus::VoteExtensionError::InvalidSignature))
                })
                .collect();
            send(reply, verdicts)
        }
    }
}

/// Builds (or repeats) this validator's block for `height` and `round`, answers the engine
/// and streams the block to the others.
async fn propose(
    state: &mut State,
    channels: &mut Channels<TaoContext>,
    height: Height,
    round: Round,
    reply: tokio::sync::oneshot::Sender<LocallyProposedValue<TaoContext>>,
) -> Result<(), EngineError> {
    let again =
        state.blocks.iter().find(|(r, b)| *r == round && b.header.height == height.0).map(|(_, b)| b.clone());
    let block = match again {
        Some(block) => block,
        None => {
            let node = state.node.clone();
            let proposer = state.address.0;
            let built = tokio::task::spawn_blocking(move || node.propose(now_ms(), proposer)).await;
            match built {
                Ok(Ok(block)) => state.lie(block),
                Ok(Err(e)) => {
                    // No answer: the round times out and the next proposer tries.
                    log(&format!("building a block failed: {e}"));
                    return Ok(());
                }
                Err(e) => {
                    log(&format!("building a block panicked: {e}"));
                    return Ok(());
                }
            }
        }
    };
    if block.header.height != height.0 {
        log(&format!("asked to propose at {height}, but the head is at {}", block.header.height - 1));
        return Ok(());
    }
    if state.byzantine == Some(Byzantine::ForgedEvidence) && !block.evidence.is_empty() {
        let lie = state.relay.message(ProposalPart::Evidence(block.evidence.clone()));
        publish(channels, lie).await?;
    }
    let value = BlockHash(block.header.hash());
    let parts = state.parts(height, round, Round::Nil, &block);
    state.remember(round, block);
    send(reply, LocallyProposedValue::new(height, round, value))?;
    for part in parts.unwrap_or_default() {
        publish(channels, part).await?;
    }
    Ok(())
}

impl State {
    /// The block a byzantine test validator proposes instead of the honest one.
    fn lie(&self, mut block: Block) -> Block {
        match self.byzantine {
            Some(Byzantine::WrongStateRoot) => {
                block.header.state_root = tao_types::Hash(keccak256(&block.header.state_root.0));
            }
            Some(Byzantine::ForgedEvidence) => {
                if let Some(forged) = self.forged_evidence(&block.header) {
                    block.evidence.push(forged);
                    block.header.evidence_root = tao_chain::evidence_root(&block.evidence);
                }
            }
            Some(Byzantine::Equivocate { .. } | Byzantine::ForgedTxs) | None => {}
        }
        block
    }

    /// A transaction signed by this validator and then altered (its nonce, a new one each
    /// time): it decodes, and only its signature check refuses it.
    fn forged_transaction(&self) -> Option<Vec<u8>> {
        let call = tao_tx::Call {
            contract: tao_types::Hash([0; 32]),
            method: b"forged".to_vec().try_into().ok()?,
            args: Vec::new().try_into().ok()?,
        };
        let tx = tao_tx::Transaction {
            chain_id: self.node.executor().domain().chain_id,
            sender: self.address.0,
            nonce: self.relay.sent,
            fee_limit: tao_types::Balance(0),
            call,
        };
        let mut signed = self.signer.sign_transaction(tx);
        signed.tx.nonce = signed.tx.nonce.wrapping_add(1);
        Some(signed.encode())
    }

    /// Evidence that another validator equivocated at the height below `header`, with this
    /// validator's own signatures (over something else) in place of the other's.
    fn forged_evidence(&self, header: &tao_chain::Header) -> Option<Equivocation> {
        let below = header.height.checked_sub(1)?;
        let set = self.set(Height(below)).ok()?;
        let victim = set.validators().iter().find(|v| v.address != self.address)?.key;
        let signature = self.signer.sign_block(Height(below), Round::new(0), &header.parent).ok()?.0;
        let vote = |value| tao_light::SignedVote { value, signature };
        Some(Equivocation::new(below, 0, VoteKind::Precommit, victim, vote(None), vote(Some(header.parent))))
    }
}

/// A complete proposal from the network: the value to vote on, or nothing if it is not the
/// round proposer's (bad signature, another signer, undecodable block).
async fn received(state: &mut State, assembled: stream::Assembled) -> Option<ProposedValue<TaoContext>> {
    if state.next_height().ok()? != assembled.height {
        // A late stream of a decided height, or one too far ahead: the engine no longer (or
        // not yet) votes there, and sync brings decided blocks.
        return None;
    }
    let set = state.set(assembled.height).ok()?;
    let expected = TaoContext.select_proposer(&set, assembled.height, assembled.round);
    if expected.address != assembled.proposer {
        log(&format!(
            "dropping a proposal at {}/{} not from its proposer",
            assembled.height, assembled.round
        ));
        return None;
    }
    let block = decode_block(&assembled.block)?;
    let hash = block.header.hash();
    let signed = state.verifier.check_block(
        assembled.height,
        assembled.round,
        &hash,
        &assembled.signature,
        &expected.key,
    );
    if !signed || block.header.height != assembled.height.0 {
        log(&format!("dropping a proposal at {}/{} with a bad signature", assembled.height, assembled.round));
        return None;
    }
    let validity = state.check(block.clone()).await;
    state.remember(assembled.round, block);
    let value = ProposedValue {
        height: assembled.height,
        round: assembled.round,
        valid_round: assembled.pol_round,
        proposer: assembled.proposer,
        value: BlockHash(hash),
        validity,
    };
    state.seen.push(value.clone());
    let excess = state.seen.len().saturating_sub(tao_node::service::MAX_PENDING);
    state.seen.drain(..excess);
    Some(value)
}

/// Hands the engine's evidence of equivocating votes at `height` to the node, which checks it
/// against the set of that height and keeps it for a block (proposal equivocation is not
/// slashed: a proposer's two blocks cannot both be decided, and its votes are what count).
async fn report(state: &State, height: Height, evidence: &MisbehaviorEvidence<TaoContext>) {
    if evidence.votes.is_empty() {
        return;
    }
    let Ok(set) = state.set(height) else { return };
    let mut found = Vec::new();
    for (address, pairs) in &evidence.votes {
        let Some(validator) = set.validators().iter().find(|v| v.address == *address) else { continue };
        found.extend(pairs.iter().filter_map(|(a, b)| equivocation(validator.key, a, b)));
    }
    let node = state.node.clone();
    let _ = tokio::task::spawn_blocking(move || keep_pieces(&node, found, Source::Engine)).await;
}

/// The chain's evidence of two conflicting votes `a` and `b` by the validator with `key`.
fn equivocation(
    key: tao_crypto::PublicKey,
    a: &SignedVote<TaoContext>,
    b: &SignedVote<TaoContext>,
) -> Option<Equivocation> {
    let signed = |vote: &SignedVote<TaoContext>| tao_light::SignedVote {
        value: match &vote.message.value {
            NilOrVal::Val(BlockHash(hash)) => Some(*hash),
            NilOrVal::Nil => None,
        },
        signature: vote.signature.0,
    };
    let vote = &a.message;
    let kind = crate::signing::vote_kind(vote.kind);
    Some(Equivocation::new(vote.height.0, vote.round.as_u32()?, kind, key, signed(a), signed(b)))
}

/// Commits a decided block with its certificate; a failure is logged, and `Finalized`
/// restarts the height.
async fn decided(state: &mut State, certificate: &CommitCertificate<TaoContext>) {
    let converted = match state.set(certificate.height).map(|set| to_certificate(certificate, &set)) {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return log(&format!("decision at {} does not convert: {e}", certificate.height)),
        Err(e) => return log(&format!("decision at {}: {e}", certificate.height)),
    };
    let node = state.node.clone();
    let hash = certificate.value_id.0;
    match tokio::task::spawn_blocking(move || node.commit_decided(&hash, converted)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => log(&format!("committing block {} failed: {e}", certificate.height)),
        Err(e) => log(&format!("committing block {} panicked: {e}", certificate.height)),
    }
}

/// Stored blocks `from..=to` (at most [`MAX_SYNC_BATCH`]) with their certificates, for peers
/// catching up.
fn decided_values(state: &State, from: u64, to: u64) -> Vec<RawDecidedValue<TaoContext>> {
    let to = to.min(from.saturating_add(MAX_SYNC_BATCH - 1));
    let mut values = Vec::new();
    for height in from.max(1)..=to {
        let Ok(stored) = state.node.stored(height) else { break };
        let Ok(set) = state.set(Height(height)) else { break };
        let Ok(certificate) = from_certificate(&stored.certificate, &set) else { break };
        let Ok(bytes) = borsh::to_vec(&stored.block) else { break };
        values.push(RawDecidedValue::new(Bytes::from(bytes), certificate));
    }
    values
}

fn decode_block(bytes: &[u8]) -> Option<Block> {
    if bytes.len() > MAX_BLOCK_BYTES {
        return None;
    }
    borsh::from_slice(bytes).ok()
}

#[cfg(test)]
mod tests {
    use tao_light::SignedVote;

    use super::*;

    /// A piece (its signatures are not checked here) against key `n` at `height`.
    fn piece(n: u8, height: u64) -> Equivocation {
        let key = SecretKey::from_bytes(&[n; 32]).expect("valid key");
        let vote = |value| SignedVote { value, signature: key.sign_hash(&[0; 32]) };
        let (a, b) = (vote(None), vote(Some(tao_types::Hash([1; 32]))));
        Equivocation::new(height, 0, VoteKind::Precommit, key.public_key(), a, b)
    }

    /// Kept evidence leaves in messages of at most a block's worth, nothing lost or repeated,
    /// and each relay message has a stream id of its own.
    #[test]
    fn kept_evidence_is_relayed_in_bounded_messages() {
        let (sender, mut kept) = tokio::sync::broadcast::channel(64);
        let pieces: Vec<Equivocation> = (1..=20).map(|n| piece(n, u64::from(n))).collect();
        for p in &pieces {
            sender.send(p.clone()).expect("a receiver");
        }
        let mut relayed = Vec::new();
        let mut relay = Relay::default();
        let mut ids = Vec::new();
        while let Ok(first) = kept.try_recv() {
            let batch = evidence_batch(first, &mut kept);
            assert!(batch.len() <= MAX_RELAY_EVIDENCE);
            relayed.extend(batch.clone());
            ids.push(relay.message(ProposalPart::Evidence(batch)).stream_id);
        }
        assert_eq!(relayed, pieces);
        assert_eq!(ids.len(), 2, "16 and 4");
        assert_ne!(ids[0], ids[1]);
    }
}
