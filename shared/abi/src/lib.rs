//! The contract ABI, version 1: the only place that names what crosses the host/guest boundary.
//!
//! The guest pulls: an entry point takes no arguments, asks the host for its input, and hands back
//! its output. The host never calls into the guest, so there is no re-entrancy. Data the host returns
//! (input, storage values, iterator entries) goes into a one-slot *result buffer*: the import returns
//! its length (or [`ABSENT`]) and the guest copies it out with [`imports::RESULT_READ`].
//!
//! Both `host/vm` (which checks and links these imports) and `contracts/sdk` (which calls them) use
//! these names, signatures and limits, so the two sides cannot drift apart.
#![cfg_attr(not(test), no_std)]

/// Module name of every host import.
pub const IMPORT_MODULE: &str = "env";

/// Exported marker function every module must have: `tao_abi_v1: [] -> []`.
pub const ABI_VERSION_EXPORT: &str = "tao_abi_v1";

/// Name of the exported linear memory every module must have.
pub const MEMORY_EXPORT: &str = "memory";

/// Returned instead of a length when there is nothing (absent key, finished iterator).
pub const ABSENT: i32 = -1;

/// A Wasm value type in an import signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValType {
    /// 32-bit integer (pointers, lengths, handles).
    I32,
    /// 64-bit integer (heights, times, gas).
    I64,
}

/// One host function: its name and exact signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportFn {
    /// Field name under [`IMPORT_MODULE`].
    pub name: &'static str,
    /// Parameter types in order.
    pub params: &'static [ValType],
    /// Result types (zero or one).
    pub results: &'static [ValType],
}

/// The host functions, with their exact signatures. Pointers and lengths are `i32` offsets into the
/// guest's memory; the host bounds-checks every one before copying.
pub mod imports {
    use super::{ImportFn, ValType::*};

    /// `input() -> len`: puts the call's input in the result buffer.
    pub const INPUT: ImportFn = ImportFn { name: "input", params: &[], results: &[I32] };
    /// `result_read(ptr)`: copies the whole result buffer to `ptr`.
    pub const RESULT_READ: ImportFn = ImportFn { name: "result_read", params: &[I32], results: &[] };
    /// `output(ptr, len)`: sets the call's return bytes (the last call wins).
    pub const OUTPUT: ImportFn = ImportFn { name: "output", params: &[I32, I32], results: &[] };
    /// `storage_get(key_ptr, key_len) -> len | ABSENT`: the value goes to the result buffer.
    pub const STORAGE_GET: ImportFn = ImportFn { name: "storage_get", params: &[I32, I32], results: &[I32] };
    /// `storage_set(key_ptr, key_len, value_ptr, value_len)`.
    pub const STORAGE_SET: ImportFn =
        ImportFn { name: "storage_set", params: &[I32, I32, I32, I32], results: &[] };
    /// `storage_remove(key_ptr, key_len) -> 1 if the key existed, else 0`.
    pub const STORAGE_REMOVE: ImportFn =
        ImportFn { name: "storage_remove", params: &[I32, I32], results: &[I32] };
    /// `storage_iter(prefix_ptr, prefix_len) -> handle`: keys with the prefix, ascending.
    pub const STORAGE_ITER: ImportFn =
        ImportFn { name: "storage_iter", params: &[I32, I32], results: &[I32] };
    /// `storage_next(handle) -> len | ABSENT`: the next entry, encoded as [`super::IterEntry`], goes
    /// to the result buffer.
    pub const STORAGE_NEXT: ImportFn = ImportFn { name: "storage_next", params: &[I32], results: &[I32] };
    /// `emit(topic_ptr, topic_len, data_ptr, data_len)`: records an event.
    pub const EMIT: ImportFn = ImportFn { name: "emit", params: &[I32, I32, I32, I32], results: &[] };
    /// `caller(ptr)`: writes the 20-byte address of the account that made this call.
    pub const CALLER: ImportFn = ImportFn { name: "caller", params: &[I32], results: &[] };
    /// `block_height() -> height`.
    pub const BLOCK_HEIGHT: ImportFn = ImportFn { name: "block_height", params: &[], results: &[I64] };
    /// `block_time() -> unix milliseconds` of the block being executed.
    pub const BLOCK_TIME: ImportFn = ImportFn { name: "block_time", params: &[], results: &[I64] };
    /// `gas_left() -> gas`.
    pub const GAS_LEFT: ImportFn = ImportFn { name: "gas_left", params: &[], results: &[I64] };
    /// `abort(msg_ptr, msg_len)`: ends the call with a message; writes are discarded.
    pub const ABORT: ImportFn = ImportFn { name: "abort", params: &[I32, I32], results: &[] };
    /// `self_address(ptr)`: writes the 20-byte account of the running code
    /// ([`super::access::contract_address`] of its code hash). A contract holds TAO there.
    pub const SELF_ADDRESS: ImportFn = ImportFn { name: "self_address", params: &[I32], results: &[] };
    /// `call_system(module_ptr, module_len, entry_ptr, entry_len, input_ptr, input_len) -> len`:
    /// uploaded code only. Runs entry point `entry` of system module `module` with `input`, as the
    /// contract's own account (never the transaction's sender), on the same state and gas; its
    /// output goes to the result buffer. A failure of the inner call ends the whole call with
    /// the inner call's outcome.
    pub const CALL_SYSTEM: ImportFn =
        ImportFn { name: "call_system", params: &[I32, I32, I32, I32, I32, I32], results: &[I32] };

