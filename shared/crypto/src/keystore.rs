//! Key files in the keystore-v3 style (the CLI's coldkeys, the wallet's vault): scrypt turns the
//! password into a key, AES-128-CTR encrypts the secret, and Keccak-256(key[16..32] ‖ ciphertext)
//! authenticates it, so a wrong password is detected rather than yielding a wrong key. The
//! parameters are stored with the ciphertext. The caller brings a fresh random salt and IV per
//! file (this crate holds no randomness).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use aes::cipher::{KeyIvInit, StreamCipher};
use serde::{Deserialize, Serialize};
use tao_types::keccak256;

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;

/// scrypt cost: N = 2^15, r = 8, p = 1 (32 MiB, well under a second).
const LOG_N: u8 = 15;
const R: u32 = 8;
const P: u32 = 1;

/// Why a key file could not be made or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeystoreError {
    /// The MAC does not match: the password is wrong (or the file was altered).
    #[error("wrong password")]
    WrongPassword,
    /// The file names parameters we do not support or is malformed.
    #[error("unsupported or malformed key file: {0}")]
    Malformed(String),
}

/// The file's JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Keystore {
    /// Always 3.
    pub version: u32,
    /// Checksummed address of the key, readable without the password.
    pub address: String,
    /// Cipher, KDF and their parameters.
    pub crypto: Crypto,
}

/// The encrypted secret with everything needed to decrypt it but the password.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Crypto {
    cipher: String,
    ciphertext: String,
    cipherparams: CipherParams,
    kdf: String,
    kdfparams: KdfParams,
    mac: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CipherParams {
    iv: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct KdfParams {
    dklen: usize,
    n: u64,
    r: u32,
    p: u32,
    salt: String,
}

fn derive(password: &str, salt: &[u8], log_n: u8, r: u32, p: u32) -> Result<[u8; 32], KeystoreError> {
    let params = scrypt::Params::new(log_n, r, p, 32).map_err(|e| KeystoreError::Malformed(e.to_string()))?;
    let mut key = [0u8; 32];
    scrypt::scrypt(password.as_bytes(), salt, &params, &mut key)
        .map_err(|e| KeystoreError::Malformed(e.to_string()))?;
    Ok(key)
}

fn mac(key: &[u8; 32], ciphertext: &[u8]) -> [u8; 32] {
    keccak256(&[&key[16..], ciphertext].concat())
}

fn apply_cipher(key: &[u8; 32], iv: &[u8; 16], data: &mut [u8]) {
    let mut cipher = Aes128Ctr::new((&key[..16]).into(), iv.into());
    cipher.apply_keystream(data);
}

/// Encrypts `secret` (whose address is `address`) under `password`, with a fresh random `salt`
/// and `iv`.
pub fn encrypt(
    secret: &[u8; 32],
    address: String,
    password: &str,
    salt_iv: ([u8; 32], [u8; 16]),
) -> Result<Keystore, KeystoreError> {
    Ok(Keystore { version: 3, address, crypto: seal(secret, password, salt_iv)? })
}

/// Decrypts the secret with `password`.
pub fn decrypt(store: &Keystore, password: &str) -> Result<[u8; 32], KeystoreError> {
    if store.version != 3 {
        return Err(KeystoreError::Malformed("only version 3".into()));
    }
    open(&store.crypto, password)?
        .try_into()
        .map_err(|_| KeystoreError::Malformed("the secret is not 32 bytes".into()))
}

/// Encrypts `data` of any length under `password` the keystore way (the wallet's vault uses it
/// for its whole secret list), with a fresh random `salt` and `iv`.
pub fn seal(data: &[u8], password: &str, (salt, iv): ([u8; 32], [u8; 16])) -> Result<Crypto, KeystoreError> {
    let key = derive(password, &salt, LOG_N, R, P)?;
    let mut ciphertext = data.to_vec();
    apply_cipher(&key, &iv, &mut ciphertext);
    Ok(Crypto {
        cipher: "aes-128-ctr".into(),
        ciphertext: hex::encode(&ciphertext),
        cipherparams: CipherParams { iv: hex::encode(iv) },
        kdf: "scrypt".into(),
        kdfparams: KdfParams { dklen: 32, n: 1 << LOG_N, r: R, p: P, salt: hex::encode(salt) },
        mac: hex::encode(mac(&key, &ciphertext)),
    })
}

/// Decrypts what [`seal`] encrypted; a wrong password (or altered bytes) fails the MAC.
pub fn open(c: &Crypto, password: &str) -> Result<Vec<u8>, KeystoreError> {
    let bad = |what: &str| KeystoreError::Malformed(what.to_string());
    if c.cipher != "aes-128-ctr" || c.kdf != "scrypt" || c.kdfparams.dklen != 32 {
        return Err(bad("only aes-128-ctr and scrypt with dklen 32"));
    }
    let n = c.kdfparams.n;
    if !n.is_power_of_two() || !(2..=1 << 20).contains(&n) {
        return Err(bad("scrypt n must be a power of two up to 2^20"));
    }
    if c.kdfparams.r == 0 || c.kdfparams.r > 32 || c.kdfparams.p == 0 || c.kdfparams.p > 16 {
        return Err(bad("scrypt r must be 1..=32 and p 1..=16"));
    }
    let salt = hex::decode(&c.kdfparams.salt).map_err(|_| bad("salt"))?;
    let iv: [u8; 16] =
        hex::decode(&c.cipherparams.iv).ok().and_then(|v| v.try_into().ok()).ok_or_else(|| bad("iv"))?;
    let ciphertext = hex::decode(&c.ciphertext).map_err(|_| bad("ciphertext"))?;
    let expected = hex::decode(&c.mac).map_err(|_| bad("mac"))?;
    let key = derive(password, &salt, n.trailing_zeros() as u8, c.kdfparams.r, c.kdfparams.p)?;
    if mac(&key, &ciphertext)[..] != expected[..] {
        return Err(KeystoreError::WrongPassword);
    }
    let mut data = ciphertext;
    apply_cipher(&key, &iv, &mut data);
    Ok(data)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn round_trip_and_wrong_password() {
        let secret = [7u8; 32];
        let store = encrypt(&secret, "0xabc".into(), "hunter2", ([1; 32], [2; 16])).unwrap();
        assert_ne!(store.crypto.ciphertext, hex::encode(secret), "the secret is not stored in clear");
        assert_eq!(decrypt(&store, "hunter2").unwrap(), secret);
        assert_eq!(decrypt(&store, "hunter3"), Err(KeystoreError::WrongPassword));
        let again = encrypt(&secret, "0xabc".into(), "hunter2", ([3; 32], [4; 16])).unwrap();
        assert_ne!(again.crypto.ciphertext, store.crypto.ciphertext, "another salt and IV, another file");
        let mut tampered = store.clone();
        tampered.crypto.ciphertext = hex::encode([8u8; 32]);
        assert_eq!(decrypt(&tampered, "hunter2"), Err(KeystoreError::WrongPassword));
    }

    #[test]
    fn sealed_data_of_any_length() {
        let data = b"a longer secret than one key: twelve words and some keys".to_vec();
        let sealed = seal(&data, "pw", ([5; 32], [6; 16])).unwrap();
        assert_eq!(open(&sealed, "pw").unwrap(), data);
        assert_eq!(open(&sealed, "wrong"), Err(KeystoreError::WrongPassword));
        let mut huge = sealed.clone();
        huge.kdfparams.r = 1 << 20;
        assert!(matches!(open(&huge, "pw"), Err(KeystoreError::Malformed(_))), "hostile parameters refused");
    }
}
