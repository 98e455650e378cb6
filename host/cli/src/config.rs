//! `config.toml` beside the wallets (`$TAO_WALLET_PATH`, else `~/.tao`): named networks, each
//! a node URL and optionally the genesis to trust, and the default one, so `--network NAME`
//! picks a node as btcli's `--network finney` does. The node a command talks to is `--url`,
//! else `TAO_URL`, else the `--network` (or default) network's URL, else the local node.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::ArgMatches;
use clap::parser::ValueSource;
use serde::{Deserialize, Serialize};
use tao_types::Hash;

use crate::trust::TrustArgs;

/// The file's contents.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// The network commands use when neither `--network`, `--url` nor `TAO_URL` names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) network: Option<String>,
    /// The named networks.
    #[serde(default)]
    pub(crate) networks: BTreeMap<String, Network>,
}

/// One named network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Network {
    /// Its node: `http://…` or `https://…`.
    pub(crate) url: String,
    /// Trust only this chain there (as `--genesis`); else the first one met is pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) genesis: Option<Hash>,
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    /// The file cannot be read, parsed or written.
    #[error("{}: {why}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// `--network` names no configured network and no URL was given.
    #[error(
        "no network {name} in {}: add it with `tao network add {name} URL`, or give --url",
        path.display()
    )]
    Unknown {
        /// The name asked for.
        name: String,
        /// The configuration file.
        path: PathBuf,
    },
    /// A network's URL is not HTTP(S).
    #[error("network {name}: the URL must start with http:// or https://, not {url}")]
    BadUrl {
        /// The network.
        name: String,
        /// Its URL.
        url: String,
    },
}

impl Config {
    fn path(dir: &Path) -> PathBuf {
        dir.join("config.toml")
    }

    /// The configuration in `dir` (empty when there is no file).
    pub(crate) fn load(dir: &Path) -> Result<Config, ConfigError> {
        let path = Self::path(dir);
        let file_error = |why: String| ConfigError::File { path: path.clone(), why };
        let config: Config = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| file_error(e.to_string()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(file_error(e.to_string())),
        };
        for (name, network) in &config.networks {
            check_url(name, &network.url)?;
        }
        Ok(config)
    }

    pub(crate) fn save(&self, dir: &Path) -> Result<(), ConfigError> {
        let path = Self::path(dir);
        let text = toml::to_string(self).map_err(|e| e.to_string());
        text.and_then(|text| write_whole(&path, &text)).map_err(|why| ConfigError::File { path, why })
    }

    /// Which node the command line talks to: `Some(url)` when a configured network supplies it
    /// (`url_given` is whether `--url` or `TAO_URL` did). `trust` gains the network's name (the
    /// pin's) and its genesis unless `--genesis` gave one.
    pub(crate) fn select(
        &self,
        dir: &Path,
        trust: &mut TrustArgs,
        url_given: bool,
    ) -> Result<Option<String>, ConfigError> {
        let explicit = trust.network.is_some();
        let Some(name) = trust.network.clone().or_else(|| self.network.clone()) else {
            return Ok(None);
        };
        match self.networks.get(&name) {
            // An unconfigured `--network` beside a URL only names that URL's pin.
            None if url_given && explicit => Ok(None),
            None => Err(ConfigError::Unknown { name, path: Self::path(dir) }),
            // `--url`/`TAO_URL` win over the default network, which then does not apply.
            Some(_) if url_given && !explicit => Ok(None),
            Some(network) => {
                trust.network = Some(name);
                trust.genesis = trust.genesis.or(network.genesis);
                Ok((!url_given).then(|| network.url.clone()))
            }
        }
    }
}

/// Writes `text` to `path` through a temporary file beside it, so a crash never leaves half a
/// file; the error says why.
pub(crate) fn write_whole(path: &Path, text: &str) -> Result<(), String> {
    let temporary = path.with_extension("tmp");
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&temporary, text))
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|e| e.to_string())
}

