//! Canonical binary encoding for everything that is hashed, signed or stored.
//!
//! The wire format is [borsh]: one byte string per value, no padding, little-endian integers,
//! `u32` length prefixes. Every decode of external bytes goes through [`decode`], which applies an
//! explicit total-size limit and rejects trailing bytes, and collections that come from outside use
//! [`BoundedVec`] / [`BoundedBytes`], whose decoders check the length prefix *before* allocating.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use core::ops::Deref;

pub use borsh::{self, BorshDeserialize, BorshSerialize};

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input is larger than the limit the caller allowed for this type.
    #[error("input is {len} bytes, limit is {limit}")]
    TooLarge {
        /// Length of the input.
        len: usize,
        /// The caller's limit.
        limit: usize,
    },
    /// A decoded value did not consume the whole input.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    /// The bytes are not a valid encoding (truncated, bad tag, over-long collection, ...).
    #[error("malformed encoding: {0}")]
    Malformed(alloc::string::String),
}

/// Encodes a value in the canonical form.
pub fn encode<T: BorshSerialize + ?Sized>(value: &T) -> Vec<u8> {
    // Writing into a Vec cannot fail: borsh only errors on I/O.
    borsh::to_vec(value).unwrap_or_default()
}

/// Decodes exactly one value from `bytes`, which must be at most `limit` bytes long and must be
/// consumed entirely.
pub fn decode<T: BorshDeserialize>(bytes: &[u8], limit: usize) -> Result<T, DecodeError> {
    if bytes.len() > limit {
        return Err(DecodeError::TooLarge { len: bytes.len(), limit });
    }
    let mut rest = bytes;
    let value = T::deserialize(&mut rest).map_err(|e| DecodeError::Malformed(alloc::format!("{e}")))?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes(rest.len()));
    }
    Ok(value)
}

/// A vector whose decoder refuses more than `MAX` elements before reading any of them.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct BoundedVec<T, const MAX: u32>(Vec<T>);

/// The error returned when building a [`BoundedVec`] from too many elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{len} elements exceed the limit of {max}")]
pub struct TooMany {
    /// Number of elements offered.
    pub len: usize,
    /// The bound.
    pub max: u32,
}

impl<T, const MAX: u32> BoundedVec<T, MAX> {
    /// Wraps `items` if there are at most `MAX` of them.
    pub fn new(items: Vec<T>) -> Result<Self, TooMany> {
        if items.len() > MAX as usize {
            return Err(TooMany { len: items.len(), max: MAX });
        }
        Ok(Self(items))
    }

    /// Gives back the inner vector.
    pub fn into_inner(self) -> Vec<T> {
        self.0
    }
}

impl<T, const MAX: u32> TryFrom<Vec<T>> for BoundedVec<T, MAX> {
    type Error = TooMany;
    fn try_from(items: Vec<T>) -> Result<Self, TooMany> {
        Self::new(items)
    }
}

impl<T, const MAX: u32> Deref for BoundedVec<T, MAX> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: BorshSerialize, const MAX: u32> BorshSerialize for BoundedVec<T, MAX> {
    fn serialize<W: borsh::io::Write>(&self, writer: &mut W) -> borsh::io::Result<()> {
        self.0.serialize(writer)
    }
}

impl<T: BorshDeserialize, const MAX: u32> BorshDeserialize for BoundedVec<T, MAX> {
    fn deserialize_reader<R: borsh::io::Read>(reader: &mut R) -> borsh::io::Result<Self> {
        let len = u32::deserialize_reader(reader)?;
        if len > MAX {
            return Err(borsh::io::Error::new(
                borsh::io::ErrorKind::InvalidData,
                "collection longer than its bound",
            ));
        }
        let mut items = Vec::with_capacity(len.min(1024) as usize);
        for _ in 0..len {
            items.push(T::deserialize_reader(reader)?);
        }
        Ok(Self(items))
    }
}

/// Bytes with an upper bound on their length, checked before allocation when decoding.
pub type BoundedBytes<const MAX: u32> = BoundedVec<u8, MAX>;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_trailing_bytes() {
        let mut bytes = encode(&7u32);
        bytes.push(0);
        assert_eq!(decode::<u32>(&bytes, 64), Err(DecodeError::TrailingBytes(1)));
    }

    #[test]
    fn rejects_oversized_input_before_decoding() {
        let bytes = encode(&[0u8; 32]);
        assert!(matches!(decode::<[u8; 32]>(&bytes, 31), Err(DecodeError::TooLarge { len: 32, limit: 31 })));
    }

    #[test]
    fn bounded_vec_rejects_long_prefix_without_allocating() {
        // A length prefix of u32::MAX with no elements behind it.
        let bytes = u32::MAX.to_le_bytes();
        assert!(matches!(decode::<BoundedBytes<16>>(&bytes, 1024), Err(DecodeError::Malformed(_))));
        let ok = encode(&BoundedBytes::<16>::new(alloc::vec![1, 2, 3]).unwrap());
        assert_eq!(decode::<BoundedBytes<16>>(&ok, 1024).unwrap().len(), 3);
        assert_eq!(BoundedBytes::<2>::new(alloc::vec![1, 2, 3]), Err(TooMany { len: 3, max: 2 }));
    }

    proptest! {
        #[test]
        fn bounded_vec_round_trips(items in proptest::collection::vec(any::<u64>(), 0..40)) {
            let v = BoundedVec::<u64, 40>::new(items).unwrap();
            prop_assert_eq!(decode::<BoundedVec<u64, 40>>(&encode(&v), 4096).unwrap(), v);
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode::<BoundedVec<u64, 8>>(&bytes, 1024);
            let _ = decode::<(u8, BoundedBytes<4>, Option<u32>)>(&bytes, 1024);
        }
    }
}
