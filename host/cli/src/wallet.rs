//! `tao wallet`: coldkeys (encrypted key files) and hotkeys under `<wallet path>/wallets/<name>/`,
//! as btcli lays them out, and balances proven against certified headers.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use tao_crypto::SecretKey;
use tao_types::{Address, Balance};

use crate::client::Client;
use crate::keys::{
    Common, Net, coldkey, coldkey_address, confirm, password, read_keystore, save_coldkey_with, save_hotkey,
    write_private,
};
use crate::keystore;

#[derive(Subcommand)]
pub(crate) enum WalletCommand {
    /// Create a wallet: a new coldkey from a new 12-word mnemonic (shown once: write it down;
    /// MetaMask restores the same account from it), encrypted with a password, and a hotkey.
    Create {
        /// Wallet name.
        #[arg(long)]
        name: String,
        /// Name of its first hotkey.
        #[arg(long, default_value = "default")]
        hotkey: String,
        #[command(flatten)]
        common: Common,
    },
    /// Import a coldkey from a private key, a keystore file, or one of the dev chain's accounts.
    Import {
        /// Wallet name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        source: ImportSource,
        #[command(flatten)]
        common: Common,
    },
    /// Restore a wallet's coldkey from its mnemonic (as `create` showed it, or a MetaMask phrase).
    Regen {
        /// Wallet name.
        #[arg(long)]
        name: String,
        /// The 12 or 24 words.
        #[arg(long)]
        mnemonic: String,
        /// Derivation path (MetaMask's first account by default).
        #[arg(long, default_value = tao_crypto::hd::DEFAULT_PATH)]
        path: String,
        #[command(flatten)]
        common: Common,
    },
    /// Write a wallet's encrypted coldkey (keystore JSON) to a file, after checking the password.
    Export {
        /// Wallet name.
        #[arg(long)]
        name: String,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// Restore a hotkey of a wallet from its mnemonic (as `create` or `new-hotkey` showed it;
    /// btcli's `regen_hotkey`).
    RegenHotkey {
        /// Wallet name.
        #[arg(long)]
        name: String,
        /// Hotkey name.
        #[arg(long)]
        hotkey: String,
        /// The 12 or 24 words.
        #[arg(long)]
        mnemonic: String,
        /// Derivation path.
        #[arg(long, default_value = tao_crypto::hd::DEFAULT_PATH)]
        path: String,
        #[command(flatten)]
        common: Common,
    },
    /// Move everything of one of the wallet's hotkeys to an unused one (btcli `wallet
    /// swap-hotkey`): stake on every subnet, UIDs and axons, the root seat, child relations,
    /// takes and subnet ownership. Costs 0.1 τ (recycled); once per 1000 blocks per coldkey.
    SwapHotkey {
        #[arg(long)]
        wallet: String,
        /// The hotkey to give up: an address or the name of one of the wallet's hotkeys.
        #[arg(long)]
        hotkey: crate::keys::HotkeyArg,
        /// The unused hotkey that takes its place, as `--hotkey`.
        #[arg(long)]
        new_hotkey: crate::keys::HotkeyArg,
        #[command(flatten)]
        net: Net,
    },
    /// Add a hotkey to a wallet (from a new mnemonic, shown once).
    NewHotkey {
        /// Wallet name.
        #[arg(long)]
        name: String,
        /// Hotkey name.
        #[arg(long)]
        hotkey: String,
        #[command(flatten)]
        common: Common,
    },
    /// List wallets with their coldkey and hotkey addresses.
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Sign a message with a wallet's coldkey (prefixed and hashed so it can never be a
    /// transaction).
    Sign {
        #[arg(long)]
        name: String,
        /// The message (UTF-8).
        #[arg(long)]
        message: String,
        #[command(flatten)]
        common: Common,
    },
    /// Check that `signature` over `message` was made by `address`.
    Verify {
        #[arg(long)]
        address: Address,
        #[arg(long)]
        message: String,
        /// 65-byte signature, hex.
        #[arg(long)]
        signature: String,
        #[command(flatten)]
        common: Common,
    },
    /// A wallet at a glance: verified balance, stake positions with their TAO value, and where
    /// its hotkeys are registered.
    Overview {
        /// Wallet name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        net: Net,
    },
    /// The balance of a wallet's coldkey (or any address), proven against a certified header.
    Balance {
        /// Wallet name.
        #[arg(long, required_unless_present = "address")]
        name: Option<String>,
        /// Any address instead.
        #[arg(long, conflicts_with = "name")]
        address: Option<Address>,
        #[command(flatten)]
        net: Net,
    },
}

/// Where an imported coldkey comes from: exactly one of these.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub(crate) struct ImportSource {
    /// The secret key as hex.
    #[arg(long)]
    private_key: Option<String>,
    /// A keystore JSON file (as `wallet export` writes), opened with its password.
    #[arg(long)]
    keystore: Option<PathBuf>,
    /// A dev account (`alice`, `bob`, …): public keys, for testing only.
    #[arg(long)]
    dev: Option<String>,
}

