//! A block proposal as a stream of parts, and its reassembly from parts that may arrive out of
//! order, through different peers, or never. Pure and bounded: at most [`MAX_STREAMS`] open
//! streams (the oldest is dropped), at most [`MAX_BLOCK_BYTES`] and [`MAX_PARTS`] per stream.

use std::collections::BTreeMap;

use bytes::Bytes;
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_core_types::Round;

use crate::context::{Height, ProposalPart, ValidatorAddress, VoteSignature};

/// Bytes of block per data part.
pub const CHUNK_BYTES: usize = 1 << 20;
/// Most bytes of one encoded block (the engine's message limits are set from it).
pub const MAX_BLOCK_BYTES: usize = 32 << 20;
/// Most parts in one stream: init, data, fin and the end marker.
pub const MAX_PARTS: usize = MAX_BLOCK_BYTES / CHUNK_BYTES + 3;
/// Most streams being reassembled at once (an honest proposer opens one per round).
pub const MAX_STREAMS: usize = 16;

/// Why a stream is dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// More bytes or parts than a block may have.
    #[error("a proposal stream exceeds {MAX_BLOCK_BYTES} bytes or {MAX_PARTS} parts")]
    TooLarge,
    /// Its parts are not init, data…, fin in that order.
    #[error("a proposal stream's parts are out of place")]
    Malformed,
}

/// A complete proposal: who proposes which block bytes where, and the proposer's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assembled {
    /// The height.
    pub height: Height,
    /// The round.
    pub round: Round,
    /// The round of the lock it re-proposes, or nil.
    pub pol_round: Round,
    /// The proposer named in the first part.
    pub proposer: ValidatorAddress,
    /// The encoded block.
    pub block: Vec<u8>,
    /// The proposer's signature over the block's header hash.
    pub signature: VoteSignature,
}

/// The parts streaming `block` (borsh bytes) proposed at `height` and `round`, ending with
/// `signature`.
pub fn parts(
    height: Height,
    round: Round,
    pol_round: Round,
    proposer: ValidatorAddress,
    block: &[u8],
    signature: VoteSignature,
) -> Vec<StreamMessage<ProposalPart>> {
    let id = StreamId::new(Bytes::from(borsh::to_vec(&(height, round)).unwrap_or_default()));
    let mut contents = vec![StreamContent::Data(ProposalPart::Init { height, round, pol_round, proposer })];
    contents.extend(block.chunks(CHUNK_BYTES).map(|c| StreamContent::Data(ProposalPart::Data(c.to_vec()))));
    contents.push(StreamContent::Data(ProposalPart::Fin(signature)));
    contents.push(StreamContent::Fin);
    contents
        .into_iter()
        .zip(0u64..)
        .map(|(content, seq)| StreamMessage::new(id.clone(), seq, content))
        .collect()
}

#[derive(Default)]
struct Stream {
    parts: BTreeMap<u64, StreamContent<ProposalPart>>,
    bytes: usize,
    /// Sequence number of the end marker, once seen.
    end: Option<u64>,
    /// When it was opened, to drop the oldest.
    opened: u64,
}

/// Streams being reassembled, keyed by publisher and stream id.
#[derive(Default)]
pub struct Streams {
    open: BTreeMap<(Vec<u8>, Vec<u8>), Stream>,
    opened: u64,
}

impl Streams {
    /// Adds a part from `publisher`; the proposal once all its parts are in. A stream that
    /// breaks the limits or the part order is dropped with the error.
    pub fn insert(
        &mut self,
        publisher: &[u8],
        msg: StreamMessage<ProposalPart>,
    ) -> Result<Option<Assembled>, StreamError> {
        let key = (publisher.to_vec(), msg.stream_id.to_bytes().to_vec());
        if !self.open.contains_key(&key) && self.open.len() >= MAX_STREAMS {
            let oldest = self.open.iter().min_by_key(|(_, s)| s.opened).map(|(k, _)| k.clone());
            oldest.map(|k| self.open.remove(&k));
        }
        self.opened = self.opened.wrapping_add(1);
        let opened = self.opened;
        let stream = self.open.entry(key.clone()).or_insert_with(|| Stream { opened, ..Stream::default() });
        let added = match &msg.content {
            StreamContent::Data(ProposalPart::Data(chunk)) => chunk.len(),
            _ => 0,
        };
        stream.bytes = stream.bytes.saturating_add(added);
        if matches!(msg.content, StreamContent::Fin) {
            stream.end = Some(msg.sequence);
        }
        stream.parts.insert(msg.sequence, msg.content);
        let too_large = stream.bytes > MAX_BLOCK_BYTES
            || stream.parts.len() > MAX_PARTS
            || stream.end.is_some_and(|end| end >= MAX_PARTS as u64)
            || msg.sequence >= MAX_PARTS as u64;
        if too_large {
            self.open.remove(&key);
            return Err(StreamError::TooLarge);
        }
        let complete = stream.end.is_some_and(|end| stream.parts.len() as u64 == end + 1);
        if !complete {
            return Ok(None);
        }
        let stream = self.open.remove(&key).ok_or(StreamError::Malformed)?;
        assemble(stream.parts.into_values().collect()).map(Some)
    }
}

