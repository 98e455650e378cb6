//! The contract SDK: write logic once against [`Host`], test it natively with [`MemoryHost`], and
//! export it as Wasm entry points with [`entry_points!`].
//!
//! ```
//! use tao_sdk::{Host, Item, MemoryHost, NativeOutcome};
//!
//! const COUNT: Item<u64> = Item::new(b"count");
//!
//! fn increment(host: &mut impl Host) -> Result<(), tao_sdk::Error> {
//!     let count = COUNT.load(host)?.unwrap_or(0) + 1;
//!     COUNT.save(host, &count);
//!     host.emit(b"incremented", &count.to_le_bytes());
//!     Ok(())
//! }
//! tao_sdk::entry_points!(increment);
//!
//! // Natively, in a unit test:
//! let mut host = MemoryHost::new();
//! let run = host.run(&[], increment);
//! assert_eq!(run.outcome, NativeOutcome::Ok);
//! assert_eq!(run.events[0].data, 1u64.to_le_bytes());
//! ```
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod contract;
mod imports;
mod memory;
mod storage;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

use alloc::string::String;
use alloc::vec::Vec;

pub use borsh::{self, BorshDeserialize, BorshSerialize};
pub use contract::{Contract, Own, contract_address, contract_prefix};
pub use memory::{MemoryHost, NativeOutcome, NativeRun, SystemEntry, test_address};
pub use storage::{Item, Map};
pub use tao_abi::Event;
pub use tao_types::{Address, Hash};

/// Errors the SDK itself reports; contracts wrap them in their own error types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Stored bytes or input did not decode as the expected type.
    Decode(&'static str),
    /// A contract-defined failure with its message.
    Custom(String),
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Decode(what) => write!(f, "could not decode {what}"),
            Error::Custom(message) => f.write_str(message),
        }
    }
}

/// Everything a contract may ask of the chain. Implemented by the Wasm import glue in the node and
/// by [`MemoryHost`] in native tests, so the same logic runs in both.
pub trait Host {
    /// The call's input bytes.
    fn input(&mut self) -> Vec<u8>;
    /// Sets the call's return bytes.
    fn set_output(&mut self, data: &[u8]);
    /// The value under `key`.
    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>>;
    /// Stores `value` under `key`.
    fn set(&mut self, key: &[u8], value: &[u8]);
    /// Removes `key`; returns whether it existed.
    fn remove(&mut self, key: &[u8]) -> bool;
    /// Opens an ascending iterator over keys with `prefix`.
    fn iter_open(&mut self, prefix: &[u8]) -> IterHandle;
    /// The next entry of an iterator: each step returns the first key after the previous one in
    /// the state as it is now.
    fn iter_next(&mut self, iter: IterHandle) -> Option<(Vec<u8>, Vec<u8>)>;
    /// Records an event.
    fn emit(&mut self, topic: &[u8], data: &[u8]);
    /// The calling account.
    fn caller(&mut self) -> Address;
    /// Height of the current block.
    fn block_height(&mut self) -> u64;
    /// Timestamp of the current block, unix milliseconds.
    fn block_time_ms(&mut self) -> u64;

    /// Decodes the input as `T`: untrusted bytes, so through `tao_codec::decode` (at most the
    /// ABI's input limit, nothing left over).
    fn input_as<T: BorshDeserialize>(&mut self) -> Result<T, Error> {
        let bytes = self.input();
        tao_codec::decode(&bytes, tao_abi::limits::MAX_INPUT_BYTES as usize)
            .map_err(|_| Error::Decode("input"))
    }

    /// Encodes `value` as the output.
    fn output_as<T: BorshSerialize>(&mut self, value: &T) {
        let bytes = borsh::to_vec(value).unwrap_or_default();
        self.set_output(&bytes);
    }
}

/// An open iterator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IterHandle(pub i32);

/// Declares the module's entry points. Each handler is `fn(&mut H) -> Result<(), E>` for any
/// [`Host`] `H` and displayable `E`; an `Err` aborts the call with its message and discards its
/// writes. The Wasm exports exist only when the contract crate's `export` feature is on.
#[macro_export]
macro_rules! entry_points {
    ($($name:ident),* $(,)?) => {
        #[cfg(all(target_arch = "wasm32", feature = "export"))]
        const _: () = {
            #[unsafe(no_mangle)]
            extern "C" fn tao_abi_v1() {}
        };
        $(
            #[cfg(all(target_arch = "wasm32", feature = "export"))]
            const _: () = {
                #[unsafe(export_name = stringify!($name))]
                extern "C" fn __tao_entry() {
                    $crate::wasm::run(|host: &mut $crate::wasm::WasmHost| $name(host))
                }
            };
        )*
    };
}
