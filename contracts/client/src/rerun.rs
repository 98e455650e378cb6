//! Reads that walk back from the head, and the epoch re-run built on them: the wallet's "Re-run
//! the last epoch here" and the JS package's `epoch` are this one code. The only I/O is the
//! caller's `fetch` (a JSON-RPC batch in, its reply out).

use core::future::Future;

use serde_json::{Value, json};
use tao_light::{Chain, VerifyError, rpc};
use tao_types::{Hash, NetUid};

use crate::code::{ModuleCode, short};
use crate::proven::{self, Context};
use crate::views::{self, EpochCheck};

/// Headers fetched in one batch when walking back.
const HEADER_BATCH: usize = 256;

/// Believes every header from `height` up to the trusted head by walking back parent hashes
/// (no signatures needed below a certified head).
pub async fn believe_back<F, Fut>(chain: &mut Chain, height: u64, fetch: &F) -> Result<(), VerifyError>
where
    F: Fn(Value) -> Fut,
    Fut: Future<Output = Result<Value, VerifyError>>,
{
    let missing = chain.missing(height)?;
    for heights in missing.chunks(HEADER_BATCH) {
        let requests =
            heights.iter().enumerate().map(|(i, h)| rpc::request(i as u64, "chain_header", json!([h])));
        let reply = fetch(Value::Array(requests.collect())).await?;
        for answer in rpc::batch_results(&reply, heights.len())? {
            chain.accept_ancestor(rpc::header(&answer)?.0)?;
        }
    }
    Ok(())
}

/// The code that runs `hash` as the chain does, at `height`: compiled in when `system` names a
/// module this build carries at that hash, else the bytes proven under `sys/code/<hash>`,
/// checked against the hash and compiled for the interpreter.
pub async fn module_code<F, Fut>(
    chain: &Chain,
    height: u64,
    name: String,
    system: Option<&'static str>,
    hash: Hash,
    fetch: &F,
) -> Result<ModuleCode, String>
where
    F: Fn(Value) -> Fut,
    Fut: Future<Output = Result<Value, VerifyError>>,
{
    if let Some(native) = system.and_then(|module| ModuleCode::compiled(module, hash)) {
        return Ok(native);
    }
    let cannot = |why: String| format!("the on-chain {name} {} cannot run here: {why}", short(&hash));
    let key = tao_light::keys::code(&hash);
    let bytes = proven::read(chain, height, Context::default(), |h| h.read(&key), fetch)
        .await
        .map_err(|e| cannot(e.to_string()))?
        .value
        .ok_or_else(|| cannot("its code is not on chain".into()))?;
    let code = crate::wasm::Code::verified(hash, &bytes).map_err(|e| cannot(e.to_string()))?;
    Ok(ModuleCode::on_chain(name, std::sync::Arc::new(code)))
}

/// Re-runs `netuid`'s epoch at `block` on the inputs proven at the block before it — with the
/// subnet's own `module` if it computed the epoch, else Yuma, each as the chain runs it — and
/// compares with the scores proven at `block`. Both headers are believed by walking back from
/// the head.
pub async fn epoch<F, Fut>(
    mut chain: Chain,
    netuid: NetUid,
    block: u64,
    module: Option<Hash>,
    fetch: &F,
) -> Result<EpochCheck, String>
where
    F: Fn(Value) -> Fut,
    Fut: Future<Output = Result<Value, VerifyError>>,
{
    let before = block.checked_sub(1).ok_or("no block before genesis")?;
    believe_back(&mut chain, before, fetch).await.map_err(|e| e.to_string())?;
    let at = |height| Context { block_height: height, ..Context::default() };
    let hash = proven::read(&chain, before, at(block), |h| views::module_hash(h, "incentive"), fetch);
    let hash = hash.await.map_err(|e| e.to_string())?.value?;
    let incentive = module_code(&chain, before, "incentive".into(), Some("incentive"), hash, fetch).await?;
    let runner = match module {
        Some(hash) => {
            module_code(&chain, before, format!("subnet {netuid}'s incentive module"), None, hash, fetch)
                .await?
        }
        None => incentive.clone(),
    };
    let input = proven::read(&chain, before, at(block), |h| views::epoch_input(h, &incentive, netuid), fetch)
        .await
        .map_err(|e| e.to_string())?
        .value?;
    let own = module.is_some();
    let output =
        proven::read(&chain, before, at(block), |h| views::epoch_output(h, &runner, &input, own), fetch)
            .await
            .map_err(|e| e.to_string())?
            .value?;
    let n = input.neurons.len();
    let scores = proven::read(&chain, block, at(block), |h| views::epoch_scores(h, netuid, n), fetch)
        .await
        .map_err(|e| e.to_string())?
        .value?;
    Ok(views::check_epoch(netuid, block, &output, &scores, runner.describe()))
}