/// Refuses a URL the client cannot speak to.
pub(crate) fn check_url(name: &str, url: &str) -> Result<(), ConfigError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(ConfigError::BadUrl { name: name.into(), url: url.into() })
    }
}

/// Whether the command's `--url` was given on the command line or by `TAO_URL` (not
/// defaulted); `None` for commands without one (the configuration does not apply to them).
pub(crate) fn url_given(matches: &ArgMatches) -> Option<bool> {
    let mut leaf = matches;
    while let Some((_, sub)) = leaf.subcommand() {
        leaf = sub;
    }
    leaf.ids().any(|id| id.as_str() == "url").then(|| {
        matches!(leaf.value_source("url"), Some(ValueSource::CommandLine | ValueSource::EnvVariable))
    })
}

/// `command` with every `--url` defaulting to `url` instead of the local node.
pub(crate) fn with_default_url(command: clap::Command, url: &str) -> clap::Command {
    let names: Vec<String> = command.get_subcommands().map(|s| s.get_name().to_string()).collect();
    let mut command = if command.get_arguments().any(|a| a.get_id() == "url") {
        command.mut_arg("url", |a| a.default_value(url.to_string()))
    } else {
        command
    };
    for name in names {
        command = command.mut_subcommand(name, |sub| with_default_url(sub, url));
    }
    command
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn config() -> Config {
        let text = r#"
            network = "test"
            [networks.test]
            url = "https://test.example:443"
            genesis = "0x0101010101010101010101010101010101010101010101010101010101010101"
            [networks.local]
            url = "http://127.0.0.1:9944"
        "#;
        toml::from_str(text).unwrap()
    }

    fn select(trust: &mut TrustArgs, url_given: bool) -> Result<Option<String>, ConfigError> {
        config().select(Path::new("/nowhere"), trust, url_given)
    }

    #[test]
    fn the_default_network_applies_unless_a_url_or_network_is_given() {
        let mut trust = TrustArgs::default();
        assert_eq!(select(&mut trust, false).unwrap().as_deref(), Some("https://test.example:443"));
        assert_eq!(trust.network.as_deref(), Some("test"));
        assert_eq!(trust.genesis, Some(Hash([1; 32])));
        // TAO_URL or --url: the default network does not apply at all (nor its pin).
        let mut trust = TrustArgs::default();
        assert_eq!(select(&mut trust, true).unwrap(), None);
        assert_eq!((trust.network, trust.genesis), (None, None));
        // --network picks another; its genesis is not the default's; --genesis wins.
        let mut trust = TrustArgs { network: Some("local".into()), genesis: Some(Hash([9; 32])) };
        assert_eq!(select(&mut trust, false).unwrap().as_deref(), Some("http://127.0.0.1:9944"));
        assert_eq!(trust.genesis, Some(Hash([9; 32])));
    }

    #[test]
    fn an_unknown_network_is_refused_unless_it_only_names_a_urls_pin() {
        let mut trust = TrustArgs { network: Some("tset".into()), genesis: None };
        let refused = select(&mut trust, false).unwrap_err();
        assert!(refused.to_string().contains("tao network add tset"), "{refused}");
        let mut trust = TrustArgs { network: Some("tset".into()), genesis: None };
        assert_eq!(select(&mut trust, true).unwrap(), None);
        assert_eq!(trust.network.as_deref(), Some("tset"));
    }

    #[test]
    fn the_file_round_trips_and_bad_files_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Config::load(dir.path()).unwrap(), Config::default());
        config().save(dir.path()).unwrap();
        assert_eq!(Config::load(dir.path()).unwrap(), config());
        std::fs::write(dir.path().join("config.toml"), "[networks.x]\nurl = \"ftp://x\"\n").unwrap();
        assert!(matches!(Config::load(dir.path()), Err(ConfigError::BadUrl { .. })));
        std::fs::write(dir.path().join("config.toml"), "[networks.x]\nurll = \"http://x\"\n").unwrap();
        let refused = Config::load(dir.path()).unwrap_err();
        assert!(refused.to_string().contains("config.toml"), "{refused}");
    }
}
