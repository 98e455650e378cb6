//! Equivocation evidence on its way into blocks. The engine reports it when a height is
//! decided; the node checks it against the validator set of its height and keeps it (at most
//! [`MAX_PENDING_EVIDENCE`]) until a block carries it. A received block's evidence is checked
//! the same way before the block gets a vote: forged, stale or repeated evidence makes it
//! invalid.

use tao_chain::{
    ChainError, Equivocation, EvidenceError, MAX_BLOCK_EVIDENCE, MAX_EVIDENCE_AGE, Slashes, Validator,
};
use tao_crypto::{ChainDomain, PublicKey};
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
    /// Checks one piece of evidence for a block at `block`: its standing, then its signatures.
    pub fn check(&self, evidence: &Equivocation, block: u64) -> Result<(), EvidenceRefused> {
        let set = self.standing(evidence, block)?;
        Ok(evidence.verify(self.domain, &set)?)
    }

    /// What may change about a piece after its signatures were checked, for a block at
    /// `block`: it is from before the block and not too old, its key not yet slashed, the set
    /// of its height still known here (returned).
    fn standing(&self, evidence: &Equivocation, block: u64) -> Result<Vec<Validator>, EvidenceRefused> {
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
        (self.set_at)(height).ok_or(EvidenceRefused::UnknownSet(height))
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
    /// longer valid (too old, already slashed, their set pruned): one per validator (the
    /// earliest height), in order, at most [`MAX_BLOCK_EVIDENCE`]. A piece of the block's own
    /// height waits for the next one. Pending pieces were fully checked when kept, so their
    /// signatures are not checked again.
    pub fn select(&self, pending: &mut Vec<Equivocation>, block: u64) -> Vec<Equivocation> {
        pending.retain(|e| e.height >= block || self.standing(e, block).is_ok());
        let mut chosen: Vec<Equivocation> = pending.iter().filter(|e| e.height < block).cloned().collect();
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

/// A block built with the evidence the chain would apply.
pub(crate) struct Carried<T> {
    /// The build's result.
    pub built: T,
    /// The evidence it carries.
    pub evidence: Vec<Equivocation>,
    /// The offenders whose slash the chain refused: their pieces were left out.
    pub refused: Vec<PublicKey>,
}

/// Builds a block carrying `evidence` by `build`; each time the chain refuses a slash, the
/// offender it names is left out and the block built again with the rest (one refused piece
/// must not cost the others their slash). Ends after at most one build more than pieces: each
/// retry carries one piece fewer.
pub(crate) fn build_leaving_out_refused<T>(
    mut evidence: Vec<Equivocation>,
    mut build: impl FnMut(&[Equivocation]) -> Result<T, ChainError>,
) -> Result<Carried<T>, ChainError> {
    let mut refused = Vec::new();
    loop {
        match build(&evidence) {
            Err(ChainError::Slash { offender, outcome }) => {
                let before = evidence.len();
                evidence.retain(|e| e.validator != *offender);
                if evidence.len() == before {
                    // Not one of the pieces given: nothing to leave out.
                    return Err(ChainError::Slash { offender, outcome });
                }
                refused.push(*offender);
            }
            built => return built.map(|built| Carried { built, evidence, refused }),
        }
    }
}

/// Whether `pending` holds a piece against `evidence`'s validator at its height or a later one:
/// then `evidence` adds nothing (and need not be checked: relayed copies come back).
pub(crate) fn covered(pending: &[Equivocation], evidence: &Equivocation) -> bool {
    pending.iter().any(|e| e.validator == evidence.validator && e.height >= evidence.height)
}

/// Adds `evidence` to `pending` unless a piece against the same validator at that height or a
/// later one waits already (a later piece replaces an earlier one, which would expire first);
/// whether it was added. Beyond [`MAX_PENDING_EVIDENCE`] the oldest goes.
pub(crate) fn keep(pending: &mut Vec<Equivocation>, evidence: Equivocation) -> bool {
    if covered(pending, &evidence) {
        return false;
    }
    pending.retain(|e| e.validator != evidence.validator);
    pending.push(evidence);
    let excess = pending.len().saturating_sub(MAX_PENDING_EVIDENCE);
    pending.drain(..excess);
    true
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

    use tao_chain::{SignedVote, VoteKind, vote_digest};
    use tao_crypto::SecretKey;
    use tao_types::Hash;
    use tao_vm::MemoryStorage;

    use super::*;

    const DOMAIN: ChainDomain = ChainDomain { chain_id: 7, genesis_hash: Hash([1; 32]) };

    fn key(n: u8) -> SecretKey {
        SecretKey::from_bytes(&[n; 32]).unwrap()
    }

    fn set() -> Vec<Validator> {
        (1..=4).map(|n| Validator { key: key(n).public_key(), power: 1 }).collect()
    }

    /// Validator `n`'s real double precommit at `height`.
    fn piece(n: u8, height: u64) -> Equivocation {
        let vote = |value: Option<Hash>| SignedVote {
            value,
            signature: key(n).sign_hash(&vote_digest(
                &DOMAIN,
                VoteKind::Precommit,
                height,
                0,
                value.as_ref(),
            )),
        };
        Equivocation::new(
            height,
            0,
            VoteKind::Precommit,
            key(n).public_key(),
            vote(None),
            vote(Some(Hash([9; 32]))),
        )
    }

    fn context(state: &MemoryStorage) -> Context<'_, impl Fn(u64) -> Option<Vec<Validator>>> {
        // Heights below 3 are pruned here.
        Context { domain: &DOMAIN, state, set_at: |height| (height >= 3).then(set) }
    }

    /// Selection re-checks only what changes after a piece was kept: a kept piece is not
    /// verified again (its signatures here are garbage, which a received block's check
    /// refuses), while age, tombstones and pruned sets still drop pieces.
    #[test]
    fn selection_rechecks_standing_not_signatures() {
        let mut state = MemoryStorage::default();
        let mut garbled = piece(1, 10);
        garbled.second.signature = garbled.first.signature;
        assert!(matches!(
            context(&state).check(&garbled, 11),
            Err(EvidenceRefused::Invalid(EvidenceError::BadSignature(1)))
        ));
        let tombstoned = piece(2, 10);
        state.0.insert(tao_contract_staking::tombstone_key(&key(2).public_key().to_compressed()), vec![0]);
        let mut pending = vec![garbled.clone(), tombstoned, piece(3, 2), piece(4, 10)];
        let chosen = context(&state).select(&mut pending, 11);
        let mut expected = vec![garbled, piece(4, 10)];
        expected.sort_by_key(order);
        assert_eq!(chosen, expected);
        assert_eq!(pending.len(), 2, "the slashed and pruned pieces are forgotten");
        // Too old by the next block.
        assert!(context(&state).select(&mut pending, 11 + MAX_EVIDENCE_AGE).is_empty());
        assert!(pending.is_empty());
    }

    /// A refused slash leaves out only its offender's piece; the rest is built again and
    /// carried. A refusal naming nobody carried, or any other failure, is the build's error.
    #[test]
    fn a_refused_slash_drops_only_its_piece() {
        let pieces = vec![piece(1, 5), piece(2, 5), piece(3, 5)];
        let refuse =
            |n: u8| ChainError::Slash { offender: Box::new(key(n).public_key()), outcome: "no".into() };
        let mut builds = Vec::new();
        let carried = build_leaving_out_refused(pieces.clone(), |carried| {
            builds.push(carried.len());
            match carried.iter().find(|e| e.validator == key(2).public_key()) {
                Some(_) => Err(refuse(2)),
                None => Ok(carried.len()),
            }
        })
        .unwrap();
        assert_eq!(builds, [3, 2]);
        assert_eq!(carried.built, 2);
        assert_eq!(carried.evidence, vec![piece(1, 5), piece(3, 5)]);
        assert_eq!(carried.refused, vec![key(2).public_key()]);
        // Every piece refused: the block is built with none.
        let carried = build_leaving_out_refused(pieces.clone(), |carried| match carried.first() {
            Some(e) => Err(ChainError::Slash { offender: Box::new(e.validator), outcome: "no".into() }),
            None => Ok(()),
        })
        .unwrap();
        assert!(carried.evidence.is_empty());
        assert_eq!(carried.refused.len(), 3);
        let stranger = build_leaving_out_refused(pieces.clone(), |_| Err::<(), _>(refuse(9)));
        assert!(matches!(stranger, Err(ChainError::Slash { .. })));
        let broken = build_leaving_out_refused(pieces, |_| {
            Err::<(), _>(ChainError::Hook { module: "m".into(), entry: "e".into(), outcome: "x".into() })
        });
        assert!(matches!(broken, Err(ChainError::Hook { .. })));
    }
}
