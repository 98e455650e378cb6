//! Blocks as a light client sees them — headers, receipts, finality certificates — and the rules
//! for believing a header and the values it proves, with no I/O. The node builds these types;
//! the CLI and the browser wallet follow the chain with [`LightClient`].
//!
//! Over it, what every client that follows a node shares (the wallet, `tao light`, the JS
//! package), so each checks exactly the same:
//! - [`chain`]: follow certified headers from a pinned genesis, keep recent state roots.
//! - [`fresh`]: the newest head kept across restarts, stale heads, known checkpoints.
//! - [`rpc`]: the JSON-RPC messages, parsed as untrusted input.

mod block;
pub mod chain;
mod evidence;
pub mod fresh;
pub mod keys;
mod merkle;
pub mod rpc;

pub use block::{
    Block, Certificate, CertificateError, Header, MAX_BLOCK_TXS, MAX_CERTIFICATE_BYTES, MAX_HEADER_BYTES,
    MAX_RECEIPT_BYTES, MAX_VALIDATORS, Receipt, TxOutcome, Validator, validators_hash,
};
pub use chain::{Chain, Proven, VerifyError};
pub use evidence::{
    Equivocation, EvidenceError, MAX_BLOCK_EVIDENCE, MAX_EVIDENCE_AGE, SignedVote, VoteKind, evidence_root,
    signed_digest, vote_digest, vote_hash,
};
pub use merkle::merkle_root;
use tao_crypto::ChainDomain;
use tao_state::StateProof;
use tao_types::Hash;

/// Why a header or a value is not believed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LightError {
    /// The genesis header offered is not the one pinned.
    #[error("the genesis header hashes to {got}, not the pinned genesis {pinned}: another chain")]
    GenesisMismatch {
        /// Genesis hash trusted.
        pinned: Hash,
        /// Hash of the header offered.
        got: Hash,
    },
    /// The pinned header is not a genesis (height 0, no parent).
    #[error("the pinned header #{0} is not a genesis header")]
    NotGenesis(u64),
    /// The header names another chain.
    #[error("header {height} is of chain {got}, not chain {expected}")]
    WrongChain {
        /// Offered height.
        height: u64,
        /// The pinned genesis's chain id.
        expected: u64,
        /// The header's.
        got: u64,
    },
    /// Its time is not after the trusted head's.
    #[error("header {height} is timed {got} ms, not after the trusted head's {head} ms")]
    TimeWentBack {
        /// Offered height.
        height: u64,
        /// The trusted head's time.
        head: u64,
        /// The header's.
        got: u64,
    },
    /// The checkpoint's validator set is not the one its header commits to.
    #[error("the validator set does not hash to the checkpoint's validators_hash")]
    CheckpointMismatch,
    /// The header offered as checkpoint is not the one trusted.
    #[error("header {height} hashes to {got}, not the checkpoint {pinned}")]
    HeaderMismatch {
        /// Its height.
        height: u64,
        /// The checkpoint hash trusted.
        pinned: Hash,
        /// Hash of the header offered.
        got: Hash,
    },
    /// A validator set offered as the one a header names for what follows is another.
    #[error("the validator set offered is not the one header {height} names for the blocks after it")]
    SetMismatch {
        /// The naming header's height.
        height: u64,
    },
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
    #[error("header {height}: its certificate: {error}")]
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

/// What a light client believes: the chain (its genesis hash and id), the newest header it
/// accepted and the validators who sign the headers after it.
#[derive(Debug, Clone)]
pub struct LightClient {
    domain: ChainDomain,
    head: Header,
    validators: Vec<Validator>,
}

impl LightClient {
    /// Trusts `genesis` if it hashes to `pinned` (the genesis hash the user checked) and
    /// `validators` are the set it commits to. The chain id is the genesis header's, never a
    /// node's word.
    pub fn new(pinned: Hash, genesis: Header, validators: Vec<Validator>) -> Result<Self, LightError> {
        let got = genesis.hash();
        if got != pinned {
            return Err(LightError::GenesisMismatch { pinned, got });
        }
        if genesis.height != 0 || genesis.parent != Hash::default() {
            return Err(LightError::NotGenesis(genesis.height));
        }
        if validators_hash(&validators) != genesis.validators_hash {
            return Err(LightError::CheckpointMismatch);
        }
        let domain = ChainDomain { chain_id: genesis.chain_id, genesis_hash: pinned };
        Ok(LightClient { domain, head: genesis, validators })
    }

