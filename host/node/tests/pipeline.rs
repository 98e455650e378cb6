//! The block pipeline of a validator network member, with the real contracts: a proposed block
//! is staged, not committed; a received block is believed only if it extends the head in time
//! and re-executes to exactly its roots (a wrong root is refused, so it gets no vote); a
//! decided block is committed only with a certificate a light client accepts; its equivocation
//! evidence is checked before it executes, and slashes a key once.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

use std::path::PathBuf;

use tao_chain::{
    Block, Certificate, CertificateError, Equivocation, EvidenceError, MAX_BLOCK_EVIDENCE, MAX_EVIDENCE_AGE,
    SignedVote, VoteKind, evidence_root, validators_hash, vote_digest,
};
use tao_crypto::SecretKey;
use tao_node::evidence::EvidenceRefused;
use tao_node::spec::{ChainSpec, SpecOperator, SpecValidator, SpecValidatorSet, dev_key, load_modules};
use tao_node::{BlockError, MAX_CLOCK_DRIFT_MS, Node, NodeError};
use tao_types::Hash;

fn contract_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("wasm32-unknown-unknown/contract")
}

fn key(i: u32) -> SecretKey {
    dev_key(&format!("validator-{i}"))
}

/// A member of a chain of four equal validators.
fn member(dir: &std::path::Path) -> Node {
    let validators = (0..4)
        .map(|i| SpecValidator {
            key: format!("0x{}", hex::encode(key(i).public_key().to_compressed())),
            power: 1,
            operator: None,
        })
        .collect();
    let spec = ChainSpec { validators, ..ChainSpec::dev(1_000) };
    let genesis = spec.genesis(load_modules(&contract_dir()).expect("run `cargo xtask contracts`")).unwrap();
    Node::open_member(dir, &genesis, 64).unwrap()
}

/// Signatures of validators `signers` on `block` in round 0.
fn certificate(node: &Node, block: &Block, signers: &[u32]) -> Certificate {
    let keys: Vec<(u32, SecretKey)> = signers.iter().map(|i| (*i, key(*i))).collect();
    let refs: Vec<(u32, &SecretKey)> = keys.iter().map(|(i, k)| (*i, k)).collect();
    Certificate::sign(node.executor().domain(), &block.header, 0, &refs)
}

#[test]
fn a_member_proposes_checks_and_commits_only_what_a_light_client_would_believe() {
    let dir = tempfile::tempdir().unwrap();
    let node = member(dir.path());
    // Alone it cannot finalize: four validators hold the power.
    assert!(matches!(node.produce(5_000), Err(NodeError::NotAuthority)));
    let now = 10_000;
    let block = node.propose(now, key(1).address()).unwrap();
    let hash = block.header.hash();
    assert_eq!((block.header.height, block.header.proposer), (1, key(1).address()));
    assert_eq!(node.head().unwrap().0.height, 0, "proposing commits nothing");
    assert_eq!(node.check_proposal(&block, now).unwrap(), hash);

    let tampered = |edit: &dyn Fn(&mut Block)| {
        let mut bad = block.clone();
        edit(&mut bad);
        node.check_proposal(&bad, now).unwrap_err()
    };
    assert!(matches!(
        tampered(&|b| b.header.state_root = Hash([7; 32])),
        BlockError::WrongRoot { root: "state_root", .. }
    ));
    assert!(matches!(
        tampered(&|b| b.header.receipts_root = Hash([7; 32])),
        BlockError::WrongRoot { root: "receipts_root", .. }
    ));
    // A block naming a set its execution did not store: a set change is named only by the chain.
    assert!(matches!(
        tampered(&|b| b.header.next_validators_hash = Hash([7; 32])),
        BlockError::WrongRoot { root: "next_validators_hash", .. }
    ));
    assert!(matches!(tampered(&|b| b.header.parent = Hash([7; 32])), BlockError::WrongParent(1)));
    assert!(matches!(tampered(&|b| b.header.height = 2), BlockError::WrongHeight { expected: 1, got: 2 }));
    assert!(matches!(tampered(&|b| b.header.chain_id += 1), BlockError::WrongChain { .. }));
    assert!(matches!(tampered(&|b| b.header.validators_hash = Hash([7; 32])), BlockError::WrongValidators));
    assert!(matches!(tampered(&|b| b.header.time_ms = 1_000), BlockError::TimeNotAfterParent { .. }));
    assert!(matches!(
        tampered(&|b| b.header.time_ms = now + MAX_CLOCK_DRIFT_MS + 1),
        BlockError::TimeInFuture { .. }
    ));

    // Two of four signatures (half the power) do not finalize it; nothing is written.
    let short = certificate(&node, &block, &[0, 1]);
    assert!(matches!(
        node.commit_decided(&hash, short),
        Err(BlockError::Certificate(CertificateError::NotEnoughPower { signed: 2, total: 4 }))
    ));
    assert_eq!(node.head().unwrap().0.height, 0);
    // A block never staged here is not committed whatever its certificate.
    let unknown = Hash([9; 32]);
    assert!(matches!(
        node.commit_decided(&unknown, certificate(&node, &block, &[0, 1, 2])),
        Err(BlockError::Unknown(_))
    ));
    // Three of four do; the stored certificate is the one given, and a repeat is answered.
    let full = certificate(&node, &block, &[0, 2, 3]);
    let header = node.commit_decided(&hash, full.clone()).unwrap();
    assert_eq!(header.hash(), hash);
    assert_eq!(node.head().unwrap(), (block.header.clone(), full.clone()));
    assert_eq!(node.stored(1).unwrap().certificate, full);
    assert_eq!(node.commit_decided(&hash, full).unwrap().hash(), hash);
    // The next height is proposed on top of it.
    assert_eq!(node.propose(now + 1_000, key(2).address()).unwrap().header.parent, hash);
}

