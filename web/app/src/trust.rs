//! The chain status in the page header: verified with the head's age, stale (no newer certified
//! head for a few block times, or a head far behind this computer's clock), refused, or an
//! unknown chain the user must accept before it is pinned. What counts as stale is decided by
//! `tao_wallet::fresh`; this renders it.

use tao_types::Hash;
use tao_wallet::Chain;
use tao_wallet::fresh::{self, Freshness};
use yew::prelude::*;

/// A chain met on first use that matches no shipped checkpoint: shown until the user accepts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unknown {
    /// Its genesis hash.
    pub genesis_hash: Hash,
    /// Its genesis header's chain id.
    pub chain_id: u64,
}

/// What the header needs to say about the chain.
pub struct Status<'a> {
    /// The believed chain.
    pub chain: Option<&'a Chain>,
    /// Why the chain is not believed, if it is not.
    pub error: Option<&'a str>,
    /// An unknown chain awaiting the user's decision.
    pub unknown: Option<Unknown>,
    /// Local time (ms) when the believed head last advanced.
    pub seen_ms: u64,
    /// Local time now (ms).
    pub now_ms: u64,
}

/// The header's chain status; `trust` pins the unknown chain shown.
pub fn status(s: &Status<'_>, trust: Callback<MouseEvent>) -> Html {
    if let Some(unknown) = s.unknown {
        return html! {
            <div class="unverified" id="unknown-chain">
                <p>{ "This node serves a chain this wallet has no checkpoint for. Trust it only if it is the chain you mean: compare its genesis hash with a source you trust." }</p>
                <p>{ format!("genesis {}", unknown.genesis_hash) }<br />{ format!("chain id {}", unknown.chain_id) }</p>
                <button id="trust-chain" onclick={trust}>{ "Trust this chain" }</button>
            </div>
        };
    }
    match (s.chain, s.error) {
        (_, Some(e)) => {
            html! { <span class="unverified" id="chain-error">{ format!("chain not verified: {e}") }</span> }
        }
        (Some(chain), None) => head(chain, s.seen_ms, s.now_ms),
        (None, None) => html! { <span class="loading"><span class="spinner" />{ "connecting…" }</span> },
    }
}

/// Whether the believed head is fresh at `now_ms`, having last advanced at `seen_ms`.
pub fn freshness(chain: &Chain, seen_ms: u64, now_ms: u64) -> Freshness {
    fresh::freshness(chain.head().time_ms, seen_ms, now_ms, chain.block_interval_ms())
}

/// The believed head: verified and its age, or a stale warning in its place.
fn head(chain: &Chain, seen_ms: u64, now_ms: u64) -> Html {
    let head = chain.head();
    match freshness(chain, seen_ms, now_ms) {
        Freshness::Fresh { age_ms } => html! {
            <span id="head">
                { crate::widgets::verified(head.height) }
                <small id="head-age">{ format!(" head {} s old", age_ms / 1000) }</small>
            </span>
        },
        Freshness::Stale { why, .. } => html! {
            <span class="unverified" id="stale">
                { format!("stale: values are as of #{} — {why}; this node may be withholding newer blocks", head.height) }
            </span>
        },
    }
}

/// The validator set certifying the believed head, as the wallet checked it (by the hash the
/// headers name, across every set change since the pinned genesis): each key and its share of
/// the power. A head is believed only when signers holding more than two thirds of it sign.
pub fn validator_set(chain: &Chain) -> Html {
    let set = chain.validators();
    let total: u128 = set.iter().map(|v| u128::from(v.power)).sum();
    html! {
        <div id="validator-set" data-count={set.len().to_string()} data-head={chain.head().height.to_string()}>
            <p>{ format!("{} validators certify head #{}; a head is believed only when signers holding more than two thirds of their power sign it.", set.len(), chain.head().height) }</p>
            <table>
                <tr><th>{ "Consensus key" }</th><th>{ "Power" }</th></tr>
                { for set.iter().map(|v| {
                    let key = format!("0x{}", hex::encode(v.key.to_compressed()));
                    html! {
                        <tr class="validator" data-key={key.clone()} data-power={v.power.to_string()}>
                            <td><code title={key.clone()}>{ format!("{}…{}", &key[..10], &key[key.len() - 6..]) }</code></td>
                            <td>{ crate::widgets::percent(u128::from(v.power), total) }</td>
                        </tr>
                    }
                }) }
            </table>
        </div>
    }
}
