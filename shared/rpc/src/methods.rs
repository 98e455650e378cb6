//! Each method's reply, in the order of docs/rpc.md's table.

use serde::{Deserialize, Serialize};
use tao_types::{Address, Hash};

use crate::{Bytes, Decimal, Method, Proven, ProvenAs};

/// Declares the marker type of a method with its name and reply type.
macro_rules! method {
    ($(#[$doc:meta])* $marker:ident, $name:literal, $reply:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $marker;
        impl Method for $marker {
            const NAME: &'static str = $name;
            type Reply = $reply;
        }
    };
}

method!(
    /// `chain_info []`.
    ChainInfoMethod, "chain_info", ChainInfo
);
method!(
    /// `chain_header [height?]`.
    ChainHeaderMethod, "chain_header", ChainHeader
);
method!(
    /// `chain_validators [height]`.
    ChainValidatorsMethod, "chain_validators", ChainValidators
);
method!(
    /// `chain_block [height?]`.
    ChainBlockMethod, "chain_block", ChainBlock
);
method!(
    /// `state_get [key, height?]`.
    StateGetMethod, "state_get", Proven
);
method!(
    /// `account_get [address, height?]`.
    AccountGetMethod, "account_get", Account
);
method!(
    /// `subnet_get [netuid, height?]`.
    SubnetGetMethod, "subnet_get", Subnet
);
method!(
    /// `stake_get [coldkey, hotkey, netuid, height?]`.
    StakeGetMethod, "stake_get", Stake
);
method!(
    /// `pool_get [netuid, height?]`.
    PoolGetMethod, "pool_get", Pool
);
method!(
    /// `gov_proposal [id, height?]`.
    GovProposalMethod, "gov_proposal", GovProposal
);
method!(
    /// `pool_quote [netuid, "buy"|"sell", amount, height?]`.
    PoolQuoteMethod, "pool_quote", PoolQuote
);
method!(
    /// `subnet_metagraph [netuid, height?]`.
    SubnetMetagraphMethod, "subnet_metagraph", Metagraph
);
method!(
    /// `neuron_get [netuid, uid, height?]`.
    NeuronGetMethod, "neuron_get", NeuronReply
);
method!(
    /// `module_list []`.
    ModuleListMethod, "module_list", Vec<ModuleEntry>
);
method!(
    /// `contract_query [module, entry, input hex]`.
    ContractQueryMethod, "contract_query", QueryOutput
);
method!(
    /// `tx_submit [signed transaction hex]`: the transaction's hash.
    TxSubmitMethod, "tx_submit", Hash
);
method!(
    /// `tx_status [hash]`.
    TxStatusMethod, "tx_status", TxStatus
);

/// `chain_subscribeHeads` (notifications `chain_head`).
pub const SUBSCRIBE_HEADS: (&str, &str, &str) =
    ("chain_subscribeHeads", "chain_head", "chain_unsubscribeHeads");
/// `chain_subscribeFinalizedHeads` (notifications `chain_finalizedHead`), each a [`HeaderView`].
pub const SUBSCRIBE_FINALIZED_HEADS: (&str, &str, &str) =
    ("chain_subscribeFinalizedHeads", "chain_finalizedHead", "chain_unsubscribeFinalizedHeads");

/// What `chain_info` answers: a node's word (clients take the chain id from the pinned genesis
/// header, never from here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainInfo {
    /// The chain id the node claims.
    pub chain_id: u64,
    /// Its genesis hash.
    pub genesis_hash: Hash,
    /// Its head's height.
    pub height: u64,
    /// Its head's hash.
    pub head: Hash,
    /// The validator set it lists.
    pub validators: Vec<ValidatorKey>,
    /// The head as a checkpoint (`HEIGHT:0xHASH`) another client may start from: given by
    /// `tao light` for the head it believed (a node's is its word).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

/// What `chain_validators` answers: the set that signs header `height` (believed only if it
/// hashes to what the header below names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainValidators {
    /// The header it signs.
    pub height: u64,
    /// The set.
    pub validators: Vec<ValidatorKey>,
}

/// A validator as `chain_info` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorKey {
    /// Its compressed secp256k1 key (33 bytes).
    pub key: Bytes,
    /// Its voting power.
    pub power: u64,
}