/// Commits `blocks` blocks proposed by validator 0 and certified by validators `signers`
/// (each at its place in the height's set).
fn advance(node: &Node, blocks: u64, signers: &[u32]) {
    for _ in 0..blocks {
        let (head, _) = node.head().unwrap();
        let block = node.propose(head.time_ms + 1, key(0).address()).unwrap();
        let set = node.validators_at(block.header.height).unwrap();
        let keys: Vec<(u32, SecretKey)> = signers
            .iter()
            .map(|i| (set.iter().position(|v| v.key == key(*i).public_key()).unwrap() as u32, key(*i)))
            .collect();
        let refs: Vec<(u32, &SecretKey)> = keys.iter().map(|(i, k)| (*i, k)).collect();
        let certificate = Certificate::sign(node.executor().domain(), &block.header, 0, &refs);
        node.commit_decided(&block.header.hash(), certificate).unwrap();
    }
}

/// Validator `who`'s two precommits at `height`, round 0: nil and a made-up header.
fn double_precommit(node: &Node, who: u32, height: u64) -> Equivocation {
    let domain = node.executor().domain();
    let vote = |value: Option<Hash>| SignedVote {
        value,
        signature: key(who).sign_hash(&vote_digest(domain, VoteKind::Precommit, height, 0, value.as_ref())),
    };
    Equivocation::new(
        height,
        0,
        VoteKind::Precommit,
        key(who).public_key(),
        vote(None),
        vote(Some(Hash([7; 32]))),
    )
}

/// Why the next proposal carrying `evidence` (its root fixed) is refused.
fn refused(node: &Node, evidence: Vec<Equivocation>) -> EvidenceRefused {
    let (head, _) = node.head().unwrap();
    let mut block = node.propose(head.time_ms + 1, key(0).address()).unwrap();
    block.header.evidence_root = evidence_root(&evidence);
    block.evidence = evidence;
    match node.check_proposal(&block, u64::MAX / 2) {
        Err(BlockError::Evidence(why)) => why,
        other => panic!("evidence taken: {other:?}"),
    }
}

