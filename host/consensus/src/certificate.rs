//! Malachite's commit certificate ⇄ our `tao_light::Certificate`. Both name the same
//! precommits (ours by index in the set, the engine's by address); the signatures are the same
//! bytes, over `tao_light::vote_hash`, so the conversion copies them and checks nothing but the
//! mapping: whether they carry the authority is the light client's (or the engine's) check.

use malachitebft_core_types::{CommitCertificate, ExtendedCommitCertificate, ExtendedCommitSignature, Round};
use tao_light::Certificate;

use crate::context::{BlockHash, Height, TaoContext, ValidatorSet, VoteSignature};

/// Why a commit certificate does not convert.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// A signer is not in the height's validator set.
    #[error("commit signer {0} is not in the validator set")]
    UnknownSigner(tao_types::Address),
    /// A signer appears twice.
    #[error("commit signer {0} signed twice")]
    Repeated(tao_types::Address),
    /// An index is outside the validator set.
    #[error("certificate signer index {0} is outside the validator set")]
    BadIndex(u32),
    /// The decision was in the nil round (the engine never decides there).
    #[error("a commit certificate in the nil round")]
    NilRound,
}

/// Our certificate for a header the engine decided, with signatures in the set's order.
pub fn to_certificate(
    decided: &CommitCertificate<TaoContext>,
    set: &ValidatorSet,
) -> Result<Certificate, ConvertError> {
    let round = decided.round.as_u32().ok_or(ConvertError::NilRound)?;
    let mut signatures = Vec::with_capacity(decided.commit_signatures.len());
    for commit in &decided.commit_signatures {
        let index = set.index_of(&commit.address).ok_or(ConvertError::UnknownSigner(commit.address.0))?;
        let index = u32::try_from(index).map_err(|_| ConvertError::UnknownSigner(commit.address.0))?;
        signatures.push((index, commit.signature.0));
    }
    signatures.sort_by_key(|(index, _)| *index);
    if let Some(pair) = signatures.windows(2).find(|w| w[0].0 == w[1].0) {
        let address = set.validators()[pair[0].0 as usize].address.0;
        return Err(ConvertError::Repeated(address));
    }
    Ok(Certificate { header: decided.value_id.0, height: decided.height.0, round, signatures })
}

/// The engine's certificate for a stored block (what sync serves): the same signatures, named
/// by address.
pub fn from_certificate(
    certificate: &Certificate,
    set: &ValidatorSet,
) -> Result<ExtendedCommitCertificate<TaoContext>, ConvertError> {
    let mut commit_signatures = Vec::with_capacity(certificate.signatures.len());
    for (index, signature) in &certificate.signatures {
        let validator = usize::try_from(*index)
            .ok()
            .and_then(|i| set.validators().get(i))
            .ok_or(ConvertError::BadIndex(*index))?;
        commit_signatures.push(ExtendedCommitSignature::new(
            validator.address,
            VoteSignature(*signature),
            None,
        ));
    }
    commit_signatures.sort_by_key(|s| s.address);
    Ok(ExtendedCommitCertificate {
        height: Height(certificate.height),
        round: Round::new(certificate.round),
        value_id: BlockHash(certificate.header),
        commit_signatures,
    })
}
