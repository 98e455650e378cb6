//! One borsh codec for everything the engine writes to its WAL, gossips or syncs. Malachite's
//! `borsh` features encode most of its messages; the two it leaves out (a validator's peer
//! proof, and a sync answer's certificates) go through our own mirror types. Decoding is
//! bounded by the engine's message limits before it reaches us, and borsh refuses trailing
//! bytes.

use borsh::{BorshDeserialize, BorshSerialize};
use bytes::Bytes;
use malachitebft_app::consensus::{LivenessMsg, ProposedValue, SignedConsensusMsg};
use malachitebft_app::streaming::StreamMessage;
use malachitebft_codec::{Codec, HasEncodedLen};
use malachitebft_core_types::{
    ExtendedCommitCertificate, ExtendedCommitSignature, PolkaCertificate, Round, ValidatorProof,
};
use malachitebft_sync::{RawDecidedValue, Request, Response, Status, ValueResponse};

use crate::context::{BlockHash, Height, ProposalPart, TaoContext, ValidatorAddress, VoteSignature};

/// Encodes and decodes the engine's messages.
#[derive(Clone, Copy, Debug, Default)]
pub struct BorshCodec;

/// Bytes that are not a valid encoding, or a message this chain never sends.
#[derive(Debug, thiserror::Error)]
#[error("undecodable consensus message: {0}")]
pub struct CodecError(#[from] std::io::Error);

fn encode<T: BorshSerialize>(msg: &T) -> Result<Bytes, CodecError> {
    Ok(Bytes::from(borsh::to_vec(msg)?))
}

/// `Codec` by the type's own borsh encoding.
macro_rules! by_borsh {
    ($($t:ty),* $(,)?) => {$(
        impl Codec<$t> for BorshCodec {
            type Error = CodecError;

            fn decode(&self, bytes: Bytes) -> Result<$t, CodecError> {
                Ok(borsh::from_slice(&bytes)?)
            }

            fn encode(&self, msg: &$t) -> Result<Bytes, CodecError> {
                encode(msg)
            }
        }
    )*};
}

by_borsh!(
    ProposalPart,
    SignedConsensusMsg<TaoContext>,
    LivenessMsg<TaoContext>,
    StreamMessage<ProposalPart>,
    ProposedValue<TaoContext>,
    PolkaCertificate<TaoContext>,
    Status<TaoContext>,
    Request<TaoContext>,
);

/// A validator's peer proof on the wire.
#[derive(BorshSerialize, BorshDeserialize)]
struct WireProof {
    public_key: Vec<u8>,
    peer_id: Vec<u8>,
    signature: VoteSignature,
}

impl Codec<ValidatorProof<TaoContext>> for BorshCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<ValidatorProof<TaoContext>, CodecError> {
        let w: WireProof = borsh::from_slice(&bytes)?;
        Ok(ValidatorProof::new(w.public_key, w.peer_id, w.signature))
    }

    fn encode(&self, p: &ValidatorProof<TaoContext>) -> Result<Bytes, CodecError> {
        encode(&WireProof {
            public_key: p.public_key.clone(),
            peer_id: p.peer_id.clone(),
            signature: p.signature,
        })
    }
}

/// A sync answer on the wire: decided blocks with their commit signatures (this chain has no
/// vote extensions, so none travel).
#[derive(BorshSerialize, BorshDeserialize)]
struct WireResponse {
    start_height: Height,
    values: Vec<WireDecided>,
}

#[derive(BorshSerialize, BorshDeserialize)]
struct WireDecided {
    block: Vec<u8>,
    height: Height,
    round: Round,
    value: BlockHash,
    signatures: Vec<(ValidatorAddress, VoteSignature)>,
}

fn to_wire(response: &Response<TaoContext>) -> WireResponse {
    let Response::ValueResponse(r) = response;
    let values = r
        .values
        .iter()
        .map(|v| WireDecided {
            block: v.value_bytes.to_vec(),
            height: v.certificate.height,
            round: v.certificate.round,
            value: v.certificate.value_id,
            signatures: v.certificate.commit_signatures.iter().map(|s| (s.address, s.signature)).collect(),
        })
        .collect();
    WireResponse { start_height: r.start_height, values }
}

fn from_wire(wire: WireResponse) -> Response<TaoContext> {
    let values = wire
        .values
        .into_iter()
        .map(|d| {
            let commit_signatures =
                d.signatures.into_iter().map(|(a, s)| ExtendedCommitSignature::new(a, s, None)).collect();
            let certificate = ExtendedCommitCertificate {
                height: d.height,
                round: d.round,
                value_id: d.value,
                commit_signatures,
            };
            RawDecidedValue::new(Bytes::from(d.block), certificate)
        })
        .collect();
    Response::ValueResponse(ValueResponse::new(wire.start_height, values))
}

impl Codec<Response<TaoContext>> for BorshCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<Response<TaoContext>, CodecError> {
        Ok(from_wire(borsh::from_slice(&bytes)?))
    }

    fn encode(&self, response: &Response<TaoContext>) -> Result<Bytes, CodecError> {
        encode(&to_wire(response))
    }
}

impl HasEncodedLen<Response<TaoContext>> for BorshCodec {
    fn encoded_len(&self, response: &Response<TaoContext>) -> Result<usize, CodecError> {
        Ok(borsh::object_length(&to_wire(response))?)
    }
}