#[test]
fn evidence_is_checked_before_a_block_executes_and_slashes_once() {
    let dir = tempfile::tempdir().unwrap();
    let node = member(dir.path());
    advance(&node, 3, &[0, 1, 2]);
    // Not from before the block, too many, unordered or repeated, not a member.
    let at = |who, height| double_precommit(&node, who, height);
    assert_eq!(refused(&node, vec![at(2, 4)]), EvidenceRefused::NotPast { height: 4, block: 4 });
    let seventeen = vec![at(2, 2); MAX_BLOCK_EVIDENCE + 1];
    assert_eq!(refused(&node, seventeen), EvidenceRefused::TooMany(MAX_BLOCK_EVIDENCE + 1));
    assert_eq!(refused(&node, vec![at(2, 2), at(2, 3)]), EvidenceRefused::NotCanonical);
    let mut pair = [at(1, 2), at(2, 2)];
    pair.sort_by_key(|e| std::cmp::Reverse(e.validator.to_compressed()));
    assert_eq!(refused(&node, pair.to_vec()), EvidenceRefused::NotCanonical);
    let outsider = EvidenceRefused::Invalid(EvidenceError::NotInSet(key(9).address(), 2));
    assert_eq!(refused(&node, vec![at(9, 2)]), outsider);
    assert!(node.report_equivocation(at(9, 2)).is_err(), "the node keeps no evidence that proves nothing");
    // A real equivocation is kept once, carried by the next proposal with its root, and slashes
    // the key: the header names the set without it.
    assert!(node.report_equivocation(at(2, 2)).unwrap());
    let real = at(2, 3);
    assert!(node.report_equivocation(real.clone()).unwrap(), "a later piece replaces an earlier one");
    assert!(!node.report_equivocation(at(2, 2)).unwrap(), "one piece per validator waits, the latest");
    let (head, _) = node.head().unwrap();
    let block = node.propose(head.time_ms + 1, key(0).address()).unwrap();
    assert_eq!(block.evidence, vec![real.clone()]);
    assert_eq!(block.header.evidence_root, evidence_root(std::slice::from_ref(&real)));
    let rest: Vec<_> =
        node.validators_at(4).unwrap().into_iter().filter(|v| v.key != key(2).public_key()).collect();
    assert_eq!(block.header.next_validators_hash, validators_hash(&rest));
    node.commit_decided(&block.header.hash(), certificate(&node, &block, &[0, 1, 2])).unwrap();
    assert_eq!(node.validators_at(5).unwrap(), rest);
    // Slashed once: that key's evidence is refused from now on. Too old evidence is refused.
    assert_eq!(refused(&node, vec![at(2, 2)]), EvidenceRefused::AlreadySlashed(key(2).address()));
    assert!(node.report_equivocation(at(2, 2)).is_err());
    advance(&node, MAX_EVIDENCE_AGE, &[0, 1, 3]);
    let block = node.head().unwrap().0.height + 1;
    assert_eq!(refused(&node, vec![at(1, 2)]), EvidenceRefused::TooOld { height: 2, block });
}

/// Evidence a peer relays is adversarial input: checked like the engine's, kept and relayed on
/// only when new here (so it never loops nor multiplies), and what is refused goes nowhere.
#[test]
fn relayed_evidence_is_checked_and_relayed_on_only_when_new() {
    let dir = tempfile::tempdir().unwrap();
    let node = member(dir.path());
    advance(&node, 2, &[0, 1, 2]);
    let mut relay = node.subscribe_evidence();
    let mut forged = double_precommit(&node, 1, 2);
    forged.second.signature = forged.first.signature;
    assert!(matches!(
        node.receive_equivocation(forged),
        Err(BlockError::Evidence(EvidenceRefused::Invalid(EvidenceError::BadSignature(1))))
    ));
    assert!(matches!(
        node.receive_equivocation(double_precommit(&node, 1, 4)),
        Err(BlockError::Evidence(EvidenceRefused::NotPast { height: 4, block: 3 }))
    ));
    assert!(node.pending_evidence().unwrap().is_empty());
    assert!(relay.try_recv().is_err(), "refused evidence was relayed");
    // A real piece is kept and relayed once; the same piece again (a peer relaying it back)
    // is neither kept twice nor relayed again.
    let real = double_precommit(&node, 1, 2);
    assert!(node.receive_equivocation(real.clone()).unwrap());
    assert_eq!(relay.try_recv().unwrap(), real);
    assert!(!node.receive_equivocation(real.clone()).unwrap());
    assert!(!node.report_equivocation(real.clone()).unwrap());
    // A copy of what waits adds nothing, valid or not: it replaces nothing and is not relayed.
    let mut echo = real.clone();
    echo.first.signature = echo.second.signature;
    assert!(!node.receive_equivocation(echo).unwrap());
    assert!(relay.try_recv().is_err(), "a piece already kept was relayed again");
    assert_eq!(node.pending_evidence().unwrap(), vec![real.clone()]);
    // The engine's own reports are relayed too; the metrics tell relayed from reported.
    let other = double_precommit(&node, 3, 2);
    assert!(node.report_equivocation(other.clone()).unwrap());
    assert_eq!(relay.try_recv().unwrap(), other);
    node.set_consensus(|_| {}).unwrap();
    let metrics = node.metrics().unwrap();
    for line in [
        "tao_consensus_equivocations_reported_total 1",
        "tao_consensus_equivocations_received_total 1",
        "tao_consensus_equivocations_refused_total 2",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} not in {metrics}");
    }
}

