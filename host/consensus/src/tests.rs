//! The pure parts, natively and without I/O: what is signed, the conversion of the engine's
//! commit certificate into ours (checked by the engine and by the light client, which must
//! agree), proposer selection and validator-set checks.

use malachitebft_core_types::{
    CommitCertificate, CommitSignature, Context, NilOrVal, Round, ThresholdParams,
};
use malachitebft_signing::{Signer, VerifierExt};
use tao_crypto::{ChainDomain, SecretKey};
use tao_light::{Certificate, CertificateError, Header, Validator, validators_hash};
use tao_types::{Address, Hash};

use crate::certificate::{ConvertError, from_certificate, to_certificate};
use crate::context::{
    BlockHash, Height, SetError, TaoContext, ValidatorAddress, ValidatorSet, Vote, proposer_index,
};
use crate::signing::{KeySigner, KeyVerifier, block_digest, vote_digest};

fn key(i: u8) -> SecretKey {
    SecretKey::from_bytes(&[i + 1; 32]).expect("valid key")
}

fn domain() -> ChainDomain {
    ChainDomain { chain_id: 7, genesis_hash: Hash([9; 32]) }
}

fn validators(powers: &[u64]) -> Vec<Validator> {
    powers.iter().enumerate().map(|(i, p)| Validator { key: key(i as u8).public_key(), power: *p }).collect()
}

fn header(set: &[Validator]) -> Header {
    Header {
        chain_id: domain().chain_id,
        parent: Hash([1; 32]),
        height: 5,
        time_ms: 1_000,
        state_root: Hash([2; 32]),
        txs_root: Hash([3; 32]),
        receipts_root: Hash([4; 32]),
        evidence_root: Hash([0; 32]),
        validators_hash: validators_hash(set),
        next_validators_hash: validators_hash(set),
        proposer: Address([5; 20]),
    }
}

fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().build().expect("runtime").block_on(f)
}

/// Precommits of validators `signers` for `header` in round 2, as the engine collects them.
fn precommits(header: &Header, signers: &[u8]) -> CommitCertificate<TaoContext> {
    let value = BlockHash(header.hash());
    let commits = signers
        .iter()
        .map(|i| {
            let signer = KeySigner::new(key(*i), domain());
            let address = ValidatorAddress(key(*i).address());
            let vote =
                TaoContext.new_precommit(Height(header.height), Round::new(2), NilOrVal::Val(value), address);
            run(signer.sign_vote(vote)).expect("signed")
        })
        .collect();
    CommitCertificate::new(Height(header.height), Round::new(2), value, commits)
}

/// What the engine says of `decided` under `set`.
fn engine_accepts(decided: &CommitCertificate<TaoContext>, set: &ValidatorSet) -> bool {
    let verifier = KeyVerifier::new(domain());
    run(verifier.verify_commit_certificate(&TaoContext, decided, set, ThresholdParams::default())).is_ok()
}

#[test]
fn a_decision_of_three_of_four_is_a_certificate_the_light_client_accepts() {
    let set = validators(&[10, 10, 10, 10]);
    let engine_set = ValidatorSet::new(&set).expect("set");
    let header = header(&set);
    let decided = precommits(&header, &[3, 0, 2]);
    assert!(engine_accepts(&decided, &engine_set));
    let certificate = to_certificate(&decided, &engine_set).expect("converts");
    assert_eq!(certificate.round, 2);
    assert_eq!(certificate.signatures.iter().map(|(i, _)| *i).collect::<Vec<_>>(), vec![0, 2, 3]);
    certificate.verify(&domain(), &header, &set).expect("the light client believes it");
}

