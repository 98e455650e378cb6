//! Equivocation evidence on its way into blocks. The engine reports it when a height is
//! decided; the node checks it against the validator set of its height and keeps it (at most
//! [`MAX_PENDING_EVIDENCE`]) until a block carries it. A received block's evidence is checked
//! the same way before the block gets a vote: forged, stale or repeated evidence makes it
//! invalid.

use tao_chain::{Equivocation, EvidenceError, MAX_BLOCK_EVIDENCE, MAX_EVIDENCE_AGE, Slashes, Validator};
use tao_crypto::ChainDomain;
use tao_types::Address;
use tao_vm::Storage;

/// Most pieces of evidence a node keeps waiting for a block.
pub const MAX_PENDING_EVIDENCE: usize = 64;

/// Why evidence is refused, alone or in a block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceRefused {
    /// It proves nothing (signatures, values, membership).
    #[error(transparent)]
    Invalid(#[from] EvidenceError),
    /// Its height is not before the block's.
    #[error("evidence of height {height} is not from before block {block}")]
    NotPast {
        /// The evidence's height.
        height: u64,
        /// The block's.
        block: u64,
    },
    /// Its height is more than [`MAX_EVIDENCE_AGE`] blocks before the block's.
    #[error("evidence of height {height} is more than {MAX_EVIDENCE_AGE} blocks before block {block}")]
    TooOld {
        /// The evidence's height.
        height: u64,
        /// The block's.
        block: u64,
    },
    /// The validator's key was already slashed (a key is slashed once, then never used again).
    #[error("validator {0} was already slashed")]
    AlreadySlashed(Address),
    /// More than [`MAX_BLOCK_EVIDENCE`] pieces in a block.
    #[error("{0} pieces of evidence in a block; at most {MAX_BLOCK_EVIDENCE}")]
    TooMany(usize),
    /// Not in the order of the validators' keys, or two pieces for one validator.
    #[error("a block's evidence is not one piece per validator in the order of their keys")]
    NotCanonical,
    /// The set of its height is not known here (pruned, or a height not yet reached).
    #[error("the validator set of height {0} is not known here")]
    UnknownSet(u64),
}

/// What checking evidence needs from the node: the chain, its state before the block, and the
/// set that signs each height.
pub(crate) struct Context<'a, F: Fn(u64) -> Option<Vec<Validator>>> {
    pub domain: &'a ChainDomain,
    pub state: &'a dyn Storage,
    pub set_at: F,
}

impl<F: Fn(u64) -> Option<Vec<Validator>>> Context<'_, F> {
    /// Checks one piece of evidence for a block at `block`.
    pub fn check(&self, evidence: &Equivocation, block: u64) -> Result<(), EvidenceRefused> {
        let height = evidence.height;
        if height >= block {
            return Err(EvidenceRefused::NotPast { height, block });
        }
        if block - height > MAX_EVIDENCE_AGE {
            return Err(EvidenceRefused::TooOld { height, block });
        }
        let key = tao_contract_staking::tombstone_key(&evidence.validator.to_compressed());
        if self.state.get(&key).is_some() {
            return Err(EvidenceRefused::AlreadySlashed(evidence.validator.address()));
        }
        let set = (self.set_at)(height).ok_or(EvidenceRefused::UnknownSet(height))?;
        Ok(evidence.verify(self.domain, &set)?)
    }

    /// Checks a block's evidence: at most [`MAX_BLOCK_EVIDENCE`], one per validator in the order
    /// of their keys, each valid; the slashes it asks of the chain, signed by `in_force`.
    pub fn check_block(
        &self,
        evidence: &[Equivocation],
        block: u64,
        in_force: Vec<Validator>,
    ) -> Result<Slashes, EvidenceRefused> {
        if evidence.len() > MAX_BLOCK_EVIDENCE {
            return Err(EvidenceRefused::TooMany(evidence.len()));
        }
        if evidence.windows(2).any(|w| order(&w[0]) >= order(&w[1])) {
            return Err(EvidenceRefused::NotCanonical);
        }
        for piece in evidence {
            self.check(piece, block)?;
        }
        Ok(slashes(evidence, in_force))
    }

    /// What a proposer's block at `block` carries from `pending`, forgetting the pieces no
    /// longer valid (too old, already slashed): one per validator (the earliest height), in
    /// order, at most [`MAX_BLOCK_EVIDENCE`].
    pub fn select(&self, pending: &mut Vec<Equivocation>, block: u64) -> Vec<Equivocation> {
        pending.retain(|e| self.check(e, block).is_ok());
        let mut chosen = pending.clone();
        chosen.sort_by(|a, b| order(a).cmp(&order(b)).then(a.height.cmp(&b.height)));
        chosen.dedup_by(|later, first| order(later) == order(first));
        chosen.truncate(MAX_BLOCK_EVIDENCE);
        chosen
    }
}

/// A block's evidence order: by the offender's key.
fn order(evidence: &Equivocation) -> [u8; 33] {
    evidence.validator.to_compressed()
}

/// The slashes of checked `evidence` in a block signed by `in_force`.
pub(crate) fn slashes(evidence: &[Equivocation], in_force: Vec<Validator>) -> Slashes {
    Slashes { offenders: evidence.iter().map(|e| (e.validator, e.height)).collect(), in_force }
}

/// Adds `evidence` to `pending` unless a piece against the same validator at that height or a
/// later one waits already (a later piece replaces an earlier one, which would expire first);
/// whether it was added. Beyond [`MAX_PENDING_EVIDENCE`] the oldest goes.
pub(crate) fn keep(pending: &mut Vec<Equivocation>, evidence: Equivocation) -> bool {
    if pending.iter().any(|e| e.validator == evidence.validator && e.height >= evidence.height) {
        return false;
    }
    pending.retain(|e| e.validator != evidence.validator);
    pending.push(evidence);
    let excess = pending.len().saturating_sub(MAX_PENDING_EVIDENCE);
    pending.drain(..excess);
    true
}
