//! What every command that signs shares: the wallet options (`Common`), the node's default URL,
//! asking before acting (`confirm`), the password, and loading and saving a wallet's coldkey
//! and hotkeys (`HotkeyArg`, btcli's `--hotkey` by address or name). Apart from `wallet`, so the commands
//! that use keys (`subnet`, `transfer`, …) and `wallet` (whose overview reads subnets) do not
//! import each other.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use tao_crypto::SecretKey;
use tao_types::Address;

use crate::keystore::{self, Keystore};

/// The node a command talks to unless `--url` or the `TAO_URL` environment variable says
/// otherwise (every command that talks to a node reads both: `env = "TAO_URL"`).
pub(crate) const DEFAULT_URL: &str = "http://127.0.0.1:9944";

/// Options every wallet-using command shares.
#[derive(Args, Clone)]
pub(crate) struct Common {
    /// Print JSON for scripts.
    #[arg(long)]
    pub(crate) json: bool,
    /// Answer yes to confirmations.
    #[arg(long)]
    pub(crate) yes: bool,
    /// Send a transaction even when its preflight says the chain would refuse it (the fee is paid).
    #[arg(long)]
    pub(crate) force: bool,
    /// Where wallets live (default `$TAO_WALLET_PATH`, else `~/.tao`).
    #[arg(long, env = "TAO_WALLET_PATH")]
    pub(crate) wallet_path: Option<PathBuf>,
}

/// The flags of every command that talks to a node: the node, then [`Common`]. One struct,
/// flattened into each such command, so every one spells `--url`, `--json`, `--yes`, `--force`
/// and `--wallet-path` alike (`--network` is global: `trust::TrustArgs`).
#[derive(Args, Clone)]
pub(crate) struct Net {
    /// Node RPC URL (`http://` or `https://`); else `TAO_URL`, else the `--network`'s.
    #[arg(long, env = "TAO_URL", default_value = DEFAULT_URL)]
    pub(crate) url: String,
    #[command(flatten)]
    pub(crate) common: Common,
}

impl Common {
    /// Where wallets live.
    pub(crate) fn base(&self) -> Result<PathBuf> {
        if let Some(p) = &self.wallet_path {
            return Ok(p.clone());
        }
        let home = std::env::var_os("HOME").context("no $HOME: pass --wallet-path")?;
        Ok(PathBuf::from(home).join(".tao"))
    }

    pub(crate) fn wallet_dir(&self, name: &str) -> Result<PathBuf> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            bail!("wallet and hotkey names use letters, digits, '-' and '_'");
        }
        Ok(self.base()?.join("wallets").join(name))
    }
}

/// Asks `question` unless `--yes`; refuses when there is nobody to ask.
pub(crate) fn confirm(question: &str, common: &Common) -> Result<()> {
    if common.yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!("{question} — not confirmed: pass --yes to run without a terminal");
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if !matches!(answer.trim(), "y" | "Y" | "yes") {
        bail!("cancelled");
    }
    Ok(())
}

/// The password from `$TAO_PASSWORD`, else a prompt (twice when `new`).
pub(crate) fn password(new: bool) -> Result<String> {
    if let Ok(p) = std::env::var("TAO_PASSWORD") {
        return Ok(p);
    }
    let first = rpassword::prompt_password("password: ")?;
    if new && rpassword::prompt_password("again: ")? != first {
        bail!("the passwords differ");
    }
    Ok(first)
}

/// The coldkey of wallet `name`, decrypted with the password.
pub(crate) fn coldkey(common: &Common, name: &str) -> Result<SecretKey> {
    let path = common.wallet_dir(name)?.join("coldkey.json");
    if !path.exists() {
        bail!("no wallet {name} ({})", path.display());
    }
    read_keystore(&path)
}

/// The key in keystore file `path`, decrypted with the password.
pub(crate) fn read_keystore(path: &Path) -> Result<SecretKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let store: Keystore =
        serde_json::from_str(&text).with_context(|| format!("{} is not a key file", path.display()))?;
    Ok(SecretKey::from_bytes(&keystore::decrypt(&store, &password(false)?)?)?)
}

/// The coldkey address of wallet `name` (no password needed).
pub(crate) fn coldkey_address(common: &Common, name: &str) -> Result<Address> {
    let path = common.wallet_dir(name)?.join("coldkeypub.txt");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("no wallet {name} ({})", path.display()))?;
    text.trim().parse().map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Hotkey `hotkey` of wallet `name`.
pub(crate) fn hotkey(common: &Common, name: &str, hotkey: &str) -> Result<SecretKey> {
    common.wallet_dir(hotkey)?; // the same naming rule
    let path = common.wallet_dir(name)?.join("hotkeys").join(format!("{hotkey}.json"));
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("no hotkey {hotkey} in wallet {name} ({})", path.display()))?;
    let body: serde_json::Value = serde_json::from_str(&text)?;
    let secret: [u8; 32] = hex::decode(body["secret"].as_str().unwrap_or_default())?
        .try_into()
        .ok()
        .with_context(|| format!("{} holds no 32-byte secret", path.display()))?;
    Ok(SecretKey::from_bytes(&secret)?)
}