#[test]
fn exactly_two_thirds_of_the_power_is_refused_by_both() {
    // 2 + 2 of 6: exactly two thirds, not more.
    let set = validators(&[2, 1, 1, 2]);
    let engine_set = ValidatorSet::new(&set).expect("set");
    let header = header(&set);
    let decided = precommits(&header, &[0, 3]);
    assert!(!engine_accepts(&decided, &engine_set));
    let certificate = to_certificate(&decided, &engine_set).expect("converts");
    assert_eq!(
        certificate.verify(&domain(), &header, &set),
        Err(CertificateError::NotEnoughPower { signed: 4, total: 6 })
    );
    // One more unit of power is enough for both.
    let decided = precommits(&header, &[0, 1, 3]);
    assert!(engine_accepts(&decided, &engine_set));
    to_certificate(&decided, &engine_set).expect("converts").verify(&domain(), &header, &set).expect("final");
}

#[test]
fn prevotes_nil_precommits_and_block_signatures_never_count_as_commit_votes() {
    let set = validators(&[1, 1, 1, 1]);
    let header = header(&set);
    let hash = header.hash();
    let (h, r) = (Height(header.height), Round::new(0));
    let commit = tao_light::vote_hash(&domain(), header.height, 0, &hash);
    let address = ValidatorAddress(key(0).address());
    let prevote = TaoContext.new_prevote(h, r, NilOrVal::Val(BlockHash(hash)), address);
    let nil = TaoContext.new_precommit(h, r, NilOrVal::Nil, address);
    let precommit = TaoContext.new_precommit(h, r, NilOrVal::Val(BlockHash(hash)), address);
    assert_eq!(vote_digest(&domain(), &precommit), Ok(commit));
    assert_ne!(vote_digest(&domain(), &prevote), Ok(commit));
    assert_ne!(vote_digest(&domain(), &nil), Ok(commit));
    assert_ne!(block_digest(&domain(), h, r, &hash), Ok(commit));
    // A certificate made of prevote signatures is refused by the light client.
    let signatures = (0..3u8)
        .map(|i| {
            let digest = vote_digest(
                &domain(),
                &Vote { validator: ValidatorAddress(key(i).address()), ..prevote.clone() },
            );
            (u32::from(i), key(i).sign_hash(&digest.expect("digest")))
        })
        .collect();
    let forged = Certificate { header: hash, height: header.height, round: 0, signatures };
    assert!(matches!(forged.verify(&domain(), &header, &set), Err(CertificateError::BadSignature(_))));
}

#[test]
fn votes_of_another_chain_do_not_verify() {
    let set = validators(&[1, 1, 1, 1]);
    let engine_set = ValidatorSet::new(&set).expect("set");
    let header = header(&set);
    let decided = precommits(&header, &[0, 1, 2]);
    let other = KeyVerifier::new(ChainDomain { chain_id: 8, ..domain() });
    let verdict =
        run(other.verify_commit_certificate(&TaoContext, &decided, &engine_set, ThresholdParams::default()));
    assert!(verdict.is_err());
}

#[test]
fn a_stored_certificate_converts_back_for_sync_and_the_engine_accepts_it() {
    let set = validators(&[10, 20, 30, 40]);
    let engine_set = ValidatorSet::new(&set).expect("set");
    let header = header(&set);
    let decided = precommits(&header, &[1, 2, 3]);
    let ours = to_certificate(&decided, &engine_set).expect("converts");
    let back = from_certificate(&ours, &engine_set).expect("back");
    let plain = CommitCertificate {
        height: back.height,
        round: back.round,
        value_id: back.value_id,
        commit_signatures: back
            .commit_signatures
            .iter()
            .map(|s| CommitSignature::new(s.address, s.signature))
            .collect(),
    };
    assert!(engine_accepts(&plain, &engine_set));
    assert_eq!(to_certificate(&plain, &engine_set), Ok(ours.clone()));
    let bad = Certificate { signatures: vec![(4, ours.signatures[0].1)], ..ours };
    assert_eq!(from_certificate(&bad, &engine_set).err(), Some(ConvertError::BadIndex(4)));
}

