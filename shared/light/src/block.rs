//! Headers, blocks, receipts and finality certificates, with their canonical hashes.

use borsh::{BorshDeserialize, BorshSerialize};
use tao_crypto::{ChainDomain, PublicKey, SecretKey, Signature};
use tao_tx::SignedTransaction;
use tao_types::{Address, Hash, keccak256};

use crate::vote_hash;

/// A block header: everything a light client needs to follow the chain and check proofs.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Header {
    /// The chain's id (also in every transaction): a header names the chain it belongs to.
    pub chain_id: u64,
    /// Hash of the previous header (zero for genesis).
    pub parent: Hash,
    /// Height; genesis is 0.
    pub height: u64,
    /// Unix milliseconds chosen by the proposer, strictly after the parent's.
    pub time_ms: u64,
    /// Root of the state after this block.
    pub state_root: Hash,
    /// [`merkle_root`](crate::merkle_root) of the transaction hashes.
    pub txs_root: Hash,
    /// [`merkle_root`](crate::merkle_root) of the receipt hashes.
    pub receipts_root: Hash,
    /// [`evidence_root`](crate::evidence_root) of the equivocation evidence it carries.
    pub evidence_root: Hash,
    /// Hash of the validator set that signs this block.
    pub validators_hash: Hash,
    /// Hash of the validator set that signs the next block.
    pub next_validators_hash: Hash,
    /// Who proposed it.
    pub proposer: Address,
}

/// Encoded size of every header: seven hashes, three `u64`s and an address, no collections.
pub const MAX_HEADER_BYTES: usize = 7 * 32 + 3 * 8 + 20;

impl Header {
    /// Keccak-256 of the borsh encoding: the block's identity.
    pub fn hash(&self) -> Hash {
        Hash(keccak256(&borsh::to_vec(self).unwrap_or_default()))
    }
}

/// Most transactions in one block (so also most receipts).
pub const MAX_BLOCK_TXS: usize = 4096;

/// A header, its transactions and the equivocation evidence it slashes for.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// Transactions in execution order.
    pub txs: Vec<SignedTransaction>,
    /// Evidence of validators' equivocation, at most [`MAX_BLOCK_EVIDENCE`](crate::MAX_BLOCK_EVIDENCE),
    /// one per validator, in the order of their keys.
    pub evidence: Vec<crate::Equivocation>,
}

/// How a transaction ended.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, serde::Serialize)]
pub enum TxOutcome {
    /// Its writes are in the state.
    Ok,
    /// Refused or failed; its writes were discarded but the fee was charged.
    Failed(String),
}

/// What one transaction did: recorded on chain, its hash in the header.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Receipt {
    /// The transaction's hash.
    pub tx: Hash,
    /// Its outcome.
    pub outcome: TxOutcome,
    /// Rao charged as fee.
    pub fee: u64,
    /// Gas used by the call.
    pub gas_used: u64,
    /// Events, in order.
    pub events: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Most bytes of an encoded receipt. Its events are one call's, within the ABI's limits; a
/// failure reason quotes at most the transaction's own bytes (a refused module's names) and the
/// VM's wording; the rest is a hash and numbers.
pub const MAX_RECEIPT_BYTES: usize = MAX_EVENTS_BYTES + tao_tx::MAX_TX_BYTES + 1024;

/// The largest event list one call can emit, encoded.
const MAX_EVENTS_BYTES: usize = {
    use tao_abi::limits::{MAX_EVENT_DATA_BYTES, MAX_EVENTS, MAX_TOPIC_BYTES};
    4 + MAX_EVENTS as usize * (4 + MAX_TOPIC_BYTES as usize + 4 + MAX_EVENT_DATA_BYTES as usize)
};

impl Receipt {
    /// Keccak-256 of the borsh encoding.
    pub fn hash(&self) -> Hash {
        Hash(keccak256(&borsh::to_vec(self).unwrap_or_default()))
    }
}

/// A validator: its key and voting power.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Validator {
    /// Its public key.
    pub key: PublicKey,
    /// Voting power.
    pub power: u64,
}

/// Most validators in a set. A certificate names each signer at most once, so this also bounds
/// its size.
pub const MAX_VALIDATORS: usize = 1024;

