//! What validators sign, and the engine's signer and verifier over it. A precommit for a header
//! signs exactly `tao_light::vote_hash` (chain id, genesis hash, height, round, header hash), so
//! the engine's commit certificate is our `Certificate` and the light client checks it
//! unchanged. Every other message signs under its own tag, so no prevote, nil precommit,
//! proposal or peer proof can ever be counted as a commit vote.

use async_trait::async_trait;
use malachitebft_core_types::{NilOrVal, Round, SignedMessage, ValidatorProof, VoteExtensionScope, VoteType};
use malachitebft_signing::{Error, Signer, VerificationResult, Verifier};
use tao_crypto::{ChainDomain, PublicKey, SecretKey};
use tao_types::Hash;

use crate::context::{BlockHash, Height, NoExtension, Proposal, TaoContext, Vote, VoteSignature};

/// Tags of the signed messages other than votes (whose digests are `tao_light::vote_digest`'s).
const PROPOSAL: &[u8] = b"wasmtensor/proposal/v1";
const BLOCK: &[u8] = b"wasmtensor/block-proposal/v1";
const PEER: &[u8] = b"wasmtensor/validator-peer/v1";

/// Why a message cannot be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// Votes and proposals are always in a defined round.
    #[error("a vote or proposal in the nil round cannot be signed")]
    NilRound,
}

/// The hash of `tag`, the chain, a height, a round and what follows.
fn tagged(tag: &[u8], domain: &ChainDomain, height: Height, round: u32, rest: &[&[u8]]) -> [u8; 32] {
    tao_light::signed_digest(tag, domain, height.0, round, rest)
}

fn defined(round: Round) -> Result<u32, SignError> {
    round.as_u32().ok_or(SignError::NilRound)
}

/// The 32 bytes a validator signs for `vote`.
pub fn vote_digest(domain: &ChainDomain, vote: &Vote) -> Result<[u8; 32], SignError> {
    let round = defined(vote.round)?;
    let value = match &vote.value {
        NilOrVal::Val(BlockHash(header)) => Some(header),
        NilOrVal::Nil => None,
    };
    Ok(tao_light::vote_digest(domain, vote_kind(vote.kind), vote.height.0, round, value))
}

/// The chain's name for the engine's vote type.
pub fn vote_kind(kind: VoteType) -> tao_light::VoteKind {
    match kind {
        VoteType::Prevote => tao_light::VoteKind::Prevote,
        VoteType::Precommit => tao_light::VoteKind::Precommit,
    }
}

/// The 32 bytes a proposer signs for a `Proposal` message.
pub fn proposal_digest(domain: &ChainDomain, proposal: &Proposal) -> Result<[u8; 32], SignError> {
    let round = defined(proposal.round)?;
    let pol = proposal.pol_round.as_i64().to_le_bytes();
    Ok(tagged(PROPOSAL, domain, proposal.height, round, &[&pol, &proposal.value.0.0]))
}

/// The 32 bytes a proposer signs at the end of a streamed block: the block's header hash at
/// the height and round it proposes it.
pub fn block_digest(
    domain: &ChainDomain,
    height: Height,
    round: Round,
    header: &Hash,
) -> Result<[u8; 32], SignError> {
    Ok(tagged(BLOCK, domain, height, defined(round)?, &[&header.0]))
}

/// The 32 bytes a validator signs to bind its network identity (libp2p peer id) to its key.
fn peer_digest(domain: &ChainDomain, public_key: &[u8], peer_id: &[u8]) -> [u8; 32] {
    let len = u32::try_from(public_key.len()).unwrap_or(u32::MAX).to_le_bytes();
    tagged(PEER, domain, Height(0), 0, &[&len, public_key, peer_id])
}

/// A validator's signer: its key and the chain it signs for.
#[derive(Clone)]
pub struct KeySigner {
    key: SecretKey,
    domain: ChainDomain,
}

impl KeySigner {
    /// Signs for `domain` with `key`.
    pub fn new(key: SecretKey, domain: ChainDomain) -> Self {
        KeySigner { key, domain }
    }

    /// Signs the end of a streamed block.
    pub fn sign_block(
        &self,
        height: Height,
        round: Round,
        header: &Hash,
    ) -> Result<VoteSignature, SignError> {
        Ok(VoteSignature(self.key.sign_hash(&block_digest(&self.domain, height, round, header)?)))
    }

