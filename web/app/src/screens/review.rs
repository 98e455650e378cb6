//! Confirming a transaction: its preview, computed by the contract code in this browser on
//! proven state, and signing it as the account the preview ran as.

use std::rc::Rc;

use serde_json::json;
use tao_types::Address;
use tao_wallet::proven::Context as RunContext;
use tao_wallet::tx;
use tao_wallet::views;
use tao_wallet::{Chain, Proven, rpc};
use yew::prelude::*;

use crate::node;
use crate::session::{Action, HistoryEntry, Request, Review as Reviewed, Screen, Session, Shared};
use crate::widgets::{alpha, button, change, tao, verified};

#[derive(Clone, PartialEq, Properties)]
pub struct Props {
    pub session: Shared,
    pub review: Rc<Result<Reviewed, String>>,
}

#[derive(Clone)]
pub enum Msg {
    Sign,
    Signed,
}

pub struct Review {
    /// A signature is being submitted (a second press does nothing).
    signing: bool,
}

impl Component for Review {
    type Message = Msg;
    type Properties = Props;

    fn create(_: &Context<Self>) -> Self {
        Review { signing: false }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Sign if !self.signing => {
                if let Ok(review) = ctx.props().review.as_ref() {
                    self.signing = sign(ctx, review);
                }
            }
            Msg::Sign => {}
            Msg::Signed => self.signing = false,
        }
        false
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
        html! {
            <section id="review">
                <h2>{ "Confirm" }</h2>
                <p id="review-what">{ r.request.what.clone() }</p>
                <p id="review-sender">{ format!("From {} (nonce {})", r.sender, r.nonce) }</p>
                <p>{ format!("Call {}.{} ({})", r.request.draft.module.unwrap_or("upload"), r.request.draft.method, r.contract) }</p>
                <p>{ format!("Fee {}", tao(p.fee)) }</p>
                <p id="review-balance">{ format!("Free balance {} → {}", tao(p.free_before), tao(p.free_after)) }</p>
                if let Some((pos, before, after)) = &p.stake { <p id="review-stake">{ format!("Stake on subnet {} via {}: {} → {}", pos.netuid, pos.hotkey, alpha(*before), alpha(*after)) }</p> }
                if let Some((netuid, before, after)) = &p.price { <p id="review-price">{ format!("Subnet {netuid} price {} → {}{}", tao(*before), tao(*after), change(*before, *after)) }</p> }
                if let Some(limit) = &r.request.limit { <p id="review-limit">{ limit.clone() }</p> }
                <p>{ "Computed by the contract code in this browser on state " }{ verified(r.preview.height) }</p>
                if let Some(e) = &p.error { <p class="error" id="review-refused">{ format!("The chain would refuse this: {e}") }</p> }
                { button(&link, "sign", "Sign and send", Msg::Sign) }
                { button(act, "cancel", "Cancel", accounts) }
            </section>
        }
    }
}

/// Previews `request` as `sender` on the state proven at the believed head.
pub async fn preview(chain: Chain, sender: Address, request: Request) -> Result<Reviewed, String> {
    let head = chain.head();
    let context = RunContext {
        caller: sender,
        block_height: head.height + 1,
        block_time_ms: head.time_ms,
        input: request.draft.args.clone(),
    };
    let draft = &request.draft;
    let run = node::read(&chain, head.height, context, |h| {
        let nonce = views::nonce(h, &sender);
        Ok::<_, String>((tx::contract(h, draft)?, nonce, tx::preview(h, &sender, draft, request.position)?))
    });
    match run.await {
        Ok(Proven { value: Ok((contract, nonce, preview)), height }) => {
            Ok(Reviewed { sender, nonce, request, contract, preview: Proven { value: preview, height } })
        }
        Ok(Proven { value: Err(e), .. }) => Err(e),
        Err(e) => Err(e.to_string()),
    }
}

/// Signs the reviewed transaction as the account the preview ran as, and tells the root what
/// became of it; whether a signature is under way. The nonce is the node's pending one only if
/// it lies between the proven nonce and that plus this wallet's own transactions still pending:
/// a node cannot make the wallet sign for a future slot.
fn sign(ctx: &Context<Review>, review: &Reviewed) -> bool {
    let session: &Session = &ctx.props().session;
    let (Some(vault), Some(chain)) = (&session.vault, &session.chain) else { return false };
    let key = match vault.key(&review.sender) {
        Ok(key) => key,
        Err(e) => {
            session.act.emit(Action::Notice(Some(Err(e.to_string()))));
            return false;
        }
    };
    let pending = session.history.iter().filter(|e| e.from == review.sender && !e.proven).count() as u64;
    let (domain, review, act) = (*chain.domain(), review.clone(), session.act.clone());
    act.emit(Action::Busy(Some("signing and submitting…".into())));
    ctx.link().send_future(async move {
        let submit = async {
            let account =
                node::call("account_get", json!([review.sender])).await.map_err(|e| e.to_string())?;
            let nonce = account["pending_nonce"].as_u64().ok_or("the node gave no nonce")?;
            if nonce < review.nonce || nonce > review.nonce + pending {
                return Err(format!(
                    "the node's next nonce {nonce} is outside what this wallet knows ({} to {}): not signing",
                    review.nonce,
                    review.nonce + pending
                ));
            }
            let signed = review.request.draft.sign(&domain, review.contract, nonce, &key)?;
            let reply = node::call("tx_submit", json!([rpc::hex0x(&signed.encode())]))
                .await
                .map_err(|e| e.to_string())?;
            let hash = signed.hash();
            if reply.as_str().and_then(|s| s.parse::<tao_types::Hash>().ok()) != Some(hash) {
                return Err(format!("the node acknowledged {reply} instead of {hash}"));
            }
            let (what, from) = (review.request.what.clone(), review.sender);
            Ok(HistoryEntry { hash, what, from, status: "pending".into(), proven: false })
        };
        act.emit(Action::Submitted(submit.await));
        Msg::Signed
    });
    true
}
