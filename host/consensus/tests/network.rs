//! Four equal validators on 127.0.0.1, in one process with real networking, WAL and stores:
//! they finalize the same blocks, every stored certificate convinces a light client, and
//! transactions submitted to one of them are finalized.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tao_consensus::app::{EngineConfig, Running, start};
use tao_contract_token::TransferArgs;
use tao_crypto::SecretKey;
use tao_light::{CertificateError, LightClient, LightError};
use tao_node::spec::{ChainSpec, SpecValidator, dev_key, load_modules};
use tao_node::{Node, TxStatus};
use tao_tx::{Call, Transaction};
use tao_types::{Balance, Hash};

const VALIDATORS: usize = 4;
const TARGET: u64 = 20;

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
        })
        .collect();
    ChainSpec { validators, ..ChainSpec::dev(1_000) }
}

/// A free port on 127.0.0.1 (the OS picks; released for the engine to bind).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Network {
    nodes: Vec<Arc<Node>>,
    engines: Vec<Running>,
    _dirs: Vec<tempfile::TempDir>,
}

async fn network() -> Network {
    let genesis =
        spec().genesis(load_modules(&contract_dir()).expect("run `cargo xtask contracts`")).unwrap();
    let ports: Vec<u16> = (0..VALIDATORS).map(|_| free_port()).collect();
    let addr = |p: u16| format!("/ip4/127.0.0.1/tcp/{p}").parse().unwrap();
    let (mut nodes, mut engines, mut dirs) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..VALIDATORS {
        let dir = tempfile::tempdir().unwrap();
        if let Some(first) = dirs.first() {
            share_compiled_modules(first, &dir);
        }
        let node = Arc::new(Node::open_member(dir.path(), &genesis, 64).unwrap());
        let config = EngineConfig {
            base_path: dir.path().to_path_buf(),
            key: key(i),
            listen: addr(ports[i]),
            peers: ports.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, p)| addr(*p)).collect(),
            timeouts: EngineConfig::local_timeouts(),
            block_time: Duration::from_millis(200),
        };
        engines.push(start(node.clone(), config).await.unwrap());
        nodes.push(node);
        dirs.push(dir);
    }
    Network { nodes, engines, _dirs: dirs }
}

/// Copies the first node's compiled-module cache to another's directory: the same modules
/// compile to the same artifacts, and compiling them four times would be most of the test.
fn share_compiled_modules(from: &tempfile::TempDir, to: &tempfile::TempDir) {
    let (from, to) = (from.path().join("artifacts"), to.path().join("artifacts"));
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Polls until every node's head is at least `height`, within `deadline`.
async fn wait_for(nodes: &[Arc<Node>], height: u64, deadline: Duration) {
    let until = tokio::time::Instant::now() + deadline;
    loop {
        let heads: Vec<u64> = nodes.iter().map(|n| n.head().unwrap().0.height).collect();
        if heads.iter().all(|h| *h >= height) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "heads {heads:?} did not reach {height} in {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_finalize_the_same_certified_blocks() {
    let net = network().await;
    wait_for(&net.nodes, TARGET, Duration::from_secs(60)).await;
    let first = &net.nodes[0];
    let genesis = first.stored(0).unwrap().block.header;
    let validators = first.validators().to_vec();
    let mut light = LightClient::new(genesis.hash(), genesis, validators).unwrap();
    for height in 1..=TARGET {
        let stored = first.stored(height).unwrap();
        for other in &net.nodes[1..] {
            assert_eq!(
                other.stored(height).unwrap().block.header.hash(),
                stored.block.header.hash(),
                "fork at {height}"
            );
        }
        light.accept(stored.block.header.clone(), &stored.certificate).unwrap();
    }
    assert_eq!(light.head().height, TARGET);
    // Two of the four equal validators' votes (20 of 40 power, not more than two thirds) do
    // not finalize a header the full certificate finalizes.
    let next = first.stored(TARGET + 1).unwrap_or_else(|_| first.stored(TARGET).unwrap());
    let mut short = next.certificate.clone();
    short.signatures.truncate(2);
    let mut fresh = LightClient::new(
        light.domain().genesis_hash,
        first.stored(0).unwrap().block.header,
        first.validators().to_vec(),
    )
    .unwrap();
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
    transactions_submitted_to_one_validator_are_finalized_by_the_others(&net.nodes).await;
    // `/metrics` shows the engine: each validator has the three others as peers.
    for node in &net.nodes {
        let metrics = node.metrics().unwrap();
        assert!(metrics.contains("tao_consensus_peers 3\n"), "{metrics}");
        assert!(metrics.contains("tao_consensus_round "), "{metrics}");
    }
    for engine in net.engines {
        engine.stop();
    }
}

/// A transfer from alice, signed for `node`'s chain.
fn transfer(node: &Node, nonce: u64) -> Vec<u8> {
    let token =
        Hash(node.store().get(&tao_chain::keys::module("token")).unwrap().unwrap().try_into().unwrap());
    let args = borsh::to_vec(&TransferArgs { to: dev_key("bob").address(), amount: 1_000 }).unwrap();
    let call = Call {
        contract: token,
        method: b"entry_transfer".to_vec().try_into().unwrap(),
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
        let until = tokio::time::Instant::now() + Duration::from_secs(30);
        let height = loop {
            if let TxStatus::Finalized { height, .. } = entry.status(&hash).unwrap() {
                break height;
            }
            assert!(tokio::time::Instant::now() < until, "transaction {nonce} not finalized in 30 s");
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