    /// Every import, in one list: admission accepts exactly these.
    pub const ALL: &[ImportFn] = &[
        INPUT,
        RESULT_READ,
        OUTPUT,
        STORAGE_GET,
        STORAGE_SET,
        STORAGE_REMOVE,
        STORAGE_ITER,
        STORAGE_NEXT,
        EMIT,
        CALLER,
        BLOCK_HEIGHT,
        BLOCK_TIME,
        GAS_LEFT,
        ABORT,
        SELF_ADDRESS,
        CALL_SYSTEM,
    ];

    /// Looks an import up by name.
    pub fn find(name: &str) -> Option<&'static ImportFn> {
        ALL.iter().find(|f| f.name == name)
    }
}

/// The state key prefix of deployed Wasm code, followed by the code's 32-byte Keccak-256 hash.
/// The chain writes it (genesis, `deploy`); contracts read it to check that code exists.
pub const CODE_KEY_PREFIX: &[u8] = b"sys/code/";

/// The state key prefix of the system modules' code hashes, followed by the module's name. The
/// chain writes it (genesis, governance upgrades); contracts read it to check a module exists.
pub const MODULE_KEY_PREFIX: &[u8] = b"sys/module/";

/// The state key prefix of deployed code's entry points (a borsh `Vec<String>`, as admission
/// found them), followed by the code hash. The chain writes it at deploy; governance reads it to
/// refuse an upgrade to code that lacks a module's interface.
pub const ENTRIES_KEY_PREFIX: &[u8] = b"sys/entries/";

/// The state key prefix of code a governance upgrade replaced, followed by its hash: the name of
/// the system module it was. A transaction still addressed to it is refused with that news
/// instead of running the old code (which, no longer a system module, would be boxed anyway).
pub const RETIRED_KEY_PREFIX: &[u8] = b"sys/retired/";

