//! Validator networks on 127.0.0.1, in one process with real networking, WAL and stores, and
//! the faults they must survive: four equal validators finalize the same certified blocks and
//! relay transactions; with two of four stopped nothing is finalized until they return; a
//! proposer lying about the state root gets no quorum and a later round decides; a validator
//! stopped right after voting restarts from its write-ahead log without signing a conflicting
//! vote; a 2|2 partition (a cuttable TCP proxy per link) finalizes nothing and heals without a
//! fork; an equivocating validator is reported, slashed and leaves the set; a proposer forging
//! evidence gets no quorum; a peer relaying forged transactions costs one check and is ignored. The scenarios run one at a time (two cores; each is a network of four).
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tao_chain::{Equivocation, EvidenceError};
use tao_consensus::app::{Byzantine, EngineConfig, EngineError, Running, SeenVote, VoteKind, start};
use tao_contract_token::TransferArgs;
use tao_crypto::SecretKey;
use tao_light::SignedVote;
use tao_light::{CertificateError, LightClient, LightError};
use tao_node::BlockError;
use tao_node::evidence::EvidenceRefused;
use tao_node::spec::{ChainSpec, SpecValidator, dev_key, load_modules};
use tao_node::{Node, TxStatus};
use tao_tx::{Call, Transaction};
use tao_types::{Balance, Hash};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

const VALIDATORS: usize = 4;
const TARGET: u64 = 20;
/// How long a stalled network is watched to show that it finalizes nothing: several rounds'
/// timeouts (propose 1.5 s, prevote and precommit 0.5 s).
const STALL: Duration = Duration::from_secs(4);

/// One network at a time: each is four validators on a two-core machine.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn contract_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("wasm32-unknown-unknown/contract")
}

fn key(i: usize) -> SecretKey {
    dev_key(&format!("validator-{i}"))
}

fn spec() -> ChainSpec {
    let validators = (0..VALIDATORS)
        .map(|i| SpecValidator {
            key: format!("0x{}", hex::encode(key(i).public_key().to_compressed())),
            power: 10,
            operator: None,
        })
        .collect();
    let mut dev = ChainSpec::dev(1_000);
    // Validators' keys hold TAO, so a liar's forged transactions from its own key pass the fee
    // check and cost their receivers a signature check.
    dev.balances.extend((0..VALIDATORS).map(|i| (key(i).address(), 1_000_000_000_000)));
    ChainSpec { validators, ..dev }
}

/// A free port on 127.0.0.1, held until the listener is dropped: the proxies bind their own
/// ports meanwhile and must not be given a validator's.
fn reserve_port() -> std::net::TcpListener {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap()
}

fn addr(port: u16) -> tao_consensus::app::Multiaddr {
    format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap()
}

/// The compiled-module cache of the first node opened, copied into every later node's
/// directory: the same modules compile to the same artifacts, and compiling them for every
/// node would be most of the test.
fn artifacts() -> &'static tempfile::TempDir {
    static CACHE: OnceLock<tempfile::TempDir> = OnceLock::new();
    CACHE.get_or_init(|| tempfile::tempdir().unwrap())
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// A link between two validators that a test can cut and restore: every connection through
/// its proxies is dropped while it is down.
#[derive(Clone)]
struct Link(watch::Sender<bool>);

impl Link {
    fn set(&self, up: bool) {
        self.0.send_replace(up);
    }
}

/// Forwards connections accepted on `listener` to `target` while the link is up.
async fn proxy(listener: TcpListener, target: u16, up: watch::Receiver<bool>) {
    while let Ok((mut inbound, _)) = listener.accept().await {
        if !*up.borrow() {
            continue;
        }
        let mut up = up.clone();
        tokio::spawn(async move {
            let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", target)).await else { return };
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                _ = up.wait_for(|up| !*up) => {}
            }
        });
    }
}

/// Everything the validators signed or received, as reported by their engines.
type Votes = Arc<Mutex<Vec<SeenVote>>>;

struct Member {
    node: Arc<Node>,
    config: EngineConfig,
    engine: Option<Running>,
    _dir: tempfile::TempDir,
}

