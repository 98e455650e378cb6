//! The wallet's state and what each user action does. Screens (`screens.rs`) only render it.

use std::collections::BTreeMap;

use gloo_storage::Storage;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tao_types::{Address, Balance, Hash, NetUid};
use tao_wallet::proven::Context as RunContext;
use tao_wallet::tx::{self, Draft, Preview};
use tao_wallet::vault::{AutoLock, Vault, VaultFile};
use tao_wallet::views::{self, AccountView, EpochCheck, NeuronRow, Position, SubnetRow, SubnetView};
use tao_wallet::{Chain, Proven, VerifyError, rpc};
use yew::prelude::*;

use crate::{node, store};

/// Wait before re-subscribing to heads after the socket dropped.
const RECONNECT_MS: u32 = 3_000;

/// Period of the ticker driving the auto-lock and the head's age.
const TICK_MS: u32 = 1_000;

/// Idle time before the wallet locks itself.
pub const AUTO_LOCK_MS: u64 = 15 * 60 * 1000;

/// Which screen is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Welcome,
    ShowMnemonic,
    ConfirmMnemonic,
    Import,
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

/// A value being fetched, verified, or refused with the reason.
#[derive(Debug, Clone, PartialEq)]
pub enum Load<T> {
    Idle,
    Loading,
    Ready(Proven<T>),
    Failed(String),
}

impl<T> Load<T> {
    fn from(result: Result<Proven<Result<T, String>>, VerifyError>) -> Self {
        match result {
            Ok(Proven { value: Ok(value), height }) => Load::Ready(Proven { value, height }),
            Ok(Proven { value: Err(e), .. }) => Load::Failed(e),
            Err(e) => Load::Failed(e.to_string()),
        }
    }
}

/// A submitted transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub hash: Hash,
    pub what: String,
    pub from: Address,
    /// What is known: `pending`, the node's word (`node: …`), or the proven outcome.
    pub status: String,
    /// Whether `status` is the outcome proven from the block's receipts (then it is final).
    #[serde(default)]
    pub proven: bool,
}

/// A transaction under review: the draft, its preview on proven state, the proven contract.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    /// The account that signs: the one the preview ran as.
    pub sender: Address,
    /// Its next nonce, proven in the same state as the preview.
    pub nonce: u64,
    pub what: String,
    /// The slippage limit the draft carries, in words.
    pub limit: Option<String>,
    pub draft: Draft,
    pub position: Option<Position>,
    pub contract: Hash,
    pub preview: Proven<Preview>,
}

