//! Our Malachite `Context`: the engine's types spelled in ours. Heights are block heights, the
//! decided value is a header hash, validators are `tao_light::Validator`s (same order, so a
//! Malachite commit certificate converts to our `Certificate` index for index), and the
//! signing scheme is our secp256k1 keys.

use std::fmt;

use borsh::{BorshDeserialize, BorshSerialize};
use malachitebft_core_types as mc;
use mc::{NilOrVal, Round, VoteType};
use tao_crypto::{PublicKey, SecretKey, Signature};
use tao_types::{Address, Hash};

/// A block height (genesis is 0; consensus starts at 1).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize,
)]
pub struct Height(pub u64);

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl mc::Height for Height {
    const ZERO: Self = Height(0);
    const INITIAL: Self = Height(1);

    fn increment_by(&self, n: u64) -> Self {
        Height(self.0.saturating_add(n))
    }

    fn decrement_by(&self, n: u64) -> Option<Self> {
        self.0.checked_sub(n).map(Height)
    }

    fn as_u64(&self) -> u64 {
        self.0
    }
}

/// A validator's account address (of its consensus key).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize,
)]
pub struct ValidatorAddress(pub Address);

impl fmt::Display for ValidatorAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl mc::Address for ValidatorAddress {}

/// The decided value: a header's hash. The block itself travels as proposal parts.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize,
)]
pub struct BlockHash(pub Hash);

impl fmt::Display for BlockHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl mc::Value for BlockHash {
    type Id = BlockHash;

    fn id(&self) -> BlockHash {
        *self
    }
}

/// A signature of one of our keys; ordered by its bytes (the engine keeps them in sets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct VoteSignature(pub Signature);

impl PartialOrd for VoteSignature {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for VoteSignature {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.0.cmp(&other.0.0)
    }
}

/// Why bytes are not a key or a signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not 65 bytes.
    #[error("a signature is 65 bytes, got {0}")]
    SignatureLength(usize),
    /// Not a compressed secp256k1 point.
    #[error("not a 33-byte compressed secp256k1 public key")]
    PublicKey,
}

/// Our signing scheme: secp256k1 recoverable ECDSA over Keccak-256 hashes (`tao_crypto`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Secp256k1;

impl mc::SigningScheme for Secp256k1 {
    type DecodingError = KeyError;
    type Signature = VoteSignature;
    type PublicKey = PublicKey;
    type PrivateKey = SecretKey;

    fn decode_signature(bytes: &[u8]) -> Result<VoteSignature, KeyError> {
        let bytes: [u8; 65] = bytes.try_into().map_err(|_| KeyError::SignatureLength(bytes.len()))?;
        Ok(VoteSignature(Signature(bytes)))
    }

    fn encode_signature(signature: &VoteSignature) -> Vec<u8> {
        signature.0.0.to_vec()
    }

    fn decode_public_key(bytes: &[u8]) -> Result<PublicKey, KeyError> {
        let bytes: &[u8; 33] = bytes.try_into().map_err(|_| KeyError::PublicKey)?;
        PublicKey::from_compressed(bytes).map_err(|_| KeyError::PublicKey)
    }

    fn encode_public_key(key: &PublicKey) -> Vec<u8> {
        key.to_compressed().to_vec()
    }
}

/// A member of the validator set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validator {
    /// Its address (of `key`).
    pub address: ValidatorAddress,
    /// Its consensus key.
    pub key: PublicKey,
    /// Its voting power.
    pub power: u64,
}

impl mc::Validator<TaoContext> for Validator {
    fn address(&self) -> &ValidatorAddress {
        &self.address
    }

    fn public_key(&self) -> &PublicKey {
        &self.key
    }

    fn voting_power(&self) -> u64 {
        self.power
    }
}

/// Why a validator set cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetError {
    /// No validators, or more than `tao_light::MAX_VALIDATORS`.
    #[error("a validator set holds 1 to {max} validators, got {got}", max = tao_light::MAX_VALIDATORS)]
    Size {
        /// How many were given.
        got: usize,
    },
    /// A validator with no power.
    #[error("validator {0} has no voting power")]
    NoPower(Address),
    /// One key named twice.
    #[error("validator {0} is named twice")]
    Duplicate(Address),
    /// The total is so large the engine's threshold arithmetic (`3 × power`) could overflow.
    #[error("the total voting power must stay below u64::MAX / 3")]
    TooMuchPower,
}

