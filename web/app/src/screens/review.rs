//! Confirming a transaction: its preview, computed on proven state by the code the chain runs
//! (compiled in, or the chain's own bytes after an upgrade), and signing it as the account the
//! preview ran as, at the nonce shown.

use std::rc::Rc;

use serde_json::json;
use tao_tx::SignedTransaction;
use tao_types::{Address, Hash};
use tao_wallet::display::short;
use tao_wallet::proven::Context as RunContext;
use tao_wallet::tx;
use tao_wallet::views;
use tao_wallet::{Chain, Proven, rpc};
use yew::prelude::*;

use crate::node;
use crate::session::{
    Action, HistoryEntry, Load, Request, Review as Reviewed, Screen, Session, Shared, signed_by,
};
use crate::widgets::{address, alpha, button, change, primary_if, tao, verified};

#[derive(Clone, PartialEq, Properties)]
pub struct Props {
    pub session: Shared,
    pub review: Rc<Result<Reviewed, String>>,
}

#[derive(Clone)]
pub enum Msg {
    Sign,
    /// First press of "Send anyway": ask again.
    SendAnyway,
    /// Second press: sign although the chain would refuse it.
    SignAnyway,
}

pub struct Review {
    /// A signature was made (a second press does nothing).
    signed: bool,
    /// "Send anyway" was pressed once.
    anyway: bool,
}

impl Component for Review {
    type Message = Msg;
    type Properties = Props;

    fn create(_: &Context<Self>) -> Self {
        Review { signed: false, anyway: false }
    }