/// The interface of each system module, in one place: the entry points the chain, the other
/// modules' clients (wallet, CLI, contracts) and the hooks call. Replacement code must export
/// every one of them (it may add more), or governance refuses the upgrade.
pub mod interfaces {
    /// `(module, entry points)` of every system module.
    pub const SYSTEM: &[(&str, &[&str])] = &[
        (
            "token",
            &[
                "entry_transfer",
                "entry_transfer_keep_alive",
                "entry_genesis",
                "entry_issue_block_emission",
                "entry_query",
                "entry_recycle",
                "entry_burn",
                "entry_charge_fee",
                "entry_refund_fee",
                "entry_approve",
                "entry_transfer_from",
            ],
        ),
        (
            "subnets",
            &[
                "entry_set_network_rate_limit",
                "entry_set_hyperparameter",
                "entry_set_identity",
                "entry_set_incentive_module",
                "entry_query",
                "entry_list",
                "entry_lock_cost",
            ],
        ),
        (
            "neurons",
            &[
                "entry_burned_register",
                "entry_serve_axon",
                "entry_on_block",
                "entry_metagraph",
                "entry_register_network",
            ],
        ),
        (
            "staking",
            &[
                "entry_add_stake",
                "entry_remove_stake",
                "entry_move_stake",
                "entry_swap_stake",
                "entry_transfer_stake",
                "entry_unstake_all",
                "entry_set_take",
                "entry_distribute_dividend",
                "entry_dissolve_network",
                "entry_positions",
                "entry_quote",
                "entry_root_register",
                "entry_root_list",
                "entry_set_consensus_key",
                "entry_set_validator_params",
                "entry_set_slash_params",
                "entry_slash_equivocation",
                "entry_unbonding",
                "entry_set_children",
                "entry_set_childkey_take",
                "entry_children",
                "entry_swap_hotkey",
            ],
        ),
        (
            "weights",
            &[
                "entry_set_weights",
                "entry_commit_weights",
                "entry_reveal_weights",
                "entry_set_permit",
                "entry_query",
            ],
        ),
        (
            "incentive",
            &[
                "entry_epoch",
                "entry_on_block",
                "entry_epoch_input",
                "entry_apply_module_epoch",
                "entry_query",
            ],
        ),
        ("governance", &["entry_propose", "entry_vote", "entry_on_block", "entry_set_params", "entry_list"]),
    ];

    /// The interface of system module `name`.
    pub fn of(name: &str) -> Option<&'static [&'static str]> {
        SYSTEM.iter().find(|(module, _)| *module == name).map(|(_, entries)| *entries)
    }

    /// The first entry point of `interface` that `exports` lacks.
    pub fn missing<S: AsRef<str>>(interface: &'static [&'static str], exports: &[S]) -> Option<&'static str> {
        interface.iter().copied().find(|entry| !exports.iter().any(|e| e.as_ref() == *entry))
    }
}

/// Who may touch which state: the namespaces the host enforces on every storage call.
///
/// - The chain owns [`CHAIN_PREFIX`] (code, the module registry, nonces): no code writes it.
/// - System modules (registered under [`MODULE_KEY_PREFIX`]) read everything and write the
///   protocol's state: every key outside [`CHAIN_PREFIX`] and [`CONTRACT_PREFIX`].
/// - An uploaded contract called by a transaction reads, writes, removes and iterates only under
///   its own [`access::contract_prefix`]; it reaches anything else through
///   [`imports::CALL_SYSTEM`], as its own account.
/// - Incentive modules and queries read everything and write nothing.
pub mod access {
    use tao_types::{Address, Hash, keccak256};

    /// Chain-owned state: code, the module registry, nonces.
    pub const CHAIN_PREFIX: &[u8] = b"sys/";
    /// Every uploaded contract's own state lives under this prefix.
    pub const CONTRACT_PREFIX: &[u8] = b"contract/";
    /// The caller queries and subnets' incentive modules run as: not the chain, so chain-only
    /// entry points refuse them (the node and the wallet's re-runs use it alike).
    pub const QUERY_CALLER: Address = Address([0xff; 20]);
    /// Domain of contract addresses, so no signing key can collide with one by construction.
    const ADDRESS_DOMAIN: &[u8] = b"tao/contract-address/v1";

    /// The account of code `code_hash`: where a contract holds TAO, and the caller system modules
    /// see when it calls them. No private key exists for it.
    pub fn contract_address(code_hash: &Hash) -> Address {
        let digest = keccak256(&[ADDRESS_DOMAIN, &code_hash.0].concat());
        let mut address = [0u8; 20];
        address.copy_from_slice(&digest[12..]);
        Address(address)
    }

    /// The state prefix a contract at `address` owns: `contract/<40 lowercase hex digits>/`.
    pub fn contract_prefix(address: &Address) -> alloc::vec::Vec<u8> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut prefix = CONTRACT_PREFIX.to_vec();
        for byte in address.0 {
            prefix.extend([HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]]);
        }
        prefix.push(b'/');
        prefix
    }

    /// Whether system code may write `key`: everything but the chain's and contracts' state.
    pub fn system_may_write(key: &[u8]) -> bool {
        !key.starts_with(CHAIN_PREFIX) && !key.starts_with(CONTRACT_PREFIX)
    }
}

