#![allow(clippy::unwrap_used, reason = "tests")]

use tao_crypto::SecretKey;
use tao_state::MemoryTree;
use tao_types::Hash;

use super::*;

fn key(n: u8) -> SecretKey {
    SecretKey::from_bytes(&[n; 32]).unwrap()
}

/// Three validators of power 1, 1 and 2 (more than two thirds needs 3 of the 4).
fn set() -> Vec<Validator> {
    [(1, 1), (2, 1), (3, 2)]
        .iter()
        .map(|(k, power)| Validator { key: key(*k).public_key(), power: *power })
        .collect()
}

fn header(parent: &Header, state_root: Hash) -> Header {
    Header {
        chain_id: parent.chain_id,
        parent: parent.hash(),
        height: parent.height + 1,
        time_ms: parent.time_ms + 1,
        state_root,
        txs_root: Hash::default(),
        receipts_root: Hash::default(),
        evidence_root: Hash([0; 32]),
        validators_hash: parent.next_validators_hash,
        next_validators_hash: parent.next_validators_hash,
        proposer: key(1).address(),
    }
}

/// The test chain's id.
const CHAIN: u64 = 7;

fn genesis() -> Header {
    genesis_of(CHAIN, 0)
}

/// A genesis of chain `chain_id` at `time_ms` under [`set`]: the same keys may start many chains.
fn genesis_of(chain_id: u64, time_ms: u64) -> Header {
    let hash = validators_hash(&set());
    Header {
        chain_id,
        parent: Hash::default(),
        height: 0,
        time_ms,
        state_root: Hash::default(),
        txs_root: Hash::default(),
        receipts_root: Hash::default(),
        evidence_root: Hash([0; 32]),
        validators_hash: hash,
        next_validators_hash: hash,
        proposer: key(1).address(),
    }
}

fn domain_of(genesis: &Header) -> ChainDomain {
    ChainDomain { chain_id: genesis.chain_id, genesis_hash: genesis.hash() }
}

/// Signed by validators `who` (indices into [`set`]) on the test chain.
fn sign(h: &Header, who: &[u32]) -> Certificate {
    sign_for(&domain_of(&genesis()), h, who)
}

/// Signed by validators `who` for the chain `domain`.
fn sign_for(domain: &ChainDomain, h: &Header, who: &[u32]) -> Certificate {
    let keys: Vec<(u32, SecretKey)> = who.iter().map(|i| (*i, key(*i as u8 + 1))).collect();
    let refs: Vec<(u32, &SecretKey)> = keys.iter().map(|(i, k)| (*i, k)).collect();
    Certificate::sign(domain, h, 0, &refs)
}

fn client() -> LightClient {
    LightClient::new(genesis().hash(), genesis(), set()).unwrap()
}

#[test]
fn follows_certified_headers_and_refuses_the_rest() {
    assert_eq!(
        LightClient::new(genesis().hash(), genesis(), set()[..2].to_vec()).unwrap_err(),
        LightError::CheckpointMismatch
    );
    let mut client = client();
    let one = header(&genesis(), Hash([1; 32]));
    // 2 of 4 power is not more than two thirds; 3 of 4 is.
    assert!(matches!(
        client.accept(one.clone(), &sign(&one, &[0, 1])),
        Err(LightError::Certificate { height: 1, .. })
    ));
    client.accept(one.clone(), &sign(&one, &[0, 2])).unwrap();
    assert_eq!(client.head(), &one);
    assert_eq!(
        client.accept(one.clone(), &sign(&one, &[0, 2])),
        Err(LightError::NotNewer { head: 1, got: 1 })
    );
    let mut forked = header(&genesis(), Hash([2; 32]));
    forked.height = 2;
    forked.time_ms = 2;
    assert_eq!(
        client.accept(forked.clone(), &sign(&forked, &[0, 1, 2])),
        Err(LightError::NotChild { height: 2 })
    );
    // A later header under the same set may skip heights.
    let two = header(&one, Hash([2; 32]));
    let three = header(&two, Hash([3; 32]));
    client.accept(three.clone(), &sign(&three, &[1, 2])).unwrap();
    assert_eq!(client.head().height, 3);
    // Another set is refused until the new set is handed over.
    let mut other = header(&three, Hash([4; 32]));
    other.validators_hash = Hash([7; 32]);
    assert_eq!(
        client.accept(other.clone(), &sign(&other, &[0, 1, 2])),
        Err(LightError::ValidatorSetChanged { height: 4 })
    );
    // A certificate for another header does not carry over.
    let four = header(&three, Hash([4; 32]));
    assert!(matches!(client.accept(four, &sign(&other, &[0, 1, 2])), Err(LightError::Certificate { .. })));
}

