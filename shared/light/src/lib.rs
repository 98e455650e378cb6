//! Blocks as a light client sees them — headers, receipts, finality certificates — and the rules
//! for believing a header and the values it proves, with no I/O. The node builds these types;
//! the CLI and the browser wallet follow the chain with [`LightClient`].

mod block;
pub mod keys;
mod merkle;

pub use block::{
    Block, Certificate, CertificateError, Header, MAX_BLOCK_TXS, MAX_CERTIFICATE_BYTES, MAX_HEADER_BYTES,
    MAX_RECEIPT_BYTES, MAX_VALIDATORS, Receipt, TxOutcome, Validator, validators_hash,
};
pub use merkle::merkle_root;
use tao_state::StateProof;

/// Why a header or a value is not believed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LightError {
    /// The checkpoint's validator set is not the one its header commits to.
    #[error("the validator set does not hash to the checkpoint's validators_hash")]
    CheckpointMismatch,
    /// Not after the trusted head.
    #[error("header {got} is not after the trusted head {head}")]
    NotNewer {
        /// Trusted height.
        head: u64,
        /// Offered height.
        got: u64,
    },
    /// The next height, but not the trusted head's child.
    #[error("header {height} does not extend the trusted head")]
    NotChild {
        /// Offered height.
        height: u64,
    },
    /// Signed by a validator set the trusted head did not name (a set change needs the new set).
    #[error("header {height} is signed by a validator set the trusted head did not name")]
    ValidatorSetChanged {
        /// Offered height.
        height: u64,
    },
    /// Its certificate does not carry the trusted set's authority.
    #[error("header {height}: {error}")]
    Certificate {
        /// Offered height.
        height: u64,
        /// Why.
        error: CertificateError,
    },
    /// A value's proof does not match the trusted state root.
    #[error("the value's proof does not match the state root of header {height}")]
    BadProof {
        /// Height whose root was used.
        height: u64,
    },
}

/// What a light client believes: the newest header it accepted and the validators who sign
/// the headers after it.
#[derive(Debug, Clone)]
pub struct LightClient {
    head: Header,
    validators: Vec<Validator>,
}

impl LightClient {
    /// Trusts `checkpoint` (typically the genesis header, whose hash the user checks) and
    /// `validators`, which must be the set the checkpoint commits to.
    pub fn new(checkpoint: Header, validators: Vec<Validator>) -> Result<Self, LightError> {
        if validators_hash(&validators) != checkpoint.validators_hash {
            return Err(LightError::CheckpointMismatch);
        }
        Ok(LightClient { head: checkpoint, validators })
    }

    /// The newest header believed.
    pub fn head(&self) -> &Header {
        &self.head
    }

    /// Believes `header` if it comes after the trusted head (as its child, or later while the
    /// validator set stays the one the trusted head named for what follows) and `certificate`
    /// carries more than two thirds of that set's power.
    pub fn accept(&mut self, header: Header, certificate: &Certificate) -> Result<(), LightError> {
        let height = header.height;
        if height <= self.head.height {
            return Err(LightError::NotNewer { head: self.head.height, got: height });
        }
        if height == self.head.height + 1 && header.parent != self.head.hash() {
            return Err(LightError::NotChild { height });
        }
        let named = self.head.next_validators_hash;
        if header.validators_hash != named || named != validators_hash(&self.validators) {
            return Err(LightError::ValidatorSetChanged { height });
        }
        certificate
            .verify(&header, &self.validators)
            .map_err(|error| LightError::Certificate { height, error })?;
        self.head = header;
        Ok(())
    }

    /// Checks that the trusted head's state holds `value` under `key` (`None`: nothing).
    pub fn verify(&self, key: &[u8], value: Option<&[u8]>, proof: &StateProof) -> Result<(), LightError> {
        tao_state::verify(&self.head.state_root, key, value, proof)
            .map_err(|_| LightError::BadProof { height: self.head.height })
    }
}

#[cfg(test)]
mod tests;
