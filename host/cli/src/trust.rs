//! What the CLI trusts: the genesis hash and chain id of each network it has met, pinned on first
//! use in `networks.json` beside the wallets (or given with `--genesis`), so a node serving
//! another chain at the same address is refused instead of believed. `tao network` lists and
//! forgets pins; `tao network add` names nodes in `config.toml` (`crate::config`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tao_types::Hash;

use crate::config::{self, Config, Network};
use crate::keys::{Common, confirm};
use crate::output;

/// A chain as pinned: its genesis hash and the chain id its genesis header commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pin {
    /// Hash of the genesis header.
    pub(crate) genesis_hash: Hash,
    /// The genesis header's chain id.
    pub(crate) chain_id: u64,
}

/// Why a node's chain is not the one trusted.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TrustError {
    /// The network was pinned to another genesis.
    #[error(
        "{network} now serves another chain: genesis {got} (chain {got_chain}), but this CLI pinned \
         genesis {pinned} (chain {pinned_chain}) there on first use. Nothing from it is believed. If \
         that network was deliberately reset, re-pin it with `tao network forget {network}`"
    )]
    OtherChain {
        /// The network (`--network` name or RPC URL).
        network: String,
        /// Pinned genesis hash.
        pinned: Hash,
        /// Pinned chain id.
        pinned_chain: u64,
        /// The node's genesis hash.
        got: Hash,
        /// The node's chain id.
        got_chain: u64,
    },
    /// The node's genesis is not the one `--genesis` names.
    #[error("{network} serves genesis {got}, not the --genesis {given} asked for: another chain")]
    NotGiven {
        /// The network.
        network: String,
        /// `--genesis`.
        given: Hash,
        /// The node's genesis hash.
        got: Hash,
    },
    /// The pins file cannot be read or written.
    #[error("{}: {why}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
}

/// The options every command that talks to a node shares (global: they go anywhere on the line).
#[derive(Args, Clone, Default)]
pub(crate) struct TrustArgs {
    /// Name the pinned network (default: the RPC URL), e.g. `--network devnet`.
    #[arg(long, global = true)]
    pub(crate) network: Option<String>,
    /// Trust only the chain with this genesis hash (pinned for the network if not yet).
    #[arg(long, global = true)]
    pub(crate) genesis: Option<Hash>,
}

/// The command line's trust options, set once by `main` before any command runs.
static ARGS: OnceLock<TrustArgs> = OnceLock::new();

/// Records the command line's trust options for every [`Client`](crate::client::Client).
pub(crate) fn configure(args: TrustArgs) {
    let _ = ARGS.set(args);
}

/// The directory of `networks.json`: `$TAO_WALLET_PATH`, else `~/.tao` (where wallets live).
pub(crate) fn default_dir() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("TAO_WALLET_PATH") {
        return Ok(PathBuf::from(path));
    }
    let home = std::env::var_os("HOME").context("no $HOME: set $TAO_WALLET_PATH")?;
    Ok(PathBuf::from(home).join(".tao"))
}

/// The pins, by network name, in `networks.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Pins {
    networks: BTreeMap<String, Pin>,
}

impl Pins {
    fn path(dir: &Path) -> PathBuf {
        dir.join("networks.json")
    }

    fn load(dir: &Path) -> Result<Pins, TrustError> {
        let path = Self::path(dir);
        let file_error = |why: String| TrustError::File { path: path.clone(), why };
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| file_error(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Pins::default()),
            Err(e) => Err(file_error(e.to_string())),
        }
    }

    fn save(&self, dir: &Path) -> Result<(), TrustError> {
        let path = Self::path(dir);
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string());
        text.and_then(|text| config::write_whole(&path, &text)).map_err(|why| TrustError::File { path, why })
    }
}

/// Checks the chain a node at `url` serves against what is trusted for its network, pinning it
/// when the network is new. Returns the pin to verify everything else against.
pub(crate) fn check(url: &str, served: Pin) -> Result<Pin> {
    let args = ARGS.get().cloned().unwrap_or_default();
    let network = args.network.unwrap_or_else(|| url.to_string());
    Ok(check_in(&default_dir()?, &network, args.genesis, served)?)
}

