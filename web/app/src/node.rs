//! The wallet's only I/O with the node: JSON-RPC over HTTP (single calls and batches) and the
//! finalized-head subscription over WebSocket. Nothing here decides what to believe; replies
//! go to `tao_wallet`, which checks them.

use futures::{SinkExt, StreamExt};
use gloo_net::http::Request;
use gloo_net::websocket::{Message, futures::WebSocket};
use serde_json::{Value, json};
use tao_types::Hash;
use tao_wallet::code::ModuleCode;
use tao_wallet::fresh::Anchor;
use tao_wallet::proven::{Context, ProvenHost};
use tao_wallet::tx::{Draft, PreviewCode};
use tao_wallet::{Chain, Proven, VerifyError, fresh, rpc, views};

/// The node's RPC URL: `?rpc=` in the page's address if given, else the node chosen in Settings,
/// else the page's own origin (the node serves the wallet).
pub fn url() -> String {
    let location = web_sys::window().map(|w| w.location());
    let search = location.as_ref().and_then(|l| l.search().ok()).unwrap_or_default();
    if let Some(rpc) = search.trim_start_matches('?').split('&').find_map(|p| p.strip_prefix("rpc=")) {
        return js_sys::decode_uri_component(rpc).map(String::from).unwrap_or_else(|_| rpc.to_string());
    }
    if let Some(chosen) = crate::store::load::<String>(crate::store::NODE) {
        return chosen;
    }
    location.and_then(|l| l.origin().ok()).unwrap_or_else(|| "http://127.0.0.1:9944".into())
}

/// Checks a node URL the user typed: `http://` or `https://`, a host, nothing else.
pub fn parse_url(text: &str) -> Result<String, String> {
    let text = text.trim().trim_end_matches('/');
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))
        .ok_or("a node URL starts with http:// or https://")?;
    if rest.is_empty() || rest.contains(['/', ' ', '?', '#']) {
        return Err("a node URL is scheme://host:port, nothing after".into());
    }
    Ok(text.to_string())
}

async fn post(body: &Value) -> Result<Value, VerifyError> {
    let unreachable = |e: gloo_net::Error| VerifyError::Node(format!("cannot reach the node: {e}"));
    let response =
        Request::post(&url()).json(body).map_err(unreachable)?.send().await.map_err(unreachable)?;
    response.json::<Value>().await.map_err(|e| VerifyError::Node(format!("unreadable reply: {e}")))
}

/// Calls `method` and returns its result.
pub async fn call(method: &str, params: Value) -> Result<Value, VerifyError> {
    let reply = post(&rpc::request(1, method, params)).await?;
    rpc::result(&reply).cloned()
}

/// Sets up a chain trusting `pinned` — on first use (`None`), the node's genesis only if it is a
/// checkpoint shipped with the wallet; any other is [`VerifyError::UnknownChain`] for the user to
/// accept (then pinned by the caller) — and brings it to the node's newest certified header,
/// never older than the head this browser kept for that chain.
pub async fn connect(pinned: Option<Hash>) -> Result<Chain, VerifyError> {
    let (genesis, _) = rpc::header(&call("chain_header", json!([0])).await?)?;
    let pin = match pinned {
        Some(pin) => pin,
        None => fresh::checkpoint_for(&checkpoints().await, &genesis)
            .map(|c| c.genesis_hash)
            .ok_or(VerifyError::UnknownChain { genesis_hash: genesis.hash(), chain_id: genesis.chain_id })?,
    };
    let mut chain = tao_wallet::follow::start(Anchor::Genesis(pin), &fetch).await?;
    let kept = crate::store::kept_head(&pin);
    let height = catch_up(&mut chain, None).await?;
    fresh::check_not_older(kept.as_ref(), chain.head())?;
    // The head's parent too, so the chain's block time (how soon a head is stale) is known.
    believe_back(&mut chain, height.saturating_sub(1).max(1)).await?;
    Ok(chain)
}