fn save_coldkey(dir: &Path, key: &SecretKey, common: &Common) -> Result<()> {
    save_coldkey_with(dir, key, &password(true)?, common)
}

/// A new hotkey from a new 12-word mnemonic, saved as `name`: `(address, mnemonic)`. The phrase
/// is shown once; `wallet regen-hotkey` restores the hotkey from it (btcli's `regen_hotkey`).
fn new_hotkey(dir: &Path, name: &str, common: &Common) -> Result<(Address, String)> {
    let phrase = tao_crypto::hd::mnemonic_from_entropy(&keystore::random::<16>()?);
    let key = tao_crypto::hd::secret_from_mnemonic(&phrase, "", tao_crypto::hd::DEFAULT_PATH)?;
    save_hotkey(dir, name, &key, common)?;
    Ok((key.address(), phrase))
}

fn hotkeys(dir: &Path) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir.join("hotkeys")) else { return Ok(out) };
    for entry in entries {
        let path = entry?.path();
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let body: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        out.push((name, body["address"].as_str().unwrap_or_default().to_string()));
    }
    out.sort();
    Ok(out)
}

pub(crate) fn run(command: WalletCommand) -> Result<ExitCode> {
    match command {
        WalletCommand::Create { name, hotkey, common } => {
            let dir = common.wallet_dir(&name)?;
            let phrase = tao_crypto::hd::mnemonic_from_entropy(&keystore::random::<16>()?);
            let key = tao_crypto::hd::secret_from_mnemonic(&phrase, "", tao_crypto::hd::DEFAULT_PATH)?;
            save_coldkey(&dir, &key, &common)?;
            let (hot, hot_phrase) = new_hotkey(&dir, &hotkey, &common)?;
            if common.json {
                let hotkeys = [json!({"name": hotkey, "address": hot, "mnemonic": hot_phrase})];
                println!(
                    "{}",
                    json!({"name": name, "coldkey": key.address(), "hotkeys": hotkeys, "mnemonic": phrase})
                );
            } else {
                report(&common, &name, &key.address(), &[(hotkey.clone(), hot.to_string())]);
                println!(
                    "\nmnemonic (shown once; it restores this coldkey, also in MetaMask — keep it offline):\n  {phrase}"
                );
                println!("hotkey {hotkey}'s mnemonic (`wallet regen-hotkey` restores it):\n  {hot_phrase}");
            }
        }
        WalletCommand::Import { name, source, common } => {
            let dir = common.wallet_dir(&name)?;
            let key = match source {
                ImportSource { private_key: Some(hex_key), .. } => {
                    let bytes: [u8; 32] = hex::decode(hex_key.trim_start_matches("0x"))?
                        .try_into()
                        .ok()
                        .context("a private key is 32 bytes of hex")?;
                    SecretKey::from_bytes(&bytes)?
                }
                ImportSource { keystore: Some(file), .. } => read_keystore(&file)?,
                ImportSource { dev: Some(dev), .. } => tao_node::spec::dev_key(&dev),
                ImportSource { .. } => bail!("pass --private-key, --keystore or --dev"),
            };
            save_coldkey(&dir, &key, &common)?;
            report(&common, &name, &key.address(), &hotkeys(&dir)?);
        }
        WalletCommand::Regen { name, mnemonic, path, common } => {
            let dir = common.wallet_dir(&name)?;
            let key = tao_crypto::hd::secret_from_mnemonic(&mnemonic, "", &path)?;
            save_coldkey(&dir, &key, &common)?;
            report(&common, &name, &key.address(), &hotkeys(&dir)?);
        }
        WalletCommand::Export { name, out, common } => {
            let key = coldkey(&common, &name)?; // the password must open it
            if out.exists() {
                confirm(&format!("{} exists: overwrite it?", out.display()), &common)?;
            }
            let stored = std::fs::read_to_string(common.wallet_dir(&name)?.join("coldkey.json"))?;
            write_private(&out, &stored)?;
            if common.json {
                println!("{}", json!({"name": name, "coldkey": key.address(), "file": out}));
            } else {
                println!("wrote {name}'s encrypted coldkey ({}) to {}", key.address(), out.display());
            }
        }
        WalletCommand::NewHotkey { name, hotkey, common } => {
            let dir = common.wallet_dir(&name)?;
            let address = coldkey_address(&common, &name)?;
            let (_, phrase) = new_hotkey(&dir, &hotkey, &common)?;
            if !common.json {
                println!("hotkey {hotkey}'s mnemonic (`wallet regen-hotkey` restores it):\n  {phrase}");
            }
            report_with(&common, &name, &address, &hotkeys(&dir)?, json!({"mnemonic": phrase}));
        }
        WalletCommand::RegenHotkey { name, hotkey, mnemonic, path, common } => {
            let dir = common.wallet_dir(&name)?;
            common.wallet_dir(&hotkey)?; // the same naming rule
            let address = coldkey_address(&common, &name)?;
            let key = tao_crypto::hd::secret_from_mnemonic(&mnemonic, "", &path)?;
            save_hotkey(&dir, &hotkey, &key, &common)?;
            report(&common, &name, &address, &hotkeys(&dir)?);
        }
        WalletCommand::List { common } => list(&common)?,
        WalletCommand::Sign { name, message, common } => {
            let signature = coldkey(&common, &name)?.sign_message(message.as_bytes());
            let hex_sig = format!("0x{}", hex::encode(signature.0));
            if common.json {
                println!("{}", json!({"address": coldkey_address(&common, &name)?, "signature": hex_sig}));
            } else {
                println!("{hex_sig}");
            }
        }
        WalletCommand::Verify { address, message, signature, common } => {
            let bytes: [u8; 65] = hex::decode(signature.trim_start_matches("0x"))?
                .try_into()
                .ok()
                .context("a signature is 65 bytes of hex")?;
            let signer = tao_crypto::Signature(bytes).recover_message_signer(message.as_bytes());
            let valid = signer.as_ref().is_ok_and(|s| *s == address);
            if common.json {
                println!("{}", json!({"valid": valid, "signer": signer.ok()}));
            } else if valid {
                println!("valid: signed by {address}");
            } else {
                println!("invalid: not signed by {address}");
            }
            if !valid {
                return Ok(ExitCode::FAILURE);
            }
        }
        WalletCommand::SwapHotkey { wallet, hotkey, new_hotkey, net: Net { url, common } } => {
            return crate::swap::swap_hotkey(&wallet, &hotkey, &new_hotkey, &url, &common);
        }
        WalletCommand::Overview { name, net: Net { url, common } } => {
            overview(&Client::new(&url)?, &name, &common)?
        }
        WalletCommand::Balance { name, address, net: Net { url, common } } => {
            let address = match (address, name) {
                (Some(a), _) => a,
                (None, Some(name)) => coldkey_address(&common, &name)?,
                (None, None) => bail!("pass --name or --address"),
            };
            balance(&Client::new(&url)?, &address, &common)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn report(common: &Common, name: &str, coldkey: &Address, hot: &[(String, String)]) {
    report_with(common, name, coldkey, hot, json!({}));
}

/// [`report`] with `extra`'s fields added to the JSON.
fn report_with(common: &Common, name: &str, coldkey: &Address, hot: &[(String, String)], extra: Value) {
    if common.json {
        let hotkeys: Vec<_> = hot.iter().map(|(n, a)| json!({"name": n, "address": a})).collect();
        let mut out = json!({"name": name, "coldkey": coldkey, "hotkeys": hotkeys});
        if let (Some(out), Value::Object(extra)) = (out.as_object_mut(), extra) {
            out.extend(extra);
        }
        println!("{out}");
    } else {
        println!("wallet {name}\n  coldkey  {coldkey}");
        for (n, a) in hot {
            println!("  hotkey   {a}  ({n})");
        }
    }
}

fn list(common: &Common) -> Result<()> {
    let root = common.base()?.join("wallets");
    let mut names: Vec<String> = match std::fs::read_dir(&root) {
        Ok(entries) => {
            entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect()
        }
        Err(_) => Vec::new(),
    };
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let dir = root.join(&name);
        let coldkey =
            std::fs::read_to_string(dir.join("coldkeypub.txt")).unwrap_or_default().trim().to_string();
        out.push((name, coldkey, hotkeys(&dir)?));
    }
    if common.json {
        let list: Vec<_> = out
            .iter()
            .map(|(n, c, h)| json!({"name": n, "coldkey": c, "hotkeys": h.iter().map(|(hn, ha)| json!({"name": hn, "address": ha})).collect::<Vec<_>>()}))
            .collect();
        println!("{}", serde_json::Value::Array(list));
    } else if out.is_empty() {
        println!("no wallets in {}", root.display());
    } else {
        for (n, c, h) in &out {
            println!("{n}  {c}  ({} hotkeys)", h.len());
        }
    }
    Ok(())
}

/// `address`'s balance verified against a certified header: `(height, rao)`.
pub(crate) fn verified_balance(client: &Client, address: &Address) -> Result<(u64, u64)> {
    let account = client.request::<tao_rpc::AccountGetMethod>(json!([address]))?;
    let key = tao_contract_token::balance_key(address);
    let (height, value) = client.verified_value(&account.proofs.balance, &key)?;
    let rao = value.map_or(Ok(0), |v| {
        v.try_into().map(u64::from_le_bytes).map_err(|_| anyhow::anyhow!("balance is not 8 bytes"))
    })?;
    Ok((height, rao))
}

fn overview(client: &Client, name: &str, common: &Common) -> Result<()> {
    use crate::subnet::{alpha, neurons, positions_json, subnets};
    let coldkey = coldkey_address(common, name)?;
    // The wallet's own account view (balances and positions valued by the pools' quotes), proven.
    let reader = crate::proven::Reader::new(client)?;
    let (height, account) = reader.view(|h| tao_client::views::account(h, &coldkey))?;
    let (_, listed) = subnets(&reader)?;
    let mine = hotkeys(&common.wallet_dir(name)?)?;
    let mut registrations = Vec::new();
    for netuid in listed.iter().map(|l| l.netuid) {
        for (uid, hotkey) in neurons(&reader, netuid)? {
            if let Some((hot_name, _)) = mine.iter().find(|(_, a)| *a == hotkey.to_string()) {
                registrations.push((netuid, uid, hot_name.clone(), hotkey));
            }
        }
    }
    if common.json {
        let regs: Vec<_> = registrations
            .iter()
            .map(|(n, u, h, a)| json!({"netuid": n, "uid": u, "hotkey": h, "address": a}))
            .collect();
        println!(
            "{}",
            json!({"name": name, "coldkey": coldkey, "balance_rao": account.free, "verified_at": height,
                "staked_tao_value": account.staked, "positions": positions_json(&account), "registrations": regs})
        );
        return Ok(());
    }
    println!("wallet {name}  coldkey {coldkey}  (verified at #{height})");
    println!("  free      {}", Balance(account.free));
    println!("  staked    ≈ {}  if sold now", Balance(account.staked));
    for p in &account.positions {
        let (hotkey, netuid) = (p.position.hotkey, p.position.netuid);
        println!("    subnet {netuid:>3}  {hotkey}  {}  ≈ {}", alpha(p.stake), Balance(p.tao_value));
    }
    for (netuid, uid, hot_name, address) in &registrations {
        println!("  hotkey {hot_name} ({address}) is UID {uid} on subnet {netuid}");
    }
    Ok(())
}

fn balance(client: &Client, address: &Address, common: &Common) -> Result<()> {
    let (height, rao) = verified_balance(client, address)?;
    if common.json {
        println!("{}", json!({"address": address, "balance_rao": rao, "verified_at": height}));
    } else {
        println!("{address}  {}  (verified at #{height})", Balance(rao));
    }
    Ok(())
}
