//! Preflight: before anything is signed, the CLI runs the call on state proven at the certified
//! head with the wallet's own preview code (`tao_client::tx::preview`: the most fee held by the
//! token module, then the call's entry point, each as the chain runs it). The confirmation shows
//! its outcome, the most fee and amounts; what the chain would refuse is refused here with the contract's
//! message and nothing is signed or sent, unless `--force`.

use anyhow::{Result, anyhow};
use tao_client::VerifyError;
use tao_client::code::ModuleCode;
use tao_client::tx::{self, Draft, Preview, PreviewCode};
use tao_client::views::{self, Position};
use tao_types::{Address, Balance};

use crate::client::Client;
use crate::keys::{self, Common};
use crate::proven::Reader;

/// Why the CLI refused a call before signing it.
#[derive(Debug, thiserror::Error)]
#[error(
    "refused before sending: the chain would refuse this ({why}); verified at #{height}. Nothing was \
     signed or sent (--force sends it anyway, paying the fee)"
)]
pub(crate) struct Refused {
    /// The contract's message (amounts in τ).
    pub(crate) why: String,
    /// Where the preview ran.
    pub(crate) height: u64,
}

/// `draft` as `sender` on state proven at the head: the preview and its height.
pub(crate) fn preview(
    client: &Client,
    sender: Address,
    draft: &Draft,
    position: Option<Position>,
) -> Result<(u64, Preview)> {
    let reader = Reader::new(client)?;
    let (_, token) = reader.view(|h| views::module_hash(h, "token"))?;
    // An upload runs nothing: its preview holds the fee.
    let target = match draft.module {
        Some(module) => {
            let (_, hash) = reader.view(|h| views::module_hash(h, module))?;
            Some(code(&reader, module, hash, draft.method)?)
        }
        None => None,
    };
    let code = PreviewCode { token: code(&reader, "token", token, "entry_charge_fee")?, target };
    let proven = reader.read(sender, |h| tx::preview(h, &sender, draft, position, &code))?;
    Ok((proven.height, proven.value.map_err(|e| anyhow!("preflight: {e}"))?))
}

/// The code that runs `entry` of system module `name` (proven code hash `hash`) as the chain
/// does: compiled in when this build carries that hash and the entry, else the chain's bytes.
fn code(reader: &Reader<'_>, name: &'static str, hash: tao_types::Hash, entry: &str) -> Result<ModuleCode> {
    if let Some(native) = ModuleCode::compiled(name, hash).filter(|c| c.runs(entry)) {
        return Ok(native);
    }
    reader.module_code(name, hash)
}

/// A call of `method` on system module `module` with the CLI's fee limit.
pub(crate) fn draft(module: &'static str, method: &'static str, args: Vec<u8>) -> Draft {
    Draft { module: Some(module), method, args, fee: crate::subnet::FEE_LIMIT.0 }
}

/// Runs the preflight of `draft` and returns its one-line summary. A call the chain would
/// refuse is refused here ([`Refused`]) unless `common.force`.
pub(crate) fn check(
    client: &Client,
    common: &Common,
    sender: Address,
    draft: &Draft,
    position: Option<Position>,
) -> Result<String> {
    let (height, preview) = match preview(client, sender, draft, position) {
        Ok(previewed) => previewed,
        // Code that enumerates keys (choosing a free netuid) has no proof of what it would
        // find: the call is not previewed, and the confirmation says so.
        Err(e) => match e.downcast_ref::<VerifyError>() {
            Some(VerifyError::Unprovable(why)) => return Ok(format!("not previewed: {why}")),
            _ => return Err(e),
        },
    };
    match &preview.error {
        Some(why) if !common.force => return Err(Refused { why: why.clone(), height }.into()),
        Some(why) => eprintln!("--force: sending although the chain would refuse it ({why})"),
        None => {}
    }
    Ok(format!("preflight at #{height}: {}", summary(&preview)))
}

/// [`check`], then asks `question` with the preflight's outcome, fee and amounts.
fn confirm(
    client: &Client,
    common: &Common,
    sender: Address,
    draft: &Draft,
    position: Option<Position>,
    question: &str,
) -> Result<()> {
    let summary = check(client, common, sender, draft, position)?;
    keys::confirm(&format!("{question}\n  {summary}\n "), common)
}

/// The one path of a wallet's coldkey call: [`confirm`] (the preflight and `question`), then
/// the coldkey signs and sends `draft`; the finalized status.
pub(crate) fn send_confirmed(
    client: &Client,
    common: &Common,
    wallet: &str,
    draft: &Draft,
    position: Option<Position>,
    question: &str,
) -> Result<serde_json::Value> {
    let sender = keys::coldkey_address(common, wallet)?;
    confirm(client, common, sender, draft, position, question)?;
    let key = keys::coldkey(common, wallet)?;
    crate::transfer::send(client, &key, draft, common.json)
}

/// [`check`] of a call sent without a question (a hotkey's weights and axon): the summary is
/// shown on stderr unless `--json`.
pub(crate) fn announce(client: &Client, common: &Common, sender: Address, draft: &Draft) -> Result<()> {
    let summary = check(client, common, sender, draft, None)?;
    if !common.json {
        eprintln!("{summary}");
    }
    Ok(())
}

/// The preview in one line: outcome, fee, the sender's balance and the stake it moves.
fn summary(p: &Preview) -> String {
    let outcome = match &p.error {
        None => "would succeed".to_string(),
        Some(why) => format!("WOULD FAIL: {why}"),
    };
    let mut line = format!(
        "{outcome}; fee at most {} (the gas used is charged); free {} → at least {}",
        Balance(p.fee),
        Balance(p.free_before),
        Balance(p.free_after)
    );
    if let Some((position, before, after)) = p.stake {
        let unit = |rao: u64| {
            if position.netuid == 0 { Balance(rao).to_string() } else { crate::subnet::alpha(rao) }
        };
        line.push_str(&format!("; stake on subnet {} {} → {}", position.netuid, unit(before), unit(after)));
    }
    line
}