    /// Signs a transaction of this chain (only the fault tests' liar does: a validator's key
    /// signs votes, not transactions).
    pub(crate) fn sign_transaction(&self, tx: tao_tx::Transaction) -> tao_tx::SignedTransaction {
        tx.sign(&self.domain, &self.key)
    }
}

#[async_trait]
impl Signer<TaoContext> for KeySigner {
    async fn sign_vote(&self, vote: Vote) -> Result<SignedMessage<TaoContext, Vote>, Error> {
        let digest = vote_digest(&self.domain, &vote).map_err(Error::from_source)?;
        Ok(SignedMessage::new(vote, VoteSignature(self.key.sign_hash(&digest))))
    }

    async fn sign_proposal(&self, proposal: Proposal) -> Result<SignedMessage<TaoContext, Proposal>, Error> {
        let digest = proposal_digest(&self.domain, &proposal).map_err(Error::from_source)?;
        Ok(SignedMessage::new(proposal, VoteSignature(self.key.sign_hash(&digest))))
    }

    // Vote extensions are disabled at every height: nothing ever asks for one.
    async fn sign_vote_extension(
        &self,
        _scope: VoteExtensionScope<TaoContext>,
        _extension: NoExtension,
    ) -> Result<SignedMessage<TaoContext, NoExtension>, Error> {
        Err(Error::from_source(ExtensionsDisabled))
    }

    async fn sign_validator_proof(
        &self,
        public_key: Vec<u8>,
        peer_id: Vec<u8>,
    ) -> Result<ValidatorProof<TaoContext>, Error> {
        let signature = VoteSignature(self.key.sign_hash(&peer_digest(&self.domain, &public_key, &peer_id)));
        Ok(ValidatorProof::new(public_key, peer_id, signature))
    }
}

/// Vote extensions are not used by this chain.
#[derive(Debug, thiserror::Error)]
#[error("vote extensions are disabled on this chain")]
pub struct ExtensionsDisabled;

/// Checks signatures for one chain.
#[derive(Clone, Debug)]
pub struct KeyVerifier {
    domain: ChainDomain,
}

impl KeyVerifier {
    /// Verifies signatures made for `domain`.
    pub fn new(domain: ChainDomain) -> Self {
        KeyVerifier { domain }
    }

    /// Whether `signature` is `key`'s over `digest`.
    fn check(
        digest: Result<[u8; 32], SignError>,
        signature: &VoteSignature,
        key: &PublicKey,
    ) -> VerificationResult {
        VerificationResult::from_bool(digest.is_ok_and(|d| key.verify_hash(&d, &signature.0).is_ok()))
    }

    /// Whether `signature` ends a streamed block of `key`'s.
    pub fn check_block(
        &self,
        height: Height,
        round: Round,
        header: &Hash,
        signature: &VoteSignature,
        key: &PublicKey,
    ) -> bool {
        Self::check(block_digest(&self.domain, height, round, header), signature, key).is_valid()
    }
}

#[async_trait]
impl Verifier<TaoContext> for KeyVerifier {
    async fn verify_signed_vote(
        &self,
        vote: &Vote,
        signature: &VoteSignature,
        key: &PublicKey,
    ) -> Result<VerificationResult, Error> {
        Ok(Self::check(vote_digest(&self.domain, vote), signature, key))
    }

    async fn verify_signed_proposal(
        &self,
        proposal: &Proposal,
        signature: &VoteSignature,
        key: &PublicKey,
    ) -> Result<VerificationResult, Error> {
        Ok(Self::check(proposal_digest(&self.domain, proposal), signature, key))
    }

    async fn verify_signed_vote_extension(
        &self,
        _scope: &VoteExtensionScope<TaoContext>,
        _extension: &NoExtension,
        _signature: &VoteSignature,
        _key: &PublicKey,
    ) -> Result<VerificationResult, Error> {
        Ok(VerificationResult::Invalid)
    }

    async fn verify_validator_proof(
        &self,
        proof: &ValidatorProof<TaoContext>,
    ) -> Result<VerificationResult, Error> {
        let Ok(bytes) = <&[u8; 33]>::try_from(proof.public_key.as_slice()) else {
            return Ok(VerificationResult::Invalid);
        };
        let Ok(key) = PublicKey::from_compressed(bytes) else {
            return Ok(VerificationResult::Invalid);
        };
        let digest = peer_digest(&self.domain, &proof.public_key, &proof.peer_id);
        Ok(Self::check(Ok(digest), &proof.signature, &key))
    }
}