struct Network {
    members: Vec<Member>,
    /// By unordered pair `(i, j)`, `i < j`, when the validators talk through proxies.
    links: BTreeMap<(usize, usize), Link>,
    votes: Votes,
}

impl Network {
    /// Four validators, `byzantine[i]` lying as told; through a cuttable proxy per link when
    /// `proxied`.
    async fn start(byzantine: [Option<Byzantine>; VALIDATORS], proxied: bool) -> Network {
        let genesis =
            spec().genesis(load_modules(&contract_dir()).expect("run `cargo xtask contracts`")).unwrap();
        let reserved: Vec<std::net::TcpListener> = (0..VALIDATORS).map(|_| reserve_port()).collect();
        let ports: Vec<u16> = reserved.iter().map(|l| l.local_addr().unwrap().port()).collect();
        let mut links = BTreeMap::new();
        let mut peers: Vec<Vec<tao_consensus::app::Multiaddr>> = vec![Vec::new(); VALIDATORS];
        for (i, list) in peers.iter_mut().enumerate() {
            for j in (0..VALIDATORS).filter(|j| *j != i) {
                if !proxied {
                    list.push(addr(ports[j]));
                    continue;
                }
                let link = links.entry((i.min(j), i.max(j))).or_insert_with(|| Link(watch::channel(true).0));
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                list.push(addr(listener.local_addr().unwrap().port()));
                tokio::spawn(proxy(listener, ports[j], link.0.subscribe()));
            }
        }
        // Released for the engines to bind.
        drop(reserved);
        let mut net = Network { members: Vec::new(), links, votes: Votes::default() };
        for (i, peers) in peers.into_iter().enumerate() {
            let dir = tempfile::tempdir().unwrap();
            let cached = std::fs::read_dir(artifacts().path()).unwrap().next().is_some();
            if cached {
                copy_dir(artifacts().path(), &dir.path().join("artifacts"));
            }
            let node = Arc::new(Node::open_member(dir.path(), &genesis, 64).unwrap());
            if !cached {
                copy_dir(&dir.path().join("artifacts"), artifacts().path());
            }
            let config = EngineConfig {
                base_path: dir.path().to_path_buf(),
                key: key(i),
                listen: addr(ports[i]),
                peers,
                timeouts: EngineConfig::local_timeouts(),
                block_time: Duration::from_millis(200),
                byzantine: byzantine[i],
            };
            net.members.push(Member { node, config, engine: None, _dir: dir });
            net.resume(i).await;
        }
        net
    }

    fn nodes(&self) -> Vec<Arc<Node>> {
        self.members.iter().map(|m| m.node.clone()).collect()
    }

