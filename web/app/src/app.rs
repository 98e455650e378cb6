//! The root: what every screen shares (the node connection and the verified chain, the vault,
//! the selected account and its balance, the history), navigation, and the page's frame.
//! Screens (`screens/`) hold their own state and ask for shared changes with an [`Action`].

use std::rc::Rc;

use gloo_storage::Storage;
use tao_types::{Address, Hash};
use tao_wallet::display::short;
use tao_wallet::vault::{AutoLock, Vault, VaultFile};
use tao_wallet::views::AccountView;
use tao_wallet::{Chain, VerifyError};
use yew::prelude::*;

use crate::screens::{
    accounts::Accounts, deploy::Deploy, history, onboarding::Onboarding, receive::Receive, review,
    send::Send, settings::Settings, stake::Stake, subnet::Subnet, subnets::Subnets, unlock::Unlock,
};
use crate::session::{Action, Load, Request, Review, Screen, Session, Shared};
use crate::widgets::button;
use crate::{node, reads, store};

/// Wait before re-subscribing to heads after the socket dropped.
const RECONNECT_MS: u32 = 3_000;

/// Period of the ticker driving the auto-lock and the head's age.
const TICK_MS: u32 = 1_000;

/// Idle time before the wallet locks itself.
pub const AUTO_LOCK_MS: u64 = 15 * 60 * 1000;

pub enum Msg {
    Connected(Result<Chain, VerifyError>),
    Head(u64),
    HeadAccepted(Result<Chain, VerifyError>),
    Followed(String),
    Activity,
    Tick,
    Account(Address, Load<AccountView>),
    Reviewed(Result<Review, String>),
    Status(Hash, String, bool),
    Act(Action),
    /// The user accepted the unknown chain shown.
    TrustChain,
}

