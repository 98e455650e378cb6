//! `tao weights` (validators) and `tao axon` (miners): commands signed by a wallet's hotkey,
//! which pays their fee.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde_json::json;
use tao_contract_neurons::ServeAxonArgs;
use tao_contract_weights::{WeightsArgs, commit_hash};
use tao_types::{NetUid, Uid};

use crate::client::Client;
use crate::keys::{self, Common, Net};
use crate::transfer::{finish, send};
use crate::{keystore, preflight};

/// Weights to set, or to commit now and reveal later.
#[derive(clap::Args)]
pub(crate) struct WeightsGiven {
    #[arg(long)]
    wallet: String,
    #[arg(long, default_value = "default")]
    hotkey: String,
    #[arg(long)]
    netuid: NetUid,
    /// Target UIDs, comma-separated.
    #[arg(long, value_delimiter = ',')]
    uids: Vec<Uid>,
    /// Weights, comma-separated, one per UID (scaled so the largest is 65535).
    #[arg(long, value_delimiter = ',')]
    values: Vec<u16>,
    #[arg(long, default_value_t = 0)]
    version_key: u64,
    #[command(flatten)]
    net: Net,
}

#[derive(Subcommand)]
pub(crate) enum WeightsCommand {
    /// Set weights from a wallet's hotkey (subnets with commit-reveal off).
    Set(WeightsGiven),
    /// Commit a hash of weights (subnets with commit-reveal on); the weights and a random salt
    /// are kept in the wallet until `reveal`.
    Commit(WeightsGiven),
    /// Reveal every weights commit the wallet keeps for this hotkey and subnet (once the
    /// subnet's reveal period has passed).
    Reveal {
        #[arg(long)]
        wallet: String,
        #[arg(long, default_value = "default")]
        hotkey: String,
        #[arg(long)]
        netuid: NetUid,
        #[command(flatten)]
        net: Net,
    },
}

#[derive(Subcommand)]
pub(crate) enum AxonCommand {
    /// Publish where validators reach this hotkey's miner on a subnet.
    Serve {
        #[arg(long)]
        wallet: String,
        #[arg(long, default_value = "default")]
        hotkey: String,
        #[arg(long)]
        netuid: NetUid,
        /// Public IPv4 or IPv6 address.
        #[arg(long)]
        ip: IpAddr,
        #[arg(long)]
        port: u16,
        /// Protocol number (4 = TCP, as btcli).
        #[arg(long, default_value_t = 4)]
        protocol: u8,
        /// Axon version.
        #[arg(long, default_value_t = 1)]
        version: u32,
        #[command(flatten)]
        net: Net,
    },
}

impl WeightsGiven {
    fn args(&self) -> Result<WeightsArgs> {
        if self.uids.len() != self.values.len() {
            bail!("{} uids but {} values", self.uids.len(), self.values.len());
        }
        Ok(WeightsArgs {
            netuid: self.netuid,
            uids: self.uids.clone(),
            values: self.values.clone(),
            version_key: self.version_key,
        })
    }
}

/// Where a wallet keeps the weights of its unrevealed commits for `hotkey` on `netuid`.
fn commits_dir(common: &Common, wallet: &str, hotkey: &str, netuid: NetUid) -> Result<PathBuf> {
    common.wallet_dir(hotkey)?; // the same naming rule
    Ok(common.wallet_dir(wallet)?.join("commits").join(format!("{hotkey}-{netuid}")))
}

/// The kept commits, oldest first: `(file, weights, salt)`.
fn kept_commits(dir: &Path) -> Result<Vec<(PathBuf, WeightsArgs, Vec<u8>)>> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(out) };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    for file in files {
        let body: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file)?)?;
        let args = serde_json::from_value::<(NetUid, Vec<Uid>, Vec<u16>, u64)>(body["weights"].clone())
            .with_context(|| format!("{} is not a kept commit", file.display()))?;
        let salt = hex::decode(body["salt"].as_str().unwrap_or_default())?;
        out.push((
            file,
            WeightsArgs { netuid: args.0, uids: args.1, values: args.2, version_key: args.3 },
            salt,
        ));
    }
    Ok(out)
}

