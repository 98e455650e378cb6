//! What an uploaded contract may do beyond [`Host`]: know its own account, keep state in its own
//! namespace, and reach the protocol only through the system modules' entry points.
//!
//! ```
//! use tao_sdk::{Contract, Item, MemoryHost, Own};
//!
//! const COUNT: Item<u64> = Item::new(b"count");
//!
//! fn increment(host: &mut (impl Contract + ?Sized)) -> Result<(), tao_sdk::Error> {
//!     let mut own = Own::new(host);
//!     let count = COUNT.load(&mut own)?.unwrap_or(0) + 1;
//!     COUNT.save(&mut own, &count);
//!     Ok(())
//! }
//! let mut host = MemoryHost::new();
//! host.run(&[], increment);
//! let key = [tao_sdk::contract_prefix(&host.self_address).as_slice(), b"count"].concat();
//! assert!(host.storage.contains_key(&key));
//! ```

use alloc::vec::Vec;

use tao_types::Address;

use crate::{Host, IterHandle};

pub use tao_abi::access::{contract_address, contract_prefix};

/// The contract-only host functions. The chain enforces the box: a contract's storage calls
/// outside its [`contract_prefix`] end the call with an access error.
pub trait Contract: Host {
    /// The contract's own account (derived from its code hash; no key can sign for it).
    fn self_address(&mut self) -> Address;
    /// Runs `entry` of system module `module` (`token`, `staking`, …) with `input`, as this
    /// contract's account, and returns its output. A failure of that call ends this one.
    fn call_system(&mut self, module: &str, entry: &str, input: &[u8]) -> Vec<u8>;
}

/// A [`Host`] whose keys are the contract's own: every key is put under its
/// [`contract_prefix`], so [`crate::Item`] and [`crate::Map`] work unchanged inside the box.
pub struct Own<'a, H: ?Sized> {
    host: &'a mut H,
    prefix: Vec<u8>,
}

impl<'a, H: Contract + ?Sized> Own<'a, H> {
    /// The contract's own storage on `host`.
    pub fn new(host: &'a mut H) -> Self {
        let address = host.self_address();
        Own { prefix: contract_prefix(&address), host }
    }

    fn key(&self, key: &[u8]) -> Vec<u8> {
        [self.prefix.as_slice(), key].concat()
    }
}

impl<H: Contract + ?Sized> Host for Own<'_, H> {
    fn input(&mut self) -> Vec<u8> {
        self.host.input()
    }

    fn set_output(&mut self, data: &[u8]) {
        self.host.set_output(data)
    }

    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        let key = self.key(key);
        self.host.get(&key)
    }

    fn set(&mut self, key: &[u8], value: &[u8]) {
        let key = self.key(key);
        self.host.set(&key, value)
    }

    fn remove(&mut self, key: &[u8]) -> bool {
        let key = self.key(key);
        self.host.remove(&key)
    }

    fn iter_open(&mut self, prefix: &[u8]) -> IterHandle {
        let prefix = self.key(prefix);
        self.host.iter_open(&prefix)
    }

    /// The next entry, its key without the contract's prefix.
    fn iter_next(&mut self, iter: IterHandle) -> Option<(Vec<u8>, Vec<u8>)> {
        let (key, value) = self.host.iter_next(iter)?;
        Some((key.get(self.prefix.len()..)?.to_vec(), value))
    }

    fn emit(&mut self, topic: &[u8], data: &[u8]) {
        self.host.emit(topic, data)
    }

    fn caller(&mut self) -> Address {
        self.host.caller()
    }

    fn block_height(&mut self) -> u64 {
        self.host.block_height()
    }

    fn block_time_ms(&mut self) -> u64 {
        self.host.block_time_ms()
    }
}
