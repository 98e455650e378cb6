//! The few state keys the chain itself owns; every other key belongs to a contract.

use tao_types::{Address, Hash};

/// Next nonce of an account (u64, big-endian).
pub fn nonce(account: &Address) -> Vec<u8> {
    [b"sys/nonce/".as_slice(), &account.0].concat()
}

/// The nonce stored under [`nonce`] (0 when absent or malformed).
pub fn nonce_value(bytes: Option<&[u8]>) -> u64 {
    bytes.and_then(|b| b.try_into().ok()).map_or(0, u64::from_be_bytes)
}

/// Wasm code by its Keccak-256 hash.
pub fn code(hash: &Hash) -> Vec<u8> {
    [tao_abi::CODE_KEY_PREFIX, &hash.0].concat()
}

/// The entry points of deployed code (a borsh `Vec<String>`), by its hash.
pub fn entries(hash: &Hash) -> Vec<u8> {
    [tao_abi::ENTRIES_KEY_PREFIX, &hash.0].concat()
}

/// The system module name that code `hash` served as before an upgrade replaced it.
pub fn retired(hash: &Hash) -> Vec<u8> {
    [tao_abi::RETIRED_KEY_PREFIX, &hash.0].concat()
}

/// The code hash of the system module called `name`.
pub fn module(name: &str) -> Vec<u8> {
    [tao_abi::MODULE_KEY_PREFIX, name.as_bytes()].concat()
}

/// A storage key as people read it: its ASCII path up to the last `/`, then the rest in hex
/// (all of it as text when it is all printable).
pub fn describe(key: &[u8]) -> String {
    let printable = key.iter().position(|b| !b.is_ascii_graphic()).unwrap_or(key.len());
    if printable == key.len() {
        return String::from_utf8_lossy(key).into_owned();
    }
    let path = key[..printable].iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    let prefix = String::from_utf8_lossy(&key[..path]);
    if path == key.len() { prefix.into_owned() } else { format!("{prefix}0x{}", hex::encode(&key[path..])) }
}
