//! Chain specs: the dev chain's well-known accounts and its genesis.

use std::path::Path;

use tao_chain::{Genesis, GenesisCall, Validator};
use tao_contract_subnets::{RegisterNetworkArgs, SubnetIdentity, params};
use tao_crypto::SecretKey;
use tao_types::keccak256;

/// The system modules every chain installs, by name; `tao_contract_<name>.wasm` on disk.
pub const SYSTEM_MODULES: [&str; 6] = ["token", "subnets", "neurons", "staking", "weights", "incentive"];
/// Dev accounts, each funded with [`DEV_BALANCE`]. Their keys are public: never use them
/// for anything of value.
pub const DEV_ACCOUNTS: [&str; 6] = ["alice", "bob", "charlie", "dave", "eve", "ferdie"];
/// Balance of each dev account: 1,000,000 τ.
pub const DEV_BALANCE: u64 = 1_000_000 * tao_types::RAO_PER_TAO;
/// Blocks between subnet registrations on the dev chain.
pub const DEV_NETWORK_RATE_LIMIT: u64 = 10;
/// The dev chain's id.
pub const DEV_CHAIN_ID: u64 = 0x7a0_de7;

/// The dev key called `name`: its secret is keccak256("wasmtensor/dev/" ‖ name).
pub fn dev_key(name: &str) -> SecretKey {
    let seed = keccak256(format!("wasmtensor/dev/{name}").as_bytes());
    // A Keccak output is a valid secp256k1 scalar except with negligible probability; the dev
    // names are fixed and checked by a test.
    SecretKey::from_bytes(&seed).unwrap_or_else(|_| unreachable_dev_key(name))
}

#[allow(clippy::panic, reason = "fixed dev names, checked by a test")]
fn unreachable_dev_key(name: &str) -> SecretKey {
    panic!("dev key {name} is not a valid scalar")
}

/// Why a spec could not be built.
#[derive(Debug, thiserror::Error)]
#[error("module {name}: {path}: {source}")]
pub struct SpecError {
    name: String,
    path: String,
    source: std::io::Error,
}

/// The system modules' code from `dir` (where `cargo xtask contracts` puts them).
pub fn load_modules(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, SpecError> {
    SYSTEM_MODULES
        .iter()
        .map(|name| {
            let path = dir.join(format!("tao_contract_{name}.wasm"));
            std::fs::read(&path).map(|code| (name.to_string(), code)).map_err(|source| SpecError {
                name: name.to_string(),
                path: path.display().to_string(),
                source,
            })
        })
        .collect()
}

/// The dev chain: the dev accounts funded, the dev validator as the one authority, and an
/// example subnet (netuid 1) owned by alice with hotkey `alice-hot`, commit-reveal off so
/// weights can be set directly.
pub fn dev_genesis(modules: Vec<(String, Vec<u8>)>, time_ms: u64) -> Genesis {
    let alice = dev_key("alice").address();
    let identity = SubnetIdentity {
        name: "example".into(),
        url: String::new(),
        description: "the dev chain's example subnet".into(),
    };
    let register = RegisterNetworkArgs { hotkey: dev_key("alice-hot").address(), identity };
    let commit_reveal = params::id_of("commit_reveal").unwrap_or(u8::MAX);
    let calls = vec![
        // Subnets may be registered every 10 blocks here (7,200 on a real chain).
        GenesisCall {
            module: "subnets".into(),
            entry: "entry_set_network_rate_limit".into(),
            caller: tao_contract_token::SYSTEM,
            input: borsh::to_vec(&DEV_NETWORK_RATE_LIMIT).unwrap_or_default(),
        },
        GenesisCall {
            module: "subnets".into(),
            entry: "entry_register_network".into(),
            caller: alice,
            input: borsh::to_vec(&register).unwrap_or_default(),
        },
        GenesisCall {
            module: "subnets".into(),
            entry: "entry_set_hyperparameter".into(),
            caller: tao_contract_token::SYSTEM,
            input: borsh::to_vec(&(1u16, commit_reveal, 0u64)).unwrap_or_default(),
        },
    ];
    Genesis {
        chain_id: DEV_CHAIN_ID,
        time_ms,
        modules,
        balances: DEV_ACCOUNTS.iter().map(|n| (dev_key(n).address(), DEV_BALANCE)).collect(),
        validators: vec![Validator { key: dev_key("validator").public_key(), power: 1 }],
        calls,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_keys_are_valid_and_distinct() {
        let mut addresses: Vec<_> =
            DEV_ACCOUNTS.iter().chain(&["validator"]).map(|n| dev_key(n).address()).collect();
        addresses.sort();
        addresses.dedup();
        assert_eq!(addresses.len(), DEV_ACCOUNTS.len() + 1);
    }
}
