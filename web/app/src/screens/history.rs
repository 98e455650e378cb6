//! Signed transactions, and how their status becomes proven: "pending" until the node
//! reports the transaction in a block the wallet believes, then the outcome from its receipt.
//! While its nonce is unused on chain, a transaction can be sped up or cancelled at that nonce.

use serde_json::json;
use tao_types::Hash;
use tao_wallet::proven::Context as RunContext;
use tao_wallet::tx::{self, Replace};
use tao_wallet::{Chain, Proven, views};
use yew::prelude::*;

use crate::screens::review::submit;
use crate::session::{Action, HistoryEntry, Load, Props, Session, Shared};
use crate::widgets::address;
use crate::{node, store};

#[function_component]
pub fn History(props: &Props) -> Html {
    let session = &props.session;
    let history = &session.history;
    html! {
        <section>
            <h2>{ "History" }</h2>
            if history.is_empty() { <p class="muted">{ "Nothing sent from this browser yet." }</p> }
            <table id="history">
                <tr><th>{ "When" }</th><th>{ "What" }</th><th>{ "Account" }</th><th>{ "Status" }</th><th>{ "Nonce" }</th><th>{ "Transaction" }</th><th></th></tr>
                { for history.iter().map(|e| row(session, e)) }
            </table>
        </section>
    }
}

/// One transaction: when, what, from which account, its status (a badge once proven), its
/// nonce and hash, and Speed up / Cancel while it may still be replaced.
fn row(session: &Shared, e: &HistoryEntry) -> Html {
    let when = if e.at_ms == 0 { "—".to_string() } else { store::local_time(e.at_ms) };
    let hash = e.hash.to_string();
    let short_hash = format!(
        "{}…{}",
        hash.get(..10).unwrap_or_default(),
        hash.get(hash.len().saturating_sub(6)..).unwrap_or_default()
    );
    html! { <tr>
        <td class="when">{ when }</td><td>{ e.what.clone() }</td><td>{ address(&e.from) }</td>
        <td class="status"><span class={classes!(e.proven.then_some("verified"))}>{ e.status.clone() }</span></td>
        <td class="nonce">{ e.nonce.map(|n| n.to_string()).unwrap_or_default() }</td>
        <td><code title={hash}>{ short_hash }</code></td>
        <td class="replace">{ replace_buttons(session, e) }</td>
    </tr> }
}

/// Speed up and Cancel for a transaction of the selected account whose nonce is not used as
/// far as the proven balance view knows (the replacement checks again on fresh proven state).
fn replace_buttons(session: &Shared, entry: &HistoryEntry) -> Html {
    let proven_nonce = match &session.account {
        Load::Ready(p) if p.value.address == entry.from => p.value.nonce,
        _ => return html! {},
    };
    if entry.proven || entry.tx.is_none() || entry.nonce.is_none_or(|n| n < proven_nonce) {
        return html! {};
    }
    let button = |class: &'static str, label: &'static str, cancel: bool| {
        let (session, entry) = (session.clone(), entry.clone());
        let onclick = Callback::from(move |_: MouseEvent| replace(&session, &entry, cancel));
        html! { <button class={class} {onclick}>{ label }</button> }
    };
    html! { <>{ button("speed-up", "Speed up", false) }{ button("cancel-tx", "Cancel", true) }</> }
}

/// Replaces `entry` at its own nonce with a higher fee: the same call (speed up) or a
/// self-transfer of nothing (cancel), signed on the proven nonce and token code hash.
fn replace(session: &Session, entry: &HistoryEntry, cancel: bool) {
    let (Some(vault), Some(chain), Some(kept)) = (&session.vault, session.chain.clone(), entry.tx.clone())
    else {
        return;
    };
    let act = session.act.clone();
    let (key, pending) = match (vault.key(&entry.from), tx::stored(&kept, chain.domain())) {
        (Ok(key), Ok(pending)) => (key, pending),
        (Err(e), _) => return act.emit(Action::Notice(Some(Err(e.to_string())))),
        (_, Err(e)) => return act.emit(Action::Notice(Some(Err(e)))),
    };
    let what = match (cancel, pending.nonce) {
        (true, n) => {
            format!("cancel nonce {n} (a self-transfer of nothing: the chain refuses it, the fee is paid)")
        }
        (false, _) => format!("speed up: {}", entry.what),
    };
    act.emit(Action::Busy(Some("replacing…".into())));
    wasm_bindgen_futures::spawn_local(async move {
        let from = pending.sender;
        let read = node::read(&chain, chain.head().height, RunContext::default(), |h| {
            Ok::<_, String>((views::nonce(h, &from), views::module_hash(h, "token")?))
        });
        let signed = match read.await {
            Ok(Proven { value: Ok((nonce, token)), .. }) => {
                let how = if cancel { Replace::Cancel { token } } else { Replace::SpeedUp };
                tx::replace(&pending, how, nonce, chain.domain(), &key)
            }
            Ok(Proven { value: Err(e), .. }) => Err(e),
            Err(e) => Err(e.to_string()),
        };
        match signed {
            Ok(signed) => {
                act.emit(Action::Signed(HistoryEntry::signed(&signed, what)));
                submit(act, signed);
            }
            Err(e) => {
                act.emit(Action::Busy(None));
                act.emit(Action::Notice(Some(Err(e))));
            }
        }
    });
}

/// A transaction's status and whether it is proven: the outcome from its receipt, proven
/// against the receipts root of a block the wallet believes. Anything else is shown as the
/// node's word.
pub async fn proven_status(mut chain: Chain, hash: Hash) -> (String, bool) {
    let status = match node::call("tx_status", json!([hash])).await {
        Ok(v) => v,
        Err(e) => return (format!("pending (node: {e})"), false),
    };
    let height = match (status["status"].as_str(), status["height"].as_u64()) {
        (Some("finalized"), Some(h)) if h <= chain.head().height => h,
        (Some("finalized" | "pending"), _) => return ("pending".into(), false),
        (Some(other), _) => {
            let reason = status["reason"].as_str().unwrap_or("");
            let reason: String = reason.chars().take(200).collect();
            let said = if reason.is_empty() {
                format!("node says {other}")
            } else {
                format!("node says {other}: {reason}")
            };
            return (said, false);
        }
        (None, _) => return ("pending".into(), false),
    };
    let proven = async {
        node::believe_back(&mut chain, height).await?;
        let block = node::call("chain_block", json!([height])).await?;
        chain.receipt(&block, &hash)
    };
    match proven.await {
        Ok(Proven { value: Some(receipt), height }) => match receipt.outcome {
            tao_light::TxOutcome::Ok => (format!("finalized #{height} ✓ receipt verified"), true),
            tao_light::TxOutcome::Failed(why) => {
                let why = tao_types::amounts_in_tao(&why);
                (format!("failed in #{height}: {why} ✓ receipt verified"), true)
            }
        },
        Ok(Proven { value: None, height }) => {
            (format!("not in block #{height}, though the node said so"), false)
        }
        Err(e) => (format!("unverified: {e}"), false),
    }
}
