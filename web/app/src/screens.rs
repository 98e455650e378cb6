//! Rendering only: each screen reads [`App`] and sends [`Msg`]s.

use qrcode::QrCode;
use qrcode::render::svg;
use tao_types::Balance;
use tao_wallet::Proven;
use tao_wallet::views::{NeuronRow, SubnetView};
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::app::{App, Load, Msg, Screen, alpha};

type Ctx = yew::Context<App>;

fn tao(rao: u64) -> String {
    Balance(rao).to_string()
}

/// How far `after` moved from `before`, in percent with two decimals (integers only).
fn change(before: u64, after: u64) -> String {
    let (b, a) = (i128::from(before), i128::from(after));
    if b == 0 {
        return String::new();
    }
    let bps = (a - b) * 10_000 / b;
    let sign = if bps < 0 { "-" } else { "+" };
    format!(" ({sign}{}.{:02}%)", bps.abs() / 100, bps.abs() % 100)
}

fn share(v: u16) -> String {
    // A u16 fraction as a percentage with two decimals, in integers.
    let basis = u32::from(v) * 10_000 / 65_535;
    format!("{}.{:02}%", basis / 100, basis % 100)
}

fn verified(height: u64) -> Html {
    html! { <span class="verified" title="proven against a certified state root">{ format!("✓ verified at #{height}") }</span> }
}

fn field(app: &App, ctx: &Ctx, id: &'static str, label: &str, kind: &str) -> Html {
    let oninput = ctx
        .link()
        .callback(move |e: InputEvent| Msg::Input(id, e.target_unchecked_into::<HtmlInputElement>().value()));
    html! {
        <label>{ label }
            <input id={id} type={kind.to_string()} value={app.field(id)} {oninput} autocomplete="off" />
        </label>
    }
}

fn area(app: &App, ctx: &Ctx, id: &'static str, label: &str) -> Html {
    let oninput = ctx.link().callback(move |e: InputEvent| {
        Msg::Input(id, e.target_unchecked_into::<HtmlTextAreaElement>().value())
    });
    html! { <label>{ label }<textarea id={id} value={app.field(id)} {oninput} rows="3" /></label> }
}

fn select(ctx: &Ctx, id: &'static str, label: &str, options: &[(&'static str, &'static str)]) -> Html {
    let onchange = ctx
        .link()
        .callback(move |e: Event| Msg::Input(id, e.target_unchecked_into::<HtmlSelectElement>().value()));
    html! {
        <label>{ label }
            <select id={id} {onchange}>
                { for options.iter().map(|(value, text)| html! { <option value={*value}>{ *text }</option> }) }
            </select>
        </label>
    }
}

fn button(ctx: &Ctx, id: &'static str, label: &str, msg: impl Fn() -> Msg + 'static) -> Html {
    let onclick = ctx.link().callback(move |_| msg());
    html! { <button id={id} {onclick}>{ label }</button> }
}

fn load<T>(l: &Load<T>, what: &str, show: impl FnOnce(&Proven<T>) -> Html) -> Html {
    match l {
        Load::Idle => html! {},
        Load::Loading => {
            html! { <p class="loading"><span class="spinner" />{ format!("verifying {what}…") }</p> }
        }
        Load::Failed(why) => {
            html! { <p class="unverified" id="unverified">{ format!("{what} not shown — not verified: {why}") }</p> }
        }
        Load::Ready(p) => show(p),
    }
}

/// The whole page.
pub fn page(app: &App, ctx: &Ctx) -> Html {
    let onclick = ctx.link().callback(|_| Msg::Activity);
    html! {
        <div class="wallet" {onclick}>
            { header(app, ctx) }
            { if app.vault.is_some() { nav(ctx) } else { html! {} } }
            if let Some(busy) = &app.busy { <p class="loading"><span class="spinner" />{ busy }</p> }
            { match &app.notice {
                Some(Ok(m)) => html! { <p class="notice" id="notice">{ m }</p> },
                Some(Err(m)) => html! { <p class="error" id="error">{ m }</p> },
                None => html! {},
            } }
            <main>{ body(app, ctx) }</main>
        </div>
    }
}

