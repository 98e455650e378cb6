//! The light client as a JS/TS package (built by `cargo xtask light-js`): an app creates a
//! [`LightClient`] from a node URL and the genesis hash it trusts, and gets values verified the
//! way the wallet verifies them: heads followed with `tao_light::Chain` (chain binding, the
//! genesis validator set, trust only moving forward, stale heads), values read by the
//! contracts' own functions (`tao_wallet::views`) on state whose every read is proven against
//! a certified root. A failed check rejects with an error naming the key and the reason. The
//! only I/O is the global `fetch` (browsers, Node 20).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use serde::Serialize;
use serde_json::{Value, json};
use tao_light::fresh::{self, Anchor, Freshness};
use tao_light::{Chain, Proven, VerifyError, rpc};
use tao_types::{Address, Hash};
use tao_wallet::proven::{Context, ProvenHost};
use tao_wallet::views;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};
use {tao_contract_governance as governance, tao_contract_pools as pools};

/// Largest reply read from the node.
const MAX_REPLY_BYTES: usize = 8 << 20;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** A value and the height of the certified header whose state root proves it. */
export interface Verified<T> { value: T; height: bigint }
/** A stake position and what it would fetch unstaked now (rao). */
export interface Position { position: { hotkey: string; netuid: number }; stake: bigint; tao_value: bigint }
/** Free, staked and total TAO (rao), the next nonce and every stake position of an account. */
export interface Account { address: string; free: bigint; staked: bigint; total: bigint; nonce: bigint; positions: Position[] }
/** A subnet: identity, hyperparameters ([name, value]), pool reserves and prices (rao per alpha). */
export interface Subnet {
  netuid: number; name: string; owner: string; owner_hotkey: string; registered_at: bigint;
  hyperparameters: [string, bigint][]; tao_in: bigint; alpha_in: bigint; price: bigint;
  moving_price: bigint; module: string | null;
}
/** A subnet's pool: reserves and pending emission (rao), prices in rao per alpha. */
export interface Pool {
  tao: bigint; alpha_in: bigint; alpha_out: bigint; pending: bigint; pending_owner: bigint;
  created_at: bigint; spot_price: bigint; moving_price: bigint;
}
/** A governance proposal; `tally` is [for, against] in stake. */
export interface Proposal {
  proposer: string; action: string; status: string; deposit: bigint; created_at: bigint;
  ends_at: bigint; tally: [bigint, bigint]; voters: number;
}
/** What a transaction did, as its block's receipts root proves it. */
export interface Receipt { tx: string; outcome: unknown; fee: bigint; gas_used: bigint; events: [string, string][] }
/** One UID of a subnet's metagraph (u16 fractions for the scores; `axon` is `ip:port`). */
export interface Neuron {
  uid: number; hotkey: string; stake: bigint; take: number; consensus: number; incentive: number;
  dividends: number; trust: number; emission: bigint; permit: boolean; active: boolean; axon: string | null;
}
/** A subnet's last epoch re-run here: which code ran it and what differs from the chain's scores. */
export interface EpochCheck { netuid: number; block: bigint; neurons: number; mismatches: string[]; code: string }
"#;

#[wasm_bindgen]
extern "C" {
    /// The global `fetch` of browsers and Node 20.
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(url: &str, init: &Object) -> Promise;
}

/// What is believed of the node followed.
struct Inner {
    url: String,
    chain: Chain,
    /// Local time (ms) the head was believed.
    seen_ms: u64,
}

/// A light client following one node from a trusted genesis.
#[wasm_bindgen]
pub struct LightClient {
    inner: Rc<RefCell<Inner>>,
}

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

fn js_error(e: impl std::fmt::Display) -> JsValue {
    JsError::new(&e.to_string()).into()
}

fn unreachable_node(e: JsValue) -> VerifyError {
    VerifyError::Node(format!("cannot reach the node: {}", e.as_string().unwrap_or_else(|| format!("{e:?}"))))
}