/// A hotkey on the command line, as btcli takes it: an address (`0x…`, anyone's, e.g. the
/// validator a nominator stakes to), or the name of one of the wallet's own hotkeys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HotkeyArg {
    Address(Address),
    Name(String),
}

impl std::str::FromStr for HotkeyArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.starts_with("0x") {
            s.parse().map(HotkeyArg::Address).map_err(|e| format!("{s} is not an address: {e}"))
        } else {
            Ok(HotkeyArg::Name(s.to_string()))
        }
    }
}

impl HotkeyArg {
    /// The hotkey's address; a name is looked up among `wallet`'s hotkeys.
    pub(crate) fn resolve(&self, common: &Common, wallet: &str) -> Result<Address> {
        match self {
            HotkeyArg::Address(address) => Ok(*address),
            HotkeyArg::Name(name) => Ok(hotkey(common, wallet, name)?.address()),
        }
    }
}

/// Writes `contents` to `path` readable by its owner only, creating its directory.
pub(crate) fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file =
        std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    std::io::Write::write_all(&mut file, contents.as_bytes())?;
    Ok(())
}

/// Writes wallet `dir`'s coldkey `key` encrypted under `password` (`coldkey.json`, and its
/// address in `coldkeypub.txt`), asking before overwriting one.
pub(crate) fn save_coldkey_with(dir: &Path, key: &SecretKey, password: &str, common: &Common) -> Result<()> {
    let path = dir.join("coldkey.json");
    if path.exists() {
        confirm(&format!("{} exists: overwrite this coldkey?", path.display()), common)?;
    }
    let store = keystore::encrypt(&key.to_bytes(), key.address().to_string(), password)?;
    write_private(&path, &serde_json::to_string_pretty(&store)?)?;
    std::fs::write(dir.join("coldkeypub.txt"), key.address().to_string())?;
    Ok(())
}

/// Writes hotkey `name` of wallet `dir` (`hotkeys/<name>.json`), asking before overwriting one.
pub(crate) fn save_hotkey(dir: &Path, name: &str, key: &SecretKey, common: &Common) -> Result<Address> {
    let path = dir.join("hotkeys").join(format!("{name}.json"));
    if path.exists() {
        confirm(&format!("{} exists: overwrite this hotkey?", path.display()), common)?;
    }
    let body = serde_json::json!({"address": key.address(), "secret": hex::encode(key.to_bytes())});
    write_private(&path, &serde_json::to_string_pretty(&body)?)?;
    Ok(key.address())
}

#[cfg(test)]
mod tests {
    use super::HotkeyArg;

    #[test]
    fn a_hotkey_is_an_address_or_a_name_never_a_bad_address() {
        let address = "0x00000000000000000000000000000000000000aa";
        assert_eq!(address.parse(), Ok(HotkeyArg::Address(address.parse().unwrap())));
        assert_eq!("validator".parse(), Ok(HotkeyArg::Name("validator".into())));
        assert!("0x12".parse::<HotkeyArg>().unwrap_err().contains("is not an address"));
    }

    /// Commands of every kind — a read, a signing command, a hotkey's call, a neuron, one that
    /// had its own `--json` — take the one [`super::Net`]'s flags under the same names, anywhere
    /// after the subcommand, with `--network` beside them.
    #[test]
    fn networked_commands_share_the_same_flags() {
        use clap::CommandFactory;
        let url = "https://node.example:443";
        let commands: [&[&str]; 6] = [
            &["subnet", "list"],
            &[
                "transfer",
                "--wallet",
                "w",
                "--to",
                "0x00000000000000000000000000000000000000aa",
                "--amount",
                "1",
            ],
            &["weights", "set", "--wallet", "w", "--netuid", "1", "--uids", "0", "--values", "1"],
            &["miner", "run", "--wallet", "w", "--netuid", "1"],
            &["gov", "list"],
            &["stake", "unstake-all", "--wallet", "w"],
        ];
        for args in commands {
            let line =
                [&["tao"], args, &["--url", url, "--json", "--yes", "--force", "--network", "n"]].concat();
            let matches =
                crate::Cli::command().try_get_matches_from(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
            let mut leaf = &matches;
            while let Some((_, sub)) = leaf.subcommand() {
                leaf = sub;
            }
            assert_eq!(leaf.get_one::<String>("url").map(String::as_str), Some(url), "{line:?}");
            assert!(leaf.get_flag("json") && leaf.get_flag("yes") && leaf.get_flag("force"), "{line:?}");
            assert_eq!(leaf.get_one::<String>("network").map(String::as_str), Some("n"), "{line:?}");
        }
    }
}