/// Evidence of the height being decided (a peer finalized it first and relayed it at once) is
/// kept and relayed, but carried only by the block after that height; two heights ahead it is
/// refused.
#[test]
fn evidence_of_the_height_being_decided_waits_for_the_block_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let node = member(dir.path());
    advance(&node, 2, &[0, 1, 2]);
    let mut relay = node.subscribe_evidence();
    assert!(matches!(
        node.receive_equivocation(double_precommit(&node, 1, 4)),
        Err(BlockError::Evidence(EvidenceRefused::NotPast { height: 4, block: 3 }))
    ));
    let deciding = double_precommit(&node, 1, 3);
    assert!(node.receive_equivocation(deciding.clone()).unwrap());
    assert_eq!(relay.try_recv().unwrap(), deciding);
    let proposed = |node: &Node| {
        let (head, _) = node.head().unwrap();
        node.propose(head.time_ms + 1, key(0).address()).unwrap().evidence
    };
    assert!(proposed(&node).is_empty(), "carried in the block of its own height");
    assert_eq!(node.pending_evidence().unwrap(), vec![deciding.clone()], "forgotten before its block");
    advance(&node, 1, &[0, 1, 2]);
    assert_eq!(proposed(&node), vec![deciding]);
}

/// A chain whose genesis validators `validator-i` are bound to root hotkeys of bob staking
/// `stakes[i]` τ (power = stake), the set from stake computed at every block, kept unless
/// `min_validators` qualify; block 1 as a member proposes it (its epoch ran in the modules' Wasm).
fn first_block_of_bound_chain(stakes: &[u64], min_validators: u16) -> Block {
    let validators = stakes
        .iter()
        .enumerate()
        .map(|(i, tao)| {
            let stake = tao * tao_types::RAO_PER_TAO;
            let hotkey = dev_key(&format!("validator-{i}-hot")).address();
            SpecValidator {
                key: format!("0x{}", hex::encode(key(i as u32).public_key().to_compressed())),
                power: stake,
                operator: Some(SpecOperator::signed(&key(i as u32), dev_key("bob").address(), hotkey, stake)),
            }
        })
        .collect();
    let validator_set = Some(SpecValidatorSet {
        max_validators: 64,
        min_stake: tao_types::RAO_PER_TAO,
        epoch: 1,
        min_validators,
    });
    let spec = ChainSpec { validators, validator_set, ..ChainSpec::dev(1_000) };
    let genesis = spec.genesis(load_modules(&contract_dir()).expect("run `cargo xtask contracts`")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open_member(dir.path(), &genesis, 64).unwrap();
    node.propose(10_000, key(0).address()).unwrap()
}

/// Genesis validators bound to root stake are the candidates of the first epoch: listed as the
/// set from stake orders them (the larger stake first), the epoch names the very same set; listed
/// otherwise, it names the same members reordered; and with fewer candidates than the minimum
/// set size, the epoch keeps the set.
#[test]
fn bound_genesis_validators_are_the_first_epochs_set_unless_too_few_qualify() {
    let same = first_block_of_bound_chain(&[3_000, 2_000], 2).header;
    assert_eq!(same.next_validators_hash, same.validators_hash, "the genesis set recomputed");
    let reordered = first_block_of_bound_chain(&[2_000, 3_000], 2).header;
    assert_ne!(reordered.next_validators_hash, reordered.validators_hash, "a new set was taken");
    let members = |stakes: [u64; 2], order: [u32; 2]| -> Vec<tao_chain::Validator> {
        order
            .iter()
            .zip(stakes)
            .map(|(i, tao)| tao_chain::Validator {
                key: key(*i).public_key(),
                power: tao * tao_types::RAO_PER_TAO,
            })
            .collect()
    };
    assert_eq!(
        reordered.next_validators_hash,
        tao_chain::validators_hash(&members([3_000, 2_000], [1, 0])),
        "the same two validators, the larger stake first"
    );
    let kept = first_block_of_bound_chain(&[2_000, 3_000], 3).header;
    assert_eq!(kept.next_validators_hash, kept.validators_hash, "two of three needed: the set stays");
}