pub enum Msg {
    Connected(Result<Chain, VerifyError>),
    Head(u64),
    HeadAccepted(Result<Chain, VerifyError>),
    Followed(String),
    Go(Screen),
    Input(&'static str, String),
    NewMnemonic,
    FinishCreate,
    FinishImport,
    Unlock,
    Lock,
    Activity,
    Tick,
    Select(Address),
    Account(Address, Load<AccountView>),
    Subnets(Load<Vec<SubnetRow>>),
    Subnet(NetUid, Load<(Option<SubnetView>, Vec<NeuronRow>)>),
    Max,
    ReviewSend,
    ReviewStake(&'static str),
    ReviewDeploy,
    Reviewed(Result<Review, String>),
    Sign,
    Submitted(Result<HistoryEntry, String>),
    Status(Hash, String, bool),
    CodeLoaded(Result<Vec<u8>, String>),
    CheckEpoch(NetUid),
    EpochChecked(NetUid, Result<EpochCheck, String>),
    Export,
    ExportKeystore,
    AddAccount,
    AddHotkey,
    ForgetWallet,
    ForgetGenesis,
    UseNode(bool),
    /// The user accepted the unknown chain shown.
    TrustChain,
}

pub struct App {
    pub chain: Option<Chain>,
    pub chain_error: Option<String>,
    pub pinned: Option<Hash>,
    pub file: Option<VaultFile>,
    pub vault: Option<Vault>,
    pub screen: Screen,
    pub selected: Option<Address>,
    pub account: Load<AccountView>,
    pub subnets: Load<Vec<SubnetRow>>,
    pub subnet: Load<(Option<SubnetView>, Vec<NeuronRow>)>,
    pub epoch: Option<Result<EpochCheck, String>>,
    pub form: BTreeMap<&'static str, String>,
    pub mnemonic: Option<String>,
    pub confirm_positions: [usize; 3],
    pub review: Option<Result<Review, String>>,
    pub history: Vec<HistoryEntry>,
    pub positions: BTreeMap<Address, Vec<Position>>,
    pub code: Option<Vec<u8>>,
    pub busy: Option<String>,
    pub notice: Option<Result<String, String>>,
    pub auto_lock: AutoLock,
    /// A chain met on first use without a checkpoint, until the user accepts it.
    pub unknown_chain: Option<crate::trust::Unknown>,
    /// Local time when the believed head last advanced (for the stale warning).
    pub head_seen_ms: u64,
    /// A head newer than the believed one was announced, and whether a catch-up is under way.
    /// Announced heights are only a hint: the catch-up asks for the node's head and believes
    /// it only with its certificate.
    head_announced: bool,
    catching_up: bool,
    /// Screen reads under way (a new head does not start more while one runs).
    reads_in_flight: u32,
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &yew::Context<Self>) -> Self {
        let pinned: Option<Hash> = store::load::<String>(store::GENESIS).and_then(|s| s.parse().ok());
        let file: Option<VaultFile> = store::load(store::VAULT);
        ctx.link().send_future(async move { Msg::Connected(node::connect(pinned).await) });
        let link = ctx.link().clone();
        // Follow the heads for as long as the page lives: a dropped socket (node restart,
        // network) is reported, then retried every few seconds.
        wasm_bindgen_futures::spawn_local(async move {
            loop {
                let heads = link.clone();
                let end = node::follow(move |h| heads.send_message(Msg::Head(h))).await;
                link.send_message(Msg::Followed(end.err().unwrap_or_default()));
                gloo_timers::future::TimeoutFuture::new(RECONNECT_MS).await;
            }
        });
        let ticker = ctx.link().clone();
        wasm_bindgen_futures::spawn_local(async move {
            loop {
                gloo_timers::future::TimeoutFuture::new(TICK_MS).await;
                ticker.send_message(Msg::Tick);
            }
        });
        let screen = if file.is_some() { Screen::Unlock } else { Screen::Welcome };
        let selected = file.as_ref().and_then(|f| f.accounts.first().map(|a| a.address));
        App {
            chain: None,
            chain_error: None,
            pinned,
            file,
            vault: None,
            screen,
            selected,
            account: Load::Idle,
            subnets: Load::Idle,
            subnet: Load::Idle,
            epoch: None,
            form: default_form(),
            mnemonic: None,
            confirm_positions: [0, 1, 2],
            review: None,
            history: store::load(store::HISTORY).unwrap_or_default(),
            positions: store::load(store::POSITIONS).unwrap_or_default(),
            code: None,
            busy: None,
            notice: None,
            auto_lock: AutoLock::new(AUTO_LOCK_MS, store::now_ms()),
            unknown_chain: None,
            head_seen_ms: store::now_ms(),
            head_announced: false,
            catching_up: false,
            reads_in_flight: 0,
        }
    }

    fn update(&mut self, ctx: &yew::Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Connected(Ok(chain)) => {
                if self.pinned.is_none() {
                    let genesis = chain.domain().genesis_hash;
                    self.pinned = Some(genesis);
                    let _ = store::save(store::GENESIS, &genesis.to_string());
                }
                self.chain = Some(chain);
                self.chain_error = None;
                self.unknown_chain = None;
                self.head_seen_ms = store::now_ms();
                self.refresh(ctx);
            }
            Msg::Connected(Err(VerifyError::UnknownChain { genesis_hash, chain_id })) => {
                // Nothing is pinned or retried until the user decides.
                self.unknown_chain = Some(crate::trust::Unknown { genesis_hash, chain_id });
            }
            Msg::TrustChain => {
                if let Some(unknown) = self.unknown_chain.take() {
                    self.pinned = Some(unknown.genesis_hash);
                    let _ = store::save(store::GENESIS, &unknown.genesis_hash.to_string());
                    let pinned = self.pinned;
                    ctx.link().send_future(async move { Msg::Connected(node::connect(pinned).await) });
                }
            }
            Msg::Connected(Err(e)) => {
                self.chain_error = Some(format!("{e}; retrying…"));
                let pinned = self.pinned;
                ctx.link().send_future(async move {
                    gloo_timers::future::TimeoutFuture::new(RECONNECT_MS).await;
                    Msg::Connected(node::connect(pinned).await)
                });
            }
            Msg::Head(height) => {
                if self.chain.as_ref().is_some_and(|c| height > c.head().height) {
                    self.head_announced = true;
                    self.catch_up(ctx);
                }
                return false;
            }
            Msg::HeadAccepted(Ok(chain)) => {
                self.catching_up = false;
                let same_chain = Some(chain.domain().genesis_hash) == self.pinned;
                let newer =
                    same_chain && self.chain.as_ref().is_none_or(|c| chain.head().height > c.head().height);
                if newer {
                    self.head_seen_ms = store::now_ms();
                    self.chain = Some(chain);
                    self.chain_error = None;
                    self.refresh_on_head(ctx);
                    self.poll_history(ctx);
                }
                self.catch_up(ctx);
            }
            Msg::HeadAccepted(Err(e)) => {
                self.catching_up = false;
                self.chain_error = Some(e.to_string());
            }
            Msg::Followed(why) => {
                self.chain_error = Some(format!("not following the chain ({why}); reconnecting…"))
            }
            Msg::Go(screen) => {
                self.screen = screen;
                self.notice = None;
                self.epoch = None;
                self.refresh(ctx);
            }
            Msg::Input(field, value) => {
                self.form.insert(field, value);
                self.auto_lock.touch(store::now_ms());
                return true;
            }
            Msg::NewMnemonic => match (store::random(), store::random()) {
                (Ok(entropy), Ok(picks)) => {
                    self.mnemonic = Some(tao_crypto::hd::mnemonic_from_entropy(&entropy));
                    self.confirm_positions = tao_wallet::vault::confirmation_positions(12, picks);
                    self.screen = Screen::ShowMnemonic;
                }
                (Err(e), _) | (_, Err(e)) => self.notice = Some(Err(e)),
            },
            Msg::FinishCreate => self.finish_create(),
            Msg::FinishImport => self.finish_import(),
            Msg::Unlock => self.unlock(ctx),
            Msg::Lock => self.lock(),
            Msg::Activity => self.auto_lock.touch(store::now_ms()),
            Msg::Tick => {
                if self.vault.is_some() && self.auto_lock.due(store::now_ms()) {
                    self.lock();
                    self.notice = Some(Err("locked after 15 minutes without activity".into()));
                } else {
                    // The head's age (and staleness) changes with time alone.
                    return self.chain.is_some();
                }
            }
            Msg::Select(address) => {
                self.selected = Some(address);
                self.account = Load::Idle;
                self.refresh(ctx);
            }
            Msg::Account(address, load) => {
                self.reads_in_flight = self.reads_in_flight.saturating_sub(1);
                if Some(address) != self.selected {
                    return false;
                }
                self.account = load;
            }
            Msg::Subnets(load) => {
                self.reads_in_flight = self.reads_in_flight.saturating_sub(1);
                self.subnets = load;
            }
            Msg::Subnet(netuid, load) => {
                self.reads_in_flight = self.reads_in_flight.saturating_sub(1);
                if Some(netuid) != self.netuid() {
                    return false;
                }
                self.subnet = load;
            }
            Msg::Max => {
                if let Load::Ready(view) = &self.account {
                    let max = tx::max_sendable(view.value.free, tx::DEFAULT_FEE);
                    self.form.insert("amount", Balance(max).to_string().trim_end_matches(" τ").to_string());
                }
            }
            Msg::ReviewSend => self.review_send(ctx),
            Msg::ReviewStake(action) => self.review_stake(ctx, action),
            Msg::ReviewDeploy => match self.code.clone() {
                Some(code) => self.start_review(ctx, "deploy module".into(), None, Draft::deploy(code), None),
                None => self.notice = Some(Err("choose a .wasm file first".into())),
            },
            Msg::Reviewed(review) => {
                self.busy = None;
                self.review = Some(review);
                self.screen = Screen::Review;
            }
            Msg::Sign => self.sign(ctx),
            Msg::Submitted(Ok(entry)) => {
                self.busy = None;
                self.history.insert(0, entry);
                self.history.truncate(200);
                let _ = store::save(store::HISTORY, &self.history);
                self.review = None;
                self.screen = Screen::History;
            }
            Msg::Submitted(Err(e)) => {
                self.busy = None;
                self.notice = Some(Err(e));
            }
            Msg::Status(hash, status, proven) => {
                if let Some(entry) = self.history.iter_mut().find(|e| e.hash == hash && !e.proven) {
                    entry.status = status;
                    entry.proven = proven;
                }
                let _ = store::save(store::HISTORY, &self.history);
            }
            Msg::CodeLoaded(Ok(code)) => self.code = Some(code),
            Msg::CodeLoaded(Err(e)) => self.notice = Some(Err(e)),
            Msg::CheckEpoch(netuid) => self.check_epoch(ctx, netuid),
            Msg::EpochChecked(netuid, result) => {
                self.busy = None;
                if self.screen == Screen::Subnet(netuid) {
                    self.epoch = Some(result);
                }
            }
            Msg::Export => self.export(),
            Msg::ExportKeystore => self.export_keystore(),
            Msg::AddAccount => self.add_account(),
            Msg::AddHotkey => self.add_hotkey(),
            Msg::ForgetGenesis => {
                gloo_storage::LocalStorage::delete(store::GENESIS);
                self.pinned = None;
                self.chain = None;
                self.account = Load::Idle;
                ctx.link().send_future(async { Msg::Connected(node::connect(None).await) });
                self.notice = Some(Ok("the next chain met is pinned if the wallet ships its checkpoint; \
                    otherwise you are asked first, with its genesis hash"
                    .into()));
            }
            Msg::UseNode(custom) => {
                let chosen =
                    if custom { node::parse_url(&self.field("node_url")).map(Some) } else { Ok(None) };
                let saved = chosen.and_then(|url| match url {
                    Some(url) => store::save(store::NODE, &url).map(|()| url),
                    None => {
                        gloo_storage::LocalStorage::delete(store::NODE);
                        Ok(node::url())
                    }
                });
                match saved {
                    Ok(url) => {
                        // Same pinned genesis: a node of another chain is refused, as any would be.
                        self.chain = None;
                        self.account = Load::Idle;
                        let pinned = self.pinned;
                        ctx.link().send_future(async move { Msg::Connected(node::connect(pinned).await) });
                        self.notice = Some(Ok(format!("talking to {url}")));
                    }
                    Err(e) => self.notice = Some(Err(e)),
                }
            }
            Msg::ForgetWallet => {
                // Destructive: the first press only warns.
                if self.form.insert("confirm_forget", "yes".into()).is_none() {
                    self.notice = Some(Err("this deletes the sealed keys from this browser: without the \
                        recovery phrase or a key backup the funds are lost. Press Forget again to confirm."
                        .into()));
                    return true;
                }
                gloo_storage::LocalStorage::delete(store::VAULT);
                self.form = default_form();
                self.file = None;
                self.vault = None;
                self.screen = Screen::Welcome;
            }
        }
        true
    }