/// The known networks shipped beside the page (`checkpoints.json`, written by `cargo xtask
/// web`); none if absent.
async fn checkpoints() -> Vec<fresh::Checkpoint> {
    match Request::get("checkpoints.json").send().await {
        Ok(response) if response.ok() => response.json().await.unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Believes the header at `height` (the node's head if `None`), across validator-set changes
/// (`tao_wallet::follow`, the code every client follows with), and keeps the newest believed
/// head across reloads.
pub async fn catch_up(chain: &mut Chain, height: Option<u64>) -> Result<u64, VerifyError> {
    let header = tao_wallet::follow::follow(chain, height, &fetch).await?;
    crate::store::keep_head(&chain.domain().genesis_hash, chain.head());
    Ok(header.height)
}

/// Believes every header from `height` up to the trusted head by walking back parent hashes.
pub async fn believe_back(chain: &mut Chain, height: u64) -> Result<(), VerifyError> {
    tao_wallet::rerun::believe_back(chain, height, &fetch).await
}

/// A JSON-RPC batch to the node: the fetch of the shared proven reads.
async fn fetch(batch: Value) -> Result<Value, VerifyError> {
    post(&batch).await
}

/// Runs `f` (contract code) on state proven at `height`, fetching what it reads in batches.
pub async fn read<T>(
    chain: &Chain,
    height: u64,
    context: Context,
    f: impl Fn(&mut ProvenHost) -> T,
) -> Result<Proven<T>, VerifyError> {
    tao_wallet::proven::read(chain, height, context, f, fetch).await
}

/// The code that runs `hash` as the chain does, at `height` (`tao_wallet::rerun::module_code`).
pub async fn module_code(
    chain: &Chain,
    height: u64,
    name: String,
    system: Option<&'static str>,
    hash: Hash,
) -> Result<ModuleCode, String> {
    tao_wallet::rerun::module_code(chain, height, name, system, hash, &fetch).await
}

/// Re-runs `netuid`'s epoch at `block` and compares with the proven scores
/// (`tao_wallet::rerun::epoch`).
pub async fn rerun_epoch(
    chain: Chain,
    netuid: tao_types::NetUid,
    block: u64,
    module: Option<Hash>,
) -> Result<tao_wallet::views::EpochCheck, String> {
    tao_wallet::rerun::epoch(chain, netuid, block, module, &fetch).await
}

/// The code a preview of `draft` runs at `height`: the token module (fees) and the called module,
/// by their proven hashes. Also returns the called contract's hash, the one the wallet signs for.
pub async fn preview_code(chain: &Chain, height: u64, draft: &Draft) -> Result<(PreviewCode, Hash), String> {
    let hashes = read(chain, height, Context::default(), |h| {
        Ok::<_, String>((views::module_hash(h, "token")?, tao_wallet::tx::contract(h, draft)?))
    });
    let (token_hash, contract) = hashes.await.map_err(|e| e.to_string())?.value?;
    let token = module_code(chain, height, "token".into(), Some("token"), token_hash).await?;
    let target = match draft.module {
        None => None,
        Some("token") => Some(token.clone()),
        Some(name) => Some(module_code(chain, height, name.into(), Some(name), contract).await?),
    };
    Ok((PreviewCode { token, target }, contract))
}

/// Subscribes to finalized heads and calls `on_head` with each height until the socket closes.
pub async fn follow(on_head: impl Fn(u64)) -> Result<(), String> {
    let opened = url();
    let ws_url = opened.replacen("http", "ws", 1);
    let socket = WebSocket::open(&ws_url).map_err(|e| e.to_string())?;
    let (mut tx, mut rx) = socket.split();
    let subscribe = rpc::request(1, "chain_subscribeFinalizedHeads", json!([])).to_string();
    tx.send(Message::Text(subscribe)).await.map_err(|e| e.to_string())?;
    let mut heard = false;
    while let Some(message) = rx.next().await {
        // A failed connection arrives as an error item, not a message.
        heard |= message.is_ok();
        let Ok(Message::Text(text)) = message else { continue };
        let Ok(value) = serde_json::from_str::<Value>(&text) else { continue };
        if url() != opened {
            return Err("switched to another node".into());
        }
        if let Some(height) = value["params"]["result"]["height"].as_u64() {
            on_head(height);
        }
    }
    // A socket that never carried a message never reached a node at all.
    if !heard {
        return Err(format!("cannot reach the node at {opened}"));
    }
    Err("the node closed the head subscription".into())
}