fn check_in(dir: &Path, network: &str, given: Option<Hash>, served: Pin) -> Result<Pin, TrustError> {
    if let Some(given) = given.filter(|g| *g != served.genesis_hash) {
        return Err(TrustError::NotGiven { network: network.into(), given, got: served.genesis_hash });
    }
    let mut pins = Pins::load(dir)?;
    match pins.networks.get(network) {
        Some(pinned) if *pinned == served => Ok(served),
        Some(pinned) => Err(TrustError::OtherChain {
            network: network.into(),
            pinned: pinned.genesis_hash,
            pinned_chain: pinned.chain_id,
            got: served.genesis_hash,
            got_chain: served.chain_id,
        }),
        None => {
            pins.networks.insert(network.into(), served);
            pins.save(dir)?;
            eprintln!(
                "pinned {network}: genesis {} (chain {}), first use; a different chain there will be refused",
                served.genesis_hash, served.chain_id
            );
            Ok(served)
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum NetworkCommand {
    /// Name a node in `config.toml`, so `--network NAME` talks to it (with `--genesis`, only to
    /// that chain); `--default` makes it the network of commands that name none.
    Add {
        /// The network's name, e.g. `devnet`.
        name: String,
        /// Its node: `http://host:port` or `https://host`.
        #[arg(value_name = "URL")]
        endpoint: String,
        /// Use it when no `--network`, `--url` or `TAO_URL` names a node.
        #[arg(long)]
        default: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Remove a named network from `config.toml` (its pin stays until `forget`).
    Remove {
        /// The network's name.
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// The configured and the pinned networks: name (or URL), its URL, genesis hash and chain id.
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Forget a network's pin, so the chain met there next is pinned instead (asks unless --yes).
    Forget {
        /// The network name or RPC URL, as `list` shows it.
        network: String,
        #[command(flatten)]
        common: Common,
    },
}

pub(crate) fn run(command: NetworkCommand) -> Result<ExitCode> {
    let dir = default_dir()?;
    let mut pins = Pins::load(&dir)?;
    let mut config = Config::load(&dir)?;
    match command {
        NetworkCommand::Add { name, endpoint, default, common } => {
            config::check_url(&name, &endpoint)?;
            let genesis = ARGS.get().and_then(|a| a.genesis);
            let network = Network { url: endpoint.trim_end_matches('/').to_string(), genesis };
            config.networks.insert(name.clone(), network.clone());
            if default {
                config.network = Some(name.clone());
            }
            config.save(&dir)?;
            let shown = json!({"added": name, "url": network.url, "genesis": genesis, "default": default});
            output::print(&shown, common.json, &format!("added {name}: {}", network.url));
        }
        NetworkCommand::Remove { name, common } => {
            let network =
                config.networks.get(&name).cloned().with_context(|| format!("no network {name}"))?;
            confirm(&format!("Remove network {name} ({})?", network.url), &common)?;
            config.networks.remove(&name);
            if config.network.as_deref() == Some(name.as_str()) {
                config.network = None;
            }
            config.save(&dir)?;
            output::print(
                &json!({"removed": name, "url": network.url}),
                common.json,
                &format!("removed {name}"),
            );
        }
        NetworkCommand::List { common } => list(&config, &pins, common.json),
        NetworkCommand::Forget { network, common } => {
            let pin =
                pins.networks.get(&network).copied().with_context(|| format!("{network} is not pinned"))?;
            confirm(
                &format!(
                    "Forget {network} (genesis {}), trusting the next chain met there?",
                    pin.genesis_hash
                ),
                &common,
            )?;
            pins.networks.remove(&network);
            pins.save(&dir)?;
            let shown = json!({"forgotten": network, "genesis_hash": pin.genesis_hash});
            output::print(&shown, common.json, &format!("forgot {network}"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Every network the CLI knows, by name: its configured URL and genesis, whether it is the
/// default, and its pin (`genesis_hash`, `chain_id`) once met.
fn list(config: &Config, pins: &Pins, json: bool) {
    let names: std::collections::BTreeSet<&String> =
        config.networks.keys().chain(pins.networks.keys()).collect();
    let mut shown = serde_json::Map::new();
    for name in names {
        let mut entry = json!({});
        if let Some(pin) = pins.networks.get(name) {
            entry = json!({"genesis_hash": pin.genesis_hash, "chain_id": pin.chain_id});
        }
        if let Some(network) = config.networks.get(name) {
            entry["url"] = json!(network.url);
            entry["genesis"] = json!(network.genesis);
            entry["default"] = json!(config.network.as_deref() == Some(name.as_str()));
        }
        if !json {
            let url = entry["url"].as_str().map(|u| format!("  {u}")).unwrap_or_default();
            let default = if entry["default"] == true { "  (default)" } else { "" };
            let pin = match pins.networks.get(name) {
                Some(pin) => format!("  genesis {}  chain {}", pin.genesis_hash, pin.chain_id),
                None => "  not met yet".to_string(),
            };
            println!("{name}{url}{default}{pin}");
        }
        shown.insert(name.clone(), entry);
    }
    if json {
        println!("{}", Value::Object(shown));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn first_use_pins_and_another_chain_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let one = Pin { genesis_hash: Hash([1; 32]), chain_id: 7 };
        let two = Pin { genesis_hash: Hash([2; 32]), chain_id: 7 };
        assert_eq!(check_in(dir.path(), "http://a", None, one).unwrap(), one);
        assert_eq!(check_in(dir.path(), "http://a", None, one).unwrap(), one);
        let refused = check_in(dir.path(), "http://a", None, two).unwrap_err();
        assert!(
            matches!(refused, TrustError::OtherChain { pinned, got, .. } if pinned == one.genesis_hash && got == two.genesis_hash)
        );
        assert!(refused.to_string().contains("tao network forget http://a"));
        // Another network is its own pin; a changed chain id under the same genesis hash is refused too.
        assert_eq!(check_in(dir.path(), "http://b", None, two).unwrap(), two);
        let renumbered = Pin { chain_id: 8, ..one };
        assert!(matches!(
            check_in(dir.path(), "http://a", None, renumbered),
            Err(TrustError::OtherChain { .. })
        ));
        // --genesis refuses any other chain, pinned or not.
        assert!(matches!(
            check_in(dir.path(), "http://c", Some(one.genesis_hash), two),
            Err(TrustError::NotGiven { .. })
        ));
        assert_eq!(check_in(dir.path(), "http://c", Some(two.genesis_hash), two).unwrap(), two);
    }
}