/// A header's fields for reading, and `encoded`, the borsh bytes a client verifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderView {
    /// Its hash.
    pub hash: Hash,
    /// Its chain id.
    pub chain_id: u64,
    /// Its parent's hash.
    pub parent: Hash,
    /// Its height.
    pub height: u64,
    /// Its time.
    pub time_ms: u64,
    /// The state root after it.
    pub state_root: Hash,
    /// Its transactions' root.
    pub txs_root: Hash,
    /// Its receipts' root.
    pub receipts_root: Hash,
    /// Its equivocation evidence's root.
    pub evidence_root: Hash,
    /// The validator set signing it.
    pub validators_hash: Hash,
    /// The set signing the next.
    pub next_validators_hash: Hash,
    /// Who proposed it.
    pub proposer: Address,
    /// The borsh header.
    pub encoded: Bytes,
}

/// A certificate's fields for reading, and `encoded`, its borsh bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateView {
    /// The header signed.
    pub header: Hash,
    /// Its height.
    pub height: u64,
    /// The round that decided it.
    pub round: u32,
    /// Validator index and 65-byte signature.
    pub signatures: Vec<(u32, Bytes)>,
    /// The borsh certificate.
    pub encoded: Bytes,
}

/// What `chain_header` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHeader {
    /// The header.
    pub header: HeaderView,
    /// Its certificate.
    pub certificate: CertificateView,
}

/// An event: topic and data.
pub type Event = (Bytes, Bytes);

/// How a transaction ended (as `tao_light::TxOutcome`: `"Ok"` or `{"Failed": why}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Its writes are in the state.
    Ok,
    /// Refused or failed; the fee was charged.
    Failed(String),
}

/// A receipt in `chain_block`: its fields and `encoded`, the borsh bytes under `receipts_root`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptView {
    /// The transaction's hash.
    pub tx: Hash,
    /// How it ended.
    pub outcome: Outcome,
    /// Rao charged.
    pub fee: u64,
    /// Gas used.
    pub gas_used: u64,
    /// Its events.
    pub events: Vec<Event>,
    /// The borsh receipt.
    pub encoded: Bytes,
}

/// What `chain_block` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainBlock {
    /// The header.
    pub header: HeaderView,
    /// Its certificate.
    pub certificate: CertificateView,
    /// Its transactions' hashes, in order.
    pub transactions: Vec<Hash>,
    /// Their receipts.
    pub receipts: Vec<ReceiptView>,
    /// Its equivocation evidence, each a borsh `tao_light::Equivocation` (hashed under
    /// `evidence_root`).
    #[serde(default)]
    pub evidence: Vec<Bytes>,
    /// The begin-block work's events (recorded by the node, not covered by the header).
    pub events: Vec<Event>,
}

/// What `account_get` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The account.
    pub address: Address,
    /// The height read.
    pub height: u64,
    /// The state root there.
    pub root: Option<Hash>,
    /// Its balance in rao.
    pub balance: u64,
    /// Its next nonce on chain.
    pub nonce: u64,
    /// Its next nonce counting pending transactions (the mempool's view, not provable).
    pub pending_nonce: u64,
    /// The proofs of both.
    pub proofs: AccountProofs,
}

/// The proofs of an account's balance (little-endian `u64`) and nonce (big-endian `u64`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountProofs {
    /// The balance's.
    pub balance: Proven,
    /// The nonce's.
    pub nonce: Proven,
}

/// What `subnet_get` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    /// The subnet.
    pub netuid: u16,
    /// The height read.
    pub height: u64,
    /// Its `SubnetInfo` (borsh), proven.
    pub info: Proven,
    /// Every hyperparameter, proven.
    pub hyperparameters: Vec<Hyperparameter>,
}

/// A hyperparameter, proven, with its name and the value in effect (an absent one's default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hyperparameter {
    /// The stored value and its proof.
    #[serde(flatten)]
    pub stored: ProvenAs<u64>,
    /// Its name.
    pub name: String,
    /// The value in effect.
    pub effective: u64,
}

/// What `stake_get` answers: stake = shares · pool_stake / pool_shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stake {
    /// The staker.
    pub coldkey: Address,
    /// The hotkey staked to.
    pub hotkey: Address,
    /// The subnet.
    pub netuid: u16,
    /// The height read.
    pub height: u64,
    /// The coldkey's stake (alpha).
    pub stake: u64,
    /// The hotkey's pool: its stake.
    pub pool_stake: u64,
    /// Its shares.
    pub pool_shares: Decimal,
    /// The coldkey's shares of it.
    pub shares: Decimal,
    /// The proofs of the pool and the shares.
    pub proofs: StakeProofs,
}

/// The proofs behind a [`Stake`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StakeProofs {
    /// The hotkey's pool.
    pub pool: Proven,
    /// The coldkey's shares.
    pub shares: Proven,
}

