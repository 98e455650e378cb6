//! A wallet without a vault: create one (the phrase shown, then three words typed back) or
//! import one. The vault made here is handed to the root with `Action::Open`.

use tao_wallet::vault::Vault;
use yew::prelude::*;

use crate::session::{Action, Props};
use crate::store;
use crate::widgets::{Form, Input, area, button, field, select};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Welcome,
    ShowMnemonic,
    ConfirmMnemonic,
    Import,
}

#[derive(Clone)]
pub enum Msg {
    Input(Input),
    Step(Step),
    NewMnemonic,
    FinishCreate,
    FinishImport,
}

pub struct Onboarding {
    step: Step,
    form: Form,
    mnemonic: Option<String>,
    confirm_positions: [usize; 3],
}

impl Component for Onboarding {
    type Message = Msg;
    type Properties = Props;

    fn create(_: &Context<Self>) -> Self {
        Onboarding {
            step: Step::Welcome,
            form: Form::default(),
            mnemonic: None,
            confirm_positions: [0, 1, 2],
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        let act = &ctx.props().session.act;
        let outcome = match msg {
            Msg::Input(input) => {
                self.form.set(input);
                Ok(())
            }
            Msg::Step(step) => {
                self.step = step;
                act.emit(Action::Notice(None));
                Ok(())
            }
            Msg::NewMnemonic => self.new_mnemonic(),
            Msg::FinishCreate => self.finish_create().map(|vault| act.emit(Action::Open(vault))),
            Msg::FinishImport => self.finish_import().map(|vault| act.emit(Action::Open(vault))),
        };
        if let Err(e) = outcome {
            act.emit(Action::Notice(Some(Err(e))));
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link().callback(|m: Msg| m);
        let on = ctx.link().callback(Msg::Input);
        match self.step {
            Step::Welcome => html! {
                <section>
                    <h2>{ "Welcome" }</h2>
                    <p>{ "Keys stay in this browser, sealed under your password. Every value is checked against the chain's validators." }</p>
                    { button(&link, "create", "Create a new wallet", Msg::NewMnemonic) }
                    { button(&link, "import", "Import a wallet", Msg::Step(Step::Import)) }
                </section>
            },
            Step::ShowMnemonic => html! {
                <section>
                    <h2>{ "Your recovery phrase" }</h2>
                    <p>{ "Write these 12 words down in order. Anyone with them controls your funds." }</p>
                    <ol id="mnemonic">{ for self.mnemonic.iter().flat_map(|m| m.split(' ')).map(|w| html! { <li>{ w }</li> }) }</ol>
                    { button(&link, "written", "I wrote it down", Msg::Step(Step::ConfirmMnemonic)) }
                </section>
            },
            Step::ConfirmMnemonic => {
                let [a, b, c] = self.confirm_positions;
                html! {
                    <section>
                        <h2>{ "Confirm your phrase" }</h2>
                        { field(&self.form, &on, "word0", &format!("Word #{}", a + 1), "text") }
                        { field(&self.form, &on, "word1", &format!("Word #{}", b + 1), "text") }
                        { field(&self.form, &on, "word2", &format!("Word #{}", c + 1), "text") }
                        { self.passwords(&on) }
                        { button(&link, "finish-create", "Create wallet", Msg::FinishCreate) }
                    </section>
                }
            }
            Step::Import => html! {
                <section>
                    <h2>{ "Import" }</h2>
                    { select(&on, "import_kind", "What", &[("mnemonic", "Recovery phrase"), ("key", "Private key"), ("keystore", "Keystore JSON"), ("watch", "Watch-only address")]) }
                    { area(&self.form, &on, "import_secret", "Phrase, key, keystore JSON or address") }
                    if self.form.get("import_kind") == "keystore" { { field(&self.form, &on, "import_password", "Keystore file password", "password") } }
                    { self.passwords(&on) }
                    { button(&link, "finish-import", "Import", Msg::FinishImport) }
                    { button(&link, "back", "Back", Msg::Step(Step::Welcome)) }
                </section>
            },
        }
    }
}

impl Onboarding {
    fn passwords(&self, on: &Callback<Input>) -> Html {
        html! { <>
            { field(&self.form, on, "new_password", "New password (8+ characters)", "password") }
            { field(&self.form, on, "new_password2", "Repeat the password", "password") }
        </> }
    }

    fn new_mnemonic(&mut self) -> Result<(), String> {
        let (entropy, picks) = (store::random()?, store::random()?);
        self.mnemonic = Some(tao_crypto::hd::mnemonic_from_entropy(&entropy));
        self.confirm_positions = tao_wallet::vault::confirmation_positions(12, picks);
        self.step = Step::ShowMnemonic;
        Ok(())
    }

    fn new_password(&self) -> Result<String, String> {
        let password = self.form.get("new_password");
        if password != self.form.get("new_password2") {
            return Err("the two passwords differ".into());
        }
        Ok(password)
    }

    /// The vault of the shown phrase, once three of its words were typed back. A refusal
    /// keeps what was typed: a mistake costs no retyping.
    fn finish_create(&self) -> Result<Vault, String> {
        let Some(phrase) = &self.mnemonic else { return Err("no recovery phrase yet".into()) };
        let words: Vec<&str> = phrase.split(' ').collect();
        for (i, position) in self.confirm_positions.iter().enumerate() {
            let typed = self.form.get(["word0", "word1", "word2"][i]);
            if typed.trim() != words.get(*position).copied().unwrap_or_default() {
                return Err(format!("word #{} does not match your phrase", position + 1));
            }
        }
        let password = self.new_password()?;
        Vault::from_mnemonic(phrase, &password).map_err(|e| e.to_string())
    }

    fn finish_import(&self) -> Result<Vault, String> {
        let password = self.new_password()?;
        let secret = self.form.get("import_secret");
        let vault = match self.form.get("import_kind").as_str() {
            "key" => {
                Vault::empty(&password).and_then(|mut v| v.import_private_key("Imported", &secret).map(|_| v))
            }
            "keystore" => Vault::empty(&password).and_then(|mut v| {
                v.import_keystore("Imported", &secret, &self.form.get("import_password")).map(|_| v)
            }),
            "watch" => {
                Vault::empty(&password).and_then(|mut v| v.add_watch_only("Watched", &secret).map(|_| v))
            }
            _ => Vault::from_mnemonic(&secret, &password),
        };
        vault.map_err(|e| e.to_string())
    }
}