/// Posts a JSON-RPC request or batch to `url` and parses the reply (untrusted).
async fn post(url: String, body: Value) -> Result<Value, VerifyError> {
    let init = Object::new();
    let headers = Object::new();
    let set = |target: &Object, key: &str, value: &str| {
        Reflect::set(target, &key.into(), &value.into()).map_err(unreachable_node)
    };
    set(&init, "method", "POST")?;
    set(&headers, "content-type", "application/json")?;
    Reflect::set(&init, &"headers".into(), &headers).map_err(unreachable_node)?;
    set(&init, "body", &body.to_string())?;
    let response = JsFuture::from(global_fetch(&url, &init)).await.map_err(unreachable_node)?;
    let text: Function = Reflect::get(&response, &"text".into()).map_err(unreachable_node)?.into();
    let promise: Promise = text.call0(&response).map_err(unreachable_node)?.into();
    let text = JsFuture::from(promise).await.map_err(unreachable_node)?.as_string().unwrap_or_default();
    if text.len() > MAX_REPLY_BYTES {
        return Err(VerifyError::Node(format!("a reply of {} bytes, over {MAX_REPLY_BYTES}", text.len())));
    }
    serde_json::from_str(&text).map_err(|e| rpc::malformed("reply", e))
}

async fn call(url: &str, method: &str, params: Value) -> Result<Value, VerifyError> {
    rpc::result(&post(url.to_string(), rpc::request(1, method, params)).await?).cloned()
}

/// `value` as JS, u64 as `bigint` (amounts exceed 2^53).
fn to_js<T: Serialize>(value: &Proven<T>) -> Result<JsValue, JsValue> {
    // `None` as `null`, as the TypeScript types say (not `undefined`, which JSON drops).
    let serializer = serde_wasm_bindgen::Serializer::new()
        .serialize_missing_as_null(true)
        .serialize_large_number_types_as_bigints(true)
        .serialize_maps_as_objects(true);
    #[derive(Serialize)]
    struct Out<'a, T> {
        value: &'a T,
        height: u64,
    }
    Ok(Out { value: &value.value, height: value.height }.serialize(&serializer)?)
}

#[wasm_bindgen]
impl LightClient {
    /// Connects to the node at `url` trusting only `checkpoint`: the chain whose genesis hashes
    /// to it (`0x…`, its validator set the one that genesis commits to), or a recent certified
    /// header (`HEIGHT:0xHASH`, e.g. from `tao light --json`) to start from instead; then
    /// believes the node's newest certified head, across validator-set changes.
    pub async fn connect(url: String, checkpoint: String) -> Result<LightClient, JsValue> {
        let anchor: Anchor = checkpoint.parse().map_err(|e: String| js_error(format!("checkpoint: {e}")))?;
        let chain = {
            let fetch = |batch| post(url.clone(), batch);
            tao_wallet::follow::start(anchor, &fetch).await.map_err(js_error)?
        };
        let inner = Rc::new(RefCell::new(Inner { url, chain, seen_ms: now_ms() }));
        follow(&inner).await.map_err(js_error)?;
        // The head's parent too, so the chain's block time (how soon a head is stale) is known.
        let head = inner.borrow().chain.head().height;
        believe_back(&inner, head.saturating_sub(1)).await.map_err(js_error)?;
        Ok(LightClient { inner })
    }

    /// The newest certified height believed.
    #[wasm_bindgen(getter)]
    pub fn head(&self) -> u64 {
        self.inner.borrow().chain.head().height
    }