fn header(app: &App, ctx: &Ctx) -> Html {
    let status = crate::trust::status(
        &crate::trust::Status {
            chain: app.chain.as_ref(),
            error: app.chain_error.as_deref(),
            unknown: app.unknown_chain,
            seen_ms: app.head_seen_ms,
            now_ms: crate::store::now_ms(),
        },
        ctx.link().callback(|_| Msg::TrustChain),
    );
    let genesis = app.pinned.map(|g| g.to_string()).unwrap_or_default();
    html! {
        <header>
            <h1>{ "wasmtensor wallet" }</h1>
            { status }
            <small id="genesis" title="the checkpoint this wallet trusts">{ format!("genesis {genesis}") }</small>
        </header>
    }
}

fn nav(ctx: &Ctx) -> Html {
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
    html! {
        <nav>
            { for tabs.into_iter().map(|(id, label, screen)| button(ctx, id, label, move || Msg::Go(screen))) }
            { button(ctx, "lock", "Lock", || Msg::Lock) }
        </nav>
    }
}

fn body(app: &App, ctx: &Ctx) -> Html {
    match app.screen {
        Screen::Welcome => html! {
            <section>
                <h2>{ "Welcome" }</h2>
                <p>{ "Keys stay in this browser, sealed under your password. Every value is checked against the chain's validators." }</p>
                { button(ctx, "create", "Create a new wallet", || Msg::NewMnemonic) }
                { button(ctx, "import", "Import a wallet", || Msg::Go(Screen::Import)) }
            </section>
        },
        Screen::ShowMnemonic => html! {
            <section>
                <h2>{ "Your recovery phrase" }</h2>
                <p>{ "Write these 12 words down in order. Anyone with them controls your funds." }</p>
                <ol id="mnemonic">{ for app.mnemonic.iter().flat_map(|m| m.split(' ')).map(|w| html! { <li>{ w }</li> }) }</ol>
                { button(ctx, "written", "I wrote it down", || Msg::Go(Screen::ConfirmMnemonic)) }
            </section>
        },
        Screen::ConfirmMnemonic => {
            let [a, b, c] = app.confirm_positions;
            html! {
                <section>
                    <h2>{ "Confirm your phrase" }</h2>
                    { field(app, ctx, "word0", &format!("Word #{}", a + 1), "text") }
                    { field(app, ctx, "word1", &format!("Word #{}", b + 1), "text") }
                    { field(app, ctx, "word2", &format!("Word #{}", c + 1), "text") }
                    { passwords(app, ctx) }
                    { button(ctx, "finish-create", "Create wallet", || Msg::FinishCreate) }
                </section>
            }
        }
        Screen::Import => html! {
            <section>
                <h2>{ "Import" }</h2>
                { select(ctx, "import_kind", "What", &[("mnemonic", "Recovery phrase"), ("key", "Private key"), ("keystore", "Keystore JSON"), ("watch", "Watch-only address")]) }
                { area(app, ctx, "import_secret", "Phrase, key, keystore JSON or address") }
                if app.field("import_kind") == "keystore" { { field(app, ctx, "import_password", "Keystore file password", "password") } }
                { passwords(app, ctx) }
                { button(ctx, "finish-import", "Import", || Msg::FinishImport) }
                { button(ctx, "back", "Back", || Msg::Go(Screen::Welcome)) }
            </section>
        },
        Screen::Unlock => html! {
            <section>
                <h2>{ "Unlock" }</h2>
                if let Some(account) = app.file.as_ref().and_then(|f| f.accounts.iter().find(|a| Some(a.address) == app.selected)) {
                    <p>{ format!("{} ", account.name) }<code>{ account.address.to_string() }</code></p>
                }
                { balance(app) }
                { field(app, ctx, "password", "Password", "password") }
                { button(ctx, "unlock", "Unlock", || Msg::Unlock) }
                { button(ctx, "forget", "Forget this wallet", || Msg::ForgetWallet) }
            </section>
        },
        Screen::Accounts => accounts(app, ctx),
        Screen::Send => send(app, ctx),
        Screen::Receive => receive(app),
        Screen::Stake => stake(app, ctx),
        Screen::Subnets => subnets(app, ctx),
        Screen::Subnet(netuid) => subnet(app, ctx, netuid),
        Screen::Deploy => deploy(app, ctx),
        Screen::History => history(app),
        Screen::Settings => settings(app, ctx),
        Screen::Review => review(app, ctx),
    }
}