    fn changed(&mut self, ctx: &Context<Self>, old: &Props) -> bool {
        // Another transaction under review: nothing confirmed for the last one carries over.
        if !Rc::ptr_eq(&ctx.props().review, &old.review) {
            *self = Review { signed: false, anyway: false };
        }
        true
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        let Ok(review) = ctx.props().review.as_ref() else { return false };
        match msg {
            Msg::SendAnyway => self.anyway = true,
            Msg::Sign | Msg::SignAnyway if self.signed => {}
            Msg::Sign => self.signed = sign(&ctx.props().session, review, false),
            Msg::SignAnyway => self.signed = sign(&ctx.props().session, review, self.anyway),
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let act = &ctx.props().session.act;
        let accounts = Action::Go(Screen::Accounts);
        let r = match ctx.props().review.as_ref() {
            Err(e) => {
                return html! { <section><p class="unverified" id="review-error">{ format!("cannot preview: {e}") }</p>
                { button(act, "back", "Back", accounts) }</section> };
            }
            Ok(r) => r,
        };
        let p = &r.preview.value;
        let link = ctx.link().callback(|m: Msg| m);
        let blocked = tx::next_nonce(r.nonce, &signed_by(&ctx.props().session.history, r.sender)).err();
        let refused = p.error.is_some();
        html! {
            <section id="review">
                <h2>{ "Confirm" }</h2>
                <p id="review-what" class="headline">{ r.request.what.clone() }</p>
                <table class="facts">
                    <tr><th>{ "From" }</th><td id="review-sender">{ address(&r.sender) }{ format!(" nonce {}", r.nonce) }</td></tr>
                    <tr><th>{ "Call" }</th><td>{ format!("{}.{}", r.request.draft.module.unwrap_or("upload"), r.request.draft.method) }<br /><code class="muted">{ r.contract.to_string() }</code></td></tr>
                    <tr><th>{ "Fee, at most" }</th><td>{ tao(p.fee) }</td></tr>
                    <tr><th>{ "Free balance" }</th><td id="review-balance">{ format!("{} → {}", tao(p.free_before), tao(p.free_after)) }</td></tr>
                    if let Some((pos, before, after)) = &p.stake { <tr><th>{ "Stake" }</th><td id="review-stake">{ format!("subnet {} via {}: {} → {}", pos.netuid, short(&pos.hotkey), alpha(*before), alpha(*after)) }</td></tr> }
                    if let Some((netuid, before, after)) = &p.price { <tr><th>{ "Price" }</th><td id="review-price">{ format!("subnet {netuid} price {} → {}{}", tao(*before), tao(*after), change(*before, *after)) }</td></tr> }
                </table>
                <p id="review-fee" class="muted">{ "The fee is the transaction's bytes and the gas its call uses; the rest of the limit comes back, so the balance after is the least it will be." }</p>
                if let Some(limit) = &r.request.limit { <p id="review-limit" class="muted">{ limit.clone() }</p> }
                if let Some(warning) = &r.warning { <p class="warning" id="slippage-warning">{ warning.clone() }</p> }
                <p id="review-code" class="muted">{ format!("{} — on state ", r.code.join("; ")) }{ verified(r.preview.height) }</p>
                if let Some(e) = &p.error { <p class="error" id="review-refused">{ format!("The chain would refuse this: {e}") }</p> }
                if let Some(e) = &blocked { <p class="error" id="review-blocked">{ e.to_string() }</p> }
                if refused && blocked.is_none() && self.anyway {
                    <p class="error">{ "The chain will refuse it and keep the fee. Sign it anyway?" }</p>
                }
                <div class="actions">
                    { primary_if(blocked.is_none() && p.may_sign(false), &link, "sign", "Sign and send", Msg::Sign) }
                    if refused && blocked.is_none() && !self.anyway {
                        <button id="send-anyway" class="danger" onclick={link.reform(|_| Msg::SendAnyway)}>{ "Send anyway…" }</button>
                    }
                    if refused && blocked.is_none() && self.anyway {
                        <button id="send-anyway-confirm" class="danger" onclick={link.reform(|_| Msg::SignAnyway)}>{ "Yes, sign and send anyway" }</button>
                    }
                    { button(act, "cancel", "Cancel", accounts) }
                </div>
            </section>
        }
    }
}

/// Previews `request` as `sender` on the state proven at the believed head. A stake order is
/// priced in the same run, on the same state, so its limit and its preview agree.
pub async fn preview(chain: Chain, sender: Address, mut request: Request) -> Result<Reviewed, String> {
    let head = chain.head();
    let context = RunContext {
        caller: sender,
        block_height: head.height + 1,
        block_time_ms: head.time_ms,
        input: request.draft.args.clone(),
    };
    let (draft, order, position) = (&request.draft, request.order, request.position);
    let (code, contract) = node::preview_code(&chain, head.height, draft).await?;
    let run = node::read(&chain, head.height, context, |h| {
        let nonce = views::nonce(h, &sender);
        let (priced, preview) = match (order, position) {
            (Some(o), Some(p)) => {
                let (priced, preview) =
                    tx::preview_stake_order(h, &sender, p, o.amount, o.buying, o.slippage_bps, &code)?;
                (Some(priced), preview)
            }
            _ => (None, tx::preview(h, &sender, draft, position, &code)?),
        };
        Ok::<_, String>((nonce, priced, preview))
    });
    let (nonce, priced, preview, height) = match run.await {
        Ok(Proven { value: Ok((n, o, p)), height }) => (n, o, p, height),
        Ok(Proven { value: Err(e), .. }) => return Err(e),
        Err(e) => return Err(e.to_string()),
    };
    let warning = priced.as_ref().and_then(tx::StakeOrder::warning);
    if let Some(priced) = priced {
        request.limit =
            priced.limit.map(|l| limit_words(request.order.is_some_and(|o| o.buying), l.price, &priced));
        request.draft = priced.draft;
    }
    let code = code.describe();
    Ok(Reviewed {
        sender,
        nonce,
        request,
        contract,
        code,
        preview: Proven { value: preview, height },
        warning,
    })
}

/// A stake order's limit, in words.
fn limit_words(buying: bool, price: u64, order: &tx::StakeOrder) -> String {
    let side = if buying { "at most" } else { "at least" };
    format!(
        "Limit: the price after must be {side} {} per α ({} slippage; this order alone moves it {}), else nothing happens",
        tao(price),
        tx::percent(u32::from(order.slippage_bps)),
        tx::percent(order.impact_bps)
    )
}

/// Signs the reviewed transaction as the account the preview ran as, at exactly the proven
/// nonce Confirm showed, unless a transaction this wallet signed may still execute or the
/// preview says the chain would refuse it (and the user did not confirm twice). The signed
/// transaction is recorded before it is submitted. Whether it was signed.
fn sign(session: &Session, review: &Reviewed, anyway: bool) -> bool {
    let refuse = |e: String| {
        session.act.emit(Action::Notice(Some(Err(e))));
        false
    };
    if !review.preview.value.may_sign(anyway) {
        return refuse("the chain would refuse this transaction".into());
    }
    let (Some(vault), Some(chain)) = (&session.vault, &session.chain) else { return false };
    let key = match vault.key(&review.sender) {
        Ok(key) => key,
        Err(e) => return refuse(e.to_string()),
    };
    // The newest proven nonce: the balance view's, when it is the sender's and not older.
    let proven = match &session.account {
        Load::Ready(p) if p.value.address == review.sender && p.height >= review.preview.height => {
            p.value.nonce
        }
        _ => review.nonce,
    };
    let signed = signed_by(&session.history, review.sender);
    let nonce = match tx::confirm_nonce(review.nonce, proven, &signed) {
        Ok(nonce) => nonce,
        Err(e) => return refuse(e.to_string()),
    };
    match review.request.draft.sign(chain.domain(), review.contract, nonce, &key) {
        Ok(tx) => {
            session.act.emit(Action::Signed(HistoryEntry::signed(&tx, review.request.what.clone())));
            submit(session.act.clone(), tx);
            true
        }
        Err(e) => refuse(e),
    }
}

/// Submits a signed transaction and tells the root what the node answered.
pub fn submit(act: Callback<Action>, signed: SignedTransaction) {
    let hash = signed.hash();
    wasm_bindgen_futures::spawn_local(async move {
        let reply = node::call("tx_submit", json!([rpc::hex0x(&signed.encode())])).await;
        let result = match reply {
            Ok(reply) if reply.as_str().and_then(|s| s.parse::<Hash>().ok()) == Some(hash) => Ok(()),
            Ok(reply) => Err(format!("the node acknowledged {reply} instead of {hash}")),
            Err(e) => Err(e.to_string()),
        };
        act.emit(Action::Submitted(hash, result));
    });
}
