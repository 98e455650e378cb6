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
    /// Register (or replace) a hotkey's consensus key, the key its validator node signs blocks
    /// with: from the next epoch, the top root stakes with a consensus key are the validator
    /// set. Sent by the hotkey's owner coldkey; the key signs a proof that it is held.
    SetConsensusKey {
        #[arg(long)]
        wallet: String,
        /// An address or the name of one of the wallet's hotkeys.
        #[arg(long, default_value = "default")]
        hotkey: HotkeyArg,
        /// The validator's key file (hex secret, as `tao testnet init` writes).
        #[arg(long)]
        key_file: std::path::PathBuf,
        #[command(flatten)]
        net: Net,
    },
    /// The validator set signing after the certified head, the set-from-stake parameters and
    /// the set the next epoch would take, verified.
    Validators {
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
        RootCommand::SetConsensusKey { wallet, hotkey, key_file, net: Net { url, common } } => {
            set_consensus_key(&wallet, &hotkey, &key_file, &url, &common)
        }
        RootCommand::Validators { net: Net { url, common } } => validators(&url, &common),
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

fn set_consensus_key(
    wallet: &str,
    hotkey: &HotkeyArg,
    key_file: &std::path::Path,
    url: &str,
    common: &Common,
) -> Result<ExitCode> {
    let client = Client::new(url)?;
    let hotkey = hotkey.resolve(common, wallet)?;
    let key = crate::testnet::read_key_file(key_file)?;
    let coldkey = crate::keys::coldkey_address(common, wallet)?;
    let signed = key.sign_hash(&tao_contract_staking::consensus_key_proof_hash(&coldkey, &hotkey));
    let mut proof = [0u8; 64];
    proof.copy_from_slice(&signed.0[..64]);
    let public = key.public_key().to_compressed();
    let draft =
        preflight::draft("staking", "entry_set_consensus_key", borsh::to_vec(&(hotkey, public, proof))?);
    let question = format!("set the consensus key of {hotkey} to 0x{}?", hex::encode(public));
    let mut status = preflight::send_confirmed(&client, common, wallet, &draft, None, &question)?;
    status["consensus_key"] = json!(format!("0x{}", hex::encode(public)));
    Ok(finish(&status, common.json, "root set-consensus-key"))
}

/// One validator as shown: its key (hex) and power.
fn validator_rows(set: &[(String, u64)]) -> Vec<serde_json::Value> {
    set.iter().map(|(key, power)| json!({"key": key, "power": power})).collect()
}

fn validators(url: &str, common: &Common) -> Result<ExitCode> {
    let client = Client::new(url)?;
    let reader = Reader::new(&client)?;
    let current: Vec<(String, u64)> = reader
        .validators()
        .iter()
        .map(|v| (format!("0x{}", hex::encode(v.key.to_compressed())), v.power))
        .collect();
    let (height, (params, next)) = reader.view(|h| {
        let params = tao_contract_staking::validator_params(h).map_err(|e| e.to_string())?;
        Ok((params, tao_contract_staking::compute_set(h, &params).map_err(|e| e.to_string())?))
    })?;
    let next: Vec<(String, u64)> =
        next.iter().map(|(key, power)| (format!("0x{}", hex::encode(key)), *power)).collect();
    let mut text = format!(
        "validators signing after #{height} (verified): {}\n{:<68}  {:>20}",
        current.len(),
        "CONSENSUS KEY",
        "POWER"
    );
    for (key, power) in &current {
        text.push_str(&format!("\n{key:<68}  {power:>20}"));
    }
    text.push_str(&format!(
        "\nset from stake: at most {} validators, at least {} root stake, every {} blocks (0: never), kept when fewer than {} qualify; the next epoch would take {}",
        params.max_validators,
        Balance(params.min_stake),
        params.epoch,
        params.min_validators,
        next.len()
    ));
    let value = json!({
        "verified_at": height,
        "validators": validator_rows(&current),
        "max_validators": params.max_validators,
        "min_stake": params.min_stake,
        "epoch": params.epoch,
        "min_validators": params.min_validators,
        "next_epoch_set": validator_rows(&next),
    });
    print(&value, common.json, &text);
    Ok(ExitCode::SUCCESS)
}
