//! Keys and signatures: secp256k1 ECDSA over Keccak-256 (Ethereum's scheme), with domain
//! separation so a signature made for one chain, or for a message, is never valid as another thing.
//!
//! This crate holds no randomness: callers bring 32 secret bytes from their own RNG (node, CLI or
//! browser), which keeps it deterministic and `no_std`. Signing is RFC 6979 deterministic and
//! always low-S; verification rejects high-S signatures, so a signature has one encoding.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod hd;
pub mod keystore;

use k256::ecdsa::{RecoveryId, Signature as K256Signature, SigningKey, VerifyingKey};
use k256::elliptic_curve::PrimeField;
use k256::elliptic_curve::group::Group;
use k256::elliptic_curve::ops::{Invert, LinearCombination, Reduce};
use k256::elliptic_curve::point::AffineCoordinates;
use k256::{FieldBytes, ProjectivePoint, Scalar, U256};
use tao_types::{Address, Hash, keccak256};

/// Why a key or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// 32 bytes that are zero or not below the curve order.
    #[error("invalid secret key")]
    InvalidSecretKey,
    /// Bytes that are not a compressed point on secp256k1.
    #[error("invalid public key")]
    InvalidPublicKey,
    /// r or s is zero or not below the curve order, or the recovery id is not 0 or 1.
    #[error("malformed signature")]
    MalformedSignature,
    /// s is in the upper half of the order: the malleable twin of a valid signature.
    #[error("signature is malleable (high S)")]
    HighS,
    /// The signature does not verify for this key and message.
    #[error("signature does not match the key and message")]
    BadSignature,
    /// Not a valid BIP-39 English phrase (unknown word, wrong length or checksum).
    #[error("invalid mnemonic: {0}")]
    BadMnemonic(alloc::string::String),
    /// Not a derivation path like `m/44'/60'/0'/0/0`.
    #[error("invalid derivation path {0:?}")]
    BadPath(alloc::string::String),
}

/// Domain tags: the first bytes of every signed preimage, one per kind of thing signed.
const TX_DOMAIN: &[u8] = b"wasmtensor/tx/v1";
const MESSAGE_DOMAIN: &[u8] = b"wasmtensor/message/v1";

/// The chain a transaction is meant for. Both fields enter the signed hash, so a transaction for
/// one chain (or a fork with another genesis) does not verify on another.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct ChainDomain {
    /// Numeric chain id, also written inside each transaction.
    pub chain_id: u64,
    /// Hash of the genesis header.
    pub genesis_hash: Hash,
}

impl ChainDomain {
    /// The 32-byte hash signed for a transaction payload on this chain.
    pub fn signing_hash(&self, payload: &[u8]) -> [u8; 32] {
        let mut preimage = alloc::vec::Vec::with_capacity(TX_DOMAIN.len() + 40 + payload.len());
        preimage.extend_from_slice(TX_DOMAIN);
        preimage.extend_from_slice(&self.chain_id.to_le_bytes());
        preimage.extend_from_slice(&self.genesis_hash.0);
        preimage.extend_from_slice(payload);
        keccak256(&preimage)
    }
}

/// The hash signed for a free-form message (wallet "sign message"); never a valid transaction hash.
pub fn message_hash(message: &[u8]) -> [u8; 32] {
    let mut preimage = alloc::vec::Vec::with_capacity(MESSAGE_DOMAIN.len() + 8 + message.len());
    preimage.extend_from_slice(MESSAGE_DOMAIN);
    preimage.extend_from_slice(&(message.len() as u64).to_le_bytes());
    preimage.extend_from_slice(message);
    keccak256(&preimage)
}

/// A secp256k1 secret key. Not `Debug`, so it never lands in logs.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A key from 32 big-endian bytes (e.g. from an RNG or a keystore).
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, CryptoError> {
        SigningKey::from_slice(bytes).map(Self).map_err(|_| CryptoError::InvalidSecretKey)
    }

    /// The 32 secret bytes, for encrypted export.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes().into()
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(*self.0.verifying_key())
    }

    /// The account address of this key.
    pub fn address(&self) -> Address {
        self.public_key().address()
    }

    /// Signs a 32-byte hash (RFC 6979, low S).
    pub fn sign_hash(&self, hash: &[u8; 32]) -> Signature {
        // Signing a 32-byte prehash with a valid key cannot fail; k256 only errors on empty input.
        let (sig, recid) = self
            .0
            .sign_prehash_recoverable(hash)
            .unwrap_or_else(|_| unreachable!("32-byte prehash is always accepted"));
        let mut bytes = [0u8; 65];
        bytes[..64].copy_from_slice(&sig.to_bytes());
        bytes[64] = recid.to_byte();
        Signature(bytes)
    }

    /// Signs a free-form message under the message domain.
    pub fn sign_message(&self, message: &[u8]) -> Signature {
        self.sign_hash(&message_hash(message))
    }
}

