//! Authenticated state: every key→value pair of the chain lives in a Jellyfish Merkle tree whose
//! 32-byte root goes into each block header. A [`StateProof`] shows that a key has a given value,
//! or has none, under a root; [`verify`] checks it with nothing but the root, so the browser wallet
//! needs no trust in the node that served it.
//!
//! Keys are hashed with Keccak-256 into the tree's 256-bit key space. The jmt version is pinned
//! exactly: its hashing domain separators are part of consensus.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

#[cfg(feature = "prove")]
mod memory;

#[cfg(feature = "prove")]
pub use memory::{MemoryTree, StateError, prove, root_at, update};

use jmt::proof::SparseMerkleProof;
use jmt::{KeyHash, RootHash};
use tao_codec::DecodeError;
use tao_types::Hash;

/// The tree's hash function.
pub type Hasher = sha3::Keccak256;

/// Largest encoded proof accepted: an optional 64-byte leaf and up to 256 siblings of at most 65
/// bytes (a tag and two child hashes), with their length prefix.
pub const MAX_PROOF_BYTES: usize = 1 + 64 + 4 + 256 * 65;

/// The position of `key` in the tree.
pub fn key_hash(key: &[u8]) -> KeyHash {
    KeyHash::with::<Hasher>(key)
}

/// Root of the tree that holds nothing.
pub fn empty_root() -> Hash {
    // jmt's placeholder for an empty subtree is the root of an empty tree.
    Hash(*b"SPARSE_MERKLE_PLACEHOLDER_HASH__")
}

/// Proof that a key has a value, or has none, under a state root.
#[derive(Debug, Clone, PartialEq)]
pub struct StateProof(pub(crate) SparseMerkleProof<Hasher>);

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The proof bytes do not decode.
    #[error("malformed proof: {0}")]
    Malformed(DecodeError),
    /// The proof does not show this key with this value (or absence) under this root.
    #[error("proof does not match the root")]
    Mismatch,
}

impl StateProof {
    /// The canonical bytes served over RPC.
    pub fn encode(&self) -> alloc::vec::Vec<u8> {
        tao_codec::encode(&self.0)
    }

    /// Decodes proof bytes from an untrusted source.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProofError> {
        tao_codec::decode(bytes, MAX_PROOF_BYTES).map(Self).map_err(ProofError::Malformed)
    }
}

/// Checks that under `root`, `key` holds `value` (`Some`) or is absent (`None`).
pub fn verify(root: &Hash, key: &[u8], value: Option<&[u8]>, proof: &StateProof) -> Result<(), ProofError> {
    proof.0.verify(RootHash(root.0), key_hash(key), value).map_err(|_| ProofError::Mismatch)
}

#[cfg(test)]
mod tests;
