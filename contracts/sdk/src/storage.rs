//! Typed storage: a single value under a fixed key, and a map under a key prefix. Values and map
//! keys are borsh-encoded, so the byte layout is canonical and identical native and in Wasm.

use alloc::vec::Vec;
use core::marker::PhantomData;

use borsh::{BorshDeserialize, BorshSerialize};

use crate::{Error, Host};

/// One value of type `T` stored under `key`.
pub struct Item<T> {
    key: &'static [u8],
    _value: PhantomData<fn() -> T>,
}

impl<T: BorshSerialize + BorshDeserialize> Item<T> {
    /// An item under `key`.
    pub const fn new(key: &'static [u8]) -> Self {
        Item { key, _value: PhantomData }
    }

    /// The stored value, if any.
    pub fn load(&self, host: &mut impl Host) -> Result<Option<T>, Error> {
        host.get(self.key).map(|b| T::try_from_slice(&b).map_err(|_| Error::Decode("item"))).transpose()
    }

    /// Stores `value`.
    pub fn save(&self, host: &mut impl Host, value: &T) {
        host.set(self.key, &borsh::to_vec(value).unwrap_or_default());
    }

    /// Removes the value.
    pub fn remove(&self, host: &mut impl Host) -> bool {
        host.remove(self.key)
    }
}

/// Values of type `V` under `prefix ‖ borsh(K)`.
pub struct Map<K, V> {
    prefix: &'static [u8],
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K: BorshSerialize + BorshDeserialize, V: BorshSerialize + BorshDeserialize> Map<K, V> {
    /// A map under `prefix`. Prefixes of different maps must not be prefixes of each other.
    pub const fn new(prefix: &'static [u8]) -> Self {
        Map { prefix, _types: PhantomData }
    }

    /// The full storage key of `key`: what a node proves and a light client checks.
    pub fn key(&self, key: &K) -> Vec<u8> {
        let mut full = self.prefix.to_vec();
        full.extend_from_slice(&borsh::to_vec(key).unwrap_or_default());
        full
    }

    /// The value under `key`, if any.
    pub fn load(&self, host: &mut impl Host, key: &K) -> Result<Option<V>, Error> {
        host.get(&self.key(key))
            .map(|b| V::try_from_slice(&b).map_err(|_| Error::Decode("map value")))
            .transpose()
    }

    /// Stores `value` under `key`.
    pub fn save(&self, host: &mut impl Host, key: &K, value: &V) {
        host.set(&self.key(key), &borsh::to_vec(value).unwrap_or_default());
    }

    /// Removes `key`; returns whether it existed.
    pub fn remove(&self, host: &mut impl Host, key: &K) -> bool {
        host.remove(&self.key(key))
    }

    /// Every entry, in ascending order of encoded key. Stops after `limit` entries.
    pub fn entries(&self, host: &mut impl Host, limit: usize) -> Result<Vec<(K, V)>, Error> {
        self.entries_under(host, &(), limit)
    }

    /// The entries whose key starts with `first`: for a tuple key `(A, B, ..)`, pass the leading
    /// field(s), whose encoding is a prefix of the whole key's. Stops after `limit` entries.
    pub fn entries_under<P: BorshSerialize>(
        &self,
        host: &mut impl Host,
        first: &P,
        limit: usize,
    ) -> Result<Vec<(K, V)>, Error> {
        let mut prefix = self.prefix.to_vec();
        prefix.extend_from_slice(&borsh::to_vec(first).unwrap_or_default());
        let iter = host.iter_open(&prefix);
        let mut out = Vec::new();
        while out.len() < limit {
            let Some((key, value)) = host.iter_next(iter) else { break };
            let k = K::try_from_slice(&key[self.prefix.len()..]).map_err(|_| Error::Decode("map key"))?;
            let v = V::try_from_slice(&value).map_err(|_| Error::Decode("map value"))?;
            out.push((k, v));
        }
        Ok(out)
    }
}