/// Hash of a validator set, as committed in headers.
pub fn validators_hash(validators: &[Validator]) -> Hash {
    Hash(keccak256(&borsh::to_vec(validators).unwrap_or_default()))
}

/// Validators' votes for a header of one chain: the block is final once they hold more than two
/// thirds of the power of the set committed in its `validators_hash`.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Certificate {
    /// The header signed.
    pub header: Hash,
    /// Its height, part of each vote.
    pub height: u64,
    /// The voting round that finalized it (0 for the single dev authority).
    pub round: u32,
    /// Index into the validator set and signature over [`vote_hash`].
    pub signatures: Vec<(u32, Signature)>,
}

/// Most bytes of an encoded certificate: the header hash, height, round and one (index, 65-byte
/// signature) pair per validator.
pub const MAX_CERTIFICATE_BYTES: usize = 32 + 8 + 4 + 4 + MAX_VALIDATORS * (4 + 65);

/// Why a certificate does not finalize a header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// It signs another header.
    #[error("certificate is for another header")]
    WrongHeader,
    /// It votes at another height than the header's.
    #[error("certificate votes at height {got}, the header is at {header}")]
    WrongHeight {
        /// The header's height.
        header: u64,
        /// The certificate's.
        got: u64,
    },
    /// The header names another chain than the one verified against.
    #[error("header of chain {got}, expected chain {expected}")]
    WrongChain {
        /// This chain's id.
        expected: u64,
        /// The header's.
        got: u64,
    },
    /// The validator set given is not the header's.
    #[error("validator set does not match the header")]
    WrongValidators,
    /// An index is outside the set or repeated.
    #[error("signer {0} is not in the set or signed twice")]
    BadSigner(u32),
    /// A signature does not verify.
    #[error("signature of validator {0} is invalid")]
    BadSignature(u32),
    /// The signers hold two thirds of the power or less.
    #[error("signers hold {signed} of {total} power; more than two thirds is needed")]
    NotEnoughPower {
        /// Power that signed.
        signed: u128,
        /// Total power.
        total: u128,
    },
}

impl Certificate {
    /// A certificate of round `round` signed by `keys` (validator index, key) over `header` of
    /// the chain `domain`.
    pub fn sign(
        domain: &ChainDomain,
        header: &Header,
        round: u32,
        keys: &[(u32, &SecretKey)],
    ) -> Certificate {
        let hash = header.hash();
        let vote = vote_hash(domain, header.height, round, &hash);
        Certificate {
            header: hash,
            height: header.height,
            round,
            signatures: keys.iter().map(|(i, k)| (*i, k.sign_hash(&vote))).collect(),
        }
    }

    /// Checks that this certificate finalizes `header` of the chain `domain` under `validators`.
    pub fn verify(
        &self,
        domain: &ChainDomain,
        header: &Header,
        validators: &[Validator],
    ) -> Result<(), CertificateError> {
        if header.chain_id != domain.chain_id {
            return Err(CertificateError::WrongChain { expected: domain.chain_id, got: header.chain_id });
        }
        if self.header != header.hash() {
            return Err(CertificateError::WrongHeader);
        }
        if self.height != header.height {
            return Err(CertificateError::WrongHeight { header: header.height, got: self.height });
        }
        if validators_hash(validators) != header.validators_hash {
            return Err(CertificateError::WrongValidators);
        }
        let vote = vote_hash(domain, self.height, self.round, &self.header);
        let mut seen = vec![false; validators.len()];
        let mut signed = 0u128;
        for (index, signature) in &self.signatures {
            let slot = usize::try_from(*index).ok().filter(|i| *i < validators.len() && !seen[*i]);
            let i = slot.ok_or(CertificateError::BadSigner(*index))?;
            seen[i] = true;
            validators[i]
                .key
                .verify_hash(&vote, signature)
                .map_err(|_| CertificateError::BadSignature(*index))?;
            signed += u128::from(validators[i].power);
        }
        let total: u128 = validators.iter().map(|v| u128::from(v.power)).sum();
        if signed * 3 <= total * 2 {
            return Err(CertificateError::NotEnoughPower { signed, total });
        }
        Ok(())
    }
}