    fn view(&self, ctx: &yew::Context<Self>) -> Html {
        crate::screens::page(self, ctx)
    }
}

impl App {
    pub fn field(&self, name: &str) -> String {
        self.form.get(name).cloned().unwrap_or_default()
    }

    /// Believes the newest announced head, one catch-up at a time (a fast chain announces
    /// heads faster than they need checking; the newest one is enough).
    fn catch_up(&mut self, ctx: &yew::Context<Self>) {
        let Some(chain) = self.chain.clone() else { return };
        if self.catching_up || !self.head_announced {
            return;
        }
        self.catching_up = true;
        self.head_announced = false;
        ctx.link().send_future(async move {
            let mut chain = chain;
            let result = node::catch_up(&mut chain, None).await.map(|_| chain);
            Msg::HeadAccepted(result)
        });
    }

    /// After a new head: re-reads the screen unless a read is still under way (the next head
    /// brings a fresh one).
    fn refresh_on_head(&mut self, ctx: &yew::Context<Self>) {
        if self.reads_in_flight == 0 {
            self.refresh(ctx);
        }
    }

    /// Re-reads what the current screen shows at the newest believed height.
    fn refresh(&mut self, ctx: &yew::Context<Self>) {
        let Some(chain) = self.chain.clone() else { return };
        let height = chain.head().height;
        match self.screen {
            Screen::Accounts | Screen::Send | Screen::Stake | Screen::Receive | Screen::Unlock => {
                let Some(address) = self.selected else { return };
                if matches!(self.account, Load::Idle) {
                    self.account = Load::Loading;
                }
                let tracked = self.positions.get(&address).cloned().unwrap_or_default();
                let for_subnet = chain.clone();
                self.reads_in_flight += 1;
                ctx.link().send_future(async move {
                    let read = node::read(&chain, height, RunContext::default(), |h| {
                        views::account(h, &address, &tracked)
                    });
                    Msg::Account(address, Load::from(read.await))
                });
                if self.screen == Screen::Stake {
                    self.load_subnet(ctx, for_subnet);
                }
            }
            Screen::Subnets => {
                if matches!(self.subnets, Load::Idle) {
                    self.subnets = Load::Loading;
                }
                self.reads_in_flight += 1;
                ctx.link().send_future(async move {
                    Msg::Subnets(Load::from(
                        node::read(&chain, height, RunContext::default(), |h| views::subnets(h)).await,
                    ))
                });
            }
            Screen::Subnet(_) => self.load_subnet(ctx, chain),
            _ => {}
        }
    }