/// Init, data…, fin, end marker: the proposal they carry.
fn assemble(contents: Vec<StreamContent<ProposalPart>>) -> Result<Assembled, StreamError> {
    let mut parts = contents.into_iter();
    let Some(StreamContent::Data(ProposalPart::Init { height, round, pol_round, proposer })) = parts.next()
    else {
        return Err(StreamError::Malformed);
    };
    let mut block = Vec::new();
    let mut signature = None;
    for content in parts {
        match (content, signature) {
            (StreamContent::Data(ProposalPart::Data(chunk)), None) => block.extend_from_slice(&chunk),
            (StreamContent::Data(ProposalPart::Fin(s)), None) => signature = Some(s),
            (StreamContent::Fin, Some(_)) => {}
            _ => return Err(StreamError::Malformed),
        }
    }
    let signature = signature.ok_or(StreamError::Malformed)?;
    Ok(Assembled { height, round, pol_round, proposer, block, signature })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tao_crypto::Signature;
    use tao_types::Address;

    fn signature() -> VoteSignature {
        VoteSignature(Signature([3; 65]))
    }

    fn proposal(block: &[u8]) -> Vec<StreamMessage<ProposalPart>> {
        let proposer = ValidatorAddress(Address([1; 20]));
        parts(Height(4), Round::new(1), Round::Nil, proposer, block, signature())
    }

    #[test]
    fn parts_in_any_order_make_the_block_once_all_are_in() {
        let block: Vec<u8> = (0..(2 * CHUNK_BYTES + 5)).map(|i| i as u8).collect();
        let mut messages = proposal(&block);
        assert_eq!(messages.len(), 1 + 3 + 1 + 1);
        messages.reverse();
        let mut streams = Streams::default();
        let last = messages.pop().expect("parts");
        for m in messages {
            assert_eq!(streams.insert(b"peer", m), Ok(None));
        }
        let assembled = streams.insert(b"peer", last).expect("valid").expect("complete");
        assert_eq!(assembled.block, block);
        assert_eq!(
            (assembled.height, assembled.round, assembled.signature),
            (Height(4), Round::new(1), signature())
        );
    }

    #[test]
    fn two_publishers_of_the_same_stream_id_do_not_mix() {
        let mut streams = Streams::default();
        let (a, b) = (proposal(b"first"), proposal(b"second"));
        for m in a[..a.len() - 1].iter().cloned() {
            assert_eq!(streams.insert(b"a", m), Ok(None));
        }
        for m in b[..b.len() - 1].iter().cloned() {
            assert_eq!(streams.insert(b"b", m), Ok(None));
        }
        let done = streams.insert(b"a", a[a.len() - 1].clone()).expect("valid").expect("complete");
        assert_eq!(done.block, b"first");
    }

    #[test]
    fn out_of_place_parts_are_malformed() {
        let mut messages = proposal(b"block");
        // The signature before the data.
        let fin = messages[2].content.clone();
        messages[2].content = messages[1].content.clone();
        messages[1].content = fin;
        let mut streams = Streams::default();
        let results: Vec<_> = messages.into_iter().map(|m| streams.insert(b"p", m)).collect();
        assert_eq!(results.last(), Some(&Err(StreamError::Malformed)));
        // No first part at all.
        let mut streams = Streams::default();
        let messages = proposal(b"block");
        let results: Vec<_> = messages.into_iter().skip(1).map(|m| streams.insert(b"p", m)).collect();
        assert!(results.iter().all(|r| *r == Ok(None)), "incomplete without sequence 0");
    }

    #[test]
    fn oversized_streams_are_dropped_and_open_streams_are_bounded() {
        let mut streams = Streams::default();
        let id = StreamId::new(Bytes::from_static(b"x"));
        let huge = StreamMessage::new(id.clone(), MAX_PARTS as u64, StreamContent::Fin);
        assert_eq!(streams.insert(b"p", huge), Err(StreamError::TooLarge));
        let chunk = vec![0u8; CHUNK_BYTES];
        let mut result = Ok(None);
        for seq in 1..=(MAX_BLOCK_BYTES / CHUNK_BYTES + 1) as u64 {
            let data =
                StreamMessage::new(id.clone(), seq, StreamContent::Data(ProposalPart::Data(chunk.clone())));
            result = streams.insert(b"p", data);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(StreamError::TooLarge));
        assert!(streams.open.is_empty());
        for i in 0..(MAX_STREAMS as u64 + 5) {
            let m = StreamMessage::new(
                StreamId::new(Bytes::from(i.to_le_bytes().to_vec())),
                1,
                StreamContent::Fin,
            );
            assert_eq!(streams.insert(b"p", m), Ok(None));
        }
        assert_eq!(streams.open.len(), MAX_STREAMS);
    }
}
