//! A stored vault, locked: the selected account and its verified balance, the password, and
//! forgetting the wallet (only when pressed twice).

use tao_wallet::vault::Vault;
use yew::prelude::*;

use crate::session::{Action, Props};
use crate::widgets::{Form, Input, balance, button, field};

#[derive(Clone)]
pub enum Msg {
    Input(Input),
    Unlock,
    Forget,
}

pub struct Unlock {
    form: Form,
    /// The first press of Forget only warns.
    confirm_forget: bool,
}

impl Component for Unlock {
    type Message = Msg;
    type Properties = Props;

    fn create(_: &Context<Self>) -> Self {
        Unlock { form: Form::default(), confirm_forget: false }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        let session = &ctx.props().session;
        match msg {
            Msg::Input(input) => self.form.set(input),
            Msg::Unlock => {
                let Some(file) = &session.file else { return false };
                // A wrong password keeps what was typed.
                match Vault::unlock(file, &self.form.get("password")) {
                    Ok(vault) => session.act.emit(Action::Unlocked(vault)),
                    Err(e) => session.act.emit(Action::Notice(Some(Err(e.to_string())))),
                }
            }
            Msg::Forget if !self.confirm_forget => {
                self.confirm_forget = true;
                session.act.emit(Action::Notice(Some(Err("this deletes the sealed keys from this browser: \
                    without the recovery phrase or a key backup the funds are lost. Press Forget again to confirm."
                    .into()))));
            }
            Msg::Forget => session.act.emit(Action::ForgetWallet),
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let session = &ctx.props().session;
        let link = ctx.link().callback(|m: Msg| m);
        let on = ctx.link().callback(Msg::Input);
        let account = session
            .file
            .as_ref()
            .and_then(|f| f.accounts.iter().find(|a| Some(a.address) == session.selected));
        html! {
            <section>
                <h2>{ "Unlock" }</h2>
                if let Some(account) = account {
                    <p>{ format!("{} ", account.name) }<code>{ account.address.to_string() }</code></p>
                }
                { balance(&session.account) }
                { field(&self.form, &on, "password", "Password", "password") }
                { button(&link, "unlock", "Unlock", Msg::Unlock) }
                { button(&link, "forget", "Forget this wallet", Msg::Forget) }
            </section>
        }
    }
}