#[test]
fn values_are_believed_only_with_a_proof_against_the_trusted_root() {
    let mut tree = MemoryTree::new();
    let root = tree.apply(0, [(b"balance/alice".to_vec(), Some(b"42".to_vec()))]).unwrap();
    let mut client = client();
    let one = header(&genesis(), root);
    client.accept(one.clone(), &sign(&one, &[0, 1, 2])).unwrap();
    let (value, proof) = tree.get_with_proof(b"balance/alice", 0).unwrap();
    assert_eq!(client.verify(b"balance/alice", value.as_deref(), &proof), Ok(()));
    assert_eq!(client.verify(b"balance/alice", Some(b"43"), &proof), Err(LightError::BadProof { height: 1 }));
    assert_eq!(
        client.verify(b"balance/bob", value.as_deref(), &proof),
        Err(LightError::BadProof { height: 1 })
    );
    let (absent, proof) = tree.get_with_proof(b"balance/bob", 0).unwrap();
    assert_eq!(client.verify(b"balance/bob", absent.as_deref(), &proof), Ok(()), "absence is proven too");
}

#[test]
fn the_largest_headers_certificates_and_receipts_decode_within_their_limits() {
    use tao_abi::limits::{MAX_EVENT_DATA_BYTES, MAX_EVENTS, MAX_TOPIC_BYTES};
    let head = genesis();
    let bytes = tao_codec::encode(&head);
    assert_eq!(bytes.len(), MAX_HEADER_BYTES, "headers have one size");
    assert_eq!(tao_codec::decode::<Header>(&bytes, MAX_HEADER_BYTES), Ok(head.clone()));

    let signature = key(1).sign_hash(&[0; 32]);
    let full = Certificate {
        header: head.hash(),
        height: u64::MAX,
        round: u32::MAX,
        signatures: vec![(0, signature); MAX_VALIDATORS],
    };
    assert_eq!(tao_codec::encode(&full).len(), MAX_CERTIFICATE_BYTES);

    let event = (vec![7; MAX_TOPIC_BYTES as usize], vec![8; MAX_EVENT_DATA_BYTES as usize]);
    let receipt = Receipt {
        tx: Hash([1; 32]),
        outcome: TxOutcome::Ok,
        fee: u64::MAX,
        gas_used: u64::MAX,
        events: vec![event; MAX_EVENTS as usize],
    };
    let bytes = tao_codec::encode(&receipt);
    assert_eq!(tao_codec::decode::<Receipt>(&bytes, MAX_RECEIPT_BYTES), Ok(receipt));
    let refused = Receipt {
        tx: Hash([1; 32]),
        outcome: TxOutcome::Failed("x".repeat(tao_tx::MAX_TX_BYTES)),
        fee: 0,
        gas_used: 0,
        events: Vec::new(),
    };
    assert!(tao_codec::encode(&refused).len() < MAX_RECEIPT_BYTES);
}