/// Limits on data crossing the boundary. Checked by the host before copying or allocating.
pub mod limits {
    /// Largest call input.
    pub const MAX_INPUT_BYTES: u32 = 256 * 1024;
    /// Largest call output.
    pub const MAX_OUTPUT_BYTES: u32 = 64 * 1024;
    /// Largest storage key.
    pub const MAX_KEY_BYTES: u32 = 256;
    /// Largest storage value.
    pub const MAX_VALUE_BYTES: u32 = 64 * 1024;
    /// Largest event topic.
    pub const MAX_TOPIC_BYTES: u32 = 64;
    /// Largest event payload.
    pub const MAX_EVENT_DATA_BYTES: u32 = 16 * 1024;
    /// Most events one call may emit.
    pub const MAX_EVENTS: u32 = 256;
    /// Most iterators one call may open.
    pub const MAX_ITERATORS: u32 = 16;
    /// Largest abort message (longer ones are cut).
    pub const MAX_ABORT_BYTES: u32 = 1024;
    /// Most bytes (keys + values) one call may write.
    pub const MAX_WRITE_SET_BYTES: u32 = 1024 * 1024;
    /// Longest system module name in a `call_system`.
    pub const MAX_MODULE_NAME_BYTES: u32 = 64;
    /// Longest entry point name in a `call_system`.
    pub const MAX_ENTRY_NAME_BYTES: u32 = 128;
    /// Most linear memory a call may grow to, in 64 KiB pages (64 MiB): sized so that a dense
    /// Yuma epoch of 4,096 UIDs (the largest graph benchmarked, 16× the 256-UID subnet cap)
    /// fits with a third to spare; it peaks at 48 MiB under the SDK's bump allocator
    /// (BENCHMARKS.md, "Yuma epoch"). The node's VM and the wallet's interpreter both enforce it.
    pub const MAX_MEMORY_PAGES: u32 = 1024;
    /// Bytes in a Wasm page.
    pub const PAGE_BYTES: u32 = 64 * 1024;
}

/// One storage entry as `storage_next` returns it.
#[derive(Debug, Clone, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct IterEntry {
    /// The full key.
    pub key: alloc::vec::Vec<u8>,
    /// Its value.
    pub value: alloc::vec::Vec<u8>,
}

/// An event a contract emitted.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Event {
    /// What happened, e.g. `b"transfer"`.
    pub topic: alloc::vec::Vec<u8>,
    /// Encoded details.
    pub data: alloc::vec::Vec<u8>,
}

extern crate alloc;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn import_names_are_unique() {
        for (i, a) in imports::ALL.iter().enumerate() {
            assert!(imports::ALL[i + 1..].iter().all(|b| b.name != a.name), "{} twice", a.name);
            assert_eq!(imports::find(a.name), Some(a));
        }
    }

    #[test]
    fn contract_namespaces_are_disjoint_from_the_protocol() {
        let a = access::contract_address(&tao_types::Hash([1; 32]));
        let b = access::contract_address(&tao_types::Hash([2; 32]));
        assert_ne!(a, b);
        let prefix = access::contract_prefix(&a);
        assert!(prefix.starts_with(access::CONTRACT_PREFIX) && prefix.ends_with(b"/"));
        assert_eq!(prefix.len(), access::CONTRACT_PREFIX.len() + 41);
        assert!(!access::system_may_write(&prefix));
        assert!(!access::system_may_write(b"sys/module/token"));
        assert!(access::system_may_write(b"token/bal/x"));
    }

    proptest! {
        #[test]
        fn wire_types_round_trip(key in proptest::collection::vec(any::<u8>(), 0..64), value in proptest::collection::vec(any::<u8>(), 0..64)) {
            let entry = IterEntry { key: key.clone(), value: value.clone() };
            prop_assert_eq!(borsh::from_slice::<IterEntry>(&borsh::to_vec(&entry).unwrap()).unwrap(), entry);
            let event = Event { topic: key, data: value };
            prop_assert_eq!(borsh::from_slice::<Event>(&borsh::to_vec(&event).unwrap()).unwrap(), event);
        }
    }
}
