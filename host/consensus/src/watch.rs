//! The engine's events as the node reports them: the height and vote figures for `/metrics`,
//! and every vote a validator signs or receives as a [`SeenVote`] in the chain's terms, for
//! tests and tools that look for equivocation.

use std::sync::Arc;

use malachitebft_app::consensus::SignedConsensusMsg;
use malachitebft_app::engine::util::events::Event;
use malachitebft_core_types::NilOrVal;
use tao_node::Node;
use tokio::sync::broadcast::error::RecvError;

use crate::context::{BlockHash, TaoContext, Vote, VoteSignature};

pub use tao_light::VoteKind;

/// A vote a validator's engine signed or received, in the chain's terms (`Running::votes`):
/// what tests and tools watch to find equivocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenVote {
    /// The vote's signer.
    pub signer: tao_types::Address,
    /// Its height.
    pub height: u64,
    /// Its round.
    pub round: u32,
    /// Prevote or precommit.
    pub kind: VoteKind,
    /// The header hash voted for; `None` for nil.
    pub value: Option<tao_types::Hash>,
    /// Its signature (received votes are not yet checked when reported).
    pub signature: tao_crypto::Signature,
    /// Signed by this validator (else received from a peer).
    pub own: bool,
}

impl SeenVote {
    fn new(vote: &Vote, signature: &VoteSignature, own: bool) -> Option<SeenVote> {
        Some(SeenVote {
            signer: vote.validator.0,
            height: vote.height.0,
            round: vote.round.as_u32()?,
            kind: crate::signing::vote_kind(vote.kind),
            value: match &vote.value {
                NilOrVal::Val(BlockHash(hash)) => Some(*hash),
                NilOrVal::Nil => None,
            },
            signature: signature.0,
            own,
        })
    }

    /// Whether `key` signed this vote for the chain `domain`.
    pub fn is_signed_by(&self, domain: &tao_crypto::ChainDomain, key: &tao_crypto::PublicKey) -> bool {
        let digest = tao_light::vote_digest(domain, self.kind, self.height, self.round, self.value.as_ref());
        key.verify_hash(&digest, &self.signature).is_ok()
    }
}

/// Votes kept for `Running::votes` subscribers that lag.
pub(crate) const VOTES_QUEUE: usize = 4096;

/// Follows the engine's events: the height and vote figures for `/metrics`, and every vote
/// signed or received for `Running::votes`.
pub(crate) async fn watch_events(
    node: Arc<Node>,
    mut events: tokio::sync::broadcast::Receiver<Event<TaoContext>>,
    votes: tokio::sync::broadcast::Sender<SeenVote>,
) {
    loop {
        let (vote, own) = match events.recv().await {
            Ok(Event::StartedHeight(height, _)) => {
                let _ = node.set_consensus(|g| g.height = height.0);
                continue;
            }
            Ok(Event::Published(SignedConsensusMsg::Vote(vote))) => (vote, true),
            Ok(Event::Received(SignedConsensusMsg::Vote(vote))) => (vote, false),
            Ok(_) | Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        };
        let _ = node.set_consensus(|g| {
            let count = if own { &mut g.votes_signed } else { &mut g.votes_received };
            *count = count.saturating_add(1);
        });
        if let Some(seen) = SeenVote::new(&vote.message, &vote.signature, own) {
            // Nobody subscribed is fine.
            let _ = votes.send(seen);
        }
    }
}