/// The validators of a height, in the chain's order (the order `validators_hash` commits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
    total: u64,
}

impl ValidatorSet {
    /// The engine's view of `validators` (as committed in a header's `validators_hash`).
    pub fn new(validators: &[tao_light::Validator]) -> Result<Self, SetError> {
        if validators.is_empty() || validators.len() > tao_light::MAX_VALIDATORS {
            return Err(SetError::Size { got: validators.len() });
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut total = 0u64;
        let mut out = Vec::with_capacity(validators.len());
        for v in validators {
            let address = v.key.address();
            if v.power == 0 {
                return Err(SetError::NoPower(address));
            }
            if !seen.insert(address) {
                return Err(SetError::Duplicate(address));
            }
            total = total.checked_add(v.power).filter(|t| *t < u64::MAX / 3).ok_or(SetError::TooMuchPower)?;
            out.push(Validator { address: ValidatorAddress(address), key: v.key, power: v.power });
        }
        Ok(ValidatorSet { validators: out, total })
    }

    /// The position of `address` in the set (its index in our certificates).
    pub fn index_of(&self, address: &ValidatorAddress) -> Option<usize> {
        self.validators.iter().position(|v| v.address == *address)
    }

    /// The validators, in order.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }
}

impl mc::ValidatorSet<TaoContext> for ValidatorSet {
    fn count(&self) -> usize {
        self.validators.len()
    }

    fn total_voting_power(&self) -> u64 {
        self.total
    }

    fn get_by_address(&self, address: &ValidatorAddress) -> Option<&Validator> {
        self.validators.iter().find(|v| v.address == *address)
    }

    fn get_by_index(&self, index: usize) -> Option<&Validator> {
        self.validators.get(index)
    }
}

/// A prevote or precommit.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Vote {
    /// Prevote or precommit.
    pub kind: VoteType,
    /// The height voted at.
    pub height: Height,
    /// The round voted in.
    pub round: Round,
    /// The header hash voted for, or nil.
    pub value: NilOrVal<BlockHash>,
    /// Who votes.
    pub validator: ValidatorAddress,
}

impl mc::Vote<TaoContext> for Vote {
    fn height(&self) -> Height {
        self.height
    }

    fn round(&self) -> Round {
        self.round
    }

    fn value(&self) -> &NilOrVal<BlockHash> {
        &self.value
    }

    fn take_value(self) -> NilOrVal<BlockHash> {
        self.value
    }

    fn vote_type(&self) -> VoteType {
        self.kind
    }

    fn validator_address(&self) -> &ValidatorAddress {
        &self.validator
    }

    fn extension(&self) -> Option<&mc::SignedExtension<TaoContext>> {
        None
    }

    fn take_extension(&mut self) -> Option<mc::SignedExtension<TaoContext>> {
        None
    }

    // Vote extensions are disabled (`VoteExtensionPolicy::Disabled`): nothing to attach.
    fn extend(self, _extension: mc::SignedExtension<TaoContext>) -> Self {
        self
    }
}

/// No vote extensions: the policy is `Disabled` at every height.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct NoExtension;

impl mc::Extension for NoExtension {
    fn size_bytes(&self) -> usize {
        0
    }
}

/// A proposal of a header hash at a height and round.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Proposal {
    /// The height.
    pub height: Height,
    /// The round.
    pub round: Round,
    /// The header hash proposed.
    pub value: BlockHash,
    /// The round of the proof of lock it re-proposes, or nil.
    pub pol_round: Round,
    /// The proposer.
    pub proposer: ValidatorAddress,
}

impl mc::Proposal<TaoContext> for Proposal {
    fn height(&self) -> Height {
        self.height
    }

    fn round(&self) -> Round {
        self.round
    }

    fn value(&self) -> &BlockHash {
        &self.value
    }

    fn take_value(self) -> BlockHash {
        self.value
    }

    fn pol_round(&self) -> Round {
        self.pol_round
    }

    fn validator_address(&self) -> &ValidatorAddress {
        &self.proposer
    }
}