    fn netuid(&self) -> Option<NetUid> {
        match self.screen {
            Screen::Subnet(n) => Some(n),
            _ => self.field("netuid").trim().parse().ok(),
        }
    }

    fn load_subnet(&mut self, ctx: &yew::Context<Self>, chain: Chain) {
        let Some(netuid) = self.netuid() else {
            self.subnet = Load::Failed("enter a subnet id".into());
            return;
        };
        let height = chain.head().height;
        let same =
            matches!(&self.subnet, Load::Ready(p) if p.value.0.as_ref().is_some_and(|s| s.netuid == netuid));
        if !same {
            self.subnet = Load::Loading;
        }
        self.reads_in_flight += 1;
        ctx.link().send_future(async move {
            let read = node::read(&chain, height, RunContext::default(), |h| {
                Ok::<_, String>((views::subnet(h, netuid)?, views::metagraph(h, netuid)?))
            });
            Msg::Subnet(netuid, Load::from(read.await))
        });
    }

    /// Seals and stores `vault`; only a stored vault becomes the wallet's (a key that exists
    /// only in memory would be lost on reload).
    fn save_vault(&mut self, vault: Vault) -> Result<(), String> {
        let file = vault.seal(store::fresh()?).map_err(|e| e.to_string())?;
        store::save(store::VAULT, &file)?;
        self.selected = self.selected.or_else(|| file.accounts.first().map(|a| a.address));
        self.file = Some(file);
        self.vault = Some(vault);
        Ok(())
    }