fn passwords(app: &App, ctx: &Ctx) -> Html {
    html! { <>
        { field(app, ctx, "new_password", "New password (8+ characters)", "password") }
        { field(app, ctx, "new_password2", "Repeat the password", "password") }
    </> }
}

fn accounts(app: &App, ctx: &Ctx) -> Html {
    let list = app.vault.as_ref().map(|v| v.accounts().to_vec()).unwrap_or_default();
    html! {
        <section>
            <h2>{ "Accounts" }</h2>
            <ul class="accounts">
                { for list.into_iter().map(|a| {
                    let address = a.address;
                    let selected = Some(address) == app.selected;
                    let onclick = ctx.link().callback(move |_| Msg::Select(address));
                    html! { <li class={classes!(selected.then_some("selected"))} {onclick}>
                        <b>{ a.name }</b>{ format!(" {:?} ", a.kind) }<code>{ address.to_string() }</code>
                    </li> }
                }) }
            </ul>
            { balance(app) }
        </section>
    }
}

fn balance(app: &App) -> Html {
    load(&app.account, "balance", |p| {
        html! {
            <div class="balance">
                <p>{ "Free: " }<b id="free">{ tao(p.value.free) }</b></p>
                <p>{ "Staked: " }<b id="staked">{ tao(p.value.staked) }</b></p>
                <p>{ "Total: " }<b id="total">{ tao(p.value.total) }</b>{ " " }{ verified(p.height) }</p>
                if !p.value.positions.is_empty() {
                    <table><tr><th>{ "Subnet" }</th><th>{ "Validator" }</th><th>{ "Stake" }</th><th>{ "Worth" }</th></tr>
                    { for p.value.positions.iter().map(|s| html! { <tr>
                        <td>{ s.position.netuid }</td><td><code>{ s.position.hotkey.to_string() }</code></td>
                        <td class="stake">{ if s.position.netuid == 0 { tao(s.stake) } else { alpha(s.stake) } }</td><td>{ tao(s.tao_value) }</td></tr> }) }
                    </table>
                }
            </div>
        }
    })
}

fn send(app: &App, ctx: &Ctx) -> Html {
    html! {
        <section>
            <h2>{ "Send" }</h2>
            { balance(app) }
            { field(app, ctx, "to", "Recipient (checksummed address)", "text") }
            { field(app, ctx, "amount", "Amount (τ)", "text") }
            { button(ctx, "max", "Max", || Msg::Max) }
            <p>{ format!("Fee: {} (keeps the existential deposit)", tao(tao_wallet::tx::DEFAULT_FEE)) }</p>
            { button(ctx, "review-send", "Review", || Msg::ReviewSend) }
        </section>
    }
}