#[test]
fn the_chain_is_the_pinned_genesis() {
    let other = genesis_of(CHAIN, 1);
    assert_eq!(
        LightClient::new(genesis().hash(), other.clone(), set()).unwrap_err(),
        LightError::GenesisMismatch { pinned: genesis().hash(), got: other.hash() }
    );
    let mut late = genesis();
    late.height = 5;
    assert_eq!(LightClient::new(late.hash(), late, set()).unwrap_err(), LightError::NotGenesis(5));
    let client = LightClient::new(other.hash(), genesis_of(99, 1), set());
    assert!(client.is_err(), "the pinned hash covers the chain id");
    let client = LightClient::new(genesis_of(99, 1).hash(), genesis_of(99, 1), set()).unwrap();
    assert_eq!(client.domain(), &ChainDomain { chain_id: 99, genesis_hash: genesis_of(99, 1).hash() });
}

#[test]
fn a_second_chain_under_the_same_keys_lends_no_certificate() {
    // Same validator keys, same chain id, another genesis: its votes name its own genesis.
    let second = genesis_of(CHAIN, 1);
    let one = header(&genesis(), Hash([1; 32]));
    let forged = sign_for(&domain_of(&second), &one, &[0, 1, 2]);
    assert_eq!(
        client().accept(one.clone(), &forged),
        Err(LightError::Certificate { height: 1, error: CertificateError::BadSignature(0) })
    );
    // A skipped height signed for another chain is refused too.
    let mut far = header(&one, Hash([9; 32]));
    far.height = 50;
    let forged = sign_for(&domain_of(&second), &far, &[0, 1, 2]);
    assert!(matches!(
        client().accept(far.clone(), &forged),
        Err(LightError::Certificate { height: 50, error: CertificateError::BadSignature(_) })
    ));
    client().accept(far.clone(), &sign(&far, &[0, 1, 2])).unwrap();
    // A vote at another height or round does not carry over either.
    let mut moved = sign(&far, &[0, 1, 2]);
    moved.height = 51;
    assert!(matches!(
        client().accept(far.clone(), &moved),
        Err(LightError::Certificate { error: CertificateError::WrongHeight { header: 50, got: 51 }, .. })
    ));
    let mut moved = sign(&far, &[0, 1, 2]);
    moved.round = 1;
    assert!(matches!(
        client().accept(far, &moved),
        Err(LightError::Certificate { error: CertificateError::BadSignature(0), .. })
    ));
}

#[test]
fn a_header_of_another_chain_id_is_refused_even_if_signed_for_it() {
    let mut one = header(&genesis(), Hash([1; 32]));
    one.chain_id = CHAIN + 1;
    let domain = ChainDomain { chain_id: CHAIN + 1, genesis_hash: genesis().hash() };
    assert_eq!(
        client().accept(one.clone(), &sign_for(&domain, &one, &[0, 1, 2])),
        Err(LightError::WrongChain { height: 1, expected: CHAIN, got: CHAIN + 1 })
    );
    let certificate = sign_for(&domain, &one, &[0, 1, 2]);
    assert_eq!(
        certificate.verify(&domain_of(&genesis()), &one, &set()),
        Err(CertificateError::WrongChain { expected: CHAIN, got: CHAIN + 1 })
    );
}

#[test]
fn old_headers_and_time_going_back_are_refused() {
    let mut client = client();
    let one = header(&genesis(), Hash([1; 32]));
    let two = header(&one, Hash([2; 32]));
    client.accept(two.clone(), &sign(&two, &[0, 1, 2])).unwrap();
    assert_eq!(
        client.accept(one.clone(), &sign(&one, &[0, 1, 2])),
        Err(LightError::NotNewer { head: 2, got: 1 })
    );
    let mut early = header(&two, Hash([3; 32]));
    early.height = 9;
    early.time_ms = two.time_ms;
    assert_eq!(
        client.accept(early.clone(), &sign(&early, &[0, 1, 2])),
        Err(LightError::TimeWentBack { height: 9, head: two.time_ms, got: two.time_ms })
    );
    assert_eq!(client.head(), &two);
}