    fn open(&mut self, vault: Result<Vault, tao_wallet::vault::VaultError>) {
        match vault {
            Ok(vault) => {
                self.selected = vault.accounts().first().map(|a| a.address);
                if let Err(e) = self.save_vault(vault) {
                    self.notice = Some(Err(e));
                    return;
                }
                self.form = default_form();
                self.mnemonic = None;
                self.auto_lock = AutoLock::new(AUTO_LOCK_MS, store::now_ms());
                self.screen = Screen::Accounts;
                self.account = Load::Idle;
            }
            // The typed input stays in the form: a mistake costs no retyping.
            Err(e) => self.notice = Some(Err(e.to_string())),
        }
    }

    fn new_password(&self) -> Result<String, String> {
        let password = self.field("new_password");
        if password != self.field("new_password2") {
            return Err("the two passwords differ".into());
        }
        Ok(password)
    }

    fn finish_create(&mut self) {
        let Some(phrase) = self.mnemonic.clone() else { return };
        let words: Vec<&str> = phrase.split(' ').collect();
        let typed = [self.field("word0"), self.field("word1"), self.field("word2")];
        for (i, position) in self.confirm_positions.iter().enumerate() {
            if typed[i].trim() != words.get(*position).copied().unwrap_or_default() {
                self.notice = Some(Err(format!("word #{} does not match your phrase", position + 1)));
                return;
            }
        }
        match self.new_password() {
            Ok(password) => self.open(Vault::from_mnemonic(&phrase, &password)),
            Err(e) => self.notice = Some(Err(e)),
        }
    }

    fn finish_import(&mut self) {
        let password = match self.new_password() {
            Ok(p) => p,
            Err(e) => return self.notice = Some(Err(e)),
        };
        let secret = self.field("import_secret");
        let vault = match self.field("import_kind").as_str() {
            "key" => {
                Vault::empty(&password).and_then(|mut v| v.import_private_key("Imported", &secret).map(|_| v))
            }
            "keystore" => Vault::empty(&password).and_then(|mut v| {
                v.import_keystore("Imported", &secret, &self.field("import_password")).map(|_| v)
            }),
            "watch" => {
                Vault::empty(&password).and_then(|mut v| v.add_watch_only("Watched", &secret).map(|_| v))
            }
            _ => Vault::from_mnemonic(&secret, &password),
        };
        self.open(vault);
    }

    fn unlock(&mut self, ctx: &yew::Context<Self>) {
        let Some(file) = &self.file else { return };
        match Vault::unlock(file, &self.field("password")) {
            Ok(vault) => {
                self.form.remove("password");
                self.vault = Some(vault);
                self.notice = None;
                self.auto_lock = AutoLock::new(AUTO_LOCK_MS, store::now_ms());
                self.screen = Screen::Accounts;
                self.refresh(ctx);
            }
            Err(e) => self.notice = Some(Err(e.to_string())),
        }
    }

    fn lock(&mut self) {
        self.vault = None;
        self.review = None;
        // Exported secrets shown as a notice must not outlive the unlocked session.
        self.notice = None;
        self.form = default_form();
        self.screen = Screen::Unlock;
    }