    /// Trusts a recent `header` if it hashes to `checkpoint` (a certified header the user got
    /// from a source they trust, instead of walking from genesis), `certificate` carries more
    /// than two thirds of `signers` — the set its `validators_hash` commits to — over the
    /// domain of its chain id and `genesis_hash` (so the genesis a node announces is bound by
    /// those signatures, not by its word), and `next` is the set it names for what follows.
    pub fn from_header(
        checkpoint: Hash,
        genesis_hash: Hash,
        header: Header,
        certificate: &Certificate,
        signers: &[Validator],
        next: Vec<Validator>,
    ) -> Result<Self, LightError> {
        let (height, got) = (header.height, header.hash());
        if got != checkpoint {
            return Err(LightError::HeaderMismatch { height, pinned: checkpoint, got });
        }
        if validators_hash(signers) != header.validators_hash {
            return Err(LightError::CheckpointMismatch);
        }
        let domain = ChainDomain { chain_id: header.chain_id, genesis_hash };
        certificate
            .verify(&domain, &header, signers)
            .map_err(|error| LightError::Certificate { height, error })?;
        let mut client = LightClient { domain, head: header, validators: Vec::new() };
        client.adopt_next_set(next)?;
        Ok(client)
    }

    /// The chain followed: the pinned genesis hash and the chain id its header commits.
    pub fn domain(&self) -> &ChainDomain {
        &self.domain
    }

    /// The newest header believed.
    pub fn head(&self) -> &Header {
        &self.head
    }

    /// The validator set that signs the headers after the head (when the head names it).
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// Whether the head names a validator set for the blocks after it that this client does
    /// not hold yet (a set change): [`LightClient::adopt_next_set`] must come first.
    pub fn needs_next_set(&self) -> bool {
        validators_hash(&self.validators) != self.head.next_validators_hash
    }

    /// Takes `validators` as the set that signs the headers after the head, if it is the one
    /// the head names (its hash is the only authority: any node may serve the list).
    pub fn adopt_next_set(&mut self, validators: Vec<Validator>) -> Result<(), LightError> {
        if validators_hash(&validators) != self.head.next_validators_hash {
            return Err(LightError::SetMismatch { height: self.head.height });
        }
        self.validators = validators;
        Ok(())
    }

    /// Believes `header` if it is of this chain, comes after the trusted head in height and
    /// time (as its child, or later while the validator set stays the one the trusted head
    /// named for what follows) and `certificate` carries more than two thirds of that set's
    /// votes for it on this chain.
    pub fn accept(&mut self, header: Header, certificate: &Certificate) -> Result<(), LightError> {
        self.check_succession(&header)?;
        let height = header.height;
        let named = self.head.next_validators_hash;
        if header.validators_hash != named || named != validators_hash(&self.validators) {
            return Err(LightError::ValidatorSetChanged { height });
        }
        certificate
            .verify(&self.domain, &header, &self.validators)
            .map_err(|error| LightError::Certificate { height, error })?;
        self.head = header;
        Ok(())
    }

    /// The checks that need no signature: same chain, later height and time, and the trusted
    /// head's child when at the next height.
    fn check_succession(&self, header: &Header) -> Result<(), LightError> {
        let (height, head) = (header.height, &self.head);
        if header.chain_id != self.domain.chain_id {
            return Err(LightError::WrongChain {
                height,
                expected: self.domain.chain_id,
                got: header.chain_id,
            });
        }
        if height <= head.height {
            return Err(LightError::NotNewer { head: head.height, got: height });
        }
        if header.time_ms <= head.time_ms {
            return Err(LightError::TimeWentBack { height, head: head.time_ms, got: header.time_ms });
        }
        if height == head.height + 1 && header.parent != head.hash() {
            return Err(LightError::NotChild { height });
        }
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
