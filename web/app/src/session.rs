//! What the root shares with every screen: the verified chain, the vault, the selected account,
//! the history, and `act`, the one way a screen changes any of it (or navigates).

use std::ops::Deref;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use tao_types::{Address, Hash, NetUid};
use tao_wallet::tx::{self, Draft, Preview};
use tao_wallet::vault::{Vault, VaultFile};
use tao_wallet::views::{AccountView, Position};
use tao_wallet::{Chain, Proven, VerifyError};
use yew::Callback;

/// Which screen is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Welcome,
    Unlock,
    Accounts,
    Send,
    Receive,
    Stake,
    Subnets,
    Subnet(NetUid),
    Deploy,
    History,
    Settings,
    Review,
}

impl Screen {
    /// Screens that show the selected account's balance or need its proven nonce (History's
    /// speed-up and cancel), which the root keeps read. Not the locked screen: nothing
    /// account-specific shows while locked.
    pub fn shows_account(self) -> bool {
        matches!(self, Screen::Accounts | Screen::Send | Screen::Stake | Screen::Receive | Screen::History)
    }
}

/// A value being fetched, verified, or refused with the reason.
#[derive(Debug, Clone, PartialEq)]
pub enum Load<T> {
    Idle,
    Loading,
    Ready(Proven<T>),
    Failed(String),
}

impl<T> Load<T> {
    pub fn from(result: Result<Proven<Result<T, String>>, VerifyError>) -> Self {
        match result {
            Ok(Proven { value: Ok(value), height }) => Load::Ready(Proven { value, height }),
            Ok(Proven { value: Err(e), .. }) => Load::Failed(e),
            Err(e) => Load::Failed(e.to_string()),
        }
    }
}

/// A signed transaction, recorded before it is submitted: once signed it can execute until
/// its nonce is used on chain, whatever the node answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub hash: Hash,
    pub what: String,
    pub from: Address,
    /// When it was signed, in milliseconds since the epoch (0 in entries from before times were kept).
    #[serde(default)]
    pub at_ms: u64,
    /// What is known: `pending`, the node's word (`node: …`), or the proven outcome.
    pub status: String,
    /// Whether `status` is the outcome proven from the block's receipts (then it is final).
    #[serde(default)]
    pub proven: bool,
    /// The nonce it was signed at.
    #[serde(default)]
    pub nonce: Option<u64>,
    /// The signed transaction (`0x` hex), for a speed-up or cancel at its nonce.
    #[serde(default)]
    pub tx: Option<String>,
}

impl HistoryEntry {
    /// The entry for `signed`, described as `what`, before it is submitted.
    pub fn signed(signed: &tao_tx::SignedTransaction, what: String) -> Self {
        HistoryEntry {
            hash: signed.hash(),
            what,
            from: signed.tx.sender,
            at_ms: crate::store::now_ms(),
            status: "signed, submitting…".into(),
            proven: false,
            nonce: Some(signed.tx.nonce),
            tx: Some(tao_wallet::rpc::hex0x(&signed.encode())),
        }
    }
}

/// What the wallet signed for `sender`: the nonce policy's input (`tx::next_nonce`).
pub fn signed_by(history: &[HistoryEntry], sender: Address) -> Vec<tx::Signed> {
    let mine = history.iter().filter(|e| e.from == sender);
    mine.filter_map(|e| e.nonce.map(|nonce| tx::Signed { nonce, hash: e.hash })).collect()
}

/// A transaction a screen asks to review: what it is in words, and the draft.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub what: String,
    /// The slippage limit the draft carries, in words.
    pub limit: Option<String>,
    pub draft: Draft,
    pub position: Option<Position>,
    /// A stake or unstake priced in the preview's own run (its draft then replaces `draft`).
    pub order: Option<Order>,
}

/// A stake (`buying`) or unstake of `amount` on the request's position, its limit from the
/// proven pool: `slippage_bps` if the user typed one, else the order's impact plus a margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    pub buying: bool,
    pub amount: u64,
    pub slippage_bps: Option<u16>,
}

/// A transaction under review: the request, its preview on proven state, the proven contract.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    /// The account that signs: the one the preview ran as.
    pub sender: Address,
    /// Its next nonce, proven in the same state as the preview.
    pub nonce: u64,
    pub request: Request,
    pub contract: Hash,
    /// Which code computed the preview, one line per module.
    pub code: Vec<String>,
    pub preview: Proven<Preview>,
    /// A warning about the order's slippage tolerance.
    pub warning: Option<String>,
}

/// What a screen asks of the root.
#[derive(Clone)]
pub enum Action {
    /// Show another screen (clears the notice).
    Go(Screen),
    /// Show (or clear) the notice or error line.
    Notice(Option<Result<String, String>>),
    /// Show (or clear) the "working…" line.
    Busy(Option<String>),
    Select(Address),
    /// A vault was created or imported: it is sealed, stored and becomes the session's.
    Open(Vault),
    /// The stored vault was unlocked.
    Unlocked(Vault),
    /// Seal and store a changed vault, then say `.1`.
    SaveVault(Vault, String),
    Lock,
    ForgetWallet,
    /// Preview a transaction, then show it for confirmation.
    Review(Request),
    /// A transaction was signed: recorded before it is submitted.
    Signed(HistoryEntry),
    /// What the node answered to the submission of a signed transaction.
    Submitted(Hash, Result<(), String>),
    /// The node was changed in Settings (its URL, stored): reconnect under the same genesis.
    Reconnect(String),
    /// Trust the next genesis the node announces.
    ForgetGenesis,
}

/// The shared state the root owns and screens read.
#[derive(Clone)]
pub struct Session {
    pub chain: Option<Chain>,
    pub pinned: Option<Hash>,
    pub file: Option<VaultFile>,
    pub vault: Option<Vault>,
    pub selected: Option<Address>,
    pub account: Load<AccountView>,
    pub history: Vec<HistoryEntry>,
    pub act: Callback<Action>,
}

impl Session {
    /// The believed head, if any: screens re-read what they show when it changes.
    pub fn head(&self) -> Option<(Hash, u64)> {
        self.chain.as_ref().map(|c| (c.domain().genesis_hash, c.head().height))
    }

    /// Whether `self` believes a head `old` did not.
    pub fn newer_than(&self, old: &Session) -> bool {
        self.head().is_some() && self.head() != old.head()
    }
}

/// The session as screens receive it: a new value whenever the root changed it, so props
/// compare by pointer, not by content.
#[derive(Clone)]
pub struct Shared(pub Rc<Session>);

impl PartialEq for Shared {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl Deref for Shared {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.0
    }
}

/// The properties of a screen that needs only the session.
#[derive(Clone, PartialEq, yew::Properties)]
pub struct Props {
    pub session: Shared,
}
