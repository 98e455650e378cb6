//! Following a node's certified headers from a trusted anchor (a genesis hash, or a recent
//! certified header), across validator-set changes: the one code the wallet, the JS package,
//! `tao light`, the CLI and the neuron SDK follow with. The only I/O is the caller's `fetch` (a
//! JSON-RPC request or batch in, its reply out); every header, certificate and set is checked
//! here.
//!
//! A header is signed by the set the header below it names. When a node's newest head is
//! signed by a set the believed head did not name, some header in between named a new set:
//! it is found by bisection (each probe is only a hint: what is believed is the header a
//! certificate of the current set carries), believed, its named set fetched and checked by
//! hash, and the walk goes on.

use core::future::Future;

use serde_json::{Value, json};
use tao_light::fresh::{self, Anchor, TrustedHead};
use tao_light::{Certificate, Chain, Header, LightError, VerifyError, rpc};

/// Most validator-set changes crossed in one call (each costs a bisection): a node that
/// claims more is refused rather than followed without end.
pub const MAX_SET_CHANGES: usize = 64;

/// Trusts `anchor` on the node `fetch` reaches: its genesis (the set it commits to) or the
/// certified header it names (its signers and next set, checked by hash, the certificate
/// binding the genesis hash the node announces). Not yet at the node's head: see [`follow`].
pub async fn start<F, Fut>(anchor: Anchor, fetch: &F) -> Result<Chain, VerifyError>
where
    F: Fn(Value) -> Fut,
    Fut: Future<Output = Result<Value, VerifyError>>,
{
    match anchor {
        Anchor::Genesis(pinned) => {
            let [genesis, set] =
                batch(fetch, [("chain_header", json!([0])), ("chain_validators", json!([1]))]).await?;
            Chain::new(pinned, rpc::header(&genesis)?.0, rpc::validator_set(&set)?)
        }
        Anchor::Header { height, hash } => {
            let next = height.checked_add(1).ok_or_else(|| rpc::malformed("checkpoint", "height"))?;
            let [header, signers, next, info] = batch(
                fetch,
                [
                    ("chain_header", json!([height])),
                    ("chain_validators", json!([height])),
                    ("chain_validators", json!([next])),
                    ("chain_info", json!([])),
                ],
            )
            .await?;
            let (genesis_hash, _) = rpc::chain_info(&info)?;
            let signers = rpc::validator_set(&signers)?;
            Chain::from_header(
                hash,
                genesis_hash,
                rpc::header(&header)?,
                &signers,
                rpc::validator_set(&next)?,
            )
        }
    }
}

/// Believes the node's certified header at `height` (its newest if `None`), crossing every
/// validator-set change between the believed head and it; returns the header believed. A
/// header at or below the head is only checked against what is believed; a newest head older
/// than the believed one, or another at its height, is a rollback or a fork.
pub async fn follow<F, Fut>(chain: &mut Chain, height: Option<u64>, fetch: &F) -> Result<Header, VerifyError>
where
    F: Fn(Value) -> Fut,
    Fut: Future<Output = Result<Value, VerifyError>>,
{
    let (header, certificate) = fetch_header(fetch, height).await?;
    if height.is_none() {
        fresh::check_not_older(Some(&TrustedHead::of(chain.head())), &header)?;
    }
    for _ in 0..=MAX_SET_CHANGES {
        if chain.needs_next_set() {
            adopt_next_set(chain, fetch).await?;
        }
        match chain.accept(header.clone(), &certificate) {
            Err(VerifyError::Header(LightError::ValidatorSetChanged { .. })) => {
                let (naming, certificate) = find_set_change(chain, header.height, fetch).await?;
                chain.accept(naming, &certificate)?;
            }
            outcome => return outcome.map(|()| header),
        }
    }
    Err(VerifyError::Unprovable(format!(
        "more than {MAX_SET_CHANGES} validator-set changes to cross at once"
    )))
}

/// Takes the set the believed head names, as the node serves it, checked by its hash.
async fn adopt_next_set<F, Fut>(chain: &mut Chain, fetch: &F) -> Result<(), VerifyError>
where
    F: Fn(Value) -> Fut,
    Fut: Future<Output = Result<Value, VerifyError>>,
{
    let next = chain.head().height.saturating_add(1);
    chain.adopt_next_set(rpc::validator_set(&one(fetch, "chain_validators", json!([next])).await?)?)
}

/// The last header below `above` still signed by the set the believed head names: the one
/// naming the next set. Bisection over the node's headers between the head and `above`.
async fn find_set_change<F, Fut>(
    chain: &Chain,
    above: u64,
    fetch: &F,
) -> Result<(Header, Certificate), VerifyError>
where
    F: Fn(Value) -> Fut,
    Fut: Future<Output = Result<Value, VerifyError>>,
{
    let named = chain.head().next_validators_hash;
    let (mut low, mut high) = (chain.head().height, above);
    let mut found = None;
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        let probe = fetch_header(fetch, Some(middle)).await?;
        if probe.0.validators_hash == named {
            (low, found) = (middle, Some(probe));
        } else {
            high = middle;
        }
    }
    // No header between the head and `above` under the named set: nothing names the change.
    let (header, certificate) = found.ok_or(LightError::ValidatorSetChanged { height: high })?;
    if header.next_validators_hash == named {
        // The header below `high` names no change, yet `high` is signed by another set.
        return Err(LightError::ValidatorSetChanged { height: high }.into());
    }
    Ok((header, certificate))
}

async fn fetch_header<F, Fut>(fetch: &F, height: Option<u64>) -> Result<(Header, Certificate), VerifyError>
where
    F: Fn(Value) -> Fut,
    Fut: Future<Output = Result<Value, VerifyError>>,
{
    let params = height.map_or(json!([]), |h| json!([h]));
    rpc::header(&one(fetch, "chain_header", params).await?)
}

/// The result of one call, sent alone (not as a batch of one).
async fn one<F, Fut>(fetch: &F, method: &str, params: Value) -> Result<Value, VerifyError>
where
    F: Fn(Value) -> Fut,
    Fut: Future<Output = Result<Value, VerifyError>>,
{
    rpc::result(&fetch(rpc::request(1, method, params)).await?).cloned()
}

/// The results of `calls`, sent as one batch, in order.
async fn batch<F, Fut, const N: usize>(
    fetch: &F,
    calls: [(&str, Value); N],
) -> Result<[Value; N], VerifyError>
where
    F: Fn(Value) -> Fut,
    Fut: Future<Output = Result<Value, VerifyError>>,
{
    let requests =
        calls.into_iter().enumerate().map(|(i, (method, params))| rpc::request(i as u64, method, params));
    let reply = fetch(Value::Array(requests.collect())).await?;
    let results = rpc::batch_results(&reply, N)?;
    results.try_into().map_err(|_| rpc::malformed("batch reply", "an answer is missing"))
}

#[cfg(test)]
mod tests;