/// A compressed secp256k1 public key (33 bytes, SEC1).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses a 33-byte compressed point. Only the `02`/`03` tags: SEC1's 33-byte "compact"
    /// form (`05`) names the same key with other bytes, which would give one signed transaction
    /// a second encoding and hash.
    pub fn from_compressed(bytes: &[u8; 33]) -> Result<Self, CryptoError> {
        if !matches!(bytes[0], 0x02 | 0x03) {
            return Err(CryptoError::InvalidPublicKey);
        }
        VerifyingKey::from_sec1_bytes(bytes).map(Self).map_err(|_| CryptoError::InvalidPublicKey)
    }

    /// The 33-byte compressed encoding.
    pub fn to_compressed(&self) -> [u8; 33] {
        let point = self.0.to_encoded_point(true);
        let mut out = [0u8; 33];
        out.copy_from_slice(point.as_bytes());
        out
    }

    /// The account address: last 20 bytes of Keccak-256 of the uncompressed x ‖ y.
    pub fn address(&self) -> Address {
        let point = self.0.to_encoded_point(false);
        let mut xy = [0u8; 64];
        xy.copy_from_slice(&point.as_bytes()[1..]);
        Address::from_public_key(&xy)
    }

    /// Checks `signature` over `hash` for this key; the recovery byte must also point at this key.
    ///
    /// One linear combination R = u1·G + u2·Q (u1 = z/s, u2 = r/s), not a verify and then a key
    /// recovery (which verifies again): accepted iff x(R) mod n = r and the recovery id names R
    /// exactly (y parity, and x-reduced iff x(R) ≥ n), so the 65th byte is not malleable and the
    /// answer is the one recovery would give. Only non-reduced ids are ever accepted ([`Signature`]).
    pub fn verify_hash(&self, hash: &[u8; 32], signature: &Signature) -> Result<(), CryptoError> {
        let (sig, recid) = signature.parts()?;
        let (r, s) = sig.split_scalars();
        let z = <Scalar as Reduce<U256>>::reduce_bytes(&FieldBytes::from(*hash));
        let s_inv = *s.invert_vartime();
        let point = ProjectivePoint::lincomb(
            &ProjectivePoint::GENERATOR,
            &(z * s_inv),
            &ProjectivePoint::from(*self.0.as_affine()),
            &(*r * s_inv),
        );
        if bool::from(point.is_identity()) {
            return Err(CryptoError::BadSignature);
        }
        let point = point.to_affine();
        let x = point.x();
        let x_reduced = Scalar::from_repr(x).is_none();
        let matches = <Scalar as Reduce<U256>>::reduce_bytes(&x) == *r
            && bool::from(point.y_is_odd()) == recid.is_y_odd()
            && bool::from(x_reduced) == recid.is_x_reduced();
        if matches { Ok(()) } else { Err(CryptoError::BadSignature) }
    }
}

impl core::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PublicKey(0x{})", hex::encode(self.to_compressed()))
    }
}

impl borsh::BorshSerialize for PublicKey {
    fn serialize<W: borsh::io::Write>(&self, writer: &mut W) -> borsh::io::Result<()> {
        writer.write_all(&self.to_compressed())
    }
}

impl borsh::BorshDeserialize for PublicKey {
    fn deserialize_reader<R: borsh::io::Read>(reader: &mut R) -> borsh::io::Result<Self> {
        let bytes = <[u8; 33]>::deserialize_reader(reader)?;
        Self::from_compressed(&bytes)
            .map_err(|_| borsh::io::Error::new(borsh::io::ErrorKind::InvalidData, "invalid public key"))
    }
}

/// A recoverable ECDSA signature: r ‖ s ‖ v (65 bytes, v ∈ {0, 1}).
#[derive(Clone, Copy, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct Signature(pub [u8; 65]);

impl Signature {
    /// Splits into a low-S k256 signature and recovery id, rejecting every other encoding.
    fn parts(&self) -> Result<(K256Signature, RecoveryId), CryptoError> {
        let sig = K256Signature::from_slice(&self.0[..64]).map_err(|_| CryptoError::MalformedSignature)?;
        if sig.normalize_s().is_some() {
            return Err(CryptoError::HighS);
        }
        let recid = RecoveryId::from_byte(self.0[64])
            .filter(|id| !id.is_x_reduced())
            .ok_or(CryptoError::MalformedSignature)?;
        Ok((sig, recid))
    }