    /// Follows the node to its newest certified head; resolves to its height. A head older
    /// than the one believed, another at its height, or one without the trusted validators'
    /// certificate rejects.
    #[wasm_bindgen(unchecked_return_type = "Promise<bigint>")]
    pub fn sync(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            follow(&inner).await.map_err(js_error)?;
            Ok(JsValue::from(inner.borrow().chain.head().height))
        })
    }

    /// An account's free balance, nonce, stake positions and their value.
    #[wasm_bindgen(unchecked_return_type = "Promise<Verified<Account>>")]
    pub fn account(&self, address: String) -> Promise {
        let read = move |h: &mut ProvenHost| {
            let address: Address = address.parse().map_err(|_| "not a 0x address".to_string())?;
            views::account(h, &address)
        };
        self.view(read)
    }

    /// A subnet's identity, hyperparameters, pool and prices (`null`: proven absent).
    #[wasm_bindgen(unchecked_return_type = "Promise<Verified<Subnet | null>>")]
    pub fn subnet(&self, netuid: u16) -> Promise {
        self.view(move |h| views::subnet(h, netuid))
    }

    /// Every neuron of a subnet with its stake and last epoch's scores.
    #[wasm_bindgen(unchecked_return_type = "Promise<Verified<Neuron[]>>")]
    pub fn metagraph(&self, netuid: u16) -> Promise {
        self.view(move |h| views::metagraph(h, netuid))
    }

    /// Re-runs the subnet's last epoch here, with the code the chain ran (compiled in, or its
    /// proven on-chain bytes), on the inputs proven at the block before it, and compares with
    /// the scores the chain stored: `mismatches` empty means the chain computed what its code
    /// says. Rejects when there is no epoch yet.
    #[wasm_bindgen(unchecked_return_type = "Promise<Verified<EpochCheck>>")]
    pub fn epoch(&self, netuid: u16) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let (chain, height) = fresh_head(&inner).await.map_err(js_error)?;
            let url = inner.borrow().url.clone();
            let fetch = |batch| post(url.clone(), batch);
            let subnet = tao_wallet::proven::read(
                &chain,
                height,
                Context::default(),
                |h| views::subnet(h, netuid),
                &fetch,
            );
            let subnet = subnet.await.map_err(js_error)?.value.map_err(js_error)?;
            let record =
                subnet.and_then(|s| s.last_epoch).ok_or_else(|| js_error("no epoch to re-run yet"))?;
            let module = record.module.filter(|_| record.fallback.is_none());
            let check = tao_wallet::rerun::epoch(chain, netuid, record.block, module, &fetch)
                .await
                .map_err(js_error)?;
            to_js(&Proven { value: check, height })
        })
    }
}

/// A pool as the package returns it.
#[derive(Serialize)]
struct PoolOut {
    tao: u64,
    alpha_in: u64,
    alpha_out: u64,
    pending: u64,
    pending_owner: u64,
    created_at: u64,
    spot_price: u64,
    moving_price: u64,
}

/// A proposal as the package returns it.
#[derive(Serialize)]
struct ProposalOut {
    proposer: Address,
    action: String,
    status: String,
    deposit: u64,
    created_at: u64,
    ends_at: u64,
    tally: (u128, u128),
    voters: u32,
}

/// A receipt as the package returns it.
#[derive(Serialize)]
struct ReceiptOut {
    tx: Hash,
    outcome: tao_light::TxOutcome,
    fee: u64,
    gas_used: u64,
    events: Vec<(String, String)>,
}

#[wasm_bindgen]
impl LightClient {
    /// A subnet's pool (`null`: it has none).
    #[wasm_bindgen(unchecked_return_type = "Promise<Verified<Pool | null>>")]
    pub fn pool(&self, netuid: u16) -> Promise {
        self.view(move |h| {
            let pool = pools::pool(h, netuid).map_err(|e| e.to_string())?;
            Ok(pool.map(|p| PoolOut {
                tao: p.tao,
                alpha_in: p.alpha_in,
                alpha_out: p.alpha_out,
                pending: p.pending,
                pending_owner: p.pending_owner,
                created_at: p.created_at,
                spot_price: pools::price_in_rao(p.spot_price(netuid)),
                moving_price: pools::price_in_rao(p.moving_price),
            }))
        })
    }

    /// Governance proposal `id`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Verified<Proposal>>")]
    pub fn proposal(&self, id: u32) -> Promise {
        self.view(move |h| {
            let p = governance::proposal(h, id).map_err(|e| e.to_string())?;
            Ok(ProposalOut {
                proposer: p.proposer,
                action: format!("{:?}", p.action),
                status: format!("{:?}", p.status),
                deposit: p.deposit,
                created_at: p.created_at,
                ends_at: p.ends_at,
                tally: p.tally,
                voters: p.voters,
            })
        })
    }

