//! Following the chain from a pinned genesis: which headers a client believes (the wallet,
//! `tao light` and the JS package alike), and the state roots it checks values against.

use std::collections::BTreeMap;

use crate::{Certificate, Header, LightClient, LightError, Receipt, Validator, merkle_root};
use serde_json::Value;
use tao_crypto::ChainDomain;

use tao_types::Hash;

/// Believed headers kept for proofs (the oldest go first; genesis stays). More than the
/// furthest the wallet walks back, so a walk never evicts what it still needs.
pub const KEEP_HEADERS: usize = 4_096;
/// Furthest below its head the wallet believes headers by walking back parent hashes.
pub const MAX_WALK_BACK: u64 = 2_000;

/// Why something the node sent is not believed. Each names the value and the reason, for the
/// screen that asked for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The node answered with an error.
    #[error("the node refused: {0}")]
    Node(String),
    /// The reply does not have the expected shape.
    #[error("{what}: malformed reply ({why})")]
    Malformed {
        /// The part of the reply.
        what: String,
        /// Why.
        why: String,
    },
    /// The node's chain is neither pinned nor a shipped checkpoint: the user decides.
    #[error(
        "an unknown chain: genesis {genesis_hash}, chain id {chain_id}. Trust it only if you mean that \
         chain (compare its genesis hash with a source you trust)"
    )]
    UnknownChain {
        /// Its genesis hash.
        genesis_hash: Hash,
        /// Its genesis header's chain id.
        chain_id: u64,
    },
    /// The node's newest certified head is older than one this browser already believed.
    #[error(
        "the node's newest certified head #{got} is older than #{kept}, which this client already believed: \
         a stale or replaying node"
    )]
    Rollback {
        /// Height believed before.
        kept: u64,
        /// The node's head.
        got: u64,
    },
    /// The node's head at a height differs from the one believed there before.
    #[error("the node's head #{0} is not the header this client already believed at that height: a fork")]
    Forked(u64),
    /// An older header is not the parent its believed child names.
    #[error("header #{0} is not the parent of the certified header above it")]
    NotParent(u64),
    /// A header was refused by the light client.
    #[error("header refused: {0}")]
    Header(#[from] LightError),
    /// A value's proof is at a height whose header this client has not believed.
    #[error("no certified header at #{0}")]
    UnknownHeight(u64),
    /// A value does not match the certified state root.
    #[error("{what}: the proof does not match the state root certified at #{height}")]
    BadProof {
        /// The value.
        what: String,
        /// Height of the root.
        height: u64,
    },
    /// The node's words contradict its own proof.
    #[error("{what}: the node claims {claimed} but its proof shows {proven}")]
    Contradiction {
        /// The value.
        what: String,
        /// What the node said.
        claimed: String,
        /// What the proof holds.
        proven: String,
    },
    /// A proven value does not decode as its type.
    #[error("{what}: the proven bytes do not decode ({why})")]
    Undecodable {
        /// The value.
        what: String,
        /// Why.
        why: String,
    },
    /// The computation needs what proofs cannot give (an iteration over keys) or too many reads.
    #[error("{0}")]
    Unprovable(String),
}

/// A value believed, and the height whose certified root proves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proven<T> {
    /// The value.
    pub value: T,
    /// The certified height.
    pub height: u64,
}

/// The believed chain: the light client at the newest certified header (which holds the
/// chain's domain), and recent headers by height.
#[derive(Debug, Clone)]
pub struct Chain {
    light: LightClient,
    headers: BTreeMap<u64, Header>,
}

impl Chain {
    /// Trusts `genesis` if it hashes to `pinned` (the genesis hash the user accepted) and
    /// `validators` are the set it commits to. The chain id is the genesis header's: whatever a
    /// node announces, the wallet signs only for the pinned chain.
    pub fn new(pinned: Hash, genesis: Header, validators: Vec<Validator>) -> Result<Chain, VerifyError> {
        let light = LightClient::new(pinned, genesis.clone(), validators)?;
        Ok(Chain { light, headers: BTreeMap::from([(0, genesis)]) })
    }

    /// Trusts a recent certified `header` as checkpoint instead of the genesis (see
    /// [`LightClient::from_header`]); the walk back from the head stops at it.
    pub fn from_header(
        checkpoint: Hash,
        genesis_hash: Hash,
        (header, certificate): (Header, Certificate),
        signers: &[Validator],
        next: Vec<Validator>,
    ) -> Result<Chain, VerifyError> {
        let light =
            LightClient::from_header(checkpoint, genesis_hash, header.clone(), &certificate, signers, next)?;
        Ok(Chain { light, headers: BTreeMap::from([(header.height, header)]) })
    }

    /// The light client at the head (its header and the set that signs after it).
    pub fn light(&self) -> &LightClient {
        &self.light
    }

    /// The validator set that signs the headers after the head (see [`LightClient::validators`]).
    pub fn validators(&self) -> &[Validator] {
        self.light.validators()
    }

    /// Whether the head names a validator set not held yet (see [`LightClient::needs_next_set`]).
    pub fn needs_next_set(&self) -> bool {
        self.light.needs_next_set()
    }

    /// Takes the set the head names for what follows (see [`LightClient::adopt_next_set`]).
    pub fn adopt_next_set(&mut self, validators: Vec<Validator>) -> Result<(), VerifyError> {
        Ok(self.light.adopt_next_set(validators)?)
    }

    /// The chain's signing domain: the pinned genesis hash and its header's chain id.
    pub fn domain(&self) -> &ChainDomain {
        self.light.domain()
    }

    /// The newest certified header.
    pub fn head(&self) -> &Header {
        self.light.head()
    }