    /// The proven state the review runs on, at the newest believed height.
    fn start_review(
        &mut self,
        ctx: &yew::Context<Self>,
        what: String,
        limit: Option<String>,
        draft: Draft,
        position: Option<Position>,
    ) {
        let (Some(chain), Some(sender)) = (self.chain.clone(), self.selected) else {
            self.notice = Some(Err("not connected to a verified chain yet".into()));
            return;
        };
        self.busy = Some("previewing on proven state…".into());
        ctx.link().send_future(async move {
            let head = chain.head();
            let context = RunContext {
                caller: sender,
                block_height: head.height + 1,
                block_time_ms: head.time_ms,
                input: draft.args.clone(),
            };
            let run = node::read(&chain, head.height, context, |h| {
                let nonce = views::nonce(h, &sender);
                Ok::<_, String>((tx::contract(h, &draft)?, nonce, tx::preview(h, &sender, &draft, position)?))
            });
            let review = match run.await {
                Ok(Proven { value: Ok((contract, nonce, preview)), height }) => Ok(Review {
                    sender,
                    nonce,
                    what,
                    limit,
                    draft,
                    position,
                    contract,
                    preview: Proven { value: preview, height },
                }),
                Ok(Proven { value: Err(e), .. }) => Err(e),
                Err(e) => Err(e.to_string()),
            };
            Msg::Reviewed(review)
        });
    }

    fn amount(&self, field: &str) -> Result<u64, String> {
        let text = self.field(field);
        let text = text.trim();
        let with_unit = if text.ends_with("rao") || text.ends_with('τ') {
            text.to_string()
        } else {
            format!("{text} τ")
        };
        with_unit.parse::<tao_types::Balance>().map(|b| b.0).map_err(|e| format!("amount: {e}"))
    }

    fn review_send(&mut self, ctx: &yew::Context<Self>) {
        let to: Result<Address, _> = self.field("to").trim().parse();
        let (to, amount) = match (to, self.amount("amount")) {
            (Ok(to), Ok(amount)) => (to, amount),
            (Err(e), _) => return self.notice = Some(Err(format!("recipient: {e}"))),
            (_, Err(e)) => return self.notice = Some(Err(e)),
        };
        let what = format!("send {} to {to}", Balance(amount));
        self.start_review(ctx, what, None, Draft::transfer(to, amount, true), None);
    }

    fn review_stake(&mut self, ctx: &yew::Context<Self>, action: &'static str) {
        let Some(netuid) = self.netuid() else {
            return self.notice = Some(Err("subnet: enter a subnet id".into()));
        };
        let hotkey: Result<Address, _> = self.field("hotkey").trim().parse();
        let (hotkey, amount) = match (hotkey, self.amount("stake_amount")) {
            (Ok(h), Ok(a)) => (h, a),
            (Err(e), _) => return self.notice = Some(Err(format!("validator hotkey: {e}"))),
            (_, Err(e)) => return self.notice = Some(Err(e)),
        };
        let position = Position { hotkey, netuid };
        // The limit comes from this subnet's proven price: never another subnet's, never none.
        let spot = match &self.subnet {
            Load::Ready(p) => p.value.0.as_ref().filter(|s| s.netuid == netuid).map(|s| s.price),
            _ => None,
        };
        if spot.is_none() && netuid != 0 && action != "move" {
            return self.notice = Some(Err(format!(
                "subnet {netuid}'s price is not verified yet: press Show validators, then review again"
            )));
        }
        let Some(slippage_bps) = parse_percent_bps(&self.field("slippage")) else {
            return self.notice = Some(Err("slippage: a percentage like 0.5".into()));
        };
        let limit = |buying| match spot {
            Some(price) if netuid != 0 => Some(tao_contract_staking::Limit {
                price: tx::limit_price(price, slippage_bps, buying),
                partial: false,
            }),
            _ => None,
        };
        let (what, draft) = match action {
            "add" => (
                format!("stake {} on subnet {netuid} via {hotkey}", Balance(amount)),
                Draft::add_stake(position, amount, limit(true)),
            ),
            "remove" => (
                format!("unstake {} on subnet {netuid} from {hotkey}", alpha(amount)),
                Draft::remove_stake(position, amount, limit(false)),
            ),
            _ => {
                let to_hotkey: Result<Address, _> = self.field("to_hotkey").trim().parse();
                let to_netuid: Result<NetUid, _> = self.field("to_netuid").trim().parse();
                let (Ok(th), Ok(tn)) = (to_hotkey, to_netuid) else {
                    return self.notice = Some(Err("moving needs the destination hotkey and subnet".into()));
                };
                let to = Position { hotkey: th, netuid: tn };
                self.track(to);
                (
                    format!("move {} of stake from subnet {netuid} to subnet {tn}", alpha(amount)),
                    Draft::move_stake(position, to, amount),
                )
            }
        };
        self.track(position);
        let limit = limit(action == "add").map(|l| {
            let side = if action == "add" { "at most" } else { "at least" };
            let bps = slippage_bps;
            format!(
                "Limit: the price after must be {side} {} per α ({}.{:02}% slippage), else nothing happens",
                Balance(l.price),
                bps / 100,
                bps % 100
            )
        });
        let limit = if action == "move" { None } else { limit };
        self.start_review(ctx, what, limit, draft, Some(position));
    }