fn receive(app: &App) -> Html {
    let Some(address) = app.selected else { return html! {} };
    let text = address.to_string();
    let qr = QrCode::new(text.as_bytes())
        .map(|code| code.render::<svg::Color<'_>>().min_dimensions(180, 180).build())
        .unwrap_or_default();
    let copy = text.clone();
    let onclick = Callback::from(move |_| {
        if let Some(w) = web_sys::window() {
            let _ = w.navigator().clipboard().write_text(&copy);
        }
    });
    html! {
        <section>
            <h2>{ "Receive" }</h2>
            <code id="address">{ text }</code>
            <button id="copy" {onclick}>{ "Copy" }</button>
            <div class="qr">{ Html::from_html_unchecked(AttrValue::from(qr)) }</div>
        </section>
    }
}

fn stake(app: &App, ctx: &Ctx) -> Html {
    html! {
        <section>
            <h2>{ "Stake" }</h2>
            { balance(app) }
            { field(app, ctx, "netuid", "Subnet", "number") }
            { button(ctx, "load-validators", "Show validators", || Msg::Go(Screen::Stake)) }
            { load(&app.subnet, "validators", |p| validators(ctx, p.value.0.as_ref(), &p.value.1, p.height)) }
            { field(app, ctx, "hotkey", "Validator hotkey", "text") }
            { field(app, ctx, "stake_amount", "Amount (τ to stake, alpha to unstake or move)", "text") }
            { field(app, ctx, "slippage", "Slippage limit (%)", "text") }
            { button(ctx, "review-stake", "Review stake", || Msg::ReviewStake("add")) }
            { button(ctx, "review-unstake", "Review unstake", || Msg::ReviewStake("remove")) }
            { field(app, ctx, "to_hotkey", "Move to hotkey", "text") }
            { field(app, ctx, "to_netuid", "Move to subnet", "number") }
            { button(ctx, "review-move", "Review move", || Msg::ReviewStake("move")) }
        </section>
    }
}

/// The subnet's neurons to stake through; validators with a permit first. Hotkeys carry no
/// on-chain identity yet: the subnet owner's is named as such.
fn validators(ctx: &Ctx, subnet: Option<&SubnetView>, rows: &[NeuronRow], height: u64) -> Html {
    let mut rows: Vec<&NeuronRow> = rows.iter().collect();
    rows.sort_by_key(|r| (!r.permit, core::cmp::Reverse(r.stake)));
    let identity = |r: &NeuronRow| match subnet {
        Some(s) if s.owner_hotkey == r.hotkey => format!("{} (subnet owner)", s.name),
        _ => "—".to_string(),
    };
    html! {
        <table id="validators">
            <tr><th>{ "UID" }</th><th>{ "Identity" }</th><th>{ "Hotkey" }</th><th>{ "Stake" }</th><th>{ "Take" }</th><th>{ "Permit" }</th><th>{ verified(height) }</th></tr>
            { for rows.iter().map(|r| {
                let hotkey = r.hotkey.to_string();
                let pick = hotkey.clone();
                let onclick = ctx.link().callback(move |_| Msg::Input("hotkey", pick.clone()));
                html! { <tr>
                    <td>{ r.uid }</td><td>{ identity(r) }</td><td><code>{ hotkey }</code></td><td>{ alpha(r.stake) }</td><td>{ share(r.take) }</td>
                    <td>{ if r.permit { "yes" } else { "" } }</td><td><button class="pick" {onclick}>{ "choose" }</button></td>
                </tr> }
            }) }
        </table>
    }
}

fn subnets(app: &App, ctx: &Ctx) -> Html {
    html! {
        <section>
            <h2>{ "Subnets" }</h2>
            { load(&app.subnets, "subnets", |p| html! {
                <table id="subnets">
                    <tr><th>{ "Netuid" }</th><th>{ "Name" }</th><th>{ "Neurons" }</th><th>{ "Price (τ/α)" }</th><th>{ "TAO in" }</th><th>{ verified(p.height) }</th></tr>
                    { for p.value.iter().map(|s| {
                        let netuid = s.netuid;
                        let onclick = ctx.link().callback(move |_| Msg::Go(Screen::Subnet(netuid)));
                        html! { <tr>
                            <td>{ netuid }</td><td>{ s.name.clone() }</td><td>{ s.neurons }</td><td>{ tao(s.price) }</td><td>{ tao(s.tao_in) }</td>
                            <td><button id={format!("open-subnet-{netuid}")} {onclick}>{ "open" }</button></td>
                        </tr> }
                    }) }
                </table>
            }) }
        </section>
    }
}

fn subnet(app: &App, ctx: &Ctx, netuid: u16) -> Html {
    html! {
        <section>
            <h2>{ format!("Subnet {netuid}") }</h2>
            { load(&app.subnet, "subnet", |p| match &p.value.0 {
                None => html! { <p>{ format!("no subnet {netuid} (proven absent at #{})", p.height) }</p> },
                Some(s) => subnet_page(ctx, s, &p.value.1, p.height),
            }) }
            if let Some(check) = &app.epoch {
                { match check {
                    Ok(c) if c.mismatches.is_empty() => html! { <p class="verified" id="epoch-check">{ format!("✓ the epoch of #{} re-ran in this browser: all {} UIDs match", c.block, c.neurons) }</p> },
                    Ok(c) => html! { <p class="unverified" id="epoch-check">{ format!("the epoch of #{} does not re-run the same: {:?}", c.block, c.mismatches) }</p> },
                    Err(e) => html! { <p class="error" id="epoch-check">{ e }</p> },
                } }
            }
        </section>
    }
}

fn subnet_page(ctx: &Ctx, s: &SubnetView, rows: &[NeuronRow], height: u64) -> Html {
    let netuid = s.netuid;
    html! { <>
        <p>{ format!("{} — owner {}", s.name, s.owner) }{ " " }{ verified(height) }</p>
        <p id="pool">{ format!("Pool: {} and {}; price {} per α (moving {})", tao(s.tao_in), alpha(s.alpha_in), tao(s.price), tao(s.moving_price)) }</p>
        <p>{ match &s.module { Some(m) => format!("Incentive module {m}"), None => "Incentive: built-in Yuma".into() } }</p>
        <p>{ match &s.last_epoch {
            Some(r) => match &r.fallback {
                Some(why) => format!("Last epoch at #{} fell back to Yuma: {why}", r.block),
                None => format!("Last epoch at #{}", r.block),
            },
            None => "No epoch yet".into(),
        } }</p>
        { button(ctx, "check-epoch", "Re-run the last epoch here", move || Msg::CheckEpoch(netuid)) }
        <h3>{ "Metagraph" }</h3>
        <table id="metagraph">
            <tr><th>{ "UID" }</th><th>{ "Hotkey" }</th><th>{ "Stake" }</th><th>{ "Consensus" }</th><th>{ "Incentive" }</th><th>{ "Dividends" }</th><th>{ "Emission" }</th><th>{ "Trust" }</th><th>{ "Permit" }</th></tr>
            { for rows.iter().map(|r| html! { <tr>
                <td>{ r.uid }</td><td><code>{ r.hotkey.to_string() }</code></td><td>{ alpha(r.stake) }</td><td>{ share(r.consensus) }</td>
                <td>{ share(r.incentive) }</td><td>{ share(r.dividends) }</td><td>{ alpha(r.emission) }</td><td>{ share(r.trust) }</td>
                <td>{ if r.permit { "✓" } else { "" } }</td>
            </tr> }) }
        </table>
        <h3>{ "Hyperparameters" }</h3>
        <table id="hyperparameters">
            { for s.hyperparameters.iter().map(|(name, value)| html! { <tr><td>{ *name }</td><td>{ *value }</td></tr> }) }
        </table>
    </> }
}

fn deploy(app: &App, ctx: &Ctx) -> Html {
    let onchange = ctx.link().callback_future(|e: Event| async move {
        let input: HtmlInputElement = e.target_unchecked_into();
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return Msg::CodeLoaded(Err("no file".into()));
        };
        let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await;
        Msg::CodeLoaded(
            buffer
                .map(|b| js_sys::Uint8Array::new(&b).to_vec())
                .map_err(|_| "could not read the file".into()),
        )
    });
    html! {
        <section>
            <h2>{ "Deploy an incentive module" }</h2>
            <input id="wasm-file" type="file" accept=".wasm" {onchange} />
            if let Some(code) = &app.code {
                <p id="code-hash">{ format!("{} bytes, code hash {}", code.len(), tao_types::Hash(tao_types::keccak256(code))) }</p>
                <p>{ format!("Fee: {}", tao(tao_wallet::tx::Draft::deploy(code.clone()).fee)) }</p>
            }
            { button(ctx, "review-deploy", "Review", || Msg::ReviewDeploy) }
        </section>
    }
}