    /// The public key that made this signature over `hash`.
    pub fn recover(&self, hash: &[u8; 32]) -> Result<PublicKey, CryptoError> {
        let (sig, recid) = self.parts()?;
        VerifyingKey::recover_from_prehash(hash, &sig, recid)
            .map(PublicKey)
            .map_err(|_| CryptoError::BadSignature)
    }

    /// The address that signed `message` under the message domain.
    pub fn recover_message_signer(&self, message: &[u8]) -> Result<Address, CryptoError> {
        self.recover(&message_hash(message)).map(|k| k.address())
    }

    /// The same signature with s replaced by n − s: valid maths, but refused here. For tests.
    pub fn malleated(&self) -> Signature {
        let mut out = *self;
        if let Ok(sig) = K256Signature::from_slice(&self.0[..64]) {
            let (r, s) = sig.split_scalars();
            if let Ok(flipped) = K256Signature::from_scalars(r, -*s) {
                out.0[..64].copy_from_slice(&flipped.to_bytes());
                out.0[64] ^= 1;
            }
        }
        out
    }
}

impl core::fmt::Debug for Signature {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Signature(0x{})", hex::encode(self.0))
    }
}

impl serde::Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&alloc::format!("0x{}", hex::encode(self.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_public_key_has_one_encoding() {
        let public = SecretKey::from_bytes(&[7; 32]).unwrap().public_key();
        let bytes = public.to_compressed();
        assert!(matches!(bytes[0], 0x02 | 0x03));
        for tag in [0x00, 0x04, 0x05, 0x06, 0xff] {
            let mut other = bytes;
            other[0] = tag;
            assert_eq!(
                PublicKey::from_compressed(&other),
                Err(CryptoError::InvalidPublicKey),
                "tag {tag:#04x}"
            );
        }
        assert_eq!(PublicKey::from_compressed(&bytes).unwrap(), public);
    }

    fn key(hex_str: &str) -> SecretKey {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_str, &mut bytes).unwrap();
        SecretKey::from_bytes(&bytes).unwrap()
    }

    #[test]
    fn known_ethereum_addresses() {
        // Secret key 1: the best known address on Ethereum.
        let one = key("0000000000000000000000000000000000000000000000000000000000000001");
        assert_eq!(one.address().to_string(), "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf");
        // Hardhat / Anvil dev account #0.
        let hardhat = key("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
        assert_eq!(hardhat.address().to_string(), "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    }

    #[test]
    fn invalid_secret_keys() {
        assert_eq!(SecretKey::from_bytes(&[0; 32]).err(), Some(CryptoError::InvalidSecretKey));
        assert_eq!(SecretKey::from_bytes(&[0xff; 32]).err(), Some(CryptoError::InvalidSecretKey));
    }

    #[test]
    fn high_s_is_rejected_with_its_own_error() {
        let k = key("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
        let hash = keccak256(b"hello");
        let sig = k.sign_hash(&hash);
        assert_eq!(k.public_key().verify_hash(&hash, &sig), Ok(()));
        let twin = sig.malleated();
        assert_ne!(twin, sig);
        assert_eq!(k.public_key().verify_hash(&hash, &twin), Err(CryptoError::HighS));
        assert_eq!(twin.recover(&hash).err(), Some(CryptoError::HighS));
    }

    /// The check `verify_hash` replaced: k256's verify, then recovery (which verifies again) and
    /// a comparison of keys. The reference the one-step check must agree with exactly.
    fn two_step(key: &PublicKey, hash: &[u8; 32], signature: &Signature) -> Result<(), CryptoError> {
        use k256::ecdsa::signature::hazmat::PrehashVerifier;
        let (sig, recid) = signature.parts()?;
        key.0.verify_prehash(hash, &sig).map_err(|_| CryptoError::BadSignature)?;
        let recovered =
            VerifyingKey::recover_from_prehash(hash, &sig, recid).map_err(|_| CryptoError::BadSignature)?;
        if recovered != key.0 {
            return Err(CryptoError::BadSignature);
        }
        Ok(())
    }

    /// secp256k1's group order n, big-endian.
    const ORDER: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xba,
        0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
    ];

    #[test]
    fn one_step_verification_accepts_only_the_exact_signature() {
        let k = key("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
        let pk = k.public_key();
        let hash = keccak256(b"transfer");
        let sig = k.sign_hash(&hash);
        assert_eq!(pk.verify_hash(&hash, &sig), Ok(()));
        let other = key("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d").public_key();
        assert_eq!(other.verify_hash(&hash, &sig), Err(CryptoError::BadSignature), "another key");
        assert_eq!(
            pk.verify_hash(&keccak256(b"other"), &sig),
            Err(CryptoError::BadSignature),
            "another hash"
        );
        // The recovery id: its y-parity bit names the other point with this x (another key);
        // an x-reduced id is refused outright (x(R) ≥ n has probability ~2⁻¹²⁸).
        let mut parity = sig;
        parity.0[64] ^= 1;
        assert_eq!(pk.verify_hash(&hash, &parity), Err(CryptoError::BadSignature), "y parity flipped");
        let mut reduced = sig;
        reduced.0[64] ^= 2;
        assert_eq!(
            pk.verify_hash(&hash, &reduced),
            Err(CryptoError::MalformedSignature),
            "x-reduced bit set"
        );
        assert_eq!(pk.verify_hash(&hash, &sig.malleated()), Err(CryptoError::HighS));
        // r or s zero, or not below n.
        for (at, value) in [(0, [0u8; 32]), (32, [0u8; 32]), (0, ORDER), (32, ORDER), (0, [0xff; 32])] {
            let mut bad = sig;
            bad.0[at..at + 32].copy_from_slice(&value);
            assert_eq!(
                pk.verify_hash(&hash, &bad),
                Err(CryptoError::MalformedSignature),
                "at {at}: {value:?}"
            );
        }
    }

    /// A deterministic generator for the agreement test (splitmix64).
    struct Seeded(u64);

    impl Seeded {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn bytes<const N: usize>(&mut self) -> [u8; N] {
            core::array::from_fn(|_| self.next() as u8)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// Over many random keys, messages and corruptions, the one-step check accepts and refuses
    /// exactly as verify-then-recover did, with the same error.
    #[test]
    fn one_step_verification_agrees_with_verify_then_recover() {
        let mut rng = Seeded(0x7a0de7);
        let mut accepted = 0;
        for case in 0..4096 {
            let Ok(k) = SecretKey::from_bytes(&rng.bytes()) else { continue };
            let mut pk = k.public_key();
            let mut hash: [u8; 32] = rng.bytes();
            let mut sig = k.sign_hash(&hash);
            match rng.below(11) {
                0..=2 => {}
                3 => {
                    let bit = rng.below(65 * 8) as usize;
                    sig.0[bit / 8] ^= 1 << (bit % 8);
                }
                4 => hash[rng.below(32) as usize] ^= 1 << rng.below(8),
                5 => pk = SecretKey::from_bytes(&rng.bytes()).map_or(pk, |o| o.public_key()),
                6 => sig = sig.malleated(),
                7 => sig.0[64] ^= 1 << rng.below(2),
                8 => sig.0[64] = rng.bytes::<1>()[0],
                9 => sig.0[..32].copy_from_slice(&rng.bytes::<32>()),
                _ => sig.0[32..64].copy_from_slice(&rng.bytes::<32>()),
            }
            let expected = two_step(&pk, &hash, &sig);
            assert_eq!(pk.verify_hash(&hash, &sig), expected, "case {case}: {sig:?} over {hash:?} by {pk:?}");
            accepted += usize::from(expected.is_ok());
        }
        assert!(accepted > 1000, "the cases exercise acceptance too ({accepted})");
    }

    #[test]
    fn domains_separate() {
        let d1 = ChainDomain { chain_id: 1, genesis_hash: Hash::ZERO };
        let d2 = ChainDomain { chain_id: 2, genesis_hash: Hash::ZERO };
        let d3 = ChainDomain { chain_id: 1, genesis_hash: Hash::of(b"other") };
        let h = d1.signing_hash(b"payload");
        assert_ne!(h, d2.signing_hash(b"payload"));
        assert_ne!(h, d3.signing_hash(b"payload"));
        assert_ne!(message_hash(b"payload"), h);
    }

    proptest! {
        #[test]
        fn sign_verify_recover(secret in any::<[u8; 32]>(), msg in proptest::collection::vec(any::<u8>(), 0..64)) {
            let Ok(k) = SecretKey::from_bytes(&secret) else { return Ok(()) };
            let sig = k.sign_message(&msg);
            prop_assert_eq!(sig.recover_message_signer(&msg), Ok(k.address()));
            let pk = k.public_key();
            prop_assert_eq!(PublicKey::from_compressed(&pk.to_compressed()), Ok(pk));
            prop_assert_eq!(tao_codec::decode::<PublicKey>(&tao_codec::encode(&pk), 33), Ok(pk));
            let mut other = msg.clone();
            other.push(1);
            prop_assert_ne!(sig.recover_message_signer(&other).ok(), Some(k.address()));
        }

        #[test]
        fn random_signatures_never_panic(bytes in any::<[u8; 32]>(), tail in any::<[u8; 33]>(), hash in any::<[u8; 32]>()) {
            let mut raw = [0u8; 65];
            raw[..32].copy_from_slice(&bytes);
            raw[32..].copy_from_slice(&tail);
            let _ = Signature(raw).recover(&hash);
            let _ = PublicKey::from_compressed(&tail);
        }
    }
}
