//! Submitted transactions, and how their status becomes proven: "pending" until the node
//! reports the transaction in a block the wallet believes, then the outcome from its receipt.

use serde_json::json;
use tao_types::Hash;
use tao_wallet::{Chain, Proven};
use yew::prelude::*;

use crate::session::{HistoryEntry, Props};
use crate::widgets::address;
use crate::{node, store};

#[function_component]
pub fn History(props: &Props) -> Html {
    let history = &props.session.history;
    html! {
        <section>
            <h2>{ "History" }</h2>
            if history.is_empty() { <p class="muted">{ "Nothing sent from this browser yet." }</p> }
            <table id="history">
                <tr><th>{ "When" }</th><th>{ "What" }</th><th>{ "Account" }</th><th>{ "Status" }</th><th>{ "Transaction" }</th></tr>
                { for history.iter().map(row) }
            </table>
        </section>
    }
}

/// One transaction: when, what, from which account, its status (a badge once proven), its hash.
fn row(e: &HistoryEntry) -> Html {
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
        <td><code title={hash}>{ short_hash }</code></td>
    </tr> }
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
            return (format!("node says {other}: {}", reason.chars().take(200).collect::<String>()), false);
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
                (format!("failed in #{height}: {why} ✓ receipt verified"), true)
            }
        },
        Ok(Proven { value: None, height }) => {
            (format!("not in block #{height}, though the node said so"), false)
        }
        Err(e) => (format!("unverified: {e}"), false),
    }
}
