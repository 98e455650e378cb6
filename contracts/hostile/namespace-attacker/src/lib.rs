//! Hostile fixture: the shapes of attack on other code's state that an uploaded contract can
//! try. Each entry does exactly what its input asks, with raw keys (no [`tao_sdk::Own`]), so the
//! tests can aim it at `token/…`, `staking/…`, `sys/…` or another contract's namespace and
//! require a typed refusal, and at its own namespace and require success.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

use tao_sdk::{Contract, Error, Host};

/// `(key, value)`: writes the raw key.
pub fn write(host: &mut impl Host) -> Result<(), Error> {
    let (key, value): (Vec<u8>, Vec<u8>) = host.input_as()?;
    host.set(&key, &value);
    Ok(())
}

/// `key`: removes the raw key.
pub fn remove(host: &mut impl Host) -> Result<(), Error> {
    let key: Vec<u8> = host.input_as()?;
    host.remove(&key);
    Ok(())
}

/// `key`: outputs `Option<value>` of the raw key.
pub fn read(host: &mut impl Host) -> Result<(), Error> {
    let key: Vec<u8> = host.input_as()?;
    let value = host.get(&key);
    host.output_as(&value);
    Ok(())
}

/// `prefix`: outputs the first entry under the raw prefix.
pub fn iterate(host: &mut impl Host) -> Result<(), Error> {
    let prefix: Vec<u8> = host.input_as()?;
    let iter = host.iter_open(&prefix);
    let first = host.iter_next(iter);
    host.output_as(&first);
    Ok(())
}

/// `(module, entry, input)`: calls a system module as this contract and outputs its output.
pub fn call(host: &mut (impl Contract + ?Sized)) -> Result<(), Error> {
    let (module, entry, input): (String, String, Vec<u8>) = host.input_as()?;
    let output = host.call_system(&module, &entry, &input);
    host.set_output(&output);
    Ok(())
}

tao_sdk::entry_points!(write, remove, read, iterate, call);