/// What `pool_get` answers: the subnet's pool, decoded from the proven `SubnetPool`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool {
    /// The subnet.
    pub netuid: u16,
    /// The height read.
    pub height: u64,
    /// TAO in the pool (rao).
    pub tao: u64,
    /// Alpha in the pool.
    pub alpha_in: u64,
    /// Alpha outstanding.
    pub alpha_out: u64,
    /// Alpha emission pending.
    pub pending: u64,
    /// The owner's pending cut.
    pub pending_owner: u64,
    /// When the pool was created.
    pub created_at: u64,
    /// Spot price, rao per alpha.
    pub spot_price: u64,
    /// Moving price, rao per alpha.
    pub moving_price: u64,
    /// The pool's proof.
    pub proof: Proven,
}

/// What `pool_quote` answers: the swap computed from the proven pool returned with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolQuote {
    /// The subnet.
    pub netuid: u16,
    /// The height read.
    pub height: u64,
    /// What goes in.
    pub input: u64,
    /// The fee taken.
    pub fee: u64,
    /// What comes out.
    pub output: u64,
    /// Spot price before, rao per alpha.
    pub price_before: u64,
    /// Spot price after.
    pub price_after: u64,
    /// The pool it was computed from.
    pub pool: Pool,
}

/// What `gov_proposal` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GovProposal {
    /// The proposal.
    pub id: u32,
    /// The height read.
    pub height: u64,
    /// Who proposed it.
    pub proposer: Address,
    /// What it does, in words.
    pub action: String,
    /// Where it stands, in words.
    pub status: String,
    /// Its deposit (rao).
    pub deposit: u64,
    /// Created at this block.
    pub created_at: u64,
    /// Voting ends at this block.
    pub ends_at: u64,
    /// Stake for and against.
    pub tally: [Decimal; 2],
    /// The proposal's proof.
    pub proof: Proven,
}

/// What `subnet_metagraph` answers: the proven UID count and every UID's neuron and scores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metagraph {
    /// The subnet.
    pub netuid: u16,
    /// The height read.
    pub height: u64,
    /// The UID count, proven.
    pub count: ProvenAs<u16>,
    /// Each UID in order.
    pub neurons: Vec<NeuronProofs>,
}

/// A UID's neuron and last-epoch scores, proven.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeuronProofs {
    /// The UID.
    pub uid: u16,
    /// Its `Neuron` (borsh).
    pub neuron: Proven,
    /// Its `Scores` (borsh).
    pub scores: Proven,
}

/// What `neuron_get` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeuronReply {
    /// The subnet.
    pub netuid: u16,
    /// The UID.
    pub uid: u16,
    /// The height read.
    pub height: u64,
    /// Its `Neuron` (borsh), proven.
    pub neuron: Proven,
    /// Its `Scores` (borsh), proven.
    pub scores: Proven,
}

/// A system module in `module_list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleEntry {
    /// Its name.
    pub name: String,
    /// Its code hash (what transactions call).
    pub code_hash: Hash,
}

/// What `contract_query` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryOutput {
    /// The head height it ran at.
    pub height: u64,
    /// The entry point's output.
    pub output: Bytes,
}

/// What `tx_status` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TxStatus {
    /// Waiting in the mempool.
    Pending,
    /// In a finalized block.
    Finalized {
        /// Its height.
        height: u64,
        /// Its position there (the node's word: `tao light`, which proves the receipt but not
        /// its position, leaves it out).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        index: Option<u32>,
        /// Its receipt (absent only if the block no longer holds it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        receipt: Option<ReceiptSummary>,
    },
    /// Removed from the mempool without being included.
    Dropped {
        /// Why.
        reason: String,
    },
    /// Never seen, or forgotten.
    Unknown,
}

/// A receipt as `tx_status` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptSummary {
    /// How it ended.
    pub outcome: Outcome,
    /// Rao charged.
    pub fee: u64,
    /// Gas used.
    pub gas_used: u64,
    /// Its events.
    pub events: Vec<Event>,
}

/// The part of a reply a verifying client reads: the borsh bytes it checks. The readable fields
/// beside them are the node's word, so such a client ignores them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encoded {
    /// The borsh bytes.
    pub encoded: Bytes,
}

/// `chain_header` as a verifying client reads it: [`ChainHeader`]'s encoded bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderBytes {
    /// The header's.
    pub header: Encoded,
    /// The certificate's.
    pub certificate: Encoded,
}

/// `chain_block` as a verifying client reads it for receipts: [`ChainBlock`]'s height (checked
/// against the certified header there) and its receipts' encoded bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockReceipts {
    /// The header's height.
    pub header: HeightOnly,
    /// The receipts' bytes.
    pub receipts: Vec<Encoded>,
}

/// A header's height alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeightOnly {
    /// The height.
    pub height: u64,
}
