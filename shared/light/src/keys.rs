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
