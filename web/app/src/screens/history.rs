//! Submitted transactions, and how their status becomes proven: "pending" until the node
//! reports the transaction in a block the wallet believes, then the outcome from its receipt.

use serde_json::json;
use tao_types::Hash;
use tao_wallet::{Chain, Proven};
use yew::prelude::*;

use crate::node;
use crate::session::Props;

#[function_component]
pub fn History(props: &Props) -> Html {
    html! {
        <section>
            <h2>{ "History" }</h2>
            <table id="history">
                <tr><th>{ "What" }</th><th>{ "Status" }</th><th>{ "Hash" }</th></tr>
                { for props.session.history.iter().map(|e| html! { <tr>
                    <td>{ e.what.clone() }</td><td class="status">{ e.status.clone() }</td><td><code>{ e.hash.to_string() }</code></td>
                </tr> }) }
            </table>
        </section>
    }
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