fn history(app: &App) -> Html {
    html! {
        <section>
            <h2>{ "History" }</h2>
            <table id="history">
                <tr><th>{ "What" }</th><th>{ "Status" }</th><th>{ "Hash" }</th></tr>
                { for app.history.iter().map(|e| html! { <tr>
                    <td>{ e.what.clone() }</td><td class="status">{ e.status.clone() }</td><td><code>{ e.hash.to_string() }</code></td>
                </tr> }) }
            </table>
        </section>
    }
}

fn settings(app: &App, ctx: &Ctx) -> Html {
    html! {
        <section>
            <h2>{ "Settings" }</h2>
            <h3>{ "Add an account" }</h3>
            { select(ctx, "add_kind", "Kind", &[("derived", "Next account of the phrase"), ("key", "Private key"), ("watch", "Watch-only address")]) }
            { field(app, ctx, "add_secret", "Key or address", "text") }
            { button(ctx, "add-account", "Add", || Msg::AddAccount) }
            { button(ctx, "add-hotkey", "New hotkey for the selected coldkey", || Msg::AddHotkey) }
            <h3>{ "Export the selected account" }</h3>
            { field(app, ctx, "export_password", "Password again", "password") }
            { button(ctx, "export", "Show key", || Msg::Export) }
            { button(ctx, "export-keystore", "Keystore JSON", || Msg::ExportKeystore) }
            <h3>{ "Network" }</h3>
            <p id="node">{ format!("Node: {}", crate::node::url()) }</p>
            { field(app, ctx, "node_url", "Another node (http://host:port)", "text") }
            { button(ctx, "use-node", "Use this node", || Msg::UseNode(true)) }
            { button(ctx, "page-node", "Use the page's node", || Msg::UseNode(false)) }
            <p>{ format!("This wallet trusts the chain whose genesis is {}.", app.pinned.map(|g| g.to_string()).unwrap_or_default()) }</p>
            { button(ctx, "forget-genesis", "Trust another chain (asks before pinning one without a checkpoint)", || Msg::ForgetGenesis) }
        </section>
    }
}

