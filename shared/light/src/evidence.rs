//! Proof that a validator signed two different votes of one kind at one height and round
//! (equivocation), checked with nothing but the chain's domain and the validator set of that
//! height. Blocks carry it (committed in the header's `evidence_root`); the chain slashes the
//! offender and removes it from the next set. Also what every validator signs for a vote: one
//! digest per (kind, value), so a vote of one kind can never pass for another.

use borsh::{BorshDeserialize, BorshSerialize};
use tao_crypto::{ChainDomain, PublicKey, Signature};
use tao_types::{Hash, keccak256};

use crate::{Validator, merkle_root};

/// Most pieces of evidence in one block: a block slashes at most this many validators.
pub const MAX_BLOCK_EVIDENCE: usize = 16;
/// Most blocks between an equivocation and the block carrying its evidence. Every validator
/// must still hold the blocks naming the set of that height to check it, so a validator keeps
/// more blocks than this (`tao node` refuses a smaller `--state-pruning` in a network). The
/// engine reports evidence when its height is decided, so it lands within a few blocks. Defined
/// in `tao-types`: the staking contract's shortest unbonding window is the same number.
pub use tao_types::MAX_EVIDENCE_AGE;

/// Tag of a commit vote (a precommit for a header): the one light clients count.
const VOTE_TAG: &[u8] = b"wasmtensor/vote/v1";
/// Tags of the other votes, so none of them is ever counted as a commit vote.
const PREVOTE_TAG: &[u8] = b"wasmtensor/prevote/v1";
const NIL_PRECOMMIT_TAG: &[u8] = b"wasmtensor/precommit-nil/v1";

/// Keccak-256 of `tag`, the chain (id and genesis hash), a height, a round and what follows:
/// the shape of everything a validator signs, so one chain's signatures never serve another.
pub fn signed_digest(tag: &[u8], domain: &ChainDomain, height: u64, round: u32, rest: &[&[u8]]) -> [u8; 32] {
    let mut preimage = Vec::with_capacity(tag.len() + 8 + 32 + 8 + 4 + 64);
    preimage.extend_from_slice(tag);
    preimage.extend_from_slice(&domain.chain_id.to_le_bytes());
    preimage.extend_from_slice(&domain.genesis_hash.0);
    preimage.extend_from_slice(&height.to_le_bytes());
    preimage.extend_from_slice(&round.to_le_bytes());
    for part in rest {
        preimage.extend_from_slice(part);
    }
    keccak256(&preimage)
}

/// What a validator signs to vote for `header` at `height` in `round`: the bytes every
/// certificate's signatures cover.
pub fn vote_hash(domain: &ChainDomain, height: u64, round: u32, header: &Hash) -> [u8; 32] {
    signed_digest(VOTE_TAG, domain, height, round, &[&header.0])
}

/// Whether a vote is a prevote or a precommit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
pub enum VoteKind {
    /// The first vote of a round.
    Prevote,
    /// The second; a precommit for a header is a commit vote.
    Precommit,
}

/// The 32 bytes a validator signs for a `kind` vote for `value` (`None`: nil) at `height` and
/// `round`. A precommit for a header is exactly [`vote_hash`].
pub fn vote_digest(
    domain: &ChainDomain,
    kind: VoteKind,
    height: u64,
    round: u32,
    value: Option<&Hash>,
) -> [u8; 32] {
    match (kind, value) {
        (VoteKind::Precommit, Some(header)) => vote_hash(domain, height, round, header),
        (VoteKind::Precommit, None) => signed_digest(NIL_PRECOMMIT_TAG, domain, height, round, &[]),
        (VoteKind::Prevote, Some(header)) => {
            signed_digest(PREVOTE_TAG, domain, height, round, &[&[1], &header.0])
        }
        (VoteKind::Prevote, None) => signed_digest(PREVOTE_TAG, domain, height, round, &[&[0]]),
    }
}

/// One signed vote of an equivocation: what it voted for and the signature.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedVote {
    /// The header voted for; `None` for nil.
    pub value: Option<Hash>,
    /// The validator's signature over [`vote_digest`].
    pub signature: Signature,
}

/// Two votes of one validator, of one kind, at one height and round, for different values.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Equivocation {
    /// The height voted at.
    pub height: u64,
    /// The round.
    pub round: u32,
    /// Prevotes or precommits.
    pub kind: VoteKind,
    /// The offender's consensus key.
    pub validator: PublicKey,
    /// The vote for the lesser value (nil first): one encoding per pair of votes.
    pub first: SignedVote,
    /// The vote for the greater value.
    pub second: SignedVote,
}

/// The root a header's `evidence_root` commits for the evidence it carries: the
/// [`merkle_root`] of the pieces' [`Equivocation::hash`]es, in block order.
pub fn evidence_root(evidence: &[Equivocation]) -> Hash {
    merkle_root(&evidence.iter().map(Equivocation::hash).collect::<Vec<_>>())
}

/// Why evidence proves nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// The key is not in the validator set of the evidence's height.
    #[error("validator {0} is not in the set of height {1}")]
    NotInSet(tao_types::Address, u64),
    /// The votes are not for two different values in canonical order (the lesser first).
    #[error("the two votes are not for different values in canonical order")]
    NotConflicting,
    /// A signature is not the validator's over its vote.
    #[error("vote {0} of the evidence is not signed by the validator")]
    BadSignature(u8),
}

impl Equivocation {
    /// Builds the evidence from two conflicting votes in either order.
    pub fn new(
        height: u64,
        round: u32,
        kind: VoteKind,
        validator: PublicKey,
        a: SignedVote,
        b: SignedVote,
    ) -> Self {
        let (first, second) = if a.value <= b.value { (a, b) } else { (b, a) };
        Equivocation { height, round, kind, validator, first, second }
    }

    /// Keccak-256 of the borsh encoding: what the header's `evidence_root` commits.
    pub fn hash(&self) -> Hash {
        Hash(keccak256(&borsh::to_vec(self).unwrap_or_default()))
    }

    /// Checks that the validator, a member of `set` (the set that signs `self.height`), signed
    /// both votes for the chain `domain`, and that they differ.
    pub fn verify(&self, domain: &ChainDomain, set: &[Validator]) -> Result<(), EvidenceError> {
        if !set.iter().any(|v| v.key == self.validator) {
            return Err(EvidenceError::NotInSet(self.validator.address(), self.height));
        }
        if self.first.value >= self.second.value {
            return Err(EvidenceError::NotConflicting);
        }
        for (index, vote) in [(0u8, &self.first), (1, &self.second)] {
            let digest = vote_digest(domain, self.kind, self.height, self.round, vote.value.as_ref());
            self.validator
                .verify_hash(&digest, &vote.signature)
                .map_err(|_| EvidenceError::BadSignature(index))?;
        }
        Ok(())
    }
}
