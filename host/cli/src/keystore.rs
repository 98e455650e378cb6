//! The CLI's side of key files: the format is `tao_crypto::keystore`; this adds the operating
//! system's randomness for keys, salts and IVs.

pub(crate) use tao_crypto::keystore::{Keystore, decrypt};

/// `N` bytes from the operating system's random source.
pub(crate) fn random<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(bytes)
}

/// Encrypts `secret` (whose address is `address`) under `password` with a fresh salt and IV.
pub(crate) fn encrypt(secret: &[u8; 32], address: String, password: &str) -> anyhow::Result<Keystore> {
    Ok(tao_crypto::keystore::encrypt(secret, address, password, (random()?, random()?))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_file_gets_a_fresh_salt() {
        let a = encrypt(&[7; 32], "0xabc".into(), "pw").unwrap();
        let b = encrypt(&[7; 32], "0xabc".into(), "pw").unwrap();
        assert_ne!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
        assert_eq!(decrypt(&b, "pw").unwrap(), [7; 32]);
    }
}