    fn track(&mut self, position: Position) {
        let Some(coldkey) = self.selected else { return };
        let list = self.positions.entry(coldkey).or_default();
        if !list.contains(&position) {
            list.push(position);
            let _ = store::save(store::POSITIONS, &self.positions);
        }
    }

    /// Signs the reviewed transaction as the account the preview ran as. The nonce is the
    /// node's pending one only if it lies between the proven nonce and that plus this wallet's
    /// own transactions still pending: a node cannot make the wallet sign for a future slot.
    fn sign(&mut self, ctx: &yew::Context<Self>) {
        if self.busy.is_some() {
            return;
        }
        let (Some(Ok(review)), Some(vault), Some(chain)) = (self.review.clone(), &self.vault, &self.chain)
        else {
            return;
        };
        let key = match vault.key(&review.sender) {
            Ok(key) => key,
            Err(e) => return self.notice = Some(Err(e.to_string())),
        };
        let pending = self.history.iter().filter(|e| e.from == review.sender && !e.proven).count() as u64;
        let domain = *chain.domain();
        self.busy = Some("signing and submitting…".into());
        ctx.link().send_future(async move {
            let submit = async {
                let account = node::call("account_get", json!([review.sender])).await.map_err(|e| e.to_string())?;
                let nonce = account["pending_nonce"].as_u64().ok_or("the node gave no nonce")?;
                if nonce < review.nonce || nonce > review.nonce + pending {
                    return Err(format!(
                        "the node's next nonce {nonce} is outside what this wallet knows ({} to {}): not signing",
                        review.nonce,
                        review.nonce + pending
                    ));
                }
                let signed = review.draft.sign(&domain, review.contract, nonce, &key)?;
                let reply = node::call("tx_submit", json!([rpc::hex0x(&signed.encode())]))
                    .await
                    .map_err(|e| e.to_string())?;
                let hash = signed.hash();
                if reply.as_str().and_then(|s| s.parse::<Hash>().ok()) != Some(hash) {
                    return Err(format!("the node acknowledged {reply} instead of {hash}"));
                }
                let (what, from) = (review.what.clone(), review.sender);
                Ok(HistoryEntry { hash, what, from, status: "pending".into(), proven: false })
            };
            Msg::Submitted(submit.await)
        });
    }

    fn poll_history(&self, ctx: &yew::Context<Self>) {
        let Some(chain) = &self.chain else { return };
        for entry in self.history.iter().filter(|e| !e.proven).take(16) {
            let (hash, chain) = (entry.hash, chain.clone());
            ctx.link().send_future(async move {
                let (status, proven) = proven_status(chain, hash).await;
                Msg::Status(hash, status, proven)
            });
        }
    }

    fn check_epoch(&mut self, ctx: &yew::Context<Self>, netuid: NetUid) {
        let Some(chain) = self.chain.clone() else { return };
        let Load::Ready(subnet) = &self.subnet else { return };
        let record =
            subnet.value.0.as_ref().filter(|s| s.netuid == netuid).and_then(|s| s.last_epoch.clone());
        // Yuma ran if the subnet has no module of its own, or if its module failed (fallback).
        let block = match record {
            Some(r) if r.module.is_none() || r.fallback.is_some() => r.block,
            Some(_) => {
                self.epoch = Some(Err("the last epoch ran the subnet's own module, not Yuma".into()));
                return;
            }
            None => {
                self.epoch = Some(Err("no epoch to re-run yet".into()));
                return;
            }
        };
        self.busy = Some(format!("re-running subnet {netuid}'s epoch of block #{block}…"));
        ctx.link()
            .send_future(async move { Msg::EpochChecked(netuid, rerun_epoch(chain, netuid, block).await) });
    }

    fn selected_account(&self) -> Option<&tao_wallet::vault::Account> {
        let vault = self.vault.as_ref()?;
        vault.accounts().iter().find(|a| Some(a.address) == self.selected)
    }

    fn export(&mut self) {
        let (Some(vault), Some(file), Some(account)) = (&self.vault, &self.file, self.selected_account())
        else {
            return;
        };
        let result = vault.export(file, &account.address, &self.field("export_password"));
        self.form.remove("export_password");
        self.notice = Some(match result {
            Ok(e) => Ok(match e.mnemonic {
                Some(m) => format!("private key {} — recovery phrase: {m}", e.private_key),
                None => format!("private key {}", e.private_key),
            }),
            Err(e) => Err(e.to_string()),
        });
    }