    /// The receipt of transaction `tx` in the block at `height` (`null`: the block is proven
    /// not to hold it), believed by its receipts root under a certified header.
    #[wasm_bindgen(unchecked_return_type = "Promise<Verified<Receipt | null>>")]
    pub fn receipt(&self, tx: String, height: u64) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let tx: Hash = tx.parse().map_err(|_| js_error("tx: not a 0x-hex transaction hash"))?;
            if height > inner.borrow().chain.head().height {
                follow(&inner).await.map_err(js_error)?;
            }
            believe_back(&inner, height).await.map_err(js_error)?;
            let url = inner.borrow().url.clone();
            let block = call(&url, "chain_block", json!([height])).await.map_err(js_error)?;
            let proven = inner.borrow().chain.receipt(&block, &tx).map_err(js_error)?;
            let value = proven.value.map(|r| ReceiptOut {
                tx: r.tx,
                outcome: r.outcome,
                fee: r.fee,
                gas_used: r.gas_used,
                events: r.events.iter().map(|(t, d)| (rpc::hex0x(t), rpc::hex0x(d))).collect(),
            });
            to_js(&Proven { value, height: proven.height })
        })
    }
}

impl LightClient {
    /// Follows the head, then runs the view `f` (the contracts' own code) on state proven at it.
    fn view<T: Serialize + 'static>(
        &self,
        f: impl Fn(&mut ProvenHost) -> Result<T, String> + 'static,
    ) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let (chain, height) = fresh_head(&inner).await.map_err(js_error)?;
            let url = inner.borrow().url.clone();
            let fetch = |batch| post(url.clone(), batch);
            let proven = tao_wallet::proven::read(&chain, height, Context::default(), f, fetch).await;
            let proven = proven.map_err(js_error)?;
            let value = proven.value.map_err(js_error)?;
            to_js(&Proven { value, height: proven.height })
        })
    }
}

/// Believes the node's newest certified head if newer (across validator-set changes, on a copy
/// kept if no newer head came meanwhile); refuses an older or forked one.
async fn follow(inner: &Rc<RefCell<Inner>>) -> Result<(), VerifyError> {
    let (mut chain, url) = {
        let inner = inner.borrow();
        (inner.chain.clone(), inner.url.clone())
    };
    tao_wallet::follow::follow(&mut chain, None, &|batch| post(url.clone(), batch)).await?;
    let mut inner = inner.borrow_mut();
    if chain.head().height > inner.chain.head().height {
        inner.chain = chain;
        inner.seen_ms = now_ms();
    }
    Ok(())
}

/// Follows the node, then the believed chain and its head if fresh: a node that withholds or
/// replays heads makes every read reject as stale.
async fn fresh_head(inner: &Rc<RefCell<Inner>>) -> Result<(Chain, u64), VerifyError> {
    let followed = follow(inner).await;
    let inner = inner.borrow();
    let head = inner.chain.head();
    match fresh::freshness(head.time_ms, inner.seen_ms, now_ms(), inner.chain.block_interval_ms()) {
        Freshness::Fresh { .. } => Ok((inner.chain.clone(), head.height)),
        Freshness::Stale { why, .. } => {
            let node = followed.err().map(|e| format!("; the node's head: {e}")).unwrap_or_default();
            Err(VerifyError::Unprovable(format!("the trusted head #{} is stale: {why}{node}", head.height)))
        }
    }
}

/// Believes the headers from the head down to `height` by their parent hashes
/// (`tao_wallet::rerun::believe_back` on a copy, kept if no newer head came meanwhile).
async fn believe_back(inner: &Rc<RefCell<Inner>>, height: u64) -> Result<(), VerifyError> {
    let (mut chain, url) = {
        let inner = inner.borrow();
        (inner.chain.clone(), inner.url.clone())
    };
    tao_wallet::rerun::believe_back(&mut chain, height, &|batch| post(url.clone(), batch)).await?;
    let mut inner = inner.borrow_mut();
    if inner.chain.head() == chain.head() {
        inner.chain = chain;
    }
    Ok(())
}
