//! The selected account (its balance and quick actions) and the vault's accounts (pressing one
//! selects it).

use tao_wallet::vault::Account;
use yew::prelude::*;

use crate::session::{Action, Props, Screen, Session};
use crate::widgets::{address, avatar, balance, button};

#[function_component]
pub fn Accounts(props: &Props) -> Html {
    let session = &props.session;
    let list = session.vault.as_ref().map(|v| v.accounts().to_vec()).unwrap_or_default();
    let selected = list.iter().find(|a| Some(a.address) == session.selected);
    html! { <>
        <section class="account">
            if let Some(account) = selected {
                <div class="row">
                    { avatar(&account.address) }<h2 class="grow">{ account.name.clone() }</h2>
                    { address(&account.address) }
                </div>
            }
            { balance(&session.account) }
            <div class="actions">
                { button(&session.act, "quick-send", "Send", Action::Go(Screen::Send)) }
                { button(&session.act, "quick-receive", "Receive", Action::Go(Screen::Receive)) }
                { button(&session.act, "quick-stake", "Stake", Action::Go(Screen::Stake)) }
            </div>
        </section>
        <section>
            <h2>{ "Accounts" }</h2>
            <ul class="accounts">{ for list.iter().map(|a| row(session, a)) }</ul>
        </section>
    </> }
}

/// One account of the list: pressing it selects it.
fn row(session: &Session, account: &Account) -> Html {
    let chosen = account.address;
    let onclick = session.act.reform(move |_| Action::Select(chosen));
    html! {
        <li class={classes!((Some(chosen) == session.selected).then_some("selected"))} {onclick}>
            { avatar(&chosen) }
            <span class="grow"><b>{ account.name.clone() }</b><br /><span class="kind">{ account.kind.to_string() }</span></span>
            { address(&chosen) }
        </li>
    }
}
