//! Mnemonics (BIP-39) and hierarchical key derivation (BIP-32) for secp256k1, the way Ethereum
//! wallets do it: a phrase restored here at [`DEFAULT_PATH`] gives the same key and address as
//! MetaMask's first account.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use hmac::{Hmac, Mac};
use k256::elliptic_curve::PrimeField;
use k256::{FieldBytes, Scalar};
use sha2::Sha512;

use crate::{CryptoError, SecretKey};

/// MetaMask's (and BIP-44's Ethereum) path of the first account.
pub const DEFAULT_PATH: &str = "m/44'/60'/0'/0/0";
/// Children at or above this index are hardened.
const HARDENED: u32 = 1 << 31;

/// A new 12-word English phrase from 16 bytes of entropy (the caller draws them from the OS).
pub fn mnemonic_from_entropy(entropy: &[u8; 16]) -> String {
    // 16 bytes is a valid BIP-39 entropy length, so this cannot fail.
    bip39::Mnemonic::from_entropy(entropy).map(|m| m.to_string()).unwrap_or_default()
}

/// The key at `path` of the wallet `phrase` (with the optional BIP-39 `passphrase`) restores.
/// English words and the passphrase are ASCII, so they are already in the NFKD form BIP-39
/// hashes; anything else is refused rather than normalized (which would carry Unicode's tables
/// into the browser bundle).
pub fn secret_from_mnemonic(phrase: &str, passphrase: &str, path: &str) -> Result<SecretKey, CryptoError> {
    if !passphrase.is_ascii() {
        return Err(CryptoError::BadMnemonic("the passphrase must be plain ASCII".into()));
    }
    let mnemonic = bip39::Mnemonic::parse_normalized(phrase.trim())
        .map_err(|e| CryptoError::BadMnemonic(e.to_string()))?;
    derive(&seed(&mnemonic.to_string(), passphrase), &parse_path(path)?)
}

/// BIP-39's seed: PBKDF2-HMAC-SHA512 of the phrase (words joined by single spaces) salted with
/// "mnemonic" and the passphrase, 2048 rounds.
fn seed(words: &str, passphrase: &str) -> [u8; 64] {
    let mut seed = [0u8; 64];
    let salt = ["mnemonic", passphrase].concat();
    pbkdf2::pbkdf2_hmac::<Sha512>(words.as_bytes(), salt.as_bytes(), 2048, &mut seed);
    seed
}

/// `m/44'/60'/0'/0/0` → child indices (hardened ones with the top bit set).
fn parse_path(path: &str) -> Result<Vec<u32>, CryptoError> {
    let mut parts = path.split('/');
    if parts.next() != Some("m") {
        return Err(CryptoError::BadPath(path.into()));
    }
    parts
        .map(|part| {
            let (digits, hardened) = match part.strip_suffix('\'').or_else(|| part.strip_suffix('h')) {
                Some(d) => (d, HARDENED),
                None => (part, 0),
            };
            match digits.parse::<u32>() {
                Ok(i) if i < HARDENED => Ok(i | hardened),
                _ => Err(CryptoError::BadPath(path.into())),
            }
        })
        .collect()
}

fn hmac_sha512(key: &[u8], parts: &[&[u8]]) -> [u8; 64] {
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable_hmac());
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[allow(clippy::panic, reason = "HMAC takes keys of any length")]
fn unreachable_hmac() -> Hmac<Sha512> {
    panic!("HMAC refused a key")
}

/// `bytes` as a scalar below the curve order.
fn scalar(bytes: &[u8]) -> Result<Scalar, CryptoError> {
    let repr = FieldBytes::clone_from_slice(bytes);
    Option::from(Scalar::from_repr(repr)).ok_or(CryptoError::InvalidSecretKey)
}

