//! One borsh codec for everything the engine writes to its WAL, gossips or syncs: Malachite's
//! `borsh` features encode its own messages, ours derive it. Decoding is bounded by the
//! engine's own message limits (`pubsub_max_size`, `rpc_max_size`) before it reaches us, and
//! borsh refuses trailing bytes.

use bytes::Bytes;
use malachitebft_codec::{Codec, HasEncodedLen};

/// Encodes and decodes any borsh type.
#[derive(Clone, Copy, Debug, Default)]
pub struct BorshCodec;

/// Bytes that are not a valid encoding.
#[derive(Debug, thiserror::Error)]
#[error("undecodable consensus message: {0}")]
pub struct CodecError(#[from] std::io::Error);

impl<T: borsh::BorshSerialize + borsh::BorshDeserialize> Codec<T> for BorshCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<T, CodecError> {
        Ok(borsh::from_slice(&bytes)?)
    }

    fn encode(&self, msg: &T) -> Result<Bytes, CodecError> {
        Ok(Bytes::from(borsh::to_vec(msg)?))
    }
}

impl<T: borsh::BorshSerialize + borsh::BorshDeserialize> HasEncodedLen<T> for BorshCodec {
    fn encoded_len(&self, msg: &T) -> Result<usize, CodecError> {
        Ok(borsh::object_length(msg)?)
    }
}