/// One part of a streamed block proposal: who proposes what, the block's bytes in chunks, and
/// the proposer's signature over the header hash (so a relayed stream cannot be forged).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum ProposalPart {
    /// The first part: the proposal's height, round and proposer.
    Init {
        /// The height.
        height: Height,
        /// The round.
        round: Round,
        /// The round of the lock it re-proposes, or nil.
        pol_round: Round,
        /// The proposer.
        proposer: ValidatorAddress,
    },
    /// A chunk of the borsh-encoded block.
    Data(Vec<u8>),
    /// The last part: the proposer's signature over `proposal_hash` of the block's header.
    Fin(VoteSignature),
    /// Not a block part: transactions submitted to a validator, relayed on the same topic so
    /// that whoever proposes next has them (a message of its own, never inside a stream).
    Txs(Vec<Vec<u8>>),
    /// Not a block part: equivocation evidence a validator newly kept, relayed like
    /// transactions so that whoever proposes next can carry it (at most
    /// `tao_light::MAX_BLOCK_EVIDENCE` pieces; each is checked by the receiver).
    Evidence(Vec<tao_light::Equivocation>),
}

impl mc::ProposalPart<TaoContext> for ProposalPart {
    fn is_first(&self) -> bool {
        matches!(self, ProposalPart::Init { .. })
    }

    fn is_last(&self) -> bool {
        matches!(self, ProposalPart::Fin(_))
    }
}

/// Our context. It carries no state: what is signed over is chosen by [`crate::signing`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaoContext;

impl mc::Context for TaoContext {
    type Address = ValidatorAddress;
    type Height = Height;
    type ProposalPart = ProposalPart;
    type Proposal = Proposal;
    type Validator = Validator;
    type ValidatorSet = ValidatorSet;
    type Timeouts = mc::LinearTimeouts;
    type Value = BlockHash;
    type Vote = Vote;
    type Extension = NoExtension;
    type SigningScheme = Secp256k1;

    fn select_proposer<'a>(&self, set: &'a ValidatorSet, height: Height, round: Round) -> &'a Validator {
        &set.validators[proposer_index(set, height, round)]
    }

    fn new_proposal(
        &self,
        height: Height,
        round: Round,
        value: BlockHash,
        pol_round: Round,
        proposer: ValidatorAddress,
    ) -> Proposal {
        Proposal { height, round, value, pol_round, proposer }
    }

    fn new_prevote(
        &self,
        height: Height,
        round: Round,
        value: NilOrVal<BlockHash>,
        validator: ValidatorAddress,
    ) -> Vote {
        Vote { kind: VoteType::Prevote, height, round, value, validator }
    }

    fn new_precommit(
        &self,
        height: Height,
        round: Round,
        value: NilOrVal<BlockHash>,
        validator: ValidatorAddress,
    ) -> Vote {
        Vote { kind: VoteType::Precommit, height, round, value, validator }
    }
}

/// Longest rotation (in slots per validator) taken in order; beyond it proposers are drawn.
const MAX_TURNS_PER_VALIDATOR: u64 = 64;

/// The proposer of `height` and `round`: a slot on the line of the validators' cumulative
/// powers, each divided by their greatest common divisor. When that cycle is short (powers in
/// small ratios, e.g. equal validators), slot `(height + round) mod cycle`: each proposes in
/// proportion to its power and equal validators take turns. Powers from stake in rao make the
/// cycle astronomically long and each validator's range contiguous — in order, the first would
/// propose every height and every round — so then the slot is drawn from
/// keccak(height ‖ round): in proportion to power, and another draw each round.
/// Deterministic: every node computes the same one.
pub fn proposer_index(set: &ValidatorSet, height: Height, round: Round) -> usize {
    let unit = set.validators.iter().fold(0, |g, v| gcd(g, v.power)).max(1);
    let round = u64::from(round.as_u32().unwrap_or(0));
    let cycle = (set.total / unit).max(1);
    let count = u64::try_from(set.validators.len()).unwrap_or(u64::MAX);
    let step = if cycle <= count.saturating_mul(MAX_TURNS_PER_VALIDATOR) {
        height.0.wrapping_add(round)
    } else {
        let mut seed = [0u8; 16];
        seed[..8].copy_from_slice(&height.0.to_le_bytes());
        seed[8..].copy_from_slice(&round.to_le_bytes());
        let digest = tao_types::keccak256(&seed);
        u64::from_le_bytes(digest[..8].try_into().unwrap_or_default())
    };
    let slot = step % cycle;
    let mut below = 0u64;
    for (i, v) in set.validators.iter().enumerate() {
        below = below.saturating_add(v.power / unit);
        if slot < below {
            return i;
        }
    }
    set.validators.len().saturating_sub(1)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}