    fn export_keystore(&mut self) {
        let (Some(vault), Some(file), Some(account)) = (&self.vault, &self.file, self.selected_account())
        else {
            return;
        };
        let password = self.field("export_password");
        let result = store::fresh().and_then(|fresh| {
            vault.export_keystore(file, &account.address, &password, fresh).map_err(|e| e.to_string())
        });
        self.form.remove("export_password");
        self.notice = Some(result);
    }

    fn add_account(&mut self) {
        let Some(mut vault) = self.vault.clone() else { return };
        let name = vault.default_name();
        let added = match self.field("add_kind").as_str() {
            "key" => vault.import_private_key(&name, &self.field("add_secret")),
            "watch" => vault.add_watch_only(&name, &self.field("add_secret")),
            _ => vault.add_derived(None),
        };
        let saved =
            added.map_err(|e| e.to_string()).and_then(|address| self.save_vault(vault).map(|()| address));
        self.notice = Some(saved.map(|address| {
            self.form.remove("add_secret");
            format!("added {address}")
        }));
    }

    fn add_hotkey(&mut self) {
        let (Some(mut vault), Some(coldkey)) = (self.vault.clone(), self.selected) else { return };
        let added = store::random()
            .and_then(|secret| vault.add_hotkey(&coldkey, &secret).map_err(|e| e.to_string()))
            .and_then(|address| self.save_vault(vault).map(|()| address));
        self.notice = Some(added.map(|address| format!("new hotkey {address}")));
    }
}

/// Alpha amounts read like TAO ones, with their own sign.
pub fn alpha(rao: u64) -> String {
    Balance(rao).to_string().replace('τ', "α")
}

/// The form's starting values: subnet 1, a 0.5% slippage limit.
fn default_form() -> BTreeMap<&'static str, String> {
    BTreeMap::from([("slippage", "0.5".to_string()), ("netuid", "1".to_string())])
}

/// `0.5` (percent) → 50 basis points.
pub fn parse_percent_bps(text: &str) -> Option<u16> {
    let (whole, frac) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    let whole: u16 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let frac = format!("{frac:0<2}");
    let frac: u16 = frac.get(..2)?.parse().ok()?;
    whole.checked_mul(100)?.checked_add(frac)
}

/// A transaction's status and whether it is proven: "pending" until the node reports it in a
/// block the wallet believes, then the outcome from its receipt, proven against that block's
/// receipts root. Anything else is shown as the node's word.
async fn proven_status(mut chain: Chain, hash: Hash) -> (String, bool) {
    let status = match node::call("tx_status", json!([hash])).await {
        Ok(v) => v,
        Err(e) => return (format!("pending (node: {e})"), false),
    };
    let height = match (status["status"].as_str(), status["height"].as_u64()) {
        (Some("finalized"), Some(h)) if h <= chain.head().height => h,
        (Some("finalized" | "pending"), _) => return ("pending".into(), false),
        (Some(other), _) => {
            let reason = status["reason"].as_str().unwrap_or("");
            return (format!("node says {other}: {}", reason.chars().take(200).collect::<String>()), false);
        }
        (None, _) => return ("pending".into(), false),
    };
    let proven = async {
        node::believe_back(&mut chain, height).await?;
        let block = node::call("chain_block", json!([height])).await?;
        chain.receipt(&block, &hash)
    };
    match proven.await {
        Ok(Proven { value: Some(receipt), height }) => match receipt.outcome {
            tao_light::TxOutcome::Ok => (format!("finalized #{height} ✓ receipt verified"), true),
            tao_light::TxOutcome::Failed(why) => {
                (format!("failed in #{height}: {why} ✓ receipt verified"), true)
            }
        },
        Ok(Proven { value: None, height }) => {
            (format!("not in block #{height}, though the node said so"), false)
        }
        Err(e) => (format!("unverified: {e}"), false),
    }
}

/// Re-runs Yuma on the inputs proven at the block before the epoch and compares with the scores
/// proven at the epoch's block. Both headers are believed by walking back from the head.
async fn rerun_epoch(mut chain: Chain, netuid: NetUid, block: u64) -> Result<EpochCheck, String> {
    let before = block.checked_sub(1).ok_or("no block before genesis")?;
    node::believe_back(&mut chain, before).await.map_err(|e| e.to_string())?;
    let at = |height| RunContext { block_height: height, ..RunContext::default() };
    let input = node::read(&chain, before, at(block), |h| views::epoch_input(h, netuid))
        .await
        .map_err(|e| e.to_string())?
        .value?;
    let n = input.neurons.len();
    let scores = node::read(&chain, block, at(block), |h| views::epoch_scores(h, netuid, n))
        .await
        .map_err(|e| e.to_string())?
        .value?;
    views::check_epoch(netuid, block, &input, &scores)
}
