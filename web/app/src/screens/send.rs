//! Sending TAO: recipient and amount (or the most that can be sent), then a review.

use tao_types::{Address, Balance};
use tao_wallet::display::short;
use tao_wallet::tx::{self, Draft};
use yew::prelude::*;

use crate::session::{Action, Load, Props, Request};
use crate::widgets::{Form, Input, balance, button, field, primary, tao};

#[derive(Clone)]
pub enum Msg {
    Input(Input),
    Max,
    Review,
}

pub struct Send {
    form: Form,
}

impl Component for Send {
    type Message = Msg;
    type Properties = Props;

    fn create(_: &Context<Self>) -> Self {
        Send { form: Form::default() }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        let session = &ctx.props().session;
        match msg {
            Msg::Input(input) => self.form.set(input),
            Msg::Max => {
                if let Load::Ready(view) = &session.account {
                    let max = Balance(tx::max_sendable(view.value.free, tx::DEFAULT_FEE)).to_string();
                    self.form.set(("amount", max.trim_end_matches(" τ").to_string()));
                }
            }
            Msg::Review => session.act.emit(match self.request() {
                Ok(request) => Action::Review(request),
                Err(e) => Action::Notice(Some(Err(e))),
            }),
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link().callback(|m: Msg| m);
        let on = ctx.link().callback(Msg::Input);
        html! {
            <section>
                <h2>{ "Send TAO" }</h2>
                { balance(&ctx.props().session.account) }
                { field(&self.form, &on, "to", "Recipient (checksummed address)", "text") }
                <div class="row inline-field">
                    <span class="grow">{ field(&self.form, &on, "amount", "Amount (τ)", "text") }</span>
                    { button(&link, "max", "Max", Msg::Max) }
                </div>
                <p class="muted">{ format!("Fee limit {}, held until the call runs: the bytes and gas used are charged, the rest comes back · the account keeps its existential deposit", tao(tx::DEFAULT_FEE)) }</p>
                <div class="actions">{ primary(&link, "review-send", "Review", Msg::Review) }</div>
            </section>
        }
    }
}

impl Send {
    fn request(&self) -> Result<Request, String> {
        let to: Address = self.form.get("to").trim().parse().map_err(|e| format!("recipient: {e}"))?;
        let amount = self.form.amount("amount")?;
        let what = format!("send {} to {}", Balance(amount), short(&to));
        Ok(Request {
            what,
            limit: None,
            draft: Draft::transfer(to, amount, true),
            position: None,
            order: None,
        })
    }
}
