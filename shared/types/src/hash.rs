use core::fmt;
use core::str::FromStr;
use sha3::{Digest, Keccak256};

/// Keccak-256 (the pre-standard SHA-3 that Ethereum uses) of `data`.
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

/// A 32-byte hash (Keccak-256 unless said otherwise).
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, borsh::BorshSerialize, borsh::BorshDeserialize,
)]
pub struct Hash(pub [u8; 32]);

/// Why a string is not a hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashParseError {
    /// Not `0x` followed by 64 hex digits.
    #[error("a hash is 0x followed by 64 hex digits")]
    BadFormat,
}

impl Hash {
    /// The all-zero hash, used as the parent of genesis.
    pub const ZERO: Hash = Hash([0; 32]);

    /// Keccak-256 of `data`.
    pub fn of(data: &[u8]) -> Hash {
        Hash(keccak256(data))
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Hash {
    type Err = HashParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_prefix("0x").ok_or(HashParseError::BadFormat)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(digits, &mut out).map_err(|_| HashParseError::BadFormat)?;
        Ok(Hash(out))
    }
}

impl serde::Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <alloc::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn codec_json_and_text_round_trip(bytes in any::<[u8; 32]>()) {
            let h = Hash(bytes);
            prop_assert_eq!(tao_codec::decode::<Hash>(&tao_codec::encode(&h), 32), Ok(h));
            prop_assert_eq!(serde_json::from_str::<Hash>(&serde_json::to_string(&h).unwrap()).unwrap(), h);
            prop_assert_eq!(h.to_string().parse::<Hash>(), Ok(h));
        }
    }

    #[test]
    fn keccak_known_answer() {
        // Keccak-256 of the empty string, as published by Ethereum.
        assert_eq!(
            Hash::of(b"").to_string(),
            "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }

    #[test]
    fn parse_round_trip_and_errors() {
        let h = Hash::of(b"abc");
        assert_eq!(h.to_string().parse::<Hash>(), Ok(h));
        assert_eq!("00".parse::<Hash>(), Err(HashParseError::BadFormat));
        assert_eq!("0x00".parse::<Hash>(), Err(HashParseError::BadFormat));
    }
}