    /// Believes `header` if its certificate carries the trusted validator set (see
    /// [`LightClient::accept`]). A header at or below the head is ignored when already known.
    pub fn accept(&mut self, header: Header, certificate: &Certificate) -> Result<(), VerifyError> {
        if self.headers.get(&header.height).is_some_and(|known| known.hash() == header.hash()) {
            return Ok(());
        }
        self.light.accept(header.clone(), certificate)?;
        self.remember(header);
        Ok(())
    }

    /// Believes an older `header` because a believed header at the next height names it as
    /// parent (walking back from the head needs no signatures).
    pub fn accept_ancestor(&mut self, header: Header) -> Result<(), VerifyError> {
        let height = header.height;
        let child = self.headers.get(&(height + 1)).ok_or(VerifyError::UnknownHeight(height + 1))?;
        if child.parent != header.hash() {
            return Err(VerifyError::NotParent(height));
        }
        if self.head().height.saturating_sub(height) > MAX_WALK_BACK {
            return Err(VerifyError::Unprovable(format!(
                "#{height} is more than {MAX_WALK_BACK} blocks behind the head"
            )));
        }
        self.remember(header);
        Ok(())
    }

    fn remember(&mut self, header: Header) {
        self.headers.insert(header.height, header);
        while self.headers.len() > KEEP_HEADERS {
            // The anchor (genesis or the checkpoint header) stays; the oldest other header goes.
            let oldest = self.headers.keys().nth(1).copied();
            if let Some(h) = oldest {
                self.headers.remove(&h);
            }
        }
    }

    /// The heights from just below the head down to `height` whose headers are not yet
    /// believed (to fetch for [`Chain::accept_ancestor`], newest first; none above the head),
    /// refused beyond [`MAX_WALK_BACK`].
    pub fn missing(&self, height: u64) -> Result<Vec<u64>, VerifyError> {
        let head = self.head().height;
        if head.saturating_sub(height) > MAX_WALK_BACK {
            return Err(VerifyError::Unprovable(format!(
                "#{height} is more than {MAX_WALK_BACK} blocks behind the head #{head}"
            )));
        }
        Ok((height..head).rev().filter(|h| !self.headers.contains_key(h)).collect())
    }

    /// The chain's block time as its two newest believed headers show it.
    pub fn block_interval_ms(&self) -> u64 {
        let mut newest = self.headers.values().rev();
        match (newest.next(), newest.next()) {
            (Some(newer), Some(older)) => crate::fresh::block_interval_ms(older, newer),
            _ => crate::fresh::DEFAULT_BLOCK_MS,
        }
    }

    /// The certified header at `height`, if believed and kept.
    pub fn header(&self, height: u64) -> Option<&Header> {
        self.headers.get(&height)
    }

    /// The receipt of transaction `tx` from a `chain_block` reply, believed only if the block's
    /// receipts hash to the receipts root of the certified header at its height (`None`: the
    /// block is proven not to hold it).
    pub fn receipt(
        &self,
        block: &Value,
        tx: &tao_types::Hash,
    ) -> Result<Proven<Option<Receipt>>, VerifyError> {
        use crate::rpc::{borsh_of, malformed, typed};
        let block: tao_rpc::BlockReceipts = typed(block, "block")?;
        let height = block.header.height;
        let header = self.header(height).ok_or(VerifyError::UnknownHeight(height))?;
        if block.receipts.len() > crate::MAX_BLOCK_TXS {
            return Err(malformed("block", format!("more than {} receipts", crate::MAX_BLOCK_TXS)));
        }
        let receipts = block
            .receipts
            .iter()
            .map(|r| borsh_of(&r.encoded, "receipt", crate::MAX_RECEIPT_BYTES))
            .collect::<Result<Vec<Receipt>, _>>()?;
        if merkle_root(&receipts.iter().map(Receipt::hash).collect::<Vec<_>>()) != header.receipts_root {
            return Err(VerifyError::BadProof { what: format!("the receipts of block #{height}"), height });
        }
        Ok(Proven { value: receipts.into_iter().find(|r| r.tx == *tx), height })
    }

    /// Checks `value` under `key` against the state root certified at `height`.
    pub fn verify(
        &self,
        what: &str,
        height: u64,
        key: &[u8],
        value: Option<&[u8]>,
        proof: &tao_state::StateProof,
    ) -> Result<(), VerifyError> {
        let header = self.header(height).ok_or(VerifyError::UnknownHeight(height))?;
        tao_state::verify(&header.state_root, key, value, proof)
            .map_err(|_| VerifyError::BadProof { what: what.to_string(), height })
    }

    /// The value a `state_get` `reply` proves under `key` at `height`, checked against the
    /// state root certified there. The key is the caller's, never the node's: a reply about
    /// another key, or at another height, is refused.
    pub fn state_value(
        &self,
        key: &[u8],
        height: u64,
        reply: &Value,
    ) -> Result<Option<Vec<u8>>, VerifyError> {
        use crate::rpc::{hex0x, malformed, typed};
        let what = crate::keys::describe(key);
        let reply: tao_rpc::Proven = typed(reply, &what)?;
        if reply.height != height {
            return Err(malformed(&what, format!("answered at {} instead of #{height}", reply.height)));
        }
        if reply.key.0 != key {
            return Err(VerifyError::Contradiction {
                what,
                claimed: hex0x(&reply.key.0),
                proven: hex0x(key),
            });
        }
        let proof = reply.proof.ok_or_else(|| malformed(&what, "proof: missing"))?;
        let proof =
            tao_state::StateProof::decode(&proof.0).map_err(|e| malformed(&what, format!("proof: {e}")))?;
        let value = reply.value.map(|v| v.0);
        self.verify(&what, height, key, value.as_deref(), &proof)?;
        Ok(value)
    }
}