/// BIP-32 private derivation from a seed along `path`.
fn derive(seed: &[u8], path: &[u32]) -> Result<SecretKey, CryptoError> {
    let master = hmac_sha512(b"Bitcoin seed", &[seed]);
    let (mut key, mut chain) = (scalar(&master[..32])?, master[32..].to_vec());
    for index in path {
        let parent = SecretKey::from_bytes(&key.to_repr().into())?;
        let child = if index & HARDENED != 0 {
            hmac_sha512(&chain, &[&[0], &parent.to_bytes(), &index.to_be_bytes()])
        } else {
            hmac_sha512(&chain, &[&parent.public_key().to_compressed(), &index.to_be_bytes()])
        };
        key += scalar(&child[..32])?;
        chain = child[32..].to_vec();
    }
    SecretKey::from_bytes(&key.to_repr().into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    /// BIP-32 test vector 1: seed 000102…0f, chain m/0'/1/2'/2/1000000000.
    #[test]
    fn bip32_vector_1() {
        let seed = hex::decode("000102030405060708090a0b0c0d0e0f").unwrap();
        let master = derive(&seed, &[]).unwrap();
        assert_eq!(
            hex::encode(master.to_bytes()),
            "e8f32e723decf4051aefac8e2c93c9c5b214313817cdb01a1494b917c8436b35"
        );
        let deep = derive(&seed, &parse_path("m/0'/1/2'/2/1000000000").unwrap()).unwrap();
        assert_eq!(
            hex::encode(deep.to_bytes()),
            "471b76e389e528d6de6d816857e012c5455051cad6660850e58372a6c3e6e7c8"
        );
    }

    /// BIP-39's published vector (passphrase "TREZOR"), and the bip39 crate's own seed for a
    /// random phrase: the seed is BIP-39's.
    #[test]
    fn the_seed_is_bip39s() {
        let phrase =
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
        assert_eq!(
            hex::encode(seed(phrase, "TREZOR")),
            "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04"
        );
        let mnemonic = bip39::Mnemonic::parse(mnemonic_from_entropy(&[9; 16])).unwrap();
        assert_eq!(seed(&mnemonic.to_string(), "pass word"), mnemonic.to_seed("pass word"));
        assert!(matches!(
            secret_from_mnemonic(&mnemonic.to_string(), "pässword", DEFAULT_PATH),
            Err(CryptoError::BadMnemonic(_))
        ));
    }

    /// The well-known development phrase: its first Ethereum account, as MetaMask, Hardhat and
    /// Foundry derive it.
    #[test]
    fn metamask_first_account() {
        let phrase = "test test test test test test test test test test test junk";
        let key = secret_from_mnemonic(phrase, "", DEFAULT_PATH).unwrap();
        assert_eq!(key.address().to_string(), "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        let second = secret_from_mnemonic(phrase, "", "m/44'/60'/0'/0/1").unwrap();
        assert_eq!(second.address().to_string(), "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    }

    #[test]
    fn bad_phrases_and_paths_are_refused() {
        let phrase = mnemonic_from_entropy(&[7; 16]);
        assert_eq!(phrase.split(' ').count(), 12);
        assert!(secret_from_mnemonic(&phrase, "", DEFAULT_PATH).is_ok());
        let typo = phrase.replacen(phrase.split(' ').next().unwrap(), "zzzz", 1);
        assert!(matches!(secret_from_mnemonic(&typo, "", DEFAULT_PATH), Err(CryptoError::BadMnemonic(_))));
        for path in ["44'/60'", "m/x", "m/2147483648"] {
            assert!(
                matches!(secret_from_mnemonic(&phrase, "", path), Err(CryptoError::BadPath(_))),
                "{path}"
            );
        }
        assert_ne!(
            secret_from_mnemonic(&phrase, "", DEFAULT_PATH).unwrap().to_bytes(),
            secret_from_mnemonic(&phrase, "extra words", DEFAULT_PATH).unwrap().to_bytes(),
            "the passphrase changes the wallet"
        );
    }
}
