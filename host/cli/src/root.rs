//! btcli's root commands: `tao root register` (subtensor's `root_register`) and `tao root list`
//! (the root UIDs and their root stake, verified). Modern subtensor has no root weights: root
//! stake counts as TaoWeight × stake on every subnet and earns root dividends, so there is no
//! `tao root weights` (docs/cli.md).

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use serde_json::json;
use tao_abi::limits;
use tao_types::{Address, Balance, Uid};

use crate::client::Client;
use crate::keys::{Common, HotkeyArg, Net};
use crate::output::print;
use crate::preflight;
use crate::proven::Reader;
use crate::subnet::event;
use crate::transfer::finish;

#[derive(Subcommand)]
pub(crate) enum RootCommand {
    /// Register a hotkey on the root subnet (64 slots; when full, it replaces the lowest root
    /// stake only if it has more).
    Register {
        #[arg(long)]
        wallet: String,
        /// An address or the name of one of the wallet's hotkeys.
        #[arg(long, default_value = "default")]
        hotkey: HotkeyArg,
        #[command(flatten)]
        net: Net,
    },
    /// The root UIDs with their hotkey and root stake, and TaoWeight, verified.
    List {
        #[command(flatten)]
        net: Net,
    },
}

pub(crate) fn run(command: RootCommand) -> Result<ExitCode> {
    match command {
        RootCommand::Register { wallet, hotkey, net: Net { url, common } } => {
            register(&wallet, &hotkey, &url, &common)
        }
        RootCommand::List { net: Net { url, common } } => list(&url, &common),
    }
}

fn register(wallet: &str, hotkey: &HotkeyArg, url: &str, common: &Common) -> Result<ExitCode> {
    let client = Client::new(url)?;
    let hotkey = hotkey.resolve(common, wallet)?;
    let draft = preflight::draft("staking", "entry_root_register", borsh::to_vec(&hotkey)?);
    let question = format!("register {hotkey} on root?");
    let mut status = preflight::send_confirmed(&client, common, wallet, &draft, None, &question)?;
    if let Ok(data) = event(&status, b"root_registered") {
        let (uid, _): (Uid, Address) = tao_codec::decode(&data, limits::MAX_EVENT_DATA_BYTES as usize)?;
        status["uid"] = json!(uid);
        if !common.json {
            println!("registered {hotkey} on root as UID {uid}");
        }
    }
    Ok(finish(&status, common.json, "root register"))
}

fn list(url: &str, common: &Common) -> Result<ExitCode> {
    let client = Client::new(url)?;
    let (height, (rows, weight)) = Reader::new(&client)?.view(|h| {
        let rows = tao_contract_staking::root_list(h).map_err(|e| e.to_string())?;
        Ok((rows, tao_contract_staking::tao_weight(h).map_err(|e| e.to_string())?))
    })?;
    let json_rows: Vec<_> = rows
        .iter()
        .map(|(uid, hotkey, stake)| json!({"uid": uid, "hotkey": hotkey, "stake": stake}))
        .collect();
    let mut text =
        format!("root (verified at #{height}): {} of 64 slots, TaoWeight {weight}/u64::MAX\n", rows.len());
    text.push_str(&format!("{:>4}  {:<42}  {:>20}", "UID", "HOTKEY", "ROOT STAKE"));
    for (uid, hotkey, stake) in &rows {
        text.push_str(&format!("\n{uid:>4}  {hotkey:<42}  {:>20}", Balance(*stake).to_string()));
    }
    let value = json!({"root": json_rows, "tao_weight": weight, "verified_at": height});
    print(&value, common.json, &text);
    Ok(ExitCode::SUCCESS)
}