    /// Starts validator `i`'s engine (again): from its write-ahead log when it ran before.
    async fn resume(&mut self, i: usize) {
        let member = &mut self.members[i];
        let running = start(member.node.clone(), member.config.clone()).await.unwrap();
        let (mut seen, votes) = (running.votes(), self.votes.clone());
        tokio::spawn(async move {
            loop {
                match seen.recv().await {
                    Ok(vote) => votes.lock().unwrap().push(vote),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        member.engine = Some(running);
    }

    /// Stops validator `i`'s engine, as a crash would: its store and WAL stay on disk.
    async fn halt(&mut self, i: usize) {
        if let Some(engine) = self.members[i].engine.take() {
            engine.stop().await;
        }
    }

    async fn stop(mut self) {
        for i in 0..VALIDATORS {
            self.halt(i).await;
        }
    }

    /// Cuts (or restores) every link between `side` and the others.
    fn partition(&self, side: &[usize], up: bool) {
        for ((i, j), link) in &self.links {
            if side.contains(i) != side.contains(j) {
                link.set(up);
            }
        }
    }

    fn heads(&self, which: &[usize]) -> Vec<u64> {
        which.iter().map(|i| self.members[*i].node.head().unwrap().0.height).collect()
    }

    /// Watches validators `which` for [`STALL`] and fails if any finalizes a block: the
    /// heads they had once a decision in flight when the fault began has landed.
    async fn assert_stalled(&self, which: &[usize]) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = self.heads(which);
        let until = Instant::now() + STALL;
        while Instant::now() < until {
            assert_eq!(self.heads(which), before, "validators {which:?} finalized blocks without a quorum");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Polls until every node's head is at least `height`, within `deadline`.
async fn wait_for(nodes: &[Arc<Node>], height: u64, deadline: Duration) {
    let until = Instant::now() + deadline;
    loop {
        let heads: Vec<u64> = nodes.iter().map(|n| n.head().unwrap().0.height).collect();
        if heads.iter().all(|h| *h >= height) {
            return;
        }
        if Instant::now() >= until {
            let peers: Vec<u64> = nodes.iter().map(|n| metric(n, "tao_consensus_peers")).collect();
            panic!("heads {heads:?} (peers {peers:?}) did not reach {height} in {deadline:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every node stores the same blocks up to `height`, and a light client from genesis accepts
/// each stored certificate in order. Returns the first node's stored blocks.
fn assert_one_certified_chain(nodes: &[Arc<Node>], height: u64) -> Vec<tao_node::StoredBlock> {
    let first = &nodes[0];
    let genesis = first.stored(0).unwrap().block.header;
    let mut light = LightClient::new(genesis.hash(), genesis, first.validators().to_vec()).unwrap();
    let mut blocks = Vec::new();
    for h in 1..=height {
        let stored = first.stored(h).unwrap();
        for other in &nodes[1..] {
            assert_eq!(
                other.stored(h).unwrap().block.header.hash(),
                stored.block.header.hash(),
                "fork at {h}"
            );
        }
        light.accept(stored.block.header.clone(), &stored.certificate).unwrap();
        blocks.push(stored);
    }
    assert_eq!(light.head().height, height);
    blocks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_finalize_the_same_certified_blocks() {
    let _serial = SERIAL.lock().await;
    let net = Network::start([None; VALIDATORS], false).await;
    let nodes = net.nodes();
    wait_for(&nodes, TARGET, Duration::from_secs(60)).await;
    assert_one_certified_chain(&nodes, TARGET);
    let first = &nodes[0];
    // Two of the four equal validators' votes (20 of 40 power, not more than two thirds) do
    // not finalize a header the full certificate finalizes.
    let next = first.stored(TARGET + 1).unwrap_or_else(|_| first.stored(TARGET).unwrap());
    let mut short = next.certificate.clone();
    short.signatures.truncate(2);
    let genesis = first.stored(0).unwrap().block.header;
    let mut fresh = LightClient::new(genesis.hash(), genesis, first.validators().to_vec()).unwrap();
    for height in 1..next.block.header.height {
        let stored = first.stored(height).unwrap();
        fresh.accept(stored.block.header, &stored.certificate).unwrap();
    }
    assert_eq!(
        fresh.accept(next.block.header.clone(), &short),
        Err(LightError::Certificate {
            height: next.block.header.height,
            error: CertificateError::NotEnoughPower { signed: 20, total: 40 }
        })
    );
    transactions_submitted_to_one_validator_are_finalized_by_the_others(&nodes).await;
    // `/metrics` shows the engine: each validator has the three others as peers, works on the
    // height after its head, and has signed and received votes.
    for node in &nodes {
        let metrics = node.metrics().unwrap();
        let value = |name: &str| metric(node, name);
        assert_eq!(value("tao_consensus_peers"), 3, "{metrics}");
        // Each proves its key to the others: their relays are a validator's, never crowded out.
        assert_eq!(value("tao_consensus_validator_peers"), 3, "{metrics}");
        let (head, engine) = (value("tao_block_height"), value("tao_consensus_height"));
        assert!(engine >= TARGET && (head..=head + 1).contains(&engine), "{metrics}");
        assert!(metrics.contains("tao_consensus_round "), "{metrics}");
        // Each of more than 20 heights needs its own prevote and precommit.
        assert!(value("tao_consensus_votes_signed_total") >= 2 * TARGET, "{metrics}");
        assert!(value("tao_consensus_votes_received_total") >= 2 * 2 * TARGET, "{metrics}");
    }
    net.stop().await;
}

/// The value of `/metrics` line `name` of `node`.
fn metric(node: &Node, name: &str) -> u64 {
    let metrics = node.metrics().unwrap();
    let line =
        metrics.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{metrics}"));
    line.split(' ').nth(1).unwrap().parse().unwrap()
}

/// A transfer from alice, signed for `node`'s chain.
fn transfer(node: &Node, nonce: u64) -> Vec<u8> {
    let args = borsh::to_vec(&TransferArgs { to: dev_key("bob").address(), amount: 1_000 }).unwrap();
    alice_calls(node, "token", "entry_transfer", args, nonce)
}

/// Alice's call of `method` of system module `module`, signed for `node`'s chain.
fn alice_calls(node: &Node, module: &str, method: &str, args: Vec<u8>, nonce: u64) -> Vec<u8> {
    let contract =
        Hash(node.store().get(&tao_chain::keys::module(module)).unwrap().unwrap().try_into().unwrap());
    let call = Call {
        contract,
        method: method.as_bytes().to_vec().try_into().unwrap(),
        args: args.try_into().unwrap(),
    };
    let domain = *node.executor().domain();
    let alice = dev_key("alice");
    let tx = Transaction {
        chain_id: domain.chain_id,
        sender: alice.address(),
        nonce,
        fee_limit: Balance(10_000_000),
        call,
    };
    borsh::to_vec(&tx.sign(&domain, &alice)).unwrap()
}

/// Each transaction is submitted to validator 0 only, once the previous one is final: had
/// they waited for validator 0's own turns, every one would be in a block it proposed.
async fn transactions_submitted_to_one_validator_are_finalized_by_the_others(nodes: &[Arc<Node>]) {
    let entry = &nodes[0];
    let mut proposers = Vec::new();
    for nonce in 0..4 {
        let hash = entry.submit(&transfer(entry, nonce)).unwrap();
        let until = Instant::now() + Duration::from_secs(30);
        let height = loop {
            if let TxStatus::Finalized { height, .. } = entry.status(&hash).unwrap() {
                break height;
            }
            assert!(Instant::now() < until, "transaction {nonce} not finalized in 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        proposers.push(entry.stored(height).unwrap().block.header.proposer);
    }
    let own = key(0).address();
    assert!(
        proposers.iter().any(|p| *p != own),
        "every transaction waited for validator 0's turn: {proposers:?}"
    );
    assert_eq!(entry.nonce(&dev_key("alice").address()), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_two_of_four_down_nothing_is_final_until_they_return() {
    let _serial = SERIAL.lock().await;
    let mut net = Network::start([None; VALIDATORS], false).await;
    let nodes = net.nodes();
    wait_for(&nodes, 3, Duration::from_secs(60)).await;
    net.halt(2).await;
    net.halt(3).await;
    // 20 of 40 power is not more than two thirds.
    net.assert_stalled(&[0, 1]).await;
    let stalled = net.heads(&[0, 1]).into_iter().max().unwrap();
    net.resume(2).await;
    net.resume(3).await;
    wait_for(&nodes, stalled + 3, Duration::from_secs(60)).await;
    assert_one_certified_chain(&nodes, stalled + 3);
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposer_lying_about_the_state_root_gets_no_quorum_and_a_later_round_decides() {
    let _serial = SERIAL.lock().await;
    a_lying_proposer_never_decides(Byzantine::WrongStateRoot).await;
}

/// A block carrying forged evidence (another validator's equivocation, signed by the liar) is
/// invalid: it gets no quorum, a later round decides, and nobody is slashed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposer_forging_evidence_gets_no_quorum_and_nobody_is_slashed() {
    let _serial = SERIAL.lock().await;
    let nodes = a_lying_proposer_never_decides(Byzantine::ForgedEvidence).await;
    let set = spec().genesis(load_modules(&contract_dir()).unwrap()).unwrap().validators;
    let head = nodes[0].head().unwrap().0.height;
    for height in 1..=head {
        assert!(nodes[0].stored(height).unwrap().block.evidence.is_empty(), "evidence finalized at {height}");
        assert_eq!(nodes[0].validators_at(height + 1).unwrap(), set, "the set changed at {height}");
    }
    // The liar relayed its forgery as evidence too, before each of its proposals (heights 4
    // and 8): every honest validator checked and refused it, kept nothing, relayed nothing on,
    // and once it had judged one a forgery dropped the liar's later relays unchecked (a
    // validator two heights behind the liar refuses the first as not yet past, unjudged).
    for node in &nodes[1..] {
        let refused = metric(node, "tao_consensus_equivocations_refused_total");
        let dropped = metric(node, "tao_consensus_relays_dropped_total");
        assert!(refused == 1 && dropped >= 1 || refused == 2, "refused {refused}, dropped {dropped}");
        assert_eq!(metric(node, "tao_consensus_equivocations_received_total"), 0);
        assert!(node.pending_evidence().unwrap().is_empty());
    }
    // The same forgery checked directly: a typed refusal, before any execution.
    let forged = lying_block(&nodes[0]);
    match nodes[1].check_proposal(&forged, u64::MAX / 2) {
        Err(BlockError::Evidence(EvidenceRefused::Invalid(EvidenceError::BadSignature(_)))) => {}
        other => panic!("forged evidence was not refused as such: {other:?}"),
    }
}

/// A validator relaying a badly signed transaction every 50 ms: each honest validator checks
/// one signature, then ignores the liar (the relays after it are dropped unchecked), queues
/// nothing, and the network finalizes as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_relaying_forged_transactions_costs_one_check_and_is_then_ignored() {
    let _serial = SERIAL.lock().await;
    let net = Network::start([None, None, None, Some(Byzantine::ForgedTxs)], false).await;
    let nodes = net.nodes();
    // At least a second of the liar relaying every 50 ms.
    wait_for(&nodes, 6, Duration::from_secs(60)).await;
    assert_one_certified_chain(&nodes, 6);
    for node in &nodes[..3] {
        let until = Instant::now() + Duration::from_secs(30);
        while metric(node, "tao_consensus_relays_dropped_total") < 10 {
            assert!(Instant::now() < until, "the liar's relays were taken");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(metric(node, "tao_signatures_verified_total"), 1, "the liar's relays were checked again");
        assert_eq!(metric(node, "tao_mempool_transactions"), 0);
    }
    net.stop().await;
}

/// Validator `who`'s two precommits at `height`, round 0, for `node`'s chain: nil and a made-up
/// header (its engine never signed them; its key is the test's).
fn double_precommit(node: &Node, who: usize, height: u64) -> Equivocation {
    let domain = node.executor().domain();
    let vote = |value: Option<Hash>| SignedVote {
        value,
        signature: key(who).sign_hash(&tao_chain::vote_digest(
            domain,
            tao_light::VoteKind::Precommit,
            height,
            0,
            value.as_ref(),
        )),
    };
    let kind = tao_light::VoteKind::Precommit;
    Equivocation::new(height, 0, kind, key(who).public_key(), vote(None), vote(Some(Hash([7; 32]))))
}

/// Evidence reported to validator 0 alone, right after a block it proposed (the next three
/// heights are the others' turns), reaches the others' pending evidence through the relay and
/// is carried by a block another validator proposes. Each of the others keeps it once and
/// relays it on; validator 0 gets it back and keeps nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_reported_to_one_validator_is_relayed_and_carried_by_another() {
    let _serial = SERIAL.lock().await;
    let (entry, offender) = (0, 3);
    let net = Network::start([None; VALIDATORS], false).await;
    let nodes = net.nodes();
    let until = Instant::now() + Duration::from_secs(60);
    let height = loop {
        let head = nodes[entry].head().unwrap().0;
        if head.height > 0 && head.proposer == key(entry).address() {
            break head.height;
        }
        assert!(Instant::now() < until, "validator {entry} proposed no block in 60 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let piece = double_precommit(&nodes[entry], offender, height);
    assert!(nodes[entry].report_equivocation(piece.clone()).unwrap());
    let watcher = &nodes[2];
    let until = Instant::now() + Duration::from_secs(5);
    while !watcher.pending_evidence().unwrap().contains(&piece) {
        assert!(watcher.head().unwrap().0.height <= height + 1, "validator 2 never held the relayed piece");
        assert!(Instant::now() < until, "the piece was not relayed to validator 2 in 5 s");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let carrier = first_evidence(&nodes[1], height + 1, Duration::from_secs(30)).await;
    assert_eq!(carrier.block.evidence, vec![piece]);
    assert_ne!(carrier.block.header.proposer, key(entry).address(), "only the reporter carried it");
    wait_for(&nodes, carrier.block.header.height, Duration::from_secs(30)).await;
    let tombstone = tao_contract_staking::tombstone_key(&key(offender).public_key().to_compressed());
    for (i, node) in nodes.iter().enumerate() {
        assert!(node.store().get(&tombstone).unwrap().is_some(), "validator {i} did not slash");
        let (reported, received) = (
            metric(node, "tao_consensus_equivocations_reported_total"),
            metric(node, "tao_consensus_equivocations_received_total"),
        );
        let expected = if i == entry { (1, 0) } else { (0, 1) };
        assert_eq!((reported, received), expected, "validator {i}");
    }
    net.stop().await;
}

/// The next block of `node`'s chain with evidence that validator 1 precommitted two values at
/// the head's height, both "signatures" validator 0's.
fn lying_block(node: &Node) -> tao_chain::Block {
    let (head, _) = node.head().unwrap();
    let mut block = node.propose(head.time_ms + 1, key(0).address()).unwrap();
    let signature = key(0).sign_hash(&[7; 32]);
    let vote = |value| SignedVote { value, signature };
    let forged = Equivocation::new(
        head.height,
        0,
        tao_light::VoteKind::Precommit,
        key(1).public_key(),
        vote(None),
        vote(Some(head.hash())),
    );
    block.evidence.push(forged);
    block.header.evidence_root = tao_chain::evidence_root(&block.evidence);
    block
}

/// Starts a network whose validator 0 proposes as `liar`, and shows that none of its blocks is
/// decided: the heights it proposes first are decided in a later round. Returns the nodes,
/// stopped, at height 9 or more.
async fn a_lying_proposer_never_decides(liar_mode: Byzantine) -> Vec<Arc<Node>> {
    let liar = 0;
    let net = Network::start([Some(liar_mode), None, None, None], false).await;
    let nodes = net.nodes();
    // Equal validators take turns: the liar is the first proposer of heights 4 and 8.
    let target = 9;
    wait_for(&nodes, target, Duration::from_secs(90)).await;
    let blocks = assert_one_certified_chain(&nodes, target);
    for stored in &blocks {
        let header = &stored.block.header;
        assert_ne!(header.proposer, key(liar).address(), "a lying block was finalized at {}", header.height);
        if header.height % VALIDATORS as u64 == liar as u64 {
            assert!(
                stored.certificate.round >= 1,
                "height {} was decided in the liar's round",
                header.height
            );
        }
    }
    net.stop().await;
    nodes
}

/// The root stake of `hotkey`, as the staking contract lists it.
fn root_stake(node: &Node, hotkey: tao_types::Address) -> u64 {
    let (_, listed) = node.query("staking", "entry_root_list", &[]).unwrap();
    let list: Vec<(u16, tao_types::Address, u64)> = borsh::from_slice(&listed.unwrap()).unwrap();
    list.into_iter().find(|(_, h, _)| *h == hotkey).map_or(0, |(_, _, stake)| stake)
}

/// The first stored block of `node` from `from` on that carries evidence, within `deadline`.
async fn first_evidence(node: &Node, from: u64, deadline: Duration) -> tao_node::StoredBlock {
    let until = Instant::now() + deadline;
    let mut height = from;
    loop {
        while height <= node.head().unwrap().0.height {
            let stored = node.stored(height).unwrap();
            if !stored.block.evidence.is_empty() {
                return stored;
            }
            height += 1;
        }
        assert!(Instant::now() < until, "no evidence finalized up to {height} in {deadline:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Validator 3's consensus key serves alice's hotkey, seated on root (real transactions); from height [`EQUIVOCATES_FROM`] it
/// equivocates (the engine's byzantine proxy signs a nil vote beside each of its votes). The
/// others' engines report it, a block carries the evidence, the hotkey's root stake loses the
/// slash fraction, the key is tombstoned, and the next blocks are signed by the three others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_equivocating_validator_is_reported_slashed_and_leaves_the_next_set() {
    const EQUIVOCATES_FROM: u64 = 12;
    let _serial = SERIAL.lock().await;
    let offender = 3;
    let net =
        Network::start([None, None, None, Some(Byzantine::Equivocate { from: EQUIVOCATES_FROM })], false)
            .await;
    let nodes = net.nodes();
    let hotkey = dev_key("alice-hot").address();
    let proof_hash = tao_contract_staking::consensus_key_proof_hash(&dev_key("alice").address(), &hotkey);
    let proof: [u8; 64] = key(offender).sign_hash(&proof_hash).0[..64].try_into().unwrap();
    let args = borsh::to_vec(&(hotkey, key(offender).public_key().to_compressed(), proof)).unwrap();
    let seat = borsh::to_vec(&hotkey).unwrap();
    nodes[0].submit(&alice_calls(&nodes[0], "staking", "entry_root_register", seat, 0)).unwrap();
    let bound =
        nodes[0].submit(&alice_calls(&nodes[0], "staking", "entry_set_consensus_key", args, 1)).unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    let bound_at = loop {
        if let TxStatus::Finalized { height, .. } = nodes[0].status(&bound).unwrap() {
            break height;
        }
        assert!(Instant::now() < until, "the key binding was not finalized in 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(bound_at < EQUIVOCATES_FROM, "bound at {bound_at}, after the equivocation began");
    let staked = root_stake(&nodes[0], hotkey);
    assert!(staked > 0);
    let carrier = first_evidence(&nodes[0], EQUIVOCATES_FROM, Duration::from_secs(60)).await;
    let evidence = &carrier.block.evidence;
    assert_eq!(evidence.len(), 1, "{evidence:?}");
    assert_eq!(evidence[0].validator, key(offender).public_key());
    assert!(evidence[0].height >= EQUIVOCATES_FROM);
    let at = carrier.block.header.height;
    // The honest validators reported it.
    let reported: u64 =
        nodes[..offender].iter().map(|n| metric(n, "tao_consensus_equivocations_reported_total")).sum();
    assert!(reported >= 1, "no validator reported the equivocation");
    // Slashed by the default fraction (5%), the key tombstoned, and the set without it named
    // by the carrier's header.
    let node = &nodes[0];
    let fraction = tao_contract_staking::SlashParams::default().fraction_ppb;
    let slashed = u64::try_from(u128::from(staked) * u128::from(fraction) / 1_000_000_000).unwrap();
    assert_eq!(root_stake(node, hotkey), staked - slashed);
    let tombstone = tao_contract_staking::tombstone_key(&key(offender).public_key().to_compressed());
    assert!(node.store().get(&tombstone).unwrap().is_some(), "the key was not tombstoned");
    let genesis_set = spec().genesis(load_modules(&contract_dir()).unwrap()).unwrap().validators;
    let rest: Vec<_> = genesis_set.iter().filter(|v| v.key != key(offender).public_key()).cloned().collect();
    assert_eq!(carrier.block.header.next_validators_hash, tao_light::validators_hash(&rest));
    // The next blocks are finalized by the three others alone, the same on every node.
    wait_for(&nodes, at + 3, Duration::from_secs(60)).await;
    let domain = *node.executor().domain();
    for height in at + 1..=at + 3 {
        assert_eq!(node.validators_at(height).unwrap(), rest);
        let stored = node.stored(height).unwrap();
        stored.certificate.verify(&domain, &stored.block.header, &rest).unwrap();
        for other in &nodes[1..] {
            assert_eq!(other.stored(height).unwrap().block.header.hash(), stored.block.header.hash());
        }
    }
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_stopped_right_after_voting_restarts_from_its_wal_without_double_signing() {
    let _serial = SERIAL.lock().await;
    let victim = 1;
    let mut net = Network::start([None; VALIDATORS], false).await;
    let nodes = net.nodes();
    wait_for(&nodes, 2, Duration::from_secs(60)).await;
    // Stopped right after its prevote at a height it proposes (right after proposing), then
    // right after a precommit, then right after a prevote: each time restarted at once, so
    // it resumes the same height from its WAL.
    let moments = [(VoteKind::Prevote, true), (VoteKind::Precommit, false), (VoteKind::Prevote, false)];
    let mut stops = Vec::new();
    let saved_log = tempfile::tempdir().unwrap();
    for (kind, proposing) in moments {
        let from = net.votes.lock().unwrap().len();
        let until = Instant::now() + Duration::from_secs(30);
        let at = loop {
            let found = net.votes.lock().unwrap()[from..].iter().find_map(|v| {
                let turn = v.height % VALIDATORS as u64 == victim as u64 && v.round == 0;
                (v.own && v.signer == key(victim).address() && v.kind == kind && turn == proposing)
                    .then_some((v.height, v.round))
            });
            if let Some(at) = found {
                break at;
            }
            assert!(Instant::now() < until, "validator {victim} signed no {kind:?} in 30 s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        net.halt(victim).await;
        if stops.is_empty() {
            copy_dir(
                &net.members[victim].config.base_path.join("consensus"),
                &saved_log.path().join("consensus"),
            );
        }
        net.resume(victim).await;
        stops.push(at);
    }
    let head = net.heads(&[0]).into_iter().next().unwrap();
    wait_for(&nodes, head + 4, Duration::from_secs(60)).await;
    assert_one_certified_chain(&nodes, head + 4);
    let votes = net.votes.lock().unwrap().clone();
    // It signs again after its last restart.
    let last = stops.last().unwrap().0;
    assert!(
        votes.iter().any(|v| !v.own && v.signer == key(victim).address() && v.height > last),
        "validator {victim} never voted again after restarting"
    );
    // No two votes of one signer, height, round and kind differ, among all the votes any
    // validator signed or received (each checked against its signer's key).
    let domain = *nodes[0].executor().domain();
    let mut values: BTreeMap<_, Option<Hash>> = BTreeMap::new();
    for vote in &votes {
        let signer = (0..VALIDATORS).find(|i| key(*i).address() == vote.signer).unwrap();
        assert!(vote.is_signed_by(&domain, &key(signer).public_key()), "a badly signed vote: {vote:?}");
        let slot = (vote.signer, vote.height, vote.round, vote.kind);
        let first = *values.entry(slot).or_insert(vote.value);
        assert_eq!(first, vote.value, "validator {signer} double-signed at {slot:?}");
    }
    let victims = votes.iter().filter(|v| v.signer == key(victim).address()).count();
    assert!(victims > 20, "too few of validator {victim}'s votes were seen to tell: {victims} ({stops:?})");
    let victim_config = net.members[victim].config.clone();
    net.stop().await;
    // Its log of the first stop with a wiped store (at genesis): the engine would reset the
    // log at height 1 and later re-vote at the log's height, so it refuses to start.
    copy_dir(artifacts().path(), &saved_log.path().join("artifacts"));
    let genesis = spec().genesis(load_modules(&contract_dir()).unwrap()).unwrap();
    let wiped = Arc::new(Node::open_member(saved_log.path(), &genesis, 64).unwrap());
    let config = EngineConfig { base_path: saved_log.path().to_path_buf(), ..victim_config };
    match start(wiped, config).await {
        Err(EngineError::LogAhead { log, head: 0 }) => assert_eq!(log, stops[0].0),
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("a validator whose log is ahead of its store started"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_two_partition_finalizes_nothing_and_heals_without_a_fork() {
    let _serial = SERIAL.lock().await;
    let net = Network::start([None; VALIDATORS], true).await;
    let nodes = net.nodes();
    wait_for(&nodes, 3, Duration::from_secs(60)).await;
    net.partition(&[0, 1], false);
    net.assert_stalled(&[0, 1, 2, 3]).await;
    let stalled = net.heads(&[0, 1, 2, 3]).into_iter().max().unwrap();
    net.partition(&[0, 1], true);
    wait_for(&nodes, stalled + 3, Duration::from_secs(60)).await;
    assert_one_certified_chain(&nodes, stalled + 3);
    net.stop().await;
}
