//! `tao wallet swap-hotkey` (subtensor's `swap_hotkey`): through the preflight, which refuses
//! locally a hotkey the wallet does not own, a new hotkey already in use and the rate limit.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use tao_contract_staking::HOTKEY_SWAP_COST;
use tao_types::Balance;

use crate::client::Client;
use crate::keys::{Common, HotkeyArg};
use crate::preflight;
use crate::transfer::finish;

pub(crate) fn swap_hotkey(
    wallet: &str,
    hotkey: &HotkeyArg,
    new_hotkey: &HotkeyArg,
    url: &str,
    common: &Common,
) -> Result<ExitCode> {
    let client = Client::new(url)?;
    let (old, new) = (hotkey.resolve(common, wallet)?, new_hotkey.resolve(common, wallet)?);
    let question = format!(
        "swap hotkey {old} for {new}? Its stake, UIDs, root seat, children, takes and subnets move \
         to {new} for good; it costs {} (recycled)",
        Balance(HOTKEY_SWAP_COST)
    );
    let draft = preflight::draft("staking", "entry_swap_hotkey", borsh::to_vec(&(old, new))?);
    let mut status = preflight::send_confirmed(&client, common, wallet, &draft, None, &question)?;
    status["old_hotkey"] = json!(old);
    status["new_hotkey"] = json!(new);
    status["cost"] = json!(HOTKEY_SWAP_COST);
    Ok(finish(&status, common.json, &format!("hotkey {old} swapped for {new}")))
}