/// Two precommits of validator `signer` at height 5, round 1: for `a` and for `b`.
fn double_precommit(domain: &ChainDomain, signer: u8, a: Option<Hash>, b: Option<Hash>) -> Equivocation {
    let vote = |value: Option<Hash>| SignedVote {
        value,
        signature: key(signer).sign_hash(&vote_digest(domain, VoteKind::Precommit, 5, 1, value.as_ref())),
    };
    Equivocation::new(5, 1, VoteKind::Precommit, key(signer).public_key(), vote(a), vote(b))
}

#[test]
fn equivocation_evidence_proves_two_votes_of_a_member_and_nothing_else() {
    let domain = ChainDomain { chain_id: CHAIN, genesis_hash: genesis().hash() };
    let (x, y) = (Some(Hash([1; 32])), Some(Hash([2; 32])));
    // Either order builds the one canonical encoding; nil against a header is equivocation too.
    let evidence = double_precommit(&domain, 3, y, x);
    assert_eq!(evidence, double_precommit(&domain, 3, x, y));
    assert_eq!(evidence.verify(&domain, &set()), Ok(()));
    assert_eq!(double_precommit(&domain, 2, None, x).verify(&domain, &set()), Ok(()));
    assert!(borsh::to_vec(&evidence).unwrap().len() <= 242, "the size docs/codec.md states");
    // The same vote twice, or the pair out of canonical order, proves nothing.
    assert_eq!(
        double_precommit(&domain, 3, x, x).verify(&domain, &set()),
        Err(EvidenceError::NotConflicting)
    );
    let mut swapped = evidence.clone();
    std::mem::swap(&mut swapped.first, &mut swapped.second);
    assert_eq!(swapped.verify(&domain, &set()), Err(EvidenceError::NotConflicting));
    // Not a member of the height's set; votes of another chain; a vote signed by someone else;
    // a prevote's signature passed off as a precommit's.
    let outsider = double_precommit(&domain, 9, x, y);
    assert_eq!(outsider.verify(&domain, &set()), Err(EvidenceError::NotInSet(key(9).address(), 5)));
    let other_chain = ChainDomain { chain_id: CHAIN + 1, ..domain };
    assert_eq!(evidence.verify(&other_chain, &set()), Err(EvidenceError::BadSignature(0)));
    let mut forged = evidence.clone();
    forged.second.signature = key(1).sign_hash(&vote_digest(&domain, VoteKind::Precommit, 5, 1, y.as_ref()));
    assert_eq!(forged.verify(&domain, &set()), Err(EvidenceError::BadSignature(1)));
    let mut prevote = evidence.clone();
    prevote.kind = VoteKind::Prevote;
    assert_eq!(prevote.verify(&domain, &set()), Err(EvidenceError::BadSignature(0)));
    // A commit vote is exactly what certificates sign.
    assert_eq!(
        vote_digest(&domain, VoteKind::Precommit, 5, 1, x.as_ref()),
        vote_hash(&domain, 5, 1, &Hash([1; 32]))
    );
}

#[test]
fn the_evidence_root_commits_each_piece_in_block_order() {
    let domain = ChainDomain { chain_id: CHAIN, genesis_hash: genesis().hash() };
    let (x, y) = (Some(Hash([1; 32])), Some(Hash([2; 32])));
    let (a, b) = (double_precommit(&domain, 2, x, y), double_precommit(&domain, 3, None, x));
    assert_eq!(evidence_root(&[]), merkle_root(&[]), "no evidence: the empty root genesis carries");
    assert_eq!(evidence_root(&[a.clone(), b.clone()]), merkle_root(&[a.hash(), b.hash()]));
    assert_ne!(evidence_root(&[a.clone(), b.clone()]), evidence_root(&[b.clone(), a.clone()]));
    // Any change to a piece (here its round) changes the root.
    let mut other = a.clone();
    other.round += 1;
    assert_ne!(evidence_root(&[other]), evidence_root(&[a]));
}