pub(crate) fn run_weights(command: WeightsCommand) -> Result<ExitCode> {
    match command {
        WeightsCommand::Set(given) => {
            let args = given.args()?;
            let key = keys::hotkey(&given.net.common, &given.wallet, &given.hotkey)?;
            let client = Client::new(&given.net.url)?;
            let draft = preflight::draft("weights", "entry_set_weights", borsh::to_vec(&args)?);
            preflight::announce(&client, &given.net.common, key.address(), &draft)?;
            let status = send(&client, &key, &draft, given.net.common.json)?;
            Ok(finish(&status, given.net.common.json, "weights set"))
        }
        WeightsCommand::Commit(given) => {
            let args = given.args()?;
            let key = keys::hotkey(&given.net.common, &given.wallet, &given.hotkey)?;
            let salt = keystore::random::<32>()?;
            let hash = commit_hash(&key.address(), &args, &salt);
            let client = Client::new(&given.net.url)?;
            let draft =
                preflight::draft("weights", "entry_commit_weights", borsh::to_vec(&(args.netuid, hash))?);
            preflight::announce(&client, &given.net.common, key.address(), &draft)?;
            let status = send(&client, &key, &draft, given.net.common.json)?;
            let code = finish(&status, given.net.common.json, "weights committed");
            if code == ExitCode::SUCCESS {
                let dir = commits_dir(&given.net.common, &given.wallet, &given.hotkey, args.netuid)?;
                std::fs::create_dir_all(&dir)?;
                let height = status["height"].as_u64().unwrap_or(0);
                let kept = json!({"weights": (args.netuid, &args.uids, &args.values, args.version_key), "salt": hex::encode(salt), "hash": hex::encode(hash)});
                std::fs::write(
                    dir.join(format!("{height:012}-{}.json", hex::encode(&hash[..4]))),
                    kept.to_string(),
                )?;
                if !given.net.common.json {
                    println!("kept in {} until `tao weights reveal`", dir.display());
                }
            }
            Ok(code)
        }
        WeightsCommand::Reveal { wallet, hotkey, netuid, net: Net { url, common } } => {
            let dir = commits_dir(&common, &wallet, &hotkey, netuid)?;
            let kept = kept_commits(&dir)?;
            if kept.is_empty() {
                bail!("no kept commits for hotkey {hotkey} on subnet {netuid} in wallet {wallet}");
            }
            let key = keys::hotkey(&common, &wallet, &hotkey)?;
            let client = Client::new(&url)?;
            let mut code = ExitCode::SUCCESS;
            for (file, args, salt) in kept {
                let draft =
                    preflight::draft("weights", "entry_reveal_weights", borsh::to_vec(&(args, salt))?);
                preflight::announce(&client, &common, key.address(), &draft)?;
                let status = send(&client, &key, &draft, common.json)?;
                code = finish(&status, common.json, "weights revealed");
                if code != ExitCode::SUCCESS {
                    break;
                }
                std::fs::remove_file(&file)?;
            }
            Ok(code)
        }
    }
}

pub(crate) fn run_axon(command: AxonCommand) -> Result<ExitCode> {
    let AxonCommand::Serve { wallet, hotkey, netuid, ip, port, protocol, version, net: Net { url, common } } =
        command;
    let (ip, ip_type) = match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 4),
        IpAddr::V6(v6) => (u128::from(v6), 6),
    };
    let key = keys::hotkey(&common, &wallet, &hotkey)?;
    let args = ServeAxonArgs { netuid, ip, ip_type, port, protocol, version };
    let client = Client::new(&url)?;
    let draft = preflight::draft("neurons", "entry_serve_axon", borsh::to_vec(&args)?);
    preflight::announce(&client, &common, key.address(), &draft)?;
    let status = send(&client, &key, &draft, common.json)?;
    Ok(finish(&status, common.json, "axon served"))
}
