use core::fmt;
use core::str::FromStr;

use crate::keccak256;

/// An account address: the last 20 bytes of Keccak-256 of the uncompressed public key (without the
/// `0x04` prefix), shown as EIP-55 checksummed hex.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, borsh::BorshSerialize, borsh::BorshDeserialize,
)]
pub struct Address(pub [u8; 20]);

/// Why a string is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The `0x` prefix is missing.
    #[error("an address starts with 0x")]
    MissingPrefix,
    /// Not 40 hex digits after the prefix.
    #[error("an address has 40 hex digits, found {0}")]
    BadLength(usize),
    /// A character is not a hex digit.
    #[error("an address may only contain hex digits")]
    BadHex,
    /// Mixed case that does not match the EIP-55 checksum: probably a typo.
    #[error("the EIP-55 checksum does not match (expected {expected})")]
    BadChecksum {
        /// The correctly checksummed form of the same bytes.
        expected: alloc::string::String,
    },
}

impl Address {
    /// Derives the address of a 64-byte uncompressed public key (x ‖ y, no `0x04` prefix).
    pub fn from_public_key(uncompressed_xy: &[u8; 64]) -> Address {
        let digest = keccak256(uncompressed_xy);
        let mut out = [0u8; 20];
        out.copy_from_slice(&digest[12..]);
        Address(out)
    }

    /// The EIP-55 form: hex digit `i` is upper case when nibble `i` of keccak(lowercase hex) ≥ 8.
    fn write_checksummed(&self, out: &mut [u8; 40]) {
        let lower = hex::encode(self.0);
        let digest = keccak256(lower.as_bytes());
        for (i, c) in lower.bytes().enumerate() {
            let nibble = (digest[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
            out[i] = if c.is_ascii_alphabetic() && nibble >= 8 { c.to_ascii_uppercase() } else { c };
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 40];
        self.write_checksummed(&mut buf);
        // Only ASCII hex digits were written.
        f.write_str("0x")?;
        f.write_str(core::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Address {
    type Err = AddressError;

    /// Accepts all-lowercase or all-uppercase hex (no checksum, as in Ethereum), or mixed case only
    /// when it is the exact EIP-55 checksum.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_prefix("0x").ok_or(AddressError::MissingPrefix)?;
        if digits.len() != 40 {
            return Err(AddressError::BadLength(digits.len()));
        }
        let mut bytes = [0u8; 20];
        hex::decode_to_slice(digits, &mut bytes).map_err(|_| AddressError::BadHex)?;
        let address = Address(bytes);
        let has_lower = digits.bytes().any(|c| c.is_ascii_lowercase());
        let has_upper = digits.bytes().any(|c| c.is_ascii_uppercase());
        if has_lower && has_upper {
            let mut expected = [0u8; 40];
            address.write_checksummed(&mut expected);
            if expected != digits.as_bytes() {
                return Err(AddressError::BadChecksum {
                    expected: alloc::string::ToString::to_string(&address),
                });
            }
        }
        Ok(address)
    }
}

impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <alloc::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Test vectors from EIP-55.
    const EIP55: [&str; 4] = [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ];

    #[test]
    fn eip55_vectors_round_trip() {
        for s in EIP55 {
            let a: Address = s.parse().unwrap();
            assert_eq!(a.to_string(), s);
            assert_eq!(s.to_lowercase().parse::<Address>().unwrap(), a);
        }
    }

    #[test]
    fn typed_errors() {
        assert_eq!(
            "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".parse::<Address>(),
            Err(AddressError::MissingPrefix)
        );
        assert_eq!("0x5aAeb6".parse::<Address>(), Err(AddressError::BadLength(6)));
        assert_eq!(
            "0xzaAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".parse::<Address>(),
            Err(AddressError::BadHex)
        );
        // One letter's case flipped.
        let typo = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD";
        assert!(
            matches!(typo.parse::<Address>(), Err(AddressError::BadChecksum { expected }) if expected == EIP55[0])
        );
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(bytes in any::<[u8; 20]>()) {
            let a = Address(bytes);
            prop_assert_eq!(a.to_string().parse::<Address>(), Ok(a));
            let json = serde_json::to_string(&a).unwrap();
            prop_assert_eq!(serde_json::from_str::<Address>(&json).unwrap(), a);
            prop_assert_eq!(tao_codec::decode::<Address>(&tao_codec::encode(&a), 20), Ok(a));
        }
    }
}