fn review(app: &App, ctx: &Ctx) -> Html {
    let Some(review) = &app.review else { return html! {} };
    match review {
        Err(e) => {
            html! { <section><p class="unverified" id="review-error">{ format!("cannot preview: {e}") }</p>
            { button(ctx, "back", "Back", || Msg::Go(Screen::Accounts)) }</section> }
        }
        Ok(r) => {
            let p = &r.preview.value;
            html! {
                <section id="review">
                    <h2>{ "Confirm" }</h2>
                    <p id="review-what">{ r.what.clone() }</p>
                    <p id="review-sender">{ format!("From {} (nonce {})", r.sender, r.nonce) }</p>
                    <p>{ format!("Call {}.{} ({})", r.draft.module.unwrap_or("upload"), r.draft.method, r.contract) }</p>
                    <p>{ format!("Fee {}", tao(p.fee)) }</p>
                    <p id="review-balance">{ format!("Free balance {} → {}", tao(p.free_before), tao(p.free_after)) }</p>
                    if let Some((pos, before, after)) = &p.stake { <p id="review-stake">{ format!("Stake on subnet {} via {}: {} → {}", pos.netuid, pos.hotkey, alpha(*before), alpha(*after)) }</p> }
                    if let Some((netuid, before, after)) = &p.price { <p id="review-price">{ format!("Subnet {netuid} price {} → {}{}", tao(*before), tao(*after), change(*before, *after)) }</p> }
                    if let Some(limit) = &r.limit { <p id="review-limit">{ limit.clone() }</p> }
                    <p>{ "Computed by the contract code in this browser on state " }{ verified(r.preview.height) }</p>
                    if let Some(e) = &p.error { <p class="error" id="review-refused">{ format!("The chain would refuse this: {e}") }</p> }
                    { button(ctx, "sign", "Sign and send", || Msg::Sign) }
                    { button(ctx, "cancel", "Cancel", || Msg::Go(Screen::Accounts)) }
                </section>
            }
        }
    }
}
