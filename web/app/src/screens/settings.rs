//! Adding accounts and hotkeys, exporting the selected account after the password, and which
//! node and genesis the wallet uses.

use gloo_storage::Storage;
use tao_wallet::vault::Account;
use yew::prelude::*;

use crate::session::{Action, Props, Session};
use crate::widgets::{Form, Input, button, field, primary, select};
use crate::{node, store};

#[derive(Clone)]
pub enum Msg {
    Input(Input),
    AddAccount,
    AddHotkey,
    Export,
    ExportKeystore,
    /// Use the typed node (`true`) or the page's own.
    UseNode(bool),
}

pub struct Settings {
    form: Form,
}

impl Component for Settings {
    type Message = Msg;
    type Properties = Props;

    fn create(_: &Context<Self>) -> Self {
        Settings { form: Form::default() }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        let session = &ctx.props().session;
        let act = &session.act;
        match msg {
            Msg::Input(input) => self.form.set(input),
            Msg::AddAccount => match self.add_account(session) {
                Ok(save) => {
                    self.form.clear("add_secret");
                    act.emit(save);
                }
                Err(e) => act.emit(Action::Notice(Some(Err(e)))),
            },
            Msg::AddHotkey => act.emit(add_hotkey(session).unwrap_or_else(|e| Action::Notice(Some(Err(e))))),
            Msg::Export => {
                let shown = self.export(session, false);
                act.emit(Action::Notice(shown));
            }
            Msg::ExportKeystore => {
                let shown = self.export(session, true);
                act.emit(Action::Notice(shown));
            }
            Msg::UseNode(custom) => act.emit(match self.use_node(custom) {
                Ok(url) => Action::Reconnect(url),
                Err(e) => Action::Notice(Some(Err(e))),
            }),
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link().callback(|m: Msg| m);
        let on = ctx.link().callback(Msg::Input);
        let (form, act) = (&self.form, &ctx.props().session.act);
        let pinned = ctx.props().session.pinned.map(|g| g.to_string()).unwrap_or_default();
        html! {
            <section>
                <h2>{ "Settings" }</h2>
                <div class="grid">
                <div class="card">
                    <h3>{ "Add an account" }</h3>
                    { select(form, &on, "add_kind", "Kind", &[("derived", "Next account of the phrase"), ("key", "Private key"), ("watch", "Watch-only address")]) }
                    { field(form, &on, "add_secret", "Key or address", "text") }
                    <div class="actions">
                        { primary(&link, "add-account", "Add", Msg::AddAccount) }
                        { button(&link, "add-hotkey", "New hotkey for the selected coldkey", Msg::AddHotkey) }
                    </div>
                </div>
                <div class="card">
                    <h3>{ "Export the selected account" }</h3>
                    { field(form, &on, "export_password", "Password again", "password") }
                    <div class="actions">
                        { button(&link, "export", "Show key", Msg::Export) }
                        { button(&link, "export-keystore", "Keystore JSON", Msg::ExportKeystore) }
                    </div>
                </div>
                </div>
                <div class="card">
                    <h3>{ "Network" }</h3>
                    <p id="node">{ format!("Node: {}", node::url()) }</p>
                    { field(form, &on, "node_url", "Another node (http://host:port)", "text") }
                    <div class="actions">
                        { button(&link, "use-node", "Use this node", Msg::UseNode(true)) }
                        { button(&link, "page-node", "Use the page's node", Msg::UseNode(false)) }
                    </div>
                    <p class="muted">{ format!("This wallet trusts the chain whose genesis is {pinned}.") }</p>
                    { ctx.props().session.chain.as_ref().map(crate::trust::validator_set).unwrap_or_default() }
                    <button id="forget-genesis" class="danger" onclick={act.reform(|_| Action::ForgetGenesis)}>{ "Trust another chain (asks before pinning one without a checkpoint)" }</button>
                </div>
            </section>
        }
    }
}

impl Settings {
    /// The vault with one more account of the chosen kind, to be sealed by the root.
    fn add_account(&self, session: &Session) -> Result<Action, String> {
        let Some(mut vault) = session.vault.clone() else { return Err("the wallet is locked".into()) };
        let name = vault.default_name();
        let added = match self.form.get("add_kind").as_str() {
            "key" => vault.import_private_key(&name, &self.form.get("add_secret")),
            "watch" => vault.add_watch_only(&name, &self.form.get("add_secret")),
            _ => vault.add_derived(None),
        };
        let address = added.map_err(|e| e.to_string())?;
        Ok(Action::SaveVault(vault, format!("added {address}")))
    }

    /// The selected account's key (or keystore JSON), once the password was typed again; the
    /// typed password is forgotten either way.
    fn export(&mut self, session: &Session, keystore: bool) -> Option<Result<String, String>> {
        let password = self.form.get("export_password");
        self.form.clear("export_password");
        let (Some(vault), Some(file), Some(account)) = (&session.vault, &session.file, selected(session))
        else {
            return None;
        };
        Some(if keystore {
            store::fresh().and_then(|fresh| {
                vault.export_keystore(file, &account.address, &password, fresh).map_err(|e| e.to_string())
            })
        } else {
            vault.export(file, &account.address, &password).map_err(|e| e.to_string()).map(|e| {
                match e.mnemonic {
                    Some(m) => format!("private key {} — recovery phrase: {m}", e.private_key),
                    None => format!("private key {}", e.private_key),
                }
            })
        })
    }

    /// Stores the chosen node (or forgets it, for the page's own) and returns its URL.
    fn use_node(&self, custom: bool) -> Result<String, String> {
        if !custom {
            gloo_storage::LocalStorage::delete(store::NODE);
            return Ok(node::url());
        }
        let url = node::parse_url(&self.form.get("node_url"))?;
        store::save(store::NODE, &url).map(|()| url)
    }
}

/// A new hotkey for the selected coldkey, to be sealed by the root.
fn add_hotkey(session: &Session) -> Result<Action, String> {
    let (Some(mut vault), Some(coldkey)) = (session.vault.clone(), session.selected) else {
        return Err("the wallet is locked".into());
    };
    let address = vault.add_hotkey(&coldkey, &store::random()?).map_err(|e| e.to_string())?;
    Ok(Action::SaveVault(vault, format!("new hotkey {address}")))
}

fn selected(session: &Session) -> Option<&Account> {
    let vault = session.vault.as_ref()?;
    vault.accounts().iter().find(|a| Some(a.address) == session.selected)
}
