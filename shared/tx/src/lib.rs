//! Transactions and their signed envelope.
//!
//! A [`Transaction`] names its chain, sender, nonce, fee limit and one [`Call`]. The sender signs
//! the canonical encoding under the chain's [`ChainDomain`]; the envelope carries the signer's
//! public key, so each way a transaction can be wrong gets its own [`TxError`]. The only way from
//! untrusted bytes to a transaction the node may execute is [`decode_and_verify`].
#![cfg_attr(not(test), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use tao_codec::{BoundedBytes, DecodeError};
use tao_crypto::{ChainDomain, CryptoError, PublicKey, SecretKey, Signature};
use tao_types::{Address, Balance, Hash};

pub use tao_crypto;

/// Largest encoded signed transaction the node accepts.
pub const MAX_TX_BYTES: usize = 128 * 1024;
/// Largest argument payload of one call.
pub const MAX_ARGS_BYTES: u32 = 120 * 1024;
/// Longest method name.
pub const MAX_METHOD_BYTES: u32 = 64;

/// The `contract` a transaction names to deploy its arguments as new code (method `deploy`).
/// No code hashes to all zeros.
pub const DEPLOY: Hash = Hash([0; 32]);

/// One invocation of a contract method.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Call {
    /// The contract: the code hash of a deployed module, or the id of a system contract.
    pub contract: Hash,
    /// The entry point's name (ASCII).
    pub method: BoundedBytes<MAX_METHOD_BYTES>,
    /// Canonically encoded arguments, decoded by the contract itself.
    pub args: BoundedBytes<MAX_ARGS_BYTES>,
}

/// What an account asks the chain to do.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Transaction {
    /// Must equal the executing chain's id.
    pub chain_id: u64,
    /// The paying account; must be the address of the signing key.
    pub sender: Address,
    /// The sender's next nonce; each nonce is usable once.
    pub nonce: u64,
    /// The most this transaction may cost in fees.
    pub fee_limit: Balance,
    /// The call to execute.
    pub call: Call,
}

/// A transaction with its signer's key and signature, as sent over the wire.
#[derive(Debug, Clone, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct SignedTransaction {
    /// The signed content.
    pub tx: Transaction,
    /// The key that signed; its address must be `tx.sender`.
    pub signer: PublicKey,
    /// Signature over the chain domain's hash of the encoded `tx`.
    pub signature: Signature,
}

/// Why bytes are not an executable transaction for this chain. One variant per failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// Larger than [`MAX_TX_BYTES`], refused before decoding.
    #[error("transaction is {len} bytes, limit is {limit}")]
    Oversized {
        /// Encoded length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Not a canonical encoding of a signed transaction.
    #[error("malformed transaction: {0}")]
    Malformed(DecodeError),
    /// Signed for another chain id.
    #[error("transaction is for chain {got}, this is chain {expected}")]
    WrongChainId {
        /// This chain's id.
        expected: u64,
        /// The id in the transaction.
        got: u64,
    },
    /// The malleable (high-S) form of a signature.
    #[error("signature is malleable (high S)")]
    MalleableSignature,
    /// The signature bytes are not a valid signature at all.
    #[error("signature is malformed")]
    MalformedSignature,
    /// The signing key does not belong to the sender: someone else signed.
    #[error("signed by {signer}, but the sender is {sender}")]
    WrongKey {
        /// The claimed sender.
        sender: Address,
        /// The address of the key that signed.
        signer: Address,
    },
    /// The signature does not cover this content: the payload was altered after signing, or it
    /// was signed for another genesis.
    #[error("signature does not match the transaction")]
    BadSignature,
}

impl From<DecodeError> for TxError {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::TooLarge { len, limit } => TxError::Oversized { len, limit },
            other => TxError::Malformed(other),
        }
    }
}

impl Transaction {
    /// The canonical bytes that are signed (before domain separation).
    pub fn signing_payload(&self) -> Vec<u8> {
        tao_codec::encode(self)
    }

    /// Signs this transaction for `domain` with `key`.
    pub fn sign(self, domain: &ChainDomain, key: &SecretKey) -> SignedTransaction {
        let signature = key.sign_hash(&domain.signing_hash(&self.signing_payload()));
        SignedTransaction { tx: self, signer: key.public_key(), signature }
    }
}

impl SignedTransaction {
    /// The canonical wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        tao_codec::encode(self)
    }

    /// The transaction hash: Keccak-256 of the wire bytes (signature included, which is
    /// unambiguous because only low-S signatures are accepted).
    pub fn hash(&self) -> Hash {
        Hash::of(&self.encode())
    }
}

/// A transaction decoded from wire bytes, its chain and signature not yet checked: enough to
/// look its hash up (a node answers a duplicate without verifying it again) before the one
/// expensive step, [`DecodedTransaction::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedTransaction {
    signed: SignedTransaction,
    hash: Hash,
    size: usize,
}

impl DecodedTransaction {
    /// The envelope as sent.
    pub fn signed(&self) -> &SignedTransaction {
        &self.signed
    }

    /// Its hash: of the bytes it was decoded from.
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// Checks the chain id and the signature against `domain`.
    pub fn verify(self, domain: &ChainDomain) -> Result<VerifiedTransaction, TxError> {
        verify(&self.signed, domain)?;
        Ok(VerifiedTransaction { signed: self.signed, hash: self.hash, size: self.size })
    }
}

/// A transaction whose encoding, chain and signature have been checked. Its fields are private
/// so that only [`DecodedTransaction::verify`] makes one: holding it is the proof of the check
/// (a proposer's block building trusts it and does not verify again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTransaction {
    signed: SignedTransaction,
    hash: Hash,
    size: usize,
}

impl VerifiedTransaction {
    /// The checked envelope.
    pub fn signed(&self) -> &SignedTransaction {
        &self.signed
    }

    /// Its hash: of the bytes it was decoded from.
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// Its encoded size in bytes (what fees and the mempool's bounds count), known from the
    /// bytes it was decoded from without encoding it again.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The checked envelope, by value.
    pub fn into_signed(self) -> SignedTransaction {
        self.signed
    }
}

/// Decodes wire bytes (size, then canonical encoding) without checking the signature.
pub fn decode(bytes: &[u8]) -> Result<DecodedTransaction, TxError> {
    let signed: SignedTransaction = tao_codec::decode(bytes, MAX_TX_BYTES)?;
    Ok(DecodedTransaction { hash: Hash::of(bytes), signed, size: bytes.len() })
}

/// Decodes wire bytes and checks them against `domain`, in this order: size, encoding, chain id,
/// signature form, signer key, signature.
pub fn decode_and_verify(bytes: &[u8], domain: &ChainDomain) -> Result<VerifiedTransaction, TxError> {
    decode(bytes)?.verify(domain)
}

/// Checks an already decoded envelope against `domain`.
pub fn verify(signed: &SignedTransaction, domain: &ChainDomain) -> Result<(), TxError> {
    let tx = &signed.tx;
    if tx.chain_id != domain.chain_id {
        return Err(TxError::WrongChainId { expected: domain.chain_id, got: tx.chain_id });
    }
    let signer = signed.signer.address();
    let hash = domain.signing_hash(&tx.signing_payload());
    match signed.signer.verify_hash(&hash, &signed.signature) {
        Err(CryptoError::HighS) => return Err(TxError::MalleableSignature),
        Err(CryptoError::MalformedSignature) => return Err(TxError::MalformedSignature),
        _ if signer != tx.sender => return Err(TxError::WrongKey { sender: tx.sender, signer }),
        Err(_) => return Err(TxError::BadSignature),
        Ok(()) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests;