#[test]
fn a_signer_outside_the_set_or_twice_does_not_convert() {
    let set = validators(&[1, 1, 1]);
    let engine_set = ValidatorSet::new(&set).expect("set");
    let header = header(&set);
    let mut decided = precommits(&header, &[0, 1]);
    decided.commit_signatures.push(decided.commit_signatures[0].clone());
    assert_eq!(to_certificate(&decided, &engine_set), Err(ConvertError::Repeated(key(0).address())));
    let stranger = precommits(&header, &[9]);
    assert_eq!(to_certificate(&stranger, &engine_set), Err(ConvertError::UnknownSigner(key(9).address())));
}

#[test]
fn equal_validators_take_turns_and_power_weighs_the_turns() {
    let equal = ValidatorSet::new(&validators(&[5, 5, 5, 5])).expect("set");
    let turns: Vec<usize> = (1..=8).map(|h| proposer_index(&equal, Height(h), Round::new(0))).collect();
    let mut sorted = turns[..4].to_vec();
    sorted.sort_unstable();
    assert_eq!(sorted, vec![0, 1, 2, 3]);
    assert_eq!(turns[..4], turns[4..]);
    // The next round moves to the next proposer.
    assert_ne!(
        proposer_index(&equal, Height(1), Round::new(0)),
        proposer_index(&equal, Height(1), Round::new(1))
    );
    let weighted = ValidatorSet::new(&validators(&[1, 3])).expect("set");
    let heavy = (0..400).filter(|h| proposer_index(&weighted, Height(*h), Round::new(0)) == 1).count();
    assert_eq!(heavy, 300);
    // Powers from stake in rao (no common divisor worth the name): not the first validator at
    // every height and round, but each in proportion to its power, another at the next round.
    let staked =
        ValidatorSet::new(&validators(&[10_000_000_000_001, 10_000_000_000_003, 20_000_000_000_007]))
            .expect("set");
    let mut turns = [0usize; 3];
    for h in 0..3_000 {
        turns[proposer_index(&staked, Height(h), Round::new(0))] += 1;
    }
    assert!(turns.iter().zip([750, 750, 1_500]).all(|(got, fair)| got.abs_diff(fair) < 150), "{turns:?}");
    let moved = (0..100)
        .filter(|h| {
            proposer_index(&staked, Height(*h), Round::new(0))
                != proposer_index(&staked, Height(*h), Round::new(1))
        })
        .count();
    assert!(moved > 40, "a failed round must often hand the turn to another: {moved} of 100");
}

#[test]
fn bad_validator_sets_are_refused() {
    assert_eq!(ValidatorSet::new(&[]), Err(SetError::Size { got: 0 }));
    assert_eq!(ValidatorSet::new(&validators(&[1, 0])), Err(SetError::NoPower(key(1).address())));
    let mut twice = validators(&[1, 1]);
    twice[1].key = twice[0].key;
    assert_eq!(ValidatorSet::new(&twice), Err(SetError::Duplicate(key(0).address())));
    assert_eq!(ValidatorSet::new(&validators(&[u64::MAX / 3, 1])), Err(SetError::TooMuchPower));
}

#[test]
fn a_block_signature_binds_proposer_height_round_and_header() {
    let verifier = KeyVerifier::new(domain());
    let signer = KeySigner::new(key(0), domain());
    let hash = Hash([7; 32]);
    let signature = signer.sign_block(Height(3), Round::new(1), &hash).expect("signed");
    let public = key(0).public_key();
    assert!(verifier.check_block(Height(3), Round::new(1), &hash, &signature, &public));
    assert!(!verifier.check_block(Height(3), Round::new(2), &hash, &signature, &public));
    assert!(!verifier.check_block(Height(4), Round::new(1), &hash, &signature, &public));
    assert!(!verifier.check_block(Height(3), Round::new(1), &Hash([8; 32]), &signature, &public));
    assert!(!verifier.check_block(Height(3), Round::new(1), &hash, &signature, &key(1).public_key()));
}
