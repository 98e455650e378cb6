//! The vault's accounts (pressing one selects it) and the selected account's balance.

use yew::prelude::*;

use crate::session::{Action, Props};
use crate::widgets::balance;

#[function_component]
pub fn Accounts(props: &Props) -> Html {
    let session = &props.session;
    let list = session.vault.as_ref().map(|v| v.accounts().to_vec()).unwrap_or_default();
    html! {
        <section>
            <h2>{ "Accounts" }</h2>
            <ul class="accounts">
                { for list.into_iter().map(|a| {
                    let address = a.address;
                    let selected = Some(address) == session.selected;
                    let onclick = session.act.reform(move |_| Action::Select(address));
                    html! { <li class={classes!(selected.then_some("selected"))} {onclick}>
                        <b>{ a.name }</b>{ format!(" {:?} ", a.kind) }<code>{ address.to_string() }</code>
                    </li> }
                }) }
            </ul>
            { balance(&session.account) }
        </section>
    }
}