pub struct App {
    /// What screens read; replaced (copy on write) whenever it changes, so they re-render.
    session: Rc<Session>,
    chain_error: Option<String>,
    screen: Screen,
    review: Option<Rc<Result<Review, String>>>,
    busy: Option<String>,
    notice: Option<Result<String, String>>,
    auto_lock: AutoLock,
    /// A chain met on first use without a checkpoint, until the user accepts it.
    unknown_chain: Option<crate::trust::Unknown>,
    /// Local time when the believed head last advanced (for the stale warning).
    head_seen_ms: u64,
    /// A head newer than the believed one was announced, and whether a catch-up is under way.
    /// Announced heights are only a hint: the catch-up asks for the node's head and believes
    /// it only with its certificate.
    head_announced: bool,
    catching_up: bool,
    /// Balance reads under way (a new head does not start more while one runs).
    account_reads: u32,
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let pinned: Option<Hash> = store::load::<String>(store::GENESIS).and_then(|s| s.parse().ok());
        let file: Option<VaultFile> = store::load(store::VAULT);
        ctx.link().send_future(async move { Msg::Connected(node::connect(pinned).await) });
        follow_heads(ctx);
        let screen = if file.is_some() { Screen::Unlock } else { Screen::Welcome };
        let selected = file.as_ref().and_then(|f| f.accounts.first().map(|a| a.address));
        let session = Session {
            chain: None,
            pinned,
            file,
            vault: None,
            selected,
            account: Load::Idle,
            history: store::load(store::HISTORY).unwrap_or_default(),
            act: ctx.link().callback(Msg::Act),
        };
        App {
            session: Rc::new(session),
            chain_error: None,
            screen,
            review: None,
            busy: None,
            notice: None,
            auto_lock: AutoLock::new(AUTO_LOCK_MS, store::now_ms()),
            unknown_chain: None,
            head_seen_ms: store::now_ms(),
            head_announced: false,
            catching_up: false,
            account_reads: 0,
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Connected(Ok(chain)) => {
                if self.session.pinned.is_none() {
                    let genesis = chain.domain().genesis_hash;
                    self.shared().pinned = Some(genesis);
                    let _ = store::save(store::GENESIS, &genesis.to_string());
                }
                self.shared().chain = Some(chain);
                self.chain_error = None;
                self.unknown_chain = None;
                self.head_seen_ms = store::now_ms();
                self.read_account(ctx);
            }
            Msg::Connected(Err(VerifyError::UnknownChain { genesis_hash, chain_id })) => {
                // Nothing is pinned or retried until the user decides.
                self.unknown_chain = Some(crate::trust::Unknown { genesis_hash, chain_id });
            }
            Msg::TrustChain => {
                let Some(unknown) = self.unknown_chain.take() else { return false };
                self.shared().pinned = Some(unknown.genesis_hash);
                let _ = store::save(store::GENESIS, &unknown.genesis_hash.to_string());
                self.reconnect(ctx, Some(unknown.genesis_hash));
            }
            Msg::Connected(Err(e)) => {
                self.chain_error = Some(format!("{e}; retrying…"));
                let pinned = self.session.pinned;
                ctx.link().send_future(async move {
                    gloo_timers::future::TimeoutFuture::new(RECONNECT_MS).await;
                    Msg::Connected(node::connect(pinned).await)
                });
            }
            Msg::Head(height) => {
                if self.session.chain.as_ref().is_some_and(|c| height > c.head().height) {
                    self.head_announced = true;
                    self.catch_up(ctx);
                }
                return false;
            }
            Msg::HeadAccepted(Ok(chain)) => {
                self.catching_up = false;
                let same_chain = Some(chain.domain().genesis_hash) == self.session.pinned;
                let newer = same_chain
                    && self.session.chain.as_ref().is_none_or(|c| chain.head().height > c.head().height);
                if newer {
                    self.head_seen_ms = store::now_ms();
                    self.shared().chain = Some(chain);
                    self.chain_error = None;
                    if self.account_reads == 0 {
                        self.read_account(ctx);
                    }
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
            Msg::Activity => {
                self.auto_lock.touch(store::now_ms());
                return false;
            }
            Msg::Tick => {
                if self.session.vault.is_none() || !self.auto_lock.due(store::now_ms()) {
                    // The head's age (and staleness) changes with time alone.
                    return self.session.chain.is_some();
                }
                self.lock();
                self.notice = Some(Err("locked after 15 minutes without activity".into()));
            }
            Msg::Account(address, load) => {
                self.account_reads = self.account_reads.saturating_sub(1);
                if Some(address) != self.session.selected {
                    return false;
                }
                self.shared().account = load;
            }
            Msg::Reviewed(review) => {
                // An error from an earlier attempt no longer applies: the review shows its own.
                self.notice = None;
                self.busy = None;
                self.review = Some(Rc::new(review));
                self.screen = Screen::Review;
            }
            Msg::Status(hash, status, proven) => {
                let history = &mut self.shared().history;
                if let Some(entry) = history.iter_mut().find(|e| e.hash == hash && !e.proven) {
                    entry.status = status;
                    entry.proven = proven;
                }
                let _ = store::save(store::HISTORY, &self.session.history);
            }
            Msg::Act(action) => self.act(ctx, action),
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let onclick = ctx.link().callback(|_| Msg::Activity);
        let oninput = ctx.link().callback(|_| Msg::Activity);
        // A stale head marks every "verified" on the page as of a past block (styles.css).
        let stale = self.session.chain.as_ref().is_some_and(|chain| {
            let freshness = crate::trust::freshness(chain, self.head_seen_ms, store::now_ms());
            matches!(freshness, tao_wallet::fresh::Freshness::Stale { .. })
        });
        html! {
            <div class={classes!("wallet", stale.then_some("stale"))} {onclick} {oninput}>
                { self.header(ctx) }
                if self.session.vault.is_some() { { self.nav() } }
                if let Some(busy) = &self.busy { <p class="loading"><span class="spinner" />{ busy }</p> }
                { match &self.notice {
                    Some(Ok(m)) => html! { <p class="notice" id="notice">{ m }</p> },
                    Some(Err(m)) => html! { <p class="error" id="error">{ m }</p> },
                    None => html! {},
                } }
                <main>{ self.body() }</main>
            </div>
        }
    }
}

/// Follows the heads for as long as the page lives: a dropped socket (node restart, network)
/// is reported, then retried every few seconds. A ticker drives the auto-lock and the head's age.
fn follow_heads(ctx: &Context<App>) {
    let link = ctx.link().clone();
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
}

impl App {
    /// The session, to change: screens holding the previous one see a new value.
    fn shared(&mut self) -> &mut Session {
        Rc::make_mut(&mut self.session)
    }

    /// What a screen asked for.
    fn act(&mut self, ctx: &Context<Self>, action: Action) {
        match action {
            Action::Go(screen) => {
                self.notice = None;
                self.show(ctx, screen);
            }
            Action::Notice(notice) => self.notice = notice,
            Action::Busy(busy) => self.busy = busy,
            Action::Select(address) => {
                self.notice = None;
                self.shared().selected = Some(address);
                self.shared().account = Load::Idle;
                self.read_account(ctx);
            }
            Action::Open(vault) => self.open(ctx, vault),
            Action::Unlocked(vault) => {
                self.shared().vault = Some(vault);
                self.notice = None;
                self.auto_lock = AutoLock::new(AUTO_LOCK_MS, store::now_ms());
                self.show(ctx, Screen::Accounts);
            }
            Action::SaveVault(vault, done) => self.notice = Some(self.save_vault(vault).map(|()| done)),
            Action::Lock => self.lock(),
            Action::ForgetWallet => {
                gloo_storage::LocalStorage::delete(store::VAULT);
                self.shared().file = None;
                self.shared().vault = None;
                self.screen = Screen::Welcome;
            }
            Action::Review(request) => self.start_review(ctx, request),
            Action::Signed(entry) => {
                self.busy = Some("submitting…".into());
                self.notice = None;
                let history = &mut self.shared().history;
                history.insert(0, entry);
                history.truncate(200);
                let _ = store::save(store::HISTORY, &self.session.history);
                self.review = None;
                self.screen = Screen::History;
            }
            Action::Submitted(hash, result) => {
                self.busy = None;
                let status = match &result {
                    Ok(()) => "pending".to_string(),
                    Err(e) => format!(
                        "not accepted by the node ({e}); it may still execute: speed it up or cancel it"
                    ),
                };
                self.notice =
                    result.err().map(|e| Err(format!("the node did not accept the transaction: {e}")));
                let history = &mut self.shared().history;
                if let Some(entry) = history.iter_mut().find(|e| e.hash == hash && !e.proven) {
                    entry.status = status;
                }
                let _ = store::save(store::HISTORY, &self.session.history);
            }
            Action::Reconnect(url) => {
                self.reconnect(ctx, self.session.pinned);
                self.notice = Some(Ok(format!("talking to {url}")));
            }
            Action::ForgetGenesis => {
                gloo_storage::LocalStorage::delete(store::GENESIS);
                self.shared().pinned = None;
                self.reconnect(ctx, None);
                self.notice = Some(Ok("the next chain met is pinned if the wallet ships its checkpoint; \
                    otherwise you are asked first, with its genesis hash"
                    .into()));
            }
        }
    }

    /// Shows `screen`, reading the balance if it shows one.
    fn show(&mut self, ctx: &Context<Self>, screen: Screen) {
        self.screen = screen;
        self.read_account(ctx);
    }

    /// Drops the believed chain and connects again, pinned to `pinned` (a node of another
    /// chain is refused, as any would be).
    fn reconnect(&mut self, ctx: &Context<Self>, pinned: Option<Hash>) {
        self.shared().chain = None;
        self.shared().account = Load::Idle;
        ctx.link().send_future(async move { Msg::Connected(node::connect(pinned).await) });
    }

    /// Believes the newest announced head, one catch-up at a time (a fast chain announces
    /// heads faster than they need checking; the newest one is enough).
    fn catch_up(&mut self, ctx: &Context<Self>) {
        let Some(chain) = self.session.chain.clone() else { return };
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

    /// Re-reads the selected account's balance at the believed head, if the screen shows it.
    fn read_account(&mut self, ctx: &Context<Self>) {
        let (Some(chain), Some(address)) = (self.session.chain.clone(), self.session.selected) else {
            return;
        };
        if !self.screen.shows_account() {
            return;
        }
        if matches!(self.session.account, Load::Idle) {
            self.shared().account = Load::Loading;
        }
        self.account_reads += 1;
        ctx.link().send_future(async move { Msg::Account(address, reads::account(chain, address).await) });
    }

    /// Seals and stores `vault`; only a stored vault becomes the wallet's (a key that exists
    /// only in memory would be lost on reload).
    fn save_vault(&mut self, vault: Vault) -> Result<(), String> {
        let file = vault.seal(store::fresh()?).map_err(|e| e.to_string())?;
        store::save(store::VAULT, &file)?;
        let session = self.shared();
        session.selected = session.selected.or_else(|| file.accounts.first().map(|a| a.address));
        session.file = Some(file);
        session.vault = Some(vault);
        Ok(())
    }

    /// A created or imported vault becomes the wallet's, its first account selected.
    fn open(&mut self, ctx: &Context<Self>, vault: Vault) {
        self.shared().selected = vault.accounts().first().map(|a| a.address);
        if let Err(e) = self.save_vault(vault) {
            self.notice = Some(Err(e));
            return;
        }
        self.notice = None;
        self.auto_lock = AutoLock::new(AUTO_LOCK_MS, store::now_ms());
        self.shared().account = Load::Idle;
        self.show(ctx, Screen::Accounts);
    }

    /// Locks: the keys, and with them everything account-specific, leave the screen.
    fn lock(&mut self) {
        self.shared().vault = None;
        self.shared().account = Load::Idle;
        self.review = None;
        // Exported secrets shown as a notice must not outlive the unlocked session.
        self.notice = None;
        self.screen = Screen::Unlock;
    }

    /// Previews `request` as the selected account; the result is shown for confirmation.
    fn start_review(&mut self, ctx: &Context<Self>, request: Request) {
        let (Some(chain), Some(sender)) = (self.session.chain.clone(), self.session.selected) else {
            self.notice = Some(Err("not connected to a verified chain yet".into()));
            return;
        };
        self.busy = Some("previewing on proven state…".into());
        ctx.link().send_future(async move { Msg::Reviewed(review::preview(chain, sender, request).await) });
    }

    fn poll_history(&self, ctx: &Context<Self>) {
        let Some(chain) = &self.session.chain else { return };
        for entry in self.session.history.iter().filter(|e| !e.proven).take(16) {
            let (hash, chain) = (entry.hash, chain.clone());
            ctx.link().send_future(async move {
                let (status, proven) = history::proven_status(chain, hash).await;
                Msg::Status(hash, status, proven)
            });
        }
    }

    /// The top bar: the wallet, the chain's status (verified, its head's age, stale, or why not)
    /// and pinned genesis, and while unlocked the account switcher and Lock (nothing
    /// account-specific while locked).
    fn header(&self, ctx: &Context<Self>) -> Html {
        let status = crate::trust::status(
            &crate::trust::Status {
                chain: self.session.chain.as_ref(),
                error: self.chain_error.as_deref(),
                unknown: self.unknown_chain,
                seen_ms: self.head_seen_ms,
                now_ms: store::now_ms(),
            },
            ctx.link().callback(|_| Msg::TrustChain),
        );
        let genesis = self.session.pinned.map(|g| g.to_string()).unwrap_or_default();
        html! {
            <header class="topbar">
                <h1 class="brand"><span class="logo">{ "τ" }</span>{ "wasmtensor" }</h1>
                <div class="network">
                    { status }
                    <small id="genesis" title="the checkpoint this wallet trusts">{ format!("genesis {genesis}") }</small>
                </div>
                if self.session.vault.is_some() {
                    { self.switcher() }
                    { button(&self.session.act, "lock", "Lock", Action::Lock) }
                }
            </header>
        }
    }

    /// The account switcher: every account of the vault by name and short address.
    fn switcher(&self) -> Html {
        let Some(vault) = &self.session.vault else { return html! {} };
        let accounts = vault.accounts().to_vec();
        let addresses: Vec<Address> = accounts.iter().map(|a| a.address).collect();
        let onchange = self.session.act.reform(move |e: Event| {
            let index = e.target_unchecked_into::<web_sys::HtmlSelectElement>().selected_index();
            let chosen = usize::try_from(index).ok().and_then(|i| addresses.get(i).copied());
            chosen.map_or(Action::Notice(None), Action::Select)
        });
        html! {
            <label class="switcher" aria-label="account">
                <select id="account-switch" {onchange}>
                    { for accounts.iter().map(|a| html! {
                        <option selected={Some(a.address) == self.session.selected}>
                            { format!("{} · {}", a.name, short(&a.address)) }
                        </option>
                    }) }
                </select>
            </label>
        }
    }

    fn nav(&self) -> Html {
        let tabs = [
            ("nav-accounts", "Accounts", Screen::Accounts),
            ("nav-send", "Send", Screen::Send),
            ("nav-receive", "Receive", Screen::Receive),
            ("nav-stake", "Stake", Screen::Stake),
            ("nav-subnets", "Subnets", Screen::Subnets),
            ("nav-deploy", "Deploy", Screen::Deploy),
            ("nav-history", "History", Screen::History),
            ("nav-settings", "Settings", Screen::Settings),
        ];
        let act = &self.session.act;
        let current = |screen: Screen| match (self.screen, screen) {
            (Screen::Subnet(_), Screen::Subnets) => true,
            (shown, tab) => shown == tab,
        };
        html! {
            <nav class="tabs">
                { for tabs.into_iter().map(|(id, label, screen)| {
                    let onclick = act.reform(move |_| Action::Go(screen));
                    html! { <button {id} class={classes!(current(screen).then_some("active"))} {onclick}>{ label }</button> }
                }) }
            </nav>
        }
    }

    /// The current screen's component, given the session.
    fn body(&self) -> Html {
        let session = Shared(self.session.clone());
        match self.screen {
            Screen::Welcome => html! { <Onboarding {session} /> },
            Screen::Unlock => html! { <Unlock {session} /> },
            Screen::Accounts => html! { <Accounts {session} /> },
            Screen::Send => html! { <Send {session} /> },
            Screen::Receive => html! { <Receive {session} /> },
            Screen::Stake => html! { <Stake {session} /> },
            Screen::Subnets => html! { <Subnets {session} /> },
            Screen::Subnet(netuid) => html! { <Subnet {session} {netuid} /> },
            Screen::Deploy => html! { <Deploy {session} /> },
            Screen::History => html! { <history::History {session} /> },
            Screen::Settings => html! { <Settings {session} /> },
            Screen::Review => match &self.review {
                Some(review) => html! { <review::Review {session} review={review.clone()} /> },
                None => html! {},
            },
        }
    }
}
